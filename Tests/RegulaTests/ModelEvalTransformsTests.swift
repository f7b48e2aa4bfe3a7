// The model-evaluation transforms (lipschitz_generator, surrogate_gradient_norm) and the
// stochastic layers under their catalogue ids (gaussian_noise, gaussian_dropout, quant_noise).

#if canImport(Glibc)
import Glibc
#endif
import Testing
import Regula
import RegulaEngine

private func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * Swift.max(1, abs($1)) }
}

/// |a_i − b_i| ≤ rel·|b_i| (for the 1e-6-sized penalty gradients, where `close` is too loose).
private func relativelyClose(_ a: [Double], _ b: [Double], _ rel: Double) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= rel * abs($1) }
}

private func values(_ s: ParameterSlot) -> [Double] { Array(UnsafeBufferPointer(start: s.value, count: s.count)) }
private func grads(_ s: ParameterSlot) -> [Double] { Array(UnsafeBufferPointer(start: s.grad, count: s.count)) }

// MARK: lipschitz_generator

/// A conditional generator G(z, y) = W2·tanh(Wz z + Wy y + b) + b2 evaluated at y and y′ with
/// the same z and parameters, and the Lipschitz term on the two outputs (objective term 1 after
/// an optional regression term 0).
private struct ConditionalGenerator {
    let g: Graph
    let z: NodeRef, y: NodeRef, y2: NodeRef, target: NodeRef
    let out: NodeRef, out2: NodeRef
    let op: LipschitzGeneratorOp

    init(latent: Int, conditions: Int, hidden: Int, outputs: Int, op: LipschitzGeneratorOp, regression: Bool,
         conditionGradients: Bool = false, seed: UInt64) throws {
        g = Graph(seed: seed)
        z = g.input(cols: latent)
        y = g.input(cols: conditions, gradient: conditionGradients)
        y2 = g.input(cols: conditions, gradient: conditionGradients)
        target = g.input(cols: outputs)
        let wz = g.parameter("wz", shape: [hidden, latent], .xavierNormal)
        let wy = g.parameter("wy", shape: [hidden, conditions], .xavierNormal)
        let b = g.parameter("b", shape: [hidden], .normal(std: 0.1))
        let w2 = g.parameter("w2", shape: [outputs, hidden], .xavierNormal)
        let b2 = g.parameter("b2", shape: [outputs], .zeros)
        let g = g, z = z
        func generator(_ c: NodeRef) throws -> NodeRef {
            let h = g.activation(try g.add(try g.linear(z, wz, b), try g.linear(c, wy)), .tanh)
            return try g.linear(h, w2, b2)
        }
        out = try generator(y); out2 = try generator(y2)
        if regression { try g.minimize(try g.custom(SquaredDifferenceOp(scale: 1), [out, target])) }
        self.op = op
        try g.minimize(try g.custom(op, [out, out2, y, y2]))
    }

    func feed(z zs: [Double], y ys: [Double], y2 ys2: [Double], target t: [Double]? = nil) throws {
        let rows = ys.count / g.shape(y).cols
        try g.feed([z: zs, y: ys, y2: ys2, target: t ?? [Double](repeating: 0, count: rows * g.shape(target).cols)])
    }
}

@Suite struct LipschitzGeneratorTests {
    /// penalties_matrix §19: G(z, y) = tanh(z + W_y y), W_y = (2, 1)ᵀ, z = (0.1, −0.2), y = 0.5,
    /// y′ = 0.6 → 1.077256.
    func catalogueGraph(_ spec: String) throws -> Double {
        let op = try TransformCatalog.graphOp(spec)
        let g = Graph(seed: 0)
        let z = g.input(cols: 2), y = g.input(cols: 1), y2 = g.input(cols: 1)
        let w = g.parameter("w_y", shape: [2, 1], .zeros)
        g.parameters[0].value[0] = 2; g.parameters[0].value[1] = 1
        let a = g.activation(try g.add(z, try g.linear(y, w)), .tanh), b = g.activation(try g.add(z, try g.linear(y2, w)), .tanh)
        try g.minimize(try g.custom(op, [a, b, y, y2]))
        try g.feed([z: [0.1, -0.2], y: [0.5], y2: [0.6]])
        return try g.forward()
    }

