// The autodiff graph: whole-model gradients against float64 central differences, variable
// batch sizes, dropout, embedding, bad feeds.

import Testing
import RegulaEngine
#if canImport(Glibc)
import Glibc
#endif

/// ½ Σ (x − t)² over a batch node and a target node of the same shape (a test-only op, shared by
/// the engine tests).
final class SquaredError: GraphOp {
    let label = "squared_error"
    func outputShape(_ inputs: [NodeShape]) throws -> NodeShape { .scalar }
    func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        var s = 0.0
        for i in 0..<inputs[0].count { let d = inputs[0][i] - inputs[1][i]; s += 0.5 * d * d }
        out[0] = s
    }
    func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                  into g: [Tensor<Double>?]) throws {
        guard let gx = g[0] else { return }
        for i in 0..<gx.count { gx[i] += outGrad[0] * (inputs[0][i] - inputs[1][i]) }
    }
}

/// Central differences of the objective over every parameter entry vs the backward pass.
private func gradcheck(_ g: Graph, tolerance: Double = 1e-6) throws -> Double {
    _ = try g.valueAndGradient()
    var worst = 0.0
    for p in g.parameters {
        let analytic = Array(UnsafeBufferPointer(start: p.grad, count: p.count))
        for i in 0..<p.count {
            let h = 1e-6 * Swift.max(1, abs(p.value[i]))
            let w0 = p.value[i]
            p.value[i] = w0 + h; let up = try g.forward()
            p.value[i] = w0 - h; let down = try g.forward()
            p.value[i] = w0
            let numeric = (up - down) / (2 * h)
            worst = Swift.max(worst, abs(numeric - analytic[i]) / Swift.max(1, abs(numeric)))
        }
    }
    return worst
}

@Suite struct GraphTests {
    func model(seed: UInt64, activation: Activation) throws -> (Graph, NodeRef, NodeRef) {
        let g = Graph(seed: seed)
        let x = g.input(cols: 4), t = g.input(cols: 3)
        let w1 = g.parameter("w1", shape: [5, 4], .kaimingNormal), b1 = g.parameter("b1", shape: [5], .normal(std: 0.1))
        var h = try g.linear(x, w1, b1)
        let gain = g.parameter("gain", shape: [5], .normal(std: 1)), beta = g.parameter("beta", shape: [5], .normal(std: 0.1))
        h = try g.layerNorm(h, gain: gain, bias: beta)
        h = g.activation(h, activation)
        let w2 = g.parameter("w2", shape: [5, 5], .xavierNormal)
        h = try g.add(g.activation(try g.linear(h, w2), .tanh), h)  // residual block
        let w3 = g.parameter("w3", shape: [3, 5], .xavierUniform), b3 = g.parameter("b3", shape: [3], .zeros)
        let out = try g.linear(h, w3, b3)
        try g.minimize(try g.custom(SquaredError(), [out, t]))
        return (g, x, t)
    }

    @Test(arguments: [(UInt64(1), Activation.gelu), (2, .tanh), (3, .relu), (4, .identity)])
    func wholeModelGradientMatchesFiniteDifferences(_ seed: UInt64, _ act: Activation) throws {
        let (g, x, t) = try model(seed: seed, activation: act)
        var rng = RNG(seed: seed + 100)
        for batch in [1, 3] {
            try g.feed([x: (0..<4 * batch).map { _ in rng.normal() }, t: (0..<3 * batch).map { _ in rng.normal() }])
            let worst = try gradcheck(g)
            #expect(worst < 1e-6, "seed \(seed) \(act) batch \(batch): \(worst)")
        }
    }

    @Test func variableBatchNeedsNoRebuild() throws {
        let (g, x, t) = try model(seed: 5, activation: .gelu)
        try g.feed([x: [Double](repeating: 0.5, count: 4 * 8), t: [Double](repeating: 0, count: 3 * 8)])
        let big = try g.forward()
        try g.feed([x: [Double](repeating: 0.5, count: 4 * 2), t: [Double](repeating: 0, count: 3 * 2)])
        let small = try g.forward()
        #expect(abs(big / 8 - small / 2) < 1e-12)  // identical rows: the sum scales with the batch
        #expect(g.batch == 2)
    }

