// Regula — label-smoothing relatives of cross-entropy: TSLA (stateful schedule), MaxSup, ACLS.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Plain softmax cross-entropy of one row against label y or a real target row t (no smoothing):
/// writes `p = softmax(z)` into `p` and `∂CE/∂z = (Σ_k t_k) p − t` into `g`; returns (CE, LSE).
/// The building block of the CE-plus-regularizer losses of this family.
func crossEntropyRow(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                     p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (ce: Double, lse: Double) {
    let lse = Kernels.softmax(z, count: k, into: p)  // max-shifted; log p = z − LSE, never log(p)
    if let labels = target.labels {
        let y = labels[i]
        for c in 0..<k { g[c] = p[c] }
        g[y] -= 1
        return (lse - z[y], lse)
    }
    let t = target.reals!, base = i * k
    var ce = 0.0, mass = 0.0
    for c in 0..<k { ce += t[base + c] * (lse - z[c]); mass += t[base + c] }
    for c in 0..<k { g[c] = mass * p[c] - t[base + c] }
    return (ce, lse)
}

/// A training counter (epoch or step) that `update` sets and `evaluate` reads, from any thread.
final class Counter: @unchecked Sendable {
    private let lock = Mutex()
    private var v: Int
    init(_ v: Int = 0) { self.v = v }
    var value: Int { lock.locked { v } }
    /// Applies `name=N` from a validated state update, when present.
    func apply(_ values: [String: ParamValue], _ name: String) {
        if case .int(let n)? = values[name] { lock.locked { v = n } }
    }
}

/// A stateful loss evaluated through a row loss built from a snapshot of its state, taken once
/// per call (so one evaluation never mixes two states, and the rows may run on several threads).
public protocol SnapshotLoss: Loss {
    associatedtype Rows: RowLoss
    /// The row loss for the current state and a batch of `rows` rows.
    func snapshot(rows: Int) -> Rows
}

extension SnapshotLoss {
    public func evaluate(_ z: Tensor<Double>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Double>) throws -> Double {
        try snapshot(rows: z.lastAxis.rows).evaluate(z, target: target, inputs, reduction: reduction,
                                                     perSample: perSample, into: g)
    }
    public func evaluate(_ z: Tensor<Float>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Float>) throws -> Double {
        try snapshot(rows: z.lastAxis.rows).evaluate(z, target: target, inputs, reduction: reduction,
                                                     perSample: perSample, into: g)
    }
}

// MARK: TSLA

/// Two-Stage LAbel smoothing (TSLA): label smoothing θ for the first T1 epochs, one-hot after.
/// ```
/// ε(e) = θ if e < T1 else 0;   ℓ_i = −Σ_k t'_ik (z_ik − LSE(z_i)),  t' = (1 − ε(e))·t + ε(e)/K
/// ∂ℓ_i/∂z_i = p_i − t'_i
/// ```
/// - Parameters: `theta` θ ∈ [0, 1] (default 0.1, a Regula choice: the paper sweeps θ);
///   `t1` T1 ≥ 0, the epoch at which smoothing stops (required: the paper gives no default).
///   State: `epoch` (≥ 0), set through `update("epoch=3")` / `rg_loss_update`; T1 is in the same
///   unit as the counter the caller advances (epochs in the paper's experiments, iterations in its
///   theory). Labels (with torch's ignore index −100) or probability targets, as
///   `softmax_cross_entropy`.
/// - Stability: as `softmax_cross_entropy` (float64 max-shifted LSE). The switch at T1 is a
///   deliberate discontinuity of the objective.
/// - Reference: Xu, Xu, Qian, Li, Jin, "Towards Understanding Label Smoothing", 2020.
///   Catalogue: losses §2.
public final class TwoStageLabelSmoothing: SnapshotLoss, Stateful, @unchecked Sendable {
    public static let id = "tsla_label_smoothing"
    public let theta: Double
    public let t1: Int
    private let counter: Counter

    public init(theta: Double = 0.1, t1: Int, epoch: Int = 0) {
        self.theta = theta; self.t1 = t1; self.counter = Counter(epoch)
    }

    public var epoch: Int { counter.value }
    /// ε at the current epoch.
    public var smoothing: Double { epoch < t1 ? theta : 0 }

    public func update(_ values: [String: ParamValue]) throws {
        counter.apply(values, "epoch")
    }

    public func snapshot(rows: Int) -> SoftmaxCrossEntropy { SoftmaxCrossEntropy(epsilon: smoothing) }
}

// MARK: MaxSup

/// The per-row MaxSup objective for one fixed α.
public struct MaxSupRows: RowLoss {
    public let alpha: Double
    public init(alpha: Double) { self.alpha = alpha }


    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
             scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let (ce, _) = crossEntropyRow(z, classes: k, target: target, index: i, p: p, g: g)
        var top = 0, mean = 0.0
        for c in 0..<k {
            if z[c] > z[top] { top = c }  // ties: the lowest index is the subgradient's argmax
            mean += z[c]
        }
        mean /= Double(k)
        let inv = alpha / Double(k)
        for c in 0..<k { g[c] -= inv }
        g[top] += alpha
        return (ce + alpha * (z[top] - mean), 1)  // linear in z: no overflow at 1e4
    }
}

