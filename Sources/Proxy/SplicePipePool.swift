import SluiceIO

/// A worker's pipes for spliced bodies (`SplicePipe`, docs/architecture.md "Bodies by splice"):
/// a connection takes one the first time a body of it can be spliced and gives it back when the
/// connection ends, so a keep-alive connection creates its pipe once and a new connection usually
/// finds one idle. At most `limit` pipes exist at once (each holds two descriptors); beyond that,
/// or when the kernel refuses a pipe, bodies take the buffered path. A pipe given back holding
/// bytes (an exchange cut short) is closed, never reused.
///
/// Loop-thread only.
final class SplicePipePool {
    /// Pipes handed out or idle.
    private(set) var live = 0
    private var idle: [SplicePipe] = []
    let limit: Int
    let pipeBytes: Int

    init(limit: Int, pipeBytes: Int) {
        self.limit = limit
        self.pipeBytes = pipeBytes
    }

    deinit {
        for i in idle.indices { idle[i].close() }
    }

    var idleCount: Int { idle.count }

    /// An empty pipe, idle or new; nil at the limit or when none can be created.
    func take() -> SplicePipe? {
        if let pipe = idle.popLast() { return pipe }
        guard live < limit, let pipe = SplicePipe.open(size: pipeBytes) else { return nil }
        live += 1
        return pipe
    }

    /// Takes `pipe` back: idle when empty, closed when it still holds bytes.
    func give(_ pipe: SplicePipe) {
        var pipe = pipe
        guard pipe.isOpen else { return }
        if pipe.isEmpty {
            idle.append(pipe)
        } else {
            pipe.close()
            live -= 1
        }
    }
}
