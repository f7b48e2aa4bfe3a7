// Regula — smoothness penalties on activations and outputs: the Sobolev H^s norm (FFT) and graph
// Laplacian (manifold) smoothness, plain and dual-weighted.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

// MARK: sobolev_hs

/// The periodic Sobolev H^s norm of an array, computed with the FFT.
/// ```
/// r̂_k = FFT(r)_k / N,  k = integer wavenumbers (numpy fftfreq(n, 1/n)) per axis, N = Π n_a
/// R = ‖r‖²_{H^s} = Σ_k (1 + c²|k|²)^s |r̂_k|²        (s = 0: mean(r²))
/// ∇R = (2/N) · Re( IFFT( w ⊙ FFT(r) ) ),  w_k = (1 + c²|k|²)^s   (IFFT with its 1/N)
/// ```
/// - Parameters: `s` ∈ ℝ (−1; s < 0 damps high frequencies, s > 0 amplifies them); `c` ≥ 0 the
///   frequency scale (1 = integer wavenumbers; 2π for ξ = 2πk); `batch_dims` ≥ 0 leading axes that
///   index independent signals (their norms are summed); `pad` none | mirror (even mirror
///   extension of every signal axis before the transform; the gradient folds back by the adjoint).
/// - Reference: Zhu, Hu, Lou, Yang, H^s Sobolev norms as data fidelity (implicit regularisation
///   through frequency weights). Catalogue: penalties_matrix §14.
/// - Note: the frequency scaling inside ⟨ξ⟩ is not pinned by the paper text we could read
///   (catalogue Appendix A.5); default c = 1 follows the catalogue's worked example.
/// - Stability: (1 + c²|k|²)^s with s < 0 underflows harmlessly; sums in Double.
public struct SobolevHs: Penalty {
    public static let id = "sobolev_hs"
    public let s: Double, c: Double, batchDims: Int, mirror: Bool
    public init(s: Double = -1, c: Double = 1, batchDims: Int = 0, mirror: Bool = false) {
        self.s = s; self.c = c; self.batchDims = batchDims; self.mirror = mirror
    }

    public func valueAndGradient(_ r: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        guard batchDims <= r.shape.count else {
            throw RegulaError.shape("batch_dims = \(batchDims) exceeds the input rank \(r.shape.count)")
        }
        for k in 0..<g.count { g[k] = 0 }
        let batchShape = Array(r.shape[..<batchDims]), axes = Array(r.shape[batchDims...])
        let items = batchShape.reduce(1, *), itemCount = axes.reduce(1, *)
        if items == 0 || itemCount == 0 { return 0 }
        // Signal layout after the optional mirror extension, and where each extended sample comes from.
        let ext = mirror ? axes.map { 2 * $0 } : axes
        let n = ext.reduce(1, *)
        var source = [Int](repeating: 0, count: n)
        for e in 0..<n {
            var rem = e, src = 0, step = 1
            for a in stride(from: ext.count - 1, through: 0, by: -1) {
                var idx = rem % ext[a]; rem /= ext[a]
                if idx >= axes[a] { idx = ext[a] - 1 - idx }   // even mirror: x[2n−1−j]
                src += idx * step; step *= axes[a]
            }
            source[e] = src
        }
        // Frequency weights w_k = (1 + c²|k|²)^s on the extended grid.
        var weight = [Double](repeating: 0, count: n)
        for e in 0..<n {
            var rem = e, k2 = 0.0
            for a in stride(from: ext.count - 1, through: 0, by: -1) {
                let k = Double(FFT.wavenumber(rem % ext[a], ext[a])); rem /= ext[a]
                k2 += k * k
            }
            weight[e] = pow(1 + c * c * k2, s)
        }
        var re = [Double](repeating: 0, count: n), im = re
        var total = 0.0
        let invN = 1 / Double(n)
        for b in 0..<items {
            let base = b * itemCount
            for e in 0..<n { re[e] = r[base + source[e]]; im[e] = 0 }
            FFT.transform(&re, &im, shape: ext)
            var v = 0.0
            for e in 0..<n {
                v += weight[e] * (re[e] * re[e] + im[e] * im[e])
                re[e] *= weight[e]; im[e] *= weight[e]
            }
            total += v * invN * invN
            FFT.transform(&re, &im, shape: ext, inverse: true)
            // ∇ on the extended signal = (2/N²)·Re(unnormalised inverse); fold back by Eᵀ.
            for e in 0..<n { g[base + source[e]] += scale * 2 * invN * invN * re[e] }
        }
        return scale * total
    }
}

