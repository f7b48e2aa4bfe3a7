// Regula — softmax cross-entropy with label smoothing, class weights and ignore_index.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Checks a loss target against (rows, classes): integer labels (one per row, in range or the
/// ignore index) or real targets of the logits' shape.
func rowTargets(rows: Int, classes: Int, target: InputArray?, ignoreIndex: Int? = nil,
                allowReal: Bool = true) throws -> RowTargets {
    switch target {
    case nil:
        throw RegulaError.invalidArgument("this loss needs a target (labels or probabilities)")
    case .index(let shape, let labels):
        guard labels.count == rows else {
            throw RegulaError.shape("labels \(shape) hold \(labels.count) values for \(rows) rows of logits")
        }
        for (i, y) in labels.enumerated() where (y < 0 || y >= classes) && y != ignoreIndex {
            throw RegulaError.invalidArgument("label \(y) at index \(i) is out of range [0, \(classes))")
        }
        return RowTargets(labels: labels, width: classes)
    case .real(let shape, let values):
        guard allowReal else { throw RegulaError.dtype("this loss takes integer labels") }
        guard values.count == rows * classes, shape.last == classes else {
            throw RegulaError.shape("targets \(shape) do not match logits of \(rows) rows × \(classes) classes")
        }
        return RowTargets(reals: values, width: classes)
    }
}

/// The optional per-class weights `class_weights` (K,) of a loss: finite and >= 0.
func classWeights(_ p: Params) throws -> [Double]? {
    let w: [Double]?
    switch p.array("class_weights") {
    case .real(_, let v)?: w = v
    case .index(_, let v)?: w = v.map(Double.init)
    case nil: w = nil
    }
    if let w, let bad = w.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
        throw RegulaError.invalidParameter(name: "class_weights", value: "\(w[bad])", reason: "weights must be finite and >= 0")
    }
    return w
}

/// Checks per-class weights against the logits' class count.
func checkClassWeights(_ w: [Double]?, classes: Int) throws {
    if let w, w.count != classes {
        throw RegulaError.shape("class_weights has \(w.count) values for \(classes) classes")
    }
}

/// Softmax cross-entropy (PyTorch `cross_entropy` semantics).
/// ```
/// ℓ_i = −Σ_k t'_ik (z_ik − LSE(z_i)),  t' = (1−ε)·t + ε/K  (t = e_y for hard labels)
/// weighted hard labels: ℓ_i = (1−ε) w_y (LSE − z_y) + (ε/K) Σ_c w_c (LSE − z_c); mean divides by Σ_i w_{y_i}
/// ∂ℓ_i/∂z_i = (Σ_c w_c t'_c) p_i − w ⊙ t'_i
/// ```
/// - Parameters: `label_smoothing` ε ∈ [0, 1]; `ignore_index` (rows with that label are
///   dropped from numerator and denominator); data `class_weights` (K,).
/// - Stability: max-shifted log-sum-exp; log-probabilities as z − LSE, never log(softmax);
///   float32 logits are evaluated in float64, so the gradient survives the float32 softmax collapse.
/// - Reference: Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", 2016
///   (label smoothing); Catalogue: losses §1.
public struct SoftmaxCrossEntropy: RowLoss {
    public static let id = "softmax_cross_entropy"
    public let epsilon: Double
    public let ignoreIndex: Int
    public let classWeights: [Double]?
    public init(epsilon: Double = 0, ignoreIndex: Int = -100, classWeights: [Double]? = nil) {
        self.epsilon = epsilon; self.ignoreIndex = ignoreIndex; self.classWeights = classWeights
    }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        try checkClassWeights(classWeights, classes: classes)
        return try rowTargets(rows: rows, classes: classes, target: target, ignoreIndex: ignoreIndex)
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? {
        guard let labels = target.labels else { return Double(rows) }
        var total = 0.0
        for y in labels where y != ignoreIndex { total += classWeights?[y] ?? 1 }
        return total
    }

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let lse = Kernels.softmax(z, count: k, into: p)
        let uniform = epsilon / Double(k)
        if let labels = target.labels {
            let y = labels[i]
            if y == ignoreIndex {
                for c in 0..<k { g[c] = 0 }
                return (0, 0)
            }
            guard let w = classWeights else {
                // Unweighted: ℓ = (1−ε)(LSE − z_y) + ε(LSE − mean z), g = p − t'.
                var sumZ = 0.0
                for c in 0..<k { sumZ += z[c]; g[c] = p[c] - uniform }
                g[y] -= 1 - epsilon
                return ((1 - epsilon) * (lse - z[y]) + epsilon * (lse - sumZ / Double(k)), 1)
            }
            let wy = w[y]
            var loss = (1 - epsilon) * wy * (lse - z[y])
            var mass = (1 - epsilon) * wy  // Σ_c w_c t'_c
            for c in 0..<k {
                loss += uniform * w[c] * (lse - z[c])
                mass += uniform * w[c]
                g[c] = -uniform * w[c]
            }
            g[y] -= (1 - epsilon) * wy
            for c in 0..<k { g[c] += mass * p[c] }
            return (loss, wy)
        }
        let t = target.reals!, base = i * k
        var loss = 0.0, mass = 0.0
        for c in 0..<k {
            let tc = (classWeights?[c] ?? 1) * ((1 - epsilon) * t[base + c] + uniform)
            loss += tc * (lse - z[c]); mass += tc
            g[c] = -tc
        }
        for c in 0..<k { g[c] += mass * p[c] }
        return (loss, 1)
    }
}

