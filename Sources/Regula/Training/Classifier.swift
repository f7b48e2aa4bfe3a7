// Regula — an MLP classifier built as a graph: linear layers, activations, optional layer norm,
// residual adds and dropout, a registered loss (after an optional output map), and registered
// penalties attached to the weight matrices.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// The architecture of an MLP classifier.
public struct ModelSpec: Sendable {
    /// Hidden layer widths (empty: a linear model).
    public var widths: [Int]
    public var activation: Activation
    /// Dropout probability after each hidden activation (0: none).
    public var dropout: Double
    /// Layer norm before each hidden activation.
    public var layerNorm: Bool
    /// Residual add around hidden layers whose input and output widths agree.
    public var residual: Bool
    /// A registered map or activation ("id" or "id:params") used instead of `activation`.
    public var activationMap: String?
    /// Additive Gaussian noise σ after each hidden layer (0: none).
    public var gaussianNoise: Double
    /// Multiplicative Gaussian noise rate p after each hidden layer (0: none).
    public var gaussianDropout: Double
    /// Quantisation noise on every weight matrix: bits (nil: none) and mode.
    public var quantBits: Int?
    public var quantUniformNoise: Bool
    /// AutoSparse gradient annealing on every weight matrix: (α0, reset progress, initial s).
    public var autoSparse: (alpha0: Double, reset: Double, thresholdInit: Double)?
    /// AutoSparse with one threshold per output row (`autosparse`) instead of one per matrix.
    public var autoSparsePerRow = false
    /// Dropout on the penultimate features, the output layer's input (`very_large_dropout`).
    public var featureDropout = 0.0
    /// Row equilibration W_c = D_r W of the hidden weight matrices (`weight_conditioning`),
    /// and of the output matrix too with `conditionOutput`.
    public var conditioning = false
    public var conditionOutput = false
    /// SMCP soft input-channel masks on every weight matrix (`smcp_soft_mask`).
    public var softMask: SoftMaskSchedule?
    /// LoRA adapters with LoRA Dropout on every weight matrix (`lora_dropout`).
    public var lora: LoRASpec?
    /// The denoised Jacobian nuclear-norm terms (`jacobian_nuclear_denoise`): strength η, probe σ.
    public var jacobianDenoise: (strength: Double, sigma: Double)?

    public init(widths: [Int] = [256], activation: Activation = .relu, dropout: Double = 0,
                layerNorm: Bool = false, residual: Bool = false, activationMap: String? = nil,
                gaussianNoise: Double = 0, gaussianDropout: Double = 0, quantBits: Int? = nil,
                quantUniformNoise: Bool = false) {
        self.quantBits = quantBits; self.quantUniformNoise = quantUniformNoise
        self.widths = widths; self.activation = activation; self.dropout = dropout
        self.layerNorm = layerNorm; self.residual = residual; self.activationMap = activationMap
        self.gaussianNoise = gaussianNoise; self.gaussianDropout = gaussianDropout
    }
}

/// SMCP's mask schedule: the pruned share of input channels ramps from 0 to `ratio` after a
/// warm-up share of training, exponentially, and holds for the last `hold` share; masks are
/// recomputed every `every` steps.
/// ```
/// ratio_t = 0 (p < warmup);  ratio (p ≥ 1 − hold);
///           ratio·(1 − e^{−k(p − warmup)})/(1 − e^{−k(1 − hold − warmup)}) between, k = 4.5
/// ```
/// p = step/total steps. Official NVlabs/SMCP: `1 − exp(−0.05·epoch)` normalised over 90 epochs
/// (k = 0.05·90 = 4.5 per unit of progress), 10 warm-up epochs, held for the final 25 of 90.
public struct SoftMaskSchedule: Sendable, Equatable {
    public var ratio: Double
    public var every: Int
    public var prunedDecay: Double
    public var warmup: Double
    public var hold: Double
    public init(ratio: Double, every: Int = 80, prunedDecay: Double = 2e-4, warmup: Double = 10.0 / 90, hold: Double = 25.0 / 90) {
        self.ratio = ratio; self.every = every; self.prunedDecay = prunedDecay; self.warmup = warmup; self.hold = hold
    }

