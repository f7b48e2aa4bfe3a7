// Regula — the model-evaluation transforms (lipschitz_generator, surrogate_gradient_norm) and the
// stochastic layers under their catalogue ids (gaussian_noise, gaussian_dropout, quant_noise):
// descriptions, construction from specs, and the graph op of lipschitz_generator by name.

import RegulaEngine

extension TransformCatalog {
    /// The parameters of quant_noise and its QReg name qreg.
    static let quantNoiseParams: [ParamSpec] = [
        .int("bits", 8, min: 2, max: 24, "b"),
        .choice("mode", ["fake_quant", "uniform_noise"], "fake quantisation or its noise model"),
    ]

    static let modelEvaluation: [TransformInfo] = [
        TransformInfo(id: "lipschitz_generator", kind: .modelEval,
                      summary: "generator Lipschitz penalty of a continuous conditional GAN: output change per condition change for the same latent z",
                      formula: "R = λ·mean_{i: ‖y_i − y′_i‖ ≥ 1e-8} ‖G(z_i, y_i) − G(z_i, y′_i)‖/‖y_i − y′_i‖; y′ = a batch k-NN condition or y + N(0, (scale·std y)²I)",
                      reference: "Continuous Conditional Generative Adversarial Networks (cGAN) with Generator Regularization (Zheng, Zhang, Zheng 2021)",
                      confidence: "medium-low",
                      notes: "A graph op with inputs [G(z, y), G(z, y′), y, y′] (two passes of one generator sharing its parameters), built by name (TransformCatalog.graphOp, the graph C ABI); the caller draws y′ with the op's neighbour sampler (ConditionNeighbors). No official code found (searched the code corpus; read the paper's abstract and introduction): the norm, the neighbour rules and λ = 1 follow the catalogue. Decided: the mean runs over the kept pairs (R = 0 when none is kept); batch_knn considers only distinct conditions (a duplicate would always be skipped) and picks uniformly among the k nearest with the caller's rng; perturb uses one s = scale·std over every entry of the batch (population std, the catalogue's s²I). The classifier trainer has no generator, so `regula train` refuses it.",
                      params: [real("strength", 1, "λ (provisional default 1)"),
                               .choice("neighbor", ConditionNeighbors.allCases.map(\.rawValue), "how y′ is drawn"),
                               .int("k", 1, min: 1, "batch_knn: the neighbour is one of the k nearest"),
                               real("scale", 0.05, "perturb: s = scale·std(y)")]),
        TransformInfo(id: "surrogate_gradient_norm", kind: .optimizerWrapper,
                      summary: "IGNITE: penalise the surrogate sharpness λρ‖∇_β G_B‖, G_B = the batch-mean surrogate prediction, by a finite-difference Hessian-vector product",
                      formula: "g = ∇G_B(β), n = ‖g‖, ĝ = ∇G_B(β + r g/n); grad = ∇L_task + λρ(ĝ − g)/r (n = 0: ∇L_task); ignite: λ ← λ + η_λ(ρn − ε)",
                      reference: "Incorporating Surrogate Gradient Norm to Improve Offline Optimization Techniques (IGNITE), official cuong-dm/IGNITE",
                      confidence: "high",
                      notes: "As MaximumLikelihood.train_step of design_baselines/gradient_ascent_IGNITE{,2}/trainers.py (read): the global norm over all parameters, the step β + r g/n and back, λρ/r times the gradient difference added to the task gradient, the dual update with this step's n after the step (ignite only), defaults from scripts/IGNITE{,2}/ga.py (ignite λ0 = 1e-3, η_λ = 1e-3, ε = 0.1, ρ = r = 0.05; ignite2 λ = 0.01, ρ = r = 0.2, given values override). Needs two objective terms evaluated apart: term 1 is G_B on the clean batch, every other term the training loss (the official code computes the task loss on noise-corrupted inputs: that is the caller's feed). Step it through a graph (Stepper.step(terms:termwise:)); a single gradient callback (rg_optimizer_step, regula.Optimizer) is refused with RG_ERR_UNSUPPORTED, and the classifier trainer has no surrogate term. Deviations: clip_nonneg (default true) keeps λ ≥ 0, the released code does not clip; n = 0 skips the perturbation instead of dividing by 0; β is restored from a copy. +2 gradient evaluations per step (+1 when λρ = 0).",
                      params: [.choice("variant", SurrogateGradientNorm.Variant.allCases.map(\.rawValue), "ignite (dual update of λ) or ignite2 (fixed λ)"),
                               .real("lambda", nil, min: 0, "λ0 (default 1e-3; ignite2: 0.01)"),
                               real("eta_lambda", 1e-3, "η_λ of the dual update (ignite)"),
                               .real("epsilon", 0.1, "ε, the budget of ρ‖∇G_B‖ (ignite)"),
                               .real("rho", nil, min: 0, "ρ (default 0.05; ignite2: 0.2)"),
                               .real("r", nil, min: 0, minOpen: true, "finite-difference step (default 0.05; ignite2: 0.2)"),
                               .bool("clip_nonneg", true, "keep λ ≥ 0 after the dual update (the released code does not)")]),
        TransformInfo(id: "gaussian_noise", kind: .layer,
                      summary: "additive Gaussian noise after each hidden layer in training",
                      formula: "train: h̃ = h + σε, ε ~ N(0, I); eval: h̃ = h; ∂h̃/∂h = I",
                      reference: "Keras GaussianNoise; torchvision GaussianNoise (catalogue transforms §12d)",
                      confidence: "high",
                      notes: "The --gaussian-noise layer under its catalogue id. Default σ = 0.1 (torchvision's; Keras has none). Drawn from the graph's seeded stream.",
                      params: [real("sigma", 0.1, "σ")]),
        TransformInfo(id: "gaussian_dropout", kind: .layer,
                      summary: "multiplicative Gaussian noise after each hidden layer in training, the mean and variance of inverted dropout",
                      formula: "train: h̃ = h ⊙ (1 + √(p/(1−p))·ε), ε ~ N(0, I); eval: h̃ = h; backward: the same multiplier",
                      reference: "Keras GaussianDropout; Dropout: A Simple Way to Prevent Neural Networks from Overfitting (Srivastava et al. 2014)",
                      confidence: "high",
                      notes: "The --gaussian-dropout layer under its catalogue id. Default p = 0.5 as dropout's (catalogue §12a; Keras has no default).",
                      params: [.real("p", 0.5, min: 0, max: 1, maxOpen: true, "rate p")]),
        TransformInfo(id: "quant_noise", kind: .layer,
                      summary: "QReg quantisation noise on every weight matrix: symmetric per-tensor b-bit fake quantisation (or its uniform noise model) with a straight-through backward",
                      formula: "Δ = max|w|/(2^{b−1} − 1); fake_quant (train and eval): Q(w) = Δ·clip(round(w/Δ), ±(2^{b−1} − 1)); uniform_noise (train): w + U(−Δ/2, Δ/2), eval w",
                      reference: "QReg: On Regularization Effects of Quantization (AskariHemmat et al. 2022)",
                      confidence: "medium",
                      notes: "The catalogue id (transforms §12e) of the --quant-bits layer; qreg is the same transform. Decided as qreg: per tensor, symmetric, round half to even, STE identity.",
                      params: quantNoiseParams),
    ]

