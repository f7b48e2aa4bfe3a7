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
    /// A term of the user's model graph that needs extra passes of that model (penalties_matrix
    /// kind model-eval), built by name as a graph op, e.g. lipschitz_generator.
    case modelEval = "model_eval"
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
    /// AVmixup: the trainer attacks each batch and mixes it with its adversarial vertex.
    case avmixup(AVMixup)
    /// Pseudo-labelling with mixup: the trainer hides labels and trains on pseudo-labels.
    case pseudoLabel(PseudoLabelMixup)
    /// Virtual adversarial training: an extra loss term from input perturbations.
    case vat(VirtualAdversarial)
    /// A layer change (AutoSparse): the trainer thresholds every weight matrix.
    case autoSparse((alpha0: Double, reset: Double, thresholdInit: Double))
    /// A change of the model's layers (reparameterisations, stochastic layers): applied to the
    /// model spec before the graph is built.
    case model((inout ModelSpec) -> Void)
}

public enum TransformCatalog {
    static func real(_ n: String, _ d: Double, min: Double = 0, minOpen: Bool = false, _ doc: String) -> ParamSpec {
        .real(n, d, min: min, minOpen: minOpen, doc)
    }

    /// The parameters of autosparse_ga and autosparse (they differ in the default α0).
    static func autoSparseParams(alpha0: Double) -> [ParamSpec] {
        [real("alpha0", alpha0, "initial α"), .real("reset", 0.9, min: 0, max: 1, "share of training after which α = 0"),
         .real("threshold_init", -5, "initial s (τ = sigmoid(s))")]
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
                      params: autoSparseParams(alpha0: 0.75)),
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
        TransformInfo(id: "lawn_projection", kind: .postStep,
                      summary: "LAWN as penalties_matrix §21: after a free phase each constrained matrix (or row) is renormalised to its norm at the switch",
                      formula: "t ≥ warmup: [tangent_grad: g ← g − (⟨g,w⟩/‖w‖²)w]; after the update w ← c·w/‖w‖, c = ‖w‖ at the switch (per matrix or per row)",
                      reference: "Logit Attenuating Weight Normalization (Gupta et al. 2021)",
                      confidence: "low",
                      notes: "No paper body or code found (searched: code and issues corpora). Same class as lawn with the §21 options: granularity layer (default) or unit (one norm per output row), tangent_grad off by default (the projection alone, §21 step 3). A block with norm 0 at the switch is skipped. Equality (sphere), not a ball.",
                      params: [.int("warmup", 0, min: 0, "free-phase steps T_free"),
                               .choice("layers", ["last", "all"], "which weight matrices are constrained"),
                               .choice("granularity", ["layer", "unit"], "one norm per matrix or per output row"),
                               .bool("tangent_grad", false, "also project the gradient on the tangent space")]),
        TransformInfo(id: "backslash", kind: .postStep,
                      summary: "BackSlash: rate-constrained shrink towards a generalized-Gaussian prior with a global shape estimate, after every step",
                      formula: "w ← w − λ(ν̂/N)·sign(w)(|w| + c)^{ν̂−1}; ν̂ by moment matching over all N parameters each step",
                      reference: "BackSlash: Rate Constrained Optimized Training of Large Language Models (Wu, Wen, Han 2025); GG-prior authors' gg_prior/backslash.py",
                      confidence: "medium",
                      notes: "As the authors' re-implementation (phuang1024/DBS gg_prior/backslash.py, read): every parameter tensor including biases, one global ν̂ (nearest ρ on the 0.10…3.00 grid), not scaled by the learning rate, shift applied even when it crosses 0. Default λ = 2e3 is the code's for LLMs (÷N): small models want λ ≈ N·1e-4. nu > 0 fixes the shape instead.",
                      params: [real("lambda", 2e3, "rdo λ"), real("clip", 1, "shift c"),
                               real("nu", 0, "fixed shape ν (0: estimate every step)")]),
        TransformInfo(id: "autosparse", kind: .layer,
                      summary: "AutoSparse with one learnable threshold per output row (channelwise) and gradient annealing",
                      formula: "W_eff = sign(W)·ReLU(|W| − sigmoid(s_r)) per row r; ∂W_eff/∂W = 1 (kept) or α_t (masked); α_t as autosparse_ga",
                      reference: "AUTOSPARSE: Towards Automated Sparse Training of Deep Neural Networks (Kundu et al. 2023)",
                      confidence: "medium-low",
                      notes: "No official code (searched); the PQuant re-implementation (cern-nextgen/PQuantML autosparse.py) is the source: channelwise thresholds, α = α0·decay(e) (non-cumulative, the newer port), reset epoch. Library default α0 = 0.5 (PQuant) as penalties_sparsity §20 item 4; autosparse_ga keeps the per-layer threshold and α0 = 0.75 of the ResNet-50 config.",
                      params: autoSparseParams(alpha0: 0.5)),
        TransformInfo(id: "qreg", kind: .layer,
                      summary: "QReg: symmetric per-tensor b-bit fake quantisation of every weight matrix in the forward, straight-through backward",
                      formula: "Δ = max|w|/(2^{b−1} − 1); Q(w) = Δ·clip(round(w/Δ), −(2^{b−1} − 1), 2^{b−1} − 1); noise mode: w + U(−Δ/2, Δ/2)",
                      reference: "QReg: On Regularization Effects of Quantization (AskariHemmat et al. 2022)",
                      confidence: "medium",
                      notes: "The quant_noise layer (--quant-bits) under its QReg name (penalties_sparsity); quant_noise (transforms §12e) is the same transform. No code found; decided: per tensor, symmetric, round half to even (torch/numpy), STE identity everywhere (no values fall outside the symmetric range). max|w| = 0 leaves W unchanged.",
                      params: quantNoiseParams),
        TransformInfo(id: "very_large_dropout", kind: .layer,
                      summary: "very large dropout (p = 0.9) on the penultimate features, the classifier's input",
                      formula: "train: h̃ = h ⊙ m/(1 − p), m ~ Bernoulli(1 − p); logits = W h̃ + b; eval: h̃ = h",
                      reference: "Fine-tuning with Very Large Dropout (Zhang & Bottou 2024)",
                      confidence: "high",
                      notes: "Inverted dropout on the output layer's input only (the official DomainBed featurizer); meant for fine-tuning a trained model (from scratch at 0.9 it underfits, as the paper says). Feature penalties still see the undropped features.",
                      params: [.real("p", 0.9, min: 0, max: 1, maxOpen: true, "dropout rate")]),
        TransformInfo(id: "weight_conditioning", kind: .layer,
                      summary: "weight conditioning: every row of each weight matrix is equilibrated to unit norm in the forward",
                      formula: "W_c = diag(1/max(‖w_i‖, 1e-12))·W; ∂L/∂w_i = (I − c_i c_iᵀ)G_i/‖w_i‖",
                      reference: "Weight Conditioning for Smooth Optimization of Neural Networks (Saratchandran, Wang, Lucey 2024)",
                      confidence: "medium-low",
                      notes: "Paper body not reachable; row equilibration (Van der Sluis) as the third-party ivy implementation, catalogue penalties_matrix §10 mode=row. No learnable gain. layers=hidden leaves the classifier unnormalised (unit rows there cap the logits at ‖h‖); layers=all conditions it too.",
                      params: [.choice("layers", ["hidden", "all"], "which weight matrices are conditioned")]),
        TransformInfo(id: "smcp_soft_mask", kind: .layer,
                      summary: "SMCP soft input-channel masks: W ⊙ M forward, straight-through backward, masks rewired on a ramped target",
                      formula: "W_eff = W ⊙ M (columns); ∂L/∂W = ∂L/∂W_eff + λ_pd(1 − M)⊙W; M keeps the columns of largest Σ_o|W_oj|",
                      reference: "Soft Masking for Cost-Constrained Channel Pruning (Humble et al. 2022), official NVlabs/SMCP",
                      confidence: "high",
                      notes: "Magnitude importance (code default), rewiring every `every` steps (code: 80 batches), pruned decay 2e-4, target ramp 1 − e^{−k p} normalised with the code's 10 warm-up and 25 held epochs of 90 (k = 4.5). Decided: a per-layer pruned share instead of the global latency knapsack (the MLP has no latency model); importance summed over all output rows.",
                      params: [.real("ratio", 0.5, min: 0, max: 1, "final pruned share of input channels per layer"),
                               .int("every", 80, min: 1, "steps between mask updates"),
                               real("pruned_decay", 2e-4, "λ_pd"),
                               .real("warmup", 10.0 / 90, min: 0, max: 1, "share of training before pruning starts"),
                               .real("hold", 25.0 / 90, min: 0, max: 1, "final share of training at the target ratio")]),
        TransformInfo(id: "de_elbo", kind: .optimizerWrapper,
                      summary: "data-emphasised ELBo: train the mean of N(m, σ²I) with one reparameterised sample per step and a learned σ; the L2 strength follows in closed form",
                      formula: "J = NLL_B(m + σε) + ½·log(1 + ‖m‖²/(Dσ²)) (κ = D/N, τ²* = (‖m‖² + Dσ²)/D); σ = softplus(ρ) stepped by the optimizer",
                      reference: "Learning Hyperparameters via a Data-Emphasized Variational Objective (Harvey, Petrov, Hughes 2025), official tufts-ml/data-emphasized-ELBo",
                      confidence: "high",
                      notes: "As L2KappaELBoLoss (src/losses.py, read) with a zero prior mean and one (m, τ) pair over all parameters (the MLP trains from scratch; the paper's backbone/head split is for transfer). κ = D/N, so N cancels. Evaluation uses the mean m. +0 extra passes; the sampled forward replaces the plain one.",
                      params: [real("sigma_init", 1e-4, minOpen: true, "initial σ (official: 1e-4)")]),
        TransformInfo(id: "avmixup", kind: .dataTransform,
                      summary: "AVmixup: mix each example with its adversarial vertex x + γ(x_pgd − x) and the label-smoothed targets alike",
                      formula: "x_av = clip(x + γ(PGD_∞(x) − x)); u ~ U(0,1) per sample; x̃ = u x + (1−u) x_av; ỹ = u LS(y, λ1) + (1−u) LS(y, λ2)",
                      reference: "Adversarial Vertex Mixup: Toward Better Adversarially Robust Generalization (Lee, Lee, Yoon 2020), official cifar10_challenge perturb_avmixup",
                      confidence: "high",
                      notes: "As the official code: PGD with a random start, `steps` sign steps of size a, clipped to x ± ε and to the data range (the training inputs' min/max here, 0–255 there); γ = 2, λ1 = 1, λ2 = 0.1. ε and a are in scaled-input units (defaults 8/255, 2/255 for inputs in [0, 1]); the attack maximises the configured task loss against one-hot targets. +steps forward/backward passes per batch.",
                      params: [real("epsilon", 8.0 / 255, minOpen: true, "L∞ radius ε"), real("step_size", 2.0 / 255, minOpen: true, "PGD step a"),
                               .int("steps", 10, min: 1, "PGD steps"), real("gamma", 2, "vertex factor γ"),
                               .real("lambda1", 1, min: 0, max: 1, "label smoothing of the clean end (1: one-hot)"),
                               .real("lambda2", 0.1, min: 0, max: 1, "label smoothing of the vertex end")]),
        TransformInfo(id: "lora_dropout", kind: .layer,
                      summary: "LoRA Dropout: rank-r adapters on every weight matrix whose A columns and B rows are dropped at random each step",
                      formula: "W_eff = W + (α/r)·diag(m_B)·B·A·diag(m_A), m ~ Bern(1−p); eval: W + (α/r)(1−p)²·BA",
                      reference: "LoRA Dropout as a Sparsity Regularizer for Overfitting Control (Lin et al. 2024)",
                      confidence: "medium",
                      notes: "No official code (searched). Decided (transforms §18.5): p = 0.5 (the third-party default), no 1/(1−p) rescaling in training (that implementation), evaluation with the masks' expectation (1−p)²·BA instead of an N-mask output ensemble (one pass; exact for the layer, not for the network). Adapters: A Kaiming-uniform, B zero (PEFT), α = r. The trainer starts from scratch, so freeze_base=false by default trains the base too; freeze_base=true is LoRA proper.",
                      params: [.int("rank", 4, min: 1, "adapter rank r"), .real("p", 0.5, min: 0, max: 1, maxOpen: true, "mask drop rate"),
                               real("alpha", 0, "α (0: α = r, scale 1)"), .bool("freeze_base", false, "keep the base matrices fixed")]),
        TransformInfo(id: "deepshape", kind: .postStep,
                      summary: "DeepShape: one-shot reshaping of the central parameter histogram towards a sharper generalized Gaussian, then training continues (fine-tuning)",
                      formula: "after step `at`: q = round(2^13 w); the parameters in [μ_q ± p_max] are reassigned in sorted order so the histogram is ⌊n·pmf⌋ of GG(ν' = 0.8ν̂, β' = 0.6β̂)",
                      reference: "It Takes a Good Model to Train a Good Model: Generalized Gaussian Priors for Optimized LLMs (Wu, Xiong, Wen, Han 2025), gg_prior/deepshape.py",
                      confidence: "medium",
                      notes: "As the authors' GGD_deepshape (phuang1024/DBS, read): all parameters, 13 fractional bits, p_max = the smallest positive grid value present at most adj_minnum times, shape and scale estimated on |w| ≤ p_max, every parameter left on the grid, leftovers of the floors keep their grid value. `at` counts optimizer steps (regula train: epochs × batches per epoch); the code's adj_minnum = 1000 assumes LLM-sized models, small MLPs want ~10–50. Fails with a message when no grid value is that rare.",
                      params: [.int("at", 0, min: 0, "the step after which it fires"), real("shape_scale", 0.8, minOpen: true, "ν'/ν̂"),
                               real("std_scale", 0.6, minOpen: true, "β'/β̂"), .int("adj_minnum", 1000, min: 1, "count that ends the central range")]),
        TransformInfo(id: "jacobian_nuclear_denoise", kind: .lossTransform,
                      summary: "Jacobian nuclear norm of the classifier by composition (hidden stack h, output layer g) and denoising: squared differences at noisy inputs",
                      formula: "R = (η/2)[mean‖h(x+ε) − h(x)‖² + mean‖g(z+ε′) − g(z)‖²]/σ², z = h(x), ε, ε′ ~ N(0, σ²I) per step; ½(‖J_h‖² + ‖J_g‖²) ≥ ‖J_f‖_*",
                      reference: "Nuclear Norm Regularization for Deep Learning (Scarvelis & Solomon 2024), official cscarv/nuclear-norm-reg-dl",
                      confidence: "high",
                      notes: "As denoising_regularizer of the official code with K = 1 draw, σ = 1e-3 (the code's eta_base) and η = 0.1 (catalogue default). The split is h = every hidden layer, g = the output layer (for a linear g the second term is a Monte-Carlo ‖W_out‖²_F). Computed in float64, so σ = 1e-3 loses nothing. The noisy hidden pass shares the parameters; dropout and noise layers are refused (their fresh masks would enter the difference). +1 forward/backward of the hidden stack per step.",
                      params: [real("strength", 0.1, "η"), real("sigma", 1e-3, minOpen: true, "probe σ")]),
        TransformInfo(id: "pseudo_label_mixup", kind: .dataTransform,
                      summary: "pseudo-labelling with mixup: a labelled share, soft pseudo-labels from the previous epoch, ≥ k labelled per batch, prior and entropy regularisers",
                      formula: "targets: one-hot (labelled) or softmax of the last epoch (unlabelled); mixup(α) on (x, ỹ); L + λ_A·(−Σ_c (1/K) log h̄_c) + λ_H·H(softmax), h̄ = batch-mean prediction",
                      reference: "Pseudo-Labeling and Confirmation Bias in Deep Semi-Supervised Learning (Arazo et al. 2020), official EricArazo/PseudoLabeling",
                      confidence: "high",
                      notes: "The trainer keeps the labels of a stratified seeded share of the training set and hides the rest. As the official code: warm-up epochs on labelled data only, pseudo-labels = eval-mode softmax on the clean inputs after each epoch, α = 1, λ_A = 0.8, λ_H = 0.4, R_A in the −Σ p log h̄ form, 16 labelled per batch of 100. Decided: the minimum is met by replacing unlabelled slots with random labelled samples (the official two-stream sampler draws them separately); warm-up epochs are shorter, so a cosine schedule ends early.",
                      params: [.real("labeled_share", 0.1, min: 0, max: 1, minOpen: true, "share of training samples that keep their labels"),
                               .int("warmup", 10, min: 0, "epochs on labelled data only"), .int("min_labeled", 16, min: 0, "labelled samples per batch at least"),
                               real("alpha", 1, "mixup α"), real("prior_weight", 0.8, "λ_A"), real("entropy_weight", 0.4, "λ_H")]),
    ] + modelEvaluation

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
        case "lawn_projection":
            return .steps(LogitAttenuatingWeightNorm(warmupSteps: try p.int("warmup"), lastOnly: try p.string("layers") == "last",
                                                     perUnit: try p.string("granularity") == "unit",
                                                     tangent: try p.bool("tangent_grad")).transforms)
        case "backslash":
            let nu = try p.real("nu")
            return .step(BackSlash(lambda: try p.real("lambda"), clip: try p.real("clip"), nu: nu > 0 ? nu : nil))
        case "autosparse":
            let a = (alpha0: try p.real("alpha0"), reset: try p.real("reset"), thresholdInit: try p.real("threshold_init"))
            return .model { $0.autoSparse = a; $0.autoSparsePerRow = true }
        case "very_large_dropout":
            let rate = try p.real("p")
            return .model { $0.featureDropout = rate }
        case "weight_conditioning":
            let all = try p.string("layers") == "all"
            return .model { $0.conditioning = true; $0.conditionOutput = all }
        case "smcp_soft_mask":
            let m = SoftMaskSchedule(ratio: try p.real("ratio"), every: try p.int("every"), prunedDecay: try p.real("pruned_decay"),
                                     warmup: try p.real("warmup"), hold: try p.real("hold"))
            return .model { $0.softMask = m }
        case "avmixup":
            return .avmixup(AVMixup(epsilon: try p.real("epsilon"), stepSize: try p.real("step_size"), steps: try p.int("steps"),
                                    gamma: try p.real("gamma"), lambda1: try p.real("lambda1"), lambda2: try p.real("lambda2")))
        case "lora_dropout":
            let rank = try p.int("rank"), alpha = try p.real("alpha")
            let l = LoRASpec(rank: rank, p: try p.real("p"), alpha: alpha > 0 ? alpha : Double(rank), freezeBase: try p.bool("freeze_base"))
            return .model { $0.lora = l }
        case "deepshape":
            return .step(DeepShape(at: try p.int("at"), shapeScale: try p.real("shape_scale"), stdScale: try p.real("std_scale"),
                                   minCount: try p.int("adj_minnum")))
        case "jacobian_nuclear_denoise":
            let j = (strength: try p.real("strength"), sigma: try p.real("sigma"))
            return .model { $0.jacobianDenoise = j }
        case "pseudo_label_mixup":
            return .pseudoLabel(PseudoLabelMixup(labeledShare: try p.real("labeled_share"), warmup: try p.int("warmup"),
                                                 minLabeled: try p.int("min_labeled"), alpha: try p.real("alpha"),
                                                 priorWeight: try p.real("prior_weight"), entropyWeight: try p.real("entropy_weight")))
        case "de_elbo": return .wrapper(DataEmphasizedELBo(sigmaInit: try p.real("sigma_init"), seed: seed &+ 0x454C_426F))
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
        default:
            if let built = try makeModelEvaluation(id, p) { return built }
            throw RegulaError.internal("transform '\(id)' is listed but not built")
        }
    }
}

