// Regula — class-structure penalties: neural-collapse feature regularisers and the class-based
// sum-of-norms penalty on transport plans.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

// MARK: neural_collapse_features

/// Neural-collapse-inducing feature terms: within-class compactness (NC1) and a simplex-ETF
/// geometry of the normalised class means (NC2).
/// ```
/// μ_c = batch mean of class c,  μ̂_c = μ_c / max(‖μ_c‖, 1e-12),  P = classes present, K_p = |P|
/// R_w = (1/B) Σ_i ‖h_i − μ_{y_i}‖²                      ∂R_w/∂h_i = (2/B)(h_i − μ_{y_i})
/// R_b = (1/(K_p(K_p−1))) Σ_{c≠c' ∈ P} (⟨μ̂_c, μ̂_c'⟩ + 1/(K−1))²      (0 when K_p < 2)
///     ∂R_b/∂μ̂_c = (4/(K_p(K_p−1))) Σ_{c'≠c} E_cc' μ̂_c',  ∂μ̂/∂μ = (I − μ̂μ̂ᵀ)/‖μ‖,  ∂μ_c/∂h_i = 1/n_c
/// R = α R_w + β R_b
/// ```
/// - Parameters: `alpha` α ≥ 0 (0.1), `beta` β ≥ 0 (0.1), `num_classes` K (0 = the classes present
///   in the batch); input `labels` (B,). H is (B, d) along the last axis.
/// - Reference: Liu, Zhang, Hu, Cao, Pan, Yao, "Inducing Neural Collapse in Deep Long-tailed
///   Learning", AISTATS 2023. Catalogue: penalties_matrix §17.
/// - Note: PROVISIONAL (confidence low). No official code was found and only the abstract and
///   opening were readable; this is the catalogue's generic pair (batch class means, ETF cosine
///   target −1/(K−1)), pinned as written there. Absent classes are skipped and R_b averages over
///   the present ordered pairs.
public struct NeuralCollapseFeatures: Penalty {
    public static let id = "neural_collapse_features"
    public let alpha: Double, beta: Double, numClasses: Int
    public init(alpha: Double = 0.1, beta: Double = 0.1, numClasses: Int = 0) {
        self.alpha = alpha; self.beta = beta; self.numClasses = numClasses
    }

    public func valueAndGradient(_ h: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (b, d) = h.lastAxis
        let y = try sampleLabels(inputs, rows: b)
        if numClasses > 0, let bad = y.first(where: { $0 >= numClasses }) {
            throw RegulaError.invalidArgument("label \(bad) is out of range [0, \(numClasses))")
        }
        for i in 0..<g.count { g[i] = 0 }
        if b == 0 { return 0 }
        let present = Array(Set(y)).sorted()
        let slot = Dictionary(uniqueKeysWithValues: present.enumerated().map { ($1, $0) })
        let kp = present.count
        var count = [Double](repeating: 0, count: kp)
        var mu = [Double](repeating: 0, count: kp * d)
        for i in 0..<b {
            let c = slot[y[i]]!
            count[c] += 1
            for j in 0..<d { mu[c * d + j] += h[i * d + j] }
        }
        for c in 0..<kp { for j in 0..<d { mu[c * d + j] /= count[c] } }
        // Within-class term.
        var rw = 0.0
        for i in 0..<b {
            let c = slot[y[i]]!
            for j in 0..<d {
                let diff = h[i * d + j] - mu[c * d + j]
                rw += diff * diff
                g[i * d + j] = scale * alpha * 2 / Double(b) * diff
            }
        }
        rw /= Double(b)
        // Between-class term on normalised means.
        var rb = 0.0
        let k = numClasses > 0 ? numClasses : kp
        if kp >= 2 && k >= 2 {
            var norm = [Double](repeating: 0, count: kp), unit = [Double](repeating: 0, count: kp * d)
            for c in 0..<kp {
                norm[c] = Swift.max(Kernels.sumOfSquares(mu.withUnsafeBufferPointer { $0.baseAddress! + c * d }, count: d).squareRoot(), 1e-12)
                for j in 0..<d { unit[c * d + j] = mu[c * d + j] / norm[c] }   // guard: zero mean → 0/1e-12
            }
            let target = 1 / Double(k - 1), pairs = Double(kp * (kp - 1))
            var dUnit = [Double](repeating: 0, count: kp * d)
            for c in 0..<kp {
                for c2 in 0..<kp where c2 != c {
                    var dot = 0.0
                    for j in 0..<d { dot += unit[c * d + j] * unit[c2 * d + j] }
                    let e = dot + target
                    rb += e * e
                    for j in 0..<d { dUnit[c * d + j] += 4 * e * unit[c2 * d + j] / pairs }
                }
            }
            rb /= pairs
            // Back through the normalisation and the class mean.
            for c in 0..<kp {
                var proj = 0.0
                for j in 0..<d { proj += unit[c * d + j] * dUnit[c * d + j] }
                let clamped = norm[c] <= 1e-12
                for j in 0..<d {
                    let dmu = (clamped ? dUnit[c * d + j] : dUnit[c * d + j] - unit[c * d + j] * proj) / norm[c]
                    dUnit[c * d + j] = scale * beta * dmu / count[c]
                }
            }
            for i in 0..<b {
                let c = slot[y[i]]!
                for j in 0..<d { g[i * d + j] += dUnit[c * d + j] }
            }
        }
        return scale * (alpha * rw + beta * rb)
    }
}

