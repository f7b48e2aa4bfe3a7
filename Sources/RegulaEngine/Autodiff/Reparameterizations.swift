// Regula engine — weight reparameterisations as graph ops: row equilibration (weight
// conditioning) and SMCP's soft input-channel mask with a straight-through backward.

#if canImport(Glibc)
import Glibc
#endif

/// `weight_conditioning` (row mode) on a weight matrix W (rows = output units):
/// ```
/// W_c = D_r W,  D_r = diag(1/max(‖w_i‖, eps))        (every row gets unit norm)
/// ∂L/∂w_i = (I − c_i c_iᵀ) G_i / ‖w_i‖,  c_i = w_i/‖w_i‖, G = ∂L/∂W_c
/// ```
/// A zero row stays zero with a zero gradient (the eps floor; no NaN).
/// Reference: "Weight Conditioning for Smooth Optimization of Neural Networks" (Saratchandran,
/// Wang, Lucey, ECCV 2024); catalogue penalties_matrix §10 (medium-low: row equilibration as in
/// the third-party ivy implementation; the column modes are not implemented).
public final class WeightConditioning: GraphOp {
    public let label = "weight_conditioning"
    public let eps: Double
    public init(eps: Double = 1e-12) { self.eps = eps }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 1, inputs[0].exact != nil else { throw GraphError.shape("weight_conditioning takes one parameter tensor") }
        return inputs[0]
    }

    /// (row count, row length) of a (units, fan_in) tensor; rank 1 is one row.
    static func layout(_ t: Tensor<Double>) -> (Int, Int) {
        let rows = t.shape.count >= 2 ? t.shape[0] : 1
        return (rows, rows == 0 ? 0 : t.count / rows)
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let w = inputs[0], (rows, cols) = Self.layout(w)
        for r in 0..<rows {
            let n = Kernels.sumOfSquares(w.data + r * cols, count: cols).squareRoot()
            let s = n > eps ? 1 / n : 0  // eps floor: a zero row maps to zero
            for i in r * cols ..< (r + 1) * cols { out[i] = w[i] * s }
        }
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into g: [Tensor<Double>?]) throws {
        guard let gw = g[0] else { return }
        let w = inputs[0], (rows, cols) = Self.layout(w)
        for r in 0..<rows {
            let n = Kernels.sumOfSquares(w.data + r * cols, count: cols).squareRoot()
            guard n > eps else { continue }
            let c = output.data + r * cols, d = outGrad.data + r * cols
            let cd = Kernels.dot(c, d, count: cols)
            for i in 0..<cols { gw[r * cols + i] += (d[i] - cd * c[i]) / n }
        }
    }
}

/// `smcp_soft_mask` on a weight matrix W (rows = outputs, columns = input channels):
/// ```
/// forward  W_eff = W ⊙ M,  M = 1 on kept input channels (columns), 0 on pruned ones
/// backward ∂L/∂W = ∂L/∂W_eff + λ_pd·(1 − M)⊙W      (straight-through: pruned weights keep
///                                                   their gradient and can come back)
/// rewire   importance_j = Σ_o |W[o, j]|; keep the n − ⌊ratio·n⌋ most important columns
///          (ties: the lower index is kept)
/// ```
/// Reference: "Soft Masking for Cost-Constrained Channel Pruning" (Humble et al., ECCV 2022),
/// official NVlabs/SMCP (`parameter_masking.py`, `importance.py`, `decay.py`); catalogue
/// transforms §15. Decisions: magnitude importance (the code default), a per-layer ratio instead
/// of the global latency knapsack, importance summed over all outputs.
public final class SoftChannelMask: GraphOp {
    public let label = "smcp_soft_mask"
    /// λ_pd of the pruned-decay term (0: off).
    public let prunedDecay: Double
    /// 1 for kept columns, 0 for pruned ones (all kept until the first rewire).
    public private(set) var mask: [Double] = []
    private var order: [Int] = []