    /// The pruned share at training progress p ∈ [0, 1].
    public func ratio(progress p: Double) -> Double {
        if p < warmup { return 0 }
        let span = 1 - hold - warmup
        if p >= 1 - hold || span <= 0 { return ratio }
        let k = 4.5
        return ratio * (1 - exp(-k * (p - warmup))) / (1 - exp(-k * span))
    }
}

/// LoRA adapters (rank r, scale α/r) with LoRA Dropout rate p; `freezeBase` keeps the base
/// matrices at their values (lr_scale 0), as LoRA fine-tuning does.
public struct LoRASpec: Sendable, Equatable {
    public var rank: Int, p: Double, alpha: Double, freezeBase: Bool
    public init(rank: Int, p: Double, alpha: Double, freezeBase: Bool) {
        self.rank = rank; self.p = p; self.alpha = alpha; self.freezeBase = freezeBase
    }
}

/// A penalty on the weight matrices: added to the objective (its gradient) or applied as a
/// proximal step after each update. Without a `pattern` it acts on every weight matrix; with
/// one, on the parameters whose name matches it (`*` any run of characters, `?` one character,
/// the whole name: `layer*.weight`, `output.weight`, `layer?.bias`).
public struct PenaltySpec: Sendable, Equatable {
    public var id: String
    /// Parameter text for the registry ("strength=1e-4,q=0.5").
    public var params: String
    public var prox: Bool
    /// A glob on parameter names (nil: every weight matrix).
    public var pattern: String?

    public init(id: String, params: String = "", prox: Bool = false, pattern: String? = nil) {
        self.id = id; self.params = params; self.prox = prox; self.pattern = pattern
    }

    /// Parses `id=strength`, `id-prox=strength`, `id:name=value,...` or `id`, each optionally
    /// followed by `@pattern` (`l2=1e-4@layer*.weight`, `l1-prox:strength=1e-4@output.weight`).
    public static func parse(_ text: String) throws -> PenaltySpec {
        var head = text.trimmingSpaces(), params = ""
        var pattern: String? = nil
        if let at = head.lastIndex(of: "@") {
            let p = String(head[head.index(after: at)...]).trimmingSpaces()
            guard !p.isEmpty, !p.contains(where: { $0 == " " || $0 == "," || $0 == ";" || $0 == "=" }) else {
                throw RegulaError.invalidArgument("penalty '\(text)': '@' must be followed by a parameter-name pattern such as layer*.weight")
            }
            pattern = p; head = String(head[..<at])
        }
        if let c = head.firstIndex(of: ":") {
            params = String(head[head.index(after: c)...]); head = String(head[..<c])
        } else if let e = head.firstIndex(of: "=") {
            let v = String(head[head.index(after: e)...]).trimmingSpaces()
            guard Double(v) != nil else {
                throw RegulaError.invalidArgument("penalty '\(text)': expected id=strength or id:name=value,...")
            }
            params = "strength=\(v)"; head = String(head[..<e])
        }
        head = head.trimmingSpaces()
        let prox = head.hasSuffix("-prox")
        if prox { head.removeLast(5) }
        guard !head.isEmpty else { throw RegulaError.invalidArgument("penalty '\(text)' has no id") }
        return PenaltySpec(id: head, params: params, prox: prox, pattern: pattern)
    }

    public var description: String {
        (prox ? "\(id)-prox" : id) + (params.isEmpty ? "" : ":" + params) + (pattern.map { "@" + $0 } ?? "")
    }

    /// Whether `name` matches the glob `pattern` as a whole: `*` matches any run of characters
    /// (dots included), `?` exactly one, everything else itself.
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.unicodeScalars), n = Array(name.unicodeScalars)
        var i = 0, j = 0, star = -1, mark = 0
        while j < n.count {  // greedy with one backtrack point: linear in practice, never exponential
            if i < p.count && (p[i] == "?" || (p[i] != "*" && p[i] == n[j])) { i += 1; j += 1 }
            else if i < p.count && p[i] == "*" { star = i; mark = j; i += 1 }
            else if star >= 0 { i = star + 1; mark += 1; j = mark }
            else { return false }
        }
        while i < p.count && p[i] == "*" { i += 1 }
        return i == p.count
    }
}

