// Weight reparameterisations (weight conditioning, SMCP soft masks, channelwise AutoSparse),
// LAWN's §21 options and the DE-ELBo wrapper against hand-computed values and steps.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import RegulaEngine

private func slot(_ values: [Double], shape: [Int], name: String = "w", decay: Bool = true) -> ParameterSlot {
    let s = ParameterSlot(name: name, shape: shape, decay: decay)
    for (i, v) in values.enumerated() { s.value[i] = v }
    return s
}

private func array(_ p: UnsafeMutablePointer<Double>, _ n: Int) -> [Double] { Array(UnsafeBufferPointer(start: p, count: n)) }

private func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * Swift.max(1, abs($1)) }
}

/// Runs an op's forward and backward on a parameter tensor with the upstream gradient `dy`:
/// (output, input gradient).
private func run(_ op: GraphOp, _ inputs: [ParameterSlot], dy: [Double]) throws -> ([Double], [[Double]]) {
    let out = slot([Double](repeating: 0, count: inputs[0].count), shape: inputs[0].shape)
    let up = slot(dy, shape: inputs[0].shape)
    try op.forward(inputs.map(\.valueTensor), into: out.valueTensor, training: true)
    try op.backward(inputs.map(\.valueTensor), output: out.valueTensor, outGrad: up.valueTensor, into: inputs.map(\.gradTensor))
    return (array(out.value, out.count), inputs.map { array($0.grad, $0.count) })
}

@Suite struct WeightConditioningTests {
    // penalties_matrix §10: W = [[3,0],[4,5]] → W_c = [[1,0],[0.624695,0.780869]], κ 3 → 2.080625.
    @Test func catalogueExampleAndHandGradient() throws {
        let w = slot([3, 0, 4, 5], shape: [2, 2])
        let (y, g) = try run(WeightConditioning(), [w], dy: [1, 2, 3, 4])
        #expect(close(y, [1, 0, 0.624695, 0.780869]))
        // (I − c cᵀ) G_i / ‖w_i‖ by hand: row 0 (0, 2)/3; row 1 (3 − 3.121951, 4 − 3.902439)/√41
        #expect(close(g[0], [0, 0.666667, -0.0190456, 0.0152365], 1e-5))
        // 2×2 singular values: σ1σ2 = |det|, σ1² + σ2² = ‖·‖_F²
        let det = abs(y[0] * y[3] - y[1] * y[2]), f2 = y.reduce(0) { $0 + $1 * $1 }
        let disc = (f2 * f2 - 4 * det * det).squareRoot()
        #expect(abs(((f2 + disc) / (f2 - disc)).squareRoot() - 2.080625) < 1e-5)
    }

    @Test func zeroRowStaysZero() throws {
        let w = slot([0, 0, 1, 1], shape: [2, 2])
        let (y, g) = try run(WeightConditioning(), [w], dy: [1, 1, 1, 1])
        #expect(y[0] == 0 && y[1] == 0 && g[0][0] == 0 && g[0][1] == 0)
        #expect(y.allSatisfy(\.isFinite) && g[0].allSatisfy(\.isFinite))
    }

    @Test func gradientMatchesCentralDifferences() throws {
        var rng = RNG(seed: 7)
        let values = (0..<12).map { _ in rng.normal() }, dy = (0..<12).map { _ in rng.normal() }
        let w = slot(values, shape: [3, 4])
        let (_, g) = try run(WeightConditioning(), [w], dy: dy)
        for i in 0..<12 {
            func f(_ h: Double) throws -> Double {
                let p = slot(values, shape: [3, 4]); p.value[i] += h
                let (y, _) = try run(WeightConditioning(), [p], dy: dy)
                return zip(y, dy).reduce(0) { $0 + $1.0 * $1.1 }
            }
            let fd = (try f(1e-6) - f(-1e-6)) / 2e-6
            #expect(abs(fd - g[0][i]) < 1e-7)
        }
    }
}

