// Row-norm penalties above the threading threshold: the row-split value, gradient and prox of
// group_lasso and norm_loss against a plain serial float64 loop, in float64 and float32.

import Testing
import Regula
import RegulaEngine

@Suite struct RowNormsThreadedTests {
    /// (600, 1000): 600k entries, split over the workers; rows of mixed scale, one zero row.
    static func matrix() -> [Double] {
        var rng = RNG(seed: 5)
        var w = (0..<600_000).map { _ in rng.normal() }
        for j in 0..<1000 { w[7 * 1000 + j] = 0; w[11 * 1000 + j] *= 1e-3 }
        return w
    }

    /// Serial reference: R = Σ ψ(‖w_i‖), g_i = ψ'(r)/r · w_i, prox rows scaled by ρ(r)/r.
    static func reference(_ w: [Double], _ psi: (Double) -> (Double, Double)) -> (Double, [Double]) {
        var total = 0.0, g = [Double](repeating: 0, count: w.count)
        for i in 0..<600 {
            var s = 0.0
            for j in 0..<1000 { s += w[i * 1000 + j] * w[i * 1000 + j] }
            let (v, f) = psi(s.squareRoot())
            total += v
            for j in 0..<1000 { g[i * 1000 + j] = f * w[i * 1000 + j] }
        }
        return (total, g)
    }

    @Test(arguments: ["group_lasso", "norm_loss"])
    func valueAndGradientMatchSerial(id: String) throws {
        let w = Self.matrix()
        func groupLasso(_ r: Double) -> (Double, Double) { (r, r > 0 ? 1 / r : 0) }
        func normLoss(_ r: Double) -> (Double, Double) {
            let d = r - 1
            return (d * d, r > 0 ? 2 * (1 - 1 / (r + 1e-8)) : 0)
        }
        let psi: (Double) -> (Double, Double) = id == "group_lasso" ? groupLasso : normLoss
        let (value, grad) = Self.reference(w, psi)
        let p = try Registry.shared.penalty(id, "strength=0.5")
        let x = NDArray<Double>(shape: [600, 1000], w), g = NDArray<Double>(shape: [600, 1000])
        let v = try p.valueAndGradient(x.tensor, into: g.tensor)
        #expect(abs(v - 0.5 * value) <= 1e-12 * abs(value))
        var worst = 0.0
        for i in 0..<grad.count { worst = max(worst, abs(g.tensor[i] - 0.5 * grad[i])) }
        #expect(worst < 1e-15)
        // float32 through the same row split: within float32 rounding of the float64 result
        let xf = NDArray<Float>(shape: [600, 1000], w.map(Float.init)), gf = NDArray<Float>(shape: [600, 1000])
        let vf = try p.valueAndGradient(xf.tensor, into: gf.tensor)
        #expect(abs(vf - v) <= 1e-6 * abs(v))
        worst = 0
        for i in 0..<grad.count { worst = max(worst, abs(Double(gf.tensor[i]) - 0.5 * grad[i])) }
        #expect(worst < 1e-6)
    }

    @Test func groupLassoProxMatchesSerial() throws {
        let w = Self.matrix(), t = 31.6  // about the median row norm √1000: about half the rows vanish
        let p = try Registry.shared.penalty("group_lasso", "strength=1")
        let x = NDArray<Double>(shape: [600, 1000], w), out = NDArray<Double>(shape: [600, 1000])
        try p.prox(x.tensor, step: t, into: out.tensor)
        var worst = 0.0, zeroRows = 0
        for i in 0..<600 {
            var s = 0.0
            for j in 0..<1000 { s += w[i * 1000 + j] * w[i * 1000 + j] }
            let r = s.squareRoot(), f = r > 0 ? max(0, r - t) / r : 0
            if f == 0 { zeroRows += 1 }
            for j in 0..<1000 { worst = max(worst, abs(out.tensor[i * 1000 + j] - f * w[i * 1000 + j])) }
        }
        #expect(worst < 1e-14)
        #expect(zeroRows > 100 && zeroRows < 500)
    }
}
