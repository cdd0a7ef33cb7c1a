import Foundation

/// Runs an executable this package built (`sluice`, `sluice-agent`), found beside the test bundle
/// in `.build/<configuration>/`, and returns its exit status and outputs: the executables' tests
/// run the real binary as a user does.
public enum BuiltProduct {
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public struct Missing: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "\(path) is not built (swift build builds it)" }
    }

    /// The path of product `name` beside the running test bundle.
    public static func path(_ name: String) -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "sluicePackageTests" {
            directory.deleteLastPathComponent()
        }
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent(name).path
    }

    /// Runs `name arguments...` with `environment` added, waits for it, and returns what it did.
    public static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> Result
    {
        let executable = path(name)
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw Missing(path: executable) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both to the end before waiting, so a full pipe cannot stall the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}