extension Registry {
    static let crossEntropy: [Entry] = [
        .loss("softmax_cross_entropy", family: "cross_entropy",
              summary: "softmax cross-entropy with label smoothing, class weights, ignore_index, soft targets",
              formula: "ℓ = −Σ_k t'_k (z_k − LSE(z)), t' = (1−ε)t + ε/K; ∂ℓ/∂z = p Σt' − t'",
              reference: "Rethinking the Inception Architecture for Computer Vision (Szegedy et al. 2016); PyTorch cross_entropy semantics",
              notes: "Weighted mean divides by Σ w_{y_i} (torch). float32 logits are evaluated in float64.",
              params: [.real("label_smoothing", 0, min: 0, max: 1, "ε, mass spread over all K classes"),
                       .int("ignore_index", -100, "rows with this label are dropped")],
              data: [InputSpec("class_weights", required: false, "per-class weights (K,)")],
              examples: [
                WorkedExample("z=[2,1,-1], y=0", x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [0]),
                              value: 0.349012, gradient: [-0.294615, 0.259496, 0.035119]),
                WorkedExample("ε=0.1", params: "label_smoothing=0.1", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.482346,
                              gradient: [-0.227949, 0.226163, 0.001786]),
                WorkedExample("weighted, ε=0.1", params: "label_smoothing=0.1",
                              data: ["class_weights": .real(shape: [3], values: [1, 2, 0.5])],
                              x: [2, 1, -1, 0.3, -0.2, 1.1], shape: [2, 3],
                              target: .index(shape: [2], values: [0, 1]), value: 1.322119),
                WorkedExample("soft target, ε=0.1", params: "label_smoothing=0.1", x: [2, 1, -1], shape: [1, 3],
                              target: .real(shape: [1, 3], values: [0.7, 0.2, 0.1]), value: 0.932346),
                WorkedExample("1e4 logits, ε=0.1", params: "label_smoothing=0.1", x: [1e4, 0, -1e4], shape: [1, 3],
                              target: .index(shape: [1], values: [2]), value: 19000,
                              gradient: [0.966667, -0.033333, -0.933333]),
              ]) { p in
            SoftmaxCrossEntropy(epsilon: try p.real("label_smoothing"), ignoreIndex: try p.int("ignore_index"),
                                classWeights: try classWeights(p))
        },
    ]
}
