// Regula — diffusion loss weightings λ(SNR), elementwise maps from the signal-to-noise ratio.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Checks that every SNR is ≥ 0 (the maps' domain).
func checkSNR(_ x: Tensor<Double>, _ id: String) throws {
    for i in 0..<x.count where !(x[i] >= 0) {
        throw RegulaError.invalidArgument("\(id) takes SNR values >= 0; got \(x[i]) at flat index \(i)")
    }
}

/// P2 weighting (perception prioritized training).
/// ```
/// λ(SNR) = (k + SNR)^{−γ};   dλ/dSNR = −γ (k + SNR)^{−γ−1}
/// ```
/// - Parameters: input SNR ≥ 0 (SNR(t) = ᾱ_t/(1 − ᾱ_t), any shape); `gamma` γ ≥ 0 (1), `k` > 0 (1).
///   The repository's default γ = 0 switches the weighting off; the paper's runs use γ ∈ {0.5, 1}
///   with k = 1, so Regula's default is γ = 1.
/// - Stability: compute SNR as ᾱ/(1 − ᾱ) (or from log-SNR) rather than 1/(1 − ᾱ) − 1 in float32.
/// - Reference: Choi et al., "Perception Prioritized Training of Diffusion Models", CVPR 2022
///   (jychoi118/P2-weighting `gaussian_diffusion.py`). Catalogue: losses §24.
public struct P2Weight: OutputMap {
    public static let id = "p2_weight"
    public let gamma: Double, k: Double
    public init(gamma: Double = 1, k: Double = 1) { self.gamma = gamma; self.k = k }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        try checkSNR(x, Self.id)
        for i in 0..<x.count { y[i] = pow(k + x[i], -gamma) }
    }
    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        try checkSNR(x, Self.id)
        for i in 0..<x.count { gx[i] = -gamma * pow(k + x[i], -gamma - 1) * cotangent[i] }
    }
}

/// Debias weighting of the ε-prediction loss.
/// ```
/// epsilon: λ(SNR) = 1/sqrt(max(SNR, snr_floor));  dλ/dSNR = −½ SNR^{−3/2} (0 where clamped)
/// v:       λ(SNR) = 1/sqrt(SNR + 1)                (diffengine's v-prediction port)
/// ```
/// - Parameters: input SNR ≥ 0; `prediction` ∈ {epsilon, v}; `snr_floor` > 0 (1e-8).
/// - Stability: λ → ∞ as SNR → 0 (zero-terminal-SNR schedules): SNR is clamped from below at
///   `snr_floor` (a Regula choice, catalogue §24.5), where λ = 1e4 and the derivative is 0.
/// - Reference: Yu et al., "Debias the Training of Diffusion Models" (yuhuUSTC/Debias
///   `gaussian_diffusion.py`); okotaku/diffengine `DeBiasEstimationLoss`. Catalogue: losses §24.
public struct DebiasWeight: OutputMap {
    public static let id = "debias_weight"
    public let vPrediction: Bool, floor: Double
    public init(vPrediction: Bool = false, floor: Double = 1e-8) { self.vPrediction = vPrediction; self.floor = floor }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        try checkSNR(x, Self.id)
        for i in 0..<x.count { y[i] = 1 / (vPrediction ? x[i] + 1 : Swift.max(x[i], floor)).squareRoot() }
    }
    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        try checkSNR(x, Self.id)
        for i in 0..<x.count {
            let s = vPrediction ? x[i] + 1 : x[i]
            gx[i] = !vPrediction && x[i] < floor ? 0 : -0.5 / (s * s.squareRoot()) * cotangent[i]
        }
    }
}

/// SNR(t) = ᾱ_t/(1 − ᾱ_t) of the linear β schedule (1e-4 → 0.02 over 1000 steps), for the
/// catalogue's worked table.
func linearScheduleSNR(_ t: Int) -> Double {
    var abar = 1.0
    for s in 0...t { abar *= 1 - (1e-4 + (0.02 - 1e-4) * Double(s) / 999) }
    return abar / (1 - abar)
}

extension Registry {
    static let diffusionWeighting: [Entry] = {
        let snr = [0, 99, 499, 999].map(linearScheduleSNR)
        let sample: @Sendable (inout RNG, [Int]) -> Sample = { rng, shape in
            let x = NDArray<Double>(shape: shape)
            for i in 0..<x.count { x[i] = exp(2 * rng.normal()) }  // SNR spans several decades
            return Sample(x: x)
        }
        let shapes: [[Int]] = [[3, 5], [6], [2, 2, 4]]
        return [
            .map("p2_weight", family: "diffusion_weighting", summary: "P2 loss weighting 1/(k + SNR)^γ",
                 formula: "λ = (k + SNR)^{−γ}; dλ/dSNR = −γ (k + SNR)^{−γ−1}",
                 reference: "Perception Prioritized Training of Diffusion Models (Choi et al., CVPR 2022)",
                 notes: "Default γ = 1 (the paper's setting; the repository default γ = 0 disables the weighting), k = 1.",
                 params: [.real("gamma", 1, min: 0, "γ"), .real("k", 1, min: 0, minOpen: true, "k")],
                 check: CheckSpec(shapes: shapes, sample: sample),
                 examples: [
                    WorkedExample("γ=1, k=1, linear schedule t = 0, 99, 499, 999", x: snr, shape: [4],
                                  output: [1.0000e-4, 0.102982, 0.921413, 0.999960]),
                    WorkedExample("γ=0.5", params: "gamma=0.5", x: snr, shape: [4],
                                  output: [0.0100000, 0.320908, 0.959902, 0.999980]),
                    WorkedExample("derivative at SNR = 1, γ = 1", x: [1], shape: [1], output: [0.5], vjp: ([1], [-0.25])),
                 ]) { p in P2Weight(gamma: try p.real("gamma"), k: try p.real("k")) },
            .map("debias_weight", family: "diffusion_weighting", summary: "debias loss weighting 1/sqrt(SNR) (ε-prediction)",
                 formula: "λ = 1/sqrt(max(SNR, snr_floor)) (epsilon), 1/sqrt(SNR + 1) (v); dλ/dSNR = −½ SNR^{−3/2}",
                 reference: "Debias the Training of Diffusion Models (Yu et al.); okotaku/diffengine DeBiasEstimationLoss",
                 notes: "SNR is clamped from below at snr_floor = 1e-8 (Regula choice for zero-terminal-SNR schedules, catalogue §24.5).",
                 params: [.choice("prediction", ["epsilon", "v"], "ε- or v-prediction form"),
                          .real("snr_floor", 1e-8, min: 0, minOpen: true, "lower clamp of the SNR")],
                 check: CheckSpec(shapes: shapes, sample: sample),
                 examples: [
                    WorkedExample("linear schedule t = 0, 99, 499, 999", x: snr, shape: [4],
                                  output: [0.0100005, 0.338828, 3.424137, 157.407281]),
                    WorkedExample("SNR = 0 clamps", x: [0, 4], shape: [2], output: [1e4, 0.5], vjp: ([1, 1], [0, -0.0625])),
                    WorkedExample("v-prediction", params: "prediction=v", x: [3], shape: [1], output: [0.5], vjp: ([1], [-0.0625])),
                 ]) { p in
                DebiasWeight(vPrediction: try p.string("prediction") == "v", floor: try p.real("snr_floor"))
            },
        ]
    }()
}
