// Total variation family: adjoint consistency, boundary cases, and the prox solvers against a
// dual projected-gradient reference written here.

import Testing
import Regula
import RegulaEngine

func evalPenalty(_ id: String, _ params: String = "", _ x: [Double], _ shape: [Int],
              _ inputs: Inputs = .none) throws -> (Double, [Double]) {
    let p = try Registry.shared.penalty(id, params.isEmpty ? "strength=1" : "strength=1," + params)
    let a = NDArray<Double>(shape: shape, x), g = NDArray<Double>(shape: shape)
    let v = try p.valueAndGradient(a.tensor, inputs, into: g.tensor)
    return (v, g.values)
}

func proxPenalty(_ id: String, _ params: String = "", _ x: [Double], _ shape: [Int], step: Double,
            _ inputs: Inputs = .none) throws -> [Double] {
    let p = try Registry.shared.penalty(id, params.isEmpty ? "strength=1" : "strength=1," + params)
    let a = NDArray<Double>(shape: shape, x), out = NDArray<Double>(shape: shape)
    try p.prox(a.tensor, step: step, inputs, into: out.tensor)
    return out.values
}

func randomValues(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = RNG(seed: seed)
    return (0..<n).map { _ in scale * rng.normal() }
}

/// argmin ½‖x − y‖² + λ Σ|x_{k+1} − x_k| by projected gradient on the dual, z ∈ [−λ, λ]^{n−1}.
func tv1dDualReference(_ y: [Double], _ lambda: Double, iterations: Int = 60000) -> [Double] {
    let n = y.count
    guard n > 1 else { return y }
    var z = [Double](repeating: 0, count: n - 1), x = y
    for _ in 0..<iterations {
        for k in 0..<n { x[k] = y[k] - (k > 0 ? z[k - 1] : 0) + (k < n - 1 ? z[k] : 0) }  // x = y − Dᵀz
        for k in 0..<n - 1 { z[k] = Swift.min(lambda, Swift.max(-lambda, z[k] + 0.25 * (x[k + 1] - x[k]))) }
    }
    for k in 0..<n { x[k] = y[k] - (k > 0 ? z[k - 1] : 0) + (k < n - 1 ? z[k] : 0) }
    return x
}

