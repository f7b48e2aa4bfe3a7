// Regula — the training config, the optimizer and schedule it builds, and `Trainer.run`: feature
// scaling, a TrainingSession fitted on the data, and the report (accuracy, ECE, NLL, exact zeros,
// singular value ranges, wall time).

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
    /// The run's length in steps for the schedule (cosine, step) and the epoch counter when the
    /// session is stepped without `fit`/`plan` (nil: unknown until planned).
    public var totalSteps: Int? = nil
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

    /// Trains a classifier on `train` and evaluates it on `test`: the feature scaling of the
    /// config (fitted on `train`), a `TrainingSession` fitted for the config's epochs, and the
    /// report (metrics on both parts, exact zeros and singular value ranges of the weights).
    public static func run(train rawTrain: Dataset, test rawTest: Dataset, config c: TrainConfig,
                           progress: ((EpochInfo) -> Void)? = nil) throws -> TrainReport {
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
        let session = try TrainingSession(features: train.features, classes: train.classes, config: c)
        let lastLoss = try session.fit(train, progress: progress)
        let testMetrics = try session.evaluate(test)
        let trainMetrics = try session.evaluate(train)
        var zeros = 0, entries = 0
        var layers: [LayerSpectrum] = []
        for (name, _, node) in session.model.weights {  // the weights the layers use (after AutoSparse / quantisation)
            let w = session.graph.value(node)
            entries += w.count
            for i in 0..<w.count where w[i] == 0 { zeros += 1 }
            let (lo, hi) = try singularValueRange(w)
            layers.append(LayerSpectrum(name: name, shape: w.shape, minSingular: lo, maxSingular: hi))
        }
        return TrainReport(test: testMetrics, train: trainMetrics, zeroShare: entries > 0 ? Double(zeros) / Double(entries) : 0,
                           layers: layers, seconds: monotonicSeconds() - start, steps: session.steps,
                           evaluations: session.evaluations, finalLoss: lastLoss)
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
}