    @Test func catalogueExample() throws {
        #expect(abs(try catalogueGraph("lipschitz_generator") - 1.077256) < 1e-6)
        #expect(abs(try catalogueGraph("lipschitz_generator:strength=0.5") - 0.538628) < 1e-6)
    }

    /// Parameter and condition gradients of the term (shared parameters at y and y′) against
    /// float64 central differences of the whole graph, with one skipped pair in the batch.
    @Test(arguments: [UInt64(1), 2, 3])
    func gradientMatchesCentralDifferences(_ seed: UInt64) throws {
        let m = try ConditionalGenerator(latent: 2, conditions: 2, hidden: 3, outputs: 2, op: try LipschitzGeneratorOp(strength: 0.7),
                                         regression: false, conditionGradients: true, seed: seed)
        var rng = RNG(seed: seed &+ 100)
        let rows = 4
        let zs = (0..<rows * 2).map { _ in rng.normal() }
        let ys = (0..<rows * 2).map { _ in rng.normal() }
        var ys2 = ys.map { $0 + 0.3 * rng.normal() }
        ys2[2] = ys[2]; ys2[3] = ys[3]  // row 1: y′ = y, skipped
        try m.feed(z: zs, y: ys, y2: ys2)
        _ = try m.g.valueAndGradient()
        #expect(m.op.keptPairs == 3)
        func objective() throws -> Double { try m.g.forward() }
        let h = 1e-6
        for slot in m.g.parameters {
            let analytic = grads(slot)
            for i in 0..<slot.count {
                let w0 = slot.value[i]
                slot.value[i] = w0 + h; let up = try objective()
                slot.value[i] = w0 - h; let down = try objective()
                slot.value[i] = w0
                #expect(abs((up - down) / (2 * h) - analytic[i]) < 1e-7 * Swift.max(1, abs(analytic[i])), "\(slot.name)[\(i)]")
            }
        }
        let gy = Array(m.g.gradient(m.y).buffer), gy2 = Array(m.g.gradient(m.y2).buffer)
        for (node, analytic, base) in [(m.y, gy, ys), (m.y2, gy2, ys2)] {
            for i in 0..<base.count where i / 2 != 1 {  // the skipped pair is not differentiable there
                var plus = base, minus = base
                plus[i] += h; minus[i] -= h
                let other = node == m.y ? ys2 : ys
                try m.feed(z: zs, y: node == m.y ? plus : other, y2: node == m.y ? other : plus)
                let up = try objective()
                try m.feed(z: zs, y: node == m.y ? minus : other, y2: node == m.y ? other : minus)
                let down = try objective()
                #expect(abs((up - down) / (2 * h) - analytic[i]) < 1e-7 * Swift.max(1, abs(analytic[i])), "condition [\(i)]")
            }
            #expect(analytic[2] == 0 && analytic[3] == 0)
        }
    }

    @Test func skippedPairsLeaveTheMeanAndTheGradient() throws {
        let op = try LipschitzGeneratorOp()
        let a = NDArray<Double>(shape: [3, 2], [1, 2, 0, 0, 5, 5]), b = NDArray<Double>(shape: [3, 2], [1, 0, 3, 4, 4, 5])
        let y = NDArray<Double>(shape: [3, 1], [0, 1, 2]), y2 = NDArray<Double>(shape: [3, 1], [0.5, 1 + 1e-9, 2])
        let out = NDArray<Double>(shape: [1])
        try op.forward([a.tensor, b.tensor, y.tensor, y2.tensor], into: out.tensor, training: true)
        // only row 0 is kept: ‖(0, 2)‖/0.5 = 4
        #expect(out[0] == 4 && op.keptPairs == 1)
        let ga = NDArray<Double>(shape: [3, 2]), gb = NDArray<Double>(shape: [3, 2])
        let gy = NDArray<Double>(shape: [3, 1]), gy2 = NDArray<Double>(shape: [3, 1])
        try op.backward([a.tensor, b.tensor, y.tensor, y2.tensor], output: out.tensor, outGrad: NDArray<Double>(shape: [1], [1]).tensor,
                        into: [ga.tensor, gb.tensor, gy.tensor, gy2.tensor])
        #expect(ga.values == [0, 2, 0, 0, 0, 0] && gb.values == [0, -2, 0, 0, 0, 0])  // (0, 2)/(2·0.5)
        #expect(gy.values == [8, 0, 0] && gy2.values == [-8, 0, 0])  // −2·(−0.5)/0.125
        let none = NDArray<Double>(shape: [3, 1], [0, 1, 2])
        try op.forward([a.tensor, b.tensor, y.tensor, none.tensor], into: out.tensor, training: true)
        #expect(out[0] == 0 && op.keptPairs == 0)
    }