/// The graph of a classifier and the nodes a trainer feeds and reads.
public final class Classifier {
    public let graph: Graph
    public let x: NodeRef
    public let y: NodeRef
    public let logits: NodeRef
    public let lossOp: LossOp
    /// Weight matrices (name, parameter node, node the layer uses) in layer order; the two nodes
    /// differ under quantisation noise or AutoSparse.
    public let weights: [(name: String, node: NodeRef, effective: NodeRef)]
    /// Output-map and activation nodes (the trainer feeds their state: "step", "epoch").
    public let mapOps: [MapOp]
    /// The AutoSparse ops, whose α the trainer anneals.
    public let autoSparseOps: [AutoSparseThreshold]
    /// SMCP masks and the parameter node each one masks (the trainer rewires them).
    public let softMaskOps: [(op: SoftChannelMask, weight: NodeRef)]
    /// Prox steps to run after each update.
    public let proxSteps: [ProxStep]
    /// Every parameter node by name, in creation order.
    public let parameterNodes: [(name: String, node: NodeRef)]
    /// The parameters each weight penalty (its spec's description) acts on, in spec order.
    public let penaltyTargets: [(penalty: String, parameters: [String])]
    /// The target input holds probabilities rather than labels.
    public let softTargets: Bool
    /// VAT: the input of the clean predictions and the index of the VAT objective term.
    public let vatTarget: NodeRef?
    public let vatTerm: Int?

    /// The target rows for labels: the labels, or one-hot rows with `softTargets`.
    public func targets(_ labels: [Int], classes: Int) -> [Double] {
        guard softTargets else { return labels.map(Double.init) }
        var t = [Double](repeating: 0, count: labels.count * classes)
        for (i, y) in labels.enumerated() { t[i * classes + y] = 1 }
        return t
    }

