// Regula — the training loop: batches, the optimizer step with its transforms, evaluation and
// the report (accuracy, ECE, NLL, exact zeros, singular value ranges, wall time).

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Everything one training run needs besides the data.
public struct TrainConfig: Sendable {
    public var model = ModelSpec()  // autoSparse is set here, or by the autosparse_ga transform
    /// "id" or "id:params" of a registered loss.
    public var loss = "softmax_cross_entropy"
    /// Optional registered output map applied to the logits before the loss.
    public var outputMap: String? = nil
    public var penalties: [PenaltySpec] = []
    /// Penalties on the penultimate features (activation regularizers).
    public var featurePenalties: [PenaltySpec] = []
    /// Transform specs "id:params" (catalogue transforms.md).
    public var transforms: [String] = []
    /// "adam", "adamw" (Adam + decoupled_weight_decay), "sgd".
    public var optimizer = "adam"
    public var lr = 1e-3
    public var momentum = 0.9
    public var nesterov = false
    public var beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    /// AdamW's λ.
    public var weightDecay = 0.01
    /// Per-parameter-group settings, applied in order to parameters whose name contains the
    /// pattern ("layer0.", "bias", "output.weight"): learning-rate multiplier and weight decay.
    /// Names: layerN.weight / .bias / .norm.gain / .norm.bias / .threshold, output.weight / .bias.
    /// Default without a rule: decay on matrices only.
    public var groups: [ParamGroup] = []
    /// "constant", "cosine", "step".
    public var schedule = "cosine"
    /// Linear warmup steps.
    public var warmup = 0
    /// For "step": decay every this many epochs by `stepGamma`.
    public var stepEvery = 30
    public var stepGamma = 0.1
    public var epochs = 40
    public var batch = 32
    public var seed: UInt64 = 0
    /// Feature scaling from the training part: "standardize" (per-feature mean/std), "max"
    /// (divide by the largest absolute training value), "none".
    public var scaling = "max"
    /// Precision of the linear layers' matrix products (`.float32`: sgemm, about twice as fast;
    /// parameters, optimizer state and everything else stay float64).
    public var precision: Precision = .float64

    public init() {}
}

/// Settings for the parameters whose name contains `pattern`.
public struct ParamGroup: Sendable, Equatable {
    public var pattern: String
    public var lrScale: Double?
    public var decay: Bool?
    public init(pattern: String, lrScale: Double? = nil, decay: Bool? = nil) {
        self.pattern = pattern; self.lrScale = lrScale; self.decay = decay
    }

    /// Parses "pattern:lr_scale=0.1,decay=false".
    public static func parse(_ text: String) throws -> ParamGroup {
        let (pattern, rest) = TransformCatalog.split(text)
        guard !pattern.isEmpty else { throw RegulaError.invalidArgument("group '\(text)' has no name pattern") }
        var g = ParamGroup(pattern: pattern)
        for (name, v) in try ParamParser.parse(rest) {
            switch (name, v) {
            case ("lr_scale", .real(let x)) where x >= 0 && x.isFinite: g.lrScale = x
            case ("lr_scale", .int(let x)) where x >= 0: g.lrScale = Double(x)
            case ("decay", .bool(let b)): g.decay = b
            default: throw RegulaError.invalidParameter(name: name, value: v.description, reason: "groups take lr_scale >= 0 and decay=true|false")
            }
        }
        return g
    }
}

/// Progress after each epoch.
public struct EpochInfo: Sendable {
    public var epoch: Int
    public var epochs: Int
    /// Mean objective (flooded task loss + penalties) over the epoch's batches.
    public var loss: Double
    /// Accuracy of the training batches' logits (train mode).
    public var trainAccuracy: Double
    public var seconds: Double
}

/// The spectrum summary of one weight matrix.
public struct LayerSpectrum: Sendable {
    public var name: String
    public var shape: [Int]
    public var minSingular: Double
    public var maxSingular: Double
}

/// The result of a run.
public struct TrainReport: Sendable {
    public var test: ClassificationMetrics
    public var train: ClassificationMetrics
    /// Share of weight-matrix entries that are exactly zero.
    public var zeroShare: Double
    public var layers: [LayerSpectrum]
    public var seconds: Double
    public var steps: Int
    /// Gradient evaluations (wrappers such as SAM add their extra passes).
    public var evaluations: Int
    public var finalLoss: Double
}

/// Monotonic seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

public enum Trainer {
    /// Builds the optimizer of a config.
    static func optimizer(_ c: TrainConfig) throws -> (Optimizer, [StepTransform]) {
        switch c.optimizer {
        case "sgd": return (try Optimizer(.sgd(momentum: c.momentum, nesterov: c.nesterov)), [])
        case "adam": return (try Optimizer(.adam(beta1: c.beta1, beta2: c.beta2, eps: c.eps)), [])
        case "adamw":
            return (try Optimizer(.adam(beta1: c.beta1, beta2: c.beta2, eps: c.eps)), [DecoupledWeightDecay(lambda: c.weightDecay)])
        default: throw RegulaError.invalidParameter(name: "optimizer", value: c.optimizer, reason: "must be one of adam, adamw, sgd")
        }
    }

