// Regula — the two "z-losses": the spherical Z-loss (standardized true-class score) and PaLM's
// log-normalizer penalty.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// softplus(x) = log(1 + eˣ), stable for any x.
@inline(__always) func softplus(_ x: Double) -> Double { Swift.max(x, 0) + log1p(exp(-abs(x))) }
/// σ(x) = 1/(1 + e⁻ˣ), stable for any x.
@inline(__always) func sigmoid(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + exp(-x)) : { let e = exp(x); return e / (1 + e) }()
}

/// The Z-loss: a softplus of the standardized (z-normalized) true-class logit; shift- and
/// scale-invariant, a member of the spherical family.
/// ```
/// μ = mean_k z_k, σ = sqrt(mean_k (z_k − μ)²), ẑ_k = (z_k − μ)/σ
/// ℓ = (1/a) softplus(a (b − ẑ_y))
/// ∂ℓ/∂z_k = −s (δ_ky − 1/K − ẑ_y ẑ_k / K)/σ,  s = sigmoid(a (b − ẑ_y))
/// ```
/// - Parameters: `a` > 0 (sharpness) and `b` (location of the standardized true-class score), both
///   required. Integer labels.
/// - Decision: the paper tunes (a, b) per task and publishes no defaults we could retrieve (only the
///   abstract and secondary summaries were reachable), so Regula requires both, as catalogue §6 advises.
///   Note ẑ_y ≤ sqrt(K − 1): b well above that keeps the loss from saturating.
/// - Stability: two-pass variance (no E[z²] − μ² cancellation at 1e4); all-equal logits (σ = 0)
///   give the loss at ẑ = 0 with a zero gradient; stable softplus/sigmoid. Scale invariance makes
///   1e4 logits harmless.
/// - Reference: de Brébisson & Vincent, "The Z-loss: a shift and scale invariant classification loss
///   belonging to the Spherical Family", 2016. Catalogue: losses §6.
public struct SphericalZLoss: RowLoss {
    public static let id = "zloss_spherical"
    public let a: Double, b: Double
    public init(a: Double, b: Double) { self.a = a; self.b = b }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        try rowTargets(rows: rows, classes: classes, target: target, allowReal: false)
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let y = target.labels![i], n = Double(k)
        var mu = 0.0
        for c in 0..<k { mu += z[c] }
        mu /= n
        var v = 0.0
        for c in 0..<k { v += (z[c] - mu) * (z[c] - mu) }  // two-pass variance
        let sigma = (v / n).squareRoot()
        guard sigma > 0 else {  // all logits equal: ẑ = 0, no direction to follow
            for c in 0..<k { g[c] = 0 }
            return (softplus(a * b) / a, 1)
        }
        let zy = (z[y] - mu) / sigma
        let s = sigmoid(a * (b - zy))
        for c in 0..<k {
            let zc = (z[c] - mu) / sigma
            g[c] = -s * ((c == y ? 1 : 0) - 1 / n - zy * zc / n) / sigma
        }
        return (softplus(a * (b - zy)) / a, 1)
    }
}

/// PaLM's z-loss: c times the squared log-normalizer, keeping log Z near 0 (added to CE).
/// ```
/// ℓ_i = c · LSE(z_i)²,  ∂ℓ_i/∂z_i = 2c · LSE(z_i) · p_i
/// ```
/// - Parameters: `c` ≥ 0 (1e-4, PaLM). Logits only; a target is ignored (it may be omitted).
/// - Stability: max-shifted LSE; not shift-invariant by design. At |z| = 1e4 the value is ~1e4, finite.
/// - Reference: Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", 2022 (§5, "z_loss").
///   Catalogue: losses §6.
public struct LogZPenalty: RowLoss {
    public static let id = "logz_penalty"
    public let c: Double
    public init(c: Double = 1e-4) { self.c = c }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        RowTargets(width: classes)
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let lse = Kernels.softmax(z, count: k, into: p)
        for j in 0..<k { g[j] = 2 * c * lse * p[j] }
        return (c * lse * lse, 1)
    }
}

extension Registry {
    static let zLosses: [Entry] = [
        .loss("zloss_spherical", family: "z_loss",
              summary: "Z-loss: softplus of the standardized true-class logit (shift- and scale-invariant, spherical family)",
              formula: "ℓ = softplus(a(b − ẑ_y))/a, ẑ = (z − mean z)/std z; ∂ℓ/∂z_k = −s(δ_ky − 1/K − ẑ_y ẑ_k/K)/σ",
              reference: "The Z-loss: a shift and scale invariant classification loss belonging to the Spherical Family (de Brébisson & Vincent 2016)",
              confidence: "medium (formula); defaults not published",
              notes: "No published defaults could be retrieved for (a, b): both are required (catalogue §6 open point 1). "
                + "Population std (divisor K). All-equal logits: loss at ẑ = 0, zero gradient.",
              target: "labels (batch,)",
              params: [.real("a", nil, min: 0, minOpen: true, "sharpness a > 0 (required)"),
                       .real("b", nil, "location b of the standardized true-class score (required)")],
              check: CheckSpec(params: "a=1,b=2"),
              examples: [
                WorkedExample("a=1, b=2", params: "a=1,b=2", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 1.263259,
                              gradient: [-0.164313, 0.246469, -0.082156]),
                WorkedExample("a=0.1, b=10", params: "a=0.1,b=10", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 12.362500),
                WorkedExample("scale and shift invariance (1e4 scale)", params: "a=1,b=2", x: [2e4 + 5, 1e4 + 5, -1e4 + 5], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 1.263259),
              ]) { p in
            guard let a = p.optionalReal("a"), let b = p.optionalReal("b") else {
                throw RegulaError.invalidParameter(name: p.optionalReal("a") == nil ? "a" : "b", value: "unset",
                                                   reason: "zloss_spherical needs both a and b (no published defaults)")
            }
            return SphericalZLoss(a: a, b: b)
        },
        .loss("logz_penalty", family: "z_loss",
              summary: "PaLM z-loss: c · log²Z, keeps the softmax normalizer near 1 (add to cross-entropy)",
              formula: "ℓ = c · LSE(z)²; ∂ℓ/∂z = 2c · LSE(z) · softmax(z)",
              reference: "PaLM: Scaling Language Modeling with Pathways (Chowdhery et al. 2022)",
              notes: "The target is ignored (logits-only regularizer).",
              target: "none (ignored)",
              params: [.real("c", 1e-4, min: 0, "coefficient c")],
              check: CheckSpec(params: "c=0.1", sample: logitsOnlySample(scale: 2)),
              examples: [
                WorkedExample("c=1e-4", x: [2, 1, -1], shape: [1, 3], value: 5.518e-4,
                              gradient: [3.31e-4, 1.22e-4, 1.6e-5]),
                WorkedExample("1e4 logits", params: "c=1", x: [1e4, 0, -1e4], shape: [1, 3], value: 1e8,
                              gradient: [2e4, 0, 0]),
              ]) { p in LogZPenalty(c: try p.real("c")) },
    ]
}
