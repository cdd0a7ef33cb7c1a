internal import CSluice
import Glibc

/// A POSIX thread running one closure (an event loop's `run`). Started once; joined by `join()`.
///
/// The thread carries `name` as its kernel name (`/proc/PID/task/TID/comm`, `top -H`, `perf`),
/// so tools can tell the workers apart; the kernel keeps at most 15 bytes of it.
public final class WorkerThread {
    private var thread: pthread_t = 0
    private let name: String
    private let body: () -> Void

    private final class Box {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    public init(name: String, _ body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }

    /// Starts the thread. The thread holds its closure until it returns.
    public func start() throws(SyscallError) {
        let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
        let r = pthread_create(
            &thread, nil,
            { arg in
                guard let arg else { return nil }
                let box = Unmanaged<Box>.fromOpaque(arg).takeRetainedValue()
                _ = CSluice_name_thread(box.name)
                box.body()
                return nil
            }, box)
        if r != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SyscallError("pthread_create", errno: r)
        }
    }

    /// Pins the calling thread to one CPU.
    public static func pinCurrentThread(cpu: Int) -> Bool { CSluice_pin_thread(Int32(cpu)) == 0 }

    /// Waits for the thread to finish.
    public func join() {
        _ = pthread_join(thread, nil)
    }
}
