// Regula — entropy regularizers on logits: confidence penalty (per row), Happy's soft entropy and
// marginal entropy maximisation (batch-coupled, on the batch-mean prediction).

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Confidence penalty: cross-entropy minus β times the prediction entropy.
/// ```
/// ℓ_i = CE_i − β H(p_i),  H(p) = −Σ_k p_k log p_k,  log p = z − LSE(z)
/// ∂ℓ_i/∂z_i = p_i − t_i + β p_i ⊙ (log p_i + H(p_i))
/// ```
/// - Parameters: `beta` β ≥ 0 (default 0.1, a Regula choice: the paper tunes β per task).
///   Labels or probability targets.
/// - Stability: `p·(z − LSE)` with the max-shifted LSE; an underflowed p_k = 0 contributes exactly 0.
/// - Reference: Pereyra, Tucker, Chorowski, Kaiser, Hinton, "Regularizing Neural Networks by
///   Penalizing Confident Output Distributions", 2017. Catalogue: losses §5a.
public struct ConfidencePenalty: RowLoss {
    public static let id = "confidence_penalty"
    public let beta: Double
    public init(beta: Double = 0.1) { self.beta = beta }


    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let (ce, lse) = crossEntropyRow(z, classes: k, target: target, index: i, p: p, g: g)
        var h = 0.0
        for c in 0..<k { h -= p[c] * (z[c] - lse) }  // log p = z − LSE: finite even where p underflows
        for c in 0..<k { g[c] += beta * p[c] * (z[c] - lse + h) }
        return (ce - beta * h, 1)
    }
}

// MARK: Batch-mean entropy regularizers

/// What a regularizer of the batch-mean prediction p̄ contributes: its value and G = ∂R/∂p̄.
protocol MeanPredictionRegularizer: Loss {
    var tau: Double { get }
    func check(classes: Int) throws
    /// R(p̄), with ∂R/∂p̄ written into `grad`.
    func regularizer(_ mean: [Double], grad: inout [Double]) -> Double
}

/// x log x with 0 log 0 = 0.
@inline(__always) func xlogx(_ x: Double) -> Double { x > 0 ? x * log(x) : 0 }
/// log x clamped at 1e-30 (p̄_c can underflow to 0; the matching p_ik are then 0 too).
@inline(__always) func safeLog(_ x: Double) -> Double { log(Swift.max(x, 1e-30)) }

extension MeanPredictionRegularizer {
    /// The batch term: p_i = softmax(z_i/τ), p̄ = mean_i p_i, R(p̄), and
    /// ∂R/∂z_ik = (1/(Bτ)) p_ik (G_k − Σ_c p_ic G_c). The target is not used (it may be omitted).
    /// The value is the batch term itself (reduction `mean` only); each per-sample slot holds R/B.
    public func evaluate(_ z: Tensor<Double>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Double>) throws -> Double {
        let (rows, k) = z.lastAxis
        guard rows > 0 else { throw RegulaError.invalidArgument("mean over an empty batch") }
        try check(classes: k)
        let probs = NDArray<Double>(shape: [rows, k])
        var scaled = [Double](repeating: 0, count: k), mean = [Double](repeating: 0, count: k)
        for i in 0..<rows {
            let zi = z.data + i * k, pi = probs.storage.baseAddress! + i * k
            for c in 0..<k { scaled[c] = zi[c] / tau }  // τ = 0.1 amplifies logits 10×: softmax is max-shifted
            _ = Kernels.softmax(scaled, count: k, into: pi)
            for c in 0..<k { mean[c] += pi[c] }
        }
        let invB = 1 / Double(rows)
        for c in 0..<k { mean[c] *= invB }
        var G = [Double](repeating: 0, count: k)
        let r = regularizer(mean, grad: &G)
        let scale = invB / tau
        for i in 0..<rows {
            let pi = probs.storage.baseAddress! + i * k, gi = g.data + i * k
            var dot = 0.0
            for c in 0..<k { dot += pi[c] * G[c] }
            for c in 0..<k { gi[c] = scale * pi[c] * (G[c] - dot) }
        }
        for i in 0..<rows { perSample[i] = r * invB }
        return r
    }
}

/// Checks that a batch-coupled loss is reduced with `mean` (its value is a batch statistic).
func requireMeanReduction(_ p: Params, _ id: String) throws {
    let r: Reduction = try p.choice("reduction")
    guard r == .mean else {
        throw RegulaError.invalidParameter(name: "reduction", value: r.rawValue,
                                           reason: "'\(id)' is a batch-level term (a function of the batch-mean prediction); only reduction=mean")
    }
}

