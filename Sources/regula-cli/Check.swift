// regula check — the generic gradient and contract checks, for built-ins and plugins.

import ArgumentParser
import Regula

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check components: worked values, gradients vs float64 central differences, prox optimality, VJPs, float32/float64 agreement, bad parameters.")
    @OptionGroup var plugins: PluginOptions
    @Argument(help: "Component ids, or paths of plugin .so files (checks their components).")
    var targets: [String] = []
    @Flag(help: "Check every registered component.") var all = false
    @Flag(help: "Print every check, not only failures.") var verbose = false

    func run() throws {
        try plugins.load()
        var ids: [String] = []
        for t in targets {
            if t.hasSuffix(".so") || t.contains("/") {
                let loaded = try PluginLoader.load(t)
                if loaded.isEmpty { print("\(t): already loaded") }
                ids += loaded
            } else {
                ids.append(t)
            }
        }
        if all { ids = Registry.shared.ids() }
        guard !ids.isEmpty else { throw ValidationError("nothing to check: give ids, a plugin path or --all") }
        var failed = 0, checks = 0
        for id in ids {
            let results = Checker().run(id)
            checks += results.count
            let bad = results.filter { !$0.passed }
            failed += bad.count
            print("\(bad.isEmpty ? "ok  " : "FAIL") \(id) (\(results.count) checks)")
            for r in results where verbose || !r.passed {
                print("     \(r.passed ? "ok  " : "FAIL") \(r.name)\(r.detail.isEmpty ? "" : ": \(r.detail)")")
            }
        }
        print("\(checks - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
