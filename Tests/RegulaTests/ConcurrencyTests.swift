// Concurrency: 8 threads evaluate components (own handles, shared registry) while another thread
// loads a plugin and reads the registry. Run under ThreadSanitizer by `make tsan`.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import Regula
import RegulaEngine

/// The bundled SCAD plugin when `make plugins` has built it.
private func scadPath() -> String? {
    let root = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
    let path = "/" + root + "/examples/plugins/scad/libregula_scad.so"
    return access(path, R_OK) == 0 ? path : nil
}

/// Runs `body(k)` on `n` pthreads and waits for them (Testing's own executor is not used, so
/// every thread is a real OS thread that TSan tracks).
private func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Box: @unchecked Sendable { let body: @Sendable (Int) -> Void; let k: Int
        init(_ b: @escaping @Sendable (Int) -> Void, _ k: Int) { body = b; self.k = k } }
    var threads: [pthread_t] = []
    for k in 0..<n {
        var t = pthread_t()
        let box = Unmanaged.passRetained(Box(body, k)).toOpaque()
        let rc = pthread_create(&t, nil, { raw in
            let b = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            b.body(b.k); return nil
        }, box)
        #expect(rc == 0)
        threads.append(t)
    }
    for t in threads { pthread_join(t, nil) }
}

@Suite struct ConcurrencyTests {
    @Test func eightEvaluatorsAndAPluginLoader() throws {
        let ids = ["l1", "group_lasso", "elastic_net", "nuclear_norm", "sparsemax", "entmax15",
                   "softmax_cross_entropy", "hyperspherical_energy"]
        final class Failures: @unchecked Sendable {
            let lock = Mutex(); var list: [String] = []
            func add(_ s: String) { lock.locked { list.append(s) } }
        }
        let failures = Failures()
        let plugin = scadPath()
        onThreads(9) { k in
            if k == 8 {   // the loader: a plugin, registry reads, a failing load
                if let plugin { do { _ = try PluginLoader.load(plugin) } catch { failures.add("load: \(error)") } }
                for _ in 0..<50 { _ = Registry.shared.ids(); _ = try? Registry.shared.info("l1") }
                _ = try? PluginLoader.load("/no/such/plugin.so")
                return
            }
            let x = NDArray<Double>(shape: [6, 5]), g = NDArray<Double>(shape: [6, 5])
            for i in 0..<30 { x[i] = Double((i * 7 + k) % 11) / 4 - 1.2 }
            for round in 0..<40 {
                let id = ids[(k + round) % ids.count]
                do {
                    switch try Registry.shared.info(id).kind {
                    case .penalty:
                        let p = try Registry.shared.penalty(id)
                        _ = try p.valueAndGradient(x.tensor, into: g.tensor)
                    case .map:
                        let m = try Registry.shared.map(id)
                        try m.forward(x.tensor, into: g.tensor)
                    case .loss:
                        let l = try Registry.shared.loss(id)
                        _ = try l.evaluate(x.tensor, target: .index(shape: [6], values: [0, 1, 2, 3, 4, 0]), into: g.tensor)
                    default: break
                    }
                } catch { failures.add("\(id): \(error)") }
                if plugin != nil, let p = try? Registry.shared.penalty("scad") {
                    do { _ = try p.valueAndGradient(x.tensor, into: g.tensor) } catch { failures.add("scad: \(error)") }
                }
            }
        }
        #expect(failures.list.isEmpty, "\(failures.list.prefix(5))")
        if plugin != nil { #expect(Registry.shared.ids().contains("scad")) }
    }
}
