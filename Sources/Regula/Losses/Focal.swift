// Regula — focal losses: softmax (multi-class) and sigmoid (torchvision semantics).

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// (1 − p)^γ and γ(1 − p)^{γ−1} with the limits at 1 − p = 0 (γ > 0: the second → 0 when
/// multiplied by a log p or p(1 − p) factor, which is how it is used; γ = 0: 0).
@inline(__always) func focalFactor(_ u: Double, gamma: Double) -> (pow: Double, dpow: Double) {
    if gamma == 0 { return (1, 0) }
    if u <= 0 { return (0, 0) }  // γ < 1 would give u^{γ−1} = inf times an exact 0: use the limit 0
    return (pow(u, gamma), gamma * pow(u, gamma - 1))
}

/// Focal loss (softmax, multi-class): cross-entropy down-weighted by (1 − p_y)^γ.
/// ```
/// ℓ_i = −α w_y (1 − p_y)^γ log p_y,  log p_y = z_y − LSE(z)
/// ∂ℓ_i/∂z_k = α w_y [γ(1 − p_y)^{γ−1} p_y log p_y − (1 − p_y)^γ] (δ_ky − p_k)
/// ```
/// - Parameters: `gamma` γ ≥ 0 (2), `alpha` α ≥ 0 (1, multi-class default); optional data
///   `class_weights` w (K,) ≥ 0 (α_y = α·w_y). Integer labels. The mean divides by B (not Σ w).
/// - Stability: log p_y from the max-shifted LSE; 1 − p_y as −expm1(log p_y) (no cancellation when
///   p_y → 1); at 1 − p_y = 0 the γ-term takes its limit 0 (γ < 1 has an infinite slope there).
/// - Reference: Lin, Goyal, Girshick, He, Dollár, "Focal Loss for Dense Object Detection", 2017.
///   Catalogue: losses §23.
public struct FocalLoss: RowLoss {
    public static let id = "focal_loss"
    public let gamma: Double, alpha: Double, classWeights: [Double]?
    public init(gamma: Double = 2, alpha: Double = 1, classWeights: [Double]? = nil) {
        self.gamma = gamma; self.alpha = alpha; self.classWeights = classWeights
    }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        try checkClassWeights(classWeights, classes: classes)
        return try rowTargets(rows: rows, classes: classes, target: target, allowReal: false)
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let y = target.labels![i]
        let lse = Kernels.softmax(z, count: k, into: p)
        let lp = z[y] - lse, py = exp(lp)
        let u = -expm1(lp)  // 1 − p_y without cancellation
        let a = alpha * (classWeights?[y] ?? 1)
        let (f, df) = focalFactor(u, gamma: gamma)
        let coef = a * (df * py * lp - f)  // dℓ/dp_y · p_y
        for c in 0..<k { g[c] = -coef * p[c] }
        g[y] += coef
        return (-a * f * lp, 1)
    }
}

/// Sigmoid focal loss (torchvision `sigmoid_focal_loss`), elementwise on logits x and targets t ∈ [0, 1].
/// ```
/// p = σ(x), ce = softplus(x) − t x, q = 1 − p_t = t(1 − p) + (1 − t)p, α_t = α t + (1 − α)(1 − t)
/// ℓ = α_t · ce · q^γ;  ∂ℓ/∂x = α_t [(p − t) q^γ + ce · γ q^{γ−1} · p(1 − p)(1 − 2t)]
/// ```
/// Per-sample value: the sum over the row's elements (so `sum` and `none` match torchvision's
/// `sum` and a row sum of its `none`; Regula's `mean` = torchvision `sum` / B, not its elementwise mean).
/// - Parameters: `gamma` γ ≥ 0 (2), `alpha` ∈ [−1, 1] (0.25; negative = no α weighting, as
///   torchvision's −1). Targets: probabilities (batch, K) or integer labels (one-hot).
/// - Stability: BCE as max(x, 0) − x t + log1p(e^{−|x|}); p(1 − p) as σ(x)σ(−x); q^{γ−1} at q = 0
///   takes the limit 0.
/// - Reference: Lin et al., "Focal Loss for Dense Object Detection", 2017; torchvision.ops.sigmoid_focal_loss.
///   Catalogue: losses §23.
public struct SigmoidFocalLoss: RowLoss {
    public static let id = "sigmoid_focal_loss"
    public let gamma: Double, alpha: Double
    public init(gamma: Double = 2, alpha: Double = 0.25) { self.gamma = gamma; self.alpha = alpha }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        let t = try rowTargets(rows: rows, classes: classes, target: target)
        if let r = t.reals, let bad = r.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw RegulaError.invalidArgument("sigmoid_focal_loss: target \(r[bad]) at index \(bad) is outside [0, 1]")
        }
        return t
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ x: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        var loss = 0.0
        for c in 0..<k {
            let t: Double = target.labels.map { $0[i] == c ? 1 : 0 } ?? target.reals![i * k + c]
            let p = sigmoid(x[c]), pq = p * sigmoid(-x[c])  // p(1 − p) without cancellation
            let ce = Swift.max(x[c], 0) - x[c] * t + log1p(exp(-abs(x[c])))
            let q = t * sigmoid(-x[c]) + (1 - t) * p
            let at = alpha >= 0 ? alpha * t + (1 - alpha) * (1 - t) : 1
            let (f, df) = focalFactor(q, gamma: gamma)
            loss += at * ce * f
            g[c] = at * ((p - t) * f + ce * df * pq * (1 - 2 * t))
        }
        return (loss, 1)
    }
}

