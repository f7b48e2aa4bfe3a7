// Regula — sparsifying activations (clipped shifted ReLU / soft threshold, ASH, Hard ASH) and the
// SPLADE log-saturation, all with exact VJPs.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// An activation applied to every element on its own: y = f(x), VJP f'(x) ⊙ u.
public protocol ElementwiseActivation: OutputMap {
    /// (f(x), f'(x)) for one element.
    func f(_ x: Double) -> (Double, Double)
}

extension ElementwiseActivation {
    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        Kernels.map(x.data, y.data, count: x.count) { f($0).0 }
    }
    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        for i in 0..<x.count { gx[i] = f(x[i]).1 * cotangent[i] }
    }
}

/// Magnitude-clipped shifted ReLU.
/// ```
/// CReLU_{τ,m}(x) = min(max(0, x − τ), m);   derivative 1 on (τ, τ + m), 0 elsewhere (0 at the kinks)
/// ```
/// - Parameters: `tau` τ (1), `m` > 0 (1). The paper gives no default m (it is read off the
///   variance map); the defaults are the catalogue's worked example. For a target sparsity s with
///   N(0, q) pre-activations, τ = sqrt(q)·Φ⁻¹(s).
/// - Reference: Price, Daultry Ball, Lam, Jones & Tanner, "Deep Neural Network Initialization with
///   Sparsity Inducing Activations", ICLR 2024. Catalogue: transforms §14a.
public struct CReLUClipped: ElementwiseActivation {
    public static let id = "crelu_clipped"
    public let tau: Double, m: Double
    public init(tau: Double = 1, m: Double = 1) { self.tau = tau; self.m = m }
    public func f(_ x: Double) -> (Double, Double) {
        let u = x - tau
        if u <= 0 { return (0, 0) }
        if u >= m { return (m, 0) }
        return (u, 1)
    }
}

/// Magnitude-clipped soft threshold.
/// ```
/// CST_{τ,m}(x) = sign(x) · min(max(0, |x| − τ), m);   derivative 1 on τ < |x| < τ + m, 0 elsewhere
/// ```
/// - Parameters: `tau` τ ≥ 0 (1), `m` > 0 (1) (see `crelu_clipped`); target sparsity s:
///   τ = sqrt(q)·Φ⁻¹((1 + s)/2).
/// - Reference: Price et al., ICLR 2024 (as `crelu_clipped`). Catalogue: transforms §14a.
public struct CSTClipped: ElementwiseActivation {
    public static let id = "cst_clipped"
    public let tau: Double, m: Double
    public init(tau: Double = 1, m: Double = 1) { self.tau = tau; self.m = m }
    public func f(_ x: Double) -> (Double, Double) {
        let u = abs(x) - tau
        if u <= 0 { return (0, 0) }
        if u >= m { return (x > 0 ? m : -m, 0) }
        return (x > 0 ? u : -u, 1)
    }
}

/// SPLADE log-saturation of term weights (elementwise; the sum/max over tokens is the caller's).
/// ```
/// y = log(1 + ReLU(x));   derivative 1/(1 + x) for x > 0, else 0
/// ```
/// - Stability: log1p keeps small weights exact.
/// - Reference: Formal, Piwowarski & Clinchant, "SPLADE: Sparse Lexical and Expansion Model for
///   First Stage Ranking", 2021 (naver/splade `transformer_rep.py`). Catalogue: penalties_sparsity §18.
public struct LogSaturation: ElementwiseActivation {
    public static let id = "log_saturation"
    public init() {}
    public func f(_ x: Double) -> (Double, Double) { x > 0 ? (log1p(x), 1 / (1 + x)) : (0, 0) }
}

