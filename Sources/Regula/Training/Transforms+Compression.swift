// Regula — training transforms from the compression literature that act on the update:
// BackSlash's rate-constrained shrink and DeepShape's histogram reshaping (generalized-Gaussian priors).

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// `backslash` (post_step, global): after every optimizer step, with ν̂ estimated over all
/// parameters (moment matching, `GenGaussian.estimateShape`) and N their total count,
/// ```
/// w ← w − λ·(ν̂/N)·sign(w)·(|w| + c)^{ν̂−1}        (not scaled by the learning rate)
/// ```
/// one unit gradient step on (λ/N)·Σ(|w| + c)^ν̂. sign(0) = 0 keeps exact zeros.
/// - Decision (from the GG-prior authors' `gg_prior/backslash.py`, phuang1024/DBS): every
///   parameter tensor (biases and norm gains too, `model.parameters()`), one global ν̂, the shift
///   applied as written even if it crosses zero. λ must be re-tuned for small models (÷N).
/// - Reference: Wu, Wen, Han, "BackSlash: Rate Constrained Optimized Training of Large Language
///   Models" (ICML 2025); catalogue penalties_sparsity §14b (medium).
public final class BackSlash: StepTransform {
    public let id = "backslash", stage = TransformStage.postStep
    public let lambda: Double, clip: Double
    /// A fixed shape instead of the per-step estimate (nil: estimate).
    public let nu: Double?
    /// ν̂ of the last step (for logging).
    public private(set) var lastShape = 0.0

    public init(lambda: Double, clip: Double = 1, nu: Double? = nil) {
        self.lambda = lambda; self.clip = clip; self.nu = nu
    }

    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        var n = 0, sq = 0.0, ab = 0.0
        for p in params {
            n += p.count
            sq += Kernels.sumOfSquares(p.value, count: p.count)
            for i in 0..<p.count { ab += abs(p.value[i]) }
        }
        guard n > 0 else { return }
        let v = nu ?? GenGaussian.estimateShape(count: n, sumOfSquares: sq, sumOfAbs: ab)
        lastShape = v
        let c = lambda * v / Double(n)
        for p in params {
            for i in 0..<p.count {
                let w = p.value[i]
                p.value[i] = w - c * Kernels.sign(w) * pow(abs(w) + clip, v - 1)
            }
        }
    }
}

/// `deepshape` (post_step, one-shot, global): after optimizer step `at` (0-based), over all
/// parameters, with the 2^-13 grid q = round(w·2^13):
/// ```
/// p_max = the smallest positive grid value present at most `adj_minnum` times
/// on C = {w : |w| ≤ p_max·2^-13}: ν̂ (moment matching), σ = √(mean w²), μ = mean w,
///                                  β = √(Γ(1/ν̂)/Γ(3/ν̂))·σ
/// target GG on the grid x ∈ [μ_q − p_max, μ_q + p_max] (μ_q = trunc(μ·2^13)):
///   pmf(x) ∝ exp(−(|x − μ_q|/β')^ν'),  ν' = shape_scale·ν̂,  β' = std_scale·β·2^13
/// the parameters with q in that range, sorted ascending, get x in order, ⌊n·pmf(x)⌋ each
/// (histogram specification); the rest of the sorted range keeps q; every parameter ends on the grid.
/// ```
/// - Decision: as the authors' `GGD_deepshape` (phuang1024/DBS `gg_prior/deepshape.py`, read):
///   all parameters (biases too), ties broken by index; when no positive grid value is that rare
///   the transform fails with a message (the code's `torch.min` of an empty set).
/// - Reference: Wu, Xiong, Wen, Han, "It Takes a Good Model to Train a Good Model: Generalized
///   Gaussian Priors for Optimized LLMs" (2025); catalogue penalties_sparsity §14c (medium).
public final class DeepShape: StepTransform {
    public let id = "deepshape", stage = TransformStage.postStep
    public let at: Int, shapeScale: Double, stdScale: Double, minCount: Int
    /// What the reshaping used: p_max and μ_q (grid units), the target ν' and β' (grid units),
    /// the number of reshaped parameters.
    public private(set) var applied: (pmax: Int, mu: Int, shape: Double, beta: Double, count: Int)?
    static let scale = 8192.0  // 2^13

    public init(at: Int, shapeScale: Double = 0.8, stdScale: Double = 0.6, minCount: Int = 1000) {
        self.at = at; self.shapeScale = shapeScale; self.stdScale = stdScale; self.minCount = minCount
    }

    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        guard ctx.step == at else { return }
        var w: [Double] = []
        for p in params { w += UnsafeBufferPointer(start: p.value, count: p.count) }
        var q: [Int] = []
        q.reserveCapacity(w.count)
        for x in w {
            let v = (x * Self.scale).rounded(.toNearestOrEven)
            guard v.isFinite, abs(v) < 9e15 else {  // Int(v) would trap
                throw RegulaError.invalidArgument("deepshape: a weight of \(x) is outside the quantisation grid")
            }
            q.append(Int(v))
        }
        var counts: [Int: Int] = [:]
        for v in q { counts[v, default: 0] += 1 }
        guard let pmax = counts.filter({ $0.key > 0 && $0.value <= minCount }).keys.min() else {
            throw RegulaError.invalidArgument("deepshape: no positive grid value occurs at most adj_minnum = \(minCount) times; lower adj_minnum")
        }
        let bound = Double(pmax) / Self.scale
        var n = 0, sq = 0.0, ab = 0.0, sum = 0.0
        for x in w where abs(x) <= bound { n += 1; sq += x * x; ab += abs(x); sum += x }
        guard n > 0 else { return }  // nothing inside the centre bound: nothing to reshape
        let nu = GenGaussian.estimateShape(count: n, sumOfSquares: sq, sumOfAbs: ab)
        let beta = exp(0.5 * (lgamma(1 / nu) - lgamma(3 / nu))) * (sq / Double(n)).squareRoot() * Self.scale
        let mu = Int(sum / Double(n) * Self.scale)  // truncation, as int() in the code
        let newShape = nu * shapeScale, newBeta = beta * stdScale
        guard newBeta > 0 else { return }  // all-zero centre: nothing to reshape
        var range = q.indices.filter { q[$0] >= mu - pmax && q[$0] <= mu + pmax }
        range.sort { q[$0] < q[$1] || (q[$0] == q[$1] && $0 < $1) }
        let grid = Array(mu - pmax ... mu + pmax)
        let weights = grid.map { exp(-pow(abs(Double($0 - mu)) / newBeta, newShape)) }
        let total = weights.reduce(0, +)
        var out = q, next = 0
        for (x, weight) in zip(grid, weights) {
            let k = Swift.min(Int(Double(range.count) * weight / total), range.count - next)
            for i in range[next ..< next + k] { out[i] = x }
            next += k
        }
        var k = 0
        for p in params { for i in 0..<p.count { p.value[i] = Double(out[k]) / Self.scale; k += 1 } }
        applied = (pmax, mu, newShape, newBeta, range.count)
    }
}
