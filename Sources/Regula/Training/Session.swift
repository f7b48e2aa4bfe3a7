// Regula — a training session: an MLP classifier with its optimizer and transforms, stepped batch
// by batch (`step`) or epoch by epoch (`fit`), evaluated, and saved/loaded as a parameter file.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// A classifier being trained. Built once from a `TrainConfig` (or a spec string), then:
/// ```
/// let s = try TrainingSession(features: 64, classes: 10, spec: "widths=128;lr=3e-3;epochs=10")
/// try s.fit(train)                      // or s.step(x: batch, labels: y) in a loop of your own
/// let m = try s.evaluate(test)          // accuracy, NLL, ECE (15 bins)
/// let p = try s.predict(x: rows)        // softmax probabilities, rows × classes, eval mode
/// try s.save(to: "model.rgp"); try other.load(from: "model.rgp")
/// ```
/// Inputs are used as given (no scaling: that is `Trainer.run`'s data option). The cosine and
/// step schedules need the run's length: `fit` plans it from the data (epochs × ⌈rows/batch⌉)
/// unless `total_steps` or `plan` fixed it first. One thread at a time.
public final class TrainingSession {
    public let features: Int
    public let classes: Int
    /// The config, with the layer transforms (autosparse, qreg, lora_dropout, ...) applied to its model.
    public let config: TrainConfig
    public let model: Classifier
    public let stepper: Stepper
    public var graph: Graph { model.graph }
    /// Optimizer steps taken, and gradient evaluations (wrappers such as SAM add theirs).
    public var steps: Int { stepper.step }
    public var evaluations: Int { stepper.evaluations }
    /// The planned run (nil steps per epoch: not planned yet).
    public private(set) var plannedStepsPerEpoch: Int?
    public private(set) var plannedEpochs: Int
    public private(set) var plannedTotal: Int?
    /// pseudo_label_mixup hides labels across the whole training set: only `fit` can run it.
    public var needsDataset: Bool { pseudo != nil }

    /// Largest model (parameters) and batch (rows × widest layer) a session accepts.
    public static let maxParameters = 1 << 25
    public static let maxBatchElements = 1 << 26
    /// Rows per forward pass of evaluate/predict.
    static let evalRows = 512

    let flood: Double?
    let mixup: Mixup?, vat: VirtualAdversarial?, avmixup: AVMixup?, pseudo: PseudoLabelMixup?
    /// Batch order and data transforms share one stream; VAT's directions have their own.
    var rng: RNG, vatRNG: RNG
    /// AVmixup's clip range: the training inputs seen so far.
    var range: (lo: Double, hi: Double)?
    let stateful: [(names: [String], update: (String) throws -> Void)]
    var appliedEpoch: Int?
    /// The parameters before the current step (put back when it fails), buffers reused.
    let snapshot = ParameterSnapshot()
    var epochsFitted = 0
    let widest: Int