    @Test func batchNearestNeighbours() throws {
        var rng = RNG(seed: 4)
        let y = [0, 0.1, 0.5, 2, 0]
        // distinct conditions only; the tie of row 1 (rows 0 and 4 at 0.1) goes to the lower index
        #expect(try ConditionNeighbors.batchKNN(y, cols: 1, k: 1, rng: &rng) == [0.1, 0, 0.1, 0.5, 0.1])
        var a = RNG(seed: 9), b = RNG(seed: 9)
        let two = try ConditionNeighbors.batchKNN(y, cols: 1, k: 2, rng: &a)
        let nearest: [[Double]] = [[0.1, 0.5], [0, 0], [0.1, 0], [0.5, 0.1], [0.1, 0.5]]
        #expect(two == nearest.map { $0[b.below(2)] })
        #expect(Set(two).count > 1 || two != nearest.map { $0[0] })
        // 2-D conditions, and a batch of one (no other condition: y′ = y)
        #expect(try ConditionNeighbors.batchKNN([0, 0, 3, 4, 1, 1], cols: 2, k: 1, rng: &rng) == [1, 1, 1, 1, 0, 0])
        #expect(try ConditionNeighbors.batchKNN([0.3], cols: 1, k: 1, rng: &rng) == [0.3])
        #expect(throws: RegulaError.self) { try ConditionNeighbors.batchKNN([0, 1, 2], cols: 2, k: 1, rng: &rng) }
    }

    @Test func perturbation() throws {
        let y = [0.0, 1, 2, 3]  // population std √1.25
        var a = RNG(seed: 5), b = RNG(seed: 5)
        let p = try ConditionNeighbors.perturb(y, cols: 2, scale: 0.05, rng: &a)
        let s = 0.05 * 1.25.squareRoot()
        #expect(close(p, y.map { $0 + s * b.normal() }, 1e-15))
        #expect(try ConditionNeighbors.perturb([0.2, 0.2], cols: 1, scale: 0.05, rng: &a) == [0.2, 0.2])
        let op = try TransformCatalog.graphOp("lipschitz_generator:neighbor=perturb,scale=0.1") as? LipschitzGeneratorOp
        var c = RNG(seed: 6), d = RNG(seed: 6)
        #expect(try op?.neighbors(y, cols: 1, rng: &c) == ConditionNeighbors.perturb(y, cols: 1, scale: 0.1, rng: &d))
    }