// MARK: Graph Laplacians

/// How the affinity of a batch is given: an explicit (B, B) matrix, or the heat kernel of the
/// batch inputs x (flattened per sample).
struct Affinity {
    /// Reads `affinity` (B×B, finite, ≥ 0) or builds W_ij = exp(−‖x_i − x_j‖²/(4t)), W_ii = 0,
    /// keeping only W_ij > clamp when a clamp is given (smoothbench `get_laplacian`).
    static func read(_ inputs: Inputs, batch: Int, t: Double, clamp: Double?, id: String) throws -> [Double] {
        switch (inputs.has("affinity"), inputs.has("x")) {
        case (true, false):
            let (shape, w) = try nonNegativeInput(inputs, "affinity")
            guard shape == [batch, batch] else {
                throw RegulaError.shape("'affinity' has shape \(shape), expected [\(batch), \(batch)]")
            }
            return w
        case (false, true):
            let (shape, x) = try inputs.real("x")
            guard shape.first == batch || (batch == 1 && shape.count <= 1), batch == 0 || x.count % batch == 0 else {
                throw RegulaError.shape("'x' has shape \(shape); its first axis must be the batch (\(batch))")
            }
            if let i = x.firstIndex(where: { !$0.isFinite }) { throw RegulaError.nonFinite(what: "'x'", index: i) }
            return heatKernel(x, batch: batch, t: t, clamp: clamp)
        default:
            throw RegulaError.invalidArgument("'\(id)' needs exactly one of the inputs 'affinity' or 'x'")
        }
    }

    /// Heat-kernel affinity of the rows of x (B × p): squared distances from the Gram matrix.
    static func heatKernel(_ x: [Double], batch b: Int, t: Double, clamp: Double?) -> [Double] {
        if b == 0 { return [] }
        let p = x.count / b
        var gram = [Double](repeating: 0, count: b * b)
        x.withUnsafeBufferPointer { xb in
            gram.withUnsafeMutableBufferPointer { gb in
                BLAS.gram(.none, n: b, k: p, alpha: 1, xb.baseAddress!, lda: p, beta: 0, gb.baseAddress!)
            }
        }
        var w = [Double](repeating: 0, count: b * b)
        for i in 0..<b {
            for j in 0..<b where j != i {
                let d2 = Swift.max(0, gram[i * b + i] + gram[j * b + j] - 2 * gram[i * b + j])  // ≥ 0 despite rounding
                let v = exp(-d2 / (4 * t))
                w[i * b + j] = (clamp.map { v > $0 } ?? true) ? v : 0
            }
        }
        return w
    }

    /// L = D − W with D = diag(W 1); normalised: L = I − D^{−1/2} W D^{−1/2}, where an isolated
    /// node (degree 0) gets D^{−1/2} := 0 (its row of the normalised W is 0, L_ii = 1).
    static func laplacian(_ w: [Double], batch b: Int, normalize: Bool) -> [Double] {
        var deg = [Double](repeating: 0, count: b)
        for i in 0..<b { for j in 0..<b { deg[i] += w[i * b + j] } }
        var l = [Double](repeating: 0, count: b * b)
        if normalize {
            let inv = deg.map { $0 > 0 ? 1 / $0.squareRoot() : 0 }   // guard: no 1/sqrt(0)
            for i in 0..<b { for j in 0..<b { l[i * b + j] = (i == j ? 1 : 0) - inv[i] * w[i * b + j] * inv[j] } }
        } else {
            for i in 0..<b { for j in 0..<b { l[i * b + j] = (i == j ? deg[i] : 0) - w[i * b + j] } }
        }
        return l
    }
}

