import XCTest

@testable import Policy

/// One compiled `rules.http[]` entry against requests: matchers ANDed, header presence and
/// Envoy's joined-values comparison.
final class HTTPRuleTests: XCTestCase {
    private func rule(
        method: String? = nil, path: String? = nil, host: String? = nil, headers: [(String, String?)] = [],
        neverMatches: Bool = false
    ) throws -> HTTPRule {
        HTTPRule(
            method: try method.map { pattern throws in try Regex.compile(pattern) },
            path: try path.map { pattern throws in try Regex.compile(pattern) },
            host: try host.map { pattern throws in try Regex.compile(pattern) },
            headers: headers.map { .init(name: Array($0.0.utf8), value: $0.1.map { Array($0.utf8) }) },
            headerActions: [], neverMatches: neverMatches, headerCanonical: nil)
    }

    /// A rule is three words (method, path, the boxed host and header part): the documents in
    /// force and the snapshot hold one per `rules.http[]` entry, 10,000 for the policy-scale file.
    func testARuleWithoutHeadersIsThreeWordsAndComparesByValue() throws {
        XCTAssertEqual(MemoryLayout<HTTPRule>.stride, 24)
        XCTAssertEqual(try rule(method: "GET"), try rule(method: "GET"))
        XCTAssertEqual(try rule(host: "a.example"), try rule(host: "a.example"))
        XCTAssertNotEqual(try rule(host: "a.example"), try rule(host: "b.example"))
        XCTAssertNotEqual(try rule(host: "a.example"), try rule())
        XCTAssertEqual(try rule(host: "a.example").host?.pattern, "a.example")
        XCTAssertNil(try rule(method: "GET").host)
        XCTAssertEqual(try rule(headers: [("x-a", "1")]), try rule(headers: [("x-a", "1")]))
        XCTAssertNotEqual(try rule(headers: [("x-a", "1")]), try rule(headers: [("x-a", "2")]))
        XCTAssertNotEqual(try rule(method: "GET"), try rule(method: "GET", neverMatches: true))
        XCTAssertEqual(try rule(method: "GET").headers, [])
    }

    func testEmptyRuleMatchesEveryRequestUnlessItNeverMatches() throws {
        XCTAssertTrue(try rule().matches(TestRequest("DELETE", "/anything")))
        XCTAssertFalse(try rule(neverMatches: true).matches(TestRequest("GET", "/")))
    }

    func testMethodAndPathAreAnchoredAndANDed() throws {
        let getPublic = try rule(method: "GET", path: "/public/.*")
        XCTAssertTrue(getPublic.matches(TestRequest("GET", "/public/a")))
        XCTAssertFalse(getPublic.matches(TestRequest("POST", "/public/a")))
        XCTAssertFalse(getPublic.matches(TestRequest("GET", "/private/public/a")))
        XCTAssertFalse(getPublic.matches(TestRequest("GETX", "/public/a")))
    }

    /// The boxed host is matched against the authority, ANDed with method, path and headers.
    func testTheHostIsMatchedWithTheOtherMatchers() throws {
        let hostOnly = try rule(host: "api\\.example\\.com")
        XCTAssertTrue(hostOnly.matches(TestRequest("GET", "/", host: "api.example.com")))
        XCTAssertFalse(hostOnly.matches(TestRequest("GET", "/", host: "www.example.com")))
        let all = try rule(method: "GET", path: "/a", host: "api.example.com", headers: [("x-a", "1")])
        XCTAssertTrue(all.matches(TestRequest("GET", "/a", host: "api.example.com", headers: [("x-a", "1")])))
        XCTAssertFalse(all.matches(TestRequest("GET", "/a", host: "other", headers: [("x-a", "1")])))
        XCTAssertFalse(all.matches(TestRequest("GET", "/a", host: "api.example.com", headers: [("x-a", "2")])))
        XCTAssertFalse(all.matches(TestRequest("GET", "/b", host: "api.example.com", headers: [("x-a", "1")])))
    }

    func testHeaderPresenceComparesNamesCaseInsensitively() throws {
        let present = try rule(headers: [("x-token", nil)])
        XCTAssertTrue(present.matches(TestRequest("GET", "/", headers: [("X-Token", "")])))
        XCTAssertTrue(present.matches(TestRequest("GET", "/", headers: [("a", "1"), ("X-TOKEN", "2")])))
        XCTAssertFalse(present.matches(TestRequest("GET", "/", headers: [("x-tokens", "1")])))
        XCTAssertFalse(present.matches(TestRequest("GET", "/")))
    }

    func testHeaderValueIsEveryValueJoinedWithCommas() throws {
        let joined = try rule(headers: [("x-id", "a,b")])
        XCTAssertTrue(joined.matches(TestRequest("GET", "/", headers: [("X-Id", "a"), ("x-id", "b")])))
        XCTAssertTrue(joined.matches(TestRequest("GET", "/", headers: [("x-id", "a,b")])))
        XCTAssertFalse(joined.matches(TestRequest("GET", "/", headers: [("x-id", "a")])))
        XCTAssertFalse(joined.matches(TestRequest("GET", "/", headers: [("x-id", "a"), ("x-id", "bc")])))
        XCTAssertFalse(joined.matches(TestRequest("GET", "/", headers: [("x-id", "a"), ("x-id", "b"), ("x-id", "")])))
        XCTAssertFalse(joined.matches(TestRequest("GET", "/", headers: [("x-id", "ab")])))
        let single = try rule(headers: [("x-id", "a")])
        XCTAssertTrue(single.matches(TestRequest("GET", "/", headers: [("x-id", "a")])))
        XCTAssertFalse(single.matches(TestRequest("GET", "/", headers: [("x-id", "A")])), "values are case-sensitive")
        XCTAssertFalse(single.matches(TestRequest("GET", "/", headers: [("x-id", "a"), ("x-id", "b")])))
    }

    func testEveryHeaderRequirementMustHold() throws {
        let both = try rule(headers: [("x-a", nil), ("x-b", "1")])
        XCTAssertTrue(both.matches(TestRequest("GET", "/", headers: [("x-a", "z"), ("x-b", "1")])))
        XCTAssertFalse(both.matches(TestRequest("GET", "/", headers: [("x-b", "1")])))
        XCTAssertFalse(both.matches(TestRequest("GET", "/", headers: [("x-a", "z"), ("x-b", "2")])))
    }
}