    @Test func buildsByNameOnly() throws {
        let op = try #require(try TransformCatalog.graphOp("lipschitz_generator:strength=2,k=3") as? LipschitzGeneratorOp)
        #expect(op.strength == 2 && op.k == 3 && op.neighbor == .batchKNN && op.scale == 0.05)
        #expect(throws: RegulaError.self) { try TransformCatalog.graphOp("lipschitz_generator:k=0") }
        #expect(throws: RegulaError.self) { try TransformCatalog.graphOp("lipschitz_generator:neighbour=perturb") }
        #expect(throws: RegulaError.self) { try TransformCatalog.graphOp("sam") }
        do {
            _ = try TransformCatalog.make("lipschitz_generator")
            Issue.record("the trainer's builder accepted a generator term")
        } catch RegulaError.unsupported(let m) { #expect(m.contains("graph op")) }
        #expect(throws: RegulaError.self) { try TransformCatalog.make("lipschitz_generator:strength=-1") }
    }

    /// Regression of x = sin(4y) + 0.1·z with a conditional generator: the Lipschitz term (perturb
    /// neighbours) lowers the measured ratio ‖G(z, y) − G(z, y′)‖/‖y − y′‖ against λ = 0, more
    /// with a larger λ (which trades the fit for it).
    @Test func penaltyLowersTheLipschitzRatio() throws {
        func train(_ lambda: Double) throws -> (ratio: Double, mse: Double) {
            let m = try ConditionalGenerator(latent: 1, conditions: 1, hidden: 16, outputs: 1,
                                             op: try LipschitzGeneratorOp(neighbor: .perturb), regression: true, seed: 7)
            let stepper = Stepper(params: m.g.parameters, optimizer: try Optimizer(.adam(beta1: 0.9, beta2: 0.999, eps: 1e-8)),
                                  schedule: Schedule(base: 0.02))
            var rng = RNG(seed: 11)
            func batch(_ n: Int) throws {
                let ys = (0..<n).map { _ in 2 * rng.uniform() - 1 }, zs = (0..<n).map { _ in rng.normal() }
                let ys2 = try m.op.neighbors(ys, cols: 1, rng: &m.g.rng)
                try m.feed(z: zs, y: ys, y2: ys2, target: zip(ys, zs).map { sin(4 * $0) + 0.1 * $1 })
            }
            for _ in 0..<400 {
                try batch(64)
                try stepper.step { try Trainer.objective(m.g, weights: [1, lambda]) }
            }
            try batch(512)
            _ = try m.g.forward()
            let terms = m.g.objectiveTerms
            return (terms[1], terms[0])
        }
        let free = try train(0), mild = try train(0.1), strong = try train(1)
        // measured here: ratio 2.55 / 1.59 / 0.004, mse 0.016 / 0.076 / 0.44
        #expect(free.mse < 0.05, "λ = 0 did not fit: mse \(free.mse)")
        #expect(mild.ratio < 0.8 * free.ratio && mild.mse < 0.15, "λ = 0.1: \(mild) vs \(free)")
        #expect(strong.ratio < 0.1 * free.ratio, "λ = 1: \(strong) vs \(free)")
    }
}

// MARK: surrogate_gradient_norm

/// penalties_matrix §20: f_β(x) = tanh(xᵀβ), X = [[1, 2], [0, 1], [2, −1]], β = (0.5, −0.3).
private struct Surrogate {
    static let x: [[Double]] = [[1, 2], [0, 1], [2, -1]]
    let beta = ParameterSlot(name: "beta", shape: [2])
    /// Term 0 (task): ½‖β − c‖² (c = nil: the zero task); term 1: G_B(β) = mean tanh(xᵀβ).
    var center: [Double]? = nil

    init(_ b: [Double] = [0.5, -0.3], center: [Double]? = nil) {
        beta.value[0] = b[0]; beta.value[1] = b[1]; self.center = center
    }

    static func gradG(_ b: [Double]) -> [Double] {
        var g = [0.0, 0.0]
        for r in x { let t = tanh(r[0] * b[0] + r[1] * b[1]); for j in 0..<2 { g[j] += (1 - t * t) * r[j] / 3 } }
        return g
    }

    /// The exact λρ·Hg/‖g‖, H = mean −2t(1 − t²)xxᵀ.
    static func exactPenaltyGradient(_ b: [Double], lambda: Double, rho: Double) -> [Double] {
        let g = gradG(b), n = (g[0] * g[0] + g[1] * g[1]).squareRoot()
        var hg = [0.0, 0.0]
        for r in x {
            let t = tanh(r[0] * b[0] + r[1] * b[1]), c = -2 * t * (1 - t * t) * (r[0] * g[0] + r[1] * g[1]) / 3
            for j in 0..<2 { hg[j] += c * r[j] }
        }
        return hg.map { lambda * rho * $0 / n }
    }

    func evaluate(_ seeds: [Double]) -> Double {
        let b = values(beta), gG = Self.gradG(b)
        var value = seeds[1] * Self.x.reduce(0) { $0 + tanh($1[0] * b[0] + $1[1] * b[1]) } / 3
        for j in 0..<2 {
            let d = center.map { b[j] - $0[j] } ?? 0
            beta.grad[j] = seeds[0] * d + seeds[1] * gG[j]
            value += seeds[0] * 0.5 * d * d
        }
        return value
    }
}

@Suite struct SurrogateGradientNormTests {
    @Test func catalogueExample() throws {
        let s = Surrogate()
        let w = try SurrogateGradientNorm(.ignite, lambda: 1e-3, rho: 0.05, r: 0.05)
        var calls = 0
        _ = try w.gradient([s.beta], terms: 2) { calls += 1; return s.evaluate($0) }
        #expect(calls == 3)
        #expect(abs(w.lastNorm - 1.012313) < 1e-6)
        #expect(relativelyClose(grads(s.beta), [1.46233e-6, 1.47072e-5], 1e-5))  // the zero task: the penalty gradient alone
        #expect(abs(w.lambda - 0.000950616) < 1e-9)
        #expect(values(s.beta) == [0.5, -0.3])  // β restored exactly
    }

