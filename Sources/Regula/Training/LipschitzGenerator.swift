// Regula — the generator Lipschitz regulariser of a continuous conditional GAN (a model-eval
// term of the user's generator graph) and the samplers of its neighbouring conditions.

import RegulaEngine

/// How the neighbouring condition y′ of each y is drawn (`lipschitz_generator`'s `neighbor`).
public enum ConditionNeighbors: String, Sendable, CaseIterable {
    /// One of the k nearest other conditions of the batch (Euclidean), picked uniformly.
    case batchKNN = "batch_knn"
    /// y + δ, δ ~ N(0, s²I), s = scale·std(y).
    case perturb

    /// Pairs closer than this are skipped by the regulariser (and never chosen by batch_knn).
    public static let minDistance = 1e-8

    /// batch_knn: for each row i of `y` (rows × cols), the k nearest rows j ≠ i with
    /// ‖y_j − y_i‖ ≥ 1e-8 (distance ties: lower index first); one of them uniformly from `rng`
    /// (no draw when there is one). A row without such a neighbour gets y′_i = y_i (skipped).
    public static func batchKNN(_ y: [Double], cols: Int, k: Int, rng: inout RNG) throws -> [Double] {
        let rows = try shapeRows(y, cols: cols)
        guard k >= 1 else { throw RegulaError.invalidParameter(name: "k", value: String(k), reason: "must be >= 1") }
        var out = y
        var candidates: [(d: Double, j: Int)] = []
        let floor = minDistance * minDistance
        for i in 0..<rows {
            candidates.removeAll(keepingCapacity: true)
            for j in 0..<rows where j != i {
                var d = 0.0
                for c in 0..<cols { let e = y[i * cols + c] - y[j * cols + c]; d += e * e }
                if d >= floor { candidates.append((d, j)) }
            }
            guard !candidates.isEmpty else { continue }
            candidates.sort { ($0.d, $0.j) < ($1.d, $1.j) }
            let m = Swift.min(k, candidates.count)
            let j = candidates[m > 1 ? rng.below(m) : 0].j
            for c in 0..<cols { out[i * cols + c] = y[j * cols + c] }
        }
        return out
    }

    /// perturb: y′ = y + s·ε, ε ~ N(0, I) from `rng`, s = scale·std(y) with std the population
    /// standard deviation of every entry of the batch (one s, the catalogue's isotropic s²I).
    /// A constant batch gives s = 0, so y′ = y and every pair is skipped.
    public static func perturb(_ y: [Double], cols: Int, scale: Double, rng: inout RNG) throws -> [Double] {
        _ = try shapeRows(y, cols: cols)
        guard scale >= 0, scale.isFinite else {
            throw RegulaError.invalidParameter(name: "scale", value: formatNumber(scale), reason: "must be >= 0")
        }
        guard !y.isEmpty else { return y }
        let n = Double(y.count)
        let mean = y.reduce(0, +) / n
        let variance = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n  // two passes: no cancellation
        let s = scale * variance.squareRoot()
        return y.map { $0 + s * rng.normal() }
    }

    static func shapeRows(_ y: [Double], cols: Int) throws -> Int {
        guard cols >= 1, y.count % cols == 0 else {
            throw RegulaError.shape("conditions: \(y.count) values do not make rows of \(cols)")
        }
        if let i = y.firstIndex(where: { !$0.isFinite }) { throw RegulaError.nonFinite(what: "conditions", index: i) }
        return y.count / cols
    }
}

/// `lipschitz_generator`: the generator's output change per unit of condition change, for the
/// same latent z fed with a condition y and a neighbouring y′, as a graph op with the inputs
/// [G(z, y) (B, D), G(z, y′) (B, D), y (B, c), y′ (B, c)] and a scalar output:
/// ```
/// R = λ·(1/|P|) Σ_{i∈P} ‖a_i − b_i‖/‖e_i‖,  a = G(z, y), b = G(z, y′), e_i = y_i − y′_i,
///     P = {i : ‖e_i‖ ≥ 1e-8} (R = 0 when P is empty)
/// ∂R/∂a_i = −∂R/∂b_i = (λ/|P|)·(a_i − b_i)/(‖a_i − b_i‖·‖e_i‖)   (0 when a_i = b_i)
/// ∂R/∂y_i = −∂R/∂y′_i = −(λ/|P|)·‖a_i − b_i‖·e_i/‖e_i‖³
/// ```
/// The two generator outputs come from the same parameters (two passes of one generator), so
/// the parameter gradient is the sum over both passes. y′ comes from `neighbors(_:cols:rng:)`.
/// - Parameters: strength λ ≥ 0 (default 1, provisional); neighbor batch_knn (k = 1) or
///   perturb (scale 0.05).
/// - Reference: "Continuous Conditional Generative Adversarial Networks (cGAN) with Generator
///   Regularization" (Zheng, Zhang, Zheng 2021); catalogue penalties_matrix §19.
public final class LipschitzGeneratorOp: GraphOp {
    public let label = "lipschitz_generator"
    public let strength: Double
    public let neighbor: ConditionNeighbors
    public let k: Int
    public let scale: Double
    /// |P| of the last forward.
    public private(set) var keptPairs = 0

