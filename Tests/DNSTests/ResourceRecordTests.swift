import SluiceModel
import XCTest

@testable import DNS

final class ResourceRecordTests: XCTestCase {
    func testTypeIsTakenFromTheData() throws {
        let name = try DomainName("host.example")
        let a = ResourceRecord(name: name, ttl: 60, rdata: .a(IPv4Address(10, 0, 0, 1)))
        XCTAssertEqual(a.type, .a)
        XCTAssertEqual(a.class, .internet)
        XCTAssertEqual(a.ttl, 60)
        let mx = ResourceRecord(name: name, ttl: 1, rdata: .mx(preference: 10, exchange: name))
        XCTAssertEqual(mx.type, .mx)
        let opaque = ResourceRecord(name: name, ttl: 1, rdata: .opaque(type: RRType(99), bytes: [1]))
        XCTAssertEqual(opaque.type, RRType(99))
    }

    func testExplicitTypeIsKept() throws {
        let record = ResourceRecord(
            name: .root, type: RRType(255), class: RRClass(3), ttl: 5, rdata: .opaque(type: .a, bytes: []))
        XCTAssertEqual(record.type, RRType(255))
        XCTAssertEqual(record.class, RRClass(3))
    }

    func testQuestionDefaultsToInternet() throws {
        let question = Question(name: try DomainName("example.com"), type: .aaaa)
        XCTAssertEqual(question.class, .internet)
        XCTAssertNotEqual(question, Question(name: try DomainName("example.com"), type: .a))
    }
}