/// Marginal (mean-prediction) entropy maximisation, the offline-session "me-max" term of Happy.
/// ```
/// p_i = softmax(z_i/τ), p̄ = (1/B) Σ_i p_i,  R = log K + Σ_c p̄_c log p̄_c   (= log K − H(p̄) ≥ 0)
/// ∂R/∂z_ik = (1/(Bτ)) p_ik (G_k − Σ_c p_ic G_c),  G_c = log p̄_c
/// ```
/// - Parameters: `tau` τ > 0 (0.1: the official code divides the logits by 0.1). Logits only; a
///   target is ignored. Batch-coupled: reduction `mean` only.
/// - Stability: 0 log 0 = 0 in the value; log clamped at 1e-30 in G (those classes carry p = 0).
/// - Reference: Ma et al., "Happy: A Debiased Learning Framework for Continual Generalized Category
///   Discovery", NeurIPS 2024; mashijie1028/Happy-CGCD `train_happy.py` (offline memax). Catalogue: losses §5b.
public struct MarginalEntropyMax: MeanPredictionRegularizer {
    public static let id = "marginal_entropy_max"
    public let tau: Double
    public init(tau: Double = 0.1) { self.tau = tau }

    func check(classes: Int) throws {}

    func regularizer(_ mean: [Double], grad: inout [Double]) -> Double {
        var r = log(Double(mean.count))
        for c in mean.indices { r += xlogx(mean[c]); grad[c] = safeLog(mean[c]) }  // the +1 of d(x log x) cancels
        return r
    }
}

/// Happy's soft entropy regularization (online sessions of continual category discovery): the
/// old/new split of the batch-mean prediction and the spread inside each group.
/// ```
/// P_old = Σ_{c<C_old} p̄_c, P_new = 1 − P_old, q = p̄_old/P_old, r = p̄_new/P_new
/// R = w_on (P_old log P_old + P_new log P_new + log 2) + w_old (log C_old + Σ q log q) + w_new (log C_new + Σ r log r)
/// G_c = w_on log P_group(c) + w_group (log q_c − Σ q log q)/P_group     (q → r on new classes)
/// ∂R/∂z_ik = (1/(Bτ)) p_ik (G_k − Σ_c p_ic G_c)
/// ```
/// - Parameters: `c_old` C_old ≥ 1 (required; first C_old columns are old classes, C_old < K);
///   `tau` τ > 0 (0.1); `w_on` (memax_old_new_weight, 2), `w_old` (memax_old_in_weight, 1),
///   `w_new` (memax_new_in_weight, 1), all ≥ 0. The R_new term is 0 when C_new = 1 (as the official
///   code). Logits only; batch-coupled: reduction `mean` only.
/// - Stability: as `marginal_entropy_max`.
/// - Reference: Ma et al., "Happy: A Debiased Learning Framework for Continual Generalized Category
///   Discovery", NeurIPS 2024; mashijie1028/Happy-CGCD `train_happy.py` (online loop). Catalogue: losses §5b.
public struct HappySoftEntropy: MeanPredictionRegularizer {
    public static let id = "happy_soft_entropy"
    public let tau: Double, cOld: Int, wOn: Double, wOld: Double, wNew: Double
    public init(cOld: Int, tau: Double = 0.1, wOn: Double = 2, wOld: Double = 1, wNew: Double = 1) {
        self.cOld = cOld; self.tau = tau; self.wOn = wOn; self.wOld = wOld; self.wNew = wNew
    }

    func check(classes: Int) throws {
        guard cOld < classes else {
            throw RegulaError.invalidArgument("happy_soft_entropy: c_old = \(cOld) needs at least \(cOld + 1) classes (got \(classes))")
        }
    }

    func regularizer(_ mean: [Double], grad: inout [Double]) -> Double {
        let k = mean.count
        let groups = [0..<cOld, cOld..<k], weights = [wOld, wNew]
        var r = wOn * log(2.0)
        for (group, w) in zip(groups, weights) {
            var mass = 0.0
            for c in group { mass += mean[c] }
            r += wOn * xlogx(mass)
            // Σ q log q with q = p̄/mass (a group whose mass underflowed to 0 contributes 0).
            var entropySum = 0.0
            for c in group { entropySum += xlogx(mean[c] / Swift.max(mass, 1e-300)) }
            if group.count > 1 { r += w * (log(Double(group.count)) + entropySum) }
            let logMass = safeLog(mass)
            for c in group {
                grad[c] = wOn * logMass  // the +1 of d(x log x) cancels in G_k − Σ p G
                if group.count > 1 {
                    grad[c] += w * (safeLog(mean[c] / Swift.max(mass, 1e-300)) - entropySum) / Swift.max(mass, 1e-300)
                }
            }
        }
        return r
    }
}

