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

    func entmax15(_ z: [Double], scratch sorted: inout [Double]) -> [Double] {
        let (tau, m) = z.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: z.count, scratch: &sorted) }
        return z.map { let d = Swift.max(($0 - m) / 2 - tau, 0); return d * d }
    }

    @Test func thresholdMatchesBisection() {
        var rng = RNG(seed: 11)
        var sorted = [Double](repeating: 0, count: 64)  // scratch: at least the row length
        for k in [1, 2, 3, 7, 20] {
            for scale in [0.1, 1.0, 5.0] {
                let z = (0..<k).map { _ in scale * rng.normal() }
                let (tau, m) = z.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: k, scratch: &sorted) }
                #expect(m == z.max()!)
                #expect(abs(tau - bisection(z)) < 1e-9, "k=\(k) scale=\(scale)")
                let p = entmax15(z, scratch: &sorted)
                #expect(abs(p.reduce(0, +) - 1) < 1e-12)
            }
        }
    }

    @Test func catalogueExampleAndHugeLogits() {
        var sorted = [Double](repeating: 0, count: 64)  // scratch: at least the row length
        let p = entmax15([2, 1, -1], scratch: &sorted)
        #expect(abs(p[0] - 0.830719) < 1e-6 && abs(p[1] - 0.169281) < 1e-6 && p[2] == 0)
        let big: [Float] = [1e4, 0, -1e4]
        let (tau, m) = big.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: 3, scratch: &sorted) }
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

/// The candidate prefilter (x > −1) of the 1.5-entmax threshold against bisection on rows of
/// 1,000 logits at scales where the support is a handful of entries, most of the row, or all of
/// it (ties), and on rows with many entries exactly at the filter's edge.
@Suite struct EntmaxCandidateTests {
    @Test func largeRowsMatchBisection() {
        var rng = RNG(seed: 29)
        var scratch = [Double](repeating: 0, count: 1000)
        for scale in [0.01, 0.3, 1.0, 4.0, 50.0] {
            let z = (0..<1000).map { _ in scale * rng.normal() }
            let (tau, _) = z.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: 1000, scratch: &scratch) }
            #expect(abs(tau - LossKernelTests().bisection(z)) < 1e-9, "scale \(scale)")
        }
        let edge = [0.0] + [Double](repeating: -2, count: 999)  // x = −1 exactly: outside, p = 0
        let (tau, _) = edge.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: 1000, scratch: &scratch) }
        #expect(tau == -1)
    }
}

@Suite struct RowMaximumTests {
    @Test func matchesTheStandardLibraryOnEveryTailLength() {
        var rng = RNG(seed: 8)
        for n in 0..<13 {
            let x = (0..<n).map { _ in rng.normal() - 5 }  // all negative: a 0 start would be wrong
            let m = x.withUnsafeBufferPointer { Kernels.maximum($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: n) }
            #expect(m == (x.max() ?? -.infinity), "n = \(n)")
        }
    }
}
