// Edge cases and invariants of the sparsity penalties (Sparsity.swift, SparseEnvelope.swift):
// projections against brute force, nonconvex proxes against grid search, envelope identities.

import Testing
import Regula
import RegulaEngine
#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by the sparsity-family tests.
enum SP {
    static func eval(_ id: String, _ params: String, _ x: [Double], _ shape: [Int]? = nil,
                     inputs: Inputs = .none) throws -> (Double, [Double]) {
        let p = try Registry.shared.penalty(id, params)
        let w = NDArray<Double>(shape: shape ?? [x.count], x), g = NDArray<Double>(shape: shape ?? [x.count])
        let v = try p.valueAndGradient(w.tensor, inputs, into: g.tensor)
        return (v, g.values)
    }
    static func prox(_ id: String, _ params: String, _ x: [Double], _ shape: [Int]? = nil, step: Double,
                     inputs: Inputs = .none) throws -> [Double] {
        let p = try Registry.shared.penalty(id, params)
        let v = NDArray<Double>(shape: shape ?? [x.count], x), out = NDArray<Double>(shape: shape ?? [x.count])
        try p.prox(v.tensor, step: step, inputs, into: out.tensor)
        return out.values
    }
    static func random(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
        var rng = RNG(seed: seed)
        return (0..<n).map { _ in scale * rng.normal() }
    }
    static func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-9) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * Swift.max(1, abs($1)) }
    }
    /// Global minimiser of t·φ(y) + ½(y − v)² over a dense grid around [−|v| − 1, |v| + 1].
    static func gridProx(_ v: Double, _ t: Double, _ phi: (Double) -> Double) -> (y: Double, f: Double) {
        var best = (y: 0.0, f: Double.infinity)
        let lo = -abs(v) - 1, hi = abs(v) + 1, n = 200_000
        for i in 0...n {
            let y = lo + (hi - lo) * Double(i) / Double(n)
            let f = t * phi(y) + 0.5 * (y - v) * (y - v)
            if f < best.f { best = (y, f) }
        }
        let f0 = t * phi(0) + 0.5 * v * v
        if f0 <= best.f { best = (0, f0) }
        return best
    }
}

@Suite struct SparsityTests {
    @Test func checkerRunsTheWorkedExamples() {
        // Every id of this family carries catalogue worked values, and they pass.
        for id in ["topk_projection", "l0_hard_prox", "lq", "cel0", "smoothed_l0", "stvs", "sef", "wgsef",
                   "hypersparse", "relevance_decay", "flops", "gen_gaussian", "adaround_reg", "weight_compander"] {
            let results = Checker().run(id)
            let examples = results.filter { $0.name.hasPrefix("worked example") }.count
            let failed = results.filter { !$0.passed }.map(\.detail)
            #expect(examples > 0, "\(id)")
            #expect(failed.isEmpty, "\(id): \(failed)")
        }
    }

    // MARK: topk_projection

    @Test func topkIsTheNearestKSparsePoint() throws {
        let n = 6
        for seed in 1...4 as ClosedRange<UInt64> {
            let v = SP.random(n, seed: seed)
            for k in 0...n {
                let p = try SP.prox("topk_projection", "k=\(k)", v, step: 1)
                #expect(p.filter { $0 != 0 }.count <= k)
                let dist = zip(p, v).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
                // Brute force over every support of size k.
                var best = Double.infinity
                for mask in 0..<(1 << n) where mask.nonzeroBitCount == k {
                    var d = 0.0
                    for i in 0..<n where mask & (1 << i) == 0 { d += v[i] * v[i] }
                    best = Swift.min(best, d)
                }
                #expect(abs(dist - best) < 1e-12, "k=\(k)")
            }
        }
    }

    @Test func topkTiesKeepTheLowerIndex() throws {
        #expect(try SP.prox("topk_projection", "k=2", [1, -1, 1, 0.5], step: 1) == [1, -1, 0, 0])
        #expect(try SP.prox("topk_projection", "k=1,axis=row", [2, 2, -3, 3], [2, 2], step: 1) == [2, 0, -3, 0])
    }

