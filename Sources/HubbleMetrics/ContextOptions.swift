import Flows

/// Hubble's context options (`pkg/hubble/metrics/api/context.go`): which labels say who sent and
/// who received a flow. `sourceContext`/`destinationContext` (and their `Egress`/`Ingress`
/// variants) add one label each, `source`/`destination`, whose value is the first non-empty one of
/// the `|`-separated identifiers; `labelsContext` adds the listed labels in Hubble's fixed order.
public struct ContextOptions: Sendable, Equatable {
    /// One identifier of a context list.
    public enum Identifier: String, Sendable, CaseIterable {
        case identity
        case namespace
        case pod
        case podShort = "pod-short"
        case podName = "pod-name"
        case dns
        case ip
        case reservedIdentity = "reserved-identity"
        case workloadName = "workload-name"
        case app
    }

    /// `labelsContext` labels, in the only order Hubble writes them.
    public static let contextLabels = [
        "source_ip", "source_pod", "source_namespace", "source_workload", "source_app", "destination_ip",
        "destination_pod", "destination_namespace", "destination_workload", "destination_app", "traffic_direction",
    ]

    public var source: [Identifier] = []
    public var sourceEgress: [Identifier]?
    public var sourceIngress: [Identifier]?
    public var destination: [Identifier] = []
    public var destinationEgress: [Identifier]?
    public var destinationIngress: [Identifier]?
    /// The `labelsContext` labels enabled, in `contextLabels` order.
    public var labels: [String] = []

    public init() {}

    /// Reads the context options among a handler's options (others are the handler's own).
    public init(_ options: [MetricsConfig.Option]) throws(MetricsConfig.ConfigError) {
        for option in options {
            switch option.key.lowercased() {
            case "sourcecontext": source = try Self.parseList(option.value)
            case "sourceegresscontext": sourceEgress = try Self.parseList(option.value)
            case "sourceingresscontext": sourceIngress = try Self.parseList(option.value)
            case "destinationcontext": destination = try Self.parseList(option.value)
            case "destinationegresscontext": destinationEgress = try Self.parseList(option.value)
            case "destinationingresscontext": destinationIngress = try Self.parseList(option.value)
            case "labelscontext":
                let wanted = option.value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                for label in wanted where !Self.contextLabels.contains(label) {
                    throw MetricsConfig.ConfigError("invalid labelsContext value: \(label)")
                }
                labels = Self.contextLabels.filter { wanted.contains($0) }
            default: continue
            }
        }
    }

    private static func parseList(_ s: String) throws(MetricsConfig.ConfigError) -> [Identifier] {
        var list: [Identifier] = []
        for part in s.split(separator: "|", omittingEmptySubsequences: false) {
            guard let id = Identifier(rawValue: part.lowercased()) else {
                throw MetricsConfig.ConfigError("unknown context '\(part)'")
            }
            list.append(id)
        }
        return list
    }

    /// The label names these options add, after or before the handler's own (each handler says).
    /// No context labels configured (the labels depend on the flow's own fields only).
    public var isEmpty: Bool { labels.isEmpty && source.isEmpty && destination.isEmpty }

    public var labelNames: [String] {
        labels + (source.isEmpty ? [] : ["source"]) + (destination.isEmpty ? [] : ["destination"])
    }

    /// The values of `labelNames` for `flow`. `invert` swaps source and destination (Hubble's
    /// `GetLabelValuesInvertSourceDestination`, for response flows counted as their request).
    public func labelValues(_ flow: Flow, invert: Bool = false) -> [String] {
        // No context labels (the sandbox's set): nothing to compute, and no array to allocate.
        if labels.isEmpty && source.isEmpty && destination.isEmpty { return [] }
        var values: [String] = []
        values.reserveCapacity(labels.count + 2)
        let (src, dst) = invert ? (flow.destination, flow.source) : (flow.source, flow.destination)
        let (srcIP, dstIP) = invert ? (flow.ip?.destination, flow.ip?.source) : (flow.ip?.source, flow.ip?.destination)
        for label in labels {
            switch label {
            case "source_ip": values.append(srcIP ?? "")
            case "source_pod": values.append(src?.podName ?? "")
            case "source_namespace": values.append(src?.namespace ?? "")
            case "source_app": values.append(Self.app(src?.labels ?? []))
            case "destination_ip": values.append(dstIP ?? "")
            case "destination_pod": values.append(dst?.podName ?? "")
            case "destination_namespace": values.append(dst?.namespace ?? "")
            case "destination_app": values.append(Self.app(dst?.labels ?? []))
            case "traffic_direction":
                values.append(flow.trafficDirection == .unknown ? "unknown" : flow.trafficDirection.name.lowercased())
            default: values.append("")  // source_workload, destination_workload: Sluice knows no workloads.
            }
        }
        let direction = flow.trafficDirection
        let sourceIDs = (direction == .ingress ? sourceIngress : direction == .egress ? sourceEgress : nil) ?? source
        let destinationIDs =
            (direction == .ingress ? destinationIngress : direction == .egress ? destinationEgress : nil) ?? destination
        var sourceValue = ""
        for id in sourceIDs {
            sourceValue = Self.value(id, flow, source: true)
            if !sourceValue.isEmpty { break }
        }
        var destinationValue = ""
        for id in destinationIDs {
            destinationValue = Self.value(id, flow, source: false)
            if !destinationValue.isEmpty { break }
        }
        if invert { swap(&sourceValue, &destinationValue) }
        if !source.isEmpty { values.append(sourceValue) }
        if !destination.isEmpty { values.append(destinationValue) }
        return values
    }

