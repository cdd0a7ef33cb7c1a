import SluiceIO

/// Phase: relay both ways after 101 Switching Protocols (the decision was made on the upgrade
/// request), until a side ends.
extension HTTP1Connection {
    func stepTunnel() -> Bool {
        guard case .tunnel(let upstreamEnded) = state else { return false }
        var progress = false
        if !down.isEmpty && server.writable && server.isOpen {
            switch server.write(down.readable) {
            case .progress(let w): down.consume(w); progress = true
            case .blocked: break
            case .closed(let failure): return tunnelEnded(failure)
            }
        }
        if !up.isEmpty && client.writable {
            switch client.write(up.readable) {
            case .progress(let w): up.consume(w); progress = true
            case .blocked: break
            case .closed(let failure): return tunnelEnded(failure)
            }
        }
        if down.isEmpty && client.readable {
            _ = down.reserveSpace()
            switch client.read(into: down) {
            case .progress: progress = true
            case .blocked: break
            case .closed(let failure): return tunnelEnded(failure)
            }
        }
        if up.isEmpty && server.readable && server.isOpen {
            _ = up.reserveSpace()
            switch server.read(into: up) {
            case .progress: progress = true
            case .blocked: break
            case .closed(let failure): return tunnelEnded(failure)
            }
        }
        if upstreamEnded && up.isEmpty { close(); return false }
        return progress
    }

    /// A side of the tunnel ended: an EOF is the tunnel's normal end, an error reaches the flow
    /// record of the upgrade's exchange.
    private func tunnelEnded(_ failure: PeerClose) -> Bool {
        if failure.isOrderly {
            close()
        } else {
            abort(failure, code: 101)
        }
        return false
    }
}
