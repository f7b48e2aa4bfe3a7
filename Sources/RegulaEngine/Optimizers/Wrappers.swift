// Regula engine — optimizer wrappers that re-evaluate the gradient at perturbed weights:
// SAM, USAM, DNSAM, AMP, finite-difference gradient regularisation.

/// Saved copies of the parameter values and gradients (allocated once, reused every step).
final class SlotCopies {
    private var values: [[Double]] = []
    func save(_ params: [ParameterSlot], grads: Bool = false) {
        if values.count != params.count { values = params.map { [Double](repeating: 0, count: $0.count) } }
        for (k, p) in params.enumerated() {
            let src = grads ? p.grad : p.value
            values[k].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: src, count: p.count) }
        }
    }
    func restore(_ params: [ParameterSlot], grads: Bool = false) {
        for (k, p) in params.enumerated() {
            let dst = grads ? p.grad : p.value
            values[k].withUnsafeBufferPointer { dst.update(from: $0.baseAddress!, count: p.count) }
        }
    }
    subscript(k: Int) -> [Double] { values[k] }
}

/// `sam`, `usam`, `dnsam`: g = ∇L_B(w); e = ρ·g/N (N = ‖g‖ for SAM, 1 for USAM, a full-gradient
/// norm estimate for DNSAM); the optimizer gets ∇L_B(w + e) from the same batch.
///
/// - SAM normaliser: exact ‖g‖ (optax `normalize()`, google-research/sam); a zero gradient
///   gives e = 0 instead of 0/0.
/// - DNSAM: N = ‖∇L(w)‖ from `fullGradNorm` when given (exact, e.g. full-batch training);
///   otherwise the running estimate of the public DNSAM implementation: buf = g on the first
///   step, then buf ← (1−θ)·buf + θ·g, N = ‖buf‖ + 1e-12 (θ = 0.9).
public final class SharpnessAware: GradientWrapper {
    public enum Variant: String, Sendable { case sam, usam, dnsam }
    public let variant: Variant
    public let rho: Double
    public let theta: Double
    /// DNSAM's exact normaliser, when the caller can compute the full-data gradient norm.
    public var fullGradNorm: (() throws -> Double)?
    public var id: String { variant.rawValue }
    private let saved = SlotCopies()
    private var buffer: [[Double]] = []

    public init(_ variant: Variant, rho: Double = 0.05, theta: Double = 0.9,
                fullGradNorm: (() throws -> Double)? = nil) {
        self.variant = variant; self.rho = rho; self.theta = theta; self.fullGradNorm = fullGradNorm
    }

    public func gradient(_ params: [ParameterSlot], _ evaluate: () throws -> Double) throws -> Double {
        let loss = try evaluate()
        let scale: Double
        switch variant {
        case .usam: scale = rho
        case .sam:
            let n = globalGradNorm(params)
            scale = n > 0 ? rho / n : 0
        case .dnsam:
            if let full = fullGradNorm {
                let n = try full()
                scale = n > 0 ? rho / n : 0
            } else {
                if buffer.count != params.count {
                    buffer = params.map { Array(UnsafeBufferPointer(start: $0.grad, count: $0.count)) }
                } else {
                    for (k, p) in params.enumerated() {
                        for i in 0..<p.count { buffer[k][i] = (1 - theta) * buffer[k][i] + theta * p.grad[i] }
                    }
                }
                var s = 0.0
                for b in buffer { for x in b { s += x * x } }
                scale = rho / (s.squareRoot() + 1e-12)
            }
        }
        saved.save(params)
        for p in params { for i in 0..<p.count { p.value[i] += scale * p.grad[i] } }
        defer { saved.restore(params) }
        _ = try evaluate()
        return loss
    }
}

/// `amp` (Adversarial Model Perturbation, official optimizer): Δ = 0; K times:
/// Δ_p ← Δ_p + η_in·g_p, then project each tensor onto its own ball
/// Δ_p ← Δ_p·min(1, ε/(‖Δ_p‖ + 1e-12)), evaluate g at w + Δ. The optimizer gets the last g.
public final class AdversarialModelPerturbation: GradientWrapper {
    public let id = "amp"
    public let epsilon: Double, innerLR: Double, innerIter: Int
    private let saved = SlotCopies()
    private var delta: [[Double]] = []

    public init(epsilon: Double = 0.5, innerLR: Double = 1, innerIter: Int = 1) {
        self.epsilon = epsilon; self.innerLR = innerLR; self.innerIter = innerIter
    }

    public func gradient(_ params: [ParameterSlot], _ evaluate: () throws -> Double) throws -> Double {
        let loss = try evaluate()
        saved.save(params)
        defer { saved.restore(params) }
        delta = params.map { [Double](repeating: 0, count: $0.count) }
        for _ in 0..<innerIter {
            for (k, p) in params.enumerated() {
                var s = 0.0
                for i in 0..<p.count { delta[k][i] += innerLR * p.grad[i]; s += delta[k][i] * delta[k][i] }
                let f = Swift.min(1, epsilon / (s.squareRoot() + 1e-12))  // per-tensor ball
                let w0 = saved[k]
                for i in 0..<p.count { delta[k][i] *= f; p.value[i] = w0[i] + delta[k][i] }
            }
            _ = try evaluate()
        }
        return loss
    }
}

/// `fd_grad_reg` (F-GR / B-GR): the gradient of L + (γ/2)‖∇L‖² by one finite difference on
/// the same batch. Forward: g_GR = (1 − γ/ε)·g + (γ/ε)·∇L(w + ε g); backward:
/// g_GR = (1 + γ/ε)·g − (γ/ε)·∇L(w − ε g). With `normalizeProbe` the probe is ε·g/‖g‖ and the
/// weights use that probe length (γ/(ε/‖g‖)).
public final class FiniteDifferenceGradReg: GradientWrapper {
    public let id = "fd_grad_reg"
    public let gamma: Double, epsilon: Double, backward: Bool, normalizeProbe: Bool
    private let saved = SlotCopies(), grads = SlotCopies()

    public init(gamma: Double, epsilon: Double, backward: Bool = false, normalizeProbe: Bool = false) {
        self.gamma = gamma; self.epsilon = epsilon; self.backward = backward; self.normalizeProbe = normalizeProbe
    }

    public func gradient(_ params: [ParameterSlot], _ evaluate: () throws -> Double) throws -> Double {
        let loss = try evaluate()
        var h = epsilon
        if normalizeProbe {
            let n = globalGradNorm(params)
            guard n > 0 else { return loss }  // zero gradient: Hg = 0, g_GR = g
            h = epsilon / n
        }
        let sign = backward ? -1.0 : 1.0
        saved.save(params); grads.save(params, grads: true)
        for p in params { for i in 0..<p.count { p.value[i] += sign * h * p.grad[i] } }
        _ = try evaluate()
        saved.restore(params)
        let r = gamma / h
        for (k, p) in params.enumerated() {
            let g0 = grads[k]
            // forward: (1 − r) g + r g(w+hg); backward: (1 + r) g − r g(w−hg)
            for i in 0..<p.count { p.grad[i] = (1 - sign * r) * g0[i] + sign * r * p.grad[i] }
        }
        return loss
    }
}