    @Test func finiteDifferenceConvergesToTheHessianVectorProduct() throws {
        let exact = Surrogate.exactPenaltyGradient([0.5, -0.3], lambda: 1e-3, rho: 0.05)
        #expect(relativelyClose(exact, [5.53229e-6, 2.33123e-5], 1e-5))
        var errors: [Double] = []
        for (r, expected) in [(1e-3, [5.45260e-6, 2.31440e-5] as [Double]?), (1e-4, nil), (1e-6, nil)] {
            let s = Surrogate()
            _ = try SurrogateGradientNorm(.ignite, lambda: 1e-3, rho: 0.05, r: r).gradient([s.beta], terms: 2, s.evaluate)
            let got = grads(s.beta)
            if let expected { #expect(relativelyClose(got, expected, 1e-5)) }
            errors.append(zip(got, exact).map { abs($0 - $1) }.max()!)
        }
        #expect(errors[1] < errors[0] / 5 && errors[2] < errors[1] / 50 && errors[2] < 1e-9, "\(errors)")  // O(r)
    }

    /// One SGD step (lr 0.1) with the task ½‖β − c‖², by hand: β′ = β − 0.1·(β − c + λρ(ĝ − g)/r).
    @Test func handComputedStep() throws {
        let c = [1.0, 0.5], b = [0.5, -0.3]
        let s = Surrogate(b, center: c)
        guard case .wrapper(let w) = try TransformCatalog.make("surrogate_gradient_norm:lambda=0.1,rho=0.5,r=0.2") else {
            Issue.record("not a wrapper"); return
        }
        let stepper = Stepper(params: [s.beta], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                              schedule: Schedule(base: 0.1), wrapper: w)
        let loss = try stepper.step(terms: 2, termwise: s.evaluate)
        let g = Surrogate.gradG(b), n = (g[0] * g[0] + g[1] * g[1]).squareRoot()
        let gHat = Surrogate.gradG([b[0] + 0.2 * g[0] / n, b[1] + 0.2 * g[1] / n])
        var expected = [0.0, 0.0]
        for j in 0..<2 {
            let penalty: Double = 0.1 * 0.5 * (gHat[j] - g[j]) / 0.2
            expected[j] = b[j] - 0.1 * (b[j] - c[j] + penalty)
        }
        #expect(relativelyClose(values(s.beta), expected, 1e-14))
        #expect(abs(loss - 0.5 * (0.25 + 0.64)) < 1e-15)  // the task term at β, without G_B
        #expect(stepper.evaluations == 3)
        let sg = try #require(w as? SurrogateGradientNorm)
        #expect(abs(sg.lambda - (0.1 + 1e-3 * (0.5 * n - 0.1))) < 1e-15)
    }

    @Test func ignite2KeepsLambdaAndItsDefaults() throws {
        guard case .wrapper(let w) = try TransformCatalog.make("surrogate_gradient_norm:variant=ignite2"),
              let sg = w as? SurrogateGradientNorm else { Issue.record("not the wrapper"); return }
        #expect(sg.lambda == 0.01 && sg.rho == 0.2 && sg.r == 0.2)
        let s = Surrogate()
        _ = try sg.gradient([s.beta], terms: 2, s.evaluate)
        #expect(sg.lambda == 0.01)
        guard case .wrapper(let v) = try TransformCatalog.make("surrogate_gradient_norm:variant=ignite2,rho=0.1"),
              let given = v as? SurrogateGradientNorm else { Issue.record("not the wrapper"); return }
        #expect(given.rho == 0.1 && given.r == 0.2)
        guard case .wrapper(let d) = try TransformCatalog.make("surrogate_gradient_norm"), let ignite = d as? SurrogateGradientNorm else {
            Issue.record("not the wrapper"); return
        }
        #expect(ignite.lambda == 1e-3 && ignite.rho == 0.05 && ignite.r == 0.05 && ignite.etaLambda == 1e-3 && ignite.epsilon == 0.1)
        #expect(throws: RegulaError.self) { try TransformCatalog.make("surrogate_gradient_norm:r=0") }
    }

    /// A flat surrogate (∇G_B = 0): no perturbation, the task gradient alone; λ falls by η_λ·ε,
    /// clipped at 0 unless clip_nonneg=false.
    @Test func zeroSurrogateGradient() throws {
        let beta = ParameterSlot(name: "beta", shape: [2])
        beta.value[0] = 1; beta.value[1] = 2
        func evaluate(_ seeds: [Double]) -> Double {
            beta.grad[0] = seeds[0] * 3; beta.grad[1] = seeds[0] * -1
            return seeds[0] * 5 + seeds[1] * 7
        }
        let clipped = try SurrogateGradientNorm(lambda: 1e-5), free = try SurrogateGradientNorm(lambda: 1e-5, clipNonnegative: false)
        var calls = 0
        #expect(try clipped.gradient([beta], terms: 2) { calls += 1; return evaluate($0) } == 5)
        #expect(calls == 2 && grads(beta) == [3, -1] && values(beta) == [1, 2])
        #expect(clipped.lambda == 0 && clipped.lastNorm == 0)
        _ = try free.gradient([beta], terms: 2, evaluate)
        #expect(abs(free.lambda - (1e-5 - 1e-4)) < 1e-18)
    }

    @Test func singleCallbackIsRefused() throws {
        let s = Surrogate()
        let stepper = try OptimizerFactory.make(optimizer: "sgd", params: "lr=0.1", transforms: ["surrogate_gradient_norm"], slots: [s.beta])
        do {
            try stepper.step { s.evaluate([1, 1]) }
            Issue.record("a single callback drove a termwise wrapper")
        } catch GraphError.unsupported(let m) { #expect(m.contains("graph")) }
        #expect(values(s.beta) == [0.5, -0.3])
        #expect(throws: GraphError.self) { try stepper.step(terms: 1) { s.evaluate($0 + [0]) } }
    }

    /// Steppers without a termwise wrapper see the terms' sum through the termwise entry.
    @Test func otherWrappersSeeTheSum() throws {
        let a = Surrogate(center: [1, 0.5]), b = Surrogate(center: [1, 0.5])
        let one = Stepper(params: [a.beta], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)), schedule: Schedule(base: 0.1),
                          wrapper: SharpnessAware(.sam, rho: 0.05))
        let two = Stepper(params: [b.beta], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)), schedule: Schedule(base: 0.1),
                          wrapper: SharpnessAware(.sam, rho: 0.05))
        #expect(try one.step { a.evaluate([1, 1]) } == two.step(terms: 2, termwise: b.evaluate))
        #expect(values(a.beta) == values(b.beta) && two.evaluations == 2)
    }
}

