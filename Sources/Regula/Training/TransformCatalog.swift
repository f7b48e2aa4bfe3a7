// Regula — the training transforms of catalogue transforms.md: ids, parameter schemas, and
// their construction from "id:name=value,..." specs (the only place they arrive as text).

import RegulaEngine

/// What a transform is (catalogue transforms §0 kinds).
public enum TransformKind: String, Sendable {
    case gradTransform = "grad_transform"
    case postStep = "post_step"
    case optimizerWrapper = "optimizer_wrapper"
    case lossTransform = "loss_transform"
    case dataTransform = "data_transform"
    /// Changes a layer of the model (a custom forward/backward), e.g. autosparse_ga.
    case layer = "layer"
}

/// The description of one transform id.
public struct TransformInfo: Sendable {
    public let id: String
    public let kind: TransformKind
    public let summary: String
    public let formula: String
    public let reference: String
    public let confidence: String
    public let notes: String
    public let params: [ParamSpec]
}

/// `prox_step` (post_step): w ← prox_{η_t·lrScale·strength·R}(w) after every update, for the
/// weight matrices (slots with `decay`). The step uses the scalar scheduled learning rate even
/// under Adam (the common approximation; catalogue transforms §16b asks to state which).
public final class ProxStep: StepTransform {
    public let id = "prox_step", stage = TransformStage.postStep
    public let penalty: PenaltyInstance
    private let selected: (ParameterSlot) -> Bool

    public init(_ penalty: PenaltyInstance, on selected: @escaping (ParameterSlot) -> Bool = { $0.decay }) throws {
        guard penalty.hasProx else { throw RegulaError.unsupported("'\(penalty.info.id)' has no prox: it cannot be a prox_step") }
        self.penalty = penalty; self.selected = selected
    }

    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        for p in params where selected(p) {
            let w = p.valueTensor
            try penalty.prox(w, step: ctx.lr * p.lrScale, into: w)  // out may alias v
        }
    }
}

/// A transform built from a spec, in the form the trainer wires in.
public enum BuiltTransform {
    case step(StepTransform)
    case wrapper(GradientWrapper)
    /// Several step transforms acting together (LAWN: a projection and a renormalisation).
    case steps([StepTransform])
    /// Flooding: the mini-batch loss L becomes |L − b| + b (gradient sign(L − b)·∇L).
    case flood(Double)
    /// A batch transform (mixup): the trainer feeds mixed inputs and soft targets.
    case mixup(Mixup)
    /// Virtual adversarial training: an extra loss term from input perturbations.
    case vat(VirtualAdversarial)
    /// A layer change (AutoSparse): the trainer thresholds every weight matrix.
    case autoSparse((alpha0: Double, reset: Double, thresholdInit: Double))
}

public enum TransformCatalog {
    static func real(_ n: String, _ d: Double, min: Double = 0, minOpen: Bool = false, _ doc: String) -> ParamSpec {
        .real(n, d, min: min, minOpen: minOpen, doc)
    }

