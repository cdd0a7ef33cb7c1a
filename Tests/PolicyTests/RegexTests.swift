import SluiceTestSupport
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

    func testLiteralAndPrefixPatternsAreMatchedWithoutRE2() throws {
        XCTAssertEqual(try Regex.compile("GET").engine, .literal)
        XCTAssertEqual(try Regex.compile("/public").engine, .literal)
        XCTAssertEqual(try Regex.compile("/api/v1/.*").engine, .prefix)
        XCTAssertEqual(try Regex.compile(".*").engine, .prefix)
        XCTAssertEqual(try Regex.compile("/a/[0-9]+").engine, .classRun)
        XCTAssertEqual(try Regex.compile("/a/[^0-9]+").engine, .re2)
        XCTAssertEqual(try Regex.compile("/a/[0-9]+/b").engine, .re2)
        XCTAssertEqual(try Regex.compile("/a.*b").engine, .re2)
        XCTAssertEqual(try Regex.compile("/a\\.*").engine, .re2)
        XCTAssertEqual(try Regex.compile("(?i)get").engine, .re2)
        XCTAssertEqual(try Regex.compile("GET|HEAD").engine, .re2)
        XCTAssertEqual(try Regex.compile("/a{2}").engine, .re2)
        XCTAssertEqual(try Regex.compile("^/a$").engine, .re2)
    }

    /// The byte-comparison engines give RE2's answer for every subject: each pattern against
    /// subjects built from its own pieces, newlines, carriage returns, NUL and high bytes.
    func testByteEnginesAgreeWithRE2() throws {
        let patterns = [
            "GET", "/public", "", "/api/v1/.*", ".*", "/caf\u{e9}/.*", "a b", "/x/.*", "/%41/.*", "-", "/.*",
        ]
        var generator = SeededRandom(seed: 0x5EED_2E62)
        let alphabet: [UInt8] = Array("/apiv1GETx-% b".utf8) + [0x0A, 0x0D, 0x00, 0xC3, 0xA9, 0xFF]
        var matched = 0, unmatched = 0
        for pattern in patterns {
            let regex = try Regex.compile(pattern)
            XCTAssertNotEqual(regex.engine, .re2, pattern)
            let base = Array(pattern.utf8.filter { $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "*") })
            var subjects: [[UInt8]] = [
                [], base, base + [0x0A], base + Array("more".utf8), base + [0x0D],
                base + Array("a\nb".utf8), Array(base.dropLast()), [0x0A] + base,
                base + [0x00], base + [0xFF, 0x0A, 0x41],
            ]
            for _ in 0..<300 {
                var s = Bool.random(using: &generator) ? base : []
                for _ in 0..<Int.random(in: 0..<6, using: &generator) {
                    s.append(alphabet.randomElement(using: &generator)!)
                }
                subjects.append(s)
            }
            for subject in subjects {
                let want = try XCTUnwrap(Regex.re2Reference(pattern, subject), pattern)
                let got = subject.withUnsafeBytes { regex.fullMatch($0) }
                XCTAssertEqual(got, want, "pattern \(pattern.debugDescription) subject \(subject)")
                if want { matched += 1 } else { unmatched += 1 }
            }
        }
        // Both answers were exercised for these patterns, or the agreement says little.
        XCTAssertGreaterThan(matched, 100)
        XCTAssertGreaterThan(unmatched, 100)
    }

    func testPatternsAreInternedWhileInUse() throws {
        let pattern = "/intern-in-use/[a-z]+"  // used by no other test
        XCTAssertFalse(Regex.isInterned(pattern))
        var first: Regex? = try Regex.compile(pattern)
        let second = try Regex.compile(pattern)
        XCTAssertTrue(first === second)
        XCTAssertTrue(Regex.isInterned(pattern))
        first = nil
        XCTAssertTrue(Regex.isInterned(pattern), "still used by the second reference")
        withExtendedLifetime(second) {}
        // a pattern refused by RE2 is not remembered, and is refused again
        XCTAssertThrowsError(try Regex.compile("/intern-bad("))
        XCTAssertFalse(Regex.isInterned("/intern-bad("))
        XCTAssertThrowsError(try Regex.compile("/intern-bad("))
    }

    /// The intern table holds its patterns strongly (no weak reference, so no side table per
    /// pattern): one no rule uses any more is freed by the first sweep after its last use, and a
    /// sweep keeps every pattern someone still holds.
    func testAnInternedPatternIsFreedByTheFirstSweepAfterItsLastUse() throws {
        let pattern = "/intern-free"  // used by no other test
        var regex: Regex? = try Regex.compile(pattern)
        weak var freed = regex?.storage
        XCTAssertTrue(Regex.isInterned(pattern))
        XCTAssertTrue(regex!.fullMatch(pattern))
        Regex.sweepUnused()
        XCTAssertTrue(Regex.isInterned(pattern), "a sweep keeps a pattern in use")
        XCTAssertTrue(try Regex.compile(pattern) === regex)
        regex = nil
        XCTAssertNotNil(freed, "the table holds it until a sweep")
        XCTAssertGreaterThanOrEqual(Regex.sweepUnused(), 1)
        XCTAssertFalse(Regex.isInterned(pattern))
        XCTAssertNil(freed, "freed by the sweep")
    }

    /// The table grows past its first size with every lookup still finding its object, and
    /// sweeps itself when it has doubled: patterns compiled and dropped do not pile up.
    func testTheInternTableGrowsAndSweepsItself() throws {
        Regex.sweepUnused()
        let held = try (0..<3000).map { try Regex.compile("/intern-held/\($0)/[a-z]+") }
        for (i, regex) in held.enumerated() {
            XCTAssertTrue(try Regex.compile("/intern-held/\(i)/[a-z]+") === regex)
            XCTAssertTrue(regex.fullMatch("/intern-held/\(i)/abc"))
            XCTAssertFalse(regex.fullMatch("/intern-held/\(i)/"))
        }
        let before = Regex.internedCount
        for i in 0..<20_000 { _ = try Regex.compile("/intern-dropped/\(i)") }
        // at most twice what is held (the sweep threshold) plus what came since the last sweep
        XCTAssertLessThan(Regex.internedCount, 2 * (before + 1024) + 1)
        XCTAssertGreaterThan(Regex.sweepUnused(), 0)
        XCTAssertEqual(Regex.internedCount, before, "a full sweep leaves what is held")
        for (i, regex) in held.enumerated() { XCTAssertTrue(try Regex.compile("/intern-held/\(i)/[a-z]+") === regex) }
    }

    /// A class run's members sit in the object after the pattern's bytes, in two words: bytes
    /// 0-63 and 64-127, every printable byte on both sides of 64, none above 127.
    func testAClassRunReadsItsMembersFromBothWords() throws {
        let regex = try Regex.compile("/r/[ -~]+")
        XCTAssertEqual(regex.engine, .classRun)
        XCTAssertTrue(regex.fullMatch("/r/ !09?@AZ[`az{~"))
        XCTAssertFalse(regex.fullMatch("/r/"))
        XCTAssertFalse(regex.fullMatch("/r/a\u{7F}"))
        XCTAssertFalse([UInt8](arrayLiteral: 0x2F, 0x72, 0x2F, 0x41, 0xC1).withUnsafeBytes { regex.fullMatch($0) })
        let digits = try Regex.compile("/r/[0-9]*")
        XCTAssertTrue(digits.fullMatch("/r/"))
        XCTAssertTrue(digits.fullMatch("/r/0123456789"))
        XCTAssertFalse(digits.fullMatch("/r/12p"))
        XCTAssertFalse(digits.fullMatch("/r/1p"))  // 'p' is '0' + 64: the other word
        XCTAssertEqual(regex.bytes, Array("/r/[ -~]+".utf8))
        XCTAssertEqual(regex.pattern, "/r/[ -~]+")
    }

    func testProgramSizeLimitHoldsForInternedAndLiteralPatterns() throws {
        let long = String(repeating: "/segment", count: 20)
        XCTAssertNoThrow(try Regex.compile(long, limit: nil))
        // interned now, and a literal: the limit is still Envoy's program size, not skipped
        XCTAssertThrowsError(try Regex.compile(long)) { error in
            guard case Regex.CompileError.programTooLarge(let size) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(size, 100)
        }
    }
}