extension Registry {
    static let focal: [Entry] = [
        .loss("focal_loss", family: "focal",
              summary: "focal loss (softmax, multi-class): −α_y (1 − p_y)^γ log p_y",
              formula: "ℓ = −α w_y (1 − p_y)^γ log p_y; ∂ℓ/∂z_k = α w_y[γ(1−p_y)^{γ−1} p_y log p_y − (1−p_y)^γ](δ_ky − p_k)",
              reference: "Focal Loss for Dense Object Detection (Lin et al. 2017)",
              notes: "Multi-class α default 1 (catalogue §23); optional class_weights multiply α. Mean divides by B.",
              target: "labels (batch,)",
              params: [.real("gamma", 2, min: 0, "γ, focusing exponent"),
                       .real("alpha", 1, min: 0, "α, overall weight")],
              data: [InputSpec("class_weights", required: false, "per-class weights w (K,), α_y = α·w_y")],
              examples: [
                WorkedExample("γ=2", x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0.030294, gradient: [-0.068309, 0.060167, 0.008143]),
                WorkedExample("γ=0 is cross-entropy", params: "gamma=0", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.349012,
                              gradient: [-0.294615, 0.259496, 0.035119]),
                WorkedExample("1e4 logits, y=2", params: "gamma=0.5", x: [1e4, 0, -1e4], shape: [1, 3],
                              target: .index(shape: [1], values: [2]), value: 2e4,
                              gradient: [1, 0, -1]),
              ]) { p in
            FocalLoss(gamma: try p.real("gamma"), alpha: try p.real("alpha"), classWeights: try classWeights(p))
        },
        .loss("sigmoid_focal_loss", family: "focal",
              summary: "sigmoid focal loss (torchvision semantics), elementwise; per-sample value = row sum",
              formula: "ℓ = Σ_k α_t · BCE(x_k, t_k) · (1 − p_t)^γ, p = σ(x), p_t = p t + (1 − p)(1 − t)",
              reference: "Focal Loss for Dense Object Detection (Lin et al. 2017); torchvision.ops.sigmoid_focal_loss",
              notes: "Per-sample value is the row sum, so sum/none match torchvision; Regula mean = torchvision sum / B "
                + "(torchvision's own default reduction is 'none'). alpha < 0 disables α weighting (torchvision −1).",
              params: [.real("gamma", 2, min: 0, "γ, focusing exponent"),
                       .real("alpha", 0.25, min: -1, max: 1, "α weight of positives (negative: no weighting)")],
              check: CheckSpec(sample: { rng, shape in
                  let x = NDArray<Double>(shape: shape)
                  for i in 0..<x.count { x[i] = 2 * rng.normal() }
                  let t = (0..<x.count).map { _ in rng.uniform() < 0.3 ? 1.0 : (rng.uniform() < 0.5 ? 0.0 : rng.uniform()) }
                  return Sample(x: x, target: .real(shape: shape, values: t))
              }),
              examples: [
                WorkedExample("x=2, t=1", x: [2], shape: [1, 1], target: .real(shape: [1, 1], values: [1]),
                              value: 4.508907e-4),
                WorkedExample("label form", x: [2, -1], shape: [1, 2], target: .index(shape: [1], values: [0]),
                              value: 4.508907e-4 + 0.75 * log1p(exp(-1.0)) * pow(1 / (1 + exp(1.0)), 2)),
              ]) { p in SigmoidFocalLoss(gamma: try p.real("gamma"), alpha: try p.real("alpha")) },
    ]
}
