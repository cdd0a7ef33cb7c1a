import Glibc

/// The Kubernetes side's own threads (informers, the event recorder, the identity GC, the agent's
/// reconcile loop): control-plane work that blocks on the API, never on a worker loop.
public enum KubeThread {
    /// Runs `body` on a new joinable thread; what `body` captures stays alive until it returns.
    public static func start(_ body: @escaping () -> Void) -> pthread_t {
        final class Box {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, Unmanaged.passRetained(Box(body)).toOpaque())
        return thread
    }

    /// Waits for `thread` to end and clears it (nothing when nil).
    public static func join(_ thread: inout pthread_t?) {
        guard let t = thread else { return }
        pthread_join(t, nil)
        thread = nil
    }
}
