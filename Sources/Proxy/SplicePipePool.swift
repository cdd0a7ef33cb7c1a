import SluiceIO

/// A worker's pipes for spliced bodies (`SplicePipe`, docs/architecture.md "Bodies by splice"):
/// a connection takes one the first time a body of it can be spliced and gives it back when the
/// connection ends, so a keep-alive connection creates its pipe once and a new connection usually
/// finds one idle. Pipes come in two sizes, one per body direction (`ProxyConfig.splicePipeBytes`
/// for response bodies, `spliceRequestPipeBytes` for request bodies): a connection whose next
/// body goes the other way swaps its empty pipe here (no syscall). At most `limit` pipes exist
/// at once (each holds two descriptors); at the limit an idle pipe of the other size serves;
/// beyond that, or when the kernel refuses a pipe, bodies take the buffered path. A pipe given
/// back holding bytes (an exchange cut short) is closed, never reused.
///
/// Loop-thread only.
final class SplicePipePool {
    /// Pipes handed out or idle.
    private(set) var live = 0
    /// Idle pipes sized for response bodies ([0]) and for request bodies ([1]).
    private var idle: [[SplicePipe]] = [[], []]
    let limit: Int
    let responseBytes: Int
    let requestBytes: Int

    init(limit: Int, responseBytes: Int, requestBytes: Int) {
        self.limit = limit
        self.responseBytes = responseBytes
        self.requestBytes = requestBytes
    }

    deinit {
        for k in idle.indices { for i in idle[k].indices { idle[k][i].close() } }
    }

    var idleCount: Int { idle[0].count + idle[1].count }

    /// An empty pipe for a body going `d`, idle or new, else an idle one of the other size; nil
    /// at the limit with none idle, or when none can be created.
    func take(for d: BodyDirection) -> SplicePipe? {
        let k = d == .response ? 0 : 1
        if let pipe = idle[k].popLast() { return pipe }
        if live < limit, let pipe = SplicePipe.open(size: k == 0 ? responseBytes : requestBytes) {
            live += 1
            return pipe
        }
        return idle[1 - k].popLast()
    }

    /// Which idle list `pipe` joins: the size nearer its capacity (the kernel may round a size
    /// up, or refuse it and keep its default).
    private func kind(of pipe: SplicePipe) -> Int {
        abs(pipe.capacity - responseBytes) <= abs(pipe.capacity - requestBytes) ? 0 : 1
    }

    /// Takes `pipe` back: idle when empty, closed when it still holds bytes.
    func give(_ pipe: SplicePipe) {
        var pipe = pipe
        guard pipe.isOpen else { return }
        if pipe.isEmpty {
            idle[kind(of: pipe)].append(pipe)
        } else {
            pipe.close()
            live -= 1
        }
    }
}