/// The outputs F of a batch as (B, c): rank ≥ 2 flattens per sample, rank 1 is B scalar outputs.
func batchRows(_ shape: [Int]) -> (rows: Int, cols: Int) {
    let count = shape.reduce(1, *)
    guard shape.count >= 2 else { return (count, 1) }
    return (shape[0], shape[0] == 0 ? 0 : count / shape[0])
}

/// R = Σ F ⊙ (Q F) = tr(Fᵀ Q F) and g = scale · (Q + Qᵀ) F, through BLAS. Q is B×B.
func quadraticForm(_ q: [Double], _ f: Tensor<Double>, rows b: Int, cols c: Int, scale: Double,
                   into g: Tensor<Double>) -> Double {
    if b == 0 || c == 0 { return 0 }
    var qf = [Double](repeating: 0, count: b * c)
    q.withUnsafeBufferPointer { qb in
        qf.withUnsafeMutableBufferPointer { out in
            BLAS.gemm(.none, .none, m: b, n: c, k: b, alpha: 1, qb.baseAddress!, lda: b, f.data, ldb: c,
                      beta: 0, out.baseAddress!, ldc: c)
            // g = scale·(Q F + Qᵀ F)
            for k in 0..<b * c { g[k] = scale * out[k] }
            BLAS.gemm(.transpose, .none, m: b, n: c, k: b, alpha: scale, qb.baseAddress!, lda: b, f.data, ldb: c,
                      beta: 1, g.data, ldc: c)
        }
    }
    return scale * Kernels.dot(f.data, qf, count: b * c)
}

// MARK: laplacian_smoothness

/// Manifold regularisation: graph-Laplacian smoothness of a batch of outputs.
/// ```
/// R = tr(Fᵀ L F) = ½ Σ_ij W_ij ‖f_i − f_j‖²,  L = D − W, D = diag(W 1)
/// normalised: L = I − D^{−1/2} W D^{−1/2}
/// ∇_F R = (L + Lᵀ) F  (= 2 L F for symmetric W)
/// heat kernel (input x): W_ij = exp(−‖x_i − x_j‖²/(4t)), W_ii = 0, optional drop of W_ij ≤ clamp_value
/// ```
/// - Parameters: input `affinity` (B, B) ≥ 0, or `x` (B, …) for the heat kernel; `normalize`
///   (false); `heat_kernel_t` t > 0 (10, the images setting); `clamp_value` (absent = keep all).
///   F is (B, c) (rank ≥ 2 flattens per sample; rank 1 is B scalar outputs).
/// - Reference: Belkin, Niyogi, Sindhwani, "Manifold regularization", JMLR 2006; heat kernel and
///   normalisation as JuanCervino/smoothbench `smooth/laplacian.py`. Catalogue: §15a.
/// - Note: the affinity is per batch, so it is a per-call input (design.md: fixed data at
///   construction, per-batch data as named inputs).
public struct LaplacianSmoothness: Penalty {
    public static let id = "laplacian_smoothness"
    public let normalize: Bool, t: Double, clamp: Double?
    public init(normalize: Bool = false, heatKernelT: Double = 10, clampValue: Double? = nil) {
        self.normalize = normalize; self.t = heatKernelT; self.clamp = clampValue
    }

    public func valueAndGradient(_ f: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (b, c) = batchRows(f.shape)
        let w = try Affinity.read(inputs, batch: b, t: t, clamp: clamp, id: Self.id)
        let l = Affinity.laplacian(w, batch: b, normalize: normalize)
        return quadraticForm(l, f, rows: b, cols: c, scale: scale, into: g)
    }
}

// MARK: weighted_laplacian_smoothness

