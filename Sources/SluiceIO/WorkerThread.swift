internal import CSluice
import Glibc
import SluiceSync

/// A POSIX thread running one closure (an event loop's `run`). Started once; joined by `join()`.
///
/// The thread carries `name` as its kernel name (`/proc/PID/task/TID/comm`, `top -H`, `perf`),
/// so tools can tell the workers apart; the kernel keeps at most 15 bytes of it.
public final class WorkerThread {
    private var thread: pthread_t = 0
    private let name: String
    private let body: () -> Void

    public init(name: String, _ body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }

    /// Starts the thread. The thread holds its closure until it returns.
    public func start() throws(SyscallError) {
        let (name, body) = (name, body)
        let r = PosixThread.start(&thread) {
            _ = CSluice_name_thread(name)
            body()
        }
        if r != 0 { throw SyscallError("pthread_create", errno: r) }
    }

    /// Pins the calling thread to one CPU.
    public static func pinCurrentThread(cpu: Int) -> Bool { CSluice_pin_thread(Int32(cpu)) == 0 }

    /// Waits for the thread to finish.
    public func join() {
        _ = pthread_join(thread, nil)
    }
}
