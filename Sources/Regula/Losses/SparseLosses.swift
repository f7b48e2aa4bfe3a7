// Regula — Fenchel–Young losses of the sparse softmax alternatives: sparsemax and 1.5-entmax.

import RegulaEngine

/// Which sparse map a Fenchel–Young loss is built on.
public enum SparseMapKind: Sendable { case sparsemax, entmax15 }

/// The Fenchel–Young loss of sparsemax or 1.5-entmax with integer labels.
/// ```
/// sparsemax:  p = max(z − τ, 0),       ℓ = ½(1 − ‖p‖²) + ⟨p − e_y, z⟩
/// 1.5-entmax: p = max(z/2 − τ, 0)²,    ℓ = (1 − Σ_k p_k^{3/2})/0.75 + ⟨p − e_y, z⟩
/// ∂ℓ/∂z = p − e_y   (both)
/// ```
/// - Parameters: none. Integer labels. Thresholds: `Sparsemax.threshold` (Maps/Sparse.swift) and
///   `Kernels.entmax15Threshold` (the exact sort algorithms of the two maps, shared with them).
/// - Stability: thresholds on z − max z; ⟨p − e_y, z⟩ is evaluated on the shifted z (it is
///   shift-invariant because Σ(p − e_y) = 0), so |z| = 1e4 has no cancellation.
/// - Reference: Martins & Astudillo, "From Softmax to Sparsemax", 2016; Peters, Niculae, Martins,
///   "Sparse Sequence-to-Sequence Models", 2019; deep-spin/entmax `entmax/losses.py`. Catalogue: losses §7.
public struct SparseFYLoss: RowLoss {
    public let map: SparseMapKind
    public init(_ map: SparseMapKind) { self.map = map }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        try rowTargets(rows: rows, classes: classes, target: target, allowReal: false)
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let y = target.labels![i]
        var m = 0.0, omega = 0.0  // −Ω(p) part: ½(1 − ‖p‖²) or (1 − Σ p^{3/2})/0.75
        switch map {
        case .sparsemax:
            let (tau, mx) = Sparsemax.threshold(z, count: k, scratch: g)  // g is written last
            m = mx
            var sq = 0.0
            for c in 0..<k { p[c] = Swift.max(z[c] - m - tau, 0); sq += p[c] * p[c] }
            omega = 0.5 * (1 - sq)
        case .entmax15:
            let (tau, mx) = Kernels.entmax15Threshold(z, count: k, scratch: g)
            m = mx
            var s = 0.0
            for c in 0..<k {
                let d = Swift.max((z[c] - m) / 2 - tau, 0)  // sqrt(p_c)
                p[c] = d * d; s += p[c] * d
            }
            omega = (1 - s) / 0.75
        }
        var inner = 0.0
        for c in 0..<k {
            g[c] = p[c] - (c == y ? 1 : 0)
            inner += g[c] * (z[c] - m)  // shifted z: shift-invariant, no cancellation at 1e4
        }
        return (omega + inner, 1)
    }
}

extension Registry {
    static let sparseLosses: [Entry] = [
        .loss("sparsemax_loss", family: "sparse_losses",
              summary: "sparsemax loss: the Fenchel–Young loss of sparsemax (gradient p − e_y, exactly zero once the margin is met)",
              formula: "ℓ = ½(1 − ‖p‖²) + ⟨p − e_y, z⟩, p = sparsemax(z); ∂ℓ/∂z = p − e_y",
              reference: "From Softmax to Sparsemax: A Sparse Model of Attention and Multi-Label Classification (Martins & Astudillo 2016)",
              notes: "entmax package form (½(1 − ‖p‖²) + ⟨p − e_y, z⟩), verified equal to the paper's −z_y + ½Σ_S(z_j² − τ²) + ½.",
              target: "labels (batch,)",
              examples: [
                WorkedExample("z=[2,1,-1], y=0", x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0, gradient: [0, 0, 0]),
                WorkedExample("z=[2,1,-1], y=1", x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [1]),
                              value: 1, gradient: [1, -1, 0]),
                WorkedExample("z=[1,0.8,-1], y=0", x: [1, 0.8, -1], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0.16),
                WorkedExample("z=[1,0.8,-1], y=1", x: [1, 0.8, -1], shape: [1, 3], target: .index(shape: [1], values: [1]),
                              value: 0.36, gradient: [0.6, -0.6, 0]),
                WorkedExample("1e4 logits, y=2", x: [1e4, 0, -1e4], shape: [1, 3], target: .index(shape: [1], values: [2]),
                              value: 2e4, gradient: [1, 0, -1]),
              ]) { _ in SparseFYLoss(.sparsemax) },
        .loss("entmax15_loss", family: "sparse_losses",
              summary: "1.5-entmax loss: the Fenchel–Young loss of 1.5-entmax (gradient p − e_y)",
              formula: "ℓ = (1 − Σ p^{3/2})/0.75 + ⟨p − e_y, z⟩, p = entmax15(z); ∂ℓ/∂z = p − e_y",
              reference: "Sparse Sequence-to-Sequence Models (Peters, Niculae & Martins 2019)",
              notes: "Threshold: Kernels.entmax15Threshold (exact sort algorithm of the entmax package), shared with the entmax15 map.",
              target: "labels (batch,)",
              examples: [
                WorkedExample("z=[2,1,-1], y=0", x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0.061656, gradient: [-0.169281, 0.169281, 0]),
                WorkedExample("z=[2,1,-1], y=1", x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [1]),
                              value: 1.061656, gradient: [0.830719, -0.830719, 0]),
                WorkedExample("z=[1,0.8,-1], y=0", x: [1, 0.8, -1], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0.297587, gradient: [-0.429466, 0.429466, 0]),
                WorkedExample("1e4 logits, y=2", x: [1e4, 0, -1e4], shape: [1, 3], target: .index(shape: [1], values: [2]),
                              value: 2e4, gradient: [1, 0, -1]),
              ]) { _ in SparseFYLoss(.entmax15) },
    ]
}
