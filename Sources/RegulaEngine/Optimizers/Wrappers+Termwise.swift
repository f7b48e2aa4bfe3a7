// Regula engine — optimizer wrappers that need the gradients of objective terms apart:
// IGNITE's surrogate sharpness (surrogate_gradient_norm).

/// `surrogate_gradient_norm` (IGNITE / IGNITE2): penalises the sharpness surrogate
/// λρ‖∇_β G_B(β)‖ of a surrogate model f_β, where G_B = (1/|B|) Σ_{x∈B} f_β(x) is the mean
/// prediction on the clean batch (objective term 1; every other term is the training objective,
/// term 0 the task loss). The penalty's gradient λρ·H g/‖g‖ is the released finite difference:
/// ```
/// g = ∇G_B(β), n = ‖g‖ (global over all slots)
/// ĝ = ∇G_B(β + r·g/n)                       (β restored afterwards)
/// grad = ∇L_task(β) + λρ·(ĝ − g)/r          (n = 0: grad = ∇L_task, no perturbation)
/// IGNITE: λ ← λ + η_λ(ρn − ε) after the step (clipNonnegative: λ ← max(λ, 0)); IGNITE2: λ fixed
/// ```
/// Three gradient evaluations per step (two when λρ = 0: the perturbed one would add 0).
/// - Reference: "Incorporating Surrogate Gradient Norm to Improve Offline Optimization
///   Techniques" (IGNITE), official cuong-dm/IGNITE `design_baselines/gradient_ascent_IGNITE{,2}/trainers.py`
///   (`MaximumLikelihood.train_step`); catalogue penalties_matrix §20.
/// - Deviation: the released code never clips λ; `clipNonnegative` (default) keeps λ ≥ 0, so a
///   long run below the ε budget does not turn the penalty into a reward. β is restored from a
///   copy (the code subtracts the step again, exact only up to rounding).
public final class SurrogateGradientNorm: TermwiseGradientWrapper {
    public enum Variant: String, Sendable, CaseIterable { case ignite, ignite2 }
    public let id = "surrogate_gradient_norm"
    public let variant: Variant
    /// The current multiplier λ (IGNITE updates it after every step).
    public private(set) var lambda: Double
    public let etaLambda: Double, epsilon: Double, rho: Double, r: Double
    public let clipNonnegative: Bool
    /// n = ‖∇G_B‖ at the last step's unperturbed point.
    public private(set) var lastNorm = 0.0
    private let values = SlotCopies(), taskGrads = SlotCopies(), surrogateGrads = SlotCopies()

    /// Defaults are the released scripts': IGNITE λ0 = 1e-3, η_λ = 1e-3, ε = 0.1, ρ = r = 0.05;
    /// IGNITE2 λ = 0.01, ρ = r = 0.2.
    public init(_ variant: Variant = .ignite, lambda: Double? = nil, etaLambda: Double = 1e-3, epsilon: Double = 0.1,
                rho: Double? = nil, r: Double? = nil, clipNonnegative: Bool = true) throws {
        let ignite2 = variant == .ignite2
        self.variant = variant
        self.lambda = lambda ?? (ignite2 ? 0.01 : 1e-3)
        self.rho = rho ?? (ignite2 ? 0.2 : 0.05)
        self.r = r ?? (ignite2 ? 0.2 : 0.05)
        self.etaLambda = etaLambda; self.epsilon = epsilon; self.clipNonnegative = clipNonnegative
        guard self.r > 0, self.r.isFinite, self.rho >= 0, self.rho.isFinite, self.lambda.isFinite,
              etaLambda >= 0, etaLambda.isFinite, epsilon.isFinite else {
            throw GraphError.value("surrogate_gradient_norm needs r > 0, ρ >= 0, η_λ >= 0 and finite λ, ε")
        }
    }

    public func gradient(_ params: [ParameterSlot], terms: Int, _ evaluate: ([Double]) throws -> Double) throws -> Double {
        guard terms >= 2 else {
            throw GraphError.value("surrogate_gradient_norm needs two objective terms, the task loss (0) and the surrogate mean G_B (1); got \(terms)")
        }
        var task = [Double](repeating: 1, count: terms), surrogate = [Double](repeating: 0, count: terms)
        task[1] = 0; surrogate[1] = 1
        let loss = try evaluate(task)
        taskGrads.save(params, grads: true)
        _ = try evaluate(surrogate)
        let n = globalGradNorm(params)
        lastNorm = n
        let c = lambda * rho / r
        if n > 0 && c != 0 {
            surrogateGrads.save(params, grads: true)
            values.save(params)
            for p in params { for i in 0..<p.count { p.value[i] += r * p.grad[i] / n } }
            do { _ = try evaluate(surrogate) } catch { values.restore(params); throw error }
            values.restore(params)
            for (k, p) in params.enumerated() {
                let t = taskGrads[k], g = surrogateGrads[k]
                for i in 0..<p.count { p.grad[i] = t[i] + c * (p.grad[i] - g[i]) }
            }
        } else {
            taskGrads.restore(params, grads: true)
        }
        if variant == .ignite {  // dual ascent on ρn ≤ ε with the norm of this step
            lambda += etaLambda * (rho * n - epsilon)
            if clipNonnegative { lambda = Swift.max(lambda, 0) }
        }
        return loss
    }
}
