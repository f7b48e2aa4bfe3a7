// The shared 1.5-entmax threshold against an independent bisection on Σ max(x − τ, 0)² = 1,
// and the StableMax score's branches.

import Testing
import RegulaEngine

@Suite struct LossKernelTests {
    /// τ by bisection on the monotone f(τ) = Σ max((z − max z)/2 − τ, 0)² − 1 over [−1, 0].
    func bisection(_ z: [Double]) -> Double {
        let m = z.max()!
        var lo = -1.0, hi = 0.0
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            let f = z.reduce(0.0) { s, v in let d = Swift.max((v - m) / 2 - mid, 0); return s + d * d } - 1
            if f > 0 { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    func entmax15(_ z: [Double], sorted: inout [Double]) -> [Double] {
        let (tau, m) = z.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: z.count, sorted: &sorted) }
        return z.map { let d = Swift.max(($0 - m) / 2 - tau, 0); return d * d }
    }

    @Test func thresholdMatchesBisection() {
        var rng = RNG(seed: 11)
        var sorted: [Double] = []
        for k in [1, 2, 3, 7, 20] {
            for scale in [0.1, 1.0, 5.0] {
                let z = (0..<k).map { _ in scale * rng.normal() }
                let (tau, m) = z.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: k, sorted: &sorted) }
                #expect(m == z.max()!)
                #expect(abs(tau - bisection(z)) < 1e-9, "k=\(k) scale=\(scale)")
                let p = entmax15(z, sorted: &sorted)
                #expect(abs(p.reduce(0, +) - 1) < 1e-12)
            }
        }
    }

    @Test func catalogueExampleAndHugeLogits() {
        var sorted: [Double] = []
        let p = entmax15([2, 1, -1], sorted: &sorted)
        #expect(abs(p[0] - 0.830719) < 1e-6 && abs(p[1] - 0.169281) < 1e-6 && p[2] == 0)
        let big: [Float] = [1e4, 0, -1e4]
        let (tau, m) = big.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: 3, sorted: &sorted) }
        #expect(m == 1e4 && big.map { Swift.max((Double($0) - m) / 2 - tau, 0) } == [1, 0, 0])
    }

    @Test func stablemaxScoreBranches() {
        #expect(Kernels.stablemaxScore(2) == (3, 1))
        #expect(Kernels.stablemaxScore(-1) == (0.5, 0.25))
        #expect(Kernels.stablemaxScore(0) == (1, 1))
        let (s, d) = Kernels.stablemaxScore(-1e4)
        #expect(s > 0 && d > 0 && s.isFinite)
    }
}