    public init(strength: Double = 1, neighbor: ConditionNeighbors = .batchKNN, k: Int = 1, scale: Double = 0.05) throws {
        guard strength >= 0, strength.isFinite, k >= 1, scale >= 0, scale.isFinite else {
            throw RegulaError.invalidArgument("lipschitz_generator needs strength >= 0, k >= 1 and scale >= 0")
        }
        self.strength = strength; self.neighbor = neighbor; self.k = k; self.scale = scale
    }

    /// The neighbouring conditions y′ of a batch of conditions (rows × cols) by this op's sampler.
    public func neighbors(_ y: [Double], cols: Int, rng: inout RNG) throws -> [Double] {
        switch neighbor {
        case .batchKNN: return try ConditionNeighbors.batchKNN(y, cols: cols, k: k, rng: &rng)
        case .perturb: return try ConditionNeighbors.perturb(y, cols: cols, scale: scale, rng: &rng)
        }
    }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 4, inputs[0].cols == inputs[1].cols, inputs[2].cols == inputs[3].cols,
              inputs.allSatisfy({ $0.rows == inputs[0].rows }) else {
            throw RegulaError.shape("lipschitz_generator takes [G(z, y) (B, D), G(z, y′) (B, D), y (B, c), y′ (B, c)]")
        }
        return .scalar
    }

    /// ‖a_i − b_i‖ and ‖e_i‖ of row i.
    private func norms(_ t: [Tensor<Double>], _ i: Int) -> (out: Double, cond: Double) {
        let d = t[0].lastAxis.cols, c = t[2].lastAxis.cols
        var so = 0.0, sc = 0.0
        for j in 0..<d { let x = t[0][i * d + j] - t[1][i * d + j]; so += x * x }
        for j in 0..<c { let x = t[2][i * c + j] - t[3][i * c + j]; sc += x * x }
        return (so.squareRoot(), sc.squareRoot())
    }

    private func kept(_ inputs: [Tensor<Double>]) -> Int {
        (0..<inputs[0].lastAxis.rows).reduce(0) { $0 + (norms(inputs, $1).cond >= ConditionNeighbors.minDistance ? 1 : 0) }
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        var sum = 0.0
        keptPairs = 0
        for i in 0..<inputs[0].lastAxis.rows {
            let (n, m) = norms(inputs, i)
            guard m >= ConditionNeighbors.minDistance else { continue }
            sum += n / m; keptPairs += 1
        }
        out[0] = keptPairs > 0 ? strength * sum / Double(keptPairs) : 0
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into g: [Tensor<Double>?]) throws {
        let count = kept(inputs)
        guard count > 0 else { return }
        let s = strength * outGrad[0] / Double(count)
        let d = inputs[0].lastAxis.cols, c = inputs[2].lastAxis.cols
        for i in 0..<inputs[0].lastAxis.rows {
            let (n, m) = norms(inputs, i)
            guard m >= ConditionNeighbors.minDistance else { continue }
            if n > 0, g[0] != nil || g[1] != nil {
                let f = s / (n * m)
                for j in 0..<d {
                    let v = f * (inputs[0][i * d + j] - inputs[1][i * d + j])
                    g[0]?[i * d + j] += v
                    g[1]?[i * d + j] -= v
                }
            }
            if g[2] != nil || g[3] != nil {
                let f = s * n / (m * m * m)
                for j in 0..<c {
                    let v = f * (inputs[2][i * c + j] - inputs[3][i * c + j])
                    g[2]?[i * c + j] -= v
                    g[3]?[i * c + j] += v
                }
            }
        }
    }
}
