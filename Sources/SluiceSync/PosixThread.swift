import Glibc

/// The one `pthread_create` trampoline of the tree: a joinable POSIX thread that runs one Swift
/// closure. SluiceIO's `WorkerThread` (the named event-loop threads) and KubeClient's
/// `KubeThread` (the Kubernetes side's threads) start theirs with it.
public enum PosixThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts a joinable thread into `thread` that runs `body`, which it holds until `body`
    /// returns. Returns `pthread_create`'s error number: 0 when the thread runs (on an error
    /// `body` is released without running).
    public static func start(_ thread: inout pthread_t, _ body: @escaping () -> Void) -> Int32 {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let r = pthread_create(
            &thread, nil,
            { arg in
                guard let arg else { return nil }
                Unmanaged<Box>.fromOpaque(arg).takeRetainedValue().body()
                return nil
            }, box)
        if r != 0 { Unmanaged<Box>.fromOpaque(box).release() }
        return r
    }
}
