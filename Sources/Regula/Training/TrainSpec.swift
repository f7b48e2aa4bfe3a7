// Regula — the textual trainer spec: "widths=256,128;loss=...;penalty=l2=1e-4@layer*.weight;lr=1e-3"
// parsed into a TrainConfig (the C ABI, Python and the CLI share this one parser).

import RegulaEngine

/// Parses trainer specs: `;`-separated `key=value` items (the key ends at the first `=`),
/// repeated keys for the list-valued ones (`penalty`, `feature_penalty`, `transform`, `group`).
/// Unknown keys, malformed or out-of-range values and scalar keys given twice are errors.
public enum TrainSpec {
    /// The scalar keys, their types, ranges and defaults (TrainConfig's defaults).
    public static let keys: [ParamSpec] = [
        .text("widths", "256", "hidden widths, comma-separated (empty or none: a linear model)"),
        .text("activation", "relu", "relu, gelu, tanh, identity, or a registered map/activation id[:params]"),
        .real("dropout", 0, min: 0, max: 1, maxOpen: true, "dropout after each hidden layer"),
        .bool("layer_norm", false, "layer norm before each hidden activation"),
        .bool("residual", false, "residual adds between hidden layers of equal width"),
        .real("gaussian_noise", 0, min: 0, "additive Gaussian noise σ after each hidden layer"),
        .real("gaussian_dropout", 0, min: 0, max: 1, maxOpen: true, "multiplicative Gaussian noise rate after each hidden layer"),
        .int("quant_bits", nil, min: 2, max: 16, "quantisation noise (QReg) on the weight matrices with this many bits"),
        .choice("quant_mode", ["fake_quant", "uniform_noise"], "quantisation noise mode"),
        .text("loss", "softmax_cross_entropy", "a registered loss id[:params]"),
        .text("output_map", nil, "a registered output map id[:params] applied to the logits before the loss"),
        .choice("optimizer", ["adam", "adamw", "sgd"], "base optimizer (adamw: adam + decoupled weight decay)"),
    ] + OptimizerFactory.optimizerParams + [
        .choice("schedule", ["cosine", "constant", "step"], "learning-rate schedule"),
        .int("warmup", 0, min: 0, "linear warmup steps"),
        .int("step_every", 30, min: 1, "the step schedule decays every this many epochs"),
        .real("step_gamma", 0.1, min: 0, "the step schedule's factor"),
        .int("epochs", 40, min: 1, "epochs of fit"),
        .int("batch", 32, min: 1, "batch size of fit"),
        .int("total_steps", nil, min: 1, "the run's length in steps when fit does not plan it"),
        .int("seed", 0, min: 0, "seed of initialisation, batch order, dropout and noise"),
        .choice("precision", ["f64", "f32"], "matrix products of the linear layers: f64, or f32 (sgemm; everything else stays float64)"),
    ]

    /// The repeatable keys, parsed as PenaltySpec, transform specs and ParamGroup.
    public static let listKeys = ["penalty", "feature_penalty", "transform", "group"]

    /// Parses `text` on top of `base` (default: TrainConfig's defaults).
    public static func parse(_ text: String, base: TrainConfig = TrainConfig()) throws -> TrainConfig {
        var items: [(String, String)] = []
        for raw in text.split(separator: ";", omittingEmptySubsequences: false) {
            let item = raw.trimmingSpaces()
            if item.isEmpty { continue }  // "a=1;;b=2" and a trailing ";" are harmless
            guard let eq = item.firstIndex(of: "=") else {
                throw RegulaError.invalidArgument("trainer spec item '\(item)' has no '=' (expected key=value)")
            }
            items.append((String(item[..<eq]).trimmingSpaces(), String(item[item.index(after: eq)...]).trimmingSpaces()))
        }
        return try config(items, base: base)
    }

