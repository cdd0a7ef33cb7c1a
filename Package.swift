// swift-tools-version:6.0
// Sluice: a transparent per-node L7 policy proxy. Targets and their one-way dependencies are
// described in docs/architecture.md.
import PackageDescription

// Release builds are -O (SwiftPM's default), never -Ounchecked: every target here handles bytes
// from pods, the network, upstream servers or policy files (HTTP1, HTTP2, DNS, TLSClientHello,
// Policy, PolicyYAML, Proxy, Flows, SluiceIO's buffers, SluiceJSON's control requests), and
// Swift's bounds and overflow checks are part of the safety story (issue 14). Only the run-time
// exclusivity checks are off (the compile-time ones stay): they guard against overlapping
// accesses to one variable in this process's own code, not against input. What the checks
// cost per request: docs/performance.md ("Checked build").
let optimize: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

// The modules a proxied request passes through (the loop and buffers, the HTTP/1 parser, the
// policy decision, the flow record writer, the shared nouns) are compiled with cross-module
// optimization in release: their bodies are serialised into their modules, so the proxy
// inlines the small accessors (`IOBuffer.readable`, `consume`) and specialises
// the generic ones (`HTTPPortPolicy.decide` for the HTTP/1 request view) instead of calling
// them through witness tables. What it saved per request: docs/performance.md ("s18-own").
let hotPath: [SwiftSetting] =
    optimize + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

// Release links with lld and packed relative relocations (DT_RELR, glibc >= 2.36): 1.9 MB of
// .rela.dyn become 15 KB the loader reads at start, which is 2.4 MB less resident memory
// (docs/performance.md).
let releaseLink: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                 .when(platforms: [.linux], configuration: .release)),
]