    /// Builds the model, optimizer and transforms of `config` for `features` inputs and `classes` classes.
    public init(features: Int, classes: Int, config: TrainConfig) throws {
        guard features >= 1, features <= 1 << 24 else { throw RegulaError.invalidArgument("features = \(features) must be in 1...\(1 << 24)") }
        guard classes >= 2, classes <= 1 << 16 else { throw RegulaError.invalidArgument("classes = \(classes) must be in 2...\(1 << 16)") }
        var c = config
        guard c.epochs >= 1, c.batch >= 1 else { throw RegulaError.invalidArgument("epochs and batch must be >= 1") }
        if let t = c.totalSteps, t < 1 { throw RegulaError.invalidParameter(name: "total_steps", value: String(t), reason: "must be >= 1") }
        let (opt, base) = try Trainer.optimizer(c)
        var steps = base
        var wrapper: GradientWrapper? = nil
        var flood: Double? = nil, mixup: Mixup? = nil, vat: VirtualAdversarial? = nil
        var avmixup: AVMixup? = nil, pseudo: PseudoLabelMixup? = nil
        for spec in c.transforms {
            switch try TransformCatalog.make(spec, seed: c.seed) {
            case .autoSparse(let a): c.model.autoSparse = a
            case .model(let edit): edit(&c.model)
            case .vat(let v): try Trainer.setOnce(&vat, v, "vat")
            case .mixup(let m): try Trainer.setOnce(&mixup, m, "mixup")
            case .avmixup(let m): try Trainer.setOnce(&avmixup, m, "avmixup")
            case .pseudoLabel(let m): try Trainer.setOnce(&pseudo, m, "pseudo_label_mixup")
            case .step(let t): steps.append(t)
            case .steps(let ts): steps += ts
            case .wrapper(let w):
                guard !(w is TermwiseGradientWrapper) else { throw RegulaError.unsupported("'\(w.id)' needs a surrogate term the classifier does not have: step a graph with it") }
                guard wrapper == nil else { throw RegulaError.invalidArgument("only one optimizer wrapper (sam, amp, ...) per run") }
                wrapper = w
            case .flood(let b): try Trainer.setOnce(&flood, b, "flooding")
            }
        }
        widest = try Self.checkSize(features: features, classes: classes, model: c.model)
        let model = try Classifier(features: features, classes: classes, model: c.model, loss: c.loss,
                                   outputMap: c.outputMap, penalties: c.penalties, featurePenalties: c.featurePenalties,
                                   softTargets: mixup != nil || avmixup != nil || pseudo != nil, vat: vat != nil, entropy: vat?.entropy ?? false,
                                   inputGradient: avmixup != nil, pseudoLabel: pseudo.map { ($0.priorWeight, $0.entropyWeight) }, seed: c.seed)
        guard [mixup != nil, avmixup != nil, pseudo != nil].filter({ $0 }).count <= 1 else {
            throw RegulaError.invalidArgument("mixup, avmixup and pseudo_label_mixup all transform the batch: give one")
        }
        let g = model.graph
        g.precision = c.precision
        for rule in c.groups {
            for slot in g.parameters where slot.name.contains(rule.pattern) {
                if let s = rule.lrScale { slot.lrScale = s }
                if let d = rule.decay { slot.decay = d }
            }
        }
        steps += model.proxSteps as [StepTransform]
        _ = try Trainer.schedule(c, total: 1, stepsPerEpoch: 1)  // validates lr and the schedule's name now
        stepper = Stepper(params: g.parameters + extraSlots(wrapper), optimizer: opt, schedule: Schedule(base: c.lr),
                          transforms: steps, wrapper: wrapper)
        // Stateful components (schedules) get the 0-based step and epoch counters they declare.
        var stateful: [(names: [String], update: (String) throws -> Void)] = []
        let lossInstance = model.lossOp.loss
        stateful.append((lossInstance.info.state.map(\.name), { try lossInstance.update($0) }))
        for m in model.mapOps { let inst = m.map; stateful.append((inst.info.state.map(\.name), { try inst.update($0) })) }
        self.stateful = stateful.filter { !$0.names.isEmpty }
        self.features = features; self.classes = classes; self.config = c; self.model = model
        self.flood = flood; self.mixup = mixup; self.vat = vat; self.avmixup = avmixup; self.pseudo = pseudo
        rng = RNG(seed: c.seed &+ 0x5348_5546)
        vatRNG = RNG(seed: c.seed &+ 0x5641_54)
        plannedEpochs = c.epochs
        if let total = c.totalSteps { try setPlan(stepsPerEpoch: (total + c.epochs - 1) / c.epochs, epochs: c.epochs, total: total) }
    }

    /// Builds a session from a trainer spec (`TrainSpec`), e.g. "widths=128;lr=3e-3;penalty=l2=1e-4".
    public convenience init(features: Int, classes: Int, spec: String) throws {
        try self.init(features: features, classes: classes, config: try TrainSpec.parse(spec))
    }

    /// Refuses models too large to allocate; returns the widest layer (inputs and classes included).
    static func checkSize(features: Int, classes: Int, model: ModelSpec) throws -> Int {
        guard model.widths.count <= 64 else { throw RegulaError.invalidParameter(name: "widths", value: "\(model.widths.count) layers", reason: "at most 64 hidden layers") }
        var total = 0, fanIn = features
        for w in model.widths + [classes] {
            guard w >= 1, w <= TrainSpec.maxWidth else {
                throw RegulaError.invalidParameter(name: "widths", value: String(w), reason: "must be in 1...\(TrainSpec.maxWidth)")
            }
            let extra = model.lora.map { $0.rank * (w + fanIn) } ?? 0
            let (m, o1) = w.multipliedReportingOverflow(by: fanIn + 4)  // weights, bias, norm gain/bias, threshold
            let (t, o2) = total.addingReportingOverflow(m &+ extra)
            guard !o1, !o2, t <= maxParameters else {
                throw RegulaError.invalidArgument("the model would have more than \(maxParameters) parameters")
            }
            total = t; fanIn = w
        }
        return ([features, classes] + model.widths).max() ?? features
    }

