import Glibc
import HTTP1

/// The HTTP/1 head parser alone, ns per head: the get-ka request (wrk's: request line and Host),
/// a browser-shaped request (nine fields), the bench upstream's nginx response (five fields) and a
/// response with long values (cookies, a CSP). Each head is parsed `n` times per round, six rounds,
/// the median printed; the result is checked (a complete head of the expected length).
/// `head-parse` runs it; with `HEAD_PARSE_ONLY=<name>` one fixture only (to profile it).
enum HeadParseBenchmark {
    struct Fixture {
        let name: String
        let bytes: [UInt8]
        let isRequest: Bool
    }

    static let fixtures: [Fixture] = [
        Fixture(
            name: "request wrk", bytes: Array("GET /get HTTP/1.1\r\nHost: 10.96.0.10:8080\r\n\r\n".utf8),
            isRequest: true),
        Fixture(
            name: "request browser",
            bytes: Array(
                ("GET /anything/items?id=42&sort=asc HTTP/1.1\r\nHost: backend.default.svc:8080\r\n"
                    + "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
                    + "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
                    + "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
                    + "Connection: keep-alive\r\nCookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
                    + "Upgrade-Insecure-Requests: 1\r\nX-Request-Id: 7f3c2a9e-1b4d-4c8e-9f00-2d6b8a1c3e5f\r\n\r\n").utf8
            ),
            isRequest: true),
        Fixture(
            name: "response nginx",
            bytes: Array(
                ("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 05 Dec 2026 22:40:00 GMT\r\n"
                    + "Content-Type: application/octet-stream\r\nContent-Length: 166\r\nConnection: keep-alive\r\n\r\n")
                    .utf8),
            isRequest: false),
        Fixture(
            name: "response long",
            bytes: Array(
                ("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 05 Dec 2026 22:40:00 GMT\r\n"
                    + "Content-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
                    + "Set-Cookie: session=0123456789abcdef0123456789abcdef; Path=/; HttpOnly; Secure; SameSite=Lax\r\n"
                    + "Content-Security-Policy: default-src 'self'; script-src 'self' https://cdn.example.com; "
                    + "img-src 'self' data:\r\nCache-Control: no-cache, no-store, must-revalidate\r\n"
                    + "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n\r\n").utf8),
            isRequest: false),
    ]

    static func run() throws {
        let only = getenvString("HEAD_PARSE_ONLY")
        let n = 1_000_000
        var request = RequestHead()
        var response = ResponseHead()
        for fixture in fixtures where only == nil || fixture.name == only {
            var times: [Double] = []
            var complete = 0
            fixture.bytes.withUnsafeBytes { raw in
                for _ in 0..<6 {
                    let ns = timed {
                        for _ in 0..<n {
                            let result =
                                fixture.isRequest
                                ? HTTP1Parser.parseRequestHead(raw, into: &request)
                                : HTTP1Parser.parseResponseHead(raw, requestMethodIsHEAD: false, into: &response)
                            if result == .complete { complete &+= 1 }
                        }
                    }
                    times.append(ns / Double(n))
                }
            }
            let length = fixture.isRequest ? request.headLength : response.headLength
            check(complete == 6 * n && length == fixture.bytes.count, "head-parse \(fixture.name)")
            times.sort()
            let median = (times[2] + times[3]) / 2
            let tenths = Int((median * 10).rounded())
            let perByte = Int((median * 1000 / Double(fixture.bytes.count)).rounded())
            print(
                "head-parse \(fixture.name) (\(fixture.bytes.count) bytes): median \(tenths / 10).\(tenths % 10) ns/head, "
                    + "min \(Int(times[0])) ns, \(perByte) ps/byte")
        }
    }

    private static func getenvString(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}
