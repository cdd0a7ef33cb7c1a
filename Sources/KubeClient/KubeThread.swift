import Glibc
import SluiceSync

/// The Kubernetes side's own threads (informers, the event recorder, the identity GC, the agent's
/// reconcile loop): control-plane work that blocks on the API, never on a worker loop.
public enum KubeThread {
    /// Runs `body` on a new joinable thread; what `body` captures stays alive until it returns.
    public static func start(_ body: @escaping () -> Void) -> pthread_t {
        var thread = pthread_t()
        _ = PosixThread.start(&thread, body)
        return thread
    }

    /// Waits for `thread` to end and clears it (nothing when nil).
    public static func join(_ thread: inout pthread_t?) {
        guard let t = thread else { return }
        pthread_join(t, nil)
        thread = nil
    }
}
