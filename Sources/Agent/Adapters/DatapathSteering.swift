import CSluiceShared
import Datapath
import Proxy

/// The datapath's steering table as the proxy's `SteeringTable`: the adapter through which the
/// data plane (Proxy, which does not import Datapath) reads `sluice_steered` and the steering
/// epoch. Each worker puts its own `SteeringCache` in front of it.
final class DatapathSteering: SteeringTable {
    let datapath: Datapath
    init(_ datapath: Datapath) { self.datapath = datapath }

    func lookup(
        sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16,
        protocol proto: UInt8
    ) -> SteerInfo? {
        let tuple = sluice_tuple(
            src_ip4: sourceAddress, dst_ip4: destinationAddress, src_port: sourcePort,
            dst_port: destinationPort, proto: proto, _pad: (0, 0, 0))
        return datapath.lookupSteered(tuple).map(SteerInfo.init)
    }

    var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { datapath.steeringEpoch.current }
}

extension DatapathSteering: DNSDenyCache {
    var dnsDenyCache: DNSDenyCache? { self }

    var generation: UInt64 { datapath.dnsDenyGeneration }

    func insert(_ key: UnsafePointer<sluice_dns_deny_key>, _ value: UnsafePointer<sluice_dns_deny_value>) -> Bool {
        datapath.insertDNSDenial(key, value)
    }
}
