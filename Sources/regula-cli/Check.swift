// regula check — the generic gradient and contract checks, for built-ins and plugins.

#if canImport(Glibc)
import Glibc
#endif
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
        var ids: [String] = [], pluginIds: Set<String> = []
        var failed = 0, checks = 0
        for t in targets {
            if t.hasSuffix(".so") || t.contains("/") {
                // Load it first in a child: an entry function that crashes is reported, not fatal.
                if case .crashed(let why) = Isolated.run({ _ = try? PluginLoader.load(t); return (0, 0) }) {
                    print("FAIL \(t): crashed while loading (\(why))"); failed += 1; continue
                }
                let loaded = try PluginLoader.load(t)
                if loaded.isEmpty { print("\(t): already loaded") }
                ids += loaded; pluginIds.formUnion(loaded)
            } else {
                ids.append(t)
            }
        }
        if all { ids = Registry.shared.ids() }
        guard !ids.isEmpty || failed > 0 else { throw ValidationError("nothing to check: give ids, a plugin path or --all") }
        for id in ids {
            // Plugin code runs in a child process: a crash (SIGSEGV, abort, a hang) fails that
            // component and the run goes on. Built-ins run in this process.
            if pluginIds.contains(id) {
                let outcome = Isolated.run {
                    let results = Checker().run(id)
                    return (results.count, printResults(id, results))
                }
                switch outcome {
                case .exited(let n, let bad):
                    checks += n; failed += bad
                case .crashed(let why):
                    checks += 1; failed += 1
                    print("FAIL \(id): the plugin crashed (\(why)); Regula caught it in a child process")
                }
            } else {
                let results = Checker().run(id)
                checks += results.count
                failed += printResults(id, results)
            }
        }
        print("\(checks - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    private func printResults(_ id: String, _ results: [CheckResult]) -> Int {
        let bad = results.filter { !$0.passed }
        print("\(bad.isEmpty ? "ok  " : "FAIL") \(id) (\(results.count) checks)")
        for r in results where verbose || !r.passed {
            print("     \(r.passed ? "ok  " : "FAIL") \(r.name)\(r.detail.isEmpty ? "" : ": \(r.detail)")")
        }
        return bad.count
    }
}

/// Runs a closure in a forked child process, so that a crash in plugin code is seen, not suffered.
enum Isolated {
    /// How the child ended: the two counts `body` returned (checks, failures), or a signal.
    enum Outcome { case exited(Int, Int), crashed(String) }

    /// Seconds a child may run before it is killed (a plugin that hangs).
    static let timeout: UInt32 = 120

    static func run(_ body: () -> (Int, Int)) -> Outcome {
        var fds: [Int32] = [0, 0]
        fflush(stdout); fflush(stderr)
        guard pipe(&fds) == 0 else { let (n, b) = body(); return .exited(n, b) }
        let pid = fork()
        if pid < 0 {   // no fork available: run here
            close(fds[0]); close(fds[1])
            let (n, b) = body(); return .exited(n, b)
        }
        if pid == 0 {
            close(fds[0])
            // Plain default actions: the parent reports the signal; the runtime's backtracer
            // would only add a long trace of Regula's own frames.
            for sig in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] { signal(sig, SIG_DFL) }
            alarm(timeout)
            let (n, b) = body()
            fflush(stdout); fflush(stderr)
            var counts = [Int64(n), Int64(b)]
            _ = write(fds[1], &counts, 16)
            _exit(0)
        }
        close(fds[1])
        var counts = [Int64(0), Int64(0)]
        let got = read(fds[0], &counts, 16)
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        if signal == 0 {
            guard got == 16 else { return .crashed("exited with status \((status >> 8) & 0xff) before reporting") }
            return .exited(Int(counts[0]), Int(counts[1]))
        }
        let name = signal == SIGALRM ? "timed out after \(timeout) s" : String(cString: strsignal(signal))
        return .crashed("signal \(signal): \(name)")
    }
}