    /// Every transform the trainer implements, in the catalogue's §0 order.
    public static let all: [TransformInfo] = [
        TransformInfo(id: "decoupled_weight_decay", kind: .gradTransform,
                      summary: "AdamW-style decay: w ← w − η(d + λw), after the optimizer's direction",
                      formula: "d ← Dir(g) + λw (masked: matrices only); w ← w − η_t d",
                      reference: "Decoupled Weight Decay Regularization (Loshchilov & Hutter 2019); Why Do We Need Weight Decay in Modern Deep Learning? (D'Angelo et al. 2024)",
                      confidence: "high",
                      notes: "torch/optax convention: the decay is scaled by the full current learning rate η_t (not only the schedule multiplier). Biases and norm gains are not decayed by default.",
                      params: [real("weight_decay", 0.01, "λ (torch AdamW default 0.01)")]),
        TransformInfo(id: "l2_grad", kind: .gradTransform,
                      summary: "coupled L2: g ← g + λw before the optimizer (torch SGD/Adam weight_decay)",
                      formula: "g̃ = g + λw (masked: matrices only)", reference: "optax add_decayed_weights + optimizer; torch SGD(weight_decay)",
                      confidence: "high", notes: "", params: [real("weight_decay", 1e-4, "λ")]),
        TransformInfo(id: "clip_global_norm", kind: .gradTransform,
                      summary: "scale all gradients by c/‖g‖ when the global norm exceeds c",
                      formula: "n = √Σ‖g_p‖²; n > c ⇒ g_p ← g_p·c/n",
                      reference: "On the difficulty of training Recurrent Neural Networks (Pascanu et al. 2013); optax clip_by_global_norm",
                      confidence: "high", notes: "optax rule (exact select, no epsilon); the pre-clip norm is kept for logging.",
                      params: [real("max_norm", 1, minOpen: true, "threshold c")]),
        TransformInfo(id: "clip_tensor_norm", kind: .gradTransform,
                      summary: "per-tensor norm clipping", formula: "g_p ← g_p·min(1, c/‖g_p‖)",
                      reference: "On the difficulty of training Recurrent Neural Networks (Pascanu et al. 2013)",
                      confidence: "high", notes: "", params: [real("max_norm", 1, minOpen: true, "threshold c")]),
        TransformInfo(id: "clip_value", kind: .gradTransform,
                      summary: "elementwise gradient clipping", formula: "g ← clamp(g, −c, c)",
                      reference: "optax clip / torch clip_grad_value_", confidence: "high", notes: "",
                      params: [real("max_delta", 1, minOpen: true, "c")]),
        TransformInfo(id: "perp_grad", kind: .gradTransform,
                      summary: "⊥Grad: remove the gradient component along each weight tensor",
                      formula: "g⊥ = g − (wᵀg/(wᵀw+1e-30)) w; preserve_norm: g' = g⊥‖g‖/(‖g⊥‖+1e-30)",
                      reference: "Grokking at the Edge of Numerical Stability (Prieto et al. 2025), official OrthoGrad",
                      confidence: "high", notes: "Applied to every parameter tensor (biases too), as the official wrapper does.",
                      params: [.bool("preserve_norm", true, "rescale to the original gradient norm (official code)")]),
        TransformInfo(id: "grad_noise", kind: .gradTransform,
                      summary: "annealed Gaussian gradient noise", formula: "g ← g + N(0, η/(1+t)^γ), t from 0",
                      reference: "Adding Gradient Noise Improves Learning for Very Deep Networks (Neelakantan et al. 2015); optax add_noise",
                      confidence: "high", notes: "Seeded from the run's seed.",
                      params: [real("eta", 0.01, "η"), real("gamma", 0.55, "γ")]),
        TransformInfo(id: "flooding", kind: .lossTransform,
                      summary: "flooding: L̃ = |L − b| + b on the mini-batch mean task loss",
                      formula: "∇L̃ = sign(L − b)·∇L (ascent below the flood level)",
                      reference: "Do We Need Zero Training Loss After Achieving Zero Training Error? (Ishida et al. 2020)",
                      confidence: "high",
                      notes: "Applies to the task loss only; penalty terms keep their sign (as in the paper's code, where weight decay sits in the optimizer). sign(0) = 0.",
                      params: [real("b", 0.01, "flood level (paper grid 0..0.1)")]),
        TransformInfo(id: "prox_step", kind: .postStep,
                      summary: "proximal step of a penalty after every update: w ← prox_{η·strength·R}(w)",
                      formula: "w ← argmin_u ½‖u − w‖² + η_t·lrScale·strength·R(u)",
                      reference: "proximal gradient method; catalogue transforms §16b",
                      confidence: "high",
                      notes: "Uses the scalar scheduled η_t also under Adam (the common approximation, not the per-coordinate η/(√v̂+eps)). Acts on weight matrices. Spec: prox_step:penalty=<id>,<penalty params> or --penalty <id>-prox=<strength>.",
                      params: []),
        TransformInfo(id: "sam", kind: .optimizerWrapper,
                      summary: "sharpness-aware minimisation: gradient at w + ρg/‖g‖ (same batch)",
                      formula: "e = ρ g/‖g‖ (global); optimizer gets ∇L_B(w + e)",
                      reference: "Sharpness-Aware Minimization for Efficiently Improving Generalization (Foret et al. 2021)",
                      confidence: "high", notes: "Exact normaliser (no epsilon; a zero gradient gives e = 0). +1 gradient evaluation per step.",
                      params: [real("rho", 0.05, "ρ")]),
        TransformInfo(id: "usam", kind: .optimizerWrapper,
                      summary: "unnormalised SAM: gradient at w + ρg", formula: "e = ρ g",
                      reference: "Towards Understanding Sharpness-Aware Minimization (Andriushchenko & Flammarion 2022); An SDE for Modeling SAM (Monzio Compagnoni et al. 2023)",
                      confidence: "high", notes: "", params: [real("rho", 0.05, "ρ")]),
        TransformInfo(id: "dnsam", kind: .optimizerWrapper,
                      summary: "SAM normalised by the full-gradient norm (running estimate)",
                      formula: "e = ρ g/‖∇L(w)‖; estimate: buf = g, then buf ← (1−θ)buf + θg; N = ‖buf‖ + 1e-12",
                      reference: "An SDE for Modeling SAM: Theory and Insights (Monzio Compagnoni et al. 2023)",
                      confidence: "medium",
                      notes: "No official code. The trainer uses the running estimate of a public third-party DNSAM optimizer (dnsam_theta = 0.9, buffer initialised with the first gradient, 1e-12 in the normaliser); the engine's SharpnessAware(.dnsam, fullGradNorm:) takes an exact full-batch norm instead.",
                      params: [real("rho", 0.05, "ρ"), .real("theta", 0.9, min: 0, max: 1, minOpen: true, "θ of the running gradient estimate")]),
        TransformInfo(id: "amp", kind: .optimizerWrapper,
                      summary: "adversarial model perturbation: K ascent steps in per-tensor ε-balls",
                      formula: "Δ_p ← P_ε(Δ_p + η_in g_p) per tensor, K times; optimizer gets ∇L_B(w + Δ)",
                      reference: "Regularizing Neural Networks via Adversarial Model Perturbation (Zheng et al. 2021), official amp.py",
                      confidence: "high", notes: "Projection Δ·min(1, ε/(‖Δ‖+1e-12)) as the official code; the official script's extra grad clipping is a separate transform here.",
                      params: [real("epsilon", 0.5, "ball radius ε"), real("inner_lr", 1, "η_in"),
                               .int("inner_iter", 1, min: 1, "K")]),
        TransformInfo(id: "fd_grad_reg", kind: .optimizerWrapper,
                      summary: "finite-difference gradient regularisation (F-GR / B-GR) of L + γ/2‖∇L‖²",
                      formula: "forward: (1 − γ/ε) g + (γ/ε) ∇L(w + εg); backward: (1 + γ/ε) g − (γ/ε) ∇L(w − εg)",
                      reference: "Understanding Gradient Regularization in Deep Learning: Efficient Finite-Difference Computation and Implicit Bias (Karakida et al. 2023)",
                      confidence: "medium",
                      notes: "No single default in the paper; γ = 0.01, ε = 0.1 from its grids (catalogue suggestion). normalize_probe uses the probe ε g/‖g‖.",
                      params: [real("gamma", 0.01, "γ"), real("epsilon", 0.1, minOpen: true, "ε"),
                               .choice("mode", ["forward", "backward"], "F-GR or B-GR"),
                               .bool("normalize_probe", false, "probe ε·g/‖g‖")]),
        TransformInfo(id: "mixup", kind: .dataTransform,
                      summary: "mixup: train on convex combinations of pairs of examples and of their labels",
                      formula: "λ ~ Beta(α, α); x̃ = λx + (1−λ)x_π; ỹ = λe_y + (1−λ)e_{y_π}",
                      reference: "mixup: Beyond Empirical Risk Minimization (Zhang et al. 2018), official mixup-cifar10",
                      confidence: "high",
                      notes: "One λ per batch, partners from a fresh random permutation (the official code; torchvision's MixUp rolls the batch instead). The loss receives soft targets, so it must accept probabilities.",
                      params: [real("alpha", 1, "α of Beta(α, α); 0 turns mixing off")]),
        TransformInfo(id: "vat", kind: .lossTransform,
                      summary: "virtual adversarial training: adds α·KL(p ‖ f(x + r_adv)) with r_adv from power iteration",
                      formula: "d ← ∇_r KL(p‖f(x+r)) at r = ξ·normalize(d) (K times); r_adv = ε·normalize(d); L + α·KL(p‖f(x + r_adv)), p = softmax(f(x)) fixed",
                      reference: "Virtual Adversarial Training: A Regularization Method for Supervised and Semi-Supervised Learning (Miyato et al. 2018), official vat_tf",
                      confidence: "high",
                      notes: "The training batch serves as the unlabelled batch. normalize as the official code (per-sample max-abs, then sqrt(1e-6 + Σd²)). ε is in the units of the scaled inputs (default 8 is the CIFAR-10 ZCA value; digits scaled to [0, 1] want ~1). +K+1 forward/backward passes per step; dropout draws fresh masks in each.",
                      params: [real("epsilon", 8, minOpen: true, "ε"), real("xi", 1e-6, minOpen: true, "ξ"),
                               .int("iterations", 1, min: 1, "power iterations K"), real("alpha", 1, minOpen: true, "weight α")]),
        TransformInfo(id: "vat_ent", kind: .lossTransform,
                      summary: "VAT plus the conditional entropy of the predictions (weight 1)",
                      formula: "vat + H(p), H = −mean Σ_c p_c log p_c, gradient through p",
                      reference: "Virtual Adversarial Training (Miyato et al. 2018), official vat_tf",
                      confidence: "high", notes: "As vat; the entropy is taken on the clean batch.",
                      params: [real("epsilon", 8, minOpen: true, "ε"), real("xi", 1e-6, minOpen: true, "ξ"),
                               .int("iterations", 1, min: 1, "power iterations K"), real("alpha", 1, minOpen: true, "weight α")]),
        TransformInfo(id: "autosparse_ga", kind: .layer,
                      summary: "AutoSparse: learnable soft threshold per layer; masked weights keep an annealed share α of their gradient",
                      formula: "Ŵ = sign(W)·ReLU(|W| − sigmoid(s)); ∂Ŵ/∂W = 1 (kept) or α_t (masked); α_t = α0·max(½(1+cos πt/T), 1 − sigmoid(−6 + 12t/T)), 0 from t/T ≥ reset",
                      reference: "AUTOSPARSE: Towards Automated Sparse Training of Deep Neural Networks (Kundu et al.)",
                      confidence: "medium",
                      notes: "No official code. Decided: the non-cumulative α0·decay(t) schedule (catalogue §10), α updated per epoch (t = epoch − 1, T = epochs), one threshold per weight matrix initialised at s = −5, the reset at 90% of training; the initial α auto-tuning window is not implemented. Reported zeros and spectra are of Ŵ.",
                      params: [real("alpha0", 0.75, "initial α"), .real("reset", 0.9, min: 0, max: 1, "share of training after which α = 0"),
                               .real("threshold_init", -5, "initial s (τ = sigmoid(s))")]),
        TransformInfo(id: "iss_p", kind: .postStep,
                      summary: "iterative soft shrinkage: the smallest-|w| share of each weight matrix is multiplied by β after every step",
                      formula: "U_t = ⌊ratio·n⌋ smallest |w| (recomputed each step); w_i ← β w_i for i ∈ U_t",
                      reference: "Iterative Soft Shrinkage Learning for Efficient Image Super-Resolution (Wang et al. 2023), official ist_pruner.py",
                      confidence: "high",
                      notes: "Per weight matrix (local comparison, L1 magnitude), biases and norms untouched; β default 0.99 (code; the README commands use 0.95). The later hard-zero and fine-tune phase is the user's schedule.",
                      params: [.real("ratio", 0.9, min: 0, max: 1, "pruning ratio pr per layer"),
                               .real("beta", 0.99, min: 0, max: 1, "shrink factor β (ist_ratio)")]),
        TransformInfo(id: "iht", kind: .postStep,
                      summary: "iterative hard thresholding: the smallest-|w| share of each weight matrix is zeroed after every step",
                      formula: "w_i ← 0 for the ⌊ratio·n⌋ smallest |w| (ISS-P with β = 0)",
                      reference: "Iterative Soft Shrinkage Learning for Efficient Image Super-Resolution (Wang et al. 2023), IHT mode of the official code",
                      confidence: "high", notes: "Per weight matrix; recomputed every step.",
                      params: [.real("ratio", 0.9, min: 0, max: 1, "share of entries zeroed per layer")]),
        TransformInfo(id: "hard_threshold_proj", kind: .postStep,
                      summary: "projection onto k non-zeros per row (iterative hard thresholding) after every update",
                      formula: "w_row ← H_k(w_row): keep the k largest |w| of each row, zero the rest",
                      reference: "AWP: Activation-Aware Weight Pruning and Quantization with Projected Gradient Descent (Liu et al. 2025)",
                      confidence: "medium",
                      notes: "The training-time post step of catalogue §16a (magnitude top-k per output row); AWP's activation-aware layer-wise solver (C = XXᵀ step) is not part of the trainer.",
                      params: [.int("k", 8, min: 0, "non-zeros kept per row")]),
        TransformInfo(id: "lawn", kind: .postStep,
                      summary: "LAWN: after a free phase, weight norms are frozen (tangent gradient + renormalisation)",
                      formula: "t ≥ warmup: g ← g − (wᵀg/‖w‖²)w; after the update w ← r·w/‖w‖, r = ‖w‖ at the switch",
                      reference: "Logit Attenuating Weight Normalization (Gupta et al. 2021)",
                      confidence: "medium",
                      notes: "No official code found. Decided: per-tensor norms (not per row); the LR schedule is not restarted at the switch; warmup counts optimizer steps; layers=last constrains the classifier matrix (the final homogeneous sub-network of a normalised net), layers=all every weight matrix (a plain ReLU MLP is homogeneous throughout).",
                      params: [.int("warmup", 0, min: 0, "free-phase steps E_warm"),
                               .choice("layers", ["last", "all"], "which weight matrices are constrained")]),
    ]