    static func schedule(_ c: TrainConfig, total: Int, stepsPerEpoch: Int) throws -> Schedule {
        guard c.lr > 0, c.lr.isFinite else { throw RegulaError.invalidParameter(name: "lr", value: formatNumber(c.lr), reason: "must be > 0") }
        switch c.schedule {
        case "constant": return Schedule(base: c.lr, decay: .constant, warmup: c.warmup, total: total)
        case "cosine": return Schedule(base: c.lr, decay: .cosine(minFactor: 0), warmup: c.warmup, total: total)
        case "step":
            return Schedule(base: c.lr, decay: .step(every: c.stepEvery * stepsPerEpoch, gamma: c.stepGamma), warmup: c.warmup, total: total)
        default: throw RegulaError.invalidParameter(name: "schedule", value: c.schedule, reason: "must be one of constant, cosine, step")
        }
    }

    /// Stores a transform that may be given once per run.
    static func setOnce<T>(_ slot: inout T?, _ value: T, _ id: String) throws {
        guard slot == nil else { throw RegulaError.invalidArgument("\(id) is given twice") }
        slot = value
    }

    /// Trains a classifier on `train` and evaluates it on `test`.
    public static func run(train rawTrain: Dataset, test rawTest: Dataset, config: TrainConfig,
                           progress: ((EpochInfo) -> Void)? = nil) throws -> TrainReport {
        var c = config
        let start = monotonicSeconds()
        guard c.epochs >= 1, c.batch >= 1 else { throw RegulaError.invalidArgument("epochs and batch must be >= 1") }
        guard rawTrain.features == rawTest.features, rawTrain.classes == rawTest.classes else {
            throw RegulaError.shape("train and test data disagree in features or classes")
        }
        var train = rawTrain, test = rawTest
        switch c.scaling {
        case "standardize":
            let (m, s) = rawTrain.standardization()
            train = rawTrain.standardized(mean: m, scale: s); test = rawTest.standardized(mean: m, scale: s)
        case "max":
            let top = rawTrain.x.reduce(0) { Swift.max($0, abs($1)) }
            let m = [Double](repeating: 0, count: train.features), s = [Double](repeating: top > 0 ? top : 1, count: train.features)
            train = rawTrain.standardized(mean: m, scale: s); test = rawTest.standardized(mean: m, scale: s)
        case "none": break
        default: throw RegulaError.invalidParameter(name: "scaling", value: c.scaling, reason: "must be one of standardize, max, none")
        }
        let (opt, base) = try optimizer(c)
        var steps = base
        var wrapper: GradientWrapper? = nil
        var flood: Double? = nil
        var mixup: Mixup? = nil
        var vat: VirtualAdversarial? = nil
        var avmixup: AVMixup? = nil
        var pseudo: PseudoLabelMixup? = nil
        for spec in c.transforms {
            switch try TransformCatalog.make(spec, seed: c.seed) {
            case .autoSparse(let a): c.model.autoSparse = a
            case .model(let edit): edit(&c.model)
            case .vat(let v): try setOnce(&vat, v, "vat")
            case .mixup(let m): try setOnce(&mixup, m, "mixup")
            case .avmixup(let m): try setOnce(&avmixup, m, "avmixup")
            case .pseudoLabel(let m): try setOnce(&pseudo, m, "pseudo_label_mixup")
            case .step(let t): steps.append(t)
            case .steps(let ts): steps += ts
            case .wrapper(let w):
                guard wrapper == nil else { throw RegulaError.invalidArgument("only one optimizer wrapper (sam, amp, ...) per run") }
                wrapper = w
            case .flood(let b): try setOnce(&flood, b, "flooding")
            }
        }
        let model = try Classifier(features: train.features, classes: train.classes, model: c.model, loss: c.loss,
                                   outputMap: c.outputMap, penalties: c.penalties, featurePenalties: c.featurePenalties,
                                   softTargets: mixup != nil || avmixup != nil || pseudo != nil, vat: vat != nil, entropy: vat?.entropy ?? false,
                                   inputGradient: avmixup != nil, pseudoLabel: pseudo.map { ($0.priorWeight, $0.entropyWeight) }, seed: c.seed)
        guard [mixup != nil, avmixup != nil, pseudo != nil].filter({ $0 }).count <= 1 else {
            throw RegulaError.invalidArgument("mixup, avmixup and pseudo_label_mixup all transform the batch: give one")
        }
        let range = (lo: train.x.min() ?? 0, hi: train.x.max() ?? 0)  // AVmixup's clip range
        let g = model.graph
        g.precision = c.precision
        for rule in c.groups {
            for slot in g.parameters where slot.name.contains(rule.pattern) {
                if let s = rule.lrScale { slot.lrScale = s }
                if let d = rule.decay { slot.decay = d }
            }
        }
        steps += model.proxSteps as [StepTransform]
        let perEpoch = (train.count + c.batch - 1) / c.batch
        let stepper = Stepper(params: g.parameters + extraSlots(wrapper), optimizer: opt, schedule: try schedule(c, total: perEpoch * c.epochs, stepsPerEpoch: perEpoch),
                              transforms: steps, wrapper: wrapper)

        var rng = RNG(seed: c.seed &+ 0x5348_5546)  // the batch order stream
        var order = Array(0..<train.count)
        var bx = [Double](), by = [Double]()
        let k = train.classes
        var lastLoss = 0.0
        var batchX: [Double] = [], batchT: [Double] = []
        var vatRNG = RNG(seed: c.seed &+ 0x5641_54)
        let evaluate: () throws -> Double = {
            guard let vat else { return try objective(g, flood: flood) }
            return try vat.evaluate(model, x: batchX, targets: batchT, flood: flood, rng: &vatRNG)
        }
        // Stateful components (schedules) get the 0-based step and epoch counters they declare.
        var stateful: [(names: [String], update: (String) throws -> Void)] = []
        let lossInstance = model.lossOp.loss
        stateful.append((lossInstance.info.state.map(\.name), { try lossInstance.update($0) }))
        for m in model.mapOps { let inst = m.map; stateful.append((inst.info.state.map(\.name), { try inst.update($0) })) }
        stateful = stateful.filter { !$0.names.isEmpty }
        func setState(_ name: String, _ value: Int) throws {
            for s in stateful where s.names.contains(name) { try s.update("\(name)=\(value)") }
        }
        // pseudo_label_mixup: the labelled samples and every sample's soft target (one-hot or the
        // previous epoch's prediction).
        var labeled: [Bool] = [], pool: [Int] = [], soft: [Double] = []
        if let pseudo {
            var prng = RNG(seed: c.seed &+ 0x504C_4D)
            labeled = pseudo.labeled(train.y, classes: k, rng: &prng)
            pool = train.y.indices.filter { labeled[$0] }
            soft = [Double](repeating: 1 / Double(k), count: train.count * k)
            for i in pool { for c in 0..<k { soft[i * k + c] = c == train.y[i] ? 1 : 0 } }
        }
        for epoch in 1...c.epochs {
            try setState("epoch", epoch - 1)
            if let pseudo { order = epoch <= pseudo.warmup ? pool : Array(0..<train.count) }  // warm-up: labelled only
            if let a = c.model.autoSparse {
                let alpha = AutoSparseThreshold.alpha(progress: Double(epoch - 1) / Double(c.epochs), alpha0: a.alpha0, reset: a.reset)
                for op in model.autoSparseOps { op.alpha = alpha }
            }
            shuffle(&order, &rng)
            g.training = true
            var total = 0.0, correct = 0
            var b0 = 0
            while b0 < order.count {
                var idx = Array(order[b0 ..< Swift.min(b0 + c.batch, order.count)])
                if let pseudo, epoch > pseudo.warmup { pseudo.ensureLabeled(&idx, labeled: labeled, pool: pool, rng: &rng) }
                bx.removeAll(keepingCapacity: true); by.removeAll(keepingCapacity: true)
                for i in idx { bx += train.x[i * train.features ..< (i + 1) * train.features]; by.append(Double(train.y[i])) }
                if let mixup {
                    let m = mixup.mix(x: bx, labels: idx.map { train.y[$0] }, features: train.features, classes: k, rng: &rng)
                    batchX = m.x; batchT = m.targets
                } else if let pseudo {
                    let t = idx.flatMap { soft[$0 * k ..< ($0 + 1) * k] }
                    let m = Mixup(alpha: pseudo.alpha).mix(x: bx, targets: t, features: train.features, classes: k, rng: &rng)
                    batchX = m.x; batchT = m.targets
                } else if let avmixup {
                    let m = try avmixup.apply(model, x: bx, labels: idx.map { train.y[$0] }, classes: k, range: range, rng: &rng)
                    batchX = m.x; batchT = m.targets
                } else {
                    batchX = bx; batchT = by
                }
                var feed: [NodeRef: [Double]] = [model.x: batchX, model.y: batchT]
                if let t = model.vatTarget { feed[t] = [Double](repeating: 1 / Double(k), count: idx.count * k) }
                try g.feed(feed)
                try setState("step", stepper.step)
                if let m = c.model.softMask, stepper.step % m.every == 0 {
                    let ratio = m.ratio(progress: Double(stepper.step) / Double(perEpoch * c.epochs))
                    for (op, w) in model.softMaskOps { op.rewire(g.value(w), ratio: ratio) }
                }
                let l = try stepper.step(evaluate)
                guard l.isFinite else { throw RegulaError.invalidArgument("the training loss became non-finite at epoch \(epoch); lower the learning rate") }
                total += l * Double(idx.count)
                correct += countCorrect(g.value(model.logits), by, classes: k)
                b0 += c.batch
            }
            if let pseudo, epoch >= pseudo.warmup {  // new pseudo-labels: eval-mode predictions on the clean inputs
                let z = try logits(model, train, batch: 512)
                for i in train.y.indices where !labeled[i] {
                    soft.withUnsafeMutableBufferPointer { s in
                        z.withUnsafeBufferPointer { _ = Kernels.softmax(UnsafeMutablePointer(mutating: $0.baseAddress! + i * k), count: k, into: s.baseAddress! + i * k) }
                    }
                }
            }
            lastLoss = total / Double(order.count)
            progress?(EpochInfo(epoch: epoch, epochs: c.epochs, loss: lastLoss,
                                trainAccuracy: Double(correct) / Double(order.count), seconds: monotonicSeconds() - start))
        }
        let testMetrics = try evaluateLogits(model, test, batch: 512)
        let trainMetrics = try evaluateLogits(model, train, batch: 512)
        var zeros = 0, entries = 0
        var layers: [LayerSpectrum] = []
        for (name, _, node) in model.weights {  // the weights the layers use (after AutoSparse / quantisation)
            let w = g.value(node)
            entries += w.count
            for i in 0..<w.count where w[i] == 0 { zeros += 1 }
            let (lo, hi) = try singularValueRange(w)
            layers.append(LayerSpectrum(name: name, shape: w.shape, minSingular: lo, maxSingular: hi))
        }
        return TrainReport(test: testMetrics, train: trainMetrics, zeroShare: entries > 0 ? Double(zeros) / Double(entries) : 0,
                           layers: layers, seconds: monotonicSeconds() - start, steps: stepper.step,
                           evaluations: stepper.evaluations, finalLoss: lastLoss)
    }

