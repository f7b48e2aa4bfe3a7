// Regula — pseudo-labelling with mixup (Arazo et al.): soft pseudo-labels from the previous
// epoch, a minimum of labelled samples per batch, and the prior and entropy regularisers.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// R_A of pseudo-labelling: with h̄ = the batch mean of softmax(z_i) and a uniform prior p_c = 1/K,
/// ```
/// R_A = −Σ_c p_c log h̄_c          (= KL(p‖h̄) + H(p); keeps the predictions off a single class)
/// ∂R_A/∂z_ij = −(1/(K·B))·(p_ij/h̄_j − p_ij·Σ_c p_ic/h̄_c)
/// ```
/// scaled by λ_A. Official EricArazo/PseudoLabeling `utils_ssl.py` (the −Σ p log h̄ form).
public final class BatchPriorOp: GraphOp {
    public let label = "batch_prior"
    public let scale: Double
    private var p: [Double] = [], mean: [Double] = []
    public init(scale: Double) { self.scale = scale }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 1 else { throw RegulaError.shape("the batch prior takes one (batch, K) input") }
        return .scalar
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let (rows, k) = inputs[0].lastAxis
        p = [Double](repeating: 0, count: rows * k); mean = [Double](repeating: 0, count: k)
        guard rows > 0, k > 0 else { out[0] = 0; return }
        p.withUnsafeMutableBufferPointer { pb in
            for i in 0..<rows { _ = Kernels.softmax(inputs[0].data + i * k, count: k, into: pb.baseAddress! + i * k) }
        }
        for i in 0..<rows { for c in 0..<k { mean[c] += p[i * k + c] / Double(rows) } }
        out[0] = -scale * mean.reduce(0) { $0 + log($1) } / Double(k)
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into g: [Tensor<Double>?]) throws {
        guard let gz = g[0] else { return }
        let (rows, k) = inputs[0].lastAxis
        guard rows > 0, k > 0 else { return }
        let s = -scale * outGrad[0] / (Double(k) * Double(rows))
        for i in 0..<rows {
            var dot = 0.0
            for c in 0..<k { dot += p[i * k + c] / mean[c] }
            for j in 0..<k { gz[i * k + j] += s * (p[i * k + j] / mean[j] - p[i * k + j] * dot) }
        }
    }
}

/// `pseudo_label_mixup` (Arazo et al., official EricArazo/PseudoLabeling): a share of the
/// training set keeps its labels (stratified, seeded); the others are trained on soft
/// pseudo-labels = the network's eval-mode softmax from the end of the previous epoch. The first
/// `warmup` epochs use the labelled samples only; then every batch of the shuffled set holds at
/// least `minLabeled` labelled samples (unlabelled slots are replaced by random labelled ones,
/// standing in for the official two-stream sampler), is mixed (α, one λ per batch) with its soft
/// targets, and the loss adds λ_A·R_A + λ_H·H(softmax) on the mixed predictions.
public struct PseudoLabelMixup: Sendable {
    public var labeledShare: Double, warmup: Int, minLabeled: Int, alpha: Double, priorWeight: Double, entropyWeight: Double
    public init(labeledShare: Double = 0.1, warmup: Int = 10, minLabeled: Int = 16, alpha: Double = 1,
                priorWeight: Double = 0.8, entropyWeight: Double = 0.4) {
        self.labeledShare = labeledShare; self.warmup = warmup; self.minLabeled = minLabeled; self.alpha = alpha
        self.priorWeight = priorWeight; self.entropyWeight = entropyWeight
    }

    /// Which samples keep their labels: ⌈share·n_c⌉ of each class c, in a seeded random order.
    public func labeled(_ labels: [Int], classes: Int, rng: inout RNG) -> [Bool] {
        var order = Array(labels.indices)
        shuffle(&order, &rng)
        var keep = [Bool](repeating: false, count: labels.count), taken = [Int](repeating: 0, count: classes)
        let counts = (0..<classes).map { c in labels.filter { $0 == c }.count }
        for i in order where taken[labels[i]] < Int((labeledShare * Double(counts[labels[i]])).rounded(.up)) {
            keep[i] = true; taken[labels[i]] += 1
        }
        return keep
    }

    /// Replaces unlabelled entries of a batch by random labelled samples until it holds
    /// min(minLabeled, batch size) labelled ones.
    public func ensureLabeled(_ batch: inout [Int], labeled: [Bool], pool: [Int], rng: inout RNG) {
        var have = batch.filter { labeled[$0] }.count
        let want = Swift.min(minLabeled, batch.count)
        guard !pool.isEmpty else { return }
        for k in batch.indices where have < want && !labeled[batch[k]] {
            batch[k] = pool[rng.below(pool.count)]
            have += 1
        }
    }
}