    public static func info(_ id: String) throws -> TransformInfo {
        guard let t = all.first(where: { $0.id == id }) else {
            throw RegulaError.unknownComponent(id)
        }
        return t
    }

    /// Splits "id:name=value,..." (or "id") into the id and its parameter text.
    public static func split(_ spec: String) -> (id: String, params: String) {
        guard let c = spec.firstIndex(of: ":") else { return (spec.trimmingSpaces(), "") }
        return (String(spec[..<c]).trimmingSpaces(), String(spec[spec.index(after: c)...]))
    }

    /// Validated parameter values (defaults filled in) of a transform.
    static func values(_ info: TransformInfo, _ text: String) throws -> [String: ParamValue] {
        var values: [String: ParamValue] = [:]
        for s in info.params { if let d = s.defaultValue { values[s.name] = d } }
        for (name, v) in try ParamParser.parse(text) {
            guard let spec = info.params.first(where: { $0.name == name }) else {
                throw RegulaError.unknownParameter(component: info.id, name: name, known: info.params.map(\.name))
            }
            values[name] = try spec.validate(v)
        }
        return values
    }

    /// Builds a transform from its spec. `seed` seeds stochastic transforms.
    public static func make(_ spec: String, seed: UInt64 = 0) throws -> BuiltTransform {
        let (id, text) = split(spec)
        if id == "prox_step" {
            var parsed = try ParamParser.parse(text)
            guard let k = parsed.firstIndex(where: { $0.0 == "penalty" }), case .string(let pid) = parsed[k].1 else {
                throw RegulaError.invalidArgument("prox_step needs penalty=<id> (a penalty with a prox)")
            }
            parsed.remove(at: k)
            let rest = parsed.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            return .step(try ProxStep(try Registry.shared.penalty(pid, rest)))
        }
        let info = try info(id)
        let p = Params(component: id, values: try values(info, text), data: [:])
        switch id {
        case "decoupled_weight_decay": return .step(DecoupledWeightDecay(lambda: try p.real("weight_decay")))
        case "l2_grad": return .step(L2Grad(lambda: try p.real("weight_decay")))
        case "clip_global_norm": return .step(ClipGlobalNorm(maxNorm: try p.real("max_norm")))
        case "clip_tensor_norm": return .step(ClipTensorNorm(maxNorm: try p.real("max_norm")))
        case "clip_value": return .step(ClipValue(maxDelta: try p.real("max_delta")))
        case "perp_grad": return .step(PerpGrad(preserveNorm: try p.bool("preserve_norm")))
        case "grad_noise":
            return .step(GradNoise(eta: try p.real("eta"), gamma: try p.real("gamma"), seed: seed &+ 0x6E6F_6973_65))
        case "flooding": return .flood(try p.real("b"))
        case "mixup": return .mixup(Mixup(alpha: try p.real("alpha")))
        case "vat", "vat_ent":
            return .vat(VirtualAdversarial(xi: try p.real("xi"), epsilon: try p.real("epsilon"), iterations: try p.int("iterations"),
                                           alpha: try p.real("alpha"), entropy: id == "vat_ent"))
        case "autosparse_ga":
            return .autoSparse((try p.real("alpha0"), try p.real("reset"), try p.real("threshold_init")))
        case "iss_p": return .step(IterativeShrink(ratio: try p.real("ratio"), beta: try p.real("beta")))
        case "iht": return .step(IterativeShrink(ratio: try p.real("ratio"), beta: 0))
        case "hard_threshold_proj": return .step(RowTopKProjection(k: try p.int("k")))
        case "lawn":
            return .steps(LogitAttenuatingWeightNorm(warmupSteps: try p.int("warmup"), lastOnly: try p.string("layers") == "last").transforms)
        case "sam": return .wrapper(SharpnessAware(.sam, rho: try p.real("rho")))
        case "usam": return .wrapper(SharpnessAware(.usam, rho: try p.real("rho")))
        case "dnsam": return .wrapper(SharpnessAware(.dnsam, rho: try p.real("rho"), theta: try p.real("theta")))
        case "amp":
            return .wrapper(AdversarialModelPerturbation(epsilon: try p.real("epsilon"), innerLR: try p.real("inner_lr"),
                                                         innerIter: try p.int("inner_iter")))
        case "fd_grad_reg":
            return .wrapper(FiniteDifferenceGradReg(gamma: try p.real("gamma"), epsilon: try p.real("epsilon"),
                                                    backward: try p.string("mode") == "backward",
                                                    normalizeProbe: try p.bool("normalize_probe")))
        default: throw RegulaError.internal("transform '\(id)' is listed but not built")
        }
    }
}