    /// One evaluation of a classifier graph on the fed batch: forward, then backward into the
    /// parameter gradients. The first objective term is the task loss L; with a flood level b it
    /// becomes |L − b| + b and its gradient seed sign(L − b) (sign(0) = 0), penalties unchanged.
    /// `weights` multiply the terms (default 1; 0 switches a term off). Returns the weighted
    /// (flooded) objective.
    public static func objective(_ g: Graph, flood: Double? = nil, weights: [Double]? = nil) throws -> Double {
        try g.forward()
        var terms = g.objectiveTerms
        var seeds = weights ?? [Double](repeating: 1, count: terms.count)
        if let b = flood, !terms.isEmpty {
            seeds[0] *= Kernels.sign(terms[0] - b)
            terms[0] = abs(terms[0] - b) + b
        }
        try g.backward(seeds: seeds)
        return zip(terms, weights ?? seeds.map { _ in 1 }).reduce(0) { $0 + $1.0 * $1.1 }
    }

    static func countCorrect(_ z: Tensor<Double>, _ labels: [Double], classes k: Int) -> Int {
        var n = 0
        for i in 0..<labels.count {
            var arg = 0
            for c in 1..<k where z[i * k + c] > z[i * k + arg] { arg = c }
            if Double(arg) == labels[i] { n += 1 }
        }
        return n
    }

    /// Eval-mode logits of a dataset, then its metrics.
    static func evaluateLogits(_ model: Classifier, _ d: Dataset, batch: Int) throws -> ClassificationMetrics {
        ClassificationMetrics(logits: try logits(model, d, batch: batch), labels: d.y, classes: d.classes)
    }

    /// Eval-mode logits of a dataset (rows × classes).
    static func logits(_ model: Classifier, _ d: Dataset, batch: Int) throws -> [Double] {
        let g = model.graph
        g.training = false
        defer { g.training = true }
        var logits = [Double](); logits.reserveCapacity(d.count * d.classes)
        var b0 = 0
        while b0 < d.count {
            let hi = Swift.min(b0 + batch, d.count)
            var feed: [NodeRef: [Double]] = [model.x: Array(d.x[b0 * d.features ..< hi * d.features]),
                                             model.y: model.targets(Array(d.y[b0..<hi]), classes: d.classes)]
            if let t = model.vatTarget { feed[t] = [Double](repeating: 1 / Double(d.classes), count: (hi - b0) * d.classes) }
            try g.feed(feed)
            try g.forward()
            logits += g.value(model.logits).buffer
            b0 = hi
        }
        return logits
    }
}
