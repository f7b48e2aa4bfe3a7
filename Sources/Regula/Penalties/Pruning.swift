// Regula — pruning-oriented penalties: HyperSparse (gradient-defined), relevance-weighted decay
// (Bonetta et al.) and the SPLADE FLOPS regulariser on activations.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// HyperSparse: a push towards zero that is strong below the pruning threshold and fades above it.
/// ```
/// a = |w|, s = 0.6585 / max(a_(⌊κN⌋), 1e-12)  (ascending order, 0-based, index clamped to N−1)
/// T = Σ tanh(s a_j),  A = Σ a_j,   HS(w) = A·T/sg(T) − A ≡ 0
/// ∂HS/∂w_i = sign(w_i)·s·sech²(s a_i)·A/T      (s held constant; 0 when T = 0)
/// ```
/// - Parameters: `kappa` κ ∈ [0, 1], the target pruning rate (default 0.9). Global in the paper:
///   pass all prunable weights (conv/linear, no biases/BN) concatenated as one array.
/// - Decision (catalogue README): the value reports 0, as the paper's code; the gradient is the
///   gradient of the surrogate A(w₀)·T(w)/T(w₀) at w₀ with s fixed (checked in `PruningTests`).
///   The ART schedule (λ_e = λ_init·η^{e − e_warm}, default λ_init 5e-6, η 1.05, e_warm 60) is the
///   caller's: set `strength` per epoch.
/// - Stability: sech² is computed as 1 − tanh² (cosh overflows); the guard 1e-12 avoids s = ∞
///   when more than κN weights are exactly 0.
/// - Reference: Glandorf, Kaiser, Rosenhahn, "HyperSparse Neural Networks: Shifting Exploration to
///   Exploitation through Adaptive Regularization", 2023; GreenAutoML4FAS/HyperSparse
///   `loss/HyperSparse.py`. Catalogue: penalties_sparsity §11.
public struct HyperSparse: GenericPenalty {
    public static let id = "hypersparse"
    public let kappa: Double
    public init(kappa: Double = 0.9) { self.kappa = kappa }

    /// s = 0.6585 / a_(⌊κN⌋): the inflection point of sech²(s·a) sits at the pruning threshold.
    public func sharpness<T: Scalar>(_ w: Tensor<T>) -> Double {
        var a = (0..<w.count).map { abs(w[$0].double) }
        a.sort()
        let idx = Swift.min(Int((kappa * Double(w.count)).rounded(.down)), w.count - 1)
        return 0.6585 / Swift.max(a[idx], 1e-12)
    }

    public func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs, scale: Double, into g: Tensor<T>) -> Double {
        guard w.count > 0 else { return 0 }
        let s = sharpness(w)
        var total = 0.0, tsum = 0.0
        for i in 0..<w.count { let a = abs(w[i].double); total += a; tsum += tanh(s * a) }
        let factor = tsum > 0 ? scale * s * total / tsum : 0
        for i in 0..<w.count {
            let x = w[i].double, th = tanh(s * abs(x))
            g[i] = T(factor * Kernels.sign(x) * (1 - th * th))  // sech² = 1 − tanh², no cosh overflow
        }
        return 0  // A·T/sg(T) − A is identically 0 (catalogue README decision)
    }

}

/// Relevance-weighted weight decay: full L2 shrinkage for weights the task loss ignores, almost
/// none for weights with a large task gradient.
/// ```
/// R(W) = Σ exp(−|g_ij|/α)·w_ij²      ∂R/∂w = 2·exp(−|g|/α)·w      (g = ∂L_task/∂W, held constant)
/// prox_{tR}(v) = v / (1 + 2t·exp(−|g|/α))
/// ```
/// - Parameters: `alpha` α > 0 (default 1); input `task_grad` (same shape as W): the task-loss
///   gradient of the current batch (call between the task backward and the optimizer step).
///   The γ decay and the iterative global magnitude pruning (10 % of the remaining weights per
///   round) are the training loop's.
/// - Reference: Bonetta, Ribero, Cancelliere, "Regularization-based Pruning of Irrelevant Weights
///   in Deep Neural Architectures", 2022; giobin/Applied_Intelligence_sparsity `utils/pruning.py`.
///   Catalogue: penalties_sparsity §17.
public struct RelevanceDecay: GenericProximal {
    public static let id = "relevance_decay"
    public let alpha: Double
    public init(alpha: Double = 1) { self.alpha = alpha }

