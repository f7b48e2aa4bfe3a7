// The 1.5-entmax threshold kernel: Σ max(x − τ, 0)² = 1 and the catalogue's worked value.

import Testing
import RegulaEngine

@Suite struct EntmaxKernelTests {
    func mass(_ z: [Double]) -> (Double, Double) {
        var sorted = [Double](repeating: 0, count: 64)  // scratch: at least the row length
        let (tau, m) = z.withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress!, count: z.count, scratch: &sorted) }
        let s = z.reduce(0.0) { acc, v in let g = Swift.max((v - m) / 2 - tau, 0); return acc + g * g }
        return (s, tau)
    }

    @Test func probabilitiesSumToOne() {
        var rng = RNG(seed: 4)
        for n in [1, 2, 3, 7, 50] {
            let z = (0..<n).map { _ in 3 * rng.normal() }
            #expect(abs(mass(z).0 - 1) < 1e-12, "n = \(n)")
        }
        #expect(abs(mass([1e4, 0, -1e4]).0 - 1) < 1e-12)
        #expect(abs(mass([5, 5, 5, 5]).0 - 1) < 1e-12)  // ties: uniform
    }

    @Test func workedThreshold() {
        // z = [2, 1, −1]: x = [0, −0.5, −1.5], p = [0.830719, 0.169281, 0] → τ = −sqrt(0.830719)
        let (_, tau) = mass([2, 1, -1])
        #expect(abs(tau + 0.830719.squareRoot()) < 1e-6)
    }

    @Test func emptyRow() {
        var sorted = [Double](repeating: 0, count: 64)  // scratch: at least the row length
        let r = [Double]().withUnsafeBufferPointer { Kernels.entmax15Threshold($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: 0, scratch: &sorted) }
        #expect(r.max == -.infinity)
    }
}
