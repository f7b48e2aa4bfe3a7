// Regula — sparse softmax alternatives: projections onto the simplex.

import RegulaEngine

/// Sparsemax: the Euclidean projection of z onto the probability simplex, row-wise.
/// ```
/// p = max(z − τ, 0),  τ = (Σ_{j≤k*} z_(j) − 1)/k*,  k* = max{k : 1 + k z_(k) > Σ_{j≤k} z_(j)}
/// VJP (symmetric Jacobian): (Jᵀv)_k = s_k (v_k − (1/|S|) Σ_{j∈S} v_j),  S = {p > 0}
/// ```
/// - Stability: τ is computed on z − max z (shift-equivariant), so |z| = 1e4 is exact.
/// - Reference: Martins & Astudillo, "From Softmax to Sparsemax: A Sparse Model of Attention
///   and Multi-Label Classification", 2016. Catalogue: losses §7.
public struct Sparsemax: OutputMap {
    public static let id = "sparsemax"
    public init() {}

    /// τ of one row (on the shifted values y = z − max) and the row max, by Michelot's algorithm
    /// started from the candidates S = {y > −1}: p_max = −τ ≤ 1 gives τ ≥ −1, so S holds the
    /// whole support, and τ_S = (Σ_S y − 1)/|S| ≤ τ for any such S. Then S ← {y ∈ S : y > τ_S}
    /// until S stops shrinking (τ only grows, so a dropped entry never returns). Exact, no sort;
    /// one pass over the row plus passes over the few candidates. Entries equal to τ end outside
    /// the support. `c` is caller scratch of `k` values.
    @inlinable
    static func threshold(_ z: UnsafePointer<Double>, count k: Int, scratch c: UnsafeMutablePointer<Double>) -> (tau: Double, max: Double) {
        let m = Kernels.maximum(z, count: k)
        var n = 0, sum = 0.0
        for j in 0..<k {
            let y = z[j] - m
            let keep = y > -1
            c[n] = y; sum += keep ? y : 0
            n &+= keep ? 1 : 0  // branch-free compaction
        }
        var tau = (sum - 1) / Double(n)
        while true {
            var kept = 0
            sum = 0
            for j in 0..<n where c[j] > tau { c[kept] = c[j]; kept += 1; sum += c[j] }
            let next = (sum - 1) / Double(kept)
            if kept == n { return (next, m) }
            n = kept; tau = next
        }
    }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let (rows, k) = x.lastAxis
        Parallel.rows(rows, cols: k) { i, scratch in
            let z = x.data + i * k, p = y.data + i * k
            let (tau, m) = Self.threshold(z, count: k, scratch: scratch)
            for j in 0..<k { p[j] = Swift.max(z[j] - m - tau, 0) }
        }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        let (rows, k) = x.lastAxis
        Parallel.rows(rows, cols: k) { i, scratch in
            let z = x.data + i * k, v = cotangent.data + i * k, out = gx.data + i * k
            let (tau, m) = Self.threshold(z, count: k, scratch: scratch)
            var n = 0, s = 0.0
            for j in 0..<k where z[j] - m - tau > 0 { n += 1; s += v[j] }
            let mean = n > 0 ? s / Double(n) : 0
            for j in 0..<k { out[j] = z[j] - m - tau > 0 ? v[j] - mean : 0 }
        }
    }
}

extension Registry {
    static let sparseMaps: [Entry] = [
        .map("sparsemax", family: "sparse_maps", summary: "sparsemax: Euclidean projection onto the simplex (sparse probabilities)",
             formula: "p = max(z − τ, 0), Σp = 1; VJP: s ⊙ (v − mean_S v)",
             reference: "From Softmax to Sparsemax: A Sparse Model of Attention and Multi-Label Classification (Martins & Astudillo 2016)",
             check: CheckSpec(shapes: [[3, 4], [5], [2, 3, 6]]),
             examples: [
                WorkedExample("z=[2,1,-1]", x: [2, 1, -1], shape: [1, 3], output: [1, 0, 0],
                              vjp: ([1, 0, 0], [0, 0, 0])),
                WorkedExample("z=[1,0.8,-1]", x: [1, 0.8, -1], shape: [1, 3], output: [0.6, 0.4, 0],
                              vjp: ([1, 0, 0], [0.5, -0.5, 0])),
                WorkedExample("1e4 logits", x: [1e4, 0, -1e4], shape: [1, 3], output: [1, 0, 0]),
             ]) { _ in Sparsemax() },
    ]
}
