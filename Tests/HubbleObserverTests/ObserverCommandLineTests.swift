import SluiceModel
import XCTest

@testable import HubbleObserver

final class ObserverCommandLineTests: XCTestCase {
    func testDefaultsAreHubblesPorts() throws {
        guard case .run(let options) = try ObserverCommandLine.parse([]) else { return XCTFail("not run") }
        XCTAssertEqual(options.grpcAddress.description, ":4244")
        XCTAssertEqual(options.metricsAddress?.description, ":9965")
        XCTAssertEqual(options.uiAddress?.description, ":12000")
        XCTAssertEqual(options.maxFlows, 4095)
        XCTAssertNil(options.nodeName)
    }

    func testEveryOptionInBothForms() throws {
        let outcome = try ObserverCommandLine.parse([
            "--grpc-address", "10.244.0.1:4244", "--metrics-address=10.244.0.1:9965", "--ui-address", "",
            "--node-name", "node-a", "--max-flows=10", "--pin-dir", "/p", "--state-dir", "/s", "--netns",
            "sluice-node", "--metrics", "flow,drop",
        ])
        guard case .run(let o) = outcome else { return XCTFail("not run") }
        XCTAssertEqual(o.grpcAddress, ListenAddress(host: IPv4Address(10, 244, 0, 1), port: 4244))
        XCTAssertEqual(o.metricsAddress?.port, 9965)
        XCTAssertNil(o.uiAddress)
        XCTAssertEqual(o.nodeName, "node-a")
        XCTAssertEqual(o.maxFlows, 10)
        XCTAssertEqual(o.pinDirectory, "/p")
        XCTAssertEqual(o.stateDirectory, "/s")
        XCTAssertEqual(o.netns, "sluice-node")
        XCTAssertEqual(o.metrics, "flow,drop")
    }

    func testErrorsNameTheOption() {
        let cases: [([String], String)] = [
            (["--max-flows", "0"], "--max-flows: '0' is not a number in 1...1048576"),
            (["--grpc-address", "x"], "--grpc-address: 'x' is not HOST:PORT or :PORT (HOST an IPv4 address)"),
            (["--bogus"], "unknown option '--bogus'"),
            (["--node-name"], "missing value for '--node-name <name>'"),
            (["stray"], "unexpected argument 'stray'"),
            (["--tls-cert-file", "/c"], "--tls-cert-file and --tls-key-file go together (both or neither)"),
            (["--tls-key-file=/k"], "--tls-cert-file and --tls-key-file go together (both or neither)"),
            (["--tls-client-ca-file", "/ca"], "--tls-client-ca-file needs --tls-cert-file and --tls-key-file"),
        ]
        for (arguments, message) in cases {
            XCTAssertThrowsError(try ObserverCommandLine.parse(arguments)) {
                XCTAssertEqual(($0 as? ObserverCommandLine.Failure)?.message, message)
            }
        }
    }

    func testTLSFiles() throws {
        guard case .run(let plain) = try ObserverCommandLine.parse([]) else { return XCTFail("not run") }
        XCTAssertNil(plain.tlsCertFile, "plaintext by default")
        let outcome = try ObserverCommandLine.parse([
            "--tls-cert-file", "/c.pem", "--tls-key-file=/k.pem", "--tls-client-ca-file", "/ca.pem",
        ])
        guard case .run(let o) = outcome else { return XCTFail("not run") }
        XCTAssertEqual(o.tlsCertFile, "/c.pem")
        XCTAssertEqual(o.tlsKeyFile, "/k.pem")
        XCTAssertEqual(o.tlsClientCAFile, "/ca.pem")
    }

    func testHelpListsEveryOption() throws {
        guard case .help(let text) = try ObserverCommandLine.parse(["--help"]) else { return XCTFail("not help") }
        for name in [
            "--grpc-address", "--metrics-address", "--ui-address", "--node-name", "--max-flows", "--netns",
            "--tls-cert-file", "--tls-key-file",
            "--tls-client-ca-file",
        ] {
            XCTAssertTrue(text.contains(name), name)
        }
    }
}