    public init(prunedDecay: Double = 2e-4) { self.prunedDecay = prunedDecay }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 1, let e = inputs[0].exact, e.count == 2 else {
            throw GraphError.shape("smcp_soft_mask takes one (outputs, inputs) weight matrix")
        }
        return inputs[0]
    }

    /// Recomputes the mask from the current weights so that ⌊ratio·columns⌋ columns are pruned.
    public func rewire(_ w: Tensor<Double>, ratio: Double) {
        let rows = w.shape[0], cols = w.shape[1]
        var importance = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for j in 0..<cols { importance[j] += abs(w[r * cols + j]) } }
        let pruned = Swift.min(Int((ratio * Double(cols)).rounded(.down)), cols)
        order = Array(0..<cols)
        order.sort { importance[$0] < importance[$1] || (importance[$0] == importance[$1] && $0 > $1) }
        mask = [Double](repeating: 1, count: cols)
        for j in order[0..<pruned] { mask[j] = 0 }
    }

    func m(_ j: Int) -> Double { mask.isEmpty ? 1 : mask[j] }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let w = inputs[0], cols = w.shape[1]
        for i in 0..<w.count { out[i] = w[i] * m(i % cols) }
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into g: [Tensor<Double>?]) throws {
        guard let gw = g[0] else { return }
        let w = inputs[0], cols = w.shape[1]
        for i in 0..<w.count { gw[i] += outGrad[i] + prunedDecay * (1 - m(i % cols)) * w[i] }
    }
}

/// `lora_dropout` on inputs (W, A, B), W (m×n), A (r×n) the down-projection, B (m×r) the
/// up-projection, scale s = α/r:
/// ```
/// train  W_eff = W + s·diag(m_B)·B·A·diag(m_A),  m_A ~ Bern(1−p)^n (A's input columns),
///                                                m_B ~ Bern(1−p)^m (B's output rows), fresh per forward
/// eval   W_eff = W + s·(1−p)²·B·A              (the masks' expectation)
/// backward with M = s·G ⊙ m_B m_Aᵀ:  ∂W = G,  ∂B = M Aᵀ,  ∂A = Bᵀ M
/// ```
/// No 1/(1−p) rescaling in training (the third-party implementation the catalogue cites).
/// Reference: "LoRA Dropout as a Sparsity Regularizer for Overfitting Control" (Lin et al. 2024);
/// catalogue transforms §12c (medium).
public final class LoRADropout: GraphOp {
    public let label = "lora_dropout"
    public let p: Double, scale: Double
    private var rng: RNG
    /// The masks of the last training forward (all 1 before the first).
    public private(set) var maskA: [Double] = [], maskB: [Double] = []
    private var training = false

    public init(p: Double, scale: Double, seed: UInt64) {
        self.p = p; self.scale = scale; rng = RNG(seed: seed)
    }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 3, let w = inputs[0].exact, w.count == 2, let a = inputs[1].exact, a.count == 2,
              let b = inputs[2].exact, b.count == 2, a[1] == w[1], b[0] == w[0], b[1] == a[0] else {
            throw GraphError.shape("lora_dropout takes W (m×n), A (r×n) and B (m×r)")
        }
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let w = inputs[0], a = inputs[1], b = inputs[2]
        let m = w.shape[0], n = w.shape[1], r = a.shape[0]
        self.training = training
        if training {
            maskA = (0..<n).map { _ in rng.uniform() < p ? 0 : 1 }
            maskB = (0..<m).map { _ in rng.uniform() < p ? 0 : 1 }
        }
        let keep = training ? 1 : (1 - p) * (1 - p)
        for i in 0..<m {
            for j in 0..<n {
                var ba = 0.0
                for k in 0..<r { ba += b[i * r + k] * a[k * n + j] }
                out[i * n + j] = w[i * n + j] + scale * keep * mask(i, j) * ba
            }
        }
    }

    /// m_B[i]·m_A[j] in training, 1 in evaluation.
    func mask(_ i: Int, _ j: Int) -> Double { training ? maskB[i] * maskA[j] : 1 }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into g: [Tensor<Double>?]) throws {
        let a = inputs[1], b = inputs[2]
        let m = inputs[0].shape[0], n = inputs[0].shape[1], r = a.shape[0]
        if let gw = g[0] { for i in 0..<m * n { gw[i] += outGrad[i] } }
        let keep = training ? 1 : (1 - p) * (1 - p)
        for i in 0..<m {
            for j in 0..<n {
                let mij = scale * keep * mask(i, j) * outGrad[i * n + j]
                guard mij != 0 else { continue }
                for k in 0..<r {
                    g[2]?[i * r + k] += mij * a[k * n + j]  // ∂B = M Aᵀ
                    g[1]?[k * n + j] += b[i * r + k] * mij  // ∂A = Bᵀ M
                }
            }
        }
    }
}
