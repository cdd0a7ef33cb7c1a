import Proxy
import SluiceAPI

/// The control operations `flows-pause` and `flows-resume` (`sluice flows pause|resume`): flow
/// recording off and on again in a running agent, without a restart. Paused, the node writes
/// what `--no-flows` leaves it from the start: the proxy writes no L7 record (HTTP, DNS, TLS;
/// an HTTP request decided before the switch still gets its response flow) and the datapath no
/// trace or policy-verdict record of allowed traffic (`sluice_config.no_allowed_records`); the
/// datapath's drops are still recorded. `bench/run.sh` measures what recording costs by
/// switching it within one agent (docs/performance.md).
extension Agent {
    /// Pauses or resumes recording; refused when the agent runs with `--no-flows` (there is no
    /// sink to resume into).
    func setFlowRecording(paused: Bool) -> ControlResponse {
        guard options.proxy.recordFlows else {
            return .failure(
                "flow recording is off: the agent runs with --no-flows (restart it without to record flows)")
        }
        do {
            try datapath?.setAllowedTrafficRecords(!paused)
        } catch {
            return .failure("flows \(paused ? "pause" : "resume"): \(error)")
        }
        if paused { flowRecording.pause() } else { flowRecording.resume() }
        return .success(paused ? "flow recording paused" : "flow recording resumed")
    }
}
