// The training transforms that change the model or act globally on the update: BackSlash,
// QReg, very large dropout, and every layer transform through `regula train`'s trainer.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import Regula
import RegulaEngine

private func slot(_ values: [Double], shape: [Int], decay: Bool = true) -> ParameterSlot {
    let s = ParameterSlot(name: "w", shape: shape, decay: decay)
    for (i, v) in values.enumerated() { s.value[i] = v }
    return s
}

private func array(_ s: ParameterSlot) -> [Double] { Array(UnsafeBufferPointer(start: s.value, count: s.count)) }

private func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * Swift.max(1, abs($1)) }
}

/// One SGD step with a zero gradient, so only the post steps move the weights.
private func postStepOnly(_ params: [ParameterSlot], _ t: StepTransform) throws {
    let s = Stepper(params: params, optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                    schedule: Schedule(base: 0.1), transforms: [t])
    try s.step { for p in params { for i in 0..<p.count { p.grad[i] = 0 } }; return 0 }
}

@Suite struct BackSlashTests {
    // penalties_sparsity §14b: W0 alone (N = 4), λ = 0.1, c = 1, ν̂ = 1.46.
    @Test func catalogueExample() throws {
        let w = slot([1, -2, 0.5, 0], shape: [2, 2])
        let b = BackSlash(lambda: 0.1, clip: 1)
        try postStepOnly([w], b)
        #expect(b.lastShape == 1.46)
        #expect(close(array(w), [0.949793, -1.939498, 0.456016, 0]))
        let fixed = slot([1, -2, 0.5, 0], shape: [2, 2])
        try postStepOnly([fixed], BackSlash(lambda: 0.1, clip: 1, nu: 0.5))
        #expect(close(array(fixed), [0.991161, -1.992783, 0.489794, 0]))
    }

    @Test func scopeIsGlobalOverEveryParameter() throws {
        // W0 split into a matrix and a bias-like vector (no decay) gives the same result as one tensor
        let a = slot([1, -2], shape: [1, 2]), bias = slot([0.5, 0], shape: [2], decay: false)
        let b = BackSlash(lambda: 0.1, clip: 1)
        try postStepOnly([a, bias], b)
        #expect(b.lastShape == 1.46)
        #expect(close(array(a) + array(bias), [0.949793, -1.939498, 0.456016, 0]))
    }

    @Test func fromItsSpec() throws {
        guard case .step(let t) = try TransformCatalog.make("backslash:lambda=0.1,nu=0.5") else { Issue.record("not a step"); return }
        let w = slot([1, -2, 0.5, 0], shape: [2, 2])
        try postStepOnly([w], t)
        #expect(close(array(w), [0.991161, -1.992783, 0.489794, 0]))
    }
}

