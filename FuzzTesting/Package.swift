// swift-tools-version:6.0
// Fuzz targets for Sluice's parsers: one executable per parser, each exporting
// LLVMFuzzerTestOneInput. Build and run with ./run.sh (see README.md).
//
// The parser targets are the root package's own sources, reached through the symlinks in
// Sources/ (HTTP1, DNS, Policy, PolicyYAML, SluiceJSON, SluiceModel, CSluiceShared, HTTP2, CNghttp2, CRE2 ->
// ../../Sources/<T>): the root package exports no library products, so a `.package(path: "..")`
// dependency could not name them.
import PackageDescription

let package = Package(
    name: "FuzzTesting",
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "CRE2", linkerSettings: [.linkedLibrary("re2")]),
        .target(name: "CSluiceShared"),
        .target(name: "SluiceModel", dependencies: ["CSluiceShared"]),
        .target(name: "HTTP1", dependencies: ["SluiceModel"]),
        .target(name: "DNS", dependencies: ["SluiceModel"]),
        .target(name: "Policy", dependencies: ["CRE2", "SluiceJSON", "SluiceModel"]),
        .target(name: "PolicyYAML", dependencies: ["Policy", "Yams"]),
        .target(name: "SluiceJSON"),
        .systemLibrary(name: "CNghttp2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .target(name: "HTTP2", dependencies: ["CNghttp2", "SluiceModel"]),
        .target(name: "TLSClientHello"),

        .executableTarget(name: "FuzzHTTP1Request", dependencies: ["HTTP1", "CFuzzDriver"]),
        .executableTarget(name: "FuzzHTTP1Response", dependencies: ["HTTP1", "CFuzzDriver"]),
        .executableTarget(name: "FuzzChunked", dependencies: ["HTTP1", "CFuzzDriver"]),
        .executableTarget(name: "FuzzDNS", dependencies: ["DNS", "CFuzzDriver"]),
        .executableTarget(name: "FuzzPolicyYAML", dependencies: ["Policy", "PolicyYAML", "CFuzzDriver"]),
        .executableTarget(name: "FuzzJSON", dependencies: ["SluiceJSON", "Policy", "CFuzzDriver"]),
        .executableTarget(name: "FuzzHTTP2", dependencies: ["HTTP2", "SluiceModel", "CFuzzDriver"]),
        .executableTarget(name: "FuzzTLSClientHello", dependencies: ["TLSClientHello", "CFuzzDriver"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