    @Test func topkEdgeCases() throws {
        let v = [1.0, -2, 0.5, 3]
        #expect(try SP.prox("topk_projection", "k=9", v, step: 1) == v)          // k ≥ count: identity
        #expect(try SP.prox("topk_projection", "k=0", v, step: 1) == [0, 0, 0, 0])
        #expect(try SP.prox("topk_projection", "k=1", v, step: 0) == v)          // 0·δ = 0
        // sparsity 0.3 of 10 prunes exactly 3 (no 3.0000000000000004 → 4).
        let ten = (1...10).map(Double.init)
        #expect(try SP.prox("topk_projection", "sparsity=0.3", ten, step: 1).filter { $0 != 0 }.count == 7)
        #expect(throws: (any Error).self) { try Registry.shared.penalty("topk_projection", "k=2,sparsity=0.5") }
        // The indicator: +inf outside the set, 0 inside, 0 at strength 0.
        #expect(try SP.eval("topk_projection", "strength=1,k=1", v).0 == .infinity)
        #expect(try SP.eval("topk_projection", "strength=1,k=1", [0, 2, 0, 0]).0 == 0)
        #expect(try SP.eval("topk_projection", "strength=0,k=1", v).0 == 0)
    }

    @Test func topkFloat32MatchesFloat64() throws {
        let p = try Registry.shared.penalty("topk_projection", "sparsity=0.5,axis=row")
        let v = SP.random(12, seed: 9)
        let v32 = NDArray<Float>(shape: [3, 4], v.map(Float.init)), o32 = NDArray<Float>(shape: [3, 4])
        try p.prox(v32.tensor, step: 1, into: o32.tensor)
        let o64 = try SP.prox("topk_projection", "sparsity=0.5,axis=row", v.map { Double(Float($0)) }, [3, 4], step: 1)
        #expect(o32.values.map(Double.init) == o64)
    }

    // MARK: l0_hard_prox

    @Test func l0ThresholdTiesGoToZero() throws {
        // t = 0.5: threshold √(2·0.5) = 1 exactly.
        #expect(try SP.prox("l0_hard_prox", "strength=0.5", [1, -1, 1.0000001, -0.99], step: 1) == [0, 0, 1.0000001, 0])
        #expect(try SP.prox("l0_hard_prox", "strength=1", [1e-300, 0], step: 0) == [1e-300, 0])
        #expect(try SP.eval("l0_hard_prox", "strength=1", [0, 0, 3, -1e-300]).0 == 2)
    }

    // MARK: lq

    @Test func lqProxIsTheGlobalMinimiser() throws {
        for q in [0.3, 0.5, 2.0 / 3.0, 0.8] {
            for t in [0.1, 0.5, 1.3] {
                for v in [-3.0, -1.2, -0.4, 0.05, 0.7, 0.95, 2.5] {
                    let y = try SP.prox("lq", "strength=1,q=\(q)", [v], step: t)[0]
                    let f = { (x: Double) in t * pow(abs(x), q) + 0.5 * (x - v) * (x - v) }
                    let grid = SP.gridProx(v, t) { pow(abs($0), q) }
                    #expect(f(y) <= grid.f + 1e-12, "q=\(q) t=\(t) v=\(v): \(y) vs grid \(grid.y)")
                }
            }
        }
    }

