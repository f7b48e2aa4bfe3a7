// Regula engine — gradient transforms, post-step transforms and the step that chains them.
//
// Order of one step (catalogue transforms §0, optax `chain` semantics):
//   raw grad (a wrapper such as SAM may re-evaluate it) → l2_grad → perp_grad → grad_noise →
//   clip_* → base optimizer direction → decoupled decay → × η_t·lrScale → apply → post steps.

#if canImport(Glibc)
import Glibc
#endif

/// Where a transform acts in the step. Transforms of one stage run in the order given.
public enum TransformStage: Int, Sendable, Comparable {
    /// g ← g + λw (coupled decay): first, as if the penalty were part of the loss.
    case coupled = 0
    /// Projections of the raw gradient (perp_grad).
    case project
    /// Gradient noise.
    case noise
    /// Clipping.
    case clip
    /// Acts on the optimizer's direction (decoupled weight decay).
    case direction
    /// Acts on the parameters after the update (prox, projections).
    case postStep

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// What a transform knows about the current step.
public struct StepContext: Sendable {
    /// 0-based step counter.
    public var step: Int
    /// The scheduled learning rate η_t of this step (before each slot's lrScale).
    public var lr: Double
    public init(step: Int, lr: Double) { self.step = step; self.lr = lr }
}

/// A transform of gradients (stages up to `.clip`), of directions (`.direction`) or of
/// parameters (`.postStep`).
public protocol StepTransform: AnyObject {
    var id: String { get }
    var stage: TransformStage { get }
    func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws
}

/// An optimizer wrapper that needs extra gradient evaluations (SAM, AMP): it fills every
/// slot's `grad` with the gradient handed to the optimizer and returns the loss at the
/// unperturbed point. `evaluate` fills the grads at the current parameter values and returns
/// the loss; the wrapper must leave the parameter values as it found them.
public protocol GradientWrapper: AnyObject {
    var id: String { get }
    func gradient(_ params: [ParameterSlot], _ evaluate: () throws -> Double) throws -> Double
}

/// An optimizer wrapper that needs the gradients of objective terms apart (IGNITE needs the task
/// loss and the surrogate mean G_B): `evaluate(seeds)` fills every slot's grad with
/// ∇Σ_k seeds_k·term_k at the current values and returns Σ_k seeds_k·term_k. Stepped by
/// `Stepper.step(terms:termwise:)`; a single gradient callback (`Stepper.step(_:)`,
/// rg_optimizer_step) cannot drive it and gets `GraphError.unsupported`.
public protocol TermwiseGradientWrapper: GradientWrapper {
    func gradient(_ params: [ParameterSlot], terms: Int, _ evaluate: ([Double]) throws -> Double) throws -> Double
}

extension TermwiseGradientWrapper {
    /// The refusal of a single gradient callback, which returns only the terms' sum.
    public var singleCallbackError: GraphError {
        .unsupported("'\(id)' needs the gradients of its objective terms apart (a single gradient callback returns only their sum): "
            + "step it through a graph, whose step evaluates each term (Stepper.step(terms:termwise:), the graph step of the C ABI)")
    }