/// Max Suppression (MaxSup): cross-entropy plus α times the gap between the top logit and the mean.
/// ```
/// ℓ_i = CE_i + α(e)·(max_k z_ik − (1/K) Σ_k z_ik)
/// ∂ℓ_i/∂z_i = p_i − t_i + α(e)·(e_{argmax_i} − 1/K)         (ties: lowest index)
/// α(e) = alpha (default), or with alpha_begin/alpha_end given:
/// α(s) = alpha_begin + (alpha_end − alpha_begin)·min(s, S)/S,  S = total_steps, s = state `step`
/// ```
/// - Parameters: `alpha` ≥ 0 (0.1); `alpha_begin`, `alpha_end` ≥ 0 (both or neither; they
///   override `alpha`); `total_steps` S ≥ 1 (required with the schedule). State: `step` ≥ 0.
///   Labels or probability targets (the CE part is plain cross-entropy, no smoothing).
/// - Decision: README decision — constant α by default; linear schedule over steps when both ends are
///   given. The schedule's form `begin + (end − begin)·s/S` is the official FFCV code's
///   (`Conv/ffcv/losses.py`, `MaxSuppression`, with `current_epoch/epochs`); beyond S it stays at alpha_end.
/// - Reference: Zhou et al., "MaxSup: Overcoming Representation Collapse in Label Smoothing", 2025;
///   ZhouYuxuanYX/Maximum-Suppression-Regularization. Catalogue: losses §3.
public final class MaxSup: SnapshotLoss, Stateful, @unchecked Sendable {
    public static let id = "maxsup"
    public let alpha: Double
    /// (begin, end, total steps) when the linear schedule is on.
    public let schedule: (begin: Double, end: Double, steps: Int)?
    private let counter = Counter()

    public init(alpha: Double = 0.1, schedule: (begin: Double, end: Double, steps: Int)? = nil) {
        self.alpha = alpha; self.schedule = schedule
    }

    public var step: Int { counter.value }
    /// α at the current step.
    public var currentAlpha: Double {
        guard let s = schedule else { return alpha }
        let frac = Double(Swift.min(step, s.steps)) / Double(s.steps)
        return s.begin + (s.end - s.begin) * frac
    }

    public func update(_ values: [String: ParamValue]) throws {
        counter.apply(values, "step")
    }

    public func snapshot(rows: Int) -> MaxSupRows { MaxSupRows(alpha: currentAlpha) }
}

// MARK: ACLS

