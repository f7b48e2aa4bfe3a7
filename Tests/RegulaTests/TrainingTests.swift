// The training layer: components as graph nodes (gradients against finite differences),
// flooding, prox_step, transform specs, datasets, metrics and end-to-end runs.

import Testing
import Regula
import RegulaEngine

/// Central differences of the whole objective over every parameter entry vs backward.
private func graphGradcheck(_ g: Graph) throws -> Double {
    _ = try g.valueAndGradient()
    var worst = 0.0
    for p in g.parameters {
        let analytic = Array(UnsafeBufferPointer(start: p.grad, count: p.count))
        for i in 0..<p.count {
            let h = 1e-6, w0 = p.value[i]
            p.value[i] = w0 + h; let up = try g.forward()
            p.value[i] = w0 - h; let down = try g.forward()
            p.value[i] = w0
            worst = Swift.max(worst, abs((up - down) / (2 * h) - analytic[i]) / Swift.max(1, abs(analytic[i])))
        }
    }
    return worst
}

private func nearlyEqual(_ a: [Double], _ b: [Double], _ tol: Double = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * Swift.max(1, abs($1)) }
}

@Suite struct ComponentNodeTests {
    /// x → linear → gelu → linear → [map] → loss(labels), with penalties on both weights.
    func graph(seed: UInt64, loss: String, map: String?, penalties: [String]) throws -> (Graph, NodeRef, NodeRef) {
        let (g, x, y, _) = try graphWithScores(seed: seed, loss: loss, map: map, penalties: penalties)
        return (g, x, y)
    }

    func graphWithScores(seed: UInt64, loss: String, map: String?, penalties: [String]) throws -> (Graph, NodeRef, NodeRef, NodeRef) {
        let g = Graph(seed: seed)
        let x = g.input(cols: 3), y = g.input(cols: 1)
        let w1 = g.parameter("w1", shape: [4, 3], .kaimingNormal), b1 = g.parameter("b1", shape: [4], .normal(std: 0.1))
        let w2 = g.parameter("w2", shape: [5, 4], .xavierNormal)
        var z = try g.linear(g.activation(try g.linear(x, w1, b1), .gelu), w2)
        if let map { z = try g.custom(try MapOp(try Registry.shared.map(map)), [z]) }
        try g.minimize(try g.custom(try LossOp(try Registry.shared.loss(loss, "label_smoothing=0.1")), [z, y]))
        for p in penalties {
            for w in [w1, w2] { try g.minimize(try g.custom(PenaltyOp(try Registry.shared.penalty(p, "strength=0.05")), [w])) }
        }
        return (g, x, y, z)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func lossMapAndPenaltyNodesHaveExactGradients(_ seed: UInt64) throws {
        for (map, pens) in [(nil, ["l2", "group_lasso"]), ("sparsemax", ["elastic_net"])] as [(String?, [String])] {
            let (g, x, y) = try graph(seed: seed, loss: "softmax_cross_entropy", map: map, penalties: pens)
            var rng = RNG(seed: seed)
            for batch in [1, 4] {
                try g.feed([x: (0..<3 * batch).map { _ in rng.normal() }, y: (0..<batch).map { _ in Double(rng.below(5)) }])
                let worst = try graphGradcheck(g)
                #expect(worst < 1e-5, "seed \(seed) map \(map ?? "-") batch \(batch): \(worst)")
            }
        }
    }

    @Test func featurePenaltiesWithLabelsHaveExactGradients() throws {
        let ids = Set(Registry.shared.ids())
        for (id, params) in [("least_volume", "strength=0.1"), ("neural_collapse_features", "strength=0.1")] where ids.contains(id) {
            let c = try Classifier(features: 3, classes: 4, model: ModelSpec(widths: [5], activation: .tanh),
                                   loss: "softmax_cross_entropy", featurePenalties: [PenaltySpec(id: id, params: params)], seed: 3)
            var rng = RNG(seed: 8)
            try c.graph.feed([c.x: (0..<18).map { _ in rng.normal() }, c.y: [0, 1, 2, 3, 0, 1]])
            #expect(c.graph.objective.count == 2)
            let worst = try graphGradcheck(c.graph)
            #expect(worst < 1e-5, "\(id): \(worst)")
        }
    }

    @Test func lossNodeMatchesTheComponent() throws {
        let (g, x, y, z) = try graphWithScores(seed: 4, loss: "softmax_cross_entropy", map: nil, penalties: [])
        try g.feed([x: [0.3, -1, 2, 1, 0, 0.5], y: [2, 0]])
        let v = try g.forward()
        // the same loss on the logits node's value, computed by the component directly
        let logits = NDArray<Double>(shape: [2, 5], Array(g.value(z).buffer))
        let direct = try Registry.shared.loss("softmax_cross_entropy", "label_smoothing=0.1")
            .evaluate(logits.tensor, target: .index(shape: [2], values: [2, 0]))
        #expect(abs(v - direct) < 1e-12)
    }

    @Test func lossNodeRejectsReductionNoneAndBadTargets() throws {
        #expect(throws: (any Error).self) { try LossOp(try Registry.shared.loss("softmax_cross_entropy", "reduction=none")) }
        let (g, x, y) = try graph(seed: 1, loss: "softmax_cross_entropy", map: nil, penalties: [])
        try g.feed([x: [0, 0, 0], y: [7]])  // label out of range
        #expect(throws: (any Error).self) { try g.forward() }
        try g.feed([x: [0, 0, 0], y: [0.5]])  // not an integer
        #expect(throws: (any Error).self) { try g.forward() }
    }

    @Test func logitsOf1e4StayFinite() throws {
        let g = Graph()
        let z = g.input(cols: 3), y = g.input(cols: 1)
        let w = g.parameter("w", shape: [3, 3], .constant(0))
        for i in 0..<3 { g.parameters[0].value[i * 3 + i] = 1 }  // identity
        try g.minimize(try g.custom(try LossOp(try Registry.shared.loss("softmax_cross_entropy")), [try g.linear(z, w), y]))
        try g.feed([z: [1e4, 0, -1e4], y: [2]])
        let v = try g.valueAndGradient()
        #expect(abs(v - 2e4) < 1e-6)
        #expect((0..<9).allSatisfy { g.parameters[0].grad[$0].isFinite })
    }
}

@Suite struct TrainerFloodingTests {
    /// A graph whose only objective term is the loss; returns (graph, L).
    func graph() throws -> (Graph, Double) {
        let g = Graph(seed: 2)
        let x = g.input(cols: 2), y = g.input(cols: 1)
        let w = g.parameter("w", shape: [3, 2], .normal(std: 1))
        try g.minimize(try g.custom(try LossOp(try Registry.shared.loss("softmax_cross_entropy")), [try g.linear(x, w), y]))
        try g.feed([x: [1, -0.5, 0.2, 0.3], y: [0, 2]])
        return (g, try g.forward())
    }