    @Test func dropoutTrainAndEval() throws {
        let g = Graph(seed: 9)
        let x = g.input(cols: 1000)
        let d = try g.dropout(x, p: 0.5)
        try g.feed([x: [Double](repeating: 1, count: 1000)])
        try g.forward()
        let y = Array(g.value(d).buffer)
        #expect(y.allSatisfy { $0 == 0 || $0 == 2 })  // inverted dropout: kept values × 1/(1−p)
        let kept = y.filter { $0 == 2 }.count
        #expect(kept > 400 && kept < 600)
        g.training = false
        try g.forward()
        #expect(Array(g.value(d).buffer) == [Double](repeating: 1, count: 1000))
        #expect(throws: (any Error).self) { try g.dropout(x, p: 1) }
    }

    @Test func gaussianNoiseLayers() throws {
        let g = Graph(seed: 4)
        let x = g.input(cols: 2000), t = g.input(cols: 2000)
        let a = try g.gaussianDropout(x, p: 0.5), b = try g.gaussianNoise(t, sigma: 0.1)
        try g.feed([x: [Double](repeating: 1, count: 2000), t: [Double](repeating: 0, count: 2000)])
        try g.forward()
        let ya = Array(g.value(a).buffer), yb = Array(g.value(b).buffer)
        let ma = ya.reduce(0, +) / 2000, va = ya.reduce(0) { $0 + ($1 - ma) * ($1 - ma) } / 2000
        #expect(abs(ma - 1) < 0.1 && abs(va - 1) < 0.15)  // mean 1, variance p/(1−p) = 1
        let vb = yb.reduce(0) { $0 + $1 * $1 } / 2000
        #expect(abs(vb - 0.01) < 0.002)
        g.training = false
        try g.forward()
        #expect(Array(g.value(a).buffer) == [Double](repeating: 1, count: 2000))
        #expect(Array(g.value(b).buffer) == [Double](repeating: 0, count: 2000))
        #expect(throws: (any Error).self) { try g.gaussianDropout(x, p: 1) }
        #expect(throws: (any Error).self) { try g.gaussianNoise(x, sigma: -1) }
    }

