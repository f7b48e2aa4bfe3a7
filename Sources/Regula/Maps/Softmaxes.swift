// Regula — softmax alternatives along the last axis: 1.5-entmax, top-k sparse softmax,
// StableMax, softpick and the Gumbel-softmax.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// 1.5-entmax: a sparse, smooth softmax alternative, row-wise.
/// ```
/// p = max(z/2 − τ, 0)²,  τ such that Σp = 1  (exact sort algorithm, Kernels.entmax15Threshold)
/// VJP (symmetric Jacobian): g = sqrt(p);  Jᵀv = g ⊙ v − g · (gᵀv) / Σ_k g_k
/// ```
/// - Stability: τ is computed on (z − max z)/2, so |z| = 1e4 gives an exact one-hot.
/// - Reference: Peters, Niculae & Martins, "Sparse Sequence-to-Sequence Models", 2019
///   (entmax package, deep-spin/entmax `_entmax_threshold_and_support`). Catalogue: losses §7.
public struct Entmax15: OutputMap {
    public static let id = "entmax15"
    public init() {}

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let (rows, k) = x.lastAxis
        Parallel.rows(rows, cols: k) { i, scratch in
            let z = x.data + i * k, p = y.data + i * k
            let (tau, m) = Kernels.entmax15Threshold(z, count: k, scratch: scratch)
            for j in 0..<k { let g = Swift.max((z[j] - m) / 2 - tau, 0); p[j] = g * g }
        }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        let (rows, k) = x.lastAxis
        Parallel.rows(rows, cols: k) { i, scratch in
            let z = x.data + i * k, v = cotangent.data + i * k, out = gx.data + i * k
            let (tau, m) = Kernels.entmax15Threshold(z, count: k, scratch: scratch)
            var sg = 0.0, sgv = 0.0
            for j in 0..<k {
                let g = Swift.max((z[j] - m) / 2 - tau, 0)  // sqrt(p_j)
                sg += g; sgv += g * v[j]
            }
            let ratio = sg > 0 ? sgv / sg : 0
            for j in 0..<k { let g = Swift.max((z[j] - m) / 2 - tau, 0); out[j] = g * (v[j] - ratio) }
        }
    }
}

/// Sparse-softmax: the softmax restricted to the k largest logits of each row.
/// ```
/// Ω_k = indices of the k largest z (ties → lowest index);  p_j = exp(z_j − LSE_Ω(z)) on Ω_k, 0 off Ω_k
/// VJP (Ω_k locally constant): (Jᵀu)_j = p_j (u_j − Σ_{i∈Ω} p_i u_i) on Ω_k, 0 elsewhere
/// ```
/// - Parameters: `k` ≥ 1 (required); k ≥ K gives the ordinary softmax.
/// - Stability: the max-shifted softmax kernel over Ω_k; entries off Ω_k are exactly 0 (−∞, not a
///   large negative constant).
/// - Reference: Sun et al., "Sparse-softmax: A Simpler and Faster Alternative Softmax
///   Transformation", 2021. Catalogue: losses §8 (medium confidence; the map itself is unambiguous).
public struct SparseSoftmaxTopK: OutputMap {
    public static let id = "sparse_softmax_topk"
    public let k: Int
    public init(k: Int) { self.k = k }

    /// Indices of the top-k entries of one row (value descending, index ascending on ties).
    func support(_ z: UnsafePointer<Double>, count n: Int, into idx: inout [Int]) {
        idx.removeAll(keepingCapacity: true)
        idx.append(contentsOf: 0..<n)
        idx.sort { z[$0] > z[$1] || (z[$0] == z[$1] && $0 < $1) }
        idx.removeLast(Swift.max(n - k, 0))
    }