extension Registry {
    static let entropyRegularizers: [Entry] = [
        .loss("confidence_penalty", family: "entropy",
              summary: "confidence penalty: cross-entropy minus β times the entropy of the prediction",
              formula: "ℓ = CE − β H(p); ∂ℓ/∂z = p − t + β p ⊙ (log p + H(p))",
              reference: "Regularizing Neural Networks by Penalizing Confident Output Distributions (Pereyra et al. 2017)",
              notes: "β default 0.1 is a Regula choice (the paper tunes β per task; catalogue §5a).",
              params: [.real("beta", 0.1, min: 0, "β, weight of the entropy bonus")],
              examples: [
                WorkedExample("β=0.1", x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0.277626, gradient: [-0.268879, 0.243015, 0.025865]),
              ]) { p in ConfidencePenalty(beta: try p.real("beta")) },
        .loss("happy_soft_entropy", family: "entropy",
              summary: "Happy soft entropy: old/new split entropy and in-group entropies of the batch-mean prediction (batch-coupled)",
              formula: "R = w_on(Σ_g P_g log P_g + log 2) + w_old(log C_old + Σ q log q) + w_new(log C_new + Σ r log r), p̄ = mean softmax(z/τ)",
              reference: "Happy: A Debiased Learning Framework for Continual Generalized Category Discovery (Ma et al., NeurIPS 2024)",
              notes: "Defaults from train_happy.py (τ = 0.1, weights 2/1/1). Batch-coupled: reduction=mean only; per-sample slots hold R/B; "
                + "the target is ignored. R_new = 0 when C_new = 1 (official code).",
              target: "none (ignored)",
              params: [.int("c_old", nil, min: 1, "C_old, number of old classes (first columns; required)"),
                       .real("tau", 0.1, min: 0, minOpen: true, "τ, softmax temperature"),
                       .real("w_on", 2, min: 0, "weight of the old/new split term (memax_old_new_weight)"),
                       .real("w_old", 1, min: 0, "weight of the old in-group term (memax_old_in_weight)"),
                       .real("w_new", 1, min: 0, "weight of the new in-group term (memax_new_in_weight)")],
              check: CheckSpec(shapes: [[4, 5], [2, 3], [6, 4]], params: "c_old=2,tau=1",
                               sample: logitsOnlySample(scale: 1)),
              examples: [
                WorkedExample("τ=0.1, C_old=2", params: "c_old=2", x: [2, 1, -1, 0.5, 0.2, 0.1], shape: [2, 3],
                              value: 1.869281,
                              gradient: [0.000853, -0.000853, 0, 1.589728, -0.796669, -0.793058]),
              ]) { p in
            try requireMeanReduction(p, "happy_soft_entropy")
            guard let c = p.optionalInt("c_old") else {
                throw RegulaError.invalidParameter(name: "c_old", value: "unset", reason: "the number of old classes is required")
            }
            return HappySoftEntropy(cOld: c, tau: try p.real("tau"), wOn: try p.real("w_on"),
                                    wOld: try p.real("w_old"), wNew: try p.real("w_new"))
        },
        .loss("marginal_entropy_max", family: "entropy",
              summary: "marginal entropy maximisation: log K minus the entropy of the batch-mean prediction (batch-coupled)",
              formula: "R = log K + Σ_c p̄_c log p̄_c, p̄ = mean_i softmax(z_i/τ); ∂R/∂z_ik = p_ik(G_k − p_i·G)/(Bτ), G = log p̄",
              reference: "Happy: A Debiased Learning Framework for Continual Generalized Category Discovery (Ma et al., NeurIPS 2024)",
              notes: "Offline me-max term of train_happy.py (τ = 0.1, weight 1). Batch-coupled: reduction=mean only; "
                + "per-sample slots hold R/B; the target is ignored.",
              target: "none (ignored)",
              params: [.real("tau", 0.1, min: 0, minOpen: true, "τ, softmax temperature")],
              check: CheckSpec(params: "tau=1", sample: logitsOnlySample(scale: 1)),
              examples: [
                WorkedExample("τ=0.1", x: [2, 1, -1, 0.5, 0.2, 0.1], shape: [2, 3], value: 0.938748),
              ]) { p in
            try requireMeanReduction(p, "marginal_entropy_max")
            return MarginalEntropyMax(tau: try p.real("tau"))
        },
    ]
}

/// A check sample for losses on logits only: scaled standard-normal logits, no target.
func logitsOnlySample(scale: Double) -> @Sendable (inout RNG, [Int]) -> Sample {
    { rng, shape in
        let x = NDArray<Double>(shape: shape)
        for i in 0..<x.count { x[i] = scale * rng.normal() }
        return Sample(x: x)
    }
}