// MARK: Stochastic layers under their catalogue ids

@Suite struct StochasticLayerIdTests {
    func model(_ spec: String, widths: [Int] = [2]) throws -> ModelSpec {
        guard case .model(let edit) = try TransformCatalog.make(spec) else { Issue.record("not a model edit"); return ModelSpec() }
        var m = ModelSpec(widths: widths)
        edit(&m)
        return m
    }

    /// A 2-2-2 classifier with fixed weights; returns it with h = relu(W x + b) of its one input row.
    func classifier(_ m: ModelSpec) throws -> (Classifier, h: [Double]) {
        let c = try Classifier(features: 2, classes: 2, model: m, loss: "softmax_cross_entropy", seed: 3)
        let p = c.graph.parameters  // layer0.weight, layer0.bias, output.weight, output.bias
        for (i, v) in [1.0, -0.5, 0.25, 2].enumerated() { p[0].value[i] = v }
        p[1].value[0] = 0.1; p[1].value[1] = -0.2
        for (i, v) in [0.5, -1, 1.5, 0.75].enumerated() { p[2].value[i] = v }
        p[3].value[0] = 0.05; p[3].value[1] = -0.05
        try c.graph.feed([c.x: [0.8, 0.4], c.y: [1]])
        return (c, [Swift.max(0.8 - 0.2 + 0.1, 0), Swift.max(0.2 + 0.8 - 0.2, 0)])
    }

    func logits(_ h: [Double]) -> [Double] { [0.05 + 0.5 * h[0] - h[1], -0.05 + 1.5 * h[0] + 0.75 * h[1]] }

