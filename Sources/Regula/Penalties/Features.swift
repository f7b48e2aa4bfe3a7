// Regula — penalties on latent / feature batches: Least Volume and RIDG's rationale invariance.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Reads the `labels` input: one non-negative integer per row.
func sampleLabels(_ inputs: Inputs, rows: Int) throws -> [Int] {
    let (shape, y) = try inputs.index("labels")
    guard y.count == rows else { throw RegulaError.shape("'labels' \(shape) hold \(y.count) values for \(rows) rows") }
    if let i = y.firstIndex(where: { $0 < 0 }) {
        throw RegulaError.invalidArgument("label \(y[i]) at index \(i) is negative")
    }
    return y
}

/// Reads a real input whose values must be finite and ≥ 0 (weights, affinities, duals).
func nonNegativeInput(_ inputs: Inputs, _ name: String) throws -> (shape: [Int], values: [Double]) {
    let (shape, v) = try inputs.real(name)
    for (i, x) in v.enumerated() {
        guard x.isFinite else { throw RegulaError.nonFinite(what: "'\(name)'", index: i) }
        guard x >= 0 else { throw RegulaError.invalidArgument("'\(name)' must be ≥ 0 (index \(i) is \(x))") }
    }
    return (shape, v)
}

// MARK: least_volume

/// Least Volume: the geometric mean of the latent coordinates' standard deviations (offset by η),
/// which flattens the latent set onto few coordinates when the decoder is Lipschitz.
/// ```
/// s_j = sqrt( Σ_b (Z_bj − Z̄_j)² / (B − 1) + 1e-12 )          (unbiased std of coordinate j)
/// R   = exp( (1/m) Σ_j log(s_j + η) )                         (m = latent dims)
/// ∂R/∂Z_bj = R / (m (s_j + η)) · (Z_bj − Z̄_j) / ((B − 1) s_j)
/// ```
/// - Parameters: `eta` η > 0 (1, the reference `--eps`). Z is (B, m) along the last axis;
///   (…, m) flattens to rows. B ≥ 2.
/// - Reference: Chen & Fuge, "Least Volume Analysis", ICLR 2024; IDEALLab/Least_Volume_ICLR2024
///   `src/model/sparsity.py` (VolumeAE.loss_spar). Catalogue: penalties_matrix §11.
/// - Note: the method assumes a Lipschitz decoder (the reference uses spectral normalisation);
///   that is the caller's model, not part of R. README decision: η > 0 (η = 0 is log 0).
/// - Stability: 1e-12 inside the square root keeps ∂s/∂Z finite for a constant coordinate (its
///   gradient is then exactly 0); R = exp(mean log) avoids the product's under/overflow.
public struct LeastVolume: Penalty {
    public static let id = "least_volume"
    public let eta: Double
    public init(eta: Double = 1) { self.eta = eta }

    public func valueAndGradient(_ z: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (b, m) = z.lastAxis
        guard b >= 2 else { throw RegulaError.shape("least_volume needs a batch of at least 2 rows (got \(b))") }
        if m == 0 { return scale }   // exp of an empty mean: R = 1
        var mean = [Double](repeating: 0, count: m), s = mean
        for i in 0..<b { for j in 0..<m { mean[j] += z[i * m + j] } }
        for j in 0..<m { mean[j] /= Double(b) }
        for i in 0..<b { for j in 0..<m { let d = z[i * m + j] - mean[j]; s[j] += d * d } }
        var logSum = 0.0
        for j in 0..<m {
            s[j] = (s[j] / Double(b - 1) + 1e-12).squareRoot()   // guard: s_j > 0 even for a constant column
            logSum += log(s[j] + eta)
        }
        let r = exp(logSum / Double(m))
        for j in 0..<m {
            let f = scale * r / (Double(m) * (s[j] + eta)) / (Double(b - 1) * s[j])
            for i in 0..<b { g[i * m + j] = f * (z[i * m + j] - mean[j]) }
        }
        return scale * r
    }
}

// MARK: rationale_invariance

