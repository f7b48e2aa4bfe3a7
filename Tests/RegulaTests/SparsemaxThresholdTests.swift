// Sparsemax's Michelot threshold against the sort-based definition (written here), with ties.

import Testing
import Regula
import RegulaEngine

@Suite struct SparsemaxThresholdTests {
    /// p = max(z − τ, 0) with τ from the sorted prefix rule of Martins & Astudillo.
    func reference(_ z: [Double]) -> [Double] {
        let s = z.sorted(by: >)
        var cum = 0.0, tau = 0.0
        for (j, v) in s.enumerated() {
            cum += v
            let t = (cum - 1) / Double(j + 1)
            if v > t { tau = t } else { break }
        }
        return z.map { max($0 - tau, 0) }
    }

    @Test func matchesTheSortedDefinition() throws {
        let m = try Registry.shared.map("sparsemax")
        var rng = RNG(seed: 21)
        for trial in 0..<300 {
            let k = 1 + trial % 40
            var z = (0..<k).map { _ in rng.normal() * (trial % 3 == 0 ? 0.1 : 2) }
            if trial % 5 == 0 && k > 2 { z[1] = z[0]; z[2] = z[0] }  // ties
            let x = NDArray<Double>(shape: [k], z), y = NDArray<Double>(shape: [k])
            try m.forward(x.tensor, into: y.tensor)
            let want = reference(z)
            for j in 0..<k { #expect(abs(y[j] - want[j]) < 1e-12, "trial \(trial) entry \(j)") }
        }
    }

    @Test func tiesAndExtremes() throws {
        let m = try Registry.shared.map("sparsemax")
        let cases: [([Double], [Double])] = [([1, 1, 1], [1.0 / 3, 1.0 / 3, 1.0 / 3]), ([0.5, 0.5, -10], [0.5, 0.5, 0]),
                                             ([1e4, 0, -1e4], [1, 0, 0]), ([3], [1])]
        for (z, want) in cases {
            let x = NDArray<Double>(shape: [z.count], z), y = NDArray<Double>(shape: [z.count])
            try m.forward(x.tensor, into: y.tensor)
            for j in 0..<z.count { #expect(abs(y[j] - want[j]) < 1e-12) }
        }
    }
}
