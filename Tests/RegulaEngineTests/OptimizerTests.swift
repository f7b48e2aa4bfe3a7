// Each transform's update rule on a tiny model against a hand-computed step (catalogue
// transforms.md worked examples), plus the base optimizers and schedules.

import Testing
import RegulaEngine

/// One parameter tensor with the given values.
private func slot(_ values: [Double], name: String = "w", decay: Bool = true) -> ParameterSlot {
    let s = ParameterSlot(name: name, shape: values.count > 1 ? [1, values.count] : [values.count], decay: decay)
    for (i, v) in values.enumerated() { s.value[i] = v }
    return s
}

private func values(_ s: ParameterSlot) -> [Double] { Array(UnsafeBufferPointer(start: s.value, count: s.count)) }
private func grads(_ s: ParameterSlot) -> [Double] { Array(UnsafeBufferPointer(start: s.grad, count: s.count)) }

private func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-5) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * Swift.max(1, abs($1)) }
}

/// A gradient function that writes a fixed gradient.
private func fixed(_ g: [[Double]], _ params: [ParameterSlot]) -> () throws -> Double {
    { for (p, gp) in zip(params, g) { for i in 0..<p.count { p.grad[i] = gp[i] } }; return 0 }
}

/// L_i(w) = ½ (w − c)ᵀ H (w − c) with H = diag(h): fills the gradient, returns the loss.
private func quadratic(_ p: ParameterSlot, h: [Double], c: [Double] = [0, 0]) -> () throws -> Double {
    {
        var l = 0.0
        for i in 0..<p.count { let d = p.value[i] - c[i]; p.grad[i] = h[i] * d; l += 0.5 * h[i] * d * d }
        return l
    }
}

@Suite struct WeightDecayTests {
    // Catalogue §1: w = [1, −2], g = [0.5, 0.1], η = 0.1, λ = 0.1, first Adam step (d = sign g).
    @Test func adamwDecoupled() throws {
        let w = slot([1, -2])
        let s = Stepper(params: [w], optimizer: try Optimizer(.adam(beta1: 0.9, beta2: 0.999, eps: 1e-8)),
                        schedule: Schedule(base: 0.1), transforms: [DecoupledWeightDecay(lambda: 0.1)])
        try s.step(fixed([[0.5, 0.1]], [w]))
        #expect(close(values(w), [0.89, -2.08]))
    }

    @Test func adamWithL2InGradient() throws {
        let w = slot([1, -2])
        let s = Stepper(params: [w], optimizer: try Optimizer(.adam(beta1: 0.9, beta2: 0.999, eps: 1e-8)),
                        schedule: Schedule(base: 0.1), transforms: [L2Grad(lambda: 0.1)])
        try s.step(fixed([[0.5, 0.1]], [w]))
        #expect(close(values(w), [0.90, -1.90]))  // the decay reversed the second step
    }

    @Test func sgdCoupledEqualsDecoupled() throws {
        let a = slot([1, -2]), b = slot([1, -2])
        let sa = Stepper(params: [a], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                         schedule: Schedule(base: 0.1), transforms: [L2Grad(lambda: 0.1)])
        let sb = Stepper(params: [b], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                         schedule: Schedule(base: 0.1), transforms: [DecoupledWeightDecay(lambda: 0.1)])
        try sa.step(fixed([[0.5, 0.1]], [a])); try sb.step(fixed([[0.5, 0.1]], [b]))
        #expect(close(values(a), [0.94, -1.99]))
        #expect(close(values(b), [0.94, -1.99]))
    }

    @Test func decayMaskSkipsBiases() throws {
        let w = slot([1, -2], decay: false)
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 0.1), transforms: [DecoupledWeightDecay(lambda: 0.1), L2Grad(lambda: 0.1)])
        try s.step(fixed([[0.5, 0.1]], [w]))
        #expect(close(values(w), [0.95, -2.01]))
    }
}

