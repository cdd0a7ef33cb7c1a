import SluiceTestSupport
import XCTest

@testable import Policy

/// The shapes `Regex` matches without RE2 agree with RE2 on everything RE2 would have said:
/// whether the pattern is valid, its program size (Envoy's limit), and FullMatch.
final class RegexShapeTests: XCTestCase {
    func testShapesOfTypicalPatterns() {
        XCTAssertEqual(RegexShape.of(Array("GET".utf8)), .literal(Array("GET".utf8)))
        XCTAssertEqual(RegexShape.of(Array("/a/.*".utf8)), .prefix(Array("/a/".utf8)))
        guard
            case .classRun(let literal, let members, true, _)? = RegexShape.of(Array("/svc-0001/v0/items/[0-9]+".utf8))
        else { return XCTFail("not a class run") }
        XCTAssertEqual(literal, Array("/svc-0001/v0/items/".utf8))
        XCTAssertTrue(members.contains(UInt8(ascii: "0")) && members.contains(UInt8(ascii: "9")))
        XCTAssertFalse(members.contains(UInt8(ascii: "a")) || members.contains(0x0A))
        for other in ["[^a]+", "[a-]x+", "a[b]+c", "[a]{2}", "[]a]+", "[a\\d]+", "[z-a]+", "[a-b-c]+", "a|b", "[a]?"] {
            XCTAssertNil(RegexShape.of(Array(other.utf8)), other)
        }
    }

    /// Random literals (printable, high bytes, NUL) with nothing, `.*` or a random class and
    /// quantifier after them: every recognised pattern is one RE2 accepts, with RE2's program size
    /// and RE2's FullMatch answer on random subjects.
    func testRecognisedPatternsAgreeWithRE2() throws {
        var generator = SeededRandom(seed: 0x5CA1_E019)
        let literalBytes: [UInt8] = Array("/svc-019av_~%:".utf8) + [0x00, 0x0D, 0xC3, 0xA9, 0xFF]
        let classBytes: [UInt8] = Array("09az-_.~/AZ%:!".utf8)
        var recognised = 0, matched = 0, unmatched = 0
        for _ in 0..<600 {
            var pattern: [UInt8] = (0..<Int.random(in: 0..<12, using: &generator)).map { _ in
                literalBytes.randomElement(using: &generator)!
            }
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: break
            case 1: pattern += Array(".*".utf8)
            default:
                pattern.append(UInt8(ascii: "["))
                for _ in 0..<Int.random(in: 1...5, using: &generator) {
                    let a = classBytes.randomElement(using: &generator)!
                    if Bool.random(using: &generator) {
                        let b = classBytes.randomElement(using: &generator)!
                        pattern += [min(a, b), UInt8(ascii: "-"), max(a, b)]
                    } else {
                        pattern.append(a)
                    }
                }
                pattern += [UInt8(ascii: "]"), Bool.random(using: &generator) ? UInt8(ascii: "+") : UInt8(ascii: "*")]
            }
            guard let shape = RegexShape.of(pattern) else { continue }
            recognised += 1
            let text = String(decoding: pattern, as: UTF8.self)
            let reference = try XCTUnwrap(Regex.re2ReferenceProgramSize(pattern), "RE2 refused \(pattern)")
            XCTAssertEqual(shape.programSize, reference, "program size of \(pattern)")
            // Only patterns whose bytes survive String (valid UTF-8) go through Regex.compile.
            guard Array(text.utf8) == pattern else { continue }
            let regex = try Regex.compile(text, limit: nil)
            XCTAssertNotEqual(regex.engine, .re2, text)
            XCTAssertEqual(regex.programSize, reference, text)
            let subjectBytes = literalBytes + classBytes + [0x0A, UInt8(ascii: "b")]
            let head = Array(pattern.prefix { !RegexShape.isMeta($0) })
            for _ in 0..<60 {
                var subject = Bool.random(using: &generator) ? head : []
                for _ in 0..<Int.random(in: 0..<5, using: &generator) {
                    subject.append(subjectBytes.randomElement(using: &generator)!)
                }
                let want = try XCTUnwrap(Regex.re2Reference(text, subject))
                XCTAssertEqual(subject.withUnsafeBytes { regex.fullMatch($0) }, want, "\(text) on \(subject)")
                if want { matched += 1 } else { unmatched += 1 }
            }
        }
        XCTAssertGreaterThan(recognised, 300)
        XCTAssertGreaterThan(matched, 500)
        XCTAssertGreaterThan(unmatched, 500)
    }

    func testAClassRunIsRefusedOverEnvoysLimitLikeAnyPattern() {
        let long = String(repeating: "/segment", count: 12) + "/[0-9]+"
        XCTAssertThrowsError(try Regex.compile(long)) { error in
            guard case Regex.CompileError.programTooLarge(let size) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(size, Regex.re2ReferenceProgramSize(Array(long.utf8)))
        }
    }
}
