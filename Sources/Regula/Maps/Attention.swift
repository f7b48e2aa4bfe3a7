// Regula — maps from similarities or distances to logits / attention weights: WCDAS and IDW attention.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Wrapped Cauchy distributed angular softmax: cosine similarities → logits (feed them to
/// softmax cross-entropy), with a per-class concentration ρ_k = sigmoid(g_k).
/// ```
/// logit_ik = s · (1/(2·3.14)) · (1 − ρ_k²) / (1 + ρ_k² − 2 ρ_k c_ik)
/// s = 1 + softplus(s_) (s_trainable, default) or s = 250 (fixed)
/// VJP: ∂logit_ik/∂c_ik = s/(2·3.14) · 2ρ_k(1 − ρ_k²)/D_ik²  (elementwise), D = 1 + ρ² − 2ρc
/// ```
/// - Parameters: input c ∈ [−1, 1] (cosines, (batch, classes)); `g` (0: the CIFAR-LT init; −1
///   ImageNet-LT, +1 iNaturalist with fixed s), data `g_per_class` (K,) overrides `g`;
///   `s_` (0 → s = 1.693147), `s_trainable` (true; false uses s = 250 as the repository).
///   ρ, s are parameters here: their gradients (catalogue §20) belong to the caller's optimizer.
/// - Stability: ρ is clamped to ≤ 1 − 1e-6 so D ≥ (1 − ρ)² > 0 at c = 1 (in float32 sigmoid(g)
///   rounds to 1 for g ≳ 17). The constant 3.14 is the repository's literal, not π.
/// - Reference: Han et al., "Wrapped Cauchy Distributed Angular Softmax for Long-Tailed Visual
///   Recognition", ICML 2023 (boranhan/WCDAS_code `models/Loss.py`). Catalogue: losses §20.
public struct WCDAS: OutputMap {
    public static let id = "wcdas"
    public let g: [Double]?
    public let gShared: Double
    public let s: Double

    public init(g: Double = 0, gPerClass: [Double]? = nil, sRaw: Double = 0, sTrainable: Bool = true) {
        self.gShared = g; self.g = gPerClass
        self.s = sTrainable ? 1 + (sRaw > 30 ? sRaw : log1p(exp(sRaw))) : 250  // softplus, overflow-safe
    }

    static let twoPi314 = 2 * 3.14

    func rho(_ k: Int, classes: Int) throws -> Double {
        let gk: Double
        if let g {
            guard g.count == classes else { throw RegulaError.shape("g_per_class has \(g.count) values for \(classes) classes") }
            gk = g[k]
        } else { gk = gShared }
        return Swift.min(1 / (1 + exp(-gk)), 1 - 1e-6)  // clamp: D > 0 at c = 1
    }

    /// Applies `body(c, ρ, out index)` to every element after checking c ∈ [−1, 1].
    func each(_ x: Tensor<Double>, _ body: (Double, Double, Int) -> Void) throws {
        let (rows, n) = x.lastAxis
        let rhos = try (0..<n).map { try rho($0, classes: n) }
        for i in 0..<rows {
            for k in 0..<n {
                let c = x[i * n + k]
                guard abs(c) <= 1 + 1e-6 else {
                    throw RegulaError.invalidArgument("wcdas takes cosine similarities in [-1, 1]; got \(c) at flat index \(i * n + k)")
                }
                body(c, rhos[k], i * n + k)
            }
        }
    }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        try each(x) { c, r, at in y[at] = s / Self.twoPi314 * (1 - r * r) / (1 + r * r - 2 * r * c) }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        try each(x) { c, r, at in
            let d = 1 + r * r - 2 * r * c
            gx[at] = cotangent[at] * s / Self.twoPi314 * 2 * r * (1 - r * r) / (d * d)
        }
    }
}

/// Inverse distance weighting attention: attention weights from query–key distances.
/// ```
/// s_j = −log(ε + d_j^p),  w = softmax(s)  (= (ε + d_j^p)^{−1} / Σ_l (ε + d_l^p)^{−1})
/// VJP: a_l = 1/(ε + d_l^p);  (Jᵀu)_l = −p d_l^{p−1} a_l w_l (u_l − ⟨u, w⟩)
/// ```
/// - Parameters: input d ≥ 0 (distances ‖q_i − k_j‖, one row per query); `p` ≥ 1 (2), `eps` ε > 0
///   (1e-3), the repository defaults. The output `w @ V` is the caller's matrix product.
/// - Stability: ε > 0 removes the division by zero at q = k; the weights go through the
///   max-shifted softmax kernel. At d = 0 the p > 1 derivative is 0 (p = 1: the right derivative).
/// - Reference: McCarter, "Inverse distance weighting attention", 2023
///   (calvinmccarter/idw-attention `simple_nnnet.py`, method `neglog-dist`). Catalogue: losses §21.
public struct IDWAttention: OutputMap {
    public static let id = "idw_attention"
    public let p: Double
    public let eps: Double
    public init(p: Double = 2, eps: Double = 1e-3) { self.p = p; self.eps = eps }