    @Test func aboveTheFloodLevelNothingChanges() throws {
        let (g, L) = try graph()
        let plain = try Trainer.objective(g)
        let grad = Array(UnsafeBufferPointer(start: g.parameters[0].grad, count: 6))
        let flooded = try Trainer.objective(g, flood: L - 0.2)
        #expect(abs(plain - L) < 1e-12 && abs(flooded - L) < 1e-12)
        #expect(nearlyEqual(Array(UnsafeBufferPointer(start: g.parameters[0].grad, count: 6)), grad, 1e-12))
    }

    @Test func belowTheFloodLevelTheGradientFlips() throws {
        let (g, L) = try graph()
        _ = try Trainer.objective(g)
        let grad = Array(UnsafeBufferPointer(start: g.parameters[0].grad, count: 6))
        let b = L + 0.2
        let v = try Trainer.objective(g, flood: b)
        #expect(abs(v - (b + 0.2)) < 1e-12)  // |L − b| + b
        #expect(nearlyEqual(Array(UnsafeBufferPointer(start: g.parameters[0].grad, count: 6)), grad.map { -$0 }, 1e-12))
    }

    // Catalogue §6: b = 0.5: L = 0.3 → 0.7 (multiplier −1); L = 0.7 → 0.7 (+1).
    @Test func catalogueExample() {
        for (L, expected, sign) in [(0.3, 0.7, -1.0), (0.7, 0.7, 1.0)] {
            #expect(abs(abs(L - 0.5) + 0.5 - expected) < 1e-12 && Kernels.sign(L - 0.5) == sign)
        }
    }
}

@Suite struct ProxStepTests {
    // Catalogue §16b: w = (0.5, −0.02, 0.1), g = (0.1, 0.1, −0.2), η = 0.1, λ = 0.5.
    func step(_ penalty: String, _ params: String) throws -> [Double] {
        let s = ParameterSlot(name: "w", shape: [1, 3])
        for (i, v) in [0.5, -0.02, 0.1].enumerated() { s.value[i] = v }
        let prox = try ProxStep(try Registry.shared.penalty(penalty, params))
        let stepper = Stepper(params: [s], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                              schedule: Schedule(base: 0.1), transforms: [prox])
        try stepper.step { for (i, v) in [0.1, 0.1, -0.2].enumerated() { s.grad[i] = v }; return 0 }
        return Array(UnsafeBufferPointer(start: s.value, count: 3))
    }

