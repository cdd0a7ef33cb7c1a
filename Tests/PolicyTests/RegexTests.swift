import XCTest
@testable import Policy

final class RegexTests: XCTestCase {
    func testFullMatchIsAnchored() throws {
        let regex = try Regex.compile("/public")
        XCTAssertTrue(regex.fullMatch("/public"))
        XCTAssertFalse(regex.fullMatch("/public/x"))
        XCTAssertFalse(regex.fullMatch("/public?a=1"))
        XCTAssertFalse(regex.fullMatch("x/public"))
    }

    func testBytesMatchBytesInLatin1() throws {
        let regex = try Regex.compile("/caf.")
        // "é" is two bytes in UTF-8; Latin-1 mode sees two characters, so one dot is not enough.
        XCTAssertFalse(regex.fullMatch("/café"))
        XCTAssertTrue(regex.fullMatch("/cafe"))
        XCTAssertTrue(try Regex.compile("/caf..").fullMatch("/café"))
    }

    func testSyntaxErrorIsReported() {
        XCTAssertThrowsError(try Regex.compile("/a(")) { error in
            guard case Regex.CompileError.syntax(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("missing )"), message)
        }
    }

    func testProgramSizeLimitIsEnvoys() throws {
        XCTAssertLessThanOrEqual(try Regex.compile("/anything/.*").programSize, Regex.maxProgramSize)
        let long = String(repeating: "/segment", count: 20)
        XCTAssertThrowsError(try Regex.compile(long)) { error in
            guard case Regex.CompileError.programTooLarge(let size) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(size, 100)
        }
        XCTAssertNoThrow(try Regex.compile(long, limit: nil))
    }

    /// The measured reason for RE2 over Swift's Regex: prints ns/op for both engines.
    func testMeasureRE2AgainstSwiftRegex() throws {
        let iterations = 100_000
        let re2 = try Regex.compile("/anything/.*")
        let subject = "/anything/foo/bar"
        var bytes = Array(subject.utf8)
        var matches = 0
        let re2Start = DispatchTime.now().uptimeNanoseconds
        bytes.withUnsafeMutableBytes { raw in
            let view = UnsafeRawBufferPointer(raw)
            for _ in 0..<iterations where re2.fullMatch(view) { matches += 1 }
        }
        let re2Nanos = Double(DispatchTime.now().uptimeNanoseconds - re2Start) / Double(iterations)
        XCTAssertEqual(matches, iterations)

        let swiftRegex = try _StringProcessing.Regex("/anything/.*")
        matches = 0
        let swiftStart = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations where (try? swiftRegex.wholeMatch(in: subject)) != nil { matches += 1 }
        let swiftNanos = Double(DispatchTime.now().uptimeNanoseconds - swiftStart) / Double(iterations)
        XCTAssertEqual(matches, iterations)
        print(String(format: "regex benchmark: RE2 FullMatch %.1f ns/op, Swift Regex wholeMatch %.1f ns/op (%d iterations)",
                     re2Nanos, swiftNanos, iterations))
    }
}
