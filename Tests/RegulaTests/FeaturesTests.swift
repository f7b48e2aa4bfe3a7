// Least Volume and rationale invariance: invariances, edge cases, and the memory bank's state.

import Testing
import Regula
import RegulaEngine

@Suite struct FeaturesTests {
    @Test func leastVolumeInvariancesAndEdgeCases() throws {
        let z = randomValues(12, seed: 21)
        let (v, _) = try evalPenalty("least_volume", "", z, [4, 3])
        let (vShift, _) = try evalPenalty("least_volume", "", z.enumerated().map { $0.element + Double($0.offset % 3) * 7 }, [4, 3])
        #expect(abs(v - vShift) < 1e-12)                                  // per-column shifts do not matter
        let perm = Array(z[9..<12] + z[0..<9])                            // rows permuted
        let (vPerm, _) = try evalPenalty("least_volume", "", perm, [4, 3])
        #expect(abs(v - vPerm) < 1e-12)
        var constant = z
        for i in 0..<4 { constant[i * 3 + 1] = 5 }
        let (vc, gc) = try evalPenalty("least_volume", "", constant, [4, 3])
        #expect(vc.isFinite && gc.allSatisfy(\.isFinite) && (0..<4).allSatisfy { gc[$0 * 3 + 1] == 0 })
        let (vBig, gBig) = try evalPenalty("least_volume", "", z.map { 1e4 * $0 }, [4, 3])
        #expect(vBig.isFinite && gBig.allSatisfy(\.isFinite))
        #expect(throws: (any Error).self) { try evalPenalty("least_volume", "", [1, 2, 3], [1, 3]) }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("least_volume", "eta=0") }
    }

    func ridgInputs(_ y: [Int], _ w: [Double], k: Int, d: Int) -> Inputs {
        ["labels": .index(shape: [y.count], values: y), "classifier": .real(shape: [k, d], values: w)]
    }

    @Test func rationaleBankCarriesOverBetweenCalls() throws {
        let (b, d, k) = (6, 3, 2)
        let z1 = randomValues(b * d, seed: 31), z2 = randomValues(b * d, seed: 32)
        let w = randomValues(k * d, seed: 33)
        let y = [0, 1, 0, 1, 1, 0]
        let inputs = ridgInputs(y, w, k: k, d: d)
        let p = try Registry.shared.penalty("rationale_invariance", "strength=1,momentum=0.5")
        let g = NDArray<Double>(shape: [b, d])
        let first = try p.valueAndGradient(NDArray(shape: [b, d], z1).tensor, inputs, into: g.tensor)
        // Same batch again: M ← ½M + ½R̄ with M = R̄, so nothing changes.
        let again = try p.valueAndGradient(NDArray(shape: [b, d], z1).tensor, inputs, into: g.tensor)
        #expect(abs(first - again) < 1e-12)
        // A new batch is measured against the carried bank, not its own mean.
        let carried = try p.valueAndGradient(NDArray(shape: [b, d], z2).tensor, inputs, into: g.tensor)
        let (fresh, _) = try evalPenalty("rationale_invariance", "momentum=0.5", z2, [b, d], inputs)
        #expect(carried > fresh)
        // momentum = 1: the bank is always the batch mean (stateless).
        let q = try Registry.shared.penalty("rationale_invariance", "strength=1,momentum=1")
        _ = try q.valueAndGradient(NDArray(shape: [b, d], z1).tensor, inputs, into: g.tensor)
        let stateless = try q.valueAndGradient(NDArray(shape: [b, d], z2).tensor, inputs, into: g.tensor)
        #expect(abs(stateless - fresh) < 1e-12)
        // reset=true empties the bank: the next call is a fresh first step.
        try p.update("reset=true")
        let afterReset = try p.valueAndGradient(NDArray(shape: [b, d], z2).tensor, inputs, into: g.tensor)
        #expect(abs(afterReset - fresh) < 1e-12)
        // The classifier shape may not change under a live bank.
        #expect(throws: (any Error).self) {
            try p.valueAndGradient(NDArray(shape: [b, d], z2).tensor, ridgInputs(y, randomValues(3 * d, seed: 1), k: 3, d: d), into: g.tensor)
        }
    }
}
