// The training session (Sources/Regula/Training/Session.swift), penalty patterns and the trainer
// spec parser (TrainSpec.swift): stepping, planning, evaluation, prediction, parameter files.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import Regula
import RegulaEngine

/// Three Gaussian blobs in 4-D (TrainerTests' fixture).
private func blobs(_ n: Int, seed: UInt64) -> Dataset { TrainerTests().blobs(n, seed: seed) }

private func values(_ s: TrainingSession, _ name: String) -> [Double] {
    let slot = s.graph.parameters.first { $0.name == name }!
    return Array(UnsafeBufferPointer(start: slot.value, count: slot.count))
}

private func grads(_ s: TrainingSession, _ name: String) -> [Double] {
    let slot = s.graph.parameters.first { $0.name == name }!
    return Array(UnsafeBufferPointer(start: slot.grad, count: slot.count))
}

private func tempPath(_ name: String) -> String { "/tmp/regula-session-\(getpid())-\(name)" }

@Suite struct SessionTests {
    @Test func stepReducesTheLoss() throws {
        let d = blobs(48, seed: 1)
        let s = try TrainingSession(features: 4, classes: 3, spec: "widths=16;schedule=constant;lr=0.01")
        let first = try s.step(x: d.x, labels: d.y)
        var last = first
        for _ in 0..<40 { last = try s.step(x: d.x, labels: d.y) }
        #expect(last < 0.5 * first, "loss \(first) → \(last)")
        #expect(s.steps == 41 && s.evaluations == 41)
    }

    @Test func evaluateAndPredictAgreeWithTheMetrics() throws {
        let train = blobs(150, seed: 1), test = blobs(61, seed: 2)
        let s = try TrainingSession(features: 4, classes: 3, spec: "widths=16;epochs=4;batch=16;lr=0.01;dropout=0.2")
        try s.fit(train)
        let m = try s.evaluate(test)
        #expect(m == ClassificationMetrics(logits: try s.logits(x: test.x), labels: test.y, classes: 3))
        let p = try s.predict(x: test.x)
        #expect(p.count == test.count * 3)
        var correct = 0, nll = 0.0
        for i in 0..<test.count {
            let row = Array(p[i * 3 ..< i * 3 + 3])
            #expect(abs(row.reduce(0, +) - 1) < 1e-12)
            if row.firstIndex(of: row.max()!) == test.y[i] { correct += 1 }
            nll -= log(row[test.y[i]])
        }
        #expect(Double(correct) / Double(test.count) == m.accuracy)
        #expect(abs(nll / Double(test.count) - m.nll) < 1e-9)
        #expect(m.accuracy > 0.85)
        #expect(try s.predict(x: test.x) == p)  // eval mode: dropout off, deterministic
        #expect(try s.predict(x: []).isEmpty)
    }

    @Test func saveThenLoadIntoAFreshSessionPredictsIdentically() throws {
        let train = blobs(90, seed: 3), test = blobs(30, seed: 4)
        let spec = "widths=8,8;layer_norm=true;epochs=2;batch=16;lr=0.01"
        let a = try TrainingSession(features: 4, classes: 3, spec: spec + ";seed=1")
        try a.fit(train)
        let path = tempPath("roundtrip")
        defer { unlink(path) }
        try a.save(to: path)
        let b = try TrainingSession(features: 4, classes: 3, spec: spec + ";seed=2")
        #expect(try b.predict(x: test.x) != a.predict(x: test.x))  // another initialisation
        try b.load(from: path)
        #expect(try b.predict(x: test.x) == a.predict(x: test.x))
        #expect(try b.evaluate(test) == a.evaluate(test))
        // another architecture, a missing file, a non-finite value: errors, and nothing changes
        let other = try TrainingSession(features: 4, classes: 3, spec: "widths=9")
        #expect(throws: (any Error).self) { try other.load(from: path) }
        #expect(throws: (any Error).self) { try b.load(from: path + ".missing") }
        var stored = try ParameterFile.read(from: path)
        stored[1].values[2] = .nan
        try ParameterFile.write(stored, to: path)
        let before = try b.predict(x: test.x)
        #expect(throws: GraphError.io("'\(path)': parameter '\(stored[1].name)' holds a non-finite value at index 2")) { try b.load(from: path) }
        #expect(try b.predict(x: test.x) == before)
    }