@Suite struct ClipTests {
    // Catalogue §2: leaves [3, 4] and [12], global norm 13, c = 5.
    @Test func globalNorm() throws {
        let a = slot([0, 0]), b = slot([0])
        let clip = ClipGlobalNorm(maxNorm: 5)
        _ = try fixed([[3, 4], [12]], [a, b])()
        try clip.apply([a, b], StepContext(step: 0, lr: 1))
        #expect(close(grads(a), [1.15385, 1.53846]))
        #expect(close(grads(b), [4.61538]))
        #expect(abs(clip.lastNorm - 13) < 1e-12)
        // below the threshold: unchanged
        _ = try fixed([[0.3, 0.4], [1.2]], [a, b])()
        try clip.apply([a, b], StepContext(step: 0, lr: 1))
        #expect(grads(a) == [0.3, 0.4] && grads(b) == [1.2])
    }

    @Test func tensorNormAndValue() throws {
        let a = slot([0, 0]), b = slot([0])
        _ = try fixed([[3, 4], [12]], [a, b])()
        try ClipTensorNorm(maxNorm: 5).apply([a, b], StepContext(step: 0, lr: 1))
        #expect(close(grads(a), [3, 4]) && close(grads(b), [5]))
        _ = try fixed([[3, -4], [0.5]], [a, b])()
        try ClipValue(maxDelta: 1).apply([a, b], StepContext(step: 0, lr: 1))
        #expect(grads(a) == [1, -1] && grads(b) == [0.5])
    }
}

@Suite struct ProjectionTests {
    // Catalogue §7: w = (1, 0, 1), g = (1, 2, 3).
    @Test func perpGrad() throws {
        let w = slot([1, 0, 1])
        _ = try fixed([[1, 2, 3]], [w])()
        try PerpGrad(preserveNorm: true).apply([w], StepContext(step: 0, lr: 1))
        #expect(close(grads(w), [-1.52753, 3.05505, 1.52753]))
        _ = try fixed([[1, 2, 3]], [w])()
        try PerpGrad(preserveNorm: false).apply([w], StepContext(step: 0, lr: 1))
        #expect(close(grads(w), [-1, 2, 1]))
        // zero weights: the gradient is unchanged
        let z = slot([0, 0])
        _ = try fixed([[1, 2]], [z])()
        try PerpGrad().apply([z], StepContext(step: 0, lr: 1))
        #expect(close(grads(z), [1, 2]))
    }

    @Test func gradNoiseFollowsTheSchedule() throws {
        let w = slot([0, 0, 0])
        let t = GradNoise(eta: 0.01, gamma: 0.55, seed: 7)
        var rng = RNG(seed: 7)
        for step in 0..<3 {
            _ = try fixed([[1, 2, 3]], [w])()
            try t.apply([w], StepContext(step: step, lr: 1))
            let std = (0.01 / pow(Double(step + 1), 0.55)).squareRoot()
            let expected = [1.0, 2, 3].map { $0 + std * rng.normal() }
            #expect(close(grads(w), expected, 1e-12))
        }
    }
}

