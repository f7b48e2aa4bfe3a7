// Edge cases and invariants of the pruning penalties (Pruning.swift): the HyperSparse gradient
// against its surrogate, relevance-decay inputs, FLOPS batch coupling.

import Testing
import Regula
import RegulaEngine
#if canImport(Glibc)
import Glibc
#endif

@Suite struct PruningTests {
    /// The catalogue README's check: ∇HS(w0) = ∇_w [A(w0)·T(w)/T(w0)] at w0, with s fixed at w0.
    @Test(arguments: [0.5, 0.9, 0.99]) func hypersparseGradientIsTheSurrogateGradient(_ kappa: Double) throws {
        for seed in 1...3 as ClosedRange<UInt64> {
            let w0 = SP.random(23, seed: seed)
            let (value, g) = try SP.eval("hypersparse", "strength=1,kappa=\(kappa)", w0)
            #expect(value == 0)
            // s computed independently: ascending |w|, index ⌊κN⌋ clamped to N−1.
            let sorted = w0.map(abs).sorted()
            let s = 0.6585 / sorted[Swift.min(Int(kappa * 23), 22)]
            let a0 = w0.map(abs).reduce(0, +)
            let tOf = { (w: [Double]) in w.map { tanh(s * abs($0)) }.reduce(0, +) }
            let t0 = tOf(w0)
            for i in 0..<w0.count {
                var p = w0, m = w0
                let h = 1e-6
                p[i] += h; m[i] -= h
                let fd = a0 * (tOf(p) - tOf(m)) / (2 * h) / t0
                #expect(abs(fd - g[i]) < 1e-7 * Swift.max(1, abs(fd)), "κ=\(kappa) i=\(i): \(g[i]) vs \(fd)")
            }
        }
    }

    @Test func hypersparseAllZerosAndManyZerosStayFinite() throws {
        let (v, g) = try SP.eval("hypersparse", "strength=1", [0, 0, 0, 0])
        #expect(v == 0 && g == [0, 0, 0, 0])
        // More than κN exact zeros: s uses the 1e-12 guard, gradients stay finite.
        let (_, g2) = try SP.eval("hypersparse", "strength=1,kappa=0.5", [0, 0, 0, 1e-3, 2])
        #expect(g2.allSatisfy(\.isFinite) && g2[0] == 0)
        #expect(try SP.eval("hypersparse", "strength=1", []).0 == 0)
    }

    @Test func relevanceDecayInputs() throws {
        // g = 0: plain weight decay with coefficient 2.
        let w = [1.0, -2, 0.5, 3]
        let (v, g) = try SP.eval("relevance_decay", "strength=1", w, [2, 2],
                                 inputs: ["task_grad": .real(shape: [2, 2], values: [0, 0, 0, 0])])
        #expect(abs(v - 14.25) < 1e-12 && g == w.map { 2 * $0 })
        // Huge task gradients switch the decay off.
        let (v2, _) = try SP.eval("relevance_decay", "strength=1", w, [2, 2],
                                  inputs: ["task_grad": .real(shape: [2, 2], values: [1e4, -1e4, 1e4, 1e4])])
        #expect(v2 == 0)
        let p = try SP.prox("relevance_decay", "strength=1", w, [2, 2], step: 0.5,
                            inputs: ["task_grad": .real(shape: [2, 2], values: [0, 0, 0, 0])])
        #expect(SP.close(p, w.map { $0 / 2 }))
        #expect(throws: (any Error).self) { try SP.eval("relevance_decay", "", w, [2, 2]) }
        #expect(throws: (any Error).self) {
            try SP.eval("relevance_decay", "", w, [2, 2], inputs: ["task_grad": .real(shape: [4], values: [0, 0, 0, 0])])
        }
    }

    @Test func flopsIsBatchCoupledAlongTheLastAxis() throws {
        // Rank 3 (2, 2, 3) = 4 rows of 3 dims.
        let a = [1.0, 0, -2, 3, 0, 0, 0, 1, 0, -1, 0, 2]
        let (v, g) = try SP.eval("flops", "strength=1", a, [2, 2, 3])
        let mean = [5.0 / 4, 1.0 / 4, 4.0 / 4]
        #expect(abs(v - mean.map { $0 * $0 }.reduce(0, +)) < 1e-12)
        #expect(abs(g[2] - (-0.5 * mean[2])) < 1e-12 && g[1] == 0)
        // Duplicating the batch leaves the value unchanged (a mean, not a sum).
        #expect(abs(try SP.eval("flops", "strength=1", a + a, [8, 3]).0 - v) < 1e-12)
        #expect(try SP.eval("flops", "strength=1", [], [0, 5]).0 == 0)
        #expect(FLOPS.rampFactor(step: 25_000) == 0.25 && FLOPS.rampFactor(step: 90_000) == 1)
        #expect(FLOPS.rampFactor(step: 3, warmup: 0) == 1)
    }
}