    @Test func lqHalfMatchesXuClosedForm() throws {
        // Xu et al. half thresholding with t = 2λ (here λ = step·strength).
        for lam in [0.2, 0.5, 1.0] {
            let t = 2 * lam
            for v in [-4.0, -1.55, 0.9, 1.2, 3.0] {  // λ = 1, |v| = 1.5 would be the exact tie (0 by convention)
                let y = try SP.prox("lq", "strength=1,q=0.5", [v], step: lam)[0]
                let thr = pow(54.0, 1.0 / 3) / 4 * pow(t, 2.0 / 3)
                var want = 0.0
                if abs(v) > thr {
                    let phi = acos(t / 8 * pow(abs(v) / 3, -1.5))
                    want = 2.0 / 3 * v * (1 + cos(2 * Double.pi / 3 - 2.0 / 3 * phi))
                }
                #expect(abs(y - want) < 1e-10, "λ=\(lam) v=\(v): \(y) vs \(want)")
            }
        }
    }

    @Test func lqGradientIsZeroAtZero() throws {
        let (v, g) = try SP.eval("lq", "strength=1,q=0.3", [0, 1e-300, -4])
        #expect(g[0] == 0 && g[1].isFinite && v.isFinite)
    }

    // MARK: cel0

    @Test func cel0ProxIsTheGlobalMinimiser() throws {
        for (lam, a) in [(0.5, 1.0), (0.1, 2.0), (1.0, 0.5)] {
            for t in [0.1, 0.6, 1.0, 3.0] {  // covers a²t < 1 and a²t ≥ 1
                for v in [-2.0, -0.9, -0.3, 0.2, 0.7, 1.05, 2.2] {
                    let y = try SP.prox("cel0", "strength=1,lam=\(lam),a=\(a)", [v], step: t)[0]
                    let theta = (2 * lam).squareRoot() / a
                    let phi = { (x: Double) in abs(x) <= theta ? lam - a * a / 2 * (abs(x) - theta) * (abs(x) - theta) : lam }
                    let grid = SP.gridProx(v, t, phi)
                    let fy = t * phi(y) + 0.5 * (y - v) * (y - v)
                    #expect(fy <= grid.f + 1e-12, "λ=\(lam) a=\(a) t=\(t) v=\(v): \(y) vs grid \(grid.y)")
                }
            }
        }
    }

    @Test func cel0SaturatesAtLambda() throws {
        let (v, g) = try SP.eval("cel0", "strength=1,lam=0.5", [5, -7, 1, 0])
        #expect(abs(v - 1.5) < 1e-15)
        #expect(g == [0, 0, 0, 0])
    }

    // MARK: smoothed_l0, stvs

    @Test func smoothedL0IsAccurateNearZeroAndFlatFarAway() throws {
        let (v, g) = try SP.eval("smoothed_l0", "strength=1,eps=0.1", [1e-9])
        #expect(abs(v - 5e-17) < 1e-12 * 5e-17)  // 1 − e^{−x} as −expm1(−x): no cancellation
        #expect(abs(g[0] - 1e-7) < 1e-12 * 1e-7)
        let (vf, gf) = try SP.eval("smoothed_l0", "strength=1,eps=0.1", [50, -1e4])
        #expect(vf == 2 && gf == [0, 0])
    }

    @Test func stvsIsL1LikeNearZero() throws {
        let gamma = 100.0
        let (v, g) = try SP.eval("stvs", "strength=1,gamma=\(gamma)", [1e-6, -1e-6, 0])
        #expect(abs(g[0] - gamma) < 1e-6 && abs(g[1] + gamma) < 1e-6 && g[2] == 0)
        #expect(abs(v - 2 * gamma * 1e-6) < 1e-12)
        let (big, gb) = try SP.eval("stvs", "strength=1,gamma=1", [1e6])
        #expect(big.isFinite && gb[0].isFinite && gb[0] > 0)
    }

    // MARK: sef