    /// The irrelevance factors exp(−|g|/α), after checking the task gradient's shape.
    func factors(_ inputs: Inputs, shape: [Int]) throws -> [Double] {
        let (gs, gv) = try inputs.real("task_grad")
        guard gs == shape else { throw RegulaError.shape("task_grad has shape \(gs), expected \(shape)") }
        return gv.map { exp(-abs($0) / alpha) }
    }

    public func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs, scale: Double, into g: Tensor<T>) throws -> Double {
        let f = try factors(inputs, shape: w.shape)
        var total = 0.0
        for i in 0..<w.count {
            let x = w[i].double
            total += f[i] * x * x
            g[i] = T(scale * 2 * f[i] * x)
        }
        return scale * total
    }

    public func proximal<T: Scalar>(_ v: Tensor<T>, t: Double, _ inputs: Inputs, into out: Tensor<T>) throws {
        let f = try factors(inputs, shape: v.shape)
        for i in 0..<v.count { out[i] = T(v[i].double / (1 + 2 * t * f[i])) }  // argmin t f x² + ½(x − v)²
    }

}

/// The SPLADE FLOPS regulariser on a batch of activations (rows = batch items, columns = output
/// dimensions along the last axis): the squared mean activation per dimension.
/// ```
/// ā_j = (1/B) Σ_i |a_ij|,   ℓ(A) = Σ_j ā_j²,   ∂ℓ/∂a_ij = (2/B)·ā_j·sign(a_ij)
/// ```
/// - Parameters: none besides `strength` (default 1e-3; SPLADE++ uses λ_q = 0.5, λ_d = 0.4).
///   The quadratic warm-up λ_t = λ·min(1, (t/T)²), T = 50 000, is `FLOPS.rampFactor`: the caller
///   multiplies `strength` by it (penalties carry no training state).
/// - Batch-coupled: the mean is taken before the square, so λ depends on the batch size.
///   An empty batch gives 0.
/// - Reference: Formal, Piwowarski, Clinchant, "SPLADE: Sparse Lexical and Expansion Model for
///   First Stage Ranking", 2021; naver/splade `splade/losses/regularization.py`. Catalogue: penalties_sparsity §18.
public struct FLOPS: GenericPenalty {
    public static let id = "flops"
    public init() {}

    /// min(1, (step/warmup)²); 1 when warmup is 0.
    public static func rampFactor(step: Int, warmup: Int = 50_000) -> Double {
        guard warmup > 0 else { return 1 }
        let r = Double(Swift.max(step, 0)) / Double(warmup)
        return Swift.min(1, r * r)
    }

    public func evaluate<T: Scalar>(_ a: Tensor<T>, _ inputs: Inputs, scale: Double, into g: Tensor<T>) -> Double {
        let (b, v) = a.lastAxis
        guard b > 0, v > 0 else { return 0 }
        var mean = [Double](repeating: 0, count: v)
        for i in 0..<b { for j in 0..<v { mean[j] += abs(a[i * v + j].double) } }
        var total = 0.0
        for j in 0..<v { mean[j] /= Double(b); total += mean[j] * mean[j] }
        let c = scale * 2 / Double(b)
        for i in 0..<b { for j in 0..<v { g[i * v + j] = T(c * mean[j] * Kernels.sign(a[i * v + j].double)) } }
        return scale * total
    }

}