/// RIDG rationale invariance: every sample's rationale matrix (the element-wise contributions of
/// its features to each logit) is pulled towards its class's memory-bank rationale.
/// ```
/// R_i[k, d] = W_cls[k, d] · z_i[d]                         (K × D, no bias)
/// per class c in the batch (before the loss, detached):
///     R̄_c = mean_{i: y_i = c} R_i;   M_c ← R̄_c (first time c is seen), else (1 − m) M_c + m R̄_c
/// L = Σ_{c in batch} (1/(K n_c)) Σ_{i: y_i = c} Σ_k ‖R_i[k, :] − M_c[k, :]‖²
/// ∂L/∂z_i = (2/(K n_c)) Σ_k W_cls[k, :] ⊙ (R_i[k, :] − M_c[k, :])       (bank held constant)
/// ```
/// - Parameters: `momentum` m ∈ (0, 1] (0.001); inputs `labels` (B,) and `classifier` W_cls (K, D).
///   Z is (B, D) along the last axis.
/// - Reference: Chen et al., "Domain Generalization via Rationale Invariance", ICCV 2023;
///   liangchen527/RIDG `domainbed/algorithms.py` (RIDG.update), `hparams_registry.py`.
///   Catalogue: penalties_matrix §18.
/// - State: the memory bank lives in the instance and is updated on **every** evaluation (one
///   evaluation = one training step, as `RIDG.update`); a fresh instance has an empty bank, so a
///   class seen for the first time contributes its within-class spread only. momentum = 1 makes
///   the bank the batch mean (stateless); the state update `reset=true` empties it. The bank's
///   arrays are not exported for checkpoints (the state API takes scalars only).
/// - Note: the classifier is an input, not construction data: it is trained jointly and changes
///   every step. The gradient returned is ∂L/∂Z only; ∂L/∂W_cls (Σ_c (2/(K n_c)) Σ_i z_i ⊙ (R_i − M_c))
///   is not returned by the penalty API.
public final class RationaleInvariance: Penalty, Stateful, @unchecked Sendable {
    public static let id = "rationale_invariance"
    public let momentum: Double
    private let lock = Mutex()
    private var bank: [Int: [Double]] = [:]
    private var bankShape: (Int, Int)? = nil

    public init(momentum: Double = 0.001) { self.momentum = momentum }

    /// The bank of a class (K·D row-major), nil before the class is seen.
    public func bankEntry(_ label: Int) -> [Double]? { lock.locked { bank[label] } }

    /// State update `reset=true` empties the memory bank (a new training run or domain split).
    public func update(_ values: [String: ParamValue]) throws {
        if values["reset"] == .bool(true) { lock.locked { bank = [:]; bankShape = nil } }
    }

    public func valueAndGradient(_ z: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (b, d) = z.lastAxis
        let y = try sampleLabels(inputs, rows: b)
        let (ws, w) = try inputs.real("classifier")
        guard ws.count == 2, ws[1] == d else {
            throw RegulaError.shape("'classifier' has shape \(ws), expected (classes, \(d))")
        }
        if let i = w.firstIndex(where: { !$0.isFinite }) { throw RegulaError.nonFinite(what: "'classifier'", index: i) }
        let k = ws[0], kd = k * d
        for i in 0..<g.count { g[i] = 0 }
        if b == 0 || kd == 0 { return 0 }
        // Per class: n_c and the mean feature z̄_c (R̄_c = W ⊙ z̄_c, since R_i is linear in z_i).
        var members: [Int: [Int]] = [:]
        for (i, c) in y.enumerated() { members[c, default: []].append(i) }
        return try lock.locked {
            if let shape = bankShape, shape != (k, d) {
                throw RegulaError.shape("'classifier' changed shape from \(shape) to (\(k), \(d)) during training")
            }
            bankShape = (k, d)
            var total = 0.0
            for c in members.keys.sorted() {
                let rows = members[c]!
                let nc = Double(rows.count)
                var zbar = [Double](repeating: 0, count: d)
                for i in rows { for j in 0..<d { zbar[j] += z[i * d + j] } }
                for j in 0..<d { zbar[j] /= nc }
                var rbar = [Double](repeating: 0, count: kd)
                for r in 0..<k { for j in 0..<d { rbar[r * d + j] = w[r * d + j] * zbar[j] } }
                // Memory-bank update before the loss (detached).
                var mc = rbar
                if let old = bank[c] { for q in 0..<kd { mc[q] = (1 - momentum) * old[q] + momentum * rbar[q] } }
                bank[c] = mc
                let f = 1 / (Double(k) * nc)
                for i in rows {
                    for j in 0..<d {
                        let zij = z[i * d + j]
                        var gj = 0.0
                        for r in 0..<k {
                            let diff = w[r * d + j] * zij - mc[r * d + j]
                            total += f * diff * diff
                            gj += w[r * d + j] * diff
                        }
                        g[i * d + j] = scale * 2 * f * gj
                    }
                }
            }
            return scale * total
        }
    }
}

