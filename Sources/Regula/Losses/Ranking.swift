// Regula — ranking losses on scores with one positive per row: the pairwise softmax loss (PSL).

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Pairwise softmax loss (PSL) for recommendation: a softmax loss whose exponent is replaced by
/// a surrogate σ of the score gap, with the positive in column y and negatives in the others.
/// ```
/// d_ij = f_ij − f_i,y (j ≠ y);  tanh: σ(d) = log(1 + tanh d) = log 2 − softplus(−2d)
/// relu: σ(d) = log(max(d + 1, 0));  atan: σ(d) = log(max(1 + arctan d, 0))
/// method 1: ℓ_i = log Σ_{j≠y} exp(σ(d_ij)/τ*)            (batch mean)
/// method 2: L = log mean_{i, j≠y_i} exp(σ(d_ij)/τ*)       (batch-coupled)
/// ∂/∂f_ij = w_ij σ'(d_ij)/τ*,  ∂/∂f_i,y = −Σ_j w_ij σ'(d_ij)/τ*,  w = softmax of σ/τ* over the sum
/// σ'_tanh = 1 − tanh d,  σ'_relu = 1/(d + 1),  σ'_atan = 1/((1 + d²)(1 + arctan d))
/// ```
/// - Parameters: scores f (batch, K ≥ 2), already divided by the score temperature (README
///   decision: `tau_star` is the only temperature inside the loss); target = column of the positive;
///   `tau_star` τ* > 0 (1.0); `activation` ∈ {tanh, relu, atan}; `method` ∈ {1, 2}.
/// - Domain: relu is −∞ for d ≤ −1 and atan for d ≤ −tan 1; those negatives get φ = exp σ = 0 and
///   drop out of the sum (log-space); if every φ of a row is 0 its loss is −∞ with zero gradient.
///   tanh is finite everywhere in the softplus form.
/// - Method 2 is batch-coupled: it takes reduction = mean only (its per-sample values are all L).
/// - Reference: Yang et al., "PSL: Rethinking and Improving Softmax Loss from Pairwise Perspective
///   for Recommendation", NeurIPS 2024 (Tiny-Snow/IR-Benchmark `optim_PSL.py`). Catalogue: losses §13.
public struct PairwiseSoftmaxLoss: Loss {
    public static let id = "pairwise_softmax_loss"
    public enum Activation: String, Sendable { case tanh, relu, atan }
    public let tauStar: Double
    public let activation: Activation
    public let method: Int
    public init(tauStar: Double = 1, activation: Activation = .tanh, method: Int = 1) {
        self.tauStar = tauStar; self.activation = activation; self.method = method
    }

    /// (σ(d), σ'(d)); σ = −∞ outside the surrogate's domain.
    @inlinable func surrogate(_ d: Double) -> (Double, Double) {
        switch activation {
        case .tanh:
            let x = -2 * d
            let softplus = Swift.max(x, 0) + log1p(exp(-abs(x)))  // stable for any d
            return (log(2.0) - softplus, 2 / (1 + exp(2 * d)))    // 1 − tanh d = 2σ(−2d)
        case .relu:
            return d > -1 ? (log1p(d), 1 / (1 + d)) : (-.infinity, 0)
        case .atan:
            let a = 1 + atan(d)
            return a > 0 ? (log(a), 1 / ((1 + d * d) * a)) : (-.infinity, 0)
        }
    }