// The agent links its C libraries statically, except libc, libm and libelf (LGPL; with it libz):
// OpenSSL, libbpf, nghttp2, RE2 and libstdc++ are found as archives first because
// `link/static/` (symlinks to the distribution's archives, link/README.md) precedes the system's
// directories, and it exports no dynamic symbols (the runtime's link flags ask for
// `-export-dynamic`; nothing loads a library that calls back into it). Shared, each library cost
// the loader's work at start-up (its relocation table read, its pointers relocated into private
// pages, the symbol tables searched) and its text in 64 KiB fault-around windows: the demo
// agent's RSS 17.8 -> 15.5 MiB, 2.5 MiB less with 10,000 rules (docs/performance.md, "s19-mem").
// A machine without an archive links the shared library (a dangling symlink is skipped).
let staticLibraries = String(#filePath.dropLast("/Package.swift".count)) + "/link/static"
let agentLink: [LinkerSetting] =
    releaseLink + [
        .unsafeFlags(["-L" + staticLibraries, "-Xlinker", "--no-export-dynamic"],
                     .when(platforms: [.linux], configuration: .release)),
    ]

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-agent", targets: ["sluice-agent"]),
        .executable(name: "sluice-observer", targets: ["sluice-observer"]),
        .executable(name: "sluice-microbench", targets: ["sluice-microbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries: one system-library target each; the module maps' `link` lines name the
        // libraries, found in the compiler's default directories (make deps installs the apt
        // packages). No `pkgConfig:` (which would add nothing but `-L/usr/lib/x86_64-linux-gnu`
        // ahead of every other directory, and so of the agent's `link/static/`: agentLink above).
        .systemLibrary(name: "CLibbpf", providers: [.apt(["libbpf-dev"])]),
        .systemLibrary(name: "CNghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        // Header-only: bpf/include/*.h shared with the kernel programs.
        .target(name: "CSluiceShared"),
        // C shims for what Swift cannot import (macros, socket options, libbpf opts structs).
        .target(name: "CSluice", dependencies: ["CLibbpf", "CSluiceShared"]),
        // RE2 behind a C ABI (Cilium/Envoy match HTTP rules with RE2 FullMatch).
        .target(name: "CRE2", linkerSettings: [.linkedLibrary("re2")]),

        // JSON for Codable types without Foundation: the agent's files and control protocol.
        .target(name: "SluiceJSON", swiftSettings: optimize),
        // The shared nouns (addresses, direction, identities, labels, ASCII): pure, no I/O.
        .target(name: "SluiceModel", dependencies: ["CSluiceShared"], swiftSettings: hotPath),
        // The one pthread mutex, condition variable and thread trampoline (Lock, Condition,
        // PosixThread): what the I/O layer, the agent and the Kubernetes client lock and start
        // threads with, without the Kubernetes client importing SluiceIO.
        .target(name: "SluiceSync", swiftSettings: hotPath),
        .target(name: "SluiceIO", dependencies: ["CSluice", "SluiceModel", "SluiceSync"], swiftSettings: hotPath),
        .target(name: "HTTP1", dependencies: ["SluiceModel"], swiftSettings: hotPath),
        .target(name: "DNS", dependencies: ["SluiceModel"], swiftSettings: optimize),
        // Pure TLS ClientHello reader (SNI, ALPN) for serverNames rules: no I/O, no OpenSSL.
        .target(name: "TLSClientHello", swiftSettings: optimize),
        .target(name: "HTTP2", dependencies: ["CNghttp2", "SluiceModel"], swiftSettings: optimize),
        .target(name: "Policy", dependencies: ["CRE2", "SluiceJSON", "SluiceModel"], swiftSettings: hotPath),
        // YAML text -> PolicyNode trees (Yams pulls in Foundation: the CLI and tests only).
        .target(name: "PolicyYAML", dependencies: ["Policy", "Yams"]),
        .target(name: "Flows", dependencies: ["CSluiceShared", "SluiceJSON", "SluiceModel"], swiftSettings: hotPath),
        // What the agent and the CLI say to each other: control operations, requests and
        // answers, the state files' schemas, the control client. No Foundation.
        .target(name: "SluiceAPI", dependencies: ["Policy", "Flows", "SluiceJSON", "SluiceModel"], swiftSettings: optimize),
        .target(name: "Datapath",
                dependencies: ["CLibbpf", "CSluice", "CSluiceShared", "Policy", "Flows", "SluiceIO", "SluiceModel"],
                swiftSettings: optimize),
        // The data plane: workers, listeners, HTTP and DNS proxies. The kernel reaches it only
        // through its protocols (SteeringTable, FlowSink, FQDNLearning), which Agent implements.
        .target(name: "Proxy",
                dependencies: ["SluiceIO", "SluiceModel", "SluiceSync", "HTTP1", "HTTP2", "DNS", "TLSClientHello", "Policy", "Flows", "CSluice",
                               "CSluiceShared",
                               "COpenSSL"],
                swiftSettings: optimize),
        // The control plane: start-up order, control server, policy store, FQDN service, command
        // line, and the adapters from Proxy's protocols to Datapath.
        .target(name: "Agent",
                dependencies: ["Proxy", "Datapath", "SluiceAPI", "SluiceIO", "SluiceJSON", "SluiceModel", "SluiceSync", "HTTP1", "HTTP2", "DNS",
                               "Policy", "Flows", "CSluice", "CSluiceShared", "KubeClient"],
                swiftSettings: optimize),
        // Hubble's metric handlers and Sluice's own families over flows, and the Prometheus text
        // exposition: pure, no I/O (the observer process serves it).
        .target(name: "HubbleMetrics", dependencies: ["Flows", "CSluiceShared"], swiftSettings: optimize),
        // The service map's aggregation of flows (nodes, edges, details) and its page: pure.
        .target(name: "ServiceMap", dependencies: ["Flows", "SluiceJSON"], swiftSettings: optimize),
        // The agent's Kubernetes client: kubeconfig/service account, HTTPS over OpenSSL on a blocking
        // thread, list-then-watch into an informer store, and Cilium/Kubernetes policies as PolicyNode
        // trees. No Foundation, no SwiftNIO.
        .target(name: "KubeClient", dependencies: ["COpenSSL", "Policy", "SluiceJSON", "SluiceModel", "SluiceSync"], swiftSettings: optimize),
        .target(name: "Sandbox", dependencies: ["SluiceAPI", "SluiceIO", "SluiceModel", "Yams", "CSluice"]),
        // Hubble's API messages (flow, observer, peer, health) in the protobuf wire format, by hand
        // for the subset Sluice serves (proto/ holds the definitions): pure, no I/O.
        .target(name: "HubbleProto", dependencies: ["Flows", "SluiceModel", "CSluiceShared"], swiftSettings: optimize),
        // Hubble's interfaces (Observer gRPC, plaintext or TLS over OpenSSL, metrics, the page) over
        // the flow ring, read-only: the observer process's logic, unit-testable without the
        // process. No Foundation.
        .target(name: "HubbleObserver",
                dependencies: ["Datapath", "Flows", "HubbleProto", "HTTP2", "SluiceAPI", "SluiceIO", "SluiceJSON", "SluiceModel",
                               "CSluice", "CSluiceShared", "COpenSSL"],
                swiftSettings: optimize),
        // The observer's HTTP/1.1 services: /metrics (HubbleMetrics) and the service-map page.
        .target(name: "ObserverHTTP",
                dependencies: ["HubbleObserver", "HubbleMetrics", "ServiceMap", "HTTP1", "SluiceAPI", "SluiceIO", "Flows"],
                swiftSettings: optimize),
        .executableTarget(name: "sluice-observer", dependencies: ["HubbleObserver", "ObserverHTTP", "SluiceIO"], swiftSettings: optimize,
                          linkerSettings: releaseLink),
        // The agent: its own executable without Foundation, Yams or ArgumentParser, so its
        // resident memory is the data plane's (docs/performance.md).
        .executableTarget(name: "sluice-agent", dependencies: ["Agent"], swiftSettings: optimize,
                          linkerSettings: agentLink),
        .executableTarget(name: "sluice",
                          dependencies: ["SluiceAPI", "Sandbox", "Datapath", "Flows", "HubbleObserver", "HubbleProto", "Policy", "PolicyYAML",
                                         "SluiceIO", "SluiceJSON", "SluiceModel",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimize, linkerSettings: releaseLink),

        // Micro-benchmarks of pure code (bench/micro.sh), outside the unit suite.
        .executableTarget(name: "sluice-microbench", dependencies: ["SluiceJSON", "DNS", "Policy", "PolicyYAML", "Flows", "HubbleObserver", "HubbleMetrics", "HubbleProto", "ServiceMap", "Datapath", "ObserverHTTP", "HTTP1", "HTTP2", "SluiceIO", "SluiceTestSupport"], path: "bench/micro",
                          swiftSettings: optimize),

        // Shared by the test targets and the micro-benchmarks (RecordSamples): the seeded random
        // source of randomised tests, the model of the tc program's L3/L4 decision (held equal to
        // the program by DatapathTests) and TestPolicy, the two-pod policy world of the proxy and
        // agent tests.
        .target(name: "SluiceTestSupport", dependencies: ["Policy", "PolicyYAML", "SluiceIO", "SluiceModel", "Flows", "CSluiceShared"], path: "Tests/SluiceTestSupport"),

        .testTarget(name: "SluiceModelTests", dependencies: ["SluiceModel"]),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1", "SluiceModel", "SluiceTestSupport"]),
        .testTarget(name: "DNSTests", dependencies: ["DNS", "SluiceModel", "SluiceTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TLSClientHelloTests", dependencies: ["TLSClientHello"], exclude: ["Fixtures"]),
        .testTarget(name: "HTTP2Tests", dependencies: ["HTTP2", "SluiceModel"]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "PolicyYAML", "SluiceModel", "SluiceTestSupport"]),
        .testTarget(name: "SluiceJSONTests", dependencies: ["SluiceJSON", "SluiceTestSupport"]),
        .testTarget(name: "FlowsTests", dependencies: ["Flows", "SluiceJSON", "SluiceModel"]),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "Agent", "COpenSSL", "SluiceModel", "SluiceSync", "HTTP1", "HTTP2", "Policy", "PolicyYAML", "Flows",
                                                       "SluiceJSON", "SluiceIO", "SluiceTestSupport"]),
        .testTarget(name: "AgentTests",
                    dependencies: ["Agent", "Proxy", "SluiceAPI", "Sandbox", "Datapath", "Policy", "PolicyYAML", "Flows", "SluiceJSON",
                                   "SluiceIO", "SluiceModel", "HTTP1", "DNS", "CSluiceShared", "CSluice", "SluiceTestSupport", "KubeClient"]),
        .testTarget(name: "SluiceAPITests", dependencies: ["SluiceAPI", "Flows", "SluiceJSON", "SluiceIO", "SluiceModel"]),
        .testTarget(name: "HubbleMetricsTests", dependencies: ["HubbleMetrics", "Flows", "CSluiceShared", "SluiceModel", "SluiceTestSupport"]),
        .testTarget(name: "ServiceMapTests", dependencies: ["ServiceMap", "Flows", "SluiceJSON"]),
        .testTarget(name: "ObserverHTTPTests",
                    dependencies: ["ObserverHTTP", "HubbleObserver", "HubbleMetrics", "ServiceMap", "Flows", "SluiceIO"]),
        .testTarget(name: "KubeClientTests", dependencies: ["KubeClient", "Policy", "PolicyYAML", "SluiceJSON", "SluiceTestSupport"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "SluiceAPI", "SluiceModel"]),
        .testTarget(name: "HubbleObserverTests",
                    dependencies: ["HubbleObserver", "Datapath", "Flows", "HTTP2", "SluiceIO", "SluiceModel", "SluiceSync", "CSluiceShared",
                                   "SluiceTestSupport"]),
        .testTarget(name: "HubbleProtoTests", dependencies: ["HubbleProto", "Flows", "SluiceModel", "CSluiceShared", "SluiceTestSupport"]),
        .testTarget(name: "SluiceIOTests", dependencies: ["SluiceIO", "SluiceModel", "SluiceSync"]),
        .testTarget(name: "SluiceSyncTests", dependencies: ["SluiceSync"]),
        .testTarget(name: "PolicyYAMLTests", dependencies: ["PolicyYAML", "Policy"]),
        // The executables, run as built (Tests/SluiceTestSupport/BuiltProduct.swift); the CLI's
        // pure helpers (demo steps, sandbox agent arguments) also by @testable import.
        .testTarget(name: "sluiceTests", dependencies: ["sluice", "Flows", "Sandbox", "SluiceAPI", "SluiceJSON", "SluiceTestSupport"]),
        .testTarget(name: "sluice-agentTests", dependencies: ["SluiceTestSupport"]),
        .testTarget(name: "DatapathTests",
                    dependencies: ["Datapath", "PolicyYAML", "CLibbpf", "CSluice", "CSluiceShared", "SluiceTestSupport"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
