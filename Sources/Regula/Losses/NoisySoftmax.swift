// Regula — Noisy Softmax: cross-entropy with annealed, angle-dependent noise on the target logit.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Cross-entropy after lowering each row's target logit by a fixed noise magnitude `|ξ_i|`
/// (the deterministic core of `noisy_softmax`, public so the noise can be fixed in tests).
/// ```
/// z̃_iy = z_iy − α·max(r_i − z_iy, 0)·|ξ_i|,  ℓ_i = LSE(z̃_i) − z̃_iy,  p̃ = softmax(z̃_i)
/// ∂ℓ_i/∂z_ik = p̃_k (k ≠ y),  ∂ℓ_i/∂z_iy = (p̃_y − 1)(1 + α|ξ_i|) (1 when r_i < z_iy)
/// ∂ℓ_i/∂r_i = (1 − p̃_y) α|ξ_i|   (not returned: the loss API gives ∂/∂z only)
/// ```
public struct NoisySoftmaxRows: RowLoss {
    public let alpha: Double
    /// |ξ_i| per row.
    public let magnitudes: [Double]
    public init(alpha: Double, magnitudes: [Double]) { self.alpha = alpha; self.magnitudes = magnitudes }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        var t = try rowTargets(rows: rows, classes: classes, target: target, allowReal: false)
        let (shape, r) = try inputs.real("r")
        guard r.count == rows else {
            throw RegulaError.shape("input 'r' \(shape) holds \(r.count) values for \(rows) rows of logits")
        }
        if let bad = r.firstIndex(where: { !$0.isFinite }) { throw RegulaError.nonFinite(what: "input 'r'", index: bad) }
        guard magnitudes.count == rows else { throw RegulaError.internal("noise drawn for \(magnitudes.count) rows, not \(rows)") }
        t.reals = r
        return t
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }  // every row weighs 1

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let y = target.labels![i], r = target.reals![i], xi = magnitudes[i]
        let gap = r - z[y]  // ‖W_y‖‖x‖(1 − cos θ_y) ≥ 0; clamped against rounding (and r < |z_y| misuse)
        for c in 0..<k { g[c] = z[c] }
        g[y] = z[y] - alpha * Swift.max(gap, 0) * xi  // z̃ built in g, then g is overwritten below
        let lse = Kernels.softmax(UnsafePointer(g), count: k, into: p)
        let loss = lse - g[y]
        for c in 0..<k { g[c] = p[c] }
        g[y] = (p[y] - 1) * (gap > 0 ? 1 + alpha * xi : 1)
        return (loss, 1)
    }
}

/// Noisy Softmax: cross-entropy whose target logit `‖W_y‖‖x‖cos θ_y` is replaced by
/// `‖W_y‖‖x‖cos θ_y − α‖W_y‖‖x‖(1 − cos θ_y)|ξ|`, ξ ~ N(0, σ²) fresh per sample and step. In a
/// logits-only API the caller passes `r_i = ‖W_{y_i}‖‖x_i‖`, so the noise is `α(r_i − z_iy)|ξ_i|`;
/// it only lowers the target logit and vanishes as θ_y → 0 (annealed).
/// ```
/// z̃_iy = z_iy − α(r_i − z_iy)|ξ_i|,  ℓ_i = LSE(z̃_i) − z̃_iy
/// ∂ℓ_i/∂z_ik = p̃_k (k ≠ y),  ∂ℓ_i/∂z_iy = (p̃_y − 1)(1 + α|ξ_i|)
/// ```
/// - Parameters: `alpha` α ≥ 0 (required), `sigma` σ ≥ 0 (1), `seed` (0). State: `step` ≥ 0.
///   Input `r` (batch,): ‖W_{y_i}‖‖x_i‖ ≥ |z_iy|. Integer labels. Training only (evaluate with plain CE).
/// - Decisions: ξ_i is a deterministic function of (seed, step, row): one xoshiro stream seeded by
///   (seed, step), drawn in row order — repeated evaluations at one step agree (finite differences),
///   and the caller draws fresh noise by advancing `step` with update("step=N"). α has no default:
///   the paper's value could not be re-read (only the abstract was reachable), so it is required;
///   σ = 1 follows the catalogue. The (1 − cos θ) form is the catalogue's (medium-low confidence).
///   ∂ℓ/∂r = (1 − p̃_y)α|ξ| is not returned (the loss API returns ∂/∂z only).
/// - Stability: as cross-entropy (max-shifted LSE on z̃); r − z_y is clamped at ≥ 0.
/// - Reference: Chen, Deng, Du, "Noisy Softmax: Improving the Generalization Ability of DCNN via
///   Postponing the Early Softmax Saturation", CVPR 2017. Catalogue: losses §10.
public final class NoisySoftmax: SnapshotLoss, Stateful, @unchecked Sendable {
    public static let id = "noisy_softmax"
    public let alpha: Double, sigma: Double, seed: Int
    private let counter = Counter()