@Suite struct TotalVariationTests {
    /// Exact TV is 1-homogeneous with ∇R = Dᵀq, q = Du/|Du|: ⟨u, ∇R⟩ = ⟨Du, q⟩ = R(u). This ties
    /// the gradient's adjoint to the forward differences.
    @Test(arguments: [("", [5, 6]), ("variant=anisotropic", [5, 6]), ("", [9]), ("", [2, 3, 4]), ("dims=1d", [3, 7])])
    func adjointConsistency(_ params: String, _ shape: [Int]) throws {
        let n = shape.reduce(1, *)
        let u = randomValues(n, seed: UInt64(n))
        let (v, g) = try evalPenalty("total_variation", params, u, shape)
        let dot = zip(u, g).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(dot - v) < 1e-12 * Swift.max(1, v))
        let w = randomValues(n, seed: 9).map { abs($0) }
        let (vw, gw) = try evalPenalty("weighted_total_variation", params, u, shape, ["weights": .real(shape: shape, values: w)])
        #expect(abs(zip(u, gw).reduce(0) { $0 + $1.0 * $1.1 } - vw) < 1e-12 * Swift.max(1, vw))
    }

    @Test func constantsAndTinyImagesCostNothing() throws {
        for (shape, params) in [([4, 4], ""), ([4, 4], "eps=0.1"), ([4, 4], "eps=0.1,variant=anisotropic"), ([1, 1], ""), ([1], "")] {
            let n = shape.reduce(1, *)
            let (v, g) = try evalPenalty("total_variation", params, [Double](repeating: 2.5, count: n), shape)
            #expect(v == 0 && g.allSatisfy { $0 == 0 }, "\(shape) \(params)")
        }
        // Without −ε every pixel of a constant image costs ε (the common smoothed TV).
        let (v, _) = try evalPenalty("total_variation", "eps=0.1,subtract_eps=false", [Double](repeating: 1, count: 6), [2, 3])
        #expect(abs(v - 0.6) < 1e-12)
    }

    @Test func batchIsTheSumOfItsImagesAndOneRowIsASignal() throws {
        let u = randomValues(24, seed: 3)
        let (whole, _) = try evalPenalty("total_variation", "", u, [2, 3, 4])
        let (a, _) = try evalPenalty("total_variation", "", Array(u[0..<12]), [3, 4])
        let (b, _) = try evalPenalty("total_variation", "", Array(u[12...]), [3, 4])
        #expect(abs(whole - (a + b)) < 1e-12)
        let (row, _) = try evalPenalty("total_variation", "", Array(u[0..<5]), [1, 5])
        let (sig, _) = try evalPenalty("total_variation", "", Array(u[0..<5]), [5])
        var tv = 0.0
        for k in 0..<4 { tv += abs(u[k + 1] - u[k]) }
        #expect(abs(row - tv) < 1e-14 && abs(sig - tv) < 1e-14)
    }

    @Test func zeroWeightsSilenceAPixelAndNegativeWeightsAreRefused() throws {
        let u = randomValues(9, seed: 4)
        var w = [Double](repeating: 1, count: 9)
        w[4] = 0
        let (v, _) = try evalPenalty("weighted_total_variation", "", u, [3, 3], ["weights": .real(shape: [3, 3], values: w)])
        let (vAll, _) = try evalPenalty("weighted_total_variation", "", u, [3, 3], ["weights": .real(shape: [3, 3], values: [Double](repeating: 1, count: 9))])
        let centre = ((u[5] - u[4]) * (u[5] - u[4]) + (u[7] - u[4]) * (u[7] - u[4])).squareRoot()
        #expect(abs(vAll - v - centre) < 1e-12)
        w[4] = -1
        #expect(throws: (any Error).self) {
            try evalPenalty("weighted_total_variation", "", u, [3, 3], ["weights": .real(shape: [3, 3], values: w)])
        }
        #expect(throws: (any Error).self) { try evalPenalty("weighted_total_variation", "", u, [3, 3]) }
    }

    @Test func tpvWeightsMatchTheCatalogue() throws {
        let pen = WeightedTotalVariation(eta: 2e-3, p: 0.5)
        let u: [Double] = [0, 0, 1, 0, 2, 1, 1, 1, 1]
        let w = try pen.weights([3, 3], ["reference": .real(shape: [3, 3], values: u)])
        let want = [1, 0.029907, 1, 0.029907, 0.037606, 1, 1, 1, 1]
        for k in 0..<9 { #expect(abs(w[k] - want[k]) < 1e-6) }
        // p = 1 is plain TV.
        let plain = try WeightedTotalVariation(p: 1).weights([3, 3], ["reference": .real(shape: [3, 3], values: u)])
        #expect(plain.allSatisfy { $0 == 1 })
    }

    @Test(arguments: [2, 3, 6, 13, 25])
    func condatMatchesTheDualReference(_ n: Int) throws {
        for (k, lambda) in [0.05, 0.3, 1.0, 4.0].enumerated() {
            let y = randomValues(n, seed: UInt64(100 * n + k), scale: 1.5)
            let got = try proxPenalty("prox_tv1d_condat", "", y, [n], step: lambda)
            let want = tv1dDualReference(y, lambda)
            for i in 0..<n { #expect(abs(got[i] - want[i]) < 1e-6, "n=\(n) λ=\(lambda) [\(i)]") }
        }
    }

    @Test func proxesPreserveTheMeanAndFlattenAtLargeSteps() throws {
        let y = randomValues(10, seed: 5)
        let mean = y.reduce(0, +) / 10
        for (id, shape) in [("prox_tv1d_condat", [10]), ("prox_tv_chambolle", [2, 5])] {
            let small = try proxPenalty(id, "", y, shape, step: 0.2)
            #expect(abs(small.reduce(0, +) / 10 - mean) < 1e-9, "\(id)")
            let flat = try proxPenalty(id, "", y, shape, step: 100)
            #expect(flat.allSatisfy { abs($0 - mean) < 1e-6 }, "\(id)")
        }
        // In place: out may alias v.
        let p = try Registry.shared.penalty("prox_tv1d_condat", "strength=1")
        let a = NDArray<Double>(shape: [10], y)
        try p.prox(a.tensor, step: 0.2, into: a.tensor)
        let b = try proxPenalty("prox_tv1d_condat", "", y, [10], step: 0.2)
        #expect(a.values == b)
    }
}