/// Builds a `Stepper` from text specs (for the C ABI and other text front ends): the base
/// optimizer by name, its settings as "name=value,..." and the transform specs.
public enum OptimizerFactory {
    /// The settings `make` accepts.
    public static let params: [ParamSpec] = [
        .real("lr", 1e-3, min: 0, minOpen: true, "base learning rate"),
        .real("momentum", 0.9, min: 0, max: 1, maxOpen: true, "sgd momentum μ"),
        .bool("nesterov", false, "sgd Nesterov momentum"),
        .real("beta1", 0.9, min: 0, max: 1, maxOpen: true, "adam β1"),
        .real("beta2", 0.999, min: 0, max: 1, maxOpen: true, "adam β2"),
        .real("eps", 1e-8, min: 0, minOpen: true, "adam ε (> 0: ε = 0 divides 0 by 0 on a zero gradient)"),
        .real("weight_decay", 0.01, min: 0, "adamw's decoupled λ"),
        .choice("schedule", ["constant", "cosine", "step"], "learning-rate decay"),
        .int("warmup", 0, min: 0, "linear warmup steps"),
        .int("total_steps", 1, min: 1, "steps of the cosine decay (warmup included)"),
        .int("step_every", 1, min: 1, "steps between decays of the step schedule"),
        .real("gamma", 0.1, min: 0, "factor of the step schedule"),
        .int("seed", 0, min: 0, "seed of stochastic transforms (grad_noise)"),
    ]