    public init(alpha: Double, sigma: Double = 1, seed: Int = 0) {
        self.alpha = alpha; self.sigma = sigma; self.seed = seed
    }

    public var step: Int { counter.value }

    public func update(_ values: [String: ParamValue]) throws {
        counter.apply(values, "step")
    }

    /// |ξ_i| for `rows` rows at `step` (σ|N(0, 1)|).
    public func noise(rows: Int, step: Int) -> [Double] {
        var rng = RNG(seed: UInt64(bitPattern: Int64(seed)) ^ (UInt64(bitPattern: Int64(step)) &* 0x9E37_79B9_7F4A_7C15))
        return (0..<rows).map { _ in sigma * abs(rng.normal()) }
    }

    public func snapshot(rows: Int) -> NoisySoftmaxRows {
        NoisySoftmaxRows(alpha: alpha, magnitudes: noise(rows: rows, step: step))
    }
}

extension Registry {
    static let noisySoftmax: [Entry] = [
        .loss("noisy_softmax", family: "noisy_softmax",
              summary: "Noisy Softmax: CE with annealed noise α(r − z_y)|ξ| subtracted from the target logit (seeded, stateful step)",
              formula: "z̃_y = z_y − α(r − z_y)|ξ|, ξ ~ N(0, σ²); ℓ = LSE(z̃) − z̃_y; ∂ℓ/∂z_y = (p̃_y − 1)(1 + α|ξ|), ∂ℓ/∂z_k = p̃_k",
              reference: "Noisy Softmax: Improving the Generalization Ability of DCNN via Postponing the Early Softmax Saturation (Chen, Deng & Du, CVPR 2017)",
              confidence: "medium-low",
              notes: "Noise is a deterministic function of (seed, step, row); advance `step` for fresh noise. alpha is required "
                + "(paper value not retrievable); sigma = 1 (catalogue). Caller passes r = ‖W_y‖‖x‖ (not recoverable from logits); "
                + "∂ℓ/∂r is not returned.",
              target: "labels (batch,)",
              params: [.real("alpha", nil, min: 0, "α, noise scale (required)"),
                       .real("sigma", 1, min: 0, "σ, standard deviation of ξ"),
                       .int("seed", 0, "seed of the noise stream")],
              inputs: [InputSpec("r", "‖W_y‖‖x‖ per row (batch,), at least |z_y|")],
              state: [.int("step", 0, min: 0, "training step: selects the noise draw")],
              check: CheckSpec(params: "alpha=0.5", sample: { rng, shape in
                  let x = NDArray<Double>(shape: shape)
                  for i in 0..<x.count { x[i] = 2 * rng.normal() }
                  let (rows, k) = x.tensor.lastAxis
                  let labels = (0..<rows).map { _ in rng.below(k) }
                  let r = (0..<rows).map { i in abs(x[i * k + labels[i]]) + 0.5 + rng.uniform() }
                  return Sample(x: x, inputs: ["r": .real(shape: [rows], values: r)],
                                target: .index(shape: [rows], values: labels))
              }),
              examples: [
                WorkedExample("σ = 0: plain CE", params: "alpha=0.1,sigma=0", x: [2, 1, -1], shape: [1, 3],
                              inputs: ["r": .real(shape: [1], values: [5])], target: .index(shape: [1], values: [0]),
                              value: 0.349012, gradient: [-0.294615, 0.259496, 0.035119]),
              ]) { p in
            guard let alpha = p.optionalReal("alpha") else {
                throw RegulaError.invalidParameter(name: "alpha", value: "unset", reason: "noisy_softmax needs the noise scale alpha (no published default)")
            }
            return NoisySoftmax(alpha: alpha, sigma: try p.real("sigma"), seed: try p.int("seed"))
        },
    ]
}
