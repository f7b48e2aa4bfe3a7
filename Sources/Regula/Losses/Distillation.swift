// Regula — knowledge-transfer losses: temperature KD (teacher logits as target) and the squared
// error logit loss on sampled labels with teacher probabilities.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Temperature knowledge distillation (torch `kl_div(..., 'batchmean') · T²`), optionally mixed
/// with cross-entropy on labels.
/// ```
/// q_u = softmax(u/T), q_z = softmax(z/T);  ℓ_i = T² Σ_k q_u,k (log q_u,k − log q_z,k)
/// mixed: α_kd ℓ_i + (1 − α_kd)(LSE(z_i) − z_i,y)
/// ∂ℓ_i/∂z_i = α_kd T (q_z − q_u) + (1 − α_kd)(softmax(z_i) − e_y)
/// ```
/// - Parameters: target = teacher logits u (batch, classes); `T` > 0 (4, a common choice: there
///   is no canonical default); `alpha_kd` ∈ [0, 1] (1 = pure KD); input `hard_labels` (batch,), needed
///   when alpha_kd < 1.
/// - Stability: both sides as z/T − LSE(z/T) (max-shifted), never log(softmax); q_u = 0 terms
///   contribute 0 (xlogy convention).
/// - Reference: Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network", 2015.
///   Catalogue: losses §16.
public struct KDKL: RowLoss {
    public static let id = "kd_kl"
    public let T: Double, alpha: Double
    public init(T: Double = 4, alpha: Double = 1) { self.T = T; self.alpha = alpha }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        guard case .real(let shape, let u)? = target else {
            throw RegulaError.invalidArgument("kd_kl takes the teacher logits (batch, classes) as its target")
        }
        guard u.count == rows * classes, shape.last == classes else {
            throw RegulaError.shape("teacher logits \(shape) do not match student logits of \(rows) rows × \(classes) classes")
        }
        var labels: [Int]? = nil
        if alpha < 1 {
            guard inputs.has("hard_labels") else {
                throw RegulaError.invalidArgument("kd_kl with alpha_kd < 1 needs the input 'hard_labels'")
            }
            labels = try rowTargets(rows: rows, classes: classes, target: .index(shape: [rows], values: try inputs.index("hard_labels").values),
                                    allowReal: false).labels
        }
        return RowTargets(labels: labels, reals: u, width: classes)
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch q: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let u = target.reals!, base = i * k
        for c in 0..<k { q[c] = u[base + c] / T; g[c] = z[c] / T }
        let lseU = Kernels.softmax(UnsafePointer(q), count: k, into: q)  // in place: q = q_u
        let lseZ = Kernels.softmax(UnsafePointer(g), count: k, into: g)  // in place: g = q_z
        var kl = 0.0
        for c in 0..<k where q[c] > 0 {
            kl += q[c] * ((u[base + c] / T - lseU) - (z[c] / T - lseZ))  // log q_u − log q_z, shift-free
        }
        for c in 0..<k { g[c] = alpha * T * (g[c] - q[c]) }
        var loss = alpha * T * T * kl
        if let labels = target.labels, alpha < 1 {
            let y = labels[i]
            let lse = Kernels.logSumExp(z, count: k).lse
            loss += (1 - alpha) * (lse - z[y])
            for c in 0..<k { g[c] += (1 - alpha) * (exp(z[c] - lse) - (c == y ? 1 : 0)) }
        }
        return (loss, 1)
    }
}

/// Empirical squared error logit loss on sampled labels with their teacher probabilities
/// (the "partial soft labels" protocol): normalized logits are regressed onto the teacher's.
/// ```
/// ℓ_i = ½ (log softmax(z_i)_{a_i} − log π*(a_i | x_i))²            (SEL_ptl, eq. 4.6, per sample)
/// ∂ℓ_i/∂z_i = (log p_a − log π*) (e_a − p_i)
/// ```
/// - Parameters: target = sampled labels a (batch,); input `teacher_prob` π*(a_i | x_i) ∈ (0, 1]
///   (batch,). The paper sums over samples; Regula's default reduction is the mean.
/// - Stability: log p_a as z_a − LSE(z) (max-shifted); log π* is taken once per call.
/// - Source: pinned from the paper text (§4.3, eq. 4.6: "empirical variant with normalized
///   logits" of Ba & Caruana's SEL loss); the catalogue's candidate reading, with the paper's ½.
///   No official code was found.
/// - Reference: Zhao & Zhu, "Towards the Fundamental Limits of Knowledge Transfer over Finite
///   Domains", 2023. Catalogue: losses §17.
public struct KTSel: RowLoss {
    public static let id = "kt_sel"
    public init() {}

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        var t = try rowTargets(rows: rows, classes: classes, target: target, allowReal: false)
        let (_, pi) = try inputs.real("teacher_prob")
        guard pi.count == rows else { throw RegulaError.shape("teacher_prob has \(pi.count) values for \(rows) rows") }
        for (i, v) in pi.enumerated() where !(v > 0 && v <= 1) {
            throw RegulaError.invalidArgument("teacher_prob must lie in (0, 1]; got \(v) at index \(i)")
        }
        t.reals = pi.map { log($0) }
        return t
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }

    public func row(_ z: UnsafePointer<Double>, classes k: Int, target: RowTargets, index i: Int,
                    scratch p: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let a = target.labels![i], logPi = target.reals![i]
        let lse = Kernels.softmax(z, count: k, into: p)
        let r = (z[a] - lse) - logPi  // log p_a as z_a − LSE
        for c in 0..<k { g[c] = r * ((c == a ? 1 : 0) - p[c]) }
        return (0.5 * r * r, 1)
    }
}

