// Regula — learning from label proportions: the EasyLLP debiased soft-label cross-entropy.

import RegulaEngine

/// EasyLLP: cross-entropy against the debiased soft label built from the instance's bag proportion.
/// ```
/// ỹ_i = k_i (α_{B(i)} − p) + p   (sums to 1; entries may be < 0 or > 1)
/// ℓ_i = −Σ_c ỹ_ic log softmax(z_i)_c = Σ_c ỹ_ic (LSE(z_i) − z_ic);   ∂ℓ_i/∂z_i = (Σ_c ỹ_ic) p_i − ỹ_i
/// ```
/// - Parameters: target = the bag proportion α of each instance's bag (batch, K); data `prior`
///   p (K,) (class prior estimated from all bags); bag size `k` ≥ 1, or the input `bag_size`
///   (batch,) for bags of different sizes. Binary bags: K = 2 with logits (0, h) reproduce the
///   paper's binary form.
/// - Stability: log-softmax as z − LSE (the reference's log(p + 1e-8) is not needed); the loss is
///   unbounded below when some ỹ_c < 0 (a property of the unbiased estimator, not clipped).
/// - Reference: Busa-Fekete et al., "Easy Learning from Label Proportions", NeurIPS 2023.
///   Catalogue: losses §18.
public struct EasyLLP: SoftTargetRowLoss {
    public static let id = "easyllp"
    public let prior: [Double]
    public let k: Int?
    public init(prior: [Double], k: Int?) { self.prior = prior; self.k = k }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        guard prior.count == classes else { throw RegulaError.shape("prior has \(prior.count) values for \(classes) classes") }
        guard case .real? = target else {
            throw RegulaError.invalidArgument("easyllp takes the bag proportions (batch, classes) as its target")
        }
        var t = try rowTargets(rows: rows, classes: classes, target: target)
        var sizes = [Int](repeating: k ?? 0, count: rows)
        if inputs.has("bag_size") {
            let (_, v) = try inputs.index("bag_size")
            guard v.count == rows else { throw RegulaError.shape("bag_size has \(v.count) values for \(rows) rows") }
            sizes = v
        } else if k == nil {
            throw RegulaError.invalidArgument("easyllp needs the bag size: parameter k or input 'bag_size'")
        }
        if let bad = sizes.firstIndex(where: { $0 < 1 }) {
            throw RegulaError.invalidArgument("bag size must be >= 1; got \(sizes[bad]) at row \(bad)")
        }
        var soft = t.reals!
        for i in 0..<rows {
            for c in 0..<classes { soft[i * classes + c] = Double(sizes[i]) * (soft[i * classes + c] - prior[c]) + prior[c] }
        }
        t.reals = soft
        return t
    }

}

/// A row loss that is the cross-entropy against a real target row per sample, built by
/// `prepare` into `RowTargets.reals` (EasyLLP's debiased labels, PS-KD's mixed targets).
public protocol SoftTargetRowLoss: RowLoss {}

extension SoftTargetRowLoss {
    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }

    public func row(_ z: UnsafePointer<Double>, classes n: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let loss = target.reals!.withUnsafeBufferPointer { softTargetCrossEntropy(z, count: n, target: $0.baseAddress! + i * n, p: p, g: g) }
        return (loss, 1)
    }
}

/// −Σ_c t_c log softmax(z)_c = Σ_c t_c (LSE − z_c) for any real target row t (entries may be
/// negative, the sum need not be 1); writes p = softmax(z) and ∂/∂z = (Σ_c t_c) p − t.
func softTargetCrossEntropy(_ z: UnsafePointer<Double>, count n: Int, target t: UnsafePointer<Double>,
                            p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> Double {
    let lse = Kernels.softmax(z, count: n, into: p)
    var loss = 0.0, mass = 0.0
    for c in 0..<n { loss += t[c] * (lse - z[c]); mass += t[c] }  // log p_c as z_c − LSE
    for c in 0..<n { g[c] = mass * p[c] - t[c] }
    return loss
}

extension Registry {
    static let labelProportions: [Entry] = [
        .loss("easyllp", family: "label_proportions", summary: "EasyLLP debiased soft-label cross-entropy from bag proportions",
              formula: "ỹ = k(α − p) + p; ℓ = −Σ_c ỹ_c log softmax(z)_c; ∂ℓ/∂z = (Σỹ) softmax(z) − ỹ",
              reference: "Easy Learning from Label Proportions (Busa-Fekete et al., NeurIPS 2023)",
              notes: "Mean over instances (the per-bag averaging of EasyLLPLog equals it for equal bag sizes). Not clipped: unbounded below when some ỹ_c < 0.",
              target: "bag proportion of each instance's bag (batch, classes)",
              params: [.int("k", nil, min: 1, "bag size (or the input bag_size)")],
              data: [InputSpec("prior", "class prior p (K,)")],
              inputs: [InputSpec("bag_size", required: false, "bag size of each instance (batch,)")],
              check: CheckSpec(shapes: [[4, 3], [1, 3], [6, 3]], params: "k=4",
                               data: ["prior": .real(shape: [3], values: [0.4, 0.4, 0.2])], sample: { rng, shape in
                  let x = NDArray<Double>(shape: shape), a = NDArray<Double>(shape: shape)
                  let (rows, k) = x.tensor.lastAxis
                  for i in 0..<x.count { x[i] = 2 * rng.normal() }
                  for r in 0..<rows {
                      var s = 0.0
                      for c in 0..<k { a[r * k + c] = rng.uniform() + 0.05; s += a[r * k + c] }
                      for c in 0..<k { a[r * k + c] /= s }
                  }
                  return Sample(x: x, target: .real(shape: shape, values: a.values))
              }),
              examples: [
                WorkedExample("k=4, α=[0.5,0.25,0.25], p=[0.4,0.4,0.2]", params: "k=4",
                              data: ["prior": .real(shape: [3], values: [0.4, 0.4, 0.2])],
                              x: [2, 1, -1], shape: [1, 3], target: .real(shape: [1, 3], values: [0.5, 0.25, 0.25]),
                              value: 1.349012, gradient: [-0.094615, 0.459496, -0.364881]),
                WorkedExample("binary: p=0.3, α=0.5, k=4, logit 0.8 as (0, 0.8)",
                              data: ["prior": .real(shape: [2], values: [0.7, 0.3])],
                              x: [0, 0.8], shape: [1, 2], inputs: ["bag_size": .index(shape: [1], values: [4])],
                              target: .real(shape: [1, 2], values: [0.5, 0.5]), value: 0.291101),
              ]) { p in
            guard let prior = p.array("prior")?.asDoubles else {
                throw RegulaError.invalidArgument("easyllp needs the data array 'prior'")
            }
            if let bad = prior.first(where: { !($0 >= 0 && $0 <= 1) }) {
                throw RegulaError.invalidParameter(name: "prior", value: "\(bad)", reason: "class priors must lie in [0, 1]")
            }
            return EasyLLP(prior: prior, k: p.optionalInt("k"))
        },
    ]
}