    /// A stepper over `slots`. Flooding (a loss transform) is refused: apply it to the loss.
    public static func make(optimizer: String, params text: String, transforms: [String],
                            slots: [ParameterSlot]) throws -> Stepper {
        let info = TransformInfo(id: optimizer, kind: .gradTransform, summary: "", formula: "", reference: "",
                                 confidence: "", notes: "", params: params)
        let p = Params(component: optimizer, values: try TransformCatalog.values(info, text), data: [:])
        var c = TrainConfig()
        c.optimizer = optimizer; c.lr = try p.real("lr"); c.momentum = try p.real("momentum")
        c.nesterov = try p.bool("nesterov"); c.beta1 = try p.real("beta1"); c.beta2 = try p.real("beta2")
        c.eps = try p.real("eps"); c.weightDecay = try p.real("weight_decay"); c.schedule = try p.string("schedule")
        c.warmup = try p.int("warmup"); c.stepEvery = try p.int("step_every"); c.stepGamma = try p.real("gamma")
        let (opt, base) = try Trainer.optimizer(c)
        var steps = base
        var wrapper: GradientWrapper? = nil
        let seed = UInt64(try p.int("seed"))
        for spec in transforms {
            switch try TransformCatalog.make(spec, seed: seed) {
            case .step(let t): steps.append(t)
            case .steps(let ts): steps += ts
            case .wrapper(let w):
                guard wrapper == nil else { throw RegulaError.invalidArgument("only one optimizer wrapper (sam, amp, ...) per optimizer") }
                wrapper = w
            case .flood:
                throw RegulaError.unsupported("flooding transforms the loss, not the gradient: apply |L − b| + b to the loss")
            case .mixup:
                throw RegulaError.unsupported("mixup transforms the batch, not the gradient: mix the data before the loss")
            case .autoSparse:
                throw RegulaError.unsupported("autosparse_ga changes the layers: build it into the model (AutoSparseThreshold)")
            case .vat:
                throw RegulaError.unsupported("vat adds a loss term from input perturbations: it needs the model, not only gradients")
            }
        }
        return Stepper(params: slots, optimizer: opt,
                       schedule: try Trainer.schedule(c, total: try p.int("total_steps"), stepsPerEpoch: 1),
                       transforms: steps, wrapper: wrapper)
    }
}