/// Adaptive and Conditional Label Smoothing (ACLS): cross-entropy plus a margin regularizer on
/// the max logit (positive term) and on the gaps to the max (negative term, max detached).
/// ```
/// m_i = max_k z_ik, 1⁺_ik = [z_ik == m_i]
/// ℓ_i = CE_i + α·(λ1 Σ_k 1⁺_ik ReLU(m_i − M)² + λ2/(K−1) Σ_k (1 − 1⁺_ik) ReLU(sg(m_i) − z_ik − M)²)
/// ∂ℓ_i/∂z_ik = p_ik − t_ik + 2αλ1 ReLU(m_i − M)            (k a maximum)
///            = p_ik − t_ik − 2αλ2 ReLU(m_i − z_ik − M)/(K−1) (otherwise; no gradient through sg(m_i))
/// ```
/// The mean over the batch of ℓ_i equals the official `CE + α·reg` with its normalisers B and
/// B(K−1), so the loss is row-separable and `sum`/`none` reduce these ℓ_i.
/// - Parameters: `pos_lambda` λ1 ≥ 0 (1.0), `neg_lambda` λ2 ≥ 0 (0.1), `alpha` ≥ 0 (0.1),
///   `margin` M ≥ 0 (10.0) — the official class defaults (configs/loss/acls.yaml).
/// - Decisions: ties for the max: every tied entry is "positive" (the official indicator) and each
///   gets its own positive-term gradient; K = 1 has no negative entries (term 0, where the official
///   code divides 0 by 0).
/// - Stability: polynomial in z; at |z| ~ 1e4 the regularizer is ~1e8, finite.
/// - Reference: Park et al., "ACLS: Adaptive and Conditional Label Smoothing for Network
///   Calibration", ICCV 2023; cvlab-yonsei/ACLS `calibrate/losses/acls.py`. Catalogue: losses §4.
public struct ACLS: RowLoss {
    public static let id = "acls"
    public let posLambda: Double, negLambda: Double, alpha: Double, margin: Double

    public init(posLambda: Double = 1, negLambda: Double = 0.1, alpha: Double = 0.1, margin: Double = 10) {
        self.posLambda = posLambda; self.negLambda = negLambda; self.alpha = alpha; self.margin = margin
    }


    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let (ce, _) = crossEntropyRow(z, classes: k, target: target, index: i, p: p, g: g)
        var m = -Double.infinity
        for c in 0..<k { m = Swift.max(m, z[c]) }
        let negScale = k > 1 ? negLambda / Double(k - 1) : 0
        var reg = 0.0
        for c in 0..<k {
            if z[c] == m {
                let r = Swift.max(m - margin, 0)
                reg += posLambda * r * r
                g[c] += alpha * posLambda * 2 * r
            } else {
                let d = Swift.max(m - z[c] - margin, 0)
                reg += negScale * d * d
                g[c] -= alpha * negScale * 2 * d
            }
        }
        return (ce + alpha * reg, 1)
    }
}

