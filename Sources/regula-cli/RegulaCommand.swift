// regula — the command line: list, describe, check, demo, train, compare, bench, version.

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Regula
import RegulaEngine

@main
struct RegulaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regula",
        abstract: "The regularization literature as one verified library.",
        version: RegulaInfo.version,
        subcommands: [List.self, Describe.self, Check.self, Demo.self, Train.self, Compare.self, Bench.self, Version.self],
        defaultSubcommand: nil
    )

    static func main() {
        BLAS.sleepWhenIdle()  // before any BLAS work: idle OpenBLAS workers must not spin beside the engine's loops
        main(nil)
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the library version.")
    func run() { print("regula \(RegulaInfo.version)") }
}

/// Loads plugins named on the command line before a command runs.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugin"), help: "Load a plugin library first (repeatable).")
    var plugins: [String] = []

    func load() throws {
        for p in plugins { try PluginLoader.load(p) }
        for e in Registry.shared.startupErrors { printError("warning: \(e)") }
    }
}

func printError(_ s: String) {
    var err = StandardError()
    print(s, to: &err)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        for b in string.utf8 { putc(Int32(b), stderr) }
    }
}
