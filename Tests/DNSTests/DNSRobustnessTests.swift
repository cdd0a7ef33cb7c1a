import SluiceTestSupport
import XCTest

@testable import DNS

/// Seeded mutation testing: hostile bytes never trap; every input is either a message or a typed
/// error, and whatever parses survives re-encoding unchanged.
final class DNSRobustnessTests: XCTestCase {
    private static let interesting: [UInt8] = [0x00, 0x01, 0x0C, 0x29, 0x3F, 0x40, 0x80, 0xC0, 0xC1, 0xFF]

    private var corpus: [[UInt8]] {
        [
            Fixtures.queryExampleA, Fixtures.queryExampleAWithOPT, Fixtures.cnameChainResponse,
            DNSSerializer.serialize(Fixtures.everyType, compress: true),
            DNSSerializer.serialize(Fixtures.everyType, compress: false),
        ]
    }

    private func mutate(_ input: [UInt8], using rng: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0 where !bytes.isEmpty:
                bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1 where !bytes.isEmpty:
                bytes[position] = Self.interesting.randomElement(using: &rng) ?? 0
            case 2:
                let count = Int.random(in: 1...8, using: &rng)
                bytes.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: position)
            case 3 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &rng)))
            case 4:
                bytes = Array(bytes.prefix(position))
            case 5 where bytes.count >= DNSLimits.headerSize:
                bytes[Int.random(in: 4..<12, using: &rng)] = UInt8.random(in: 0...3, using: &rng)
            default:
                if !bytes.isEmpty {
                    bytes[position] = UInt8.random(in: 0...255, using: &rng)
                }
            }
        }
        return bytes
    }

    func testTwentyThousandMutatedMessages() throws {
        var rng = SeededRandom(seed: 0x5EED_D0D0)
        let corpus = corpus
        var parsedCount = 0
        var errors: [DNSParseError: Int] = [:]
        for iteration in 0..<20_000 {
            let input = mutate(corpus[iteration % corpus.count], using: &rng)
            let context = "iteration \(iteration) input \(input)"
            let message: DNSMessage
            do {
                message = try parse(input)
            } catch {
                errors[error, default: 0] += 1
                checkFormErrReply(input, context: context)
                continue
            }
            parsedCount += 1
            try checkRoundTrips(message, context: context)
            let head = try parseHead(input)
            XCTAssertEqual(head.header, message.header, context)
            XCTAssertEqual(head.question, message.questions.first, context)
            XCTAssertEqual(head.opt, message.opt, context)
            _ = AnswerSummary.extract(from: message)
            checkFormErrReply(input, context: context)
            checkFraming(input, using: &rng, context: context)
        }
        XCTAssertGreaterThan(parsedCount, 1000)
        XCTAssertGreaterThan(errors.count, 5, "\(errors)")
    }

    private func checkRoundTrips(_ message: DNSMessage, context: String) throws {
        for compress in [true, false] {
            XCTAssertEqual(try parse(DNSSerializer.serialize(message, compress: compress)), message, context)
        }
        let truncated = try parse(DNSSerializer.serialize(message, compress: true, maxSize: 512))
        XCTAssertEqual(truncated.questions, message.questions, context)
    }

    private func checkFormErrReply(_ input: [UInt8], context: String) {
        guard input.count >= DNSLimits.headerSize else { return }
        let result = input.withUnsafeBytes { raw in
            Result { () throws(DNSParseError) -> [UInt8] in try DNSReply.error(for: raw, rcode: .formErr) }
        }
        guard case .success(let reply) = result, let parsed = try? parse(reply) else {
            return XCTFail("FORMERR reply failed: \(context)")
        }
        XCTAssertEqual(parsed.rcode, .formErr, context)
        XCTAssertEqual(parsed.header.id, UInt16(input[0]) << 8 | UInt16(input[1]), context)
    }

    private func checkFraming(_ input: [UInt8], using rng: inout SeededRandom, context: String) {
        guard let framed = DNSTCPFramer.frame(input) else { return }
        let split = Int.random(in: 0...framed.count, using: &rng)
        var framer = DNSTCPFramer()
        do {
            var messages = try framed[..<split].withUnsafeBytes { try framer.feed($0) }
            messages += try framed[split...].withUnsafeBytes { try framer.feed($0) }
            XCTAssertEqual(messages, [input], context)
        } catch {
            XCTFail("framing failed: \(error) \(context)")
        }
    }
}
