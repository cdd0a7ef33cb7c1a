// Micro-benchmarks of pure code, outside the unit suite (the unit suite asserts, it does not
// time): `bash bench/micro.sh` builds this in release and prints ns/op and MB/s. Each benchmark
// also checks its result, so a broken build fails here instead of printing a fast wrong number.
import Glibc
import SluiceJSON

/// Fails the run with `message` (exit 1).
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        print("FAILED: \(message())")
        exit(1)
    }
}

/// Nanoseconds of CPU time `body` took on this thread (the machine is shared: time spent
/// descheduled would count otherwise).
func timed(_ body: () throws -> Void) rethrows -> Double {
    var start = timespec(), end = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
    try body()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
    return Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
}

let only = CommandLine.arguments.dropFirst().first
if only == nil || only == "json" { try JSONBenchmark.run() }
if only == nil || only == "regex" { try RegexBenchmark.run() }
if only == nil || only == "flow" { try FlowRecordBenchmark.run() }
if only == nil || only == "observer" {
    try ObserverBenchmark.run()
    try FollowBenchmark.run()
}
// The follow encoding alone (`follow new`: only the new path, to profile it).
if only == "follow" { try FollowBenchmark.run(newOnly: CommandLine.arguments.dropFirst(2).first == "new") }
if only == nil || only == "dns" { try DNSBenchmark.run() }
if only == nil || only == "decision" { try DecisionBenchmark.run() }
if only == nil || only == "head-parse" { try HeadParseBenchmark.run() }
if only == "transport" { try TransportBenchmark.run() }
if only == "transport-batching" { try TransportBatchingBenchmark.run() }
if only == "policy-apply" { try PolicyApplyBenchmark.run(arguments: Array(CommandLine.arguments.dropFirst(2))) }
if only == "policy-memory" { try PolicyMemoryBenchmark.run(arguments: Array(CommandLine.arguments.dropFirst(2))) }