    /// Writes p over the row (zeros off the support); `buf` holds the gathered logits.
    func row(_ z: UnsafePointer<Double>, count n: Int, idx: inout [Int], buf: UnsafeMutablePointer<Double>,
             p: UnsafeMutablePointer<Double>) {
        support(z, count: n, into: &idx)
        for (a, j) in idx.enumerated() { buf[a] = z[j] }
        _ = Kernels.softmax(UnsafePointer(buf), count: idx.count, into: buf)
        for j in 0..<n { p[j] = 0 }
        for (a, j) in idx.enumerated() { p[j] = buf[a] }
    }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        var idx = [Int](); idx.reserveCapacity(n)
        let buf = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(n, 1)); defer { buf.deallocate() }
        for i in 0..<rows { row(x.data + i * n, count: n, idx: &idx, buf: buf, p: y.data + i * n) }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        var idx = [Int](); idx.reserveCapacity(n)
        let buf = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(n, 1)); defer { buf.deallocate() }
        let p = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(n, 1)); defer { p.deallocate() }
        for i in 0..<rows {
            let u = cotangent.data + i * n, out = gx.data + i * n
            row(x.data + i * n, count: n, idx: &idx, buf: buf, p: p)
            var pu = 0.0
            for j in 0..<n { pu += p[j] * u[j] }
            for j in 0..<n { out[j] = p[j] * (u[j] - pu) }  // p_j = 0 off Ω_k
        }
    }
}

/// StableMax: a softmax alternative whose "exp" grows linearly, so it cannot overflow.
/// ```
/// s(x) = x + 1 (x ≥ 0),  1/(1 − x) (x < 0);   q_k = s(z_k) / Σ_j s(z_j)
/// VJP: r_k = s'(z_k)/s(z_k) = 1/(1 + z_k) (z_k ≥ 0), 1/(1 − z_k) (z_k < 0);  (Jᵀu)_k = q_k r_k (u_k − ⟨u, q⟩)
/// ```
/// - Stability: not shift-invariant and needs no shift; each branch of s is evaluated on its own
///   side only (Kernels.stablemaxScore: a branch-free float32 form gives NaN gradients at x = 1).
///   The repository's 1e-30 in the denominator is irrelevant in float64 and omitted.
/// - Reference: Prieto et al., "Grokking at the Edge of Numerical Stability", 2025
///   (LucasPrietoAl/grokking-at-the-edge-of-numerical-stability `utils.py`). Catalogue: losses §9.
public struct StableMax: OutputMap {
    public static let id = "stablemax"
    public init() {}

    /// s(x) (Kernels.stablemaxScore, shared with stablemax_cross_entropy).
    @inlinable static func s(_ x: Double) -> Double { Kernels.stablemaxScore(x).value }
    /// s(x) without a branch: 1/(1 − min(x, 0)) is finite on both sides, then a select (the
    /// sign of random logits defeats branch prediction; this form vectorises).
    @inlinable static func sSelect(_ x: Double) -> Double {
        let negative = 1 / (1 - (x < 0 ? x : 0))
        return x >= 0 ? x + 1 : negative
    }
    /// r(x) = s'(x)/s(x): 1/(1 + x) for x ≥ 0, s(x) = 1/(1 − x) for x < 0.
    @inlinable static func r(_ x: Double) -> Double { let (v, d) = Kernels.stablemaxScore(x); return d / v }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        Parallel.chunks(rows, minimum: Swift.max(2, Parallel.threshold / Swift.max(n, 1))) { _, range in
            for i in range {
                let z = x.data + i * n, q = y.data + i * n
                var total = 0.0
                for j in 0..<n { let v = Self.sSelect(z[j]); q[j] = v; total += v }
                let inv = 1 / total
                for j in 0..<n { q[j] *= inv }
            }
        }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        Parallel.chunks(rows, minimum: Swift.max(2, Parallel.threshold / Swift.max(n, 1))) { _, range in
            for i in range {
                let z = x.data + i * n, u = cotangent.data + i * n, out = gx.data + i * n
                var total = 0.0, su = 0.0
                for j in 0..<n { let v = Self.sSelect(z[j]); out[j] = v; total += v; su += v * u[j] }
                let qu = su / total  // ⟨u, q⟩
                for j in 0..<n { out[j] = out[j] / total * Self.r(z[j]) * (u[j] - qu) }
            }
        }
    }
}