    @Test func theScheduleNeedsTheRunsLength() throws {
        let d = blobs(30, seed: 1)
        let cosine = try TrainingSession(features: 4, classes: 3, spec: "widths=4")
        #expect(throws: (any Error).self) { try cosine.step(x: d.x, labels: d.y) }
        #expect(cosine.steps == 0)
        try cosine.plan(stepsPerEpoch: 5, epochs: 3)
        #expect(cosine.stepper.schedule.total == 15)
        try cosine.step(x: d.x, labels: d.y)
        let given = try TrainingSession(features: 4, classes: 3, spec: "widths=4;total_steps=7;epochs=2")
        #expect(given.plannedTotal == 7 && given.plannedStepsPerEpoch == 4)
        try given.fit(d, epochs: 1)  // an explicit length is kept
        #expect(given.stepper.schedule.total == 7)
        let fitted = try TrainingSession(features: 4, classes: 3, spec: "widths=4;batch=8;epochs=3")
        try fitted.fit(d)  // 30 rows in batches of 8: 4 steps per epoch
        #expect(fitted.stepper.schedule.total == 12 && fitted.steps == 12)
        #expect(try TrainingSession(features: 4, classes: 3, spec: "schedule=constant").step(x: d.x, labels: d.y).isFinite)
    }

    @Test func badBatchesAreErrorsAndLeaveTheModel() throws {
        let s = try TrainingSession(features: 4, classes: 3, spec: "widths=4;schedule=constant")
        let w = values(s, "layer0.weight")
        #expect(throws: RegulaError.nonFinite(what: "x", index: 5)) { try s.step(x: [0, 0, 0, 0, 0, .nan, 0, 0], labels: [0, 1]) }
        #expect(throws: (any Error).self) { try s.step(x: [0, 0, 0, 0], labels: [3]) }
        #expect(throws: (any Error).self) { try s.step(x: [0, 0, 0, 0], labels: [-1]) }
        #expect(throws: (any Error).self) { try s.step(x: [0, 0, 0, 0, 1], labels: [0]) }
        #expect(throws: (any Error).self) { try s.step(x: [0, 0, 0, 0], labels: [0, 1]) }
        #expect(throws: (any Error).self) { try s.step(x: [], labels: []) }
        #expect(throws: (any Error).self) { try s.evaluate(x: [], labels: []) }
        #expect(values(s, "layer0.weight") == w && s.steps == 0)
        // hidden sums overflow to inf: the non-finite loss is refused before the update
        let slot = s.graph.parameters.first { $0.name == "layer0.weight" }!
        for i in 0..<slot.count { slot.value[i] = 1 }
        #expect(throws: (any Error).self) { try s.step(x: [1e308, 1e308, 1e308, 1e308], labels: [0]) }
        #expect(values(s, "layer0.weight").allSatisfy { $0 == 1 } && s.steps == 0)
        let pseudo = try TrainingSession(features: 4, classes: 3, spec: "widths=4;transform=pseudo_label_mixup:warmup=1")
        #expect(pseudo.needsDataset)
        #expect(throws: (any Error).self) { try pseudo.step(x: [0, 0, 0, 0], labels: [0]) }
        #expect(throws: (any Error).self) { try TrainingSession(features: 0, classes: 3, spec: "") }
        #expect(throws: (any Error).self) { try TrainingSession(features: 4, classes: 1, spec: "") }
        #expect(throws: (any Error).self) { try TrainingSession(features: 1 << 20, classes: 10, spec: "widths=65536") }  // 2^36 weights
    }

    @Test func fitIsReproducibleAndTrainerRunIsAThinLoopOverIt() throws {
        let train = blobs(60, seed: 5), test = blobs(30, seed: 6)
        let spec = "widths=6;batch=16;epochs=3;transform=mixup:alpha=0.4;dropout=0.1;seed=3"
        let a = try TrainingSession(features: 4, classes: 3, spec: spec), b = try TrainingSession(features: 4, classes: 3, spec: spec)
        var epochs: [Int] = []
        let la = try a.fit(train) { epochs.append($0.epoch) }
        #expect(try b.fit(train) == la && epochs == [1, 2, 3])
        #expect(values(a, "layer0.weight") == values(b, "layer0.weight"))
        var c = try TrainSpec.parse(spec)
        c.scaling = "none"
        let r = try Trainer.run(train: train, test: test, config: c)
        let (mTest, mTrain) = (try a.evaluate(test), try a.evaluate(train))
        #expect(r.finalLoss == la && r.test == mTest && r.train == mTrain)
        #expect(r.steps == a.steps && r.steps == 3 * 4)
    }
}

