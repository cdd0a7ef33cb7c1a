import Policy
import SluiceTestSupport

/// One side's HTTP decision outside the sandbox, ns per request, the two ways timed alternately in
/// one process: `HTTPPortPolicy.decide` (a `Verdict` copied out: the policy name and the header
/// actions retained and released) and `briefDecide` (allowed, reason and policy reference only,
/// what the proxy reads on a port without header actions), for an allowed and a denied request.
enum DecisionBenchmark {
    /// A request view over static text (the proxy's `RequestView` is internal to Proxy).
    struct Request: HTTPRequestFields {
        let method: UnsafeRawBufferPointer, path: UnsafeRawBufferPointer, authority: UnsafeRawBufferPointer
        init(_ method: StaticString, _ path: StaticString) {
            func raw(_ s: StaticString) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
            }
            (self.method, self.path, authority) = (raw(method), raw(path), raw("backend"))
        }
        func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {}
    }

    static func run() throws {
        let n = 2_000_000
        let port: UInt16 = 8080
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: port, rules: ["{method: GET, path: \"/get\"}"]))
        guard let policy = snapshot.httpPolicy(endpointID: TestPolicy.backendID, direction: .ingress, port: port),
            let peer = snapshot.identity(ofEndpoint: TestPolicy.clientID)
        else { return check(false, "test policy") }
        let requests = [Request("GET", "/get"), Request("POST", "/post")]
        for request in requests {
            var decideTimes: [Double] = [], briefTimes: [Double] = []
            var allowed = 0
            for round in 0..<6 {
                for brief in round % 2 == 0 ? [false, true] : [true, false] {
                    let ns = timed {
                        for _ in 0..<n {
                            if brief {
                                if policy.briefDecide(peerIdentity: peer, request: request).allowed { allowed &+= 1 }
                            } else {
                                if policy.decide(peerIdentity: peer, request: request).allowed { allowed &+= 1 }
                            }
                        }
                    }
                    (brief ? { briefTimes.append(ns / Double(n)) } : { decideTimes.append(ns / Double(n)) })()
                }
            }
            let want = String(decoding: request.method, as: UTF8.self) == "GET" ? 12 * n : 0
            check(allowed == want, "decision")
            decideTimes.sort()
            briefTimes.sort()
            print(
                "decision (\(String(decoding: request.method, as: UTF8.self))): decide median "
                    + "\(Int(decideTimes[3])) ns, briefDecide median \(Int(briefTimes[3])) ns")
        }
    }
}