/// Builds a `Stepper` from text specs (for the C ABI and other text front ends): the base
/// optimizer by name, its settings as "name=value,..." and the transform specs.
public enum OptimizerFactory {
    /// The base optimizer's settings (also keys of a trainer spec, `TrainSpec`).
    public static let optimizerParams: [ParamSpec] = [
        .real("lr", 1e-3, min: 0, minOpen: true, "base learning rate"),
        .real("momentum", 0.9, min: 0, max: 1, maxOpen: true, "sgd momentum μ"),
        .bool("nesterov", false, "sgd Nesterov momentum"),
        .real("beta1", 0.9, min: 0, max: 1, maxOpen: true, "adam β1"),
        .real("beta2", 0.999, min: 0, max: 1, maxOpen: true, "adam β2"),
        .real("eps", 1e-8, min: 0, minOpen: true, "adam ε (> 0: ε = 0 divides 0 by 0 on a zero gradient)"),
        .real("weight_decay", 0.01, min: 0, "adamw's decoupled λ"),
    ]

    /// The settings `make` accepts.
    public static let params: [ParamSpec] = optimizerParams + [
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
            case .mixup, .avmixup, .pseudoLabel:
                throw RegulaError.unsupported("'\(TransformCatalog.split(spec).id)' transforms the batch, not the gradient: mix the data before the loss")
            case .autoSparse, .model:
                throw RegulaError.unsupported("'\(TransformCatalog.split(spec).id)' changes the model's layers: it needs the model, not only gradients")
            case .vat:
                throw RegulaError.unsupported("vat adds a loss term from input perturbations: it needs the model, not only gradients")
            }
        }
        return Stepper(params: slots + extraSlots(wrapper), optimizer: opt,
                       schedule: try Trainer.schedule(c, total: try p.int("total_steps"), stepsPerEpoch: 1),
                       transforms: steps, wrapper: wrapper)
    }
}

