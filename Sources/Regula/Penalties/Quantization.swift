// Regula — quantization-oriented penalties: the generalized-Gaussian prior and the AdaRound
// rounding regulariser.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Generalized-Gaussian prior penalty (negative log-prior up to constants), with the shape ν
/// estimated by moment matching when not given.
/// ```
/// R(W) = Σ |w/α|^ν        ∂R = (ν/α^ν)|w|^{ν−1} sign(w)    (0 at w = 0)
/// ν̂: ρ̂ = N Σw² / (Σ|w|)²,  ν̂ = the grid value ν ∈ {0.10, 0.11, …, 3.00} whose
///     ρ(ν) = Γ(1/ν)Γ(3/ν)/Γ(2/ν)² is nearest to ρ̂ (ρ(1) = 2, ρ(2) = π/2)
/// ```
/// - Parameters: `nu` ν > 0 (absent = ν̂ of the input, re-estimated per call and held constant
///   for the gradient: it is piecewise constant in W), `alpha` α > 0 (default 1).
/// - Decision: nearest lookup in ρ (|ρ̂ − ρ(ν)| minimal, first on ties), as `torch.argmin` in
///   phuang1024/DBS `gg_prior/backslash.py`; ρ through lgamma (Γ(30) and friends stay finite);
///   an all-zero input uses ν̂ = 2 (any ν gives R = 0 there).
/// - Reference: Wu, Xiong, Wen, Han, "It Takes a Good Model to Train a Good Model: Generalized
///   Gaussian Priors for Optimized LLMs", 2025. Catalogue: penalties_sparsity §14a.
public struct GenGaussian: GenericPenalty {
    public static let id = "gen_gaussian"
    public let nu: Double?
    public let alpha: Double
    public init(nu: Double? = nil, alpha: Double = 1) { self.nu = nu; self.alpha = alpha }

    /// (ν, ρ(ν)) on the grid 0.10 … 3.00, step 0.01.
    static let table: [(nu: Double, rho: Double)] = (10...300).map { i in
        let v = Double(i) / 100
        return (v, exp(lgamma(1 / v) + lgamma(3 / v) - 2 * lgamma(2 / v)))
    }

    /// ν̂ by moment matching on all entries of `w`.
    public static func estimateShape<T: Scalar>(_ w: Tensor<T>) -> Double {
        let sq = Kernels.sumOfSquares(w.data, count: w.count)
        var ab = 0.0
        for i in 0..<w.count { ab += abs(w[i].double) }
        return estimateShape(count: w.count, sumOfSquares: sq, sumOfAbs: ab)
    }

    /// ν̂ from the moments of n values: ρ̂ = n·Σw²/(Σ|w|)², nearest grid entry (2 for all zeros).
    public static func estimateShape(count n: Int, sumOfSquares sq: Double, sumOfAbs ab: Double) -> Double {
        guard ab > 0 else { return 2 }
        let rho = Double(n) * sq / (ab * ab)
        var best = table[0]
        for e in table where abs(e.rho - rho) < abs(best.rho - rho) { best = e }
        return best.nu
    }

    public func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs, scale: Double, into g: Tensor<T>) -> Double {
        let v = nu ?? Self.estimateShape(w)
        let c = v / pow(alpha, v)
        return Kernels.valueAndGradient(w.data, g.data, count: w.count, scale: scale) { x in
            let a = abs(x)
            guard a > 0 else { return (0, 0) }  // ν < 1: infinite slope at 0, subgradient 0
            let p = pow(a / alpha, v)
            return (p, Kernels.sign(x) * c * pow(a, v - 1))
        }
    }

}

/// AdaRound's rounding regulariser on the rounding logits V (same shape as W): drives the
/// rectified sigmoid h(V) to 0 or 1.
/// ```
/// h(V) = clip(σ(V)(ζ − γ) + γ, 0, 1),  ζ = 1.1, γ = −0.1
/// R(V) = λ Σ (1 − |2h(V) − 1|^β)
/// ∂R/∂V = −λβ|2h − 1|^{β−1}·sign(2h − 1)·2h'(V),  h' = (ζ − γ)σ(1 − σ) inside (0, 1), else 0
/// ```
/// - Parameters: `lam` λ > 0 (default 0.01; `lambda` is a Python keyword), `beta` β ≥ 1 (default
///   20, the start of the anneal; below 1 the gradient is singular at h = ½). Strength defaults
///   to 1 (λ is the intrinsic scale). The β anneal (`AdaRoundReg.beta(step:...)`) and the
///   initialisation (`AdaRoundReg.initialLogit`) are helpers for the calibration loop.
/// - Stability: σ is evaluated without overflow for |V| up to 1e4 and beyond (e^{−|V|} only).
/// - Reference: Nagel, Amjad, van Baalen, Louizos, Blankevoort, "Up or Down? Adaptive Rounding for
///   Post-Training Quantization", 2020; yhhhli/BRECQ `quant/adaptive_rounding.py`; torch.ao
///   `adaround_loss.py`. Catalogue: penalties_sparsity §16.
public struct AdaRoundReg: ElementwisePenalty {
    public static let id = "adaround_reg"
    public static let zeta = 1.1, gamma = -0.1
    public let lambda: Double
    public let beta: Double
    public init(lambda: Double = 0.01, beta: Double = 20) { self.lambda = lambda; self.beta = beta }

    public enum Decay: String, Sendable { case cosine, linear }