    /// Train-mode logits against `noisy(h, rng)` with a copy of the graph's stream; eval-mode
    /// logits against the clean h.
    func expectLayer(_ m: ModelSpec, _ noisy: ([Double], inout RNG) -> [Double]) throws {
        let (c, h) = try classifier(m)
        var rng = c.graph.rng
        _ = try c.graph.forward()
        #expect(close(Array(c.graph.value(c.logits).buffer), logits(noisy(h, &rng)), 1e-14))
        c.graph.training = false
        _ = try c.graph.forward()
        #expect(close(Array(c.graph.value(c.logits).buffer), logits(h), 1e-14))
    }

    @Test func gaussianNoise() throws {
        let m = try model("gaussian_noise:sigma=0.3"), defaults = try model("gaussian_noise")
        #expect(m.gaussianNoise == 0.3 && defaults.gaussianNoise == 0.1)
        try expectLayer(m) { h, rng in h.map { $0 + 0.3 * rng.normal() } }
    }

    @Test func gaussianDropout() throws {
        let m = try model("gaussian_dropout:p=0.2"), defaults = try model("gaussian_dropout")
        #expect(m.gaussianDropout == 0.2 && defaults.gaussianDropout == 0.5)
        let s = (0.2 / 0.8).squareRoot()
        try expectLayer(m) { h, rng in h.map { $0 * (1 + s * rng.normal()) } }
        #expect(throws: RegulaError.self) { try TransformCatalog.make("gaussian_dropout:p=1") }
    }

    /// quant_noise on one weight tensor: fake_quant in both modes (transforms §12e: 8 bits,
    /// w = (0.1, −0.26, 0.5) → (0.09843, −0.25984, 0.5)); uniform_noise adds U(−s/2, s/2) in
    /// training only.
    @Test func quantNoise() throws {
        func run(_ spec: String, training: Bool) throws -> (out: [Double], rng: RNG) {
            let m = try model(spec)
            let g = Graph(seed: 2)
            let p = g.parameter("w", shape: [1, 3], .zeros)
            let q = try g.quantNoise(p, bits: try #require(m.quantBits), uniformNoise: m.quantUniformNoise)
            for (i, v) in [0.1, -0.26, 0.5].enumerated() { g.parameters[0].value[i] = v }
            g.training = training
            let before = g.rng
            _ = try g.forward()
            return (Array(g.value(q).buffer), before)
        }
        for training in [true, false] {
            #expect(close(try run("quant_noise", training: training).out, [0.09843, -0.25984, 0.5], 1e-4))
        }
        var (noisy, rng) = try run("quant_noise:mode=uniform_noise", training: true)
        let s = 0.5 / 127
        #expect(close(noisy, [0.1, -0.26, 0.5].map { $0 + (rng.uniform() - 0.5) * s }, 1e-15))
        noisy = try run("quant_noise:mode=uniform_noise", training: false).out
        #expect(noisy == [0.1, -0.26, 0.5])
        #expect((try model("quant_noise:bits=4")).quantBits == 4)
    }

    @Test func idsMatchTheCommandLineOptions() throws {
        let flags = ModelSpec(widths: [2], gaussianNoise: 0.1, gaussianDropout: 0.2, quantBits: 6)
        var ids = ModelSpec(widths: [2])
        for spec in ["gaussian_noise:sigma=0.1", "gaussian_dropout:p=0.2", "quant_noise:bits=6"] {
            guard case .model(let edit) = try TransformCatalog.make(spec) else { Issue.record("\(spec) is not a model edit"); return }
            edit(&ids)
        }
        #expect(ids.gaussianNoise == flags.gaussianNoise && ids.gaussianDropout == flags.gaussianDropout)
        #expect(ids.quantBits == flags.quantBits && ids.quantUniformNoise == flags.quantUniformNoise)
        let trainer = TrainerTests()
        let r = try Trainer.run(train: trainer.blobs(90, seed: 3), test: trainer.blobs(30, seed: 4),
                                config: trainer.config { $0.transforms = ["gaussian_noise:sigma=0.1", "gaussian_dropout:p=0.1", "quant_noise:bits=6"] })
        #expect(r.test.accuracy > 0.6 && r.finalLoss.isFinite)
    }

    @Test func newIdsPassTheirChecks() {
        for id in ["gaussian_noise", "gaussian_dropout", "quant_noise", "lipschitz_generator", "surrogate_gradient_norm"] {
            let results = Checker().run(id)
            #expect(results.count >= 4, "\(id)")
            for r in results where !r.passed { Issue.record("\(id): \(r.name): \(r.detail)") }
        }
    }
}
