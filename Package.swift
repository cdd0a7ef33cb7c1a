// swift-tools-version:6.0
// Sluice: a transparent per-node L7 policy proxy. Targets and their one-way dependencies are
// described in docs/architecture.md.
import PackageDescription

let optimize: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries: one system-library target each.
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        // Header-only: bpf/include/*.h shared with the kernel programs.
        .target(name: "CSluiceShared"),
        // C shims for what Swift cannot import (macros, socket options, libbpf opts structs).
        .target(name: "CSluice", dependencies: ["CLibbpf", "CSluiceShared"]),
        // RE2 behind a C ABI (Cilium/Envoy match HTTP rules with RE2 FullMatch).
        .target(name: "CRE2", linkerSettings: [.linkedLibrary("re2")]),

        .target(name: "SluiceIO", dependencies: ["CSluice"], swiftSettings: optimize),
        .target(name: "HTTP1", swiftSettings: optimize),
        .target(name: "DNS", swiftSettings: optimize),
        .target(name: "HTTP2", dependencies: ["CNghttp2"], swiftSettings: optimize),
        .target(name: "Policy", dependencies: ["CRE2", "Yams"], swiftSettings: optimize),
        .target(name: "Flows", dependencies: ["CSluiceShared"], swiftSettings: optimize),
        .target(name: "Datapath",
                dependencies: ["CLibbpf", "CSluice", "CSluiceShared", "Policy", "Flows", "SluiceIO"],
                swiftSettings: optimize),
        .target(name: "Proxy",
                dependencies: ["SluiceIO", "HTTP1", "HTTP2", "DNS", "Policy", "Flows", "Datapath", "CSluice", "CSluiceShared"],
                swiftSettings: optimize),
        .target(name: "Sandbox", dependencies: ["Yams", "CSluice"]),
        .executableTarget(name: "sluice",
                          dependencies: ["Proxy", "Sandbox", "Datapath", "Flows", "Policy", "HTTP2",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: optimize,
                          // Release links with lld and packed relative relocations (DT_RELR,
                          // glibc >= 2.36): 1.9 MB of .rela.dyn become 15 KB the loader reads at
                          // start, which is 2.4 MB less resident memory (docs/performance.md).
                          linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                                                        .when(platforms: [.linux], configuration: .release))]),

        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(name: "DNSTests", dependencies: ["DNS"]),
        .testTarget(name: "HTTP2Tests", dependencies: ["HTTP2"]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy"]),
        .testTarget(name: "FlowsTests", dependencies: ["Flows"]),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "HTTP1", "HTTP2", "Policy", "Flows"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox"]),
        .testTarget(name: "SluiceIOTests", dependencies: ["SluiceIO"]),
        .testTarget(name: "DatapathTests", dependencies: ["Datapath", "CLibbpf", "CSluice", "CSluiceShared"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
