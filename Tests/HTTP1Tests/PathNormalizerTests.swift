import XCTest

@testable import HTTP1

/// `PathNormalizer`: Cilium's default path normalisation (Envoy normalize_path + merge_slashes +
/// UNESCAPE_AND_REDIRECT), target bytes in, outcome and bytes out.
final class PathNormalizerTests: XCTestCase {
    enum Result: Equatable {
        case unchanged
        case normalized(String)
        case redirect(String)
        case error(ParseError)
    }

    func normalize(_ target: String) -> Result {
        let input = Array(target.utf8)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count + 1, alignment: 1)
        defer { output.deallocate() }
        return input.withUnsafeBytes { bytes in
            do throws(ParseError) {
                switch try PathNormalizer.normalize(bytes, into: output) {
                case .unchanged: return .unchanged
                case .normalized(let n): return .normalized(String(decoding: output[..<n], as: UTF8.self))
                case .redirect(let n): return .redirect(String(decoding: output[..<n], as: UTF8.self))
                }
            } catch {
                return .error(error)
            }
        }
    }

    func testCanonicalPathsAreUnchanged() {
        for path in [
            "/", "/anything/public/x", "/a/b/", "/a.b/c..d/.e", "/.well-known/x", "/a?x=/../%2F#",
            "/a/b?q=%zz", "*", "example.com:443", "/a%20b", "/%C3%A9",
        ] where !path.contains("#") {
            XCTAssertEqual(normalize(path), .unchanged, path)
        }
    }

    func testDotSegmentsAreRemovedAsRFC3986Section5_2_4() {
        let cases: [(String, String)] = [
            ("/anything/public/../private", "/anything/private"),
            ("/a/./b", "/a/b"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/..", "/"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/a/b/../../../c", "/c"),
            ("/./", "/"),
            ("/a/..?x=1", "/?x=1"),
        ]
        for (input, expected) in cases { XCTAssertEqual(normalize(input), .normalized(expected), input) }
    }

    func testUnreservedEscapesAreDecodedAndADecodedDotIsADot() {
        XCTAssertEqual(normalize("/anything/public/%2e%2e/private"), .normalized("/anything/private"))
        XCTAssertEqual(normalize("/anything/public/%2E%2e/private"), .normalized("/anything/private"))
        XCTAssertEqual(normalize("/anything/public/.%2e/private"), .normalized("/anything/private"))
        XCTAssertEqual(normalize("/%61ny%7Ething"), .normalized("/any~thing"))
        // Reserved and other bytes stay escaped, hex in upper case.
        XCTAssertEqual(normalize("/a%3fb%c3%a9"), .normalized("/a%3Fb%C3%A9"))
        XCTAssertEqual(normalize("/a%20b"), .unchanged)
    }

    func testSlashesAreMergedAndBackslashIsASlash() {
        XCTAssertEqual(normalize("//anything//public///x"), .normalized("/anything/public/x"))
        XCTAssertEqual(normalize("/a//../b"), .normalized("/a/b"))
        XCTAssertEqual(normalize("/anything\\public\\..\\private"), .normalized("/anything/private"))
    }

    func testEncodedSlashOrBackslashRedirectsToTheUnescapedPathKeepingTheQuery() {
        XCTAssertEqual(normalize("/anything/public%2Fx"), .redirect("/anything/public/x"))
        XCTAssertEqual(normalize("/anything/public%2f..%2fprivate?q=%2F"), .redirect("/anything/private?q=%2F"))
        XCTAssertEqual(normalize("/a%5Cb"), .redirect("/a/b"))
        XCTAssertEqual(normalize("/a%5c..%5cb"), .redirect("/b"))
    }

    func testFragmentAndBadEscapesAre400() {
        XCTAssertEqual(normalize("/a#b"), .error(.fragmentInTarget))
        XCTAssertEqual(normalize("/a?x#b"), .error(.fragmentInTarget))
        XCTAssertEqual(normalize("/a%2"), .error(.badPercentEncoding))
        XCTAssertEqual(normalize("/a%zz/b"), .error(.badPercentEncoding))
        XCTAssertEqual(normalize("/a%"), .error(.badPercentEncoding))
        XCTAssertEqual(ParseError.fragmentInTarget.status, 400)
        XCTAssertEqual(ParseError.badPercentEncoding.status, 400)
    }

    /// Normalising twice changes nothing more, for every path of up to 5 bytes over a small
    /// alphabet, and no output is longer than the input (the caller sizes its storage so).
    func testNormalisedPathsAreFixedPointsAndNeverGrow() {
        let alphabet = ["/", ".", "a", "%2e", "%2F", "\\", "?"]
        var paths = ["/"]
        for _ in 0..<4 { paths = paths + paths.flatMap { p in alphabet.map { p + $0 } }; paths = Array(Set(paths)) }
        for path in paths {
            switch normalize(path) {
            case .normalized(let out), .redirect(let out):
                XCTAssertLessThanOrEqual(out.utf8.count, path.utf8.count + 1, path)
                XCTAssertTrue(out.hasPrefix("/"), path)
                XCTAssertEqual(normalize(out), .unchanged, "\(path) -> \(out)")
            case .unchanged, .error:
                break
            }
        }
    }

    /// Random targets over the bytes that matter never trap, never grow past the storage, and
    /// normalise to fixed points.
    func testRandomTargetsAreSafe() {
        var rng = SystemRandomNumberGenerator()
        let pieces = [
            "/", ".", "..", "%2e", "%2E", "%2f", "%5C", "%", "%4", "%41", "%zz", "\\", "?", "#", "a", "~", "%00",
        ]
        for _ in 0..<20_000 {
            var path = Bool.random(using: &rng) ? "/" : ""
            for _ in 0..<Int.random(in: 0...10, using: &rng) { path += pieces.randomElement(using: &rng)! }
            switch normalize(path) {
            case .normalized(let out), .redirect(let out):
                XCTAssertLessThanOrEqual(out.utf8.count, path.utf8.count + 1, path)
                if case .normalized = normalize(path) {
                    XCTAssertEqual(normalize(out), .unchanged, "\(path) -> \(out)")
                }
            case .unchanged, .error:
                break
            }
        }
    }
}
