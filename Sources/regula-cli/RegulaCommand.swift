// regula — the command line: list, describe, check, demo, version.

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Regula

@main
struct RegulaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regula",
        abstract: "The regularization literature as one verified library.",
        version: RegulaInfo.version,
        subcommands: [List.self, Describe.self, Check.self, Demo.self, Version.self],
        defaultSubcommand: nil
    )
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
