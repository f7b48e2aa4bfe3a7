// Regula engine — AutoSparse gradient annealing: a learnable soft threshold on a weight tensor
// whose backward lets masked weights keep a share α of their gradient.

#if canImport(Glibc)
import Glibc
#endif

/// `autosparse_ga` as a graph op on inputs (W, s): τ = sigmoid(s), Ŵ = sign(W)·max(|W| − τ, 0).
/// ```
/// backward: ∂Ŵ/∂W = 1 where |W| > τ, α where masked (gradient annealing; α = 0 is STR's ReLU)
///           ∂L/∂s = Σ_i ∂L/∂Ŵ_i · (−sign W_i) · (1 or α) · τ(1 − τ)
/// ```
/// α follows `AutoSparseThreshold.alpha(progress:alpha0:reset:)`, set by the trainer per epoch.
/// Threshold per layer (s of one entry) or per output row (s of `rows` entries, the
/// `autosparse` channelwise form of penalties_sparsity §20; ∂L/∂s_r sums over row r). Reference: "AUTOSPARSE: Towards Automated Sparse Training
/// of Deep Neural Networks" (Kundu et al.); catalogue transforms §10 (medium: non-cumulative decay).
public final class AutoSparseThreshold: GraphOp {
    public let label = "autosparse_ga"
    /// The current gradient share of masked weights.
    public var alpha: Double

    public init(alpha: Double) { self.alpha = alpha }

    /// α_t = α0·max(½(1 + cos(π p)), 1 − sigmoid(−6 + 12 p)) for progress p = t/T < reset, else 0.
    public static func alpha(progress p: Double, alpha0: Double, reset: Double) -> Double {
        if p >= reset { return 0 }
        let cosine = 0.5 * (1 + cos(Double.pi * p))
        let sig = 1 - 1 / (1 + exp(-(-6 + 12 * p)))
        return alpha0 * Swift.max(cosine, sig)
    }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        let rows = inputs.first.flatMap { $0.exact?.first } ?? 1
        guard inputs.count == 2, let n = inputs[1].exact?.reduce(1, *), n == 1 || n == rows else {
            throw GraphError.shape("autosparse_ga takes a weight tensor and a threshold parameter of 1 or one per row")
        }
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let w = inputs[0], s = inputs[1], cols = w.count / Swift.max(s.count, 1)
        for i in 0..<w.count {
            let tau = 1 / (1 + exp(-s[i / cols]))
            let a = abs(w[i]) - tau
            out[i] = a > 0 ? (w[i] > 0 ? a : -a) : 0
        }
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into g: [Tensor<Double>?]) throws {
        let w = inputs[0], s = inputs[1], cols = w.count / Swift.max(s.count, 1)
        for r in 0..<s.count {
            let tau = 1 / (1 + exp(-s[r]))
            var ds = 0.0
            for i in r * cols ..< (r + 1) * cols {
                let factor = abs(w[i]) > tau ? 1 : alpha
                g[0]?[i] += outGrad[i] * factor
                ds -= outGrad[i] * Kernels.sign(w[i]) * factor
            }
            if let gs = g[1] { gs[r] += ds * tau * (1 - tau) }
        }
    }
}