// MARK: Registration

extension Registry {
    /// Features with labels in 0..<3 and a random classifier (3 × D) for the checks.
    @Sendable static func rationaleSample(_ rng: inout RNG, _ shape: [Int]) -> Sample {
        let x = NDArray<Double>(shape: shape)
        for i in 0..<x.count { x[i] = rng.normal() }
        let (b, d) = x.tensor.lastAxis
        let y = (0..<b).map { _ in rng.below(3) }
        let w = (0..<3 * d).map { _ in rng.normal() }
        return Sample(x: x, inputs: ["labels": .index(shape: [b], values: y), "classifier": .real(shape: [3, d], values: w)])
    }

    static let features: [Entry] = [
        .penalty("least_volume", family: "features", summary: "Least Volume: geometric mean of the latent standard deviations (+η)",
                 formula: "R = exp((1/m) Σ_j log(s_j + η)), s_j = unbiased std of column j; ∂R/∂Z_bj = R/(m(s_j+η)) · (Z_bj − Z̄_j)/((B−1)s_j)",
                 reference: "Least Volume Analysis (Chen & Fuge, ICLR 2024); IDEALLab/Least_Volume_ICLR2024 src/model/sparsity.py",
                 notes: "README decision: η > 0 (default 1 = reference --eps). s_j = sqrt(var_j + 1e-12) keeps a constant coordinate's gradient finite (0). B < 2 is an error. Assumes a Lipschitz (spectrally normalised) decoder; not part of R.",
                 strength: 1e-4, params: [.real("eta", 1, min: 0, minOpen: true, "η, offset of every standard deviation")],
                 check: CheckSpec(shapes: [[4, 5], [6, 2], [3, 2, 2]]),
                 examples: [
                    WorkedExample("η = 1", x: [0, 1, 1, 1, 2, 1, 3, 1.2], shape: [4, 2], value: 1.587480),
                    WorkedExample("η = 1 gradient (row 4 = (0.134184, 0.360791))", x: [0, 1, 1, 1, 2, 1, 3, 1.2], shape: [4, 2],
                                  gradient: [-0.134184, -0.120264, -0.044728, -0.120264, 0.044728, -0.120264, 0.134184, 0.360791]),
                    WorkedExample("η → 0 reference value 0.359304 (η = 1e-9)", params: "eta=1e-9", x: [0, 1, 1, 1, 2, 1, 3, 1.2], shape: [4, 2],
                                  value: 0.359304),
                 ]) { LeastVolume(eta: try $0.real("eta")) },
        .penalty("rationale_invariance", family: "features",
                 summary: "RIDG: per-sample rationales W_cls ⊙ z_i pulled to a momentum memory bank per class",
                 formula: "L = Σ_c (1/(K n_c)) Σ_{i∈c} ‖W ⊙ z_i − M_c‖²_F, M_c ← (1−m)M_c + m mean_{i∈c}(W ⊙ z_i) before the loss",
                 reference: "Domain Generalization via Rationale Invariance (Chen et al., ICCV 2023); liangchen527/RIDG domainbed/algorithms.py",
                 notes: "Classifier W_cls (K, D) is a per-call input (trained jointly, changes every step), not construction data; labels a per-call input. The memory bank is instance state updated on every evaluation (= one RIDG.update step), detached; momentum=1 makes it stateless; update reset=true empties it. Only ∂L/∂Z is returned. ridg_reg = 0.01 is the strength default.",
                 strength: 0.01,
                 params: [.real("momentum", 0.001, min: 0, max: 1, minOpen: true, "bank momentum m")],
                 inputs: [InputSpec("labels", "class label per row (B,), ≥ 0"),
                          InputSpec("classifier", "linear classifier weight W_cls (K, D), no bias")],
                 state: [.bool("reset", false, "true empties the memory bank")],
                 check: CheckSpec(shapes: [[6, 4], [5, 3], [2, 3, 2]], sample: rationaleSample),
                 examples: [
                    WorkedExample("fresh bank", x: [1, 2, 0, 3, 0, 1, 0, 1, 1], shape: [3, 3],
                                  inputs: ["labels": .index(shape: [3], values: [0, 0, 1]),
                                           "classifier": .real(shape: [2, 3], values: [1, 0, 2, 0, 1, -1])],
                                  value: 1.625, gradient: [-0.5, 0.5, -1.25, 0.5, -0.5, 1.25, 0, 0, 0]),
                 ]) { RationaleInvariance(momentum: try $0.real("momentum")) },
    ]
}