extension Registry {
    static let pruning: [Entry] = [
        .penalty("hypersparse", family: "pruning",
                 summary: "HyperSparse: gradient-only push below the pruning threshold (value reported as 0)",
                 formula: "value 0 (A·T/sg(T) − A); ∂/∂w_i = sign(w_i)·s·sech²(s|w_i|)·A/T, s = 0.6585/|w|_(⌊κN⌋), T = Σtanh(s|w|), A = Σ|w|",
                 reference: "HyperSparse Neural Networks: Shifting Exploration to Exploitation through Adaptive Regularization (Glandorf, Kaiser, Rosenhahn 2023)",
                 notes: "Value reports 0 (catalogue README); the gradient equals that of the surrogate A(w0)·T(w)/T(w0) "
                    + "at w0 with s fixed (tested). Global: concatenate all prunable weights. s guard max(a, 1e-12). "
                    + "ART schedule is the caller's (strength per epoch, λ_init = 5e-6 the default).",
                 strength: 5e-6, params: [.real("kappa", 0.9, min: 0, max: 1, "target pruning rate κ")],
                 check: CheckSpec(skipGradient: "value is 0 by construction; the gradient is checked against the surrogate A(w0)·T(w)/T(w0) in PruningTests"),
                 examples: [
                    WorkedExample("κ=0.5", params: "kappa=0.5", x: w0, shape: [2, 2], value: 0,
                                  gradient: [0.872372, -0.327124, 1.176388, 0]),
                    WorkedExample("κ=0.9", x: w0, shape: [2, 2], value: 0,
                                  gradient: [0.978826, -0.725866, 1.059842, 0]),
                 ]) { HyperSparse(kappa: try $0.real("kappa")) },
        .penalty("relevance_decay", family: "pruning",
                 summary: "relevance-weighted decay Σ exp(−|g|/α)·w² with g the task gradient (Bonetta et al.)",
                 formula: "R = Σ exp(−|g|/α) w²; ∇R = 2 exp(−|g|/α) w; prox = v/(1 + 2t exp(−|g|/α))",
                 reference: "Regularization-based Pruning of Irrelevant Weights in Deep Neural Architectures (Bonetta, Ribero, Cancelliere 2022)",
                 notes: "task_grad is held constant (the code detaches it). γ decay and pruning rounds are the training loop's.",
                 strength: 1e-5, params: [.real("alpha", 1, min: 0, minOpen: true, "α, the relevance scale")],
                 inputs: [InputSpec("task_grad", "∂L_task/∂W of the current batch, same shape as W")],
                 prox: true,
                 check: CheckSpec(sample: { rng, shape in
                    let x = NDArray<Double>(shape: shape), g = NDArray<Double>(shape: shape)
                    for i in 0..<x.count { x[i] = rng.normal(); g[i] = rng.normal() }
                    return Sample(x: x, inputs: ["task_grad": .real(shape: shape, values: g.values)])
                 }),
                 examples: [
                    WorkedExample("α=1", x: w0, shape: [2, 2],
                                  inputs: ["task_grad": .real(shape: [2, 2], values: [0.1, 0.9, 0.05, 0.3])],
                                  value: 2.768923, gradient: [1.809675, -1.626279, 0.951229, 0]),
                    WorkedExample("α=0.1", params: "alpha=0.1", x: w0, shape: [2, 2],
                                  inputs: ["task_grad": .real(shape: [2, 2], values: [0.1, 0.9, 0.05, 0.3])],
                                  value: 0.520006, gradient: [0.735759, -0.000494, 0.606531, 0]),
                 ]) { RelevanceDecay(alpha: try $0.real("alpha")) },
        .penalty("flops", family: "pruning",
                 summary: "SPLADE FLOPS regulariser on activations: Σ_j (mean_i |a_ij|)²",
                 formula: "ā_j = (1/B)Σ_i|a_ij|; ℓ = Σ_j ā_j²; ∂ℓ/∂a_ij = (2/B) ā_j sign(a_ij)",
                 reference: "SPLADE: Sparse Lexical and Expansion Model for First Stage Ranking (Formal, Piwowarski, Clinchant 2021)",
                 notes: "Activations (batch, dims): rows along the last axis, rank-1 = one row. The quadratic warm-up "
                    + "min(1, (t/T)²), T = 50000, is FLOPS.rampFactor, applied by the caller to strength.",
                 strength: 1e-3,
                 examples: [WorkedExample("W0 as 2 activation rows", x: w0, shape: [2, 2], value: 1.5625,
                                          gradient: [0.75, -1, 0.75, 0])]) { _ in FLOPS() },
    ]
}
