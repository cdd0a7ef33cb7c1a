/// The grammar of the hand-written command lines (`sluice-agent`, `sluice-observer`, which link no
/// ArgumentParser): `--name value`, `--name=value`, `--flag`, and `-h`/`--help`. It splits the
/// arguments into options; which names exist and which take a value is the caller's table.
///
///     var scanner = CommandLineScanner(arguments)
///     while let token = try scanner.next() {
///         guard case .option(let name, let inline) = token else { return .help(usage) }
///         let value = try scanner.value(inline: inline, usage: "\(name) <n>")
///     }
public struct CommandLineScanner {
    /// What one argument is.
    public enum Token: Equatable {
        /// `-h` or `--help`.
        case help
        /// `--name` or `--name=value` (`inline`: the text after the first `=`, possibly empty).
        case option(name: String, inline: String?)
    }

    private let arguments: [String]
    private var index = 0

    /// Scans `arguments` (without the program name).
    public init(_ arguments: [String]) {
        self.arguments = arguments
    }

    /// The next option, nil at the end; an argument that is not an option is an error.
    public mutating func next() throws(CommandLineFailure) -> Token? {
        guard index < arguments.count else { return nil }
        let argument = arguments[index]
        index += 1
        if argument == "-h" || argument == "--help" { return .help }
        guard argument.hasPrefix("--") else {
            throw CommandLineFailure(message: "unexpected argument '\(argument)'")
        }
        guard let eq = argument.firstIndex(of: "=") else { return .option(name: argument, inline: nil) }
        return .option(name: String(argument[..<eq]), inline: String(argument[argument.index(after: eq)...]))
    }

    /// The value of the option `next` just returned: its `inline` text, else the next argument
    /// (whatever it looks like, as `--name -1`). `usage` names the option in the error when
    /// there is none (`--workers <n>`).
    public mutating func value(inline: String?, usage: String) throws(CommandLineFailure) -> String {
        if let inline { return inline }
        guard index < arguments.count else { throw CommandLineFailure(message: "missing value for '\(usage)'") }
        index += 1
        return arguments[index - 1]
    }
}

/// A command-line error, worded for the user.
public struct CommandLineFailure: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }

    /// `unknown option '--name'`.
    public static func unknownOption(_ name: String) -> CommandLineFailure {
        CommandLineFailure(message: "unknown option '\(name)'")
    }
}