extension Registry {
    static let distillation: [Entry] = {
        let teacherSample: @Sendable (inout RNG, [Int]) -> Sample = { rng, shape in
            let x = NDArray<Double>(shape: shape), u = NDArray<Double>(shape: shape)
            for i in 0..<x.count { x[i] = 2 * rng.normal(); u[i] = 2 * rng.normal() }
            let (rows, k) = x.tensor.lastAxis
            let labels = (0..<rows).map { _ in rng.below(k) }
            return Sample(x: x, inputs: ["hard_labels": .index(shape: [rows], values: labels)],
                          target: .real(shape: shape, values: u.values))
        }
        let u: InputArray = .real(shape: [1, 3], values: [1.5, 1.2, 0.1])
        return [
            .loss("kd_kl", family: "distillation", summary: "temperature knowledge distillation KL(q_teacher ‖ q_student)·T²",
                  formula: "ℓ = T² Σ q_u (log q_u − log q_z), q = softmax(·/T); ∂ℓ/∂z = T (q_z − q_u)",
                  reference: "Distilling the Knowledge in a Neural Network (Hinton, Vinyals & Dean 2015); torch kl_div batchmean",
                  notes: "Target = teacher logits. T defaults to 4 (no canonical default). alpha_kd < 1 mixes in CE on the 'hard_labels' input.",
                  target: "teacher logits (batch, classes)",
                  params: [.real("T", 4, min: 0, minOpen: true, "temperature"),
                           .real("alpha_kd", 1, min: 0, max: 1, "weight of the KD term (1 − alpha_kd on CE)")],
                  inputs: [InputSpec("hard_labels", required: false, "integer labels (batch,), for alpha_kd < 1")],
                  check: CheckSpec(params: "alpha_kd=0.7", sample: teacherSample),
                  examples: [
                    WorkedExample("T=4, u=[1.5,1.2,0.1]", x: [2, 1, -1], shape: [1, 3], target: u,
                                  value: 0.196700, gradient: [0.257348, -0.025897, -0.231452]),
                    WorkedExample("alpha_kd=0.5 with y=0", params: "alpha_kd=0.5", x: [2, 1, -1], shape: [1, 3],
                                  inputs: ["hard_labels": .index(shape: [1], values: [0])], target: u,
                                  value: 0.5 * 0.196700 + 0.5 * 0.349012,
                                  gradient: [0.5 * 0.257348 - 0.5 * 0.294615, 0.5 * -0.025897 + 0.5 * 0.259496,
                                             0.5 * -0.231452 + 0.5 * 0.035119]),
                    WorkedExample("1e4 logits, T=1", params: "T=1", x: [1e4, 0, -1e4], shape: [1, 3],
                                  target: .real(shape: [1, 3], values: [0, 1e4, 0]), value: 1e4, gradient: [1, -1, 0]),
                  ]) { p in KDKL(T: try p.real("T"), alpha: try p.real("alpha_kd")) },
            .loss("kt_sel", family: "distillation",
                  summary: "empirical squared error logit loss on sampled labels with teacher probabilities",
                  formula: "ℓ = ½ (log softmax(z)_a − log π*(a))²; ∂ℓ/∂z = (log p_a − log π*)(e_a − p)",
                  reference: "Towards the Fundamental Limits of Knowledge Transfer over Finite Domains (Zhao & Zhu 2023)",
                  confidence: "medium",
                  notes: "Pinned from the paper text (§4.3, eq. 4.6, normalized logits, factor ½); the catalogue had it as low confidence. No official code found. Mean over the batch (the paper sums).",
                  target: "sampled labels a (batch,)",
                  inputs: [InputSpec("teacher_prob", "teacher probability π*(a_i | x_i) of each sampled label, in (0, 1]")],
                  check: CheckSpec(sample: { rng, shape in
                      let x = NDArray<Double>(shape: shape)
                      for i in 0..<x.count { x[i] = 2 * rng.normal() }
                      let (rows, k) = x.tensor.lastAxis
                      let labels = (0..<rows).map { _ in rng.below(k) }
                      let pi = (0..<rows).map { _ in 0.05 + 0.95 * rng.uniform() }
                      return Sample(x: x, inputs: ["teacher_prob": .real(shape: [rows], values: pi)],
                                    target: .index(shape: [rows], values: labels))
                  }),
                  examples: [
                    WorkedExample("π*=0.6, a=0 (catalogue candidate × ½)", x: [2, 1, -1], shape: [1, 3],
                                  inputs: ["teacher_prob": .real(shape: [1], values: [0.6])],
                                  target: .index(shape: [1], values: [0]),
                                  value: 0.5 * 0.026184, gradient: [0.5 * 0.095345, 0.5 * -0.083980, 0.5 * -0.011365]),
                    WorkedExample("1e4 logits", x: [1e4, 0, -1e4], shape: [1, 3],
                                  inputs: ["teacher_prob": .real(shape: [1], values: [1])],
                                  target: .index(shape: [1], values: [1]), value: 0.5 * 1e8, gradient: [1e4, -1e4, 0]),
                  ]) { _ in KTSel() },
        ]
    }()
}