    public func evaluate(_ z: Tensor<Double>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Double>) throws -> Double {
        let (rows, k) = z.lastAxis
        guard k >= 2 else { throw RegulaError.shape("pairwise_softmax_loss needs at least 2 columns (a positive and a negative)") }
        let labels = try rowTargets(rows: rows, classes: k, target: target, allowReal: false).labels!
        if method == 2 && reduction != .mean {
            throw RegulaError.unsupported("pairwise_softmax_loss method 2 is batch-coupled: use reduction=mean")
        }
        guard rows > 0 || reduction != .mean else { throw RegulaError.invalidArgument("mean over an empty batch") }
        // e = σ/τ* into g (negatives), σ'/τ* kept in a scratch row; the positive's slot is −∞.
        let ds = NDArray<Double>(shape: [rows * k])
        var rowMax = [Double](repeating: -.infinity, count: rows)
        for i in 0..<rows {
            let f = z.data + i * k, e = g.data + i * k, y = labels[i]
            for j in 0..<k {
                if j == y { e[j] = -.infinity; ds[i * k + j] = 0; continue }
                let (s, sp) = surrogate(f[j] - f[y])
                e[j] = s / tauStar; ds[i * k + j] = sp / tauStar
                rowMax[i] = Swift.max(rowMax[i], e[j])
            }
        }
        // Log-sum-exp per row (method 1) or over the whole batch (method 2), max-shifted.
        var lse = [Double](repeating: -.infinity, count: rows)
        for i in 0..<rows { lse[i] = Kernels.logSumExp(UnsafePointer(g.data + i * k), count: k).lse }
        var total: Double
        if method == 2 {
            let m = rowMax.max() ?? -.infinity
            var s = 0.0
            if m > -.infinity { for i in 0..<rows where lse[i] > -.infinity { s += exp(lse[i] - m) } }
            let all = m > -.infinity ? m + log(s) : -.infinity
            total = all - log(Double(rows * (k - 1)))  // log of the mean
            for i in 0..<rows { lse[i] = all; perSample[i] = total }
        } else {
            total = 0
            for i in 0..<rows { perSample[i] = lse[i]; total += lse[i] }
        }
        // Gradient: w = exp(e − LSE), ∂/∂f_j = w_j σ'_j/τ*, positive gets minus the row sum.
        let scale = method == 1 && reduction == .mean ? 1 / Double(Swift.max(rows, 1)) : 1
        for i in 0..<rows {
            let e = g.data + i * k, y = labels[i]
            var sum = 0.0
            for j in 0..<k {
                guard j != y, lse[i] > -.infinity, e[j] > -.infinity else { e[j] = 0; continue }
                e[j] = scale * exp(e[j] - lse[i]) * ds[i * k + j]
                sum += e[j]
            }
            e[y] = -sum
        }
        if method == 2 { return total }
        return reduction == .mean ? total / Double(rows) : total
    }
}

extension Registry {
    static let ranking: [Entry] = [
        .loss("pairwise_softmax_loss", family: "ranking", summary: "PSL: softmax loss with a surrogate σ of the pairwise score gap",
              formula: "ℓ = log Σ_{j≠y} exp(σ(f_j − f_y)/τ*), σ ∈ {log(1+tanh), log(relu(d+1)), log(1+atan)}",
              reference: "PSL: Rethinking and Improving Softmax Loss from Pairwise Perspective for Recommendation (Yang et al., NeurIPS 2024)",
              notes: "tau_star is the only temperature (README decision): scores arrive already divided by the score temperature. Out-of-domain negatives (relu, atan) drop out; an all-out-of-domain row gives −∞ with zero gradient. method=2 is batch-coupled (reduction=mean only).",
              target: "column of the positive item per row (batch,)",
              params: [.real("tau_star", 1, min: 0, minOpen: true, "τ*"),
                       .choice("activation", ["tanh", "relu", "atan"], "surrogate σ"),
                       .int("method", 1, min: 1, max: 2, "1: per-row log-sum-exp (PSL1), 2: batch log-mean-exp (PSL2)")],
              check: CheckSpec(params: "tau_star=0.5"),
              examples: [
                WorkedExample("tanh", x: [0.5, 0.2, -0.3], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0.043682, gradient: [-1.411182, 0.876022, 0.535160]),
                WorkedExample("relu", params: "activation=relu", x: [0.5, 0.2, -0.3], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: -0.105361),
                WorkedExample("atan", params: "activation=atan", x: [0.5, 0.2, -0.3], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.033244),
                WorkedExample("tanh out of the paper's domain", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: -1.413250),
                WorkedExample("method 2 on one row = method 1 − log(K − 1)", params: "method=2", x: [0.5, 0.2, -0.3], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.043682 - 0.693147,
                              gradient: [-1.411182, 0.876022, 0.535160]),
                WorkedExample("1e4 scores", x: [1e4, 0, -1e4], shape: [1, 3], target: .index(shape: [1], values: [2]),
                              value: log(2.0) + log(2.0), gradient: [0, 0, 0]),
              ]) { p in
            PairwiseSoftmaxLoss(tauStar: try p.real("tau_star"), activation: try p.choice("activation"),
                                method: try p.int("method"))
        },
    ]
}