@Suite struct PenaltyPatternTests {
    @Test func globs() {
        for (p, n, want) in [("layer*.weight", "layer0.weight", true), ("layer*.weight", "layer12.weight", true),
                             ("layer*.weight", "layer0.bias", false), ("layer*.weight", "output.weight", false),
                             ("layer?.weight", "layer10.weight", false), ("layer?.bias", "layer3.bias", true),
                             ("*", "", true), ("?", "", false), ("a*b*c", "aXbYc", true), ("a*b", "ab", true),
                             ("*.weight", "layer0.norm.weight", true), ("output.weight", "output.weights", false),
                             ("**", "x", true), ("*a", "bbb", false)] {
            #expect(PenaltySpec.matches(p, n) == want, "\(p) vs \(n)")
        }
    }

    @Test func specsWithPatterns() throws {
        #expect(try PenaltySpec.parse("l2=1e-4@layer*.weight") == PenaltySpec(id: "l2", params: "strength=1e-4", pattern: "layer*.weight"))
        let p = try PenaltySpec.parse("l1-prox:strength=1e-4@output.weight")
        #expect(p == PenaltySpec(id: "l1", params: "strength=1e-4", prox: true, pattern: "output.weight"))
        #expect(try PenaltySpec.parse(p.description) == p)
        #expect(try PenaltySpec.parse("mhe@layer0.weight").pattern == "layer0.weight")
        for bad in ["l2=1e-4@", "l2@a b", "l2@x=1", "@layer0.weight"] {
            #expect(throws: (any Error).self, "\(bad)") { try PenaltySpec.parse(bad) }
        }
    }

    /// The objective and the gradients of a pattern-attached penalty touch only what it names.
    @Test func attachesOnlyWhereAsked() throws {
        let d = blobs(12, seed: 7)
        func session(_ penalties: String) throws -> TrainingSession {
            try TrainingSession(features: 4, classes: 3, spec: "widths=5,4;schedule=constant;seed=4" + penalties)
        }
        let plain = try session(""), pat = try session(";penalty=l2=0.5@layer*.weight"), all = try session(";penalty=l2=0.5")
        #expect(pat.model.penaltyTargets.map(\.parameters) == [["layer0.weight", "layer1.weight"]])
        #expect(all.model.penaltyTargets.map(\.parameters) == [["layer0.weight", "layer1.weight", "output.weight"]])
        #expect(plain.graph.objective.count == 1 && pat.graph.objective.count == 3 && all.graph.objective.count == 4)
        let l2 = try Registry.shared.penalty("l2", "strength=0.5")
        for s in [plain, pat] {
            try s.graph.feed([s.model.x: d.x, s.model.y: d.y.map(Double.init)])
            _ = try s.graph.valueAndGradient()
        }
        // objective terms: loss, then the penalty on each matched matrix
        let terms = pat.graph.objectiveTerms
        #expect(terms[0] == plain.graph.objectiveTerms[0])
        for (k, name) in ["layer0.weight", "layer1.weight"].enumerated() {
            let slot = pat.graph.parameters.first { $0.name == name }!
            #expect(abs(terms[k + 1] - (try l2.value(slot.valueTensor))) < 1e-12)
            // gradient = task gradient + the penalty's gradient, on the matched matrices only
            let g = NDArray<Double>(shape: slot.shape)
            _ = try l2.valueAndGradient(slot.valueTensor, into: g.tensor)
            let expected = zip(grads(plain, name), g.tensor.buffer).map { $0 + $1 }
            #expect(zip(grads(pat, name), expected).allSatisfy { abs($0 - $1) < 1e-12 })
        }
        for name in ["output.weight", "output.bias", "layer0.bias"] { #expect(grads(pat, name) == grads(plain, name)) }
    }

    @Test func proxStepsFollowThePattern() throws {
        let d = blobs(30, seed: 2)
        let s = try TrainingSession(features: 4, classes: 3,
                                    spec: "widths=6;schedule=constant;lr=0.1;penalty=l1-prox:strength=100@output.weight")
        try s.step(x: d.x, labels: d.y)
        #expect(values(s, "output.weight").allSatisfy { $0 == 0 })  // threshold η·strength = 10 zeroes every entry
        #expect(values(s, "layer0.weight").allSatisfy { $0 != 0 })
        let biases = try TrainingSession(features: 4, classes: 3, spec: "widths=6;penalty=group_lasso=1e-3@layer?.bias")
        #expect(biases.model.penaltyTargets[0].parameters == ["layer0.bias"])
        #expect(throws: (any Error).self) { try TrainingSession(features: 4, classes: 3, spec: "penalty=l2=1@nothing*") }
        #expect(throws: (any Error).self) { try TrainingSession(features: 4, classes: 3, spec: "feature_penalty=least_volume=1@output.weight") }
    }
}

@Suite struct TrainSpecTests {
    @Test func theFullExampleParses() throws {
        let c = try TrainSpec.parse("""
            widths=256,128; activation=gelu;dropout=0.1;layer_norm=true;loss=softmax_cross_entropy:label_smoothing=0.1;\
            output_map=sparsemax;penalty=l2=1e-4@layer*.weight;penalty=hyperspherical_energy;transform=sam:rho=0.05;\
            transform=clip_global_norm:max_norm=1;optimizer=adamw;lr=1e-3;weight_decay=0.01;schedule=cosine;warmup=5;\
            batch=64;epochs=12;total_steps=300;seed=9;group=output:lr_scale=0.1;feature_penalty=least_volume=1e-3;
            """)
        #expect(c.model.widths == [256, 128] && c.model.activation == .gelu && c.model.activationMap == nil)
        #expect(c.model.dropout == 0.1 && c.model.layerNorm && c.loss == "softmax_cross_entropy:label_smoothing=0.1")
        #expect(c.outputMap == "sparsemax" && c.penalties.count == 2 && c.penalties[0].pattern == "layer*.weight")
        #expect(c.transforms == ["sam:rho=0.05", "clip_global_norm:max_norm=1"] && c.optimizer == "adamw")
        #expect(c.lr == 1e-3 && c.weightDecay == 0.01 && c.warmup == 5 && c.batch == 64 && c.epochs == 12)
        #expect(c.totalSteps == 300 && c.seed == 9 && c.groups == [ParamGroup(pattern: "output", lrScale: 0.1)])
        #expect(c.featurePenalties == [PenaltySpec(id: "least_volume", params: "strength=1e-3")])
        let d = try TrainSpec.parse("")
        #expect(d.model.widths == [256] && d.optimizer == "adam" && d.schedule == "cosine" && d.totalSteps == nil)
        #expect(try TrainSpec.parse("widths=").model.widths == [] && TrainSpec.parse("widths=none").model.widths == [])
        #expect(try TrainSpec.parse("activation=entmax15").model.activationMap == "entmax15")
    }

