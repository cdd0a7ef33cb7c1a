import Glibc
import HTTP1
import SluiceIO

/// Phase: relay both ways after 101 Switching Protocols (the decision was made on the upgrade
/// request), until a side ends or the tunnel idle timeout fires. A 101 becomes a tunnel only when
/// the allowed request asked for that protocol (`upgradeAccepted`).
extension HTTP1Connection {
    /// Whether the upstream's 101 may be relayed: the request asked for an upgrade
    /// (`Upgrade` + `Connection: upgrade`, HTTP/1.1), and every protocol the 101's `Upgrade` names
    /// is one the request listed (RFC 9110 7.8; compared without case). `h2c` never is: HTTP/2
    /// over the tunnel would carry streams past the policy (an h2c upgrade is answered by
    /// `HTTP2Connection` itself, docs/http2.md).
    func upgradeAccepted() -> Bool {
        guard !requestedUpgrade.isEmpty,
            let value = response.firstValue(named: "upgrade", in: up.readable)
        else { return false }
        let offered = UpgradeTokens.list(UnsafeRawBufferPointer(rebasing: up.readable[value]))
        guard !offered.isEmpty else { return false }
        let asked = requestedUpgrade.withUnsafeBytes { UpgradeTokens.list($0) }
        return offered.allSatisfy { $0 != UpgradeTokens.h2c && asked.contains($0) }
    }

    /// The tunnel's timer: closes it when no byte moved for `tunnelIdleTimeoutNs` (an ERROR
    /// response flow with code 101 and the client's ETIMEDOUT), else waits for the rest.
    func tunnelTimerFired(now: UInt64) {
        let idle = ctx.config.tunnelIdleTimeoutNs
        guard idle > 0 else { return }
        if now &- tunnelActivityNs >= idle {
            closeUpstream()
            abort(PeerClose(side: .downstream, errno: ETIMEDOUT), code: 101)
        } else {
            arm(tunnelActivityNs + idle)
        }
    }

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
        if progress { tunnelActivityNs = ctx.loop.now }
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

/// Protocol lists of `Upgrade` fields, lower-cased (RFC 9110 7.8: `protocol-name["/"version]`,
/// comma-separated, optional whitespace).
enum UpgradeTokens {
    static let h2c: [UInt8] = Array("h2c".utf8)

    /// The list elements of `value`, lower-cased and trimmed; empty elements dropped.
    static func list(_ value: UnsafeRawBufferPointer) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var current: [UInt8] = []
        for byte in value {
            switch byte {
            case 0x2C:
                if !current.isEmpty { result.append(current) }
                current.removeAll(keepingCapacity: true)
            case 0x20, 0x09:
                continue
            case 0x41...0x5A:
                current.append(byte | 0x20)
            default:
                current.append(byte)
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }
}