/// ASH and Hard ASH: gates whose threshold follows the statistics of each row.
/// ```
/// μ, σ = mean and population std of the row (last axis);  t = μ + z_k σ;  u_i = α (x_i − t)
/// ASH:      y_i = x_i · sigmoid(u_i)
/// Hard ASH: y_i = clip(x_i, 0, 2) · hardsigmoid(u_i),  hardsigmoid(u) = clip(u + 3, 0, 6)/6
/// VJP (y_i = c(x_i) h(u_i)):  ∂t/∂x_k = 1/n + z_k (x_k − μ)/(n σ)   (σ = 0: 1/n)
///   gx_k = u_k-direct − A ∂t/∂x_k,  direct = v_k (c'(x_k) h(u_k) + c(x_k) h'(u_k) α),  A = α Σ_i v_i c(x_i) h'(u_i)
/// ```
/// - Parameters: `alpha` α > 0 (3), `z_k` (2.3: keeps about the top 1 %). Statistics are per row
///   over the last axis (per sample over units in an MLP, as the Hard ASH script); for conv
///   features flatten channels × space into the last axis first (catalogue transforms §18.9).
/// - Stability: sigmoid evaluated as 1/(1 + e^{−u}) in Double (saturates to 0/1, no NaN); a
///   constant row has σ = 0 and its σ-derivative is taken as 0.
/// - Reference: Lee et al., "ASH: Adaptive SwisH", NeurIPS 2022; Keskinen, "Hard ASH: Sparsity and
///   the right optimizer make a continual learner", 2024. Catalogue: transforms §14b.
public struct ASH: OutputMap {
    public let alpha: Double, zk: Double, hard: Bool
    public init(alpha: Double = 3, zk: Double = 2.3, hard: Bool = false) {
        self.alpha = alpha; self.zk = zk; self.hard = hard
    }

    /// (c, c', h, h') at one element given u.
    @inlinable func parts(_ x: Double, _ u: Double) -> (Double, Double, Double, Double) {
        if hard {
            let c = Swift.min(Swift.max(x, 0), 2), dc: Double = x > 0 && x < 2 ? 1 : 0
            let h = Swift.min(Swift.max(u + 3, 0), 6) / 6, dh: Double = u > -3 && u < 3 ? 1.0 / 6 : 0
            return (c, dc, h, dh)
        }
        let s = 1 / (1 + exp(-u))
        return (x, 1, s, s * (1 - s))
    }

    /// (μ, σ) of one row.
    func stats(_ x: UnsafePointer<Double>, count n: Int) -> (Double, Double) {
        let mean = Kernels.sum(x, count: n) / Double(n)
        var v = 0.0
        for j in 0..<n { v += (x[j] - mean) * (x[j] - mean) }  // two-pass variance
        return (mean, (v / Double(n)).squareRoot())
    }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        for i in 0..<rows {
            let r = x.data + i * n, out = y.data + i * n
            let (mu, sd) = stats(r, count: n)
            let t = mu + zk * sd
            for j in 0..<n { let (c, _, h, _) = parts(r[j], alpha * (r[j] - t)); out[j] = c * h }
        }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        for i in 0..<rows {
            let r = x.data + i * n, v = cotangent.data + i * n, out = gx.data + i * n
            let (mu, sd) = stats(r, count: n)
            let t = mu + zk * sd
            var a = 0.0
            for j in 0..<n {
                let (c, dc, h, dh) = parts(r[j], alpha * (r[j] - t))
                out[j] = v[j] * (dc * h + c * dh * alpha)
                a += v[j] * c * dh * alpha
            }
            let inv = 1 / Double(n)
            for j in 0..<n {
                let dt = inv + (sd > 0 ? zk * (r[j] - mu) * inv / sd : 0)  // ∂t/∂x_j
                out[j] -= a * dt
            }
        }
    }
}

