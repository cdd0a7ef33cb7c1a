import SluiceModel
import XCTest

final class CommandLineScannerTests: XCTestCase {
    /// Scans like a caller whose every option takes a value, recording `name=value`.
    private func scan(_ arguments: [String]) throws -> [String] {
        var scanner = CommandLineScanner(arguments)
        var out: [String] = []
        while let token = try scanner.next() {
            switch token {
            case .help: out.append("help")
            case .option(let name, let inline):
                out.append(name + "=" + (try scanner.value(inline: inline, usage: "\(name) <v>")))
            }
        }
        return out
    }

    private func failure(_ arguments: [String]) -> String? {
        do {
            _ = try scan(arguments)
            return nil
        } catch {
            return (error as? CommandLineFailure)?.message
        }
    }

    func testSeparateAndInlineValues() throws {
        XCTAssertEqual(try scan([]), [])
        XCTAssertEqual(try scan(["--a", "1", "--b=2", "--c="]), ["--a=1", "--b=2", "--c="])
        // Only the first `=` splits; a value is taken whatever it looks like.
        XCTAssertEqual(try scan(["--x=a=b", "--y", "--z", "--w", "-1"]), ["--x=a=b", "--y=--z", "--w=-1"])
        XCTAssertEqual(try scan(["--a", "-h", "-h", "--help"]), ["--a=-h", "help", "help"])
    }

    func testTokensWithoutValues() throws {
        var scanner = CommandLineScanner(["--flag", "--on=yes", "-h"])
        XCTAssertEqual(try scanner.next(), .option(name: "--flag", inline: nil))
        XCTAssertEqual(try scanner.next(), .option(name: "--on", inline: "yes"))
        XCTAssertEqual(try scanner.next(), .help)
        XCTAssertNil(try scanner.next())
        XCTAssertNil(try scanner.next())
    }

    func testErrorsNameTheArgument() {
        XCTAssertEqual(failure(["value"]), "unexpected argument 'value'")
        XCTAssertEqual(failure(["-x"]), "unexpected argument '-x'")
        XCTAssertEqual(failure(["--a", "1", "--workers"]), "missing value for '--workers <v>'")
        XCTAssertEqual(CommandLineFailure.unknownOption("--nope").message, "unknown option '--nope'")
        XCTAssertEqual(CommandLineFailure(message: "m").description, "m")
    }
}