@Suite struct DeepShapeTests {
    // penalties_sparsity §14c: no 4-entry example; on a large Gaussian sample the reshaped range
    // must follow ⌊n·pmf(x)⌋ of the target GG with ν' = 0.8·ν̂(cut), in sorted order.
    @Test func histogramSpecificationOnAGaussianSample() throws {
        var rng = RNG(seed: 21)
        let n = 60_000
        let input = (0..<n).map { _ in 0.05 * rng.normal() }
        let a = slot(Array(input[..<40_000]), shape: [200, 200]), b = slot(Array(input[40_000...]), shape: [20_000], decay: false)
        let t = DeepShape(at: 0, minCount: 40)
        try postStepOnly([a, b], t)
        let r = try #require(t.applied)
        let q = input.map { Int(($0 * 8192).rounded(.toNearestOrEven)) }
        var counts: [Int: Int] = [:]
        for v in q { counts[v, default: 0] += 1 }
        // p_max: present at most 40 times, every smaller positive grid value more often
        #expect(counts[r.pmax]! <= 40 && (1..<r.pmax).allSatisfy { counts[$0, default: 0] > 40 })
        let cut = input.filter { abs($0) <= Double(r.pmax) / 8192 }
        let nu = GenGaussian.estimateShape(count: cut.count, sumOfSquares: cut.reduce(0) { $0 + $1 * $1 },
                                           sumOfAbs: cut.reduce(0) { $0 + abs($1) })
        #expect(abs(r.shape - 0.8 * nu) < 1e-12)
        let output = array(a) + array(b)
        #expect(output.allSatisfy { ($0 * 8192).rounded() == $0 * 8192 })  // on the grid
        // the reshaped counts are ⌊n·pmf⌋ except where the few leftovers keep their grid value
        let grid = Array(r.mu - r.pmax ... r.mu + r.pmax)
        let pmf = grid.map { exp(-pow(abs(Double($0 - r.mu)) / r.beta, r.shape)) }, z = pmf.reduce(0, +)
        let target = pmf.map { Int(Double(r.count) * $0 / z) }
        let leftovers = r.count - target.reduce(0, +)
        var outCounts: [Int: Int] = [:]
        for v in output { outCounts[Int((v * 8192).rounded()), default: 0] += 1 }
        let mismatch = zip(grid, target).reduce(0) { $0 + abs(outCounts[$1.0, default: 0] - $1.1) }
        #expect(leftovers < grid.count && mismatch <= 2 * leftovers)
        // monotone: the reshaping keeps the grid order of the parameters it moves (ties by index)
        let moved = (0..<n).filter { q[$0] >= r.mu - r.pmax && q[$0] <= r.mu + r.pmax }.sorted { q[$0] < q[$1] || (q[$0] == q[$1] && $0 < $1) }
        let assigned = moved.prefix(moved.count - leftovers)  // the leftovers at the top keep their grid value
        #expect(r.pmax > 50 && zip(assigned, assigned.dropFirst()).allSatisfy { output[$0] <= output[$1] }, "\(r)")
        // parameters outside the range only move to the grid
        #expect((0..<n).allSatisfy { abs(q[$0] - r.mu) <= r.pmax || output[$0] == Double(q[$0]) / 8192 })
    }

    @Test func firesOnceAtItsStep() throws {
        var rng = RNG(seed: 5)
        let w = slot((0..<5000).map { _ in 0.05 * rng.normal() }, shape: [50, 100])
        let before = array(w)
        let t = DeepShape(at: 1, minCount: 10)
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 0.1), transforms: [t])
        let zero: () throws -> Double = { for i in 0..<w.count { w.grad[i] = 0 }; return 0 }
        try s.step(zero)
        #expect(array(w) == before && t.applied == nil)
        try s.step(zero)
        let after = array(w)
        #expect(after != before && t.applied != nil)
        try s.step(zero)
        #expect(array(w) == after)
        #expect(throws: RegulaError.self) { try DeepShape(at: 0, minCount: 0).apply([w], StepContext(step: 0, lr: 0.1)) }
    }
}