    public func gradient(_ params: [ParameterSlot], _ evaluate: () throws -> Double) throws -> Double {
        throw singleCallbackError
    }
}

/// √(Σ_p ‖g_p‖²) over the slots' gradients.
public func globalGradNorm(_ params: [ParameterSlot]) -> Double {
    var s = 0.0
    for p in params { s += Kernels.sumOfSquares(p.grad, count: p.count) }
    return s.squareRoot()
}

// MARK: Weight decay

/// buffer ← buffer + λw on the slots with `decay`.
func addDecay(_ params: [ParameterSlot], _ lambda: Double, _ buffer: KeyPath<ParameterSlot, UnsafeMutablePointer<Double>>) {
    for p in params where p.decay {
        let b = p[keyPath: buffer]
        for i in 0..<p.count { b[i] += lambda * p.value[i] }
    }
}

/// `l2_grad`: g ← g + λw on slots with `decay` (coupled; enters momentum/Adam moments).
public final class L2Grad: StepTransform {
    public let id = "l2_grad", stage = TransformStage.coupled
    public let lambda: Double
    public init(lambda: Double) { self.lambda = lambda }
    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws { addDecay(params, lambda, \.grad) }
}

/// `decoupled_weight_decay`: d ← d + λw on slots with `decay`, so w ← w − η(d + λw)
/// (torch/optax convention: the decay is scaled by the full current learning rate).
public final class DecoupledWeightDecay: StepTransform {
    public let id = "decoupled_weight_decay", stage = TransformStage.direction
    public let lambda: Double
    public init(lambda: Double) { self.lambda = lambda }
    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws { addDecay(params, lambda, \.direction) }
}

// MARK: Clipping

/// `clip_global_norm` (optax rule, exact select): n = √Σ‖g_p‖²; if n > c every g_p ← g_p·c/n.
public final class ClipGlobalNorm: StepTransform {
    public let id = "clip_global_norm", stage = TransformStage.clip
    public let maxNorm: Double
    /// The pre-clip global norm of the last step (for logging, as torch returns it).
    public private(set) var lastNorm = 0.0
    public init(maxNorm: Double) { self.maxNorm = maxNorm }
    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        let n = globalGradNorm(params)
        lastNorm = n
        guard n > maxNorm else { return }  // select: the norm divides only in the clipped branch
        let s = maxNorm / n
        for p in params { for i in 0..<p.count { p.grad[i] *= s } }
    }
}

/// `clip_tensor_norm`: every g_p ← g_p · min(1, c/‖g_p‖).
public final class ClipTensorNorm: StepTransform {
    public let id = "clip_tensor_norm", stage = TransformStage.clip
    public let maxNorm: Double
    public init(maxNorm: Double) { self.maxNorm = maxNorm }
    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        for p in params {
            let n = Kernels.sumOfSquares(p.grad, count: p.count).squareRoot()
            guard n > maxNorm else { continue }
            let s = maxNorm / n
            for i in 0..<p.count { p.grad[i] *= s }
        }
    }
}

/// `clip_value`: g ← clamp(g, −c, c) elementwise.
public final class ClipValue: StepTransform {
    public let id = "clip_value", stage = TransformStage.clip
    public let maxDelta: Double
    public init(maxDelta: Double) { self.maxDelta = maxDelta }
    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        for p in params { for i in 0..<p.count { p.grad[i] = Swift.min(Swift.max(p.grad[i], -maxDelta), maxDelta) } }
    }
}

// MARK: Projections and noise

/// `perp_grad` (⊥Grad, OrthoGrad): per tensor g⊥ = g − (wᵀg/(wᵀw + 1e-30))·w, then (with
/// `preserveNorm`, as the official code) g' = g⊥·‖g‖/(‖g⊥‖ + 1e-30).
public final class PerpGrad: StepTransform {
    public let id = "perp_grad", stage = TransformStage.project
    public let preserveNorm: Bool
    public init(preserveNorm: Bool = true) { self.preserveNorm = preserveNorm }
    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        for p in params {
            let w = p.value, g = p.grad, n = p.count
            let wg = Kernels.dot(w, g, count: n), ww = Kernels.sumOfSquares(w, count: n)
            let gNorm = Kernels.sumOfSquares(g, count: n).squareRoot()
            let c = wg / (ww + 1e-30)  // 1e-30 (official): a zero weight tensor leaves g unchanged
            for i in 0..<n { g[i] -= c * w[i] }
            if preserveNorm {
                let s = gNorm / (Kernels.sumOfSquares(g, count: n).squareRoot() + 1e-30)
                for i in 0..<n { g[i] *= s }
            }
        }
    }
}

/// `grad_noise`: g ← g + N(0, σ_t²), σ_t² = η/(1+t)^γ (optax add_noise: count from 1).
public final class GradNoise: StepTransform {
    public let id = "grad_noise", stage = TransformStage.noise
    public let eta: Double, gamma: Double
    private var rng: RNG
    public init(eta: Double, gamma: Double, seed: UInt64) {
        self.eta = eta; self.gamma = gamma; rng = RNG(seed: seed)
    }
    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        let std = (eta / pow(Double(ctx.step + 1), gamma)).squareRoot()
        for p in params { for i in 0..<p.count { p.grad[i] += std * rng.normal() } }
    }
}