    /// Applies (key, value) pairs in order on top of `base`.
    public static func config(_ items: [(String, String)], base: TrainConfig = TrainConfig()) throws -> TrainConfig {
        var c = base, seen = Set<String>()
        for (key, value) in items {
            if !listKeys.contains(key) && !seen.insert(key).inserted {
                throw RegulaError.invalidArgument("trainer spec: '\(key)' is given twice")
            }
            try apply(key, value, to: &c)
        }
        return c
    }

    /// Sets one key of `c` from its text; list keys append.
    public static func apply(_ key: String, _ text: String, to c: inout TrainConfig) throws {
        switch key {
        case "penalty": c.penalties.append(try PenaltySpec.parse(nonEmpty(key, text))); return
        case "feature_penalty": c.featurePenalties.append(try PenaltySpec.parse(nonEmpty(key, text))); return
        case "transform": c.transforms.append(try nonEmpty(key, text)); return
        case "group": c.groups.append(try ParamGroup.parse(nonEmpty(key, text))); return
        default: break
        }
        guard let spec = keys.first(where: { $0.name == key }) else {
            throw RegulaError.unknownParameter(component: "trainer spec", name: key, known: keys.map(\.name) + listKeys)
        }
        if case .text = spec.type {
            switch key {
            case "widths": c.model.widths = try widths(text)
            case "activation":
                let act = Activation(rawValue: try nonEmpty(key, text))
                c.model.activation = act ?? .identity
                c.model.activationMap = act == nil ? text : nil
            case "loss": c.loss = try nonEmpty(key, text)
            default: c.outputMap = text.isEmpty || text == "none" ? nil : text  // output_map
            }
            return
        }
        let v = try spec.validate(ParamParser.parseValue(try nonEmpty(key, text)))
        let p = Params(component: "trainer spec", values: [key: v], data: [:])
        switch key {
        case "dropout": c.model.dropout = try p.real(key)
        case "layer_norm": c.model.layerNorm = try p.bool(key)
        case "residual": c.model.residual = try p.bool(key)
        case "gaussian_noise": c.model.gaussianNoise = try p.real(key)
        case "gaussian_dropout": c.model.gaussianDropout = try p.real(key)
        case "quant_bits": c.model.quantBits = try p.int(key)
        case "quant_mode": c.model.quantUniformNoise = try p.string(key) == "uniform_noise"
        case "optimizer": c.optimizer = try p.string(key)
        case "lr": c.lr = try p.real(key)
        case "momentum": c.momentum = try p.real(key)
        case "nesterov": c.nesterov = try p.bool(key)
        case "beta1": c.beta1 = try p.real(key)
        case "beta2": c.beta2 = try p.real(key)
        case "eps": c.eps = try p.real(key)
        case "weight_decay": c.weightDecay = try p.real(key)
        case "schedule": c.schedule = try p.string(key)
        case "warmup": c.warmup = try p.int(key)
        case "step_every": c.stepEvery = try p.int(key)
        case "step_gamma": c.stepGamma = try p.real(key)
        case "epochs": c.epochs = try p.int(key)
        case "batch": c.batch = try p.int(key)
        case "total_steps": c.totalSteps = try p.int(key)
        case "seed": c.seed = UInt64(try p.int(key))
        case "precision": c.precision = try p.string(key) == "f32" ? .float32 : .float64
        default: throw RegulaError.internal("trainer spec key '\(key)' is listed but not applied")
        }
    }

    /// The largest hidden width a spec may ask for.
    public static let maxWidth = 1 << 16

    /// "256,128" → [256, 128]; "" or "none" → [] (a linear model).
    static func widths(_ text: String) throws -> [Int] {
        if text.isEmpty || text == "none" { return [] }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let w = Int(part.trimmingSpaces()), w >= 1, w <= maxWidth else {
                throw RegulaError.invalidParameter(name: "widths", value: text,
                                                   reason: "expected comma-separated integers in 1...\(maxWidth), got '\(part)'")
            }
            return w
        }
    }

    static func nonEmpty(_ key: String, _ text: String) throws -> String {
        guard !text.isEmpty else { throw RegulaError.invalidParameter(name: key, value: "", reason: "empty value") }
        return text
    }
}
