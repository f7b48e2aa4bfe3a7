// Regula — StableMax cross-entropy (softmax with exp replaced by a linear/reciprocal score).

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// StableMax cross-entropy: cross-entropy of the StableMax probabilities `s(z_k)/Σ_j s(z_j)`.
/// ```
/// s(x) = x + 1 (x ≥ 0), 1/(1 − x) (x < 0);  S = Σ_j s(z_j)
/// ℓ = −log(s(z_y)/S) = log S − log s(z_y)
/// ∂ℓ/∂z_k = s'(z_k)/S − [k = y]·s'(z_y)/s(z_y),  s'(x) = 1 (x ≥ 0), s(x)² (x < 0)
/// ```
/// - Parameters: none. Integer labels.
/// - Stability: evaluated in float64 always (the official code casts the logits to float64 before
///   the ratio; float32 inputs are widened by the loss instance), and `log s_y − log S` instead of
///   the log of a rounded ratio. No exp and no max shift: nothing saturates, so where float32
///   softmax collapses (top-logit gap > 16.6: CE and its target gradient exactly 0) StableMax keeps
///   a non-zero gradient. Not shift-invariant (by design). Branches via `Kernels.stablemaxScore`
///   (each evaluated on its own side: no NaN at x = 1).
/// - Reference: Prieto, Barsbey, Mediano, Birdal, "Grokking at the Edge of Numerical Stability", 2025;
///   LucasPrietoAl/grokking-at-the-edge-of-numerical-stability `utils.py`. Catalogue: losses §9.
public struct StableMaxCrossEntropy: RowLoss {
    public static let id = "stablemax_cross_entropy"
    public init() {}

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        try rowTargets(rows: rows, classes: classes, target: target, allowReal: false)
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch d: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let y = target.labels![i]
        var total = 0.0
        for c in 0..<k {
            let (s, ds) = Kernels.stablemaxScore(z[c])
            g[c] = s; d[c] = ds; total += s
        }
        let sy = g[y], dsy = d[y]
        let loss = log(total) - log(sy)  // log of each factor, not of the ratio
        for c in 0..<k { g[c] = d[c] / total }
        g[y] -= dsy / sy
        return (loss, 1)
    }
}

extension Registry {
    static let stableMax: [Entry] = [
        .loss("stablemax_cross_entropy", family: "stablemax",
              summary: "StableMax cross-entropy: CE of s(z)/Σs(z), s(x) = x+1 (x ≥ 0), 1/(1−x) (x < 0); float64, no softmax collapse",
              formula: "ℓ = log Σ_j s(z_j) − log s(z_y); ∂ℓ/∂z_k = s'(z_k)/S − [k=y] s'(z_y)/s(z_y)",
              reference: "Grokking at the Edge of Numerical Stability (Prieto et al. 2025)",
              notes: "Computed in float64 for every input dtype (official code casts to float64). The repo's 1e-30 in the negative "
                + "branch denominator is omitted (irrelevant in float64: 1 − x ≥ 1).",
              target: "labels (batch,)",
              examples: [
                WorkedExample("z=[2,1,-1], y=0", x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0.606136, gradient: [-0.151515, 0.181818, 0.045455]),
                WorkedExample("1e4 logits, y=1", x: [1e4, -1e4, 0], shape: [1, 3], target: .index(shape: [1], values: [1]),
                              value: 18.420981),
              ]) { _ in StableMaxCrossEntropy() },
    ]
}