/// Dual-weighted manifold smoothness (per-sample Lagrange multipliers λ_i ≥ 0).
/// ```
/// form "paper" (default): R = Σ_i λ_i Σ_j W_ij ‖f_i − f_j‖²
///     ∇_{f_i} R = 2 Σ_j (λ_i W_ij + λ_j W_ji)(f_i − f_j)      (= tr(Fᵀ L_A F), A_ij = λ_i W_ij + λ_j W_ji)
/// form "code": R = tr((diag(λ) F)ᵀ L F) = Σ_i λ_i ⟨f_i, (L F)_i⟩,  L = D − W
///     ∇_F R = Λ L F + Lᵀ Λ F
/// ```
/// - Parameters: input `lambdas` (B,) ≥ 0; `affinity` or `x` as laplacian_smoothness; `form`;
///   `heat_kernel_t`, `clamp_value`.
/// - Reference: Cervino, Chamon, Haeffele, Vidal, Ribeiro, "Learning Globally Smooth Functions on
///   Manifolds", ICML 2023; JuanCervino/smoothbench `smooth/algorithms.py`. Catalogue: §15b.
/// - Note: the released code's form equals the paper's only for constant λ (then paper = 2·code);
///   both are offered, the paper's first. The dual updates of λ (ascent on local Lipschitz
///   constants) belong to the training loop; `localLipschitz` gives the estimate they use.
public struct WeightedLaplacianSmoothness: Penalty {
    public static let id = "weighted_laplacian_smoothness"
    public enum Form: String, Sendable { case paper, code }
    public let form: Form, t: Double, clamp: Double?
    public init(form: Form = .paper, heatKernelT: Double = 10, clampValue: Double? = nil) {
        self.form = form; self.t = heatKernelT; self.clamp = clampValue
    }

    public func valueAndGradient(_ f: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (b, c) = batchRows(f.shape)
        let (ls, lambda) = try nonNegativeInput(inputs, "lambdas")
        guard lambda.count == b else { throw RegulaError.shape("'lambdas' has shape \(ls), expected [\(b)]") }
        let w = try Affinity.read(inputs, batch: b, t: t, clamp: clamp, id: Self.id)
        var q: [Double]
        switch form {
        case .paper:
            var a = [Double](repeating: 0, count: b * b)
            for i in 0..<b { for j in 0..<b { a[i * b + j] = lambda[i] * w[i * b + j] + lambda[j] * w[j * b + i] } }
            q = Affinity.laplacian(a, batch: b, normalize: false)   // ½Σ A_ij‖f_i − f_j‖² = tr(Fᵀ L_A F)
        case .code:
            q = Affinity.laplacian(w, batch: b, normalize: false)
            for i in 0..<b { for j in 0..<b { q[i * b + j] *= lambda[i] } }   // Q = Λ L
        }
        return quadraticForm(q, f, rows: b, cols: c, scale: scale, into: g)
    }

    /// The local Lipschitz estimate of the dual update: L̂_i = max_{j≠i} ‖f_i − f_j‖₁ / ‖x_i − x_j‖₂
    /// (pairs at distance 0 are skipped; smoothbench adds I to the distances instead).
    public static func localLipschitz(f: [Double], x: [Double], batch b: Int) -> [Double] {
        guard b > 0 else { return [] }
        let c = f.count / b, p = x.count / b
        var out = [Double](repeating: 0, count: b)
        for i in 0..<b {
            for j in 0..<b where j != i {
                var d1 = 0.0, d2 = 0.0
                for k in 0..<c { d1 += abs(f[i * c + k] - f[j * c + k]) }
                for k in 0..<p { let d = x[i * p + k] - x[j * p + k]; d2 += d * d }
                if d2 > 0 { out[i] = Swift.max(out[i], d1 / d2.squareRoot()) }
            }
        }
        return out
    }
}

// MARK: Registration

extension Registry {
    static let lapF: [Double] = [1, 0, 0, 1, 1, 1]
    static let lapW: [Double] = [0, 1, 0.5, 1, 0, 0, 0.5, 0, 0]

    /// Features (B, c) with a random symmetric affinity (B×B, zero diagonal) for the checks.
    @Sendable static func affinitySample(_ rng: inout RNG, _ shape: [Int]) -> Sample {
        let x = NDArray<Double>(shape: shape)
        for i in 0..<x.count { x[i] = rng.normal() }
        let b = batchRows(shape).rows
        var w = [Double](repeating: 0, count: b * b)
        for i in 0..<b { for j in 0..<i { let v = rng.uniform(); w[i * b + j] = v; w[j * b + i] = v } }
        return Sample(x: x, inputs: ["affinity": .real(shape: [b, b], values: w)])
    }