extension Registry {
    /// The training transforms as registry entries of kind `transform` (family: the catalogue
    /// kind, e.g. grad_transform), so `list`, `describe`, `rg_component_*` and `rg_describe` show
    /// them. They are built by an optimizer (`rg_optimizer_new`, `regula.Optimizer`,
    /// `regula train --transform`), not by `rg_penalty_new`/`rg_loss_new`/`rg_map_new`.
    static var transforms: [Entry] {
        TransformCatalog.all.map { t in
            Entry(info: ComponentInfo(id: t.id, kind: .transform, family: t.kind.rawValue, summary: t.summary,
                                      formula: t.formula, reference: t.reference, confidence: t.confidence,
                                      notes: t.notes, params: t.params)) { _ in
                throw RegulaError.unsupported("'\(t.id)' is a training transform: give it to an optimizer "
                    + "(rg_optimizer_new, regula.Optimizer(transforms=[...]), regula train --transform)")
            }
        }
    }
}

/// Parameters a wrapper adds to the ones it steps (DE-ELBo's σ).
func extraSlots(_ wrapper: GradientWrapper?) -> [ParameterSlot] {
    (wrapper as? DataEmphasizedELBo).map { [$0.sigma] } ?? []
}

extension TransformCatalog {
    /// The graph op of a model-evaluation transform ("id" or "id:params"), for building it into a
    /// graph by name (the graph C ABI's rg_graph_op). Ids without a graph form are refused.
    public static func graphOp(_ spec: String) throws -> GraphOp {
        let (id, _) = split(spec)
        if id == "lipschitz_generator" { return try lipschitzGenerator(spec) }
        _ = try info(id)
        throw RegulaError.unsupported("transform '\(id)' is not a graph op")
    }
}
