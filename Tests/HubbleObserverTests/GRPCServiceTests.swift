import Glibc
import SluiceIO
import SluiceModel
import XCTest

@testable import HubbleObserver

final class GRPCServiceTests: XCTestCase {
    func testListensOnTheGRPCAddress() throws {
        var options = ObserverOptions()
        options.grpcAddress = ListenAddress(host: IPv4Address(127, 0, 0, 1), port: 0)
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        let observer = try Observer(options: options)
        let service = GRPCService()
        try service.start(observer: observer)
        XCTAssertNotEqual(service.acceptor?.boundPort ?? 0, 0)
    }
}