@Suite struct SoftChannelMaskTests {
    // transforms §15: W = [[0.5,−0.1,0.3],[0.4,0.05,−0.2]] → importances (0.9, 0.15, 0.5); keep 2.
    @Test func catalogueExample() throws {
        let w = slot([0.5, -0.1, 0.3, 0.4, 0.05, -0.2], shape: [2, 3])
        let op = SoftChannelMask(prunedDecay: 2e-4)
        op.rewire(w.valueTensor, ratio: 1.0 / 3)
        #expect(op.mask == [1, 0, 1])
        let (y, g) = try run(op, [w], dy: [Double](repeating: 1, count: 6))
        #expect(y == [0.5, 0, 0.3, 0.4, 0, -0.2])
        // straight-through: every entry gets the upstream 1; the pruned column also 2e-4·W
        #expect(close(g[0], [1, 1 - 2e-5, 1, 1, 1 + 1e-5, 1], 1e-12))
    }

    @Test func beforeTheFirstRewireNothingIsMasked() throws {
        let w = slot([1, -2, 3, 4], shape: [2, 2])
        let (y, _) = try run(SoftChannelMask(), [w], dy: [0, 0, 0, 0])
        #expect(y == [1, -2, 3, 4])
    }

    @Test func tiesKeepTheLowerIndex() throws {
        let op = SoftChannelMask()
        op.rewire(slot([1, -1, 1, 0.5], shape: [1, 4]).valueTensor, ratio: 0.5)
        #expect(op.mask == [1, 1, 0, 0])
    }
}

@Suite struct ChannelwiseAutoSparseTests {
    // penalties_sparsity §20: per-row s = [−5, −1] on W0 → [[0.993307, −1.993307], [0.231059, 0]].
    @Test func catalogueExampleAndRowGradient() throws {
        let w = slot([1, -2, 0.5, 0], shape: [2, 2]), s = slot([-5, -1], shape: [2], decay: false)
        let op = AutoSparseThreshold(alpha: 0.375)
        let (y, g) = try run(op, [w, s], dy: [1, 1, 1, 1])
        #expect(close(y, [0.993307, -1.993307, 0.231059, 0]))
        #expect(close(g[0], [1, 1, 1, 0.375], 1e-12))  // the masked 0 keeps α of its gradient
        let t0 = 1 / (1 + exp(5.0)), t1 = 1 / (1 + exp(1.0))
        // ∂L/∂s_r = −Σ_row sign(w)·factor·τ(1−τ): row 0 (+1 − 1) = 0, row 1 (+1 + 0)
        #expect(t0 > 0 && close(g[1], [0, -t1 * (1 - t1)], 1e-12))
    }

    @Test func thresholdCountMustBeOneOrRows() {
        #expect(throws: GraphError.self) {
            try AutoSparseThreshold(alpha: 0).outputShape([NodeShape(rows: .fixed(2), cols: 2, exact: [2, 2]),
                                                           NodeShape(rows: .fixed(3), cols: 1, exact: [3])])
        }
    }
}

