// Regula — hyperspherical energy: neurons spread out on the unit sphere (MHE).

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Minimum Hyperspherical Energy (reference-code semantics): the rows of W, normalised, repel
/// each other like charges on the sphere.
/// ```
/// ŵ_i = w_i / n_i,  n_i = sqrt(‖w_i‖² + 1e-4),  c_ij = ⟨ŵ_i, ŵ_j⟩,  δ_ij = 2 − 2c_ij,
/// a_ij = arccos(c_ij)/π + 1e-4,  E = (1/P) Σ_{i<j} e(c_ij),  P = N(N−1)/2
/// power "0": −log δ   "1": δ^{−1/2}   "2": δ^{−1}   "a0": −log a   "a1": a^{−1}   "a2": a^{−2}
/// ∂E/∂ŵ_i = (1/P) Σ_{j≠i} e'(c_ij) ŵ_j,   ∂E/∂w_i = (I − ŵ_iŵ_iᵀ) ∂E/∂ŵ_i / n_i  (exact with the eps)
/// half=true: the 2N vectors {w_i} ∪ {−w_i} (P = 2N(2N−1)/2); ∂E/∂w_i = ∂E/∂v_i − ∂E/∂v_{N+i}
/// ```
/// - Parameters: `power` ∈ {0, 1, 2, a0, a1, a2} (default "0"); `half` (default false).
/// - Reference: Liu, Lin, Liu, Yu, Liu, Song, "Learning towards Minimum Hyperspherical Energy",
///   NeurIPS 2018 (wy1iu/MHE `code/architecture.py`). Catalogue: penalties_matrix §5.
/// - Note: the code's s = 0 energy is −log δ = −2 log‖ŵ_i − ŵ_j‖, twice the paper's. The code's
///   per-layer multipliers (×0.1 for a1/a2 on hidden layers, ×10 / ×1 on the classifier) are
///   the caller's strength. Stability: δ is clamped to ≥ 1e-12 (duplicate neurons) and c to
///   [−1 + 1e-7, 1 − 1e-7] before arccos (infinite slope at ±1); a clamped term has slope 0.
///   N = 1 (full space) gives 0.
public struct HypersphericalEnergy: Penalty {
    public static let id = "hyperspherical_energy"
    public enum Power: String, Sendable { case s0 = "0", s1 = "1", s2 = "2", a0, a1, a2 }
    public let power: Power
    public let half: Bool
    public init(power: Power = .s0, half: Bool = false) { self.power = power; self.half = half }

    /// (e(c), de/dc) of one pair.
    @inlinable func energy(_ c: Double) -> (Double, Double) {
        switch power {
        case .s0, .s1, .s2:
            let raw = 2 - 2 * c
            let d = Swift.max(raw, 1e-12), dd = raw > 1e-12 ? -2.0 : 0  // dδ/dc
            switch power {
            case .s0: return (-log(d), -dd / d)
            case .s1: let r = 1 / d.squareRoot(); return (r, -0.5 * r / d * dd)
            default: return (1 / d, -dd / (d * d))
            }
        case .a0, .a1, .a2:
            let lim = 1 - 1e-7
            let cc = Swift.min(Swift.max(c, -lim), lim)
            let a = acos(cc) / Double.pi + 1e-4
            let da = abs(c) < lim ? -1 / (Double.pi * (1 - cc * cc).squareRoot()) : 0  // da/dc
            switch power {
            case .a0: return (-log(a), -da / a)
            case .a1: return (1 / a, -da / (a * a))
            default: return (1 / (a * a), -2 * da / (a * a * a))
            }
        }
    }

    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (rows, d) = w.matrix
        let count = half ? 2 * rows : rows
        for i in 0..<g.count { g[i] = 0 }
        if count < 2 || d == 0 { return 0 }
        // V̂: the normalised neurons (and their negatives for half-space MHE).
        let vh = NDArray<Double>(shape: [count, d]), nrm = [Double](unsafeUninitializedCapacity: rows) { b, c in
            for i in 0..<rows { b[i] = (Kernels.sumOfSquares(w.data + i * d, count: d) + 1e-4).squareRoot() }
            c = rows
        }
        let vp = vh.storage.baseAddress!
        for i in 0..<count {
            let src = i % rows, sign = i < rows ? 1.0 : -1.0
            for j in 0..<d { vp[i * d + j] = sign * w[src * d + j] / nrm[src] }
        }
        let c = NDArray<Double>(shape: [count, count]), cp = c.storage.baseAddress!
        BLAS.gram(.none, n: count, k: d, alpha: 1, vp, lda: d, beta: 0, cp)
        // Replace C by D_ij = e'(c_ij) (diagonal 0) while summing the energy over i < j.
        let pairs = Double(count) * Double(count - 1) / 2
        var total = 0.0
        for i in 0..<count {
            cp[i * count + i] = 0
            for j in (i + 1)..<count {
                let (e, de) = energy(cp[i * count + j])
                total += e
                cp[i * count + j] = de; cp[j * count + i] = de
            }
        }
        // Ĝ = (scale/P) D V̂, then through the normalisation, folding −w_i back onto w_i.
        let gh = NDArray<Double>(shape: [count, d]), ghp = gh.storage.baseAddress!
        BLAS.gemm(.none, .none, m: count, n: d, k: count, alpha: scale / pairs, cp, lda: count, vp, ldb: d,
                  beta: 0, ghp, ldc: d)
        for i in 0..<count {
            let row = vp + i * d, grow = ghp + i * d, src = i % rows, sign = i < rows ? 1.0 : -1.0
            let proj = Kernels.dot(row, grow, count: d)
            for j in 0..<d { g[src * d + j] += sign * (grow[j] - proj * row[j]) / nrm[src] }
        }
        return scale * total / pairs
    }
}