    /// w of one row into `w` (after checking d ≥ 0).
    func weights(_ d: UnsafePointer<Double>, count n: Int, base: Int, into w: UnsafeMutablePointer<Double>) throws {
        for j in 0..<n {
            guard d[j] >= 0 else {
                throw RegulaError.invalidArgument("idw_attention takes distances >= 0; got \(d[j]) at flat index \(base + j)")
            }
            w[j] = -log(eps + pow(d[j], p))
        }
        _ = Kernels.softmax(UnsafePointer(w), count: n, into: w)
    }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        for i in 0..<rows { try weights(x.data + i * n, count: n, base: i * n, into: y.data + i * n) }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        for i in 0..<rows {
            let d = x.data + i * n, u = cotangent.data + i * n, w = gx.data + i * n
            try weights(d, count: n, base: i * n, into: w)
            var uw = 0.0
            for j in 0..<n { uw += u[j] * w[j] }
            for j in 0..<n {
                let dp1 = d[j] > 0 ? pow(d[j], p - 1) : (p == 1 ? 1 : 0)
                w[j] = -p * dp1 / (eps + pow(d[j], p)) * w[j] * (u[j] - uw)
            }
        }
    }
}

extension Registry {
    static let attentionMaps: [Entry] = [
        .map("wcdas", family: "angular_softmax", summary: "WCDAS: cosine similarities → wrapped-Cauchy logits with per-class concentration",
             formula: "logit = s/(2·3.14) · (1 − ρ²)/(1 + ρ² − 2ρc), ρ = sigmoid(g), s = 1 + softplus(s_) or 250",
             reference: "Wrapped Cauchy Distributed Angular Softmax for Long-Tailed Visual Recognition (Han et al., ICML 2023)",
             notes: "The 3.14 literal is kept from boranhan/WCDAS_code models/Loss.py; ρ clamped to ≤ 1 − 1e-6; inputs outside [−1, 1] (beyond 1e-6) are errors. Gradients w.r.t. g and s_ are not exposed by the map.",
             params: [.real("g", 0, "shared concentration logit, ρ = sigmoid(g)"),
                      .real("s_", 0, "raw scale, s = 1 + softplus(s_) when s_trainable"),
                      .bool("s_trainable", true, "false: fixed s = 250")],
             data: [InputSpec("g_per_class", required: false, "per-class concentration logits (K,)")],
             check: CheckSpec(shapes: [[3, 5], [6], [2, 2, 4]], params: "g=0.7,s_=0.3", sample: { rng, shape in
                 let x = NDArray<Double>(shape: shape)
                 for i in 0..<x.count { x[i] = 1.9 * rng.uniform() - 0.95 }
                 return Sample(x: x)
             }),
             examples: [
                WorkedExample("c=[0.8,0.1,-0.5], g=0", x: [0.8, 0.1, -0.5], shape: [1, 3],
                              output: [0.449349, 0.175832, 0.115547],
                              vjp: ([1, 1, 1], [0.998553, 0.152898, 0.066027])),
                WorkedExample("fixed s = 250", params: "s_trainable=false", x: [0.8, 0.1, -0.5], shape: [1, 3],
                              output: [66.348195, 25.962337, 17.060965]),
             ]) { p in
            let gpc = p.array("g_per_class")?.asDoubles
            if let gpc, let bad = gpc.first(where: { !$0.isFinite }) {
                throw RegulaError.invalidParameter(name: "g_per_class", value: "\(bad)", reason: "must be finite")
            }
            return WCDAS(g: try p.real("g"), gPerClass: gpc, sRaw: try p.real("s_"), sTrainable: try p.bool("s_trainable"))
        },
        .map("idw_attention", family: "attention", summary: "inverse distance weighting attention weights from distances",
             formula: "w = softmax(−log(ε + d^p)) = (ε + d^p)^{-1}/Σ(ε + d^p)^{-1}; VJP −p d^{p−1} a w ⊙ (u − ⟨u,w⟩)",
             reference: "Inverse distance weighting attention (McCarter 2023)",
             notes: "Input is the distance row per query (method neglog-dist of calvinmccarter/idw-attention); negative distances are errors.",
             params: [.real("p", 2, min: 1, "distance power"), .real("eps", 1e-3, min: 0, minOpen: true, "ε")],
             check: CheckSpec(shapes: [[3, 5], [6], [2, 2, 4]], sample: { rng, shape in
                 let x = NDArray<Double>(shape: shape)
                 for i in 0..<x.count { x[i] = 0.05 + abs(rng.normal()) }
                 return Sample(x: x)
             }),
             examples: [
                WorkedExample("d=[0.5,1,2]", x: [0.5, 1, 2], shape: [1, 3], output: [0.761334, 0.190904, 0.047762],
                              vjp: ([1, 0, 0], [-0.723922, 0.290393, 0.036354])),
                WorkedExample("q = k (d = 0): finite, zero derivative at d = 0", x: [0, 1], shape: [1, 2],
                              output: [0.999001996, 0.000998004], vjp: ([1, 0], [0, 0.001992024])),
             ]) { p in IDWAttention(p: try p.real("p"), eps: try p.real("eps")) },
    ]
}
