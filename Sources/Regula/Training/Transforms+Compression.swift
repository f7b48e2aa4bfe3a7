// Regula — training transforms from the compression literature that act on the update:
// BackSlash's rate-constrained shrink with a global generalized-Gaussian shape estimate.

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