extension Registry {
    static let labelSmoothing: [Entry] = [
        .loss("tsla_label_smoothing", family: "label_smoothing",
              summary: "two-stage label smoothing: smoothing θ before epoch T1, one-hot cross-entropy after (stateful)",
              formula: "ε(e) = θ if e < T1 else 0; ℓ = −Σ_k t'_k (z_k − LSE(z)), t' = (1−ε)t + ε/K; ∂ℓ/∂z = p − t'",
              reference: "Towards Understanding Label Smoothing (Xu et al. 2020)",
              confidence: "high (schedule) / low (defaults)",
              notes: "θ default 0.1 is a Regula choice and T1 is required (the paper sweeps both; catalogue §2). "
                + "The counter is the state `epoch`, advanced by the caller with update(\"epoch=N\").",
              params: [.real("theta", 0.1, min: 0, max: 1, "θ, label smoothing in the first stage"),
                       .int("t1", nil, min: 0, "T1, the epoch at which smoothing switches off (required)")],
              state: [.int("epoch", 0, min: 0, "current epoch (or step) counter")],
              check: CheckSpec(params: "t1=2"),
              examples: [
                WorkedExample("e < T1", params: "theta=0.1,t1=5", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.482346,
                              gradient: [-0.227949, 0.226163, 0.001786]),
                WorkedExample("e ≥ T1 (T1 = 0)", params: "theta=0.1,t1=0", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.349012,
                              gradient: [-0.294615, 0.259496, 0.035119]),
              ]) { p in
            guard let t1 = p.optionalInt("t1") else {
                throw RegulaError.invalidParameter(name: "t1", value: "unset", reason: "TSLA needs the switch epoch t1 (no default)")
            }
            return TwoStageLabelSmoothing(theta: try p.real("theta"), t1: t1)
        },
        .loss("maxsup", family: "label_smoothing",
              summary: "Max Suppression: cross-entropy plus α (max logit − mean logit); optional linear α schedule over steps",
              formula: "ℓ = CE + α(max_k z_k − mean_k z_k); ∂ℓ/∂z = p − t + α(e_argmax − 1/K)",
              reference: "MaxSup: Overcoming Representation Collapse in Label Smoothing (Zhou et al. 2025)",
              notes: "Constant alpha by default (README decision). With alpha_begin and alpha_end (both) the schedule is "
                + "alpha_begin + (alpha_end − alpha_begin)·min(step, total_steps)/total_steps (official FFCV MaxSuppression form); "
                + "state `step`. Ties for the max: lowest index.",
              params: [.real("alpha", 0.1, min: 0, "α, constant weight of the max-minus-mean term"),
                       .real("alpha_begin", nil, min: 0, "schedule start (with alpha_end)"),
                       .real("alpha_end", nil, min: 0, "schedule end (with alpha_begin)"),
                       .int("total_steps", nil, min: 1, "schedule length S (required with the schedule)")],
              state: [.int("step", 0, min: 0, "current step of the α schedule")],
              examples: [
                WorkedExample("α=0.1, y=0 (equals LS)", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.482346,
                              gradient: [-0.227949, 0.226163, 0.001786]),
                WorkedExample("α=0.1, y=1", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [1]), value: 1.482346,
                              gradient: [0.772051, -0.773837, 0.001786]),
                WorkedExample("schedule at step 0 = alpha_begin", params: "alpha_begin=0.1,alpha_end=0.2,total_steps=10",
                              x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [1]), value: 1.482346),
                WorkedExample("1e4 logits", x: [1e4, 0, -1e4], shape: [1, 3],
                              target: .index(shape: [1], values: [2]), value: 21000,
                              gradient: [1 + 0.1 - 0.1 / 3, -0.1 / 3, -1 - 0.1 / 3]),
              ]) { p in
            let begin = p.optionalReal("alpha_begin"), end = p.optionalReal("alpha_end"), steps = p.optionalInt("total_steps")
            switch (begin, end) {
            case (nil, nil):
                if steps != nil {
                    throw RegulaError.invalidParameter(name: "total_steps", value: "\(steps!)",
                                                       reason: "only used by the schedule (give alpha_begin and alpha_end)")
                }
                return MaxSup(alpha: try p.real("alpha"))
            case (let b?, let e?):
                guard let s = steps else {
                    throw RegulaError.invalidParameter(name: "total_steps", value: "unset",
                                                       reason: "the alpha_begin/alpha_end schedule needs total_steps")
                }
                return MaxSup(alpha: try p.real("alpha"), schedule: (b, e, s))
            default:
                throw RegulaError.invalidParameter(name: begin == nil ? "alpha_begin" : "alpha_end", value: "unset",
                                                   reason: "the schedule needs both alpha_begin and alpha_end")
            }
        },
        .loss("acls", family: "label_smoothing",
              summary: "Adaptive and Conditional Label Smoothing: CE plus margin penalties on the max logit and on gaps to it",
              formula: "ℓ = CE + α(λ1 Σ_{k=max} ReLU(m − M)² + λ2/(K−1) Σ_{k≠max} ReLU(sg(m) − z_k − M)²)",
              reference: "ACLS: Adaptive and Conditional Label Smoothing for Network Calibration (Park et al., ICCV 2023)",
              notes: "Defaults from configs/loss/acls.yaml. The batch mean of ℓ_i equals the official CE + α·reg (normalisers B, B(K−1)). "
                + "Ties: every tied max is positive and gets its own gradient. K = 1: negative term 0.",
              params: [.real("pos_lambda", 1.0, min: 0, "λ1, weight of the positive (max-logit) term"),
                       .real("neg_lambda", 0.1, min: 0, "λ2, weight of the negative (gap) term"),
                       .real("alpha", 0.1, min: 0, "α, weight of the regularizer"),
                       .real("margin", 10.0, min: 0, "M, margin")],
              // The negative term's gradient is the official stop-gradient one (sg(m)), not the derivative of the
              // value, so central differences check CE + positive term (neg_lambda=0); the negative term is
              // checked by the worked example z=[12,1,−1] and ACLSTests (differences with m held fixed).
              check: CheckSpec(params: "margin=1,neg_lambda=0"),
              examples: [
                WorkedExample("inside the margin: R = 0", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.349012,
                              gradient: [-0.294615, 0.259496, 0.035119]),
                WorkedExample("z=[12,1,-1]", x: [12, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.450019,
                              gradient: [0.399981, -0.009983, -0.029998]),
              ]) { p in
            ACLS(posLambda: try p.real("pos_lambda"), negLambda: try p.real("neg_lambda"),
                 alpha: try p.real("alpha"), margin: try p.real("margin"))
        },
    ]
}