@Suite struct LawnProjectionTests {
    // penalties_matrix §21: W = [[3,4],[1,2]] renormalised to c = 2 → [[1.095445, 1.460593], [0.365148, 0.730297]].
    @Test func catalogueProjection() throws {
        let target = [3.0, 4, 1, 2], c0 = 2 / 30.0.squareRoot()
        let w = slot(target.map { $0 * c0 }, shape: [2, 2])  // norm 2 at the switch
        let lawn = LogitAttenuatingWeightNorm(warmupSteps: 0, lastOnly: false, tangent: false)
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 1), transforms: lawn.transforms)
        // g = w − target so that the plain step lands on the target before the renormalisation
        try s.step { for i in 0..<4 { w.grad[i] = w.value[i] - target[i] }; return 0 }
        #expect(close(array(w.value, 4), [1.095445, 1.460593, 0.365148, 0.730297]))
    }

    // Tangent projection of G = I at W = [[3,4],[1,2]]: [[0.5, −0.666667], [−0.166667, 0.666667]].
    @Test func catalogueTangent() throws {
        let w = slot([3, 4, 1, 2], shape: [2, 2])
        let lawn = LogitAttenuatingWeightNorm(warmupSteps: 0, lastOnly: false, tangent: true)
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 1e-3), transforms: lawn.transforms)
        try s.step { for (i, v) in [1.0, 0, 0, 1].enumerated() { w.grad[i] = v }; return 0 }
        #expect(close(array(w.grad, 4), [0.5, -0.666667, -0.166667, 0.666667]))
    }

    @Test func perUnitKeepsEveryRowNorm() throws {
        let w = slot([3, 4, 1, 2], shape: [2, 2])
        let lawn = LogitAttenuatingWeightNorm(warmupSteps: 0, lastOnly: false, perUnit: true, tangent: false)
        let s = Stepper(params: [w], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 0.5), transforms: lawn.transforms)
        try s.step { for (i, v) in [1.0, -1, 2, 0.5].enumerated() { w.grad[i] = v }; return 0 }
        // row 0: (2.5, 4.5) rescaled to norm 5; row 1: (0, 1.75) rescaled to norm √5
        let r0 = 5 / (2.5 * 2.5 + 4.5 * 4.5).squareRoot()
        #expect(close(array(w.value, 4), [2.5 * r0, 4.5 * r0, 0, 5.0.squareRoot()]))
    }
}

@Suite struct DataEmphasizedELBoTests {
    // transforms §17: m = (0.5, −0.5, 1, 0), σ = 0.1, D = 4: λ* = 2.5974, penalty ½·log 38.5 = 1.8253.
    @Test func catalogueExampleAndHandStep() throws {
        let m = slot([0.5, -0.5, 1, 0], shape: [1, 4])
        let de = DataEmphasizedELBo(sigmaInit: 0.1, seed: 3)
        #expect(abs(de.currentSigma - 0.1) < 1e-15)
        let a = [0.2, -0.1, 0.0, 0.3]  // L = aᵀw: the task gradient does not depend on the sample
        var seen: [Double] = []
        let s = Stepper(params: [m, de.sigma], optimizer: try Optimizer(.sgd(momentum: 0, nesterov: false)),
                        schedule: Schedule(base: 1), wrapper: de)
        let loss = try s.step {
            seen = array(m.value, 4)
            for i in 0..<4 { m.grad[i] = a[i] }
            return zip(a, seen).reduce(0) { $0 + $1.0 * $1.1 }
        }
        #expect(abs(de.penalty - 0.5 * log(38.5)) < 1e-12 && abs(de.precision - 2.5974026) < 1e-6)
        #expect(abs(loss - (zip(a, seen).reduce(0) { $0 + $1.0 * $1.1 } + de.penalty)) < 1e-12)
        // m' = m − (a + m/(Dσ² + ‖m‖²)), denominator 0.04 + 1.5 = 1.54, from the mean, not the sample
        let mean = [0.5, -0.5, 1, 0]
        #expect(close(array(m.value, 4), (0..<4).map { mean[$0] - a[$0] - mean[$0] / 1.54 }, 1e-12))
        // ρ' = ρ − sigmoid(ρ)·(Σ a⊙ε − ‖m‖²/(σ·1.54)), ε = (sample − m)/σ
        let rho0 = 0.1 + log(-expm1(-0.1)), sig = 1 / (1 + exp(-rho0))
        let ae = (0..<4).reduce(0.0) { $0 + a[$1] * (seen[$1] - mean[$1]) / 0.1 }
        #expect(abs(de.sigma.value[0] - (rho0 - sig * (ae - 1.5 / (0.1 * 1.54)))) < 1e-10)
    }