    @Test func gaussianDropoutBackwardUsesTheForwardMultiplier() throws {
        let g = Graph(seed: 6)
        let x = g.input(cols: 3), t = g.input(cols: 3)
        let w = g.parameter("w", shape: [3, 3], .normal(std: 1))
        let h = try g.gaussianDropout(try g.linear(x, w), p: 0.3)
        try g.minimize(try g.custom(SquaredError(), [h, t]))
        try g.feed([x: [1, 2, 3], t: [0, 0, 0]])
        _ = try g.valueAndGradient()
        let z = try (0..<3).map { r in (0..<3).reduce(0.0) { $0 + g.parameters[0].value[r * 3 + $1] * [1.0, 2, 3][$1] } }
        let y = Array(g.value(h).buffer)
        for r in 0..<3 {
            let m = y[r] / z[r]  // the multiplier drawn in the forward pass
            for c in 0..<3 { #expect(abs(g.parameters[0].grad[r * 3 + c] - y[r] * m * [1.0, 2, 3][c]) < 1e-9) }
        }
    }

    // Catalogue transforms §12e: 8 bits, w = (0.1, −0.26, 0.5), s = 0.5/127.
    @Test func quantNoise() throws {
        let g = Graph(seed: 2)
        let w = g.parameter("w", shape: [1, 3], .zeros)
        for (i, v) in [0.1, -0.26, 0.5].enumerated() { g.parameters[0].value[i] = v }
        let q = try g.quantNoise(w, bits: 8), u = try g.quantNoise(w, bits: 8, uniformNoise: true)
        try g.forward()
        #expect(zip(Array(g.value(q).buffer), [0.09843, -0.25984, 0.5]).allSatisfy { abs($0 - $1) < 1e-5 })
        let s = 0.5 / 127
        #expect(zip(Array(g.value(u).buffer), [0.1, -0.26, 0.5]).allSatisfy { abs($0 - $1) <= s / 2 && $0 != $1 })
        g.training = false
        try g.forward()
        #expect(Array(g.value(u).buffer) == [0.1, -0.26, 0.5])  // uniform noise is train-only
        #expect(zip(Array(g.value(q).buffer), [0.09843, -0.25984, 0.5]).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(throws: (any Error).self) { try g.quantNoise(w, bits: 1) }
    }

    @Test func quantNoiseStraightThroughGradient() throws {
        let g = Graph(seed: 2)
        let x = g.input(cols: 2), t = g.input(cols: 1)
        let w = g.parameter("w", shape: [1, 2], .normal(std: 1))
        let q = try g.quantNoise(w, bits: 4)
        try g.minimize(try g.custom(SquaredError(), [try g.linear(x, q), t]))
        try g.feed([x: [1, 2], t: [0]])
        _ = try g.valueAndGradient()
        // ∂/∂w of ½(x·w_q)² with ∂w_q/∂w = 1 (straight through): (x·w_q)·x
        let wq = Array(g.value(q).buffer), r = wq[0] * 1 + wq[1] * 2
        #expect(abs(g.parameters[0].grad[0] - r) < 1e-12 && abs(g.parameters[0].grad[1] - 2 * r) < 1e-12)
    }

    @Test func embeddingGathersAndScattersRows() throws {
        let g = Graph(seed: 1)
        let ids = g.input(cols: 1), t = g.input(cols: 2)
        let table = g.parameter("table", shape: [4, 2], .normal(std: 1))
        let e = try g.embedding(ids, table)
        try g.minimize(try g.custom(SquaredError(), [e, t]))
        try g.feed([ids: [2, 0, 2], t: [0, 0, 0, 0, 0, 0]])
        #expect(try gradcheck(g) < 1e-7)
        let s = g.parameters[0]
        #expect(s.grad[2] == 0 && s.grad[3] == 0)  // row 1 unused: zero gradient
        #expect(abs(s.grad[4] - 2 * s.value[4]) < 1e-12)  // row 2 used twice
        try g.feed([ids: [4], t: [0, 0]])
        #expect(throws: (any Error).self) { try g.forward() }
    }

    @Test func badBuildsAndFeedsAreErrors() throws {
        let g = Graph()
        let x = g.input(cols: 3), t = g.input(cols: 2)
        let w = g.parameter("w", shape: [2, 4], .zeros)
        #expect(throws: (any Error).self) { try g.linear(x, w) }
        #expect(throws: (any Error).self) { try g.feed([x: [1, 2]]) }
        #expect(throws: (any Error).self) { try g.feed([x: [1, 2, 3], t: [1, 2, 3, 4]]) }
        #expect(throws: (any Error).self) { try g.minimize(x) }
    }

    @Test func initializersHaveTheirScale() {
        var rng = RNG(seed: 3)
        let n = 200 * 100
        let p = UnsafeMutablePointer<Double>.allocate(capacity: n); defer { p.deallocate() }
        Initializer.kaimingNormal.fill(p, shape: [200, 100], rng: &rng)
        let v = Kernels.sumOfSquares(p, count: n) / Double(n)
        #expect(abs(v - 2.0 / 100) < 0.002)
        Initializer.xavierUniform.fill(p, shape: [200, 100], rng: &rng)
        let bound = (6.0 / 300).squareRoot()
        #expect((0..<n).allSatisfy { abs(p[$0]) <= bound })
    }
}

@Suite struct AutoSparseTests {
    // Catalogue transforms §10.
    @Test func annealingSchedule() {
        let got = [0, 0.25, 0.5, 0.8, 0.9, 0.95].map { AutoSparseThreshold.alpha(progress: $0, alpha0: 0.75, reset: 0.9) }
        let want = [0.75, 0.71443, 0.375, 0.07162, 0, 0]
        #expect(zip(got, want).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func forwardAndAnnealedBackward() throws {
        let g = Graph()
        let w = g.parameter("w", shape: [1, 3], .zeros), s = g.parameter("s", shape: [1], .constant(-5))
        let target = g.parameter("target", shape: [1, 3], .zeros)
        for (i, v) in [0.5, -0.003, 0.01].enumerated() { g.parameters[0].value[i] = v }
        g.parameters[2].value[1] = 1  // L = ½‖Ŵ − (0, 1, 0)‖²
        let wh = try g.custom(AutoSparseThreshold(alpha: 0.375), [w, s])
        try g.minimize(try g.custom(SquaredError(), [wh, target]))
        _ = try g.valueAndGradient()
        let v = Array(g.value(wh).buffer)
        #expect(zip(v, [0.49331, 0, 0.00331]).allSatisfy { abs($0 - $1) < 1e-5 })
        let dW = Array(UnsafeBufferPointer(start: g.parameters[0].grad, count: 3))
        #expect(zip(dW, [v[0], -0.375, v[2]]).allSatisfy { abs($0 - $1) < 1e-12 })  // ∂Ŵ/∂W = (1, α, 1)
        let tau = 1 / (1 + exp(5.0))
        #expect(abs(g.parameters[1].grad[0] - (-v[0] - 0.375 - v[2]) * tau * (1 - tau)) < 1e-12)
    }

