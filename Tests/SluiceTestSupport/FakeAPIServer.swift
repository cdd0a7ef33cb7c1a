import Foundation

/// integration/kube/fakeapi/server.py started on loopback in a fresh directory, for the tests of
/// the Kubernetes client and of the agent against a real (fake) API server; mutations go through curl over HTTPS with the
/// server's CA and token, as any client's would.
public final class FakeAPIServer {
    public let dir: String
    public let url: String
    public let control: String
    public let token: String
    private let process: Process

    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public init(_ extra: [String] = []) throws {
        dir = NSTemporaryDirectory() + "sluice-fakeapi-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let venv = Self.root + "/.venv/bin/python"
        let process = Process()
        self.process = process
        process.executableURL = URL(
            fileURLWithPath: FileManager.default.fileExists(atPath: venv) ? venv : "/usr/bin/python3")
        process.arguments =
            [
                Self.root + "/integration/kube/fakeapi/server.py", "--dir", dir, "--bookmark-interval", "0.3",
            ] + extra
        let log = FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let statePath = dir + "/server.json"
        try poll("server.json", deadline: 20) {
            FileManager.default.fileExists(atPath: statePath) || !process.isRunning
        }
        guard process.isRunning else { throw KubeTestError("the fake API server exited") }
        let state =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: statePath))) as! [String: Any]
        url = state["url"] as! String
        control = state["control"] as! String
        token = try String(contentsOfFile: dir + "/token", encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    public func close() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// POSTs to the control endpoint (`compact`, `expire`, `stop`, `start`).
    public func controlAction(_ action: String) throws {
        _ = try curl(["-X", "POST", control + "/" + action])
    }

    /// An HTTPS request to the API with the CA and token; returns the HTTP status.
    @discardableResult
    public func request(_ method: String, _ path: String, body: String? = nil, contentType: String = "application/json")
        throws
        -> Int
    {
        var args = [
            "--cacert", dir + "/ca.crt", "-H", "Authorization: Bearer \(token)", "-X", method, "-o", "/dev/null", "-w",
            "%{http_code}",
        ]
        if let body { args += ["-H", "Content-Type: \(contentType)", "--data-binary", body] }
        return Int(try curl(args + [url + path])) ?? 0
    }

    /// GETs `path` with the CA and token; returns the body (JSON), failing on an HTTP error.
    public func get(_ path: String) throws -> String {
        try curl(["--cacert", dir + "/ca.crt", "-H", "Authorization: Bearer \(token)", "--fail", url + path])
    }

    private func curl(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        p.arguments = ["-sS", "--max-time", "10"] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw KubeTestError("curl \(args) exited \(p.terminationStatus)") }
        return String(decoding: out, as: UTF8.self)
    }
}

public struct KubeTestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `check` every 20 ms until it holds; throws naming `what` after `deadline` seconds.
public func poll(_ what: String, deadline: Double = 10, _ check: () throws -> Bool) throws {
    let end = Date().addingTimeInterval(deadline)
    while try !check() {
        if Date() > end { throw KubeTestError("timed out after \(deadline)s waiting for \(what)") }
        usleep(20_000)
    }
}