    // MARK: Planning

    /// Fixes the run's length: `epochs` epochs of `stepsPerEpoch` steps, counted from the first
    /// step. The cosine and step schedules, SMCP's mask ramp, AutoSparse's annealing and the
    /// "epoch" state of stateful components follow it; `fit` plans the run when nothing did.
    public func plan(stepsPerEpoch: Int, epochs: Int) throws {
        guard stepsPerEpoch >= 1, epochs >= 1 else { throw RegulaError.invalidArgument("plan: steps per epoch and epochs must be >= 1") }
        let (total, o) = stepsPerEpoch.multipliedReportingOverflow(by: epochs)
        guard !o, total <= 1 << 40 else { throw RegulaError.invalidArgument("plan: \(stepsPerEpoch) × \(epochs) steps is too many") }
        try setPlan(stepsPerEpoch: stepsPerEpoch, epochs: epochs, total: total)
    }

    func setPlan(stepsPerEpoch: Int, epochs: Int, total: Int) throws {
        stepper.schedule = try Trainer.schedule(config, total: total, stepsPerEpoch: stepsPerEpoch)
        plannedStepsPerEpoch = stepsPerEpoch; plannedEpochs = epochs; plannedTotal = total
    }

    /// The settings that need the run's length refuse to step before it is known.
    func requirePlan() throws {
        guard plannedTotal == nil else { return }
        var needs: [String] = []
        if config.schedule != "constant" { needs.append("schedule=\(config.schedule)") }
        if config.model.softMask != nil { needs.append("smcp_soft_mask") }
        guard needs.isEmpty else {
            throw RegulaError.invalidArgument(needs.joined(separator: " and ")
                + " need the run's length: give total_steps in the spec, or plan (or fit) the session before stepping")
        }
    }

    /// Applies the state of epoch `e` (0-based): stateful components' "epoch", AutoSparse's α.
    func enter(epoch e: Int) throws {
        guard e != appliedEpoch else { return }
        try setState("epoch", e)
        if let a = config.model.autoSparse {
            let alpha = AutoSparseThreshold.alpha(progress: Double(e) / Double(plannedEpochs), alpha0: a.alpha0, reset: a.reset)
            for op in model.autoSparseOps { op.alpha = alpha }
        }
        appliedEpoch = e
    }

    func setState(_ name: String, _ value: Int) throws {
        for s in stateful where s.names.contains(name) { try s.update("\(name)=\(value)") }
    }

    // MARK: Checking inputs