@Suite struct JacobianNuclearDenoiseTests {
    // penalties_matrix §7: h(x) = Bx, B = [[1,1],[0,1]], g(y) = Cy, C = [[2,0],[0,1]]:
    // ½(‖J_h‖² + ‖J_g‖²) = ½(3 + 5) = 4 ≥ ‖CB‖_* = 3.605551. With η = 2 the two terms estimate 3 and 5,
    // and their gradients η·B and η·C (E εεᵀ = σ²I).
    @Test func catalogueExample() throws {
        guard case .model(let edit) = try TransformCatalog.make("jacobian_nuclear_denoise:strength=2") else { Issue.record("not a model edit"); return }
        var spec = ModelSpec(widths: [2], activation: .identity)
        edit(&spec)
        let c = try Classifier(features: 2, classes: 2, model: spec, loss: "softmax_cross_entropy", seed: 3)
        let g = c.graph
        let p = Dictionary(uniqueKeysWithValues: g.parameters.map { ($0.name, $0) })
        for (i, v) in [1.0, 1, 0, 1].enumerated() { p["layer0.weight"]!.value[i] = v }
        for (i, v) in [2.0, 0, 0, 1].enumerated() { p["output.weight"]!.value[i] = v }
        var rng = RNG(seed: 4)
        let rows = 4000
        try g.feed([c.x: (0..<2 * rows).map { _ in rng.normal() }, c.y: (0..<rows).map { _ in Double(rng.below(2)) }])
        _ = try Trainer.objective(g, weights: [0, 1, 1])
        let terms = g.objectiveTerms
        #expect(terms.count == 3 && abs(terms[1] - 3) < 0.3 && abs(terms[2] - 5) < 0.5, "\(terms)")
        let gb = Array(UnsafeBufferPointer(start: p["layer0.weight"]!.grad, count: 4))
        let gc = Array(UnsafeBufferPointer(start: p["output.weight"]!.grad, count: 4))
        #expect(zip(gb, [2.0, 2, 0, 2]).allSatisfy { abs($0 - $1) < 0.2 }, "\(gb)")
        #expect(zip(gc, [4.0, 0, 0, 2]).allSatisfy { abs($0 - $1) < 0.3 }, "\(gc)")
        let bias = p["layer0.bias"]!
        #expect(abs(bias.grad[0]) < 1e-6 && abs(bias.grad[1]) < 1e-6)  // biases cancel in the differences
        g.training = false  // evaluation: no noise, both terms vanish
        _ = try g.forward()
        #expect(g.objectiveTerms[1] == 0 && g.objectiveTerms[2] == 0)
    }

    @Test func refusesStochasticLayers() throws {
        guard case .model(let edit) = try TransformCatalog.make("jacobian_nuclear_denoise") else { Issue.record("not a model edit"); return }
        var spec = ModelSpec(widths: [4], dropout: 0.1)
        edit(&spec)
        #expect(throws: RegulaError.self) { try Classifier(features: 2, classes: 2, model: spec, loss: "softmax_cross_entropy", seed: 1) }
    }
}

@Suite struct QRegTests {
    /// The forward of the `qreg` spec's model on one weight tensor.
    func quantized(_ spec: String, _ w: [Double]) throws -> [Double] {
        guard case .model(let edit) = try TransformCatalog.make(spec) else { Issue.record("not a model edit"); return [] }
        var m = ModelSpec()
        edit(&m)
        let g = Graph(seed: 1)
        let p = g.parameter("w", shape: [1, w.count], .zeros)
        let q = try g.quantNoise(p, bits: try #require(m.quantBits), uniformNoise: m.quantUniformNoise)
        for (i, v) in w.enumerated() { g.parameters[0].value[i] = v }
        g.training = false
        _ = try g.forward()
        return Array(g.value(q).buffer)
    }

    // penalties_sparsity §21: 8-bit Δ = 0.015748, Q(W0) = (1.007874, −2, 0.503937, 0); 4-bit Δ = 0.285714.
    @Test func catalogueExample() throws {
        #expect(close(try quantized("qreg", [1, -2, 0.5, 0]), [1.007874, -2, 0.503937, 0]))
        #expect(close(try quantized("qreg:bits=4", [1, -2, 0.5, 0]), [1.142857, -2, 0.571429, 0]))
    }

    @Test func tiesRoundHalfToEven() throws {
        // 3 bits: Δ = 3/3 = 1; 0.5 → 0, 2.5 → 2, −1.5 → −2 (half away from zero would give 1, 3, −2)
        #expect(try quantized("qreg:bits=3", [3, 0.5, 2.5, -1.5]) == [3, 0, 2, -2])
    }
}

@Suite struct VeryLargeDropoutTests {
    // One hidden unit: the output layer sees h̃ ∈ {0, h/(1 − p)}, so the train-mode logits are
    // either the bias or b + W·h/(1 − p), with the drop share ≈ p; eval logits b + W·h.
    @Test func dropsThePenultimateFeaturesOnly() throws {
        guard case .model(let edit) = try TransformCatalog.make("very_large_dropout") else { Issue.record("not a model edit"); return }
        var spec = ModelSpec(widths: [1])
        edit(&spec)
        #expect(spec.featureDropout == 0.9 && spec.dropout == 0)
        let c = try Classifier(features: 2, classes: 2, model: spec, loss: "softmax_cross_entropy", seed: 5)
        let g = c.graph
        try g.feed([c.x: [0.7, -0.4], c.y: [1]])
        let p = g.parameters  // layer0.weight, layer0.bias, output.weight, output.bias
        for i in 0..<2 { p[0].value[i] = [1, -1][i]; p[3].value[i] = [0.25, -0.5][i] }
        p[1].value[0] = 0.1
        let h = 1.2  // relu(0.7 + 0.4 + 0.1)
        g.training = false
        _ = try g.forward()
        #expect(close(Array(g.value(c.logits).buffer), (0..<2).map { p[3].value[$0] + p[2].value[$0] * h }, 1e-12))
        g.training = true
        var dropped = 0
        let trials = 400
        for _ in 0..<trials {
            _ = try g.forward()
            let z = Array(g.value(c.logits).buffer)
            let kept = (0..<2).map { p[3].value[$0] + p[2].value[$0] * h / 0.1 }
            if close(z, [0.25, -0.5], 1e-12) { dropped += 1 } else { #expect(close(z, kept, 1e-12)) }
        }
        #expect(abs(Double(dropped) / Double(trials) - 0.9) < 0.05)
    }
}

@Suite struct LayerTransformTrainingTests {
    let trainer = TrainerTests()