extension Registry {
    static let mheExample: [Double] = [1, 0, 0, 1, 1, 1]

    static let energy: [Entry] = [
        .penalty("hyperspherical_energy", family: "energy",
                 summary: "minimum hyperspherical energy (MHE): normalised neurons repel on the sphere (power s, angular, half-space)",
                 formula: "E = (1/P) Σ_{i<j} e(ŵ_i·ŵ_j); e = −log δ, δ^{−1/2}, δ^{−1} (δ = 2 − 2c) or −log a, a^{−1}, a^{−2} (a = arccos(c)/π + 1e-4)",
                 reference: "Learning towards Minimum Hyperspherical Energy (Liu et al., NeurIPS 2018)",
                 confidence: "high (code) / medium (paper constants)",
                 notes: "wy1iu/MHE code/architecture.py semantics: norm eps 1e-4 inside the square root, power 0 = −log δ (2× the paper's log energy), "
                    + "mean over unordered pairs; the code's per-layer multipliers are the caller's strength. "
                    + "Clamps: δ ≥ 1e-12, c ∈ [−1+1e-7, 1−1e-7] before arccos (the code has none).",
                 strength: 1,
                 params: [.choice("power", ["0", "1", "2", "a0", "a1", "a2"], "s = 0 (log), 1, 2 (Euclidean) or angular a0, a1, a2"),
                          .bool("half", false, "half-space MHE: also the negated neurons")],
                 check: CheckSpec(shapes: [[4, 5], [3, 2], [6], [3, 2, 2]]),
                 examples: [
                    WorkedExample("power 0", x: mheExample, shape: [3, 2], value: 0.125364),
                    WorkedExample("power 1", params: "power=1", x: mheExample, shape: [3, 2], value: 1.106665),
                    WorkedExample("power 2", params: "power=2", x: mheExample, shape: [3, 2], value: 1.304532),
                    WorkedExample("power a0", params: "power=a0", x: mheExample, shape: [3, 2], value: 1.154848),
                    WorkedExample("power a1", params: "power=a1", x: mheExample, shape: [3, 2], value: 3.331879),
                    WorkedExample("power a2", params: "power=a2", x: mheExample, shape: [3, 2], value: 11.988904),
                    WorkedExample("half power 0", params: "half=true", x: mheExample, shape: [3, 2], value: -0.646969),
                    WorkedExample("half power 1", params: "power=1,half=true", x: mheExample, shape: [3, 2], value: 0.781270),
                    WorkedExample("half power 2", params: "power=2,half=true", x: mheExample, shape: [3, 2], value: 0.716589),
                    WorkedExample("half power a0", params: "power=a0,half=true", x: mheExample, shape: [3, 2], value: 0.631814),
                    WorkedExample("half power a1", params: "power=a1,half=true", x: mheExample, shape: [3, 2], value: 2.155680),
                    WorkedExample("half power a2", params: "power=a2,half=true", x: mheExample, shape: [3, 2], value: 6.004254),
                 ]) {
            HypersphericalEnergy(power: try $0.choice("power"), half: try $0.bool("half"))
        },
    ]
}