    /// As `affinitySample`, with heat-kernel points x and random duals λ for the weighted form.
    @Sendable static func lambdaSample(_ rng: inout RNG, _ shape: [Int]) -> Sample {
        let f = NDArray<Double>(shape: shape)
        for i in 0..<f.count { f[i] = rng.normal() }
        let b = batchRows(shape).rows
        let pts = (0..<b * 3).map { _ in rng.normal() }
        let lambda = (0..<b).map { _ in rng.uniform() }
        return Sample(x: f, inputs: ["x": .real(shape: [b, 3], values: pts), "lambdas": .real(shape: [b], values: lambda)])
    }

    static let smoothness: [Entry] = [
        .penalty("sobolev_hs", family: "smoothness", summary: "periodic Sobolev H^s norm Σ_k (1 + c²|k|²)^s |r̂_k|² via the FFT",
                 formula: "R = Σ_k (1 + c²|k|²)^s |FFT(r)_k/N|²; ∇R = (2/N) Re(IFFT(w ⊙ FFT(r)))",
                 reference: "Zhu, Hu, Lou, Yang: H^s (Sobolev) norms as data fidelity with implicit regularisation",
                 confidence: "medium (weighting) / low (frequency scaling)",
                 notes: "Integer wavenumbers (numpy fftfreq(n, 1/n)) scaled by c (default 1 = the catalogue's worked example; c = 2π for ξ = 2πk): the paper's scaling of ξ is not pinned (catalogue Appendix A.5). The whole array is one d-D signal unless batch_dims > 0 (per-signal norms summed). pad=mirror applies an even mirror extension per signal axis. Radix-2 FFT for power-of-two lengths, direct DFT otherwise.",
                 strength: 1,
                 params: [.real("s", -1, "Sobolev exponent s (0 = mean square)"),
                          .real("c", 1, min: 0, "frequency scale: (1 + c²|k|²)^s"),
                          .int("batch_dims", 0, min: 0, "leading axes indexing independent signals"),
                          .choice("pad", ["none", "mirror"], "even mirror extension against boundary artefacts")],
                 check: CheckSpec(shapes: [[4, 5], [7], [3, 2, 2], [8]]),
                 examples: [
                    WorkedExample("s = −1", x: [1, 2, 0, -1], shape: [4], value: 0.875, gradient: [0.375, 0.625, 0.125, -0.125]),
                    WorkedExample("s = 0", params: "s=0", x: [1, 2, 0, -1], shape: [4], value: 1.5),
                    WorkedExample("s = 0.5", params: "s=0.5", x: [1, 2, 0, -1], shape: [4], value: 2.017767),
                    WorkedExample("s = 1", params: "s=1", x: [1, 2, 0, -1], shape: [4], value: 2.75, gradient: [0.75, 1.75, -0.25, -1.25]),
                    WorkedExample("2-D delta s = −1", x: [1] + [Double](repeating: 0, count: 15), shape: [4, 4], value: 0.0215278),
                    WorkedExample("2-D delta s = 1", params: "s=1", x: [1] + [Double](repeating: 0, count: 15), shape: [4, 4], value: 0.25),
                 ]) {
            SobolevHs(s: try $0.real("s"), c: try $0.real("c"), batchDims: try $0.int("batch_dims"),
                      mirror: try $0.string("pad") == "mirror")
        },
        .penalty("laplacian_smoothness", family: "smoothness", summary: "graph-Laplacian (manifold) smoothness tr(Fᵀ L F) of a batch of outputs",
                 formula: "R = tr(Fᵀ L F) = ½ Σ W_ij ‖f_i − f_j‖², L = D − W (or I − D^{−½} W D^{−½}); ∇R = (L + Lᵀ) F",
                 reference: "Manifold Regularization (Belkin, Niyogi, Sindhwani 2006); heat kernel as JuanCervino/smoothbench",
                 notes: "Affinity per call: input 'affinity' (B×B, ≥ 0) or 'x' (B, …) for the heat kernel exp(−‖x_i−x_j‖²/(4t)) with zero diagonal; clamp_value keeps W > clamp (smoothbench get_laplacian). Normalised L: isolated nodes get D^{−½} = 0 (L_ii = 1), not a division by zero.",
                 strength: 1,
                 params: [.bool("normalize", false, "L = I − D^{−½} W D^{−½}"),
                          .real("heat_kernel_t", 10, min: 0, minOpen: true, "t of the heat kernel exp(−d²/(4t))"),
                          .real("clamp_value", nil, min: 0, "drop heat-kernel weights ≤ this value")],
                 inputs: [InputSpec("affinity", required: false, "affinity W (B, B), ≥ 0"),
                          InputSpec("x", required: false, "batch inputs (B, …) for the heat-kernel affinity")],
                 check: CheckSpec(shapes: [[4, 3], [5], [3, 2, 2]], sample: affinitySample),
                 examples: [
                    WorkedExample("tr(FᵀLF)", x: lapF, shape: [3, 2], inputs: ["affinity": .real(shape: [3, 3], values: lapW)], value: 2.5),
                    WorkedExample("normalised", params: "normalize=true", x: lapF, shape: [3, 2],
                                  inputs: ["affinity": .real(shape: [3, 3], values: lapW)], value: 2.845299),
                    WorkedExample("heat kernel X = [[0,0],[1,0],[0,2]], t = 0.5 (W01 = .606531, W02 = .135335, W12 = .082085)",
                                  params: "heat_kernel_t=0.5", x: lapF, shape: [3, 2],
                                  inputs: ["x": .real(shape: [3, 2], values: [0, 0, 1, 0, 0, 2])],
                                  value: 0.606531 * 2 + 0.135335 * 1 + 0.082085 * 1),
                 ]) {
            LaplacianSmoothness(normalize: try $0.bool("normalize"), heatKernelT: try $0.real("heat_kernel_t"),
                                clampValue: $0.optionalReal("clamp_value"))
        },
        .penalty("weighted_laplacian_smoothness", family: "smoothness",
                 summary: "dual-weighted manifold smoothness Σ_i λ_i Σ_j W_ij ‖f_i − f_j‖² (paper) or tr((ΛF)ᵀ L F) (released code)",
                 formula: "paper: R = Σ_i λ_i Σ_j W_ij‖f_i − f_j‖², ∇_i = 2Σ_j (λ_i W_ij + λ_j W_ji)(f_i − f_j); code: R = tr(Fᵀ Λ L F)",
                 reference: "Learning Globally Smooth Functions on Manifolds (Cervino et al., ICML 2023); JuanCervino/smoothbench",
                 confidence: "medium",
                 notes: "form=paper (default, from the abstract + code) or form=code (smoothbench's tr((diag(λ)F)ᵀ L F), equal to paper/2 for constant λ). λ (per-sample duals, ≥ 0) and the affinity are per-call inputs; the dual ascent on λ is the training loop's (WeightedLaplacianSmoothness.localLipschitz gives L̂_i). Unnormalised L only.",
                 strength: 1,
                 params: [.choice("form", ["paper", "code"], "the paper's symmetric form or the released code's"),
                          .real("heat_kernel_t", 10, min: 0, minOpen: true, "t of the heat kernel exp(−d²/(4t))"),
                          .real("clamp_value", nil, min: 0, "drop heat-kernel weights ≤ this value")],
                 inputs: [InputSpec("lambdas", "per-sample dual weights λ (B,), ≥ 0"),
                          InputSpec("affinity", required: false, "affinity W (B, B), ≥ 0"),
                          InputSpec("x", required: false, "batch inputs (B, …) for the heat-kernel affinity")],
                 check: CheckSpec(shapes: [[4, 3], [5], [3, 2, 2]], sample: lambdaSample),
                 examples: [
                    WorkedExample("paper form", x: lapF, shape: [3, 2],
                                  inputs: ["affinity": .real(shape: [3, 3], values: lapW), "lambdas": .real(shape: [3], values: [0.2, 0.5, 0.3])],
                                  value: 1.65),
                    WorkedExample("code form", params: "form=code", x: lapF, shape: [3, 2],
                                  inputs: ["affinity": .real(shape: [3, 3], values: lapW), "lambdas": .real(shape: [3], values: [0.2, 0.5, 0.3])],
                                  value: 0.85),
                 ]) {
            WeightedLaplacianSmoothness(form: try $0.choice("form"), heatKernelT: try $0.real("heat_kernel_t"),
                                        clampValue: $0.optionalReal("clamp_value"))
        },
    ]
}
