import ArgumentParser
import Datapath
import Flows
import Foundation
import Policy
import SluiceAPI
import SluiceIO
import SluiceJSON
import SluiceModel

/// Asks the agent for its state (`introspect` on the control socket).
enum AgentQuery {
    static func introspection(socket: String) throws -> AgentIntrospection {
        let response = try ControlClient.send(ControlRequest(op: .introspect), path: socket)
        guard response.ok else { throw ValidationError(response.message) }
        return try JSON.decode(AgentIntrospection.self, from: Array(response.message.utf8))
    }
}

/// `--socket`: the agent's control socket, for every command that only asks the agent.
struct AgentSocket: ParsableArguments {
    @Option(help: "Control socket of the agent.")
    var socket: String = Paths.controlSocket
}

/// `sluice status` (cilium-dbg status).
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Show the agent's state: up, version, uptime, datapath, endpoints, policies, L7 ports, flows, DNS proxy, last apply."
    )
    @OptionGroup var agent: AgentSocket
    @Option(name: .shortAndLong, help: "Output: text or json.")
    var output: String = "text"

    func run() throws {
        guard output == "text" || output == "json" else {
            throw ValidationError("invalid output format: \(output) (text, json)")
        }
        let info: AgentIntrospection
        do {
            info = try AgentQuery.introspection(socket: agent.socket)
        } catch {
            print("Sluice:   Unreachable   \(error)")
            throw ExitCode(1)
        }
        if output == "json" {
            print(String(decoding: try JSON.encode(info, sortedKeys: true, pretty: true), as: UTF8.self))
        } else {
            IntrospectionText.status(info).forEach { print($0) }
        }
    }
}

/// `sluice version` (the CLI's, and the running agent's when it answers).
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the versions of this CLI and of the running agent.")
    @OptionGroup var agent: AgentSocket

    func run() throws {
        print("Client: \(SluiceVersion.current)")
        if let info = try? AgentQuery.introspection(socket: agent.socket) {
            print("Agent:  \(info.version)")
        } else {
            print("Agent:  not reachable at \(agent.socket)")
        }
    }
}

/// `sluice endpoint list` (cilium-dbg endpoint list).
struct EndpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoint", abstract: "Inspect the node's endpoints.", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List endpoints: ID, policy enforcement, identity, labels, IPv4, status.")
        @OptionGroup var agent: AgentSocket
        @Option(name: .shortAndLong, help: "Output: text or json.")
        var output: String = "text"

        func run() throws {
            let info = try AgentQuery.introspection(socket: agent.socket)
            if output == "json" {
                print(String(decoding: try JSON.encode(info.endpoints, sortedKeys: true, pretty: true), as: UTF8.self))
            } else {
                IntrospectionText.endpoints(info).forEach { print($0) }
            }
        }
    }
}

/// `sluice identity list` (cilium-dbg identity list).
struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity", abstract: "Inspect security identities.", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the identities in use and their labels.")
        @OptionGroup var agent: AgentSocket

        func run() throws {
            IntrospectionText.identities(try AgentQuery.introspection(socket: agent.socket)).forEach { print($0) }
        }
    }
}

/// `sluice fqdn cache list` (cilium-dbg fqdn cache list), from the agent's cache file.
struct FQDNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fqdn", abstract: "Inspect the DNS proxy's toFQDNs cache.", subcommands: [Cache.self])

    struct Cache: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cache", abstract: "The names and addresses the DNS proxy learned.", subcommands: [List.self])

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "List learned names: FQDN, TTL, expiration time, IPs.")
            @Option(help: "The agent's cache file (written within a second of a change).")
            var file: String = Paths.agentState + "/fqdn.json"

            func run() throws {
                var cache = FQDNCacheFile()
                if let data = FileManager.default.contents(atPath: file) {
                    cache = try JSON.decode(FQDNCacheFile.self, from: Array(data))
                }
                IntrospectionText.fqdnCache(cache).forEach { print($0) }
            }
        }
    }
}

/// `sluice bpf ct list` (cilium-dbg bpf ct list global).
struct BPFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bpf", abstract: "Inspect the datapath's maps.", subcommands: [CT.self])

    struct CT: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ct", abstract: "The connection tracking map.", subcommands: [List.self])

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "List tracked connections: protocol, tuple, age, flags.")
            @OptionGroup var agent: AgentSocket

            func run() throws {
                let response = try ControlClient.send(ControlRequest(op: .conntrackList), path: agent.socket)
                guard response.ok else { throw ValidationError(response.message) }
                let entries = try JSON.decode([ConntrackEntry].self, from: Array(response.message.utf8))
                IntrospectionText.conntrack(entries, nowNs: SystemClock.monotonicNs()).forEach { print($0) }
            }
        }
    }
}

/// `sluice policy get -o yaml|json`: the objects in force (the agent's list) as they were applied, taken
/// from the agent's stored policy files (`STATE/policies/NNNNNN.json`, newest object wins).
enum PolicyObjects {
    private struct Stored: Decodable {
        var file: String
        var documents: [PolicyNode]
    }

    static func print(format: String, socket: String) throws {
        guard format == "yaml" || format == "json" else {
            throw ValidationError("invalid output format: \(format) (yaml, json)")
        }
        let inForce = Set(try AgentQuery.introspection(socket: socket).policies)
        let directory = Paths.agentState + "/policies"
        var latest: [String: PolicyNode] = [:]
        var order: [String] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".json")
        }.sorted()
        for name in names {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                let stored = try? JSON.decode(Stored.self, from: Array(data))
            else { continue }
            for document in stored.documents {
                guard let key = document.policyKey else { continue }
                let id = "\(key.kind.rawValue) \(key.namespace.isEmpty ? "" : key.namespace + "/")\(key.name)"
                if latest[id] == nil { order.append(id) }
                latest[id] = document
            }
        }
        let documents = order.sorted().filter { inForce.contains($0) }.compactMap { latest[$0] }
        if format == "json" {
            let items = documents.map(\.jsonText).joined(separator: ",")
            let list = "{\"apiVersion\":\"v1\",\"items\":[" + items + "],\"kind\":\"List\"}"
            let value = try JSONValue.parse(Array(list.utf8))
            Swift.print(String(decoding: value.serialized(pretty: true), as: UTF8.self))
        } else {
            Swift.print(documents.map { $0.yamlLines().joined(separator: "\n") }.joined(separator: "\n---\n"))
        }
    }
}