// MARK: The step

/// One optimizer step over a list of parameters: the chain of transforms around a base
/// optimizer, a learning-rate schedule and an optional gradient wrapper.
public final class Stepper: @unchecked Sendable {
    public let params: [ParameterSlot]
    public let optimizer: Optimizer
    public var schedule: Schedule
    /// Sorted by stage (stable: the given order within a stage).
    public let transforms: [StepTransform]
    public let wrapper: GradientWrapper?
    /// Steps taken.
    public private(set) var step = 0
    /// Gradient evaluations made (wrappers add theirs).
    public private(set) var evaluations = 0

    /// λ of the fused update when the direction stage is empty (0) or one decoupled weight
    /// decay; nil when other direction transforms need the direction buffers.
    private let fusedDecay: Double?

    public init(params: [ParameterSlot], optimizer: Optimizer, schedule: Schedule,
                transforms: [StepTransform] = [], wrapper: GradientWrapper? = nil) {
        self.params = params; self.optimizer = optimizer; self.schedule = schedule
        self.transforms = transforms.enumerated().sorted {
            ($0.element.stage, $0.offset) < ($1.element.stage, $1.offset)
        }.map(\.element)
        self.wrapper = wrapper
        let direction = transforms.filter { $0.stage == .direction }
        switch direction.count {
        case 0: fusedDecay = 0
        case 1: fusedDecay = (direction[0] as? DecoupledWeightDecay)?.lambda
        default: fusedDecay = nil
        }
    }

    /// Takes one step. `evaluate` fills every slot's grad at the current values and returns
    /// the loss; returns that loss (at the unperturbed point).
    @discardableResult
    public func step(_ evaluate: () throws -> Double) throws -> Double {
        let ctx = StepContext(step: step, lr: schedule.rate(at: step))
        let loss = try withoutActuallyEscaping(evaluate) { evaluate in
            let counted: () throws -> Double = { [unowned self] in self.evaluations += 1; return try evaluate() }
            return try wrapper?.gradient(params, counted) ?? counted()
        }
        try update(ctx)
        return loss
    }

    /// Takes one step of an objective that is a sum of `terms` scalar terms whose gradients can
    /// be evaluated apart: `evaluate(seeds)` fills every slot's grad with ∇Σ_k seeds_k·term_k at
    /// the current values and returns Σ_k seeds_k·term_k (`Trainer.objective(g, weights:)` does
    /// this for a graph). A `TermwiseGradientWrapper` (surrogate_gradient_norm) gets the terms
    /// apart; every other step sees their sum (all seeds 1). Returns the wrapper's loss.
    @discardableResult
    public func step(terms: Int, termwise evaluate: ([Double]) throws -> Double) throws -> Double {
        let ctx = StepContext(step: step, lr: schedule.rate(at: step))
        let loss = try withoutActuallyEscaping(evaluate) { evaluate in
            let counted: ([Double]) throws -> Double = { [unowned self] in self.evaluations += 1; return try evaluate($0) }
            if let w = wrapper as? TermwiseGradientWrapper { return try w.gradient(params, terms: terms, counted) }
            let all = [Double](repeating: 1, count: terms)
            return try wrapper?.gradient(params) { try counted(all) } ?? counted(all)
        }
        try update(ctx)
        return loss
    }

    /// The gradient transforms, the optimizer's direction and the update, then the post steps.
    private func update(_ ctx: StepContext) throws {
        for t in transforms where t.stage < .direction { try t.apply(params, ctx) }
        if let lambda = fusedDecay {  // direction, decay and update in one pass (same bits)
            try optimizer.update(params, lr: ctx.lr, decoupledDecay: lambda)
        } else {
            try optimizer.directions(params)
            for t in transforms where t.stage == .direction { try t.apply(params, ctx) }
            for p in params {
                let eta = ctx.lr * p.lrScale
                for i in 0..<p.count { p.value[i] -= eta * p.direction[i] }
            }
        }
        for t in transforms where t.stage == .postStep { try t.apply(params, ctx) }
        step += 1
    }
}
