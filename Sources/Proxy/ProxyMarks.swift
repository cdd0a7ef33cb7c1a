import CSluiceShared

/// SO_MARK values of the proxy's own sockets (bpf/include/sluice_maps.h).
enum ProxyMarks {
    /// `SLUICE_MARK_FROM_PROXY` with `identity`, the security identity of the client whose
    /// request the socket carries: tc never steers such packets back to the proxy and decides
    /// the destination pod's ingress policy with that identity (`sluice_mark_from_proxy`).
    /// Identities above `SLUICE_MARK_IDENTITY_MAX` cannot occur (allocated identities are small,
    /// CIDR and FQDN ones end at it) and are cut to its bits.
    static func fromProxy(identity: UInt32) -> UInt32 {
        sluice_mark_from_proxy(identity & UInt32(SLUICE_MARK_IDENTITY_MAX))
    }

    /// The mark of an upstream socket for a connection steered with `steer`: its client's identity
    /// (`SteerInfo.upstreamMark`), or identity 0 when the connection was not steered.
    static func upstream(for steer: SteerInfo?) -> UInt32 {
        steer?.upstreamMark ?? fromProxy(identity: 0)
    }
}