/// Softpick: a rectified, not-sum-to-one softmax for attention rows, with an optional mask.
/// ```
/// stable form: m = max_{j unmasked} x_j,  E_j = e^{x_j − m},  a_j = E_j − e^{−m},  D = Σ_j |a_j| + ε
/// out_i = ReLU(a_i) / D  (masked entries: E = a = out = 0)
/// VJP: σ_k = +1 if x_k > 0 else −1;  (Jᵀu)_k = (E_k/D) ([x_k > 0] u_k − σ_k Σ_i out_i u_i)
/// ```
/// - Parameters: `eps` ε > 0 (1e-8, the naive reference's value); input `mask` (optional, same
///   shape as x or its trailing dimensions, e.g. a (T, T) causal mask): nonzero = keep,
///   0 = masked (the −∞ logits of the reference). Masked entries are the only way to pass −∞.
/// - Stability: the e^{−m}-rescaled form never overflows; a fully masked row is all zeros (the
///   reference gives NaN there). Outputs are 0 wherever x ≤ 0; rows sum to ≤ 1.
/// - Reference: Zuhri et al., "Softpick: No Attention Sink, No Massive Activations with Rectified
///   Softmax", 2025 (zaydzuhri/softpick-attention `naive_softpick_attn.py`). Catalogue: losses §12.
public struct Softpick: OutputMap {
    public static let id = "softpick"
    public let eps: Double
    public init(eps: Double = 1e-8) { self.eps = eps }

    /// The mask as keep flags indexed by flat index modulo its count (nil = keep all).
    static func mask(_ inputs: Inputs, shape: [Int]) throws -> [Bool]? {
        guard inputs.has("mask") else { return nil }
        let (ms, mv) = try inputs.real("mask")
        guard ms.count <= shape.count, Array(shape.suffix(ms.count)) == ms else {
            throw RegulaError.shape("mask \(ms) must equal the input shape \(shape) or its trailing dimensions")
        }
        return mv.map { $0 != 0 }
    }

    /// Per-row (e^{−m}, D) with E_j written into `e` (0 for masked entries); nil for a fully masked row.
    func row(_ x: UnsafePointer<Double>, count n: Int, keep: [Bool]?, base: Int,
             e: UnsafeMutablePointer<Double>) -> (em: Double, d: Double)? {
        func kept(_ j: Int) -> Bool { keep.map { $0[(base + j) % $0.count] } ?? true }
        var m = -Double.infinity
        for j in 0..<n where kept(j) { m = Swift.max(m, x[j]) }
        guard m > -.infinity else { for j in 0..<n { e[j] = 0 }; return nil }
        let em = exp(-m)  // underflows to 0 for large m: then a_j = E_j, as in the reference
        var d = eps
        for j in 0..<n {
            e[j] = kept(j) ? exp(x[j] - m) : 0  // shifted: every E_j ≤ 1
            if kept(j) { d += abs(e[j] - em) }
        }
        return (em, d)
    }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let keep = try Self.mask(inputs, shape: x.shape)
        let (rows, n) = x.lastAxis
        for i in 0..<rows {
            let out = y.data + i * n
            guard let (em, d) = row(x.data + i * n, count: n, keep: keep, base: i * n, e: out) else { continue }
            for j in 0..<n { out[j] = Swift.max(out[j] - em, 0) / d }  // masked: E = 0 → 0
        }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        let keep = try Self.mask(inputs, shape: x.shape)
        let (rows, n) = x.lastAxis
        for i in 0..<rows {
            let z = x.data + i * n, u = cotangent.data + i * n, e = gx.data + i * n
            guard let (em, d) = row(z, count: n, keep: keep, base: i * n, e: e) else { continue }
            var ou = 0.0  // Σ_i out_i u_i
            for j in 0..<n { ou += Swift.max(e[j] - em, 0) / d * u[j] }
            for j in 0..<n {
                let pos = z[j] > 0
                e[j] = e[j] / d * ((pos ? u[j] : 0) - (pos ? ou : -ou))
            }
        }
    }
}