    @Test func l1SoftThreshold() throws { #expect(nearlyEqual(try step("l1", "strength=0.5"), [0.44, 0, 0.07])) }
    @Test func squaredL2() throws { #expect(nearlyEqual(try step("l2", "strength=0.5"), [0.46667, -0.02857, 0.11429])) }
    @Test func groupLassoRow() throws { #expect(nearlyEqual(try step("group_lasso", "strength=0.5"), [0.44152, -0.02703, 0.10813])) }

    @Test func viaSpecAndErrors() throws {
        guard case .step(let t) = try TransformCatalog.make("prox_step:penalty=l1,strength=0.5") else {
            Issue.record("prox_step is not a step transform"); return
        }
        #expect(t.stage == .postStep)
        #expect(throws: (any Error).self) { try TransformCatalog.make("prox_step") }
        #expect(throws: (any Error).self) { try TransformCatalog.make("prox_step:penalty=soft_orthogonality") }  // no prox
    }
}

@Suite struct TransformSpecTests {
    @Test func everyListedTransformBuilds() throws {
        for t in TransformCatalog.all where t.id != "prox_step" {
            // model-eval terms are graph ops built by name; everything else builds for the trainer
            if t.kind == .modelEval { _ = try TransformCatalog.graphOp(t.id) } else { _ = try TransformCatalog.make(t.id) }
        }
    }

    @Test func badSpecsAreErrors() {
        #expect(throws: (any Error).self) { try TransformCatalog.make("nope") }
        #expect(throws: (any Error).self) { try TransformCatalog.make("sam:radius=1") }
        #expect(throws: (any Error).self) { try TransformCatalog.make("clip_global_norm:max_norm=0") }
        #expect(throws: (any Error).self) { try TransformCatalog.make("amp:inner_iter=0") }
    }

    @Test func penaltySpecs() throws {
        #expect(try PenaltySpec.parse("l2=1e-4") == PenaltySpec(id: "l2", params: "strength=1e-4"))
        #expect(try PenaltySpec.parse("l1-prox=0.01") == PenaltySpec(id: "l1", params: "strength=0.01", prox: true))
        #expect(try PenaltySpec.parse("elastic_net:strength=1e-4,l1_ratio=0.3").params == "strength=1e-4,l1_ratio=0.3")
        #expect(try PenaltySpec.parse("mhe") == PenaltySpec(id: "mhe"))
        #expect(throws: (any Error).self) { try PenaltySpec.parse("l2=abc") }
    }
}

@Suite struct VATTests {
    /// f(x) = Wx with W = [[1, 0], [0, 2], [−1, −1]] (catalogue transforms §11).
    func model(entropy: Bool = false) throws -> Classifier {
        let c = try Classifier(features: 2, classes: 3, model: ModelSpec(widths: []), loss: "softmax_cross_entropy",
                               vat: true, entropy: entropy, seed: 1)
        let w = c.graph.parameters[0]
        for (i, v) in [1.0, 0, 0, 2, -1, -1].enumerated() { w.value[i] = v }
        return c
    }

    @Test func catalogueExample() throws {
        let c = try model()
        let g = c.graph, term = try #require(c.vatTerm), target = try #require(c.vatTarget)
        try g.feed([c.x: [0.5, 0.2], c.y: [0], target: [1.0 / 3, 1.0 / 3, 1.0 / 3]])
        try g.forward()
        let p = Array(UnsafeBufferPointer(start: g.value(c.logits).data, count: 3)).map { exp($0) }
        let z = p.reduce(0, +), probs = p.map { $0 / z }
        #expect(zip(probs, [0.4533, 0.41017, 0.13653]).allSatisfy { abs($0 - $1) < 1e-4 })
        let vat = VirtualAdversarial(xi: 1e-6, epsilon: 2, iterations: 1)
        let r = try vat.perturbation(c, x: [0.5, 0.2], targets: [0], p: probs, d0: [0.689, -0.724])
        #expect(abs(r[0] - 0.733) < 1e-3 && abs(r[1] + 1.861) < 1e-3)
        var weights = [Double](repeating: 0, count: g.objective.count)
        weights[term] = 1
        try g.feed([c.x: [0.5 + r[0], 0.2 + r[1]], c.y: [0], target: probs])
        let ce = try Trainer.objective(g, weights: weights)
        let h = -probs.reduce(0) { $0 + $1 * log($1) }
        #expect(abs(h - 0.99605) < 1e-4)
        #expect(abs(ce - h - 1.3588) < 1e-3)
    }

    @Test func entropyTermGradient() throws {
        let c = try model(entropy: true)
        let target = try #require(c.vatTarget)
        var rng = RNG(seed: 2)
        try c.graph.feed([c.x: (0..<8).map { _ in rng.normal() }, c.y: [0, 1, 2, 0], target: [Double](repeating: 1.0 / 3, count: 12)])
        #expect(c.graph.objective.count == 3)
        #expect(try graphGradcheck(c.graph) < 1e-6)
    }

    @Test func normalizeIsPerSampleUnit() {
        var d: [Double] = [3, 4, 0, 0, -1e-9, 2e-9]
        VirtualAdversarial.normalize(&d, rows: 3, cols: 2)
        #expect(abs(d[0] - 0.6) < 1e-6 && abs(d[1] - 0.8) < 1e-6 && d[2] == 0 && d[3] == 0)
        #expect(abs(d[4] * d[4] + d[5] * d[5] - 1) < 1e-5)  // the max-abs step keeps tiny rows finite
    }
}

@Suite struct MixupTests {
    @Test func mixesInputsAndLabelsWithOneLambda() {
        var rng = RNG(seed: 5)
        let x: [Double] = [1, 0, 0, 1, 2, 2], labels = [0, 1, 2]
        let m = Mixup(alpha: 1).mix(x: x, labels: labels, features: 2, classes: 3, rng: &rng)
        #expect(m.lambda > 0 && m.lambda < 1 && Set(m.permutation) == [0, 1, 2])
        for i in 0..<3 {
            let j = m.permutation[i]
            for f in 0..<2 { #expect(abs(m.x[i * 2 + f] - (m.lambda * x[i * 2 + f] + (1 - m.lambda) * x[j * 2 + f])) < 1e-15) }
            let row = Array(m.targets[i * 3 ..< i * 3 + 3])
            #expect(abs(row.reduce(0, +) - 1) < 1e-15)
            #expect(abs(row[labels[i]] - (labels[i] == labels[j] ? 1 : m.lambda)) < 1e-15)
        }
        let off = Mixup(alpha: 0).mix(x: x, labels: labels, features: 2, classes: 3, rng: &rng)
        #expect(off.lambda == 1 && off.x == x && off.targets == [1, 0, 0, 0, 1, 0, 0, 0, 1])
    }

    @Test(arguments: [0.2, 1.0, 3.0])
    func betaSamplerMoments(_ a: Double) {
        var rng = RNG(seed: 11)
        let n = 20000
        let v = (0..<n).map { _ in Mixup.beta(a, a, &rng) }
        let mean = v.reduce(0, +) / Double(n), variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        #expect(abs(mean - 0.5) < 0.01)
        #expect(abs(variance - 1 / (4 * (2 * a + 1))) < 0.01)
        #expect(v.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}

@Suite struct DatasetAndMetricsTests {
    @Test func csvWithHeaderAndTextLabels() throws {
        let d = try Dataset.parseCSV("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n")
        #expect(d.features == 2 && d.classes == 2 && d.y == [0, 1, 0] && d.classNames == ["cat", "dog"])
        #expect(d.x == [1, 2, 3, 4, 5, 6])
        let first = try Dataset.parseCSV("7,1,2\n3,3,4\n", labelColumn: 0)
        #expect(first.classNames == ["3", "7"] && first.y == [1, 0] && first.x == [1, 2, 3, 4])
        #expect(throws: (any Error).self) { try Dataset.parseCSV("1,2,0\n1,x,1\n") }
        #expect(throws: (any Error).self) { try Dataset.parseCSV("1,2,0\n1,2\n") }
        #expect(throws: (any Error).self) { try Dataset.parseCSV("1,2,0\n1,3,0\n") }  // one class
    }

    @Test func stratifiedSeededSplit() throws {
        let n = 100
        let d = Dataset(x: (0..<n).map(Double.init), y: (0..<n).map { $0 < 80 ? 0 : 1 }, features: 1, classes: 2)
        let (a, b) = try d.split(testFraction: 0.25, seed: 3)
        #expect(b.count == 25 && b.y.filter { $0 == 1 }.count == 5)
        #expect(Set(a.x + b.x).count == n)
        let (a2, _) = try d.split(testFraction: 0.25, seed: 3)
        #expect(a2.x == a.x)
    }

    @Test func eceNllAccuracyByHand() {
        // rows: confident right (p_max = e²/(e²+2)), uniform wrong-ish, confident wrong
        let z = [2.0, 0, 0, 0, 0, 0, 0, 3, 0]
        let m = ClassificationMetrics(logits: z, labels: [0, 1, 0], classes: 3)
        let p1 = exp(2.0) / (exp(2.0) + 2), p3 = exp(3.0) / (exp(3.0) + 2)
        #expect(abs(m.accuracy - 1.0 / 3) < 1e-12)  // row 2: argmax = 0 (ties → lowest) ≠ 1
        let nll = (-log(p1) + log(3.0) + (log(exp(3.0) + 2))) / 3
        #expect(abs(m.nll - nll) < 1e-12)
        // bins of width 1/15: 1/3 → bin 5, p1 = 0.787 → bin 11, p3 = 0.909 → bin 13
        let ece = (abs(1 - p1) + abs(0 - 1.0 / 3) + abs(0 - p3)) / 3
        #expect(abs(m.ece - ece) < 1e-12)
    }
}

@Suite struct TrainerTests {
    /// Two Gaussian blobs per class in 4-D, 3 classes.
    func blobs(_ n: Int, seed: UInt64) -> Dataset {
        var rng = RNG(seed: seed)
        var x = [Double](), y = [Int]()
        for i in 0..<n {
            let c = i % 3
            for j in 0..<4 { x.append((j == c ? 3 : 0) + rng.normal()) }
            y.append(c)
        }
        return Dataset(x: x, y: y, features: 4, classes: 3)
    }

    func config(_ edit: (inout TrainConfig) -> Void = { _ in }) -> TrainConfig {
        var c = TrainConfig()
        c.model = ModelSpec(widths: [16]); c.epochs = 8; c.batch = 16; c.lr = 1e-2; c.scaling = "standardize"
        edit(&c)
        return c
    }

    @Test func learnsBlobsAndIsReproducible() throws {
        let train = blobs(150, seed: 1), test = blobs(61, seed: 2)  // 61: a partial last batch
        let a = try Trainer.run(train: train, test: test, config: config())
        let b = try Trainer.run(train: train, test: test, config: config())
        #expect(a.test.accuracy > 0.85)
        #expect(a.test == b.test && a.finalLoss == b.finalLoss)
        #expect(a.steps == 8 * 10 && a.evaluations == a.steps)
        #expect(a.layers.count == 2 && a.layers[0].maxSingular >= a.layers[0].minSingular)
    }

    @Test func samDoublesTheEvaluationsAndProxMakesZeros() throws {
        let train = blobs(150, seed: 1), test = blobs(60, seed: 2)
        let sam = try Trainer.run(train: train, test: test, config: config { $0.transforms = ["sam:rho=0.05"] })
        #expect(sam.evaluations == 2 * sam.steps)
        let l1 = try Trainer.run(train: train, test: test, config: config { $0.penalties = [PenaltySpec(id: "l1", params: "strength=1", prox: true)] })
        #expect(l1.zeroShare > 0.2)
        let plain = try Trainer.run(train: train, test: test, config: config())
        #expect(plain.zeroShare == 0)
    }

    @Test func everyOptimizerScheduleAndLayerOptionRuns() throws {
        let train = blobs(90, seed: 3), test = blobs(30, seed: 4)
        for edit in [{ (c: inout TrainConfig) in c.optimizer = "sgd"; c.nesterov = true; c.lr = 0.05; c.schedule = "step"; c.stepEvery = 2 },
                     { c in c.optimizer = "adamw"; c.schedule = "constant"; c.warmup = 5 },
                     { c in c.model = ModelSpec(widths: [8, 8], activation: .tanh, dropout: 0.1, layerNorm: true, residual: true) },
                     { c in c.transforms = ["clip_global_norm:max_norm=1", "perp_grad", "grad_noise", "flooding:b=0.05", "l2_grad"] },
                     { c in c.transforms = ["amp"] }, { c in c.transforms = ["dnsam"] }, { c in c.transforms = ["fd_grad_reg"] },
                     { c in c.transforms = ["iss_p:ratio=0.3", "lawn:warmup=20,layers=all"] },
                     { c in c.transforms = ["mixup:alpha=0.4"]; c.model = ModelSpec(widths: [16], quantBits: 6) },
                     { c in c.transforms = ["autosparse_ga:threshold_init=-1"] },
                     { c in c.transforms = ["vat:epsilon=1"] }, { c in c.transforms = ["vat_ent:epsilon=1", "sam", "flooding:b=0.1"] },
                     { c in c.loss = "maxsup:alpha_begin=0.1,alpha_end=0.2,total_steps=50" },  // stateful: "step" is fed
                     { c in c.model = ModelSpec(widths: [16], activationMap: "sparsemax", gaussianNoise: 0.1, gaussianDropout: 0.1) },
                     { c in c.penalties = [PenaltySpec(id: "l2", params: "strength=1e-3")]; c.outputMap = "sparsemax" }] {
            let r = try Trainer.run(train: train, test: test, config: config(edit))
            #expect(r.test.accuracy > 0.5 && r.finalLoss.isFinite)
        }
    }

    @Test func parameterGroups() throws {
        #expect(try ParamGroup.parse("output:lr_scale=0.1,decay=false") == ParamGroup(pattern: "output", lrScale: 0.1, decay: false))
        #expect(throws: (any Error).self) { try ParamGroup.parse("output:lr=1") }
        #expect(throws: (any Error).self) { try ParamGroup.parse("output:lr_scale=-1") }
        let train = blobs(150, seed: 1), test = blobs(60, seed: 2)
        let frozen = try Trainer.run(train: train, test: test, config: config { $0.groups = [ParamGroup(pattern: ".", lrScale: 0)] })
        let trained = try Trainer.run(train: train, test: test, config: config())
        #expect(frozen.train.accuracy < 0.7 && trained.train.accuracy > 0.85)  // lr_scale 0 on every parameter: nothing moves
        // decay switched on for every parameter: with λ = 0 the run is identical (a no-op flag)
        let all = try Trainer.run(train: train, test: test, config: config {
            $0.groups = [ParamGroup(pattern: ".", decay: true)]; $0.transforms = ["l2_grad:weight_decay=0"]
        })
        #expect(all.finalLoss == trained.finalLoss)  // λ = 0: the group flag alone changes nothing
    }

    @Test func badConfigsAreErrors() {
        let d = blobs(30, seed: 1)
        #expect(throws: (any Error).self) { try Trainer.run(train: d, test: d, config: config { $0.optimizer = "lbfgs" }) }
        #expect(throws: (any Error).self) { try Trainer.run(train: d, test: d, config: config { $0.transforms = ["sam", "amp"] }) }
        #expect(throws: (any Error).self) { try Trainer.run(train: d, test: d, config: config { $0.loss = "l2" }) }
        #expect(throws: (any Error).self) { try Trainer.run(train: d, test: d, config: config { $0.epochs = 0 }) }
    }

    /// The default `regula train` configuration on the bundled digits must reach 97 %.
    @Test func defaultDigitsRunReaches97Percent() throws {
        let path = String(#filePath.dropLast("Tests/RegulaTests/TrainingTests.swift".count)) + "data/digits.csv"
        let d = try Dataset.loadCSV(path: path)
        #expect(d.count == 1797 && d.features == 64 && d.classes == 10)
        let (train, test) = try d.split(testFraction: 0.2, seed: 0)
        var c = TrainConfig()
        c.model = ModelSpec(widths: [512]); c.lr = 3e-3  // the CLI's defaults
        let r = try Trainer.run(train: train, test: test, config: c)
        #expect(r.test.accuracy >= 0.97, "test accuracy \(r.test.accuracy)")
    }
}

#if canImport(Glibc)
import Glibc
#endif