@Suite struct WrapperTests {
    // Catalogue §3: H = diag(1, 10), c₁ = (0.2, 0) (the batch), w = (1, 1), ρ = 0.1, η = 0.1.
    func run(_ wrapper: GradientWrapper) throws -> [Double] {
        let w = slot([1, 1])
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 0.1), wrapper: wrapper)
        try s.step(quadratic(w, h: [1, 10], c: [0.2, 0]))
        #expect(s.evaluations == 2)
        return values(w)
    }

    @Test func sam() throws { #expect(close(try run(SharpnessAware(.sam, rho: 0.1)), [0.9192, -0.09968], 1e-4)) }
    @Test func usam() throws { #expect(close(try run(SharpnessAware(.usam, rho: 0.1)), [0.912, -1.0])) }
    @Test func dnsamWithFullGradientNorm() throws {
        let full = (1.0 + 100.0).squareRoot()  // ‖(1, 10)‖, the full-batch gradient
        #expect(close(try run(SharpnessAware(.dnsam, rho: 0.1, fullGradNorm: { full })), [0.9192, -0.0995], 1e-4))
    }
    @Test func dnsamRunningEstimateStartsAtTheFirstGradient() throws {
        // buf = g on the first step: the first DNSAM step equals SAM's (up to the 1e-12).
        #expect(close(try run(SharpnessAware(.dnsam, rho: 0.1)), try run(SharpnessAware(.sam, rho: 0.1)), 1e-9))
    }

    // Catalogue §4: L = ½wᵀdiag(1, 10)w, w = (1, 1) one tensor, ε = 0.5, η = 0.1.
    @Test func amp() throws {
        let w = slot([1, 1])
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 0.1), wrapper: AdversarialModelPerturbation(epsilon: 0.5, innerLR: 1, innerIter: 1))
        try s.step(quadratic(w, h: [1, 10]))
        #expect(close(values(w), [0.89502, -0.49752]))
    }

    @Test func ampBallIsPerTensor() throws {
        let a = slot([1]), b = slot([1])
        let wrapper = AdversarialModelPerturbation(epsilon: 0.5, innerLR: 1, innerIter: 1)
        var seen: [Double] = []
        _ = try wrapper.gradient([a, b]) {
            seen.append(a.value[0]); seen.append(b.value[0])
            a.grad[0] = a.value[0]; b.grad[0] = 10 * b.value[0]; return 0
        }
        // each tensor moves by ε = 0.5 along its own gradient (a global ball would not)
        #expect(close(seen, [1, 1, 1.5, 1.5]))
        #expect(a.value[0] == 1 && b.value[0] == 1)  // restored
    }

    // Catalogue §5: γ = 0.05, ε = 0.1, quadratic diag(1, 10), w = (1, 1): F-GR = g + γHg exactly.
    @Test func finiteDifferenceGradReg() throws {
        let w = slot([1, 1])
        let f = FiniteDifferenceGradReg(gamma: 0.05, epsilon: 0.1)
        _ = try f.gradient([w], quadratic(w, h: [1, 10]))
        #expect(close(grads(w), [1.05, 15]))
        #expect(values(w) == [1, 1])
        let b = FiniteDifferenceGradReg(gamma: 0.05, epsilon: 0.1, backward: true)
        _ = try b.gradient([w], quadratic(w, h: [1, 10]))
        #expect(close(grads(w), [1.05, 15]))  // exact for quadratics too
    }
}

@Suite struct OptimizerTests {
    @Test func sgdMomentumAndNesterov() throws {
        let g = [[1.0]]
        let a = slot([0]), b = slot([0])
        let sa = Stepper(params: [a], optimizer: try Optimizer(.sgd(momentum: 0.9, nesterov: false)), schedule: Schedule(base: 1))
        let sb = Stepper(params: [b], optimizer: try Optimizer(.sgd(momentum: 0.9, nesterov: true)), schedule: Schedule(base: 1))
        for _ in 0..<2 { try sa.step(fixed(g, [a])); try sb.step(fixed(g, [b])) }
        // torch: buf₁ = 1, buf₂ = 1.9; plain: −(1 + 1.9); Nesterov: −(1.9 + 2.71)
        #expect(close(values(a), [-2.9]))
        #expect(close(values(b), [-4.61]))
    }

    @Test func adamBiasCorrection() throws {
        let w = slot([0])
        let s = Stepper(params: [w], optimizer: try Optimizer(.adam(beta1: 0.9, beta2: 0.999, eps: 0)), schedule: Schedule(base: 1))
        try s.step(fixed([[2]], [w]))
        try s.step(fixed([[-1]], [w]))
        // m = 0.1·2·0.9 − 0.1 = 0.08, v = 0.001·4·0.999 + 0.001 = 0.004996
        let m = 0.08 / (1 - 0.81), v = 0.004996 / (1 - 0.998001)
        #expect(close(values(w), [-1 - m / v.squareRoot()], 1e-9))
    }

    @Test func schedules() {
        let c = Schedule(base: 1, decay: .cosine(minFactor: 0), warmup: 2, total: 12)
        #expect(abs(c.rate(at: 0) - 0.5) < 1e-12 && abs(c.rate(at: 1) - 1) < 1e-12)
        #expect(abs(c.rate(at: 2) - 1) < 1e-12 && abs(c.rate(at: 7) - 0.5) < 1e-12 && abs(c.rate(at: 12)) < 1e-12)
        let s = Schedule(base: 1, decay: .step(every: 3, gamma: 0.1))
        #expect(s.rate(at: 2) == 1 && abs(s.rate(at: 3) - 0.1) < 1e-15)
    }