/// Gumbel-softmax (torch semantics), soft or straight-through hard, with reproducible noise.
/// ```
/// G_k = −log E_k, E_k ~ Exp(1);  y = softmax((z + G)/τ)
/// hard: forward h = one_hot(argmax_k y_k) (ties → first index), backward through y (straight-through)
/// VJP (noise fixed): Jᵀv = (1/τ) y ⊙ (v − ⟨y, v⟩)   (the same for hard)
/// ```
/// - Parameters: `tau` τ > 0 (1.0), `hard` (false), `seed` (0). State `step` (update it once per
///   training step): the noise is a deterministic function of (seed, step, flat index), so a
///   forward and its VJP at the same step see the same G. Input `gumbel` (optional, same shape):
///   explicit noise G, used instead of the generator (reproducing a run, tests).
/// - Stability: E = −log U with U ∈ (0, 1) strictly (half-ulp offset), so G is finite; the
///   softmax of (z + G)/τ is max-shifted (small τ inflates logits).
/// - Reference: Jang, Gu & Poole, "Categorical Reparameterization with Gumbel-Softmax", 2017;
///   torch.nn.functional.gumbel_softmax. Catalogue: losses §11.
public final class GumbelSoftmax: OutputMap, Stateful, @unchecked Sendable {
    public static let id = "gumbel_softmax"
    public let tau: Double
    public let hard: Bool
    public let seed: Int
    private let lock = Mutex()
    private var step = 0

    public init(tau: Double = 1, hard: Bool = false, seed: Int = 0) {
        self.tau = tau; self.hard = hard; self.seed = seed
    }

    public var currentStep: Int { lock.locked { step } }

    public func update(_ values: [String: ParamValue]) throws {
        if case .int(let s)? = values["step"] { lock.locked { step = s } }
    }

    /// The Gumbel noise for x's shape at the current step (or the explicit `gumbel` input).
    func noise(_ inputs: Inputs, shape: [Int], count: Int) throws -> [Double] {
        if inputs.has("gumbel") {
            let (s, v) = try inputs.real("gumbel")
            guard s == shape else { throw RegulaError.shape("gumbel noise \(s) must match the input \(shape)") }
            return v
        }
        let mixed = UInt64(bitPattern: Int64(seed)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(currentStep))
        var rng = RNG(seed: mixed)
        return (0..<count).map { _ in
            let u = (Double(rng.next() >> 11) + 0.5) * 0x1.0p-53  // U ∈ (0, 1): E > 0 and finite
            return -log(-log(u))
        }
    }

    /// y = softmax((z + G)/τ) of one row into `y`.
    func soft(_ z: UnsafePointer<Double>, _ g: ArraySlice<Double>, count n: Int, into y: UnsafeMutablePointer<Double>) {
        var j = 0
        for gk in g { y[j] = (z[j] + gk) / tau; j += 1 }
        _ = Kernels.softmax(UnsafePointer(y), count: n, into: y)
    }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        let g = try noise(inputs, shape: x.shape, count: x.count)
        for i in 0..<rows {
            let out = y.data + i * n
            soft(x.data + i * n, g[(i * n)..<((i + 1) * n)], count: n, into: out)
            guard hard, n > 0 else { continue }
            var best = 0
            for j in 1..<n where out[j] > out[best] { best = j }  // ties → first index
            for j in 0..<n { out[j] = j == best ? 1 : 0 }
        }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        let (rows, n) = x.lastAxis
        let g = try noise(inputs, shape: x.shape, count: x.count)
        for i in 0..<rows {
            let v = cotangent.data + i * n, out = gx.data + i * n
            soft(x.data + i * n, g[(i * n)..<((i + 1) * n)], count: n, into: out)
            var yv = 0.0
            for j in 0..<n { yv += out[j] * v[j] }
            for j in 0..<n { out[j] = out[j] * (v[j] - yv) / tau }
        }
    }
}