extension Registry {
    static let activations: [Entry] = {
        let crelu = "transforms §14a; Deep Neural Network Initialization with Sparsity Inducing Activations (Price et al., ICLR 2024)"
        let mNote = "The paper gives no default m (chosen from the variance map; catalogue transforms §18.7): defaults τ = 1, m = 1 are the catalogue's worked example."
        let z6: [Double] = [-3, -1.5, -0.5, 0.5, 1.5, 3]
        let ashX: [Double] = [0.1, -0.4, 2.5, 0.3, -1.2, 0.8, 3.9, 0]
        let ashSample: @Sendable (inout RNG, [Int]) -> Sample = { rng, shape in
            // rows with a few large entries so the gates sit in their active range
            let x = NDArray<Double>(shape: shape)
            for i in 0..<x.count { x[i] = rng.normal() + (rng.uniform() < 0.3 ? 2.5 : 0) }
            return Sample(x: x)
        }
        return [
            .map("crelu_clipped", kind: .activation, family: "sparse_activations",
                 summary: "magnitude-clipped shifted ReLU min(max(0, x − τ), m)",
                 formula: "y = min(max(0, x − τ), m); y' = 1 on (τ, τ + m)", reference: crelu,
                 confidence: "high (form), low (default m)", notes: mNote,
                 params: [.real("tau", 1, "shift τ"), .real("m", 1, min: 0, minOpen: true, "output clip m")],
                 examples: [WorkedExample("τ=1, m=1", x: z6, shape: [6], output: [0, 0, 0, 0, 0.5, 1],
                                          vjp: ([1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 0]))]) { p in
                CReLUClipped(tau: try p.real("tau"), m: try p.real("m"))
            },
            .map("cst_clipped", kind: .activation, family: "sparse_activations",
                 summary: "magnitude-clipped soft threshold sign(x)·min(max(0, |x| − τ), m)",
                 formula: "y = sign(x) min(max(0, |x| − τ), m); y' = 1 on τ < |x| < τ + m", reference: crelu,
                 confidence: "high (form), low (default m)", notes: mNote,
                 params: [.real("tau", 1, min: 0, "threshold τ"), .real("m", 1, min: 0, minOpen: true, "output clip m")],
                 examples: [WorkedExample("τ=1, m=1", x: z6, shape: [6], output: [-1, -0.5, 0, 0, 0.5, 1],
                                          vjp: ([1, 1, 1, 1, 1, 1], [0, 1, 0, 0, 1, 0]))]) { p in
                CSTClipped(tau: try p.real("tau"), m: try p.real("m"))
            },
            .map("ash", kind: .activation, family: "sparse_activations",
                 summary: "ASH: x · sigmoid(α(x − μ − z_k σ)) with per-row statistics",
                 formula: "y = x σ(α(x − μ − z_k σ_X)); VJP includes ∂μ/∂x and ∂σ/∂x",
                 reference: "ASH: Adaptive SwisH (Lee et al., NeurIPS 2022)", confidence: "medium-high",
                 notes: "Per-row statistics over the last axis, population std (ddof = 0: the catalogue example's σ = 1.5532).",
                 params: [.real("alpha", 3, min: 0, minOpen: true, "gate sharpness α"), .real("z_k", 2.3, "percentile z-score")],
                 check: CheckSpec(shapes: [[3, 5], [6], [2, 2, 4]], params: "z_k=1", sample: ashSample),
                 examples: [WorkedExample("α=3, z_k=1", params: "z_k=1", x: ashX, shape: [8],
                                          output: [0.00013, -0.00012, 1.6086, 0.00073, -0.00003, 0.00871, 3.86786, 0],
                                          tolerance: 1e-4)]) { p in
                ASH(alpha: try p.real("alpha"), zk: try p.real("z_k"))
            },
            .map("hard_ash", kind: .activation, family: "sparse_activations",
                 summary: "Hard ASH: clip(x, 0, 2) · hardsigmoid(α(x − μ − z_k σ))",
                 formula: "y = clip(x,0,2) · clip(α(x − μ − z_k σ) + 3, 0, 6)/6; VJP includes ∂μ/∂x and ∂σ/∂x",
                 reference: "Hard ASH: Sparsity and the right optimizer make a continual learner (Keskinen 2024)",
                 confidence: "medium-high",
                 notes: "Per-row statistics over the last axis, population std, as the public JAX Split-MNIST script the catalogue cites.",
                 params: [.real("alpha", 3, min: 0, minOpen: true, "gate sharpness α"), .real("z_k", 2.3, "percentile z-score")],
                 check: CheckSpec(shapes: [[3, 5], [6], [2, 2, 4]], params: "z_k=0.5", sample: ashSample),
                 examples: [WorkedExample("α=3, z_k=1", params: "z_k=1", x: ashX, shape: [8],
                                          output: [0, 0, 1.19678, 0, 0, 0, 2, 0])]) { p in
                ASH(alpha: try p.real("alpha"), zk: try p.real("z_k"), hard: true)
            },
            .map("log_saturation", family: "sparse_activations",
                 summary: "SPLADE term-weight saturation log(1 + ReLU(x)), elementwise",
                 formula: "y = log(1 + max(x, 0)); y' = 1/(1 + x) for x > 0",
                 reference: "SPLADE: Sparse Lexical and Expansion Model for First Stage Ranking (Formal, Piwowarski & Clinchant 2021)",
                 notes: "Elementwise only (the output keeps the input's shape); SPLADE's sum/max over tokens and the attention mask are applied by the caller.",
                 examples: [WorkedExample("W0 = [[1,-2],[0.5,0]]", x: [1, -2, 0.5, 0], shape: [2, 2],
                                          output: [0.693147, 0, 0.405465, 0],
                                          vjp: ([1, 1, 1, 1], [0.5, 0, 0.666667, 0]))]) { _ in LogSaturation() },
        ]
    }()
}
