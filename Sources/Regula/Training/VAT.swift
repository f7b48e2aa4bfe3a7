// Regula — virtual adversarial training (VAT) and its entropy add-on, on a classifier graph.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Mean conditional entropy of softmax rows (`vat_ent`), a scalar node with its gradient:
/// ```
/// H = −(1/B) Σ_i Σ_k p_ik log p_ik,   ∂H/∂z_ik = −(1/B) p_ik (log p_ik + H_i)
/// ```
/// log p = z − LSE(z) (max-shifted), never log(softmax).
public final class SoftmaxEntropyOp: GraphOp {
    public let label = "softmax_entropy"
    /// Multiplies the term (pseudo_label_mixup's λ_H).
    public let scale: Double
    private var p: [Double] = []
    public init(scale: Double = 1) { self.scale = scale }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 1 else { throw RegulaError.shape("softmax entropy takes one (batch, K) input") }
        return .scalar
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let (rows, k) = inputs[0].lastAxis
        if p.count != rows * k { p = [Double](repeating: 0, count: rows * k) }
        var total = 0.0
        p.withUnsafeMutableBufferPointer { pb in
            for i in 0..<rows {
                let z = inputs[0].data + i * k, pr = pb.baseAddress! + i * k
                let lse = Kernels.softmax(z, count: k, into: pr)
                for c in 0..<k where pr[c] > 0 { total -= pr[c] * (z[c] - lse) }
            }
        }
        out[0] = rows > 0 ? scale * total / Double(rows) : 0
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into g: [Tensor<Double>?]) throws {
        guard let gz = g[0] else { return }
        let (rows, k) = inputs[0].lastAxis
        guard rows > 0 else { return }
        let s = scale * outGrad[0] / Double(rows)
        for i in 0..<rows {
            let z = inputs[0].data + i * k
            let lse = Kernels.logSumExp(z, count: k).lse
            var h = 0.0
            for c in 0..<k where p[i * k + c] > 0 { h -= p[i * k + c] * (z[c] - lse) }
            for c in 0..<k { gz[i * k + c] -= s * p[i * k + c] * ((z[c] - lse) + h) }
        }
    }
}

/// `vat` / `vat_ent` (official vat_tf): per batch, p = softmax(f(x)) is a constant target;
/// d ~ N(0, I); K times d ← ∇_r KL(p ‖ softmax(f(x + r))) at r = ξ·normalize(d); then
/// r_adv = ε·normalize(d) and the objective adds α·KL(p ‖ softmax(f(x + r_adv))) (gradient
/// only through the perturbed branch). `normalize` is per sample: divide by max|d|, then by
/// sqrt(1e-6 + Σd²). KL is computed as the soft-target cross-entropy CE(p, z) − H(p), which has
/// the same gradient. The labelled batch itself serves as the unlabelled data.
public struct VirtualAdversarial: Sendable {
    public var xi: Double, epsilon: Double, iterations: Int, alpha: Double, entropy: Bool
    public init(xi: Double = 1e-6, epsilon: Double = 8, iterations: Int = 1, alpha: Double = 1, entropy: Bool = false) {
        self.xi = xi; self.epsilon = epsilon; self.iterations = iterations; self.alpha = alpha; self.entropy = entropy
    }

    /// The official per-sample normalisation, in place.
    public static func normalize(_ d: inout [Double], rows: Int, cols: Int) {
        for i in 0..<rows {
            var m = 0.0
            for j in 0..<cols { m = Swift.max(m, abs(d[i * cols + j])) }
            guard m > 0 else { continue }  // a zero direction stays zero
            var s = 0.0
            for j in 0..<cols { d[i * cols + j] /= m; s += d[i * cols + j] * d[i * cols + j] }
            let inv = 1 / (1e-6 + s).squareRoot()
            for j in 0..<cols { d[i * cols + j] *= inv }
        }
    }

    /// Softmax rows of logits.
    static func softmaxRows(_ z: Tensor<Double>) -> [Double] {
        let (rows, k) = z.lastAxis
        var p = [Double](repeating: 0, count: rows * k)
        p.withUnsafeMutableBufferPointer { pb in
            for i in 0..<rows { _ = Kernels.softmax(z.data + i * k, count: k, into: pb.baseAddress! + i * k) }
        }
        return p
    }

    /// r_adv for the batch `x` (rows × features) of a classifier built with `vat: true`, given the
    /// clean predictions `p` and the start direction `d0`.
    public func perturbation(_ c: Classifier, x: [Double], targets: [Double], p: [Double], d0: [Double]) throws -> [Double] {
        guard let target = c.vatTarget, let term = c.vatTerm else {
            throw RegulaError.invalidArgument("the classifier was built without a VAT term")
        }
        let g = c.graph, cols = g.shape(c.x).cols, rows = x.count / Swift.max(cols, 1)
        var weights = [Double](repeating: 0, count: g.objective.count)
        weights[term] = 1
        var d = d0
        for _ in 0..<iterations {
            Self.normalize(&d, rows: rows, cols: cols)
            try g.feed([c.x: zip(x, d).map { $0 + xi * $1 }, c.y: targets, target: p])
            _ = try Trainer.objective(g, weights: weights)
            d = Array(g.gradient(c.x).buffer)
        }
        Self.normalize(&d, rows: rows, cols: cols)
        return d.map { epsilon * $0 }
    }

    /// The gradient of task objective + α·KL(p ‖ f(x + r_adv)) on the batch (x, targets) into the
    /// parameter gradients; returns that objective's value (with flooding on the task term).
    func evaluate(_ c: Classifier, x: [Double], targets: [Double], flood: Double?, rng: inout RNG) throws -> Double {
        guard let target = c.vatTarget, let term = c.vatTerm else {
            throw RegulaError.invalidArgument("the classifier was built without a VAT term")
        }
        let g = c.graph
        let k = g.shape(c.logits).cols
        // 1. The clean pass: every term but VAT (its target is irrelevant here: weight 0).
        var weights = [Double](repeating: 1, count: g.objective.count)
        weights[term] = 0
        try g.feed([c.x: x, c.y: targets, target: [Double](repeating: 1 / Double(k), count: x.count / g.shape(c.x).cols * k)])
        let clean = try Trainer.objective(g, flood: flood, weights: weights)
        let saved = g.parameters.map { Array(UnsafeBufferPointer(start: $0.grad, count: $0.count)) }
        let p = Self.softmaxRows(g.value(c.logits))
        // 2. The adversarial direction, then the VAT term at x + r_adv alone.
        let r = try perturbation(c, x: x, targets: targets, p: p, d0: x.map { _ in rng.normal() })
        weights = [Double](repeating: 0, count: g.objective.count)
        weights[term] = alpha
        try g.feed([c.x: zip(x, r).map { $0 + $1 }, c.y: targets, target: p])
        let ce = try Trainer.objective(g, weights: weights) / alpha  // α > 0 (schema)
        var entropy = 0.0
        for v in p where v > 0 { entropy -= v * log(v) }
        let kl = ce - entropy / Double(p.count / k)  // CE(p, z) − H(p), batch means
        for (s, a) in zip(g.parameters, saved) { for i in 0..<s.count { s.grad[i] += a[i] } }
        try g.feed([c.x: x, c.y: targets, target: p])  // leave the clean batch fed
        return clean + alpha * kl
    }
}