extension Registry {
    static let softmaxes: [Entry] = [
        .map("entmax15", family: "sparse_maps", summary: "1.5-entmax: sparse, smooth softmax alternative",
             formula: "p = max(z/2 − τ, 0)², Σp = 1; VJP: g ⊙ v − g (gᵀv)/Σg, g = sqrt(p)",
             reference: "Sparse Sequence-to-Sequence Models (Peters, Niculae & Martins 2019); deep-spin/entmax",
             check: CheckSpec(shapes: [[3, 4], [5], [2, 3, 6]]),
             examples: [
                WorkedExample("z=[2,1,-1]", x: [2, 1, -1], shape: [1, 3], output: [0.830719, 0.169281, 0],
                              vjp: ([1, 0, 0], [0.283473, -0.283473, 0])),
                WorkedExample("z=[1,0.8,-1]", x: [1, 0.8, -1], shape: [1, 3], output: [0.570534, 0.429466, 0]),
                WorkedExample("1e4 logits", x: [1e4, 0, -1e4], shape: [1, 3], output: [1, 0, 0]),
             ]) { _ in Entmax15() },
        .map("sparse_softmax_topk", family: "sparse_maps",
             summary: "softmax restricted to the k largest logits of each row",
             formula: "p_j = exp(z_j − LSE_{Ω_k}(z)) on the top-k set Ω_k, 0 elsewhere; VJP p ⊙ (u − ⟨p,u⟩)",
             reference: "Sparse-softmax: A Simpler and Faster Alternative Softmax Transformation (Sun et al. 2021)",
             confidence: "medium",
             notes: "Ties in the top-k selection go to the lowest index; k ≥ K is the ordinary softmax. The catalogue's open point (target forced into Ω_k) concerns the loss, not this map.",
             params: [.int("k", nil, min: 1, "number of logits kept per row (required)")],
             check: CheckSpec(shapes: [[3, 4], [5], [2, 3, 6]], params: "k=2"),
             examples: [
                WorkedExample("k=2", params: "k=2", x: [2, 1, -1], shape: [1, 3], output: [0.731059, 0.268941, 0],
                              vjp: ([1, 0, 0], [0.196612, -0.196612, 0])),
                WorkedExample("k=3 is softmax", params: "k=3", x: [2, 1, -1], shape: [1, 3],
                              output: [0.705385, 0.259496, 0.035119]),
                WorkedExample("1e4 logits", params: "k=2", x: [1e4, 0, -1e4], shape: [1, 3], output: [1, 0, 0]),
             ]) { p in
            guard let k = p.optionalInt("k") else {
                throw RegulaError.invalidParameter(name: "k", value: "", reason: "required (number of logits kept per row)")
            }
            return SparseSoftmaxTopK(k: k)
        },
        .map("stablemax", family: "softmax_alternatives", summary: "StableMax: softmax with a linearly growing s(x) (no overflow)",
             formula: "q = s(z)/Σs(z), s(x) = x+1 (x ≥ 0), 1/(1−x) (x < 0); VJP q ⊙ r ⊙ (u − ⟨u,q⟩), r = s'/s",
             reference: "Grokking at the Edge of Numerical Stability (Prieto et al. 2025)",
             check: CheckSpec(shapes: [[3, 4], [5], [2, 3, 6]]),
             examples: [
                WorkedExample("z=[2,1,-1]; VJP = q_0 × (−∂CE/∂z) of the catalogue", x: [2, 1, -1], shape: [1, 3],
                              output: [0.545455, 0.363636, 0.090909],
                              vjp: ([1, 0, 0], [0.082645, -0.099174, -0.024793])),
                WorkedExample("1e4 logits", x: [1e4, -1e4, 0], shape: [1, 3],
                              output: [0.99990001, 9.99700060e-9, 9.99800030e-5]),
             ]) { _ in StableMax() },
        .map("softpick", family: "softmax_alternatives", summary: "softpick: rectified softmax for attention (rows sum ≤ 1), with a mask",
             formula: "out_i = ReLU(e^{x_i} − 1)/(Σ_j |e^{x_j} − 1| + ε), evaluated as ReLU(a_i)/(Σ|a_j| + ε), a_j = e^{x_j−m} − e^{−m}",
             reference: "Softpick: No Attention Sink, No Massive Activations with Rectified Softmax (Zuhri et al. 2025)",
             notes: "Masked entries come only through the `mask` input (nonzero = keep); non-finite inputs are errors. A fully masked row gives zeros. ε follows the naive reference (1e-8; the flash kernel uses 1e-6).",
             params: [.real("eps", 1e-8, min: 0, minOpen: true, "ε in the denominator")],
             inputs: [InputSpec("mask", required: false, "keep flags (nonzero = keep), the input's shape or its trailing dims")],
             check: CheckSpec(shapes: [[3, 5], [6], [2, 2, 4]], sample: { rng, shape in
                 let x = NDArray<Double>(shape: shape)
                 for i in 0..<x.count { x[i] = rng.normal() }
                 let k = shape.last ?? 1
                 let m = NDArray<Double>(shape: [k])
                 for j in 0..<k { m[j] = j == 1 ? 0 : 1 }  // one masked column
                 return Sample(x: x, inputs: ["mask": .real(shape: [k], values: m.values)])
             }),
             examples: [
                WorkedExample("x=[2,1,-1]", x: [2, 1, -1], shape: [1, 3], output: [0.731059, 0.196612, 0],
                              vjp: ([1, 0, 0], [0.227385, -0.227385, 0.030773])),
                WorkedExample("masked [1, -inf, 0.5]", x: [1, 0, 0.5], shape: [1, 3],
                              inputs: ["mask": .real(shape: [1, 3], values: [1, 0, 1])], output: [0.725931, 0, 0.274069]),
                WorkedExample("fully masked row", x: [1, 2, 3], shape: [1, 3],
                              inputs: ["mask": .real(shape: [3], values: [0, 0, 0])], output: [0, 0, 0],
                              vjp: ([1, 1, 1], [0, 0, 0])),
                WorkedExample("1e4 logits", x: [1e4, 0, -1e4], shape: [1, 3], output: [1, 0, 0]),
             ]) { p in Softpick(eps: try p.real("eps")) },
        .map("gumbel_softmax", family: "softmax_alternatives", summary: "Gumbel-softmax sample (soft or straight-through hard), seeded per step",
             formula: "y = softmax((z + G)/τ), G = −log(Exp(1)); hard: one_hot(argmax y) forward, VJP of y",
             reference: "Categorical Reparameterization with Gumbel-Softmax (Jang, Gu & Poole 2017); torch.nn.functional.gumbel_softmax",
             notes: "Noise is a deterministic function of (seed, step, flat index) from Regula's xoshiro256** RNG (not torch's stream); advance `step` with update. Input `gumbel` overrides the noise.",
             params: [.real("tau", 1, min: 0, minOpen: true, "temperature τ"),
                      .bool("hard", false, "straight-through one-hot forward"),
                      .int("seed", 0, min: 0, "noise seed")],
             inputs: [InputSpec("gumbel", required: false, "explicit Gumbel noise G, same shape as the input")],
             state: [.int("step", 0, min: 0, "training step (selects the noise)")],
             check: CheckSpec(shapes: [[3, 5], [6], [2, 2, 4]], params: "tau=0.7"),
             examples: [
                WorkedExample("fixed G, τ=0.5", params: "tau=0.5", x: [2, 1, -1], shape: [1, 3],
                              inputs: ["gumbel": .real(shape: [1, 3], values: [0.1, -0.2, 0.5])],
                              output: [0.926106, 0.068785, 0.005109]),
                WorkedExample("hard, fixed G, τ=0.5", params: "tau=0.5,hard=true", x: [2, 1, -1], shape: [1, 3],
                              inputs: ["gumbel": .real(shape: [1, 3], values: [0.1, -0.2, 0.5])],
                              output: [1, 0, 0]),
             ]) { p in GumbelSoftmax(tau: try p.real("tau"), hard: try p.bool("hard"), seed: try p.int("seed")) },
    ]
}