    @Test func everyNewTransformTrains() throws {
        let train = trainer.blobs(90, seed: 3), test = trainer.blobs(30, seed: 4)
        for t in ["backslash:lambda=0.05", "lawn_projection:warmup=10,granularity=unit,tangent_grad=true", "autosparse:threshold_init=-2",
                  "qreg:bits=4", "very_large_dropout:p=0.5", "weight_conditioning", "weight_conditioning:layers=all",
                  "smcp_soft_mask:ratio=0.25,every=5", "de_elbo:sigma_init=0.01", "lora_dropout", "lora_dropout:freeze_base=true,rank=2",
                  "deepshape:at=40,adj_minnum=2", "jacobian_nuclear_denoise"] {
            let r = try Trainer.run(train: train, test: test, config: trainer.config { $0.transforms = [t] })
            #expect(r.test.accuracy > 0.6 && r.finalLoss.isFinite, "\(t): \(r.test.accuracy)")
        }
    }

    @Test func loraAdaptersFreezeTheBase() throws {
        guard case .model(let edit) = try TransformCatalog.make("lora_dropout:rank=2,freeze_base=true") else { Issue.record("not a model edit"); return }
        var spec = ModelSpec(widths: [3])
        edit(&spec)
        let c = try Classifier(features: 4, classes: 2, model: spec, loss: "softmax_cross_entropy", seed: 1)
        let slots = Dictionary(uniqueKeysWithValues: c.graph.parameters.map { ($0.name, $0) })
        #expect(slots["layer0.weight"]?.lrScale == 0 && slots["output.weight"]?.lrScale == 0)
        #expect(slots["layer0.lora_a"]?.shape == [2, 4] && slots["layer0.lora_b"]?.shape == [3, 2])
        #expect(slots["output.lora_b"].map { Kernels.sumOfSquares($0.value, count: $0.count) } == 0)  // ΔW = 0 at start
    }

