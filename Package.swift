// swift-tools-version:6.0
// Regula: the regularization literature as one fast, verified library.
import PackageDescription

// MARK: Build settings shared by the targets

let optimized: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "Regula",
    // MARK: Public API
    products: [
        // The Swift library for native users.
        .library(name: "Regula", targets: ["Regula"]),
        // The stable C ABI: libregula.so (see include/regula.h). Built with -static-stdlib.
        .library(name: "regula", type: .dynamic, targets: ["RegulaC"]),
        // The command line.
        .executable(name: "regula-cli", targets: ["regula-cli"]),
        // The native Swift example (examples/swift): `swift run regula-example`.
        .executable(name: "regula-example", targets: ["regula-example"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    // MARK: Implementation
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CRegulaABI"),
        .target(name: "RegulaEngine", dependencies: ["COpenBLAS"], swiftSettings: optimized),
        .target(name: "Regula", dependencies: ["RegulaEngine", "CRegulaABI"], swiftSettings: optimized),
        .target(name: "RegulaC", dependencies: ["Regula", "CRegulaABI"], exclude: ["exports.map"], swiftSettings: optimized,
                linkerSettings: [.unsafeFlags([
                    "-static-stdlib",
                    "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/RegulaC/exports.map",
                    "-Xlinker", "-soname=libregula.so",
                ])]),
        .executableTarget(name: "regula-cli", dependencies: [
            "Regula", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimized),
        .executableTarget(name: "regula-example", dependencies: ["Regula", "RegulaEngine"], path: "examples/swift"),
        // MARK: Tests
        .testTarget(name: "RegulaEngineTests", dependencies: ["RegulaEngine"]),
        .testTarget(name: "RegulaTests", dependencies: ["Regula"]),
    ],
    swiftLanguageModes: [.v5]
)