    @Test func badSettingsAreErrors() {
        #expect(throws: (any Error).self) { try Optimizer(.sgd(momentum: 1, nesterov: false)) }
        #expect(throws: (any Error).self) { try Optimizer(.adam(beta1: 1, beta2: 0.9, eps: 1e-8)) }
    }

    @Test func transformsRunInStageOrder() throws {
        // clip given before l2_grad still runs after it: g = 0 + λw = 10 → clipped to 1.
        let w = slot([10])
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)), schedule: Schedule(base: 1),
                        transforms: [ClipValue(maxDelta: 1), L2Grad(lambda: 1)])
        try s.step(fixed([[0]], [w]))
        #expect(values(w) == [9])
    }
}

#if canImport(Glibc)
import Glibc
#endif

@Suite struct PostStepTests {
    // Catalogue §9: pr = 0.5, β = 0.95.
    @Test func issP() throws {
        let w = slot([0.9, -0.05, 0.3, 0.01, -0.6, 0.02])
        let t = IterativeShrink(ratio: 0.5, beta: 0.95)
        try t.apply([w], StepContext(step: 0, lr: 1))
        #expect(close(values(w), [0.9, -0.0475, 0.3, 0.0095, -0.6, 0.019], 1e-12))
        for _ in 1..<100 { try t.apply([w], StepContext(step: 0, lr: 1)) }
        #expect(close(values(w), [0.9, -2.96e-4, 0.3, 5.92e-5, -0.6, 1.184e-4], 2e-3))
        let h = slot([0.9, -0.05, 0.3, 0.01, -0.6, 0.02])
        try IterativeShrink(ratio: 0.5, beta: 0).apply([h], StepContext(step: 0, lr: 1))
        #expect(values(h) == [0.9, 0, 0.3, 0, -0.6, 0])
        let bias = slot([0.01, 1], decay: false)
        try IterativeShrink(ratio: 0.5, beta: 0).apply([bias], StepContext(step: 0, lr: 1))
        #expect(values(bias) == [0.01, 1])  // vectors are not pruned
    }

    // Catalogue §16b: top-1 of v = (0.49, −0.03, 0.12) → (0.49, 0, 0); per row.
    @Test func rowTopK() throws {
        let w = ParameterSlot(name: "w", shape: [2, 3])
        for (i, v) in [0.49, -0.03, 0.12, -1, 2, 2].enumerated() { w.value[i] = v }
        try RowTopKProjection(k: 1).apply([w], StepContext(step: 0, lr: 1))
        #expect(values(w) == [0.49, 0, 0, 0, 2, 0])  // tie: the lower index stays
        let b = slot([3, 1, 2], decay: false)
        try RowTopKProjection(k: 1).apply([b], StepContext(step: 0, lr: 1))
        #expect(values(b) == [3, 1, 2])
    }

    // Catalogue §8: norm fixed at 5, w = (3, 4), g = (1, 0), SGD η = 0.5.
    @Test func lawn() throws {
        let w = slot([3, 4])
        let lawn = LogitAttenuatingWeightNorm(warmupSteps: 0, lastOnly: true)
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 0.5), transforms: lawn.transforms)
        try s.step(fixed([[1, 0]], [w]))
        #expect(close(values(w), [2.67146, 4.22650]))
        #expect(abs(Kernels.sumOfSquares(w.value, count: 2).squareRoot() - 5) < 1e-12)
    }

    @Test func lawnFreePhase() throws {
        let w = slot([3, 4])
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 0.5), transforms: LogitAttenuatingWeightNorm(warmupSteps: 1, lastOnly: false).transforms)
        try s.step(fixed([[1, 0]], [w]))  // free: a plain step
        #expect(close(values(w), [2.5, 4]))
        let r = Kernels.sumOfSquares(w.value, count: 2).squareRoot()
        try s.step(fixed([[1, 0]], [w]))  // constrained from here: the norm stays r
        #expect(abs(Kernels.sumOfSquares(w.value, count: 2).squareRoot() - r) < 1e-12)
    }
}