    @Test func smcpPrunesTheTargetShareOfInputChannels() throws {
        // widths [16] on 4 features, 3 classes: at the end ⌊0.5·4⌋ = 2 columns of layer 0 and
        // ⌊0.5·16⌋ = 8 of the output are masked: 16·2 + 3·8 = 56 of 64 + 48 entries are zero.
        let train = trainer.blobs(90, seed: 3), test = trainer.blobs(30, seed: 4)
        let r = try Trainer.run(train: train, test: test, config: trainer.config { $0.transforms = ["smcp_soft_mask:ratio=0.5,every=1"] })
        #expect(abs(r.zeroShare - 56.0 / 112) < 1e-12)
        let s = SoftMaskSchedule(ratio: 0.5)
        #expect(s.ratio(progress: 0.05) == 0 && s.ratio(progress: 0.8) == 0.5)
        let mid = s.ratio(progress: 0.4), k = 4.5
        #expect(abs(mid - 0.5 * (1 - exp(-k * (0.4 - 10.0 / 90))) / (1 - exp(-k * (1 - 35.0 / 90)))) < 1e-12)
    }

    @Test func modelTransformsAreRefusedByTheGradientOnlyFactory() {
        for t in ["qreg", "smcp_soft_mask", "weight_conditioning", "very_large_dropout", "autosparse"] {
            #expect(throws: RegulaError.self) { try OptimizerFactory.make(optimizer: "sgd", params: "", transforms: [t], slots: []) }
        }
    }

    @Test func deElboStepsItsSigmaThroughTheFactory() throws {
        let w = slot([0.5, -0.5, 1, 0], shape: [1, 4])
        let s = try OptimizerFactory.make(optimizer: "sgd", params: "lr=1,momentum=0", transforms: ["de_elbo:sigma_init=0.1"], slots: [w])
        #expect(s.params.count == 2 && s.params[1].name == "de_elbo.sigma")
        try s.step { for i in 0..<4 { w.grad[i] = 0 }; return 0 }
        let mean = [0.5, -0.5, 1, 0]
        #expect(close(array(w), mean.map { $0 - $0 / 1.54 }, 1e-12))
    }
}

@Suite struct AVMixupTests {
    // transforms §13b: x = (100, 100), x_adv = (108, 92), γ = 2 → vertex (116, 84); u = 0.3 →
    // x̃ = (111.2, 88.8); ỹ = (0.37, 0.07 × 9) for K = 10, λ1 = 1, λ2 = 0.1.
    @Test func catalogueExample() {
        let m = AVMixup().mix(x: [100, 100], adversarial: [108, 92], labels: [0], classes: 10, u: [0.3], range: (0, 255))
        #expect(close(m.x, [111.2, 88.8], 1e-12))
        #expect(close(m.targets, [0.37] + [Double](repeating: 0.07, count: 9), 1e-12))
        // the vertex is clipped to the data range: (100 + 2·(−150)) → 0
        let c = AVMixup().mix(x: [100], adversarial: [-50], labels: [1], classes: 2, u: [0], range: (0, 255))
        #expect(c.x == [0] && close(c.targets, [0.9, 0.1], 1e-12))
    }

    @Test func attackStaysInTheBallAndRaisesTheLoss() throws {
        let c = try Classifier(features: 3, classes: 3, model: ModelSpec(widths: [5]), loss: "softmax_cross_entropy",
                               softTargets: true, inputGradient: true, seed: 2)
        var rng = RNG(seed: 9)
        let x = (0..<12).map { _ in rng.uniform() }, labels = [0, 1, 2, 1]
        let t = c.targets(labels, classes: 3)
        func loss(_ input: [Double]) throws -> Double {
            try c.graph.feed([c.x: input, c.y: t]); return try c.graph.forward()
        }
        let clean = try loss(x)
        let av = AVMixup(epsilon: 0.1, stepSize: 0.03, steps: 10)
        let adv = try av.attack(c, x: x, targets: t, range: (0, 1), rng: &rng)
        #expect(zip(adv, x).allSatisfy { abs($0 - $1) <= 0.1 + 1e-15 && $0 >= 0 && $0 <= 1 })
        #expect(try loss(adv) > clean + 0.01)
    }