    @Test func samplesAreStandardNormalAroundTheMean() throws {
        let n = 4000
        let m = slot([Double](repeating: 2, count: n), shape: [1, n])
        let de = DataEmphasizedELBo(sigmaInit: 0.5, seed: 11)
        var eps: [Double] = []
        _ = try de.gradient([m, de.sigma]) {
            eps = (0..<n).map { (m.value[$0] - 2) / 0.5 }
            for i in 0..<n { m.grad[i] = 0 }
            return 0
        }
        let mean = eps.reduce(0, +) / Double(n)
        let variance = eps.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        #expect(abs(mean) < 0.06 && abs(variance - 1) < 0.08)
        #expect((0..<n).allSatisfy { m.value[$0] == 2 })  // the mean is restored
    }
}

@Suite struct LoRADropoutTests {
    // transforms §12c: A = [[1,2,3],[4,5,6]], B = [[1,2],[3,4]], m_A = (1,0,1), m_B = (0,1) →
    // ΔW = [[0,0,0],[19,0,33]]. The masks are random: draw until these appear (1/32 per draw).
    @Test func catalogueExampleAndHandGradient() throws {
        let w = slot([Double](repeating: 0.5, count: 6), shape: [2, 3])
        let a = slot([1, 2, 3, 4, 5, 6], shape: [2, 3]), b = slot([1, 2, 3, 4], shape: [2, 2])
        let op = LoRADropout(p: 0.5, scale: 1, seed: 4)
        var found = false
        for _ in 0..<1000 {
            for s in [w, a, b] { for i in 0..<s.count { s.grad[i] = 0 } }
            let (y, g) = try run(op, [w, a, b], dy: [Double](repeating: 1, count: 6))
            // every draw: W + m_B[i]·(BA)_ij·m_A[j], BA = [[9,12,15],[19,26,33]]
            let ba = [9.0, 12, 15, 19, 26, 33]
            let expected: [Double] = (0..<6).map { (i: Int) -> Double in 0.5 + op.maskB[i / 3] * op.maskA[i % 3] * ba[i] }
            #expect(y == expected)
            guard op.maskA == [1, 0, 1] && op.maskB == [0, 1] else { continue }
            found = true
            #expect(y.map { $0 - 0.5 } == [0, 0, 0, 19, 0, 33])
            #expect(g[0] == [1, 1, 1, 1, 1, 1])
            #expect(g[1] == [3, 0, 3, 4, 0, 4])  // ∂A = Bᵀ M: row k = B[1,k]·m_A
            #expect(g[2] == [0, 0, 4, 10])  // ∂B = M Aᵀ: row 1 = (1+3, 4+6)
            break
        }
        #expect(found)
    }

    @Test func evaluationUsesTheMaskExpectation() throws {
        let w = slot([0, 0, 0, 0], shape: [2, 2]), a = slot([1, 0, 0, 1], shape: [2, 2]), b = slot([2, 0, 0, 3], shape: [2, 2])
        let op = LoRADropout(p: 0.2, scale: 0.5, seed: 1)
        let out = slot([0, 0, 0, 0], shape: [2, 2])
        try op.forward([w, a, b].map(\.valueTensor), into: out.valueTensor, training: false)
        #expect(close(array(out.value, 4), [0.5 * 0.64 * 2, 0, 0, 0.5 * 0.64 * 3], 1e-15))
    }

    @Test func dropRateMatches() throws {
        let n = 2000
        let op = LoRADropout(p: 0.3, scale: 1, seed: 8)
        let w = slot([Double](repeating: 0, count: n), shape: [1, n]), a = slot([Double](repeating: 1, count: n), shape: [1, n])
        let b = slot([1], shape: [1, 1])
        let out = slot([Double](repeating: 0, count: n), shape: [1, n])
        try op.forward([w, a, b].map(\.valueTensor), into: out.valueTensor, training: true)
        let dropped = Double(op.maskA.filter { $0 == 0 }.count) / Double(n)
        #expect(abs(dropped - 0.3) < 0.04)
    }
}