// MARK: class_sum_of_norms

/// Class-based sum-of-norms penalty on a transport plan T (n_s × n_t): for every target column,
/// the ℓ2 norms of its source-class blocks, so that each target draws mass from one class.
/// ```
/// Ω(T) = Σ_j Σ_c ‖T[I_c, j]‖₂,   I_c = source rows with label c
/// ∂Ω/∂T[I_c, j] = T[I_c, j] / ‖T[I_c, j]‖   (zero block → 0)
/// prox_{tΩ}: T[I_c, j] ← max(0, 1 − t/‖T[I_c, j]‖) · T[I_c, j]   (block soft-threshold)
/// ```
/// - Parameters: input `labels` (n_s,), one class per source row (row i of T). T is a matrix
///   (rank > 2 flattens to (shape[0], −1); rank 1 is one row).
/// - Reference: Rahbar, Panahi, Chehreghani, Dubhashi, Krim, "Recovery Bounds on Class-Based
///   Optimal Transport: A Sum-of-Norms Regularization Framework", ICML 2023. Catalogue: §16.
/// - Note: LOW confidence. Only the abstract was readable ("convex OT program with a sum-of-norms
///   regularization term", "closed-form projection and proximal operator"); pinned to the
///   catalogue's group-lasso over (class, target) blocks, which is convex, has that closed-form
///   prox and favours single-class targets. The convex-clustering reading (Σ‖t_i − t_i'‖ within a
///   class) was not adopted. The transport-polytope constraints are the solver's, not this prox's.
public struct ClassSumOfNorms: ProximalPenalty {
    public static let id = "class_sum_of_norms"
    public init() {}

    /// Squared block norms, keyed by (class slot, column), and the class slot of every row.
    func blocks(_ x: Tensor<Double>, _ inputs: Inputs) throws -> (rows: Int, cols: Int, slot: [Int], sq: [Double]) {
        let (m, n) = x.matrix
        let y = try sampleLabels(inputs, rows: m)
        let classes = Array(Set(y)).sorted()
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let slot = y.map { index[$0]! }
        var sq = [Double](repeating: 0, count: classes.count * n)
        for i in 0..<m { for j in 0..<n { let v = x[i * n + j]; sq[slot[i] * n + j] += v * v } }
        return (m, n, slot, sq)
    }

    public func valueAndGradient(_ x: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (m, n, slot, sq) = try blocks(x, inputs)
        let norms = sq.map { $0.squareRoot() }
        for i in 0..<m {
            for j in 0..<n {
                let r = norms[slot[i] * n + j]
                g[i * n + j] = r > 0 ? scale * x[i * n + j] / r : 0   // zero block: subgradient 0
            }
        }
        return scale * norms.reduce(0, +)
    }

    // argmin ½‖X − V‖² + t Σ‖X_block‖ separates over blocks: block soft-thresholding.
    public func prox(_ v: Tensor<Double>, t: Double, _ inputs: Inputs, into out: Tensor<Double>) throws {
        let (m, n, slot, sq) = try blocks(v, inputs)
        let factor = sq.map { s -> Double in let r = s.squareRoot(); return r > t ? 1 - t / r : 0 }
        for i in 0..<m { for j in 0..<n { out[i * n + j] = factor[slot[i] * n + j] * v[i * n + j] } }
    }
}

// MARK: Registration

extension Registry {
    /// Standard-normal x with labels in 0..<3, one per row of the matrix view (first axis) or per
    /// row along the last axis, for the checks.
    static func labelledSample(perMatrixRow: Bool) -> @Sendable (inout RNG, [Int]) -> Sample {
        { rng, shape in
            let x = NDArray<Double>(shape: shape)
            for i in 0..<x.count { x[i] = rng.normal() }
            let rows = perMatrixRow ? x.tensor.matrix.rows : x.tensor.lastAxis.rows
            let y = (0..<rows).map { _ in rng.below(3) }
            return Sample(x: x, inputs: ["labels": .index(shape: [rows], values: y)])
        }
    }