    /// The transforms of this file built from validated parameters (nil: not one of them).
    static func makeModelEvaluation(_ id: String, _ p: Params) throws -> BuiltTransform? {
        switch id {
        case "lipschitz_generator":
            throw RegulaError.unsupported("lipschitz_generator is a term of a conditional generator's graph, on G(z, y) and G(z, y′): "
                + "build it by name as a graph op (TransformCatalog.graphOp, the graph C ABI); the classifier trainer and a gradient-only optimizer have no generator")
        case "surrogate_gradient_norm":
            let variant = try p.choice("variant", as: SurrogateGradientNorm.Variant.self)
            return .wrapper(try SurrogateGradientNorm(variant, lambda: p.optionalReal("lambda"), etaLambda: try p.real("eta_lambda"),
                                                      epsilon: try p.real("epsilon"), rho: p.optionalReal("rho"), r: p.optionalReal("r"),
                                                      clipNonnegative: try p.bool("clip_nonneg")))
        case "gaussian_noise":
            let sigma = try p.real("sigma")
            return .model { $0.gaussianNoise = sigma }
        case "gaussian_dropout":
            let rate = try p.real("p")
            return .model { $0.gaussianDropout = rate }
        case "qreg", "quant_noise":
            let bits = try p.int("bits"), noise = try p.string("mode") == "uniform_noise"
            return .model { $0.quantBits = bits; $0.quantUniformNoise = noise }
        default: return nil
        }
    }

    /// lipschitz_generator's op from a spec (parameters validated).
    static func lipschitzGenerator(_ spec: String) throws -> LipschitzGeneratorOp {
        let (id, text) = split(spec)
        let p = Params(component: id, values: try values(try info(id), text), data: [:])
        return try LipschitzGeneratorOp(strength: try p.real("strength"), neighbor: try p.choice("neighbor"),
                                        k: try p.int("k"), scale: try p.real("scale"))
    }
}
