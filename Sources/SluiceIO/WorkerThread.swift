import Glibc

/// A POSIX thread running one closure (an event loop's `run`). Started once; joined by `join()`.
public final class WorkerThread {
    private var thread: pthread_t = 0
    private let body: () -> Void

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    public init(_ body: @escaping () -> Void) { self.body = body }

    /// Starts the thread. The thread holds its closure until it returns.
    public func start() throws(SyscallError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let r = pthread_create(&thread, nil, { arg in
            guard let arg else { return nil }
            let box = Unmanaged<Box>.fromOpaque(arg).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if r != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SyscallError("pthread_create", errno: r)
        }
    }

    /// Waits for the thread to finish.
    public func join() {
        _ = pthread_join(thread, nil)
    }
}