    static let collapse: [Entry] = [
        .penalty("neural_collapse_features", family: "collapse",
                 summary: "neural-collapse feature terms: within-class compactness + simplex-ETF class means (provisional)",
                 formula: "R = α (1/B)Σ‖h_i − μ_{y_i}‖² + β (1/(K(K−1))) Σ_{c≠c'} (⟨μ̂_c, μ̂_c'⟩ + 1/(K−1))²",
                 reference: "Inducing Neural Collapse in Deep Long-tailed Learning (Liu et al., AISTATS 2023)",
                 confidence: "low (provisional)",
                 notes: "No official code found; only the abstract/opening readable. Ships the catalogue's generic pair: batch class means, normalised with max(‖μ‖, 1e-12), ETF target −1/(K−1) with K = num_classes (0 = classes present); absent classes skipped, R_b averaged over present ordered pairs. α = β = 0.1 provisional; strength 1.",
                 strength: 1,
                 params: [.real("alpha", 0.1, min: 0, "weight α of the within-class term"),
                          .real("beta", 0.1, min: 0, "weight β of the between-class (ETF) term"),
                          .int("num_classes", 0, min: 0, "K for the ETF target (0 = classes present in the batch)")],
                 inputs: [InputSpec("labels", "class label per row (B,), ≥ 0")],
                 check: CheckSpec(shapes: [[6, 4], [5, 3], [2, 3, 2]], sample: labelledSample(perMatrixRow: false)),
                 examples: [
                    WorkedExample("R_w (α=1, β=0)", params: "alpha=1,beta=0", x: [1, 0, 0.8, 0.2, 0, 1, -1, 0.1], shape: [4, 2],
                                  inputs: ["labels": .index(shape: [4], values: [0, 0, 1, 2])], value: 0.01),
                    WorkedExample("R_b (α=0, β=1)", params: "alpha=0,beta=1,num_classes=3", x: [1, 0, 0.8, 0.2, 0, 1, -1, 0.1], shape: [4, 2],
                                  inputs: ["labels": .index(shape: [4], values: [0, 0, 1, 2])], value: 0.320160),
                    WorkedExample("defaults α = β = 0.1", x: [1, 0, 0.8, 0.2, 0, 1, -1, 0.1], shape: [4, 2],
                                  inputs: ["labels": .index(shape: [4], values: [0, 0, 1, 2])], value: 0.1 * 0.01 + 0.1 * 0.320160),
                 ]) {
            NeuralCollapseFeatures(alpha: try $0.real("alpha"), beta: try $0.real("beta"), numClasses: try $0.int("num_classes"))
        },
        .penalty("class_sum_of_norms", family: "collapse",
                 summary: "class-based sum of norms on a transport plan: Σ_j Σ_c ‖T[I_c, j]‖ (low confidence)",
                 formula: "Ω = Σ_j Σ_c ‖T[I_c, j]‖₂; ∇ = T[I_c,j]/‖T[I_c,j]‖; prox: block soft-threshold max(0, 1 − t/‖·‖)",
                 reference: "Recovery Bounds on Class-Based Optimal Transport: A Sum-of-Norms Regularization Framework (Rahbar et al., ICML 2023)",
                 confidence: "low",
                 notes: "Only the abstract was readable. Pinned to the catalogue's group lasso over (source class, target column) blocks (convex, closed-form prox, as the abstract requires); the convex-clustering reading was not adopted. Labels = class of each source row (row of T). Polytope constraints are the OT solver's. Strength default 0.1 (catalogue).",
                 strength: 0.1, inputs: [InputSpec("labels", "class of each source sample (row of T), ≥ 0")], prox: true,
                 check: CheckSpec(shapes: [[4, 5], [6, 2], [3, 2, 2]], sample: labelledSample(perMatrixRow: true)),
                 examples: [
                    WorkedExample("Ω and prox t = 0.15", x: [0.2, 0, 0.1, 0.1, 0, 0.3, 0.1, 0.2], shape: [4, 2],
                                  inputs: ["labels": .index(shape: [4], values: [0, 0, 1, 1])], value: 0.784162,
                                  prox: (0.15, [0.065836, 0, 0.032918, 0, 0, 0.175192, 0, 0.116795])),
                 ]) { _ in ClassSumOfNorms() },
    ]
}
