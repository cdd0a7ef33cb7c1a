import KubeClient

/// Numbers label sets cluster-wide, so that every node gives a pod the same identity (issue 18:
/// an allocator over the SluiceIdentity CRD). Without one the agent numbers label sets itself
/// (`IdentityAllocator`, saved in `identities.json`), which is right for one node only.
///
/// The agent asks before each reconcile with the Kubernetes API, on its Kubernetes thread and
/// without the control lock, for every label set of its endpoints and of the pods of other
/// nodes; the numbers it answers replace the agent's own for those sets
/// (`IdentityAllocator.adopt`). CIDR identities stay node-local.
public protocol ClusterIdentityProvider: AnyObject, Sendable {
    /// The identity of each label set (labels as `k8s:app=web`, in any order), allocating in the
    /// API the ones that are new. May block on the API. Throws when it cannot number them now:
    /// the agent then keeps the state in force and tries again shortly.
    func identities(for labelSets: [[String]]) throws -> [[String]: UInt32]
}

/// Makes the cluster-wide allocator from the agent's API client (`Agent.Options`).
public typealias ClusterIdentityFactory = @Sendable (HTTPSClient) throws -> any ClusterIdentityProvider