    @Test func alphaZeroIsTheExactGradient() throws {
        let g = Graph(seed: 3)
        let x = g.input(cols: 4), t = g.input(cols: 2)
        let w = g.parameter("w", shape: [2, 4], .normal(std: 1)), s = g.parameter("s", shape: [1], .constant(-1))
        try g.minimize(try g.custom(SquaredError(), [try g.linear(x, try g.custom(AutoSparseThreshold(alpha: 0), [w, s])), t]))
        try g.feed([x: [1, -2, 0.5, 3, 0.1, 0.2, -1, 1], t: [0.3, -0.2, 1, 0]])
        #expect(try gradcheck(g) < 1e-6)
    }
}

@Suite struct ParameterFileTests {
    private func model(seed: UInt64) -> Graph {
        let g = Graph(seed: seed)
        let x = g.input(cols: 3)
        let w = g.parameter("w", shape: [2, 3], .kaimingNormal)
        let b = g.parameter("b", shape: [2], .normal(std: 1))
        _ = try? g.linear(x, w, b)
        return g
    }

    @Test func roundTripsNamesShapesAndBits() throws {
        let path = "/tmp/regula-params-\(getpid()).bin"
        defer { unlink(path) }
        let a = model(seed: 1), b = model(seed: 2)
        try a.saveParameters(to: path)
        try b.loadParameters(from: path)
        for (p, q) in zip(a.parameters, b.parameters) {
            #expect(Array(UnsafeBufferPointer(start: p.value, count: p.count)) == Array(UnsafeBufferPointer(start: q.value, count: q.count)))
        }
        let stored = try ParameterFile.read(from: path)
        #expect(stored.map(\.name) == ["w", "b"])
        #expect(stored.map(\.shape) == [[2, 3], [2]])
    }

    @Test func refusesMismatchesAndCorruptFilesWithoutChangingTheModel() throws {
        let path = "/tmp/regula-params-bad-\(getpid()).bin"
        defer { unlink(path) }
        try ParameterFile.write([StoredParameter(name: "w", shape: [3, 2], values: Array(repeating: 1, count: 6)),
                                 StoredParameter(name: "b", shape: [2], values: [1, 2])], to: path)
        let g = model(seed: 3)
        let before = Array(UnsafeBufferPointer(start: g.parameters[1].value, count: 2))
        #expect(throws: GraphError.self) { try g.loadParameters(from: path) }  // w has the wrong shape
        #expect(Array(UnsafeBufferPointer(start: g.parameters[1].value, count: 2)) == before)
        try ParameterFile.write([StoredParameter(name: "w", shape: [2, 3], values: Array(repeating: 1, count: 6))], to: path)
        #expect(throws: GraphError.self) { try g.loadParameters(from: path) }  // b is missing
        try ParameterFile.write([StoredParameter(name: "w", shape: [2, 3], values: [1, 2, 3, .nan, 5, 6]),
                                 StoredParameter(name: "b", shape: [2], values: [1, 2])], to: path)
        #expect(throws: GraphError.io("'\(path)': parameter 'w' holds a non-finite value at index 3")) { try g.loadParameters(from: path) }
        #expect(Array(UnsafeBufferPointer(start: g.parameters[1].value, count: 2)) == before)
        let f = fopen(path, "wb"); fputs("RGPARAMS\u{1}\0\0\0\u{ff}\u{ff}\u{ff}\u{7f}", f); fclose(f)
        #expect(throws: GraphError.self) { try ParameterFile.read(from: path) }  // absurd count
        #expect(throws: GraphError.self) { try ParameterFile.read(from: "/nonexistent/params.bin") }
    }
}

@Suite struct ParameterSnapshotTests {
    @Test func restoresTheSavedValuesAndReusesItsBuffers() {
        let a = ParameterSlot(name: "a", shape: [2, 3]), b = ParameterSlot(name: "b", shape: [4])
        for i in 0..<6 { a.value[i] = Double(i) }
        for i in 0..<4 { b.value[i] = -Double(i) }
        let snap = ParameterSnapshot()
        for round in 0..<3 {  // saved again each round: the later values are the ones restored
            snap.save([a, b])
            for i in 0..<6 { a.value[i] = .nan }
            b.value[3] = 99
            snap.restore([a, b])
            #expect((0..<6).map { a.value[$0] } == (0..<6).map { Double($0 + round) })
            #expect(b.value[3] == -3)
            for i in 0..<6 { a.value[i] += 1 }
        }
    }
}