    /// The rows of `x` (rows × features, finite), with `labels` (one per row, in 0..<classes) when given.
    func rows(_ x: [Double], labels: [Int]?) throws -> Int {
        guard x.count % features == 0 else {
            throw RegulaError.shape("x has \(x.count) values, not a whole number of rows of \(features) features")
        }
        let n = x.count / features
        if let labels {
            guard labels.count == n else { throw RegulaError.shape("\(labels.count) labels for \(n) rows of x") }
            if let i = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
                throw RegulaError.invalidArgument("labels[\(i)] = \(labels[i]) is outside 0..<\(classes)")
            }
        }
        if let i = x.firstIndex(where: { !$0.isFinite }) { throw RegulaError.nonFinite(what: "x", index: i) }
        return n
    }

    func extendRange(_ x: [Double]) {
        guard avmixup != nil, let lo = x.min(), let hi = x.max() else { return }
        range = range.map { (Swift.min($0.lo, lo), Swift.max($0.hi, hi)) } ?? (lo, hi)
    }

    // MARK: Training

    /// One optimizer step on a batch: x (rows × features, row-major), one label per row. Applies
    /// the configured data transforms (mixup, avmixup, VAT), stateful updates and schedules;
    /// returns the objective (task loss, flooded, plus penalties) at the parameters before the
    /// step. Without a plan the epoch counter stays 0; with one it is steps ÷ steps per epoch.
    /// On an error the parameters are left as they were.
    @discardableResult
    public func step(x: [Double], labels: [Int]) throws -> Double {
        guard pseudo == nil else {
            throw RegulaError.unsupported("pseudo_label_mixup hides labels across the whole training set: use fit, not step")
        }
        let n = try rows(x, labels: labels)
        guard n >= 1 else { throw RegulaError.invalidArgument("the batch is empty") }
        try requirePlan()
        try enter(epoch: plannedStepsPerEpoch.map { stepper.step / $0 } ?? 0)
        extendRange(x)
        return try batchStep(x: x, labels: labels, soft: nil).loss
    }

    /// One step on a checked batch; `soft` holds pseudo_label_mixup's targets.
    func batchStep(x bx: [Double], labels: [Int], soft: [Double]?) throws -> (loss: Double, correct: Int) {
        let k = classes, n = labels.count
        let (elements, overflow) = n.multipliedReportingOverflow(by: widest)
        guard !overflow, elements <= Self.maxBatchElements else {
            throw RegulaError.invalidArgument("a batch of \(n) rows is too large for layers of width \(widest)")
        }
        var batchX = bx, batchT: [Double]
        if let mixup {
            let m = mixup.mix(x: bx, labels: labels, features: features, classes: k, rng: &rng)
            batchX = m.x; batchT = m.targets
        } else if let pseudo, let soft {
            let m = Mixup(alpha: pseudo.alpha).mix(x: bx, targets: soft, features: features, classes: k, rng: &rng)
            batchX = m.x; batchT = m.targets
        } else if let avmixup {
            let m = try avmixup.apply(model, x: bx, labels: labels, classes: k, range: range ?? (0, 0), rng: &rng)
            batchX = m.x; batchT = m.targets
        } else {
            batchT = labels.map(Double.init)
        }
        let g = graph
        var feed: [NodeRef: [Double]] = [model.x: batchX, model.y: batchT]
        if let t = model.vatTarget { feed[t] = [Double](repeating: 1 / Double(k), count: n * k) }
        try g.feed(feed)
        try setState("step", stepper.step)
        if let m = config.model.softMask, let total = plannedTotal, stepper.step % m.every == 0 {
            let ratio = m.ratio(progress: Double(stepper.step) / Double(total))
            for (op, w) in model.softMaskOps { op.rewire(g.value(w), ratio: ratio) }
        }
        snapshot.save(stepper.params)
        let loss: Double
        do {
            loss = try stepper.step {
                let l: Double
                if let vat { l = try vat.evaluate(model, x: batchX, targets: batchT, flood: flood, rng: &vatRNG) }
                else { l = try Trainer.objective(g, flood: flood) }
                guard l.isFinite else {  // refused before the update can spread it into the weights
                    throw RegulaError.invalidArgument("the training loss became non-finite at step \(stepper.step); lower the learning rate")
                }
                return l
            }
        } catch {
            snapshot.restore(stepper.params)
            throw error
        }
        return (loss, Trainer.countCorrect(g.value(model.logits), labels.map(Double.init), classes: k))
    }

    /// Trains `epochs` (default: the config's) epochs over seeded shuffles of `train` in batches
    /// of the config's size; plans the run first when nothing planned it. Calls `progress` after
    /// each epoch; returns the last epoch's mean objective.
    @discardableResult
    public func fit(_ train: Dataset, epochs: Int? = nil, progress: ((EpochInfo) -> Void)? = nil) throws -> Double {
        let start = monotonicSeconds()
        guard train.features == features else {
            throw RegulaError.shape("the data has \(train.features) features; the model takes \(features)")
        }
        let n = try rows(train.x, labels: train.y)
        let epochs = epochs ?? config.epochs, batch = config.batch, k = classes, f = features
        guard n >= 1, epochs >= 1 else { throw RegulaError.invalidArgument("fit needs at least one row and one epoch") }
        if plannedTotal == nil { try plan(stepsPerEpoch: (n + batch - 1) / batch, epochs: epochs) }
        extendRange(train.x)
        // pseudo_label_mixup: the labelled samples and every sample's soft target (one-hot, or
        // the previous epoch's prediction).
        var labeled: [Bool] = [], pool: [Int] = [], soft: [Double] = []
        if let pseudo {
            var prng = RNG(seed: config.seed &+ 0x504C_4D)
            labeled = pseudo.labeled(train.y, classes: k, rng: &prng)
            pool = train.y.indices.filter { labeled[$0] }
            soft = [Double](repeating: 1 / Double(k), count: n * k)
            for i in pool { for c in 0..<k { soft[i * k + c] = c == train.y[i] ? 1 : 0 } }
        }
        var order = Array(0..<n), bx: [Double] = [], last = 0.0
        for local in 1...epochs {
            let e = epochsFitted
            try enter(epoch: e)
            if let pseudo { order = e < pseudo.warmup ? pool : Array(0..<n) }  // warm-up: labelled only
            shuffle(&order, &rng)
            graph.training = true
            var total = 0.0, correct = 0, b0 = 0
            while b0 < order.count {
                var idx = Array(order[b0 ..< Swift.min(b0 + batch, order.count)])
                if let pseudo, e >= pseudo.warmup { pseudo.ensureLabeled(&idx, labeled: labeled, pool: pool, rng: &rng) }
                bx.removeAll(keepingCapacity: true)
                for i in idx { bx += train.x[i * f ..< (i + 1) * f] }
                let t = pseudo == nil ? nil : idx.flatMap { soft[$0 * k ..< ($0 + 1) * k] }
                let r = try batchStep(x: bx, labels: idx.map { train.y[$0] }, soft: t)
                total += r.loss * Double(idx.count); correct += r.correct
                b0 += batch
            }
            if let pseudo, e + 1 >= pseudo.warmup {  // new pseudo-labels: eval-mode predictions on the clean inputs
                let z = try evalLogits(train.x, labels: train.y)
                for i in train.y.indices where !labeled[i] {
                    soft.withUnsafeMutableBufferPointer { s in
                        z.withUnsafeBufferPointer { _ = Kernels.softmax(UnsafeMutablePointer(mutating: $0.baseAddress! + i * k), count: k, into: s.baseAddress! + i * k) }
                    }
                }
            }
            last = total / Double(order.count)
            epochsFitted += 1
            progress?(EpochInfo(epoch: local, epochs: epochs, loss: last,
                                trainAccuracy: Double(correct) / Double(order.count), seconds: monotonicSeconds() - start))
        }
        return last
    }

    // MARK: Inference

    /// Eval-mode logits (rows × classes) of x (rows × features).
    public func logits(x: [Double]) throws -> [Double] {
        _ = try rows(x, labels: nil)
        return try evalLogits(x, labels: nil)
    }

    /// Softmax probabilities (rows × classes) of the eval-mode logits: the probabilities
    /// `evaluate` scores, whatever loss or output map trained them.
    public func predict(x: [Double]) throws -> [Double] {
        let z = try logits(x: x), k = classes
        var p = [Double](repeating: 0, count: z.count)
        z.withUnsafeBufferPointer { zb in
            p.withUnsafeMutableBufferPointer { pb in
                for i in 0 ..< z.count / k { _ = Kernels.softmax(zb.baseAddress! + i * k, count: k, into: pb.baseAddress! + i * k) }
            }
        }
        return p
    }

    /// Accuracy, NLL and ECE (15 bins) of the eval-mode predictions on x with `labels`.
    public func evaluate(x: [Double], labels: [Int]) throws -> ClassificationMetrics {
        guard try rows(x, labels: labels) >= 1 else { throw RegulaError.invalidArgument("evaluate needs at least one row") }
        return ClassificationMetrics(logits: try evalLogits(x, labels: labels), labels: labels, classes: classes)
    }

    public func evaluate(_ d: Dataset) throws -> ClassificationMetrics { try evaluate(x: d.x, labels: d.y) }

    /// Eval-mode logits of checked rows, `evalRows` at a time (labels only fill the target input).
    func evalLogits(_ x: [Double], labels: [Int]?) throws -> [Double] {
        let g = graph, f = features, n = x.count / f
        g.training = false
        defer { g.training = true }
        var out = [Double](); out.reserveCapacity(n * classes)
        var b0 = 0
        while b0 < n {
            let hi = Swift.min(b0 + Self.evalRows, n)
            let y = labels.map { Array($0[b0..<hi]) } ?? [Int](repeating: 0, count: hi - b0)
            var feed: [NodeRef: [Double]] = [model.x: Array(x[b0 * f ..< hi * f]), model.y: model.targets(y, classes: classes)]
            if let t = model.vatTarget { feed[t] = [Double](repeating: 1 / Double(classes), count: (hi - b0) * classes) }
            try g.feed(feed)
            try g.forward()
            out += g.value(model.logits).buffer
            b0 = hi
        }
        return out
    }

    // MARK: Parameter files

    /// Saves every model parameter (names, shapes, float64 values) to `path`, atomically. The
    /// optimizer's state and op state outside parameters (SMCP masks) are not saved.
    public func save(to path: String) throws { try graph.saveParameters(to: path) }

    /// Loads parameters saved from a session with the same model (names and shapes must agree;
    /// a non-finite value makes the file invalid). Nothing changes on an error.
    public func load(from path: String) throws { try graph.loadParameters(from: path) }

}