    /// One identifier's value for the source or destination side.
    static func value(_ id: Identifier, _ flow: Flow, source: Bool) -> String {
        let ep = source ? flow.source : flow.destination
        let namespace = ep?.namespace ?? ""
        let pod = ep?.podName ?? ""
        switch id {
        case .namespace: return namespace
        case .identity: return (ep?.labels ?? []).joined(separator: ",")
        case .pod: return namespace.isEmpty ? pod : namespace + "/" + pod
        case .podShort:
            let short = shortPodName(pod)
            return namespace.isEmpty ? short : namespace + "/" + short
        case .podName: return pod
        case .dns: return (source ? flow.sourceNames : flow.destinationNames).joined(separator: ",")
        case .ip: return (source ? flow.ip?.source : flow.ip?.destination) ?? ""
        case .reservedIdentity: return reservedIdentity(ep?.labels ?? [])
        case .workloadName: return ""
        case .app: return app(ep?.labels ?? [])
        }
    }

    /// `reserved:kube-apiserver` if present, else the first `reserved:` label, else "".
    static func reservedIdentity(_ labels: [String]) -> String {
        if labels.contains("reserved:kube-apiserver") { return "reserved:kube-apiserver" }
        return labels.first(where: { $0.hasPrefix("reserved:") }) ?? ""
    }

    /// The value of the first of `k8s:app.kubernetes.io/name`, `k8s:k8s-app`, `k8s:app` found, in
    /// label order (Hubble's `getK8sAppFromLabels`).
    static func app(_ labels: [String]) -> String {
        let keys = ["k8s:app.kubernetes.io/name=", "k8s:k8s-app=", "k8s:app="]
        for label in labels {
            for key in keys where label.hasPrefix(key) {
                let value = String(label.dropFirst(key.count))
                if !value.isEmpty { return value }
            }
        }
        return ""
    }

    /// Hubble's `shortenPodName`: `^(.+?)(-[a-z0-9]+){1,2}$` replaced by its first group: drops one
    /// or two trailing `-suffix` parts (replica-set hash and pod suffix), keeping at least one byte.
    static func shortPodName(_ name: String) -> String {
        let bytes = Array(name.utf8)
        func isSuffixByte(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }
        // The shortest prefix (lazy group 1, at least one byte) followed by 1 or 2 `-[a-z0-9]+` runs to the end.
        var cut = 1
        while cut < bytes.count {
            var i = cut
            var runs = 0
            while i < bytes.count, bytes[i] == 0x2d, runs < 2 {
                var j = i + 1
                while j < bytes.count, isSuffixByte(bytes[j]) { j += 1 }
                if j == i + 1 { break }
                i = j
                runs += 1
            }
            if runs >= 1, i == bytes.count { return String(decoding: bytes[..<cut], as: UTF8.self) }
            cut += 1
        }
        return name
    }

    /// Hubble's `Status()` text: `labels=...,source=...,destination=...` sorted.
    public var status: String {
        var parts: [String] = []
        if !labels.isEmpty { parts.append("labels=" + labels.joined(separator: ",")) }
        if !source.isEmpty { parts.append("source=" + source.map(\.rawValue).joined(separator: "|")) }
        if !destination.isEmpty { parts.append("destination=" + destination.map(\.rawValue).joined(separator: "|")) }
        return parts.sorted().joined(separator: ",")
    }
}