    /// β at iteration `step` of `iters`: nil (regulariser off) during the first warm_start·iters
    /// iterations, then cosine (AIMET, torch.ao) or linear (BRECQ) from `start` to `end`.
    public static func beta(step: Int, iters: Int = 10_000, warmStart: Double = 0.2, start: Double = 20,
                            end: Double = 2, decay: Decay = .cosine) -> Double? {
        let warm = warmStart * Double(iters)
        guard Double(step) >= warm else { return nil }
        let r = Swift.min(1, (Double(step) - warm) / Swift.max(Double(iters) - warm, 1))
        switch decay {
        case .cosine: return end + 0.5 * (start - end) * (1 + cos(Double.pi * r))
        case .linear: return end + (start - end) * (1 - r)
        }
    }

    /// V₀ with h(V₀) = r₀ (the fractional part of W/s), r₀ ∈ (0, 1).
    public static func initialLogit(_ r0: Double) -> Double {
        -log((zeta - gamma) / (r0 - gamma) - 1)
    }

    @inlinable public func phi(_ v: Double) -> (Double, Double) {
        // σ(v) from e^{−|v|} only: no overflow for large |v|.
        let e = exp(-abs(v))
        let s = v >= 0 ? 1 / (1 + e) : e / (1 + e)
        let u = s * (Self.zeta - Self.gamma) + Self.gamma
        let h = Swift.min(Swift.max(u, 0), 1)
        let dh = u > 0 && u < 1 ? (Self.zeta - Self.gamma) * s * (1 - s) : 0
        let d = 2 * h - 1, m = abs(d)
        let value = lambda * (1 - pow(m, beta))
        let grad = m > 0 ? -lambda * beta * pow(m, beta - 1) * Kernels.sign(d) * 2 * dh : 0
        return (value, grad)
    }
}

extension Registry {
    static let quantization: [Entry] = [
        .penalty("gen_gaussian", family: "quantization",
                 summary: "generalized-Gaussian prior Σ|w/α|^ν, shape ν estimated by moment matching when not given",
                 formula: "R = Σ|w/α|^ν; ∂R = (ν/α^ν)|w|^{ν−1}sign(w); ν̂: nearest ρ(ν) = Γ(1/ν)Γ(3/ν)/Γ(2/ν)² to N·Σw²/(Σ|w|)², ν ∈ [0.1, 3] step 0.01",
                 reference: "It Takes a Good Model to Train a Good Model: Generalized Gaussian Priors for Optimized LLMs (Wu, Xiong, Wen, Han 2025)",
                 confidence: "medium-high",
                 notes: "ν̂ re-estimated per call (piecewise constant in W, held fixed for the gradient); nearest in ρ "
                    + "as torch.argmin in phuang1024/DBS gg_prior/backslash.py. The paper estimates over all parameters: "
                    + "pass them concatenated or give nu. No prox (for ν ≤ 1 the lq prox with "
                    + "q = ν, λ = t/α^ν applies).",
                 strength: 1e-5,
                 params: [.real("nu", nil, min: 0, minOpen: true, "shape ν (absent: estimated from the input)"),
                          .real("alpha", 1, min: 0, minOpen: true, "scale α")],
                 examples: [
                    WorkedExample("ν=1.5, α=2", params: "nu=1.5,alpha=2", x: w0, shape: [2, 2], value: 1.478553,
                                  gradient: [0.530330, -0.75, 0.375, 0]),
                    WorkedExample("ν=0.5, α=1", params: "nu=0.5", x: w0, shape: [2, 2], value: 3.121320),
                 ]) { p in GenGaussian(nu: p.optionalReal("nu"), alpha: try p.real("alpha")) },
        .penalty("adaround_reg", family: "quantization",
                 summary: "AdaRound rounding regulariser λΣ(1 − |2h(V) − 1|^β) on the rounding logits",
                 formula: "h = clip(σ(V)·1.2 − 0.1, 0, 1); R = λΣ(1 − |2h − 1|^β); ∂R = −λβ|2h−1|^{β−1}sign(2h−1)·2h'",
                 reference: "Up or Down? Adaptive Rounding for Post-Training Quantization (Nagel et al. 2020)",
                 notes: "λ is named lam (Python keyword); strength defaults to 1 (catalogue README). β is a fixed "
                    + "parameter (default 20); the anneal (cosine 20 → 2 after 20 % warm start) is AdaRoundReg.beta(step:).",
                 strength: 1,
                 params: [.real("lam", 0.01, min: 0, minOpen: true, "λ, the regulariser weight"),
                          .real("beta", 20, min: 1, "annealed exponent β")],
                 check: CheckSpec(params: "lam=1,beta=3"),
                 examples: [
                    WorkedExample("V=W0, β=20", params: "lam=1,beta=20", x: w0, shape: [2, 2], value: 3.834759,
                                  gradient: [-0.000129, 0.911163, 0, 0]),
                    WorkedExample("V=W0, β=2", params: "lam=1,beta=2", x: w0, shape: [2, 2], value: 2.770869,
                                  gradient: [-0.523341, 0.460584, -0.331527, 0]),
                    WorkedExample("1e4 logits", params: "lam=1,beta=2", x: [1e4, -1e4], shape: [2], value: 0,
                                  gradient: [0, 0]),
                 ]) { p in AdaRoundReg(lambda: try p.real("lam"), beta: try p.real("beta")) },
    ]
}