    @Test func trains() throws {
        let t = TrainerTests()
        let r = try Trainer.run(train: t.blobs(90, seed: 3), test: t.blobs(30, seed: 4),
                                config: t.config { $0.transforms = ["avmixup:epsilon=0.3,step_size=0.1,steps=3"] })
        #expect(r.test.accuracy > 0.6 && r.evaluations == r.steps)
    }
}

@Suite struct PseudoLabelMixupTests {
    /// Runs an op on logits z (rows × k): value and gradient for an upstream 1.
    func run(_ op: GraphOp, _ z: [Double], k: Int) throws -> (Double, [Double]) {
        let x = slot(z, shape: [z.count / k, k]), out = slot([0], shape: [1]), up = slot([1], shape: [1])
        try op.forward([x.valueTensor], into: out.valueTensor, training: true)
        try op.backward([x.valueTensor], output: out.valueTensor, outGrad: up.valueTensor, into: [x.gradTensor])
        return (out.value[0], Array(UnsafeBufferPointer(start: x.grad, count: x.count)))
    }

    // transforms §13c: predictions [[.9,.1],[.8,.2],[.7,.3]] → h̄ = (0.8, 0.2), R_A = 0.91629, R_H = 0.47878.
    @Test func catalogueExampleAndGradients() throws {
        let z = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3].map { log($0) }
        #expect(abs(try run(BatchPriorOp(scale: 1), z, k: 2).0 - 0.91629) < 1e-5)
        #expect(abs(try run(SoftmaxEntropyOp(scale: 0.4), z, k: 2).0 - 0.4 * 0.47878) < 1e-5)
        var rng = RNG(seed: 2)
        let w = (0..<12).map { _ in rng.normal() }
        for op in [BatchPriorOp(scale: 0.8), SoftmaxEntropyOp(scale: 0.4)] as [GraphOp] {
            let g = try run(op, w, k: 3).1
            for i in 0..<12 {
                var up = w, down = w
                up[i] += 1e-6; down[i] -= 1e-6
                let fd = (try run(op, up, k: 3).0 - run(op, down, k: 3).0) / 2e-6
                #expect(abs(fd - g[i]) < 1e-7, "\(op.label) \(i)")
            }
        }
    }

    @Test func stratifiedShareAndMinimumPerBatch() {
        let pl = PseudoLabelMixup(labeledShare: 0.25, minLabeled: 3)
        var rng = RNG(seed: 1)
        let labels = (0..<40).map { $0 % 4 }  // 10 per class → ⌈2.5⌉ = 3 labelled per class
        let keep = pl.labeled(labels, classes: 4, rng: &rng)
        #expect((0..<4).allSatisfy { c in labels.indices.filter { labels[$0] == c && keep[$0] }.count == 3 })
        let pool = labels.indices.filter { keep[$0] }
        var batch = labels.indices.filter { !keep[$0] }.prefix(5).map { $0 }
        pl.ensureLabeled(&batch, labeled: keep, pool: pool, rng: &rng)
        #expect(batch.count == 5 && batch.filter { keep[$0] }.count == 3)
    }

    @Test func trains() throws {
        let t = TrainerTests()
        let r = try Trainer.run(train: t.blobs(150, seed: 3), test: t.blobs(60, seed: 4),
                                config: t.config { $0.transforms = ["pseudo_label_mixup:labeled_share=0.2,warmup=2,min_labeled=4"] })
        #expect(r.test.accuracy > 0.8 && r.finalLoss.isFinite, "\(r.test.accuracy)")
        #expect(throws: RegulaError.self) {
            try Trainer.run(train: t.blobs(30, seed: 3), test: t.blobs(30, seed: 4),
                            config: t.config { $0.transforms = ["pseudo_label_mixup", "mixup"] })
        }
    }
}
