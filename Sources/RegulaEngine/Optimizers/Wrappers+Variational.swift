// Regula engine — the data-emphasised ELBo (DE-ELBo): a Gaussian posterior over all parameters
// with one learned σ, trained with one reparameterised sample per step.

#if canImport(Glibc)
import Glibc
#endif

/// `de_elbo` (hyper_objective as an optimizer wrapper). The parameters are the posterior mean m
/// of q = N(m, σ²I); σ = softplus(ρ) is the extra slot `sigma` (ρ is what the optimizer steps).
/// Each step draws ε ~ N(0, I), evaluates the task gradient g at w = m + σε (same batch) and
/// adds the KL term with the data-emphasis κ = D/N and the closed-form prior variance
/// τ²* = (‖m‖² + Dσ²)/D (prior mean 0):
/// ```
/// J = NLL_B(m + σε) + P,   P = KL/(κN) = ½·log(1 + ‖m‖²/(Dσ²))
/// ∂J/∂m = g + m/(Dσ² + ‖m‖²)
/// ∂J/∂ρ = sigmoid(ρ)·(Σ g⊙ε − ‖m‖²/(σ(Dσ² + ‖m‖²)))
/// ```
/// (∂KL/∂τ² = 0 at τ²*, so differentiating through τ²* adds nothing.) D counts the entries of the
/// given parameters. The learned L2 precision is λ* = D/(‖m‖² + Dσ²) (`precision`).
/// Reference: "Learning Hyperparameters via a Data-Emphasized Variational Objective" (Harvey,
/// Petrov, Hughes 2025), official tufts-ml/data-emphasized-ELBo `src/losses.py`
/// (`L2KappaELBoLoss`, one softplus σ); catalogue transforms §17.
public final class DataEmphasizedELBo: GradientWrapper {
    public let id = "de_elbo"
    /// ρ with σ = softplus(ρ); step it with the other parameters (decay off).
    public let sigma: ParameterSlot
    private var rng: RNG
    private var noise: [[Double]] = []
    private let saved = SlotCopies()
    /// The last step's penalty P and learned precision λ*.
    public private(set) var penalty = 0.0, precision = 0.0

    public init(sigmaInit: Double = 1e-4, seed: UInt64) {
        sigma = ParameterSlot(name: "de_elbo.sigma", shape: [1], decay: false)
        // softplus⁻¹(σ) = σ + log(1 − e^{−σ}) (stable for small and large σ)
        sigma.value[0] = sigmaInit + log(-expm1(-sigmaInit))
        rng = RNG(seed: seed)
    }

    /// σ = softplus(ρ) = max(ρ, 0) + log1p(e^{−|ρ|}) (no overflow for large ρ).
    public var currentSigma: Double { let r = sigma.value[0]; return Swift.max(r, 0) + log1p(exp(-abs(r))) }

    public func gradient(_ params: [ParameterSlot], _ evaluate: () throws -> Double) throws -> Double {
        let mean = params.filter { $0 !== sigma }
        let s = currentSigma
        var d = 0, mm = 0.0
        for p in mean { d += p.count; mm += Kernels.sumOfSquares(p.value, count: p.count) }
        if noise.count != mean.count { noise = mean.map { [Double](repeating: 0, count: $0.count) } }
        saved.save(mean)
        for (k, p) in mean.enumerated() {
            for i in 0..<p.count { noise[k][i] = rng.normal(); p.value[i] += s * noise[k][i] }
        }
        let nll: Double
        do { nll = try evaluate() } catch { saved.restore(mean); throw error }
        saved.restore(mean)
        guard d > 0 else { sigma.grad[0] = 0; return nll }
        let denom = Double(d) * s * s + mm
        var ge = 0.0
        for (k, p) in mean.enumerated() {
            for i in 0..<p.count { ge += p.grad[i] * noise[k][i]; p.grad[i] += p.value[i] / denom }
        }
        let sig = 1 / (1 + exp(-sigma.value[0]))
        sigma.grad[0] = sig * (ge - mm / (s * denom))
        penalty = 0.5 * log1p(mm / (Double(d) * s * s))
        precision = Double(d) / denom
        return nll + penalty
    }
}
