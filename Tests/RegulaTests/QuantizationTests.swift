// Edge cases and invariants of the quantization components (Quantization.swift,
// Reparameterization.swift): GG shape estimation, AdaRound schedule and init, compander helpers.

import Testing
import Regula
import RegulaEngine
#if canImport(Glibc)
import Glibc
#endif

@Suite struct QuantizationTests {
    @Test func genGaussianShapeEstimate() throws {
        let w0 = NDArray<Double>(shape: [2, 2], [1, -2, 0.5, 0])
        #expect(GenGaussian.estimateShape(w0.tensor) == 1.46)  // catalogue: ρ̂ = 1.714286 → 1.46
        // A large Gaussian sample estimates ν ≈ 2, a Laplace sample ν ≈ 1.
        var rng = RNG(seed: 3)
        let n = 200_000
        let gauss = NDArray<Double>(shape: [n], (0..<n).map { _ in rng.normal() })
        let laplace = NDArray<Double>(shape: [n], (0..<n).map { _ in
            let u = rng.uniform() - 0.5
            return (u < 0 ? 1 : -1) * log(1 - 2 * abs(u))
        })
        #expect(abs(GenGaussian.estimateShape(gauss.tensor) - 2) <= 0.05)
        #expect(abs(GenGaussian.estimateShape(laplace.tensor) - 1) <= 0.05)
        // The estimated ν is used when nu is absent: value = Σ|w|^1.46 on W0.
        let (v, _) = try SP.eval("gen_gaussian", "strength=1", [1, -2, 0.5, 0], [2, 2])
        #expect(abs(v - (1 + pow(2, 1.46) + pow(0.5, 1.46))) < 1e-12)
    }

    @Test func genGaussianBelowOneIsFiniteAtZero() throws {
        let (v, g) = try SP.eval("gen_gaussian", "strength=1,nu=0.5", [0, 1e-300, 4])
        #expect(v.isFinite && g.allSatisfy(\.isFinite) && g[0] == 0)
        #expect(try SP.eval("gen_gaussian", "strength=1", [0, 0]).0 == 0)  // all zeros: no NaN
    }

    @Test func adaRoundScheduleAndInit() {
        #expect(AdaRoundReg.beta(step: 1999) == nil)
        #expect(AdaRoundReg.beta(step: 2000) == 20)
        #expect(abs(AdaRoundReg.beta(step: 4000)! - 17.363961) < 1e-6)
        #expect(abs(AdaRoundReg.beta(step: 6000)! - 11) < 1e-12)
        #expect(abs(AdaRoundReg.beta(step: 10000)! - 2) < 1e-12)
        #expect(abs(AdaRoundReg.beta(step: 6000, decay: .linear)! - 11) < 1e-12)
        #expect(abs(AdaRoundReg.beta(step: 10000, decay: .linear)! - 2) < 1e-12)
        #expect(abs(AdaRoundReg.initialLogit(0.25) - -0.887303) < 1e-6)
        #expect(abs(AdaRoundReg.initialLogit(0.5)) < 1e-15)
    }

    @Test func adaRoundCommittedWeightsHaveNoGradient() throws {
        // h saturates for |V| ≳ 2.4: value 0 and gradient exactly 0; h = ½ (V = 0) is a stationary point.
        let (v, g) = try SP.eval("adaround_reg", "lam=1,beta=2", [3, -3, 1e4, 0])
        #expect(abs(v - 1) < 1e-15 && g[0...2] == [0, 0, 0] && abs(g[3]) < 1e-12, "\(g)")
    }

    @Test func companderHelpers() throws {
        let wc = WeightCompander(a: 0.8, b: 0.5)
        #expect(abs(wc.inverse(0.5) - 0.360742) < 1e-6)
        let y = NDArray<Double>(shape: [1])
        try wc.forward(NDArray<Double>(shape: [1], [wc.inverse(0.5)]).tensor, .none, into: y.tensor)
        #expect(abs(y[0] - 0.5) < 1e-14)
        #expect(wc.inverse(10).isFinite && wc.inverse(-10).isFinite)  // past the pole: clamped
        let x: [Double] = [1, -2, 0.5, 0]
        let partials = x.map(wc.parameterPartials)
        #expect(SP.close(partials.map(\.da), [1.107149, -1.325818, 0.785398, 0], 1e-6))
        #expect(SP.close(partials.map(\.db), [-0.64, 0.376471, -0.8, 0], 1e-6))
        #expect(SP.close(x.map(WeightCompander(a: 1, b: 1).parameterPartials).map(\.db), [-0.5, 0.4, -0.4, 0], 1e-12))
        // ∂Φ/∂a, ∂Φ/∂b against central differences.
        for v in x {
            let h = 1e-6
            let fa = (WeightCompander(a: 0.8 + h, b: 0.5).phi(v) - WeightCompander(a: 0.8 - h, b: 0.5).phi(v)) / (2 * h)
            let fb = (WeightCompander(a: 0.8, b: 0.5 + h).phi(v) - WeightCompander(a: 0.8, b: 0.5 - h).phi(v)) / (2 * h)
            #expect(abs(fa - wc.parameterPartials(v).da) < 1e-8 && abs(fb - wc.parameterPartials(v).db) < 1e-8)
        }
    }
}

extension WeightCompander {
    func phi(_ v: Double) -> Double { a * atan(v / b) }
}