    @Test func sefIdentities() throws {
        let x = SP.random(9, seed: 4)
        let l1 = x.map(abs).reduce(0, +), l2 = x.map { $0 * $0 }.reduce(0, +)
        #expect(abs(try SP.eval("sef", "strength=1,k=1", x).0 - 0.5 * l1 * l1) < 1e-12)
        #expect(abs(try SP.eval("sef", "strength=1,k=9", x).0 - 0.5 * l2) < 1e-12)
        #expect(abs(try SP.eval("sef", "strength=1,k=20", x).0 - 0.5 * l2) < 1e-12)
        // ½‖x‖² exactly when ‖x‖₀ ≤ k, and non-increasing in k.
        let sparse = [0, 3, 0, -1, 0, 0.5, 0, 0, 0]
        #expect(abs(try SP.eval("sef", "strength=1,k=3", sparse).0 - 0.5 * 10.25) < 1e-12)
        var last = Double.infinity
        for k in 1...9 {
            let v = try SP.eval("sef", "strength=1,k=\(k)", x).0
            #expect(v <= last + 1e-12); last = v
        }
    }

    @Test func sefZeroInputAndTies() throws {
        let (v, g) = try SP.eval("sef", "strength=1,k=2", [0, 0, 0, 0])
        #expect(v == 0 && g == [0, 0, 0, 0])
        #expect(try SP.prox("sef", "strength=1,k=2", [0, 0, 0, 0], step: 1) == [0, 0, 0, 0])
        // Equal magnitudes: a symmetric problem has a symmetric prox keeping Σθ = k.
        let p = try SP.prox("sef", "strength=1,k=2", [1, -1, 1, -1], step: 1)
        #expect(SP.close(p.map(abs), [p[0], p[0], p[0], p[0]].map(abs), 1e-12))
        let (vt, gt) = try SP.eval("sef", "strength=1,k=2", [1, -1, 1, -1])
        #expect(abs(vt - 4) < 1e-12 && SP.close(gt, [2, -2, 2, -2]))  // T = 2: ½Σ|x|·T = 4
    }

    // MARK: wgsef

    @Test func wgsefWithSingletonGroupsIsSEF() throws {
        let x = SP.random(7, seed: 11)
        for k in 1...7 {
            let (a, ga) = try SP.eval("wgsef", "strength=1,k=\(k)", x, [7, 1])
            let (b, gb) = try SP.eval("sef", "strength=1,k=\(k)", x, [7, 1])
            #expect(abs(a - b) < 1e-12 && SP.close(ga, gb, 1e-12))
            let pa = try SP.prox("wgsef", "strength=1,k=\(k)", x, [7, 1], step: 0.3)
            let pb = try SP.prox("sef", "strength=1,k=\(k)", x, [7, 1], step: 0.3)
            #expect(SP.close(pa, pb, 1e-12))
        }
    }

    @Test func wgsefColumnsAreRowsOfTheTranspose() throws {
        let x = SP.random(12, seed: 12)  // 3×4
        var xt = [Double](repeating: 0, count: 12)
        for i in 0..<3 { for j in 0..<4 { xt[j * 3 + i] = x[i * 4 + j] } }
        let (a, _) = try SP.eval("wgsef", "strength=1,k=2,groups=cols", x, [3, 4])
        let (b, _) = try SP.eval("wgsef", "strength=1,k=2", xt, [4, 3])
        #expect(abs(a - b) < 1e-12)
        let sized = try SP.eval("wgsef", "strength=1,k=2,group_weight=size", x, [3, 4]).0
        let unit = try SP.eval("wgsef", "strength=1,k=2", x, [3, 4]).0
        #expect(abs(sized - 4 * unit) < 1e-12)  // d_j = 4 for every row: WGSEF = d·SEF(u)
    }

    @Test func wgsefZeroRowsGetZeroGradientAndStayZero() throws {
        let x = [0.0, 0, 0, 1, 2, -1, 0, 0, 0, 3, 0, 1]
        let (_, g) = try SP.eval("wgsef", "strength=1,k=1", x, [4, 3])
        #expect(g[0...2].allSatisfy { $0 == 0 } && g[6...8].allSatisfy { $0 == 0 })
        let p = try SP.prox("wgsef", "strength=1,k=1", x, [4, 3], step: 0.5)
        #expect(p[0...2].allSatisfy { $0 == 0 } && p[6...8].allSatisfy { $0 == 0 })
    }
}