    /// Builds the graph. `loss` and `outputMap` are "id" or "id:params" specs.
    /// With `softTargets` the target input holds probabilities (batch, classes), else labels.
    /// `featurePenalties` act on the penultimate features (the output layer's input, (batch, width));
    /// a penalty that takes the input `labels` gets the batch labels.
    public init(features: Int, classes: Int, model: ModelSpec, loss: String,
                outputMap: String? = nil, penalties: [PenaltySpec] = [], featurePenalties: [PenaltySpec] = [],
                softTargets: Bool = false, vat: Bool = false, entropy: Bool = false, inputGradient: Bool = false,
                pseudoLabel: (prior: Double, entropy: Double)? = nil, seed: UInt64) throws {
        let g = Graph(seed: seed)
        graph = g
        x = g.input(cols: features, gradient: vat || inputGradient)  // VAT and AVmixup differentiate w.r.t. the input
        y = g.input(cols: softTargets ? classes : 1)
        self.softTargets = softTargets
        var width = features
        var sparseOps: [AutoSparseThreshold] = []
        var maps: [MapOp] = []
        var effective: [NodeRef] = []
        /// The weights a layer uses: AutoSparse thresholding, then quantisation noise.
        var masks: [(op: SoftChannelMask, weight: NodeRef)] = []
        var named: [(name: String, node: NodeRef)] = []
        /// A parameter, recorded by name (penalty patterns select from these).
        func param(_ name: String, _ shape: [Int], _ initializer: Initializer, decay: Bool? = nil) -> NodeRef {
            let r = g.parameter(name, shape: shape, initializer, decay: decay)
            named.append((name, r))
            return r
        }
        func layerWeights(_ w: NodeRef, _ name: String, rows: Int, cols: Int, output: Bool = false) throws -> NodeRef {
            var e = w
            if let l = model.lora {
                if l.freezeBase { g.parameters.last(where: { $0.name == "\(name).weight" })?.lrScale = 0 }
                let a = param("\(name).lora_a", [l.rank, cols], .kaimingUniform, decay: false)
                let b = param("\(name).lora_b", [rows, l.rank], .zeros, decay: false)  // PEFT: ΔW = 0 at start
                e = try g.custom(LoRADropout(p: l.p, scale: l.alpha / Double(l.rank), seed: seed &+ UInt64(g.parameters.count)), [e, a, b])
            }
            if let m = model.softMask {
                let op = SoftChannelMask(prunedDecay: m.prunedDecay)
                masks.append((op, w))
                e = try g.custom(op, [e])
            }
            if let a = model.autoSparse {
                let s = param("\(name).threshold", [model.autoSparsePerRow ? rows : 1], .constant(a.thresholdInit))
                let op = AutoSparseThreshold(alpha: a.alpha0)
                sparseOps.append(op)
                e = try g.custom(op, [e, s])
            }
            if model.conditioning && (!output || model.conditionOutput) { e = try g.custom(WeightConditioning(), [e]) }
            if let bits = model.quantBits { e = try g.quantNoise(e, bits: bits, uniformNoise: model.quantUniformNoise) }
            effective.append(e)
            return e
        }
        var weights: [(String, NodeRef)] = []  // (name, parameter)
        var layers: [(weight: NodeRef, bias: NodeRef, norm: (gain: NodeRef, bias: NodeRef)?)] = []  // effective weights
        for (i, w) in model.widths.enumerated() {
            guard w > 0 else { throw RegulaError.invalidParameter(name: "widths", value: String(w), reason: "must be > 0") }
            let wn = param("layer\(i).weight", [w, width], .kaimingNormal)
            let bn = param("layer\(i).bias", [w], .zeros)
            weights.append(("layer\(i)", wn))
            let e = try layerWeights(wn, "layer\(i)", rows: w, cols: width)
            let norm = model.layerNorm ? (param("layer\(i).norm.gain", [w], .constant(1)),
                                          param("layer\(i).norm.bias", [w], .zeros)) : nil
            layers.append((e, bn, norm))
            width = w
        }
        /// The hidden stack on an input (built twice for jacobian_nuclear_denoise, sharing parameters).
        func hidden(_ input: NodeRef) throws -> NodeRef {
            var h = input, width = features
            for (i, (l, w)) in zip(layers, model.widths).enumerated() {
                var z = try g.linear(h, l.weight, l.bias)
                if let n = l.norm { z = try g.layerNorm(z, gain: n.gain, bias: n.bias) }
                if let spec = model.activationMap {
                    let (id, text) = TransformCatalog.split(spec)
                    let op = try MapOp(try Registry.shared.map(id, text))
                    maps.append(op)
                    z = try g.custom(op, [z])
                } else {
                    z = g.activation(z, model.activation)
                }
                if model.residual && w == width && i > 0 { z = try g.add(z, h) }
                if model.dropout > 0 { z = try g.dropout(z, p: model.dropout) }
                if model.gaussianNoise > 0 { z = try g.gaussianNoise(z, sigma: model.gaussianNoise) }
                if model.gaussianDropout > 0 { z = try g.gaussianDropout(z, p: model.gaussianDropout) }
                h = z; width = w
            }
            return h
        }
        let h = try hidden(x)
        let penultimate = model.featureDropout > 0 ? try g.dropout(h, p: model.featureDropout) : h  // penalties see h
        let wo = param("output.weight", [classes, width], .xavierNormal)
        let bo = param("output.bias", [classes], .zeros)
        weights.append(("output", wo))
        let eo = try layerWeights(wo, "output", rows: classes, cols: width, output: true)
        logits = try g.linear(penultimate, eo, bo)
        var scores = logits
        if let outputMap {
            let (id, text) = TransformCatalog.split(outputMap)
            let op = try MapOp(try Registry.shared.map(id, text))
            maps.append(op)
            scores = try g.custom(op, [logits])
        }
        let (lid, ltext) = TransformCatalog.split(loss)
        lossOp = try LossOp(try Registry.shared.loss(lid, ltext))
        try g.minimize(try g.custom(lossOp, [scores, y]))
        if vat {  // objective term 1: CE(p, softmax(logits)) against the fed clean predictions p
            let target = g.input(cols: classes)
            vatTarget = target
            vatTerm = g.objective.count
            try g.minimize(try g.custom(try LossOp(try Registry.shared.loss("softmax_cross_entropy")), [logits, target]))
        } else {
            vatTarget = nil; vatTerm = nil
        }
        if entropy { try g.minimize(try g.custom(SoftmaxEntropyOp(), [logits])) }
        if let pl = pseudoLabel {  // pseudo_label_mixup: λ_A·R_A + λ_H·H on the (mixed) predictions
            try g.minimize(try g.custom(BatchPriorOp(scale: pl.prior), [logits]))
            try g.minimize(try g.custom(SoftmaxEntropyOp(scale: pl.entropy), [logits]))
        }
        if let j = model.jacobianDenoise {
            guard model.dropout == 0, model.gaussianNoise == 0, model.gaussianDropout == 0, model.featureDropout == 0 else {
                throw RegulaError.invalidArgument("jacobian_nuclear_denoise compares two passes of the hidden layers: it cannot be combined with dropout or noise layers")
            }
            let c = j.strength / (2 * j.sigma * j.sigma)  // the train-mode noise nodes give ε, ε' ~ N(0, σ²I)
            try g.minimize(try g.custom(SquaredDifferenceOp(scale: c), [try hidden(try g.gaussianNoise(x, sigma: j.sigma)), h]))
            try g.minimize(try g.custom(SquaredDifferenceOp(scale: c), [try g.linear(try g.gaussianNoise(h, sigma: j.sigma), eo, bo), logits]))
        }
        var prox: [ProxStep] = []
        var attached: [(penalty: String, parameters: [String])] = []
        for p in penalties {
            let instance = try Registry.shared.penalty(p.id, p.params)
            var targets = weights.map { (name: "\($0.0).weight", node: $0.1) }
            if let pattern = p.pattern {
                targets = named.filter { PenaltySpec.matches(pattern, $0.name) }
                guard !targets.isEmpty else {
                    throw RegulaError.invalidArgument("penalty '\(p.description)': '\(pattern)' matches no parameter (names: "
                        + named.map(\.name).joined(separator: ", ") + ")")
                }
            }
            attached.append((p.description, targets.map(\.name)))
            if p.prox {
                let names = Set(targets.map(\.name))
                prox.append(try p.pattern == nil ? ProxStep(instance) : ProxStep(instance, on: { names.contains($0.name) }))
                continue
            }
            guard instance.info.inputs.allSatisfy({ !$0.required }) else {
                throw RegulaError.invalidArgument("penalty '\(p.id)' needs per-call inputs; it cannot be attached to weights")
            }
            for t in targets { try g.minimize(try g.custom(PenaltyOp(instance), [t.node])) }
        }
        for p in featurePenalties {
            guard !p.prox else { throw RegulaError.invalidArgument("feature penalty '\(p.id)': a prox acts on weights, not on features") }
            guard p.pattern == nil else {
                throw RegulaError.invalidArgument("feature penalty '\(p.description)': a pattern selects parameters; feature penalties act on the penultimate features")
            }
            let instance = try Registry.shared.penalty(p.id, p.params)
            var names: [String] = [], nodes: [NodeRef] = []
            for input in instance.info.inputs {
                if input.name == "labels" && !softTargets { names.append("labels"); nodes.append(y); continue }
                guard !input.required else {
                    throw RegulaError.invalidArgument("feature penalty '\(p.id)' needs the input '\(input.name)', which the trainer cannot supply")
                }
            }
            try g.minimize(try g.custom(PenaltyOp(instance, inputNames: names), [h] + nodes))
        }
        self.weights = zip(weights, effective).map { ($0.0, $0.1, $1) }
        autoSparseOps = sparseOps
        softMaskOps = masks
        mapOps = maps
        proxSteps = prox
        parameterNodes = named
        penaltyTargets = attached
    }
}