    @Test func everyKeyHasADefaultTheConfigAgreesWith() throws {
        // applying each key's documented default gives TrainConfig's default
        let items = TrainSpec.keys.compactMap { k in k.defaultValue.map { (k.name, $0.description) } }
        let c = try TrainSpec.config(items), d = TrainConfig()
        #expect(c.model.widths == d.model.widths && c.lr == d.lr && c.optimizer == d.optimizer && c.schedule == d.schedule)
        #expect(c.epochs == d.epochs && c.batch == d.batch && c.stepEvery == d.stepEvery && c.weightDecay == d.weightDecay)
        #expect(c.momentum == d.momentum && c.eps == d.eps && c.beta2 == d.beta2 && c.loss == d.loss && c.seed == d.seed)
    }

    @Test func errorsNameTheProblem() {
        func fails(_ spec: String, _ needle: String) {
            do {
                _ = try TrainSpec.parse(spec)
                Issue.record("'\(spec)' parsed")
            } catch {
                #expect("\(error)".contains(needle), "'\(spec)': \(error)")
            }
        }
        fails("widht=3", "widht"); fails("lr=0", "lr"); fails("lr=abc", "lr"); fails("lr=inf", "lr")
        fails("widths=0", "widths"); fails("widths=64,x", "widths"); fails("widths=99999999", "widths")
        fails("optimizer=lbfgs", "adam"); fails("schedule=linear", "cosine"); fails("epochs=1;epochs=2", "twice")
        fails("noequals", "'noequals'"); fails("penalty=", "penalty"); fails("layer_norm=maybe", "layer_norm")
        fails("quant_bits=1", "quant_bits"); fails("seed=-1", "seed"); fails("batch=0", "batch")
        fails("momentum=1", "momentum"); fails("dropout=1", "dropout"); fails("group=:lr_scale=1", "group")
        fails("epochs=2.5", "epochs"); fails("total_steps=0", "total_steps"); fails("loss=", "loss")
        #expect(throws: RegulaError.self) { try TrainSpec.parse("nope=1") }
    }

    @Test func unknownComponentsFailAtTheSession() {
        for spec in ["loss=nope", "penalty=nope=1", "transform=nope", "output_map=nope", "activation=nope",
                     "transform=sam:radius=1", "loss=l2", "transform=sam;transform=amp", "transform=mixup;transform=avmixup"] {
            #expect(throws: (any Error).self, "\(spec)") { try TrainingSession(features: 4, classes: 3, spec: spec) }
        }
    }
}
