// The hot loop of a training step: float32 linear layers (Precision.float32) against the float64
// graph, gradient buffers that are overwritten rather than cleared, the fused optimizer update
// against the unfused chain, and the layer kernels against scalar float64 loops.

import Testing
import RegulaEngine

/// An MLP with odd widths (SIMD tails), a weight used by two layers, and a squared error.
private func mlp(seed: UInt64, precision: Precision, features: Int = 37, hidden: Int = 29) throws -> (Graph, NodeRef, NodeRef) {
    let g = Graph(seed: seed, precision: precision)
    let x = g.input(cols: features), t = g.input(cols: 5)
    let w1 = g.parameter("w1", shape: [hidden, features], .kaimingNormal), b1 = g.parameter("b1", shape: [hidden], .normal(std: 0.1))
    var h = g.activation(try g.linear(x, w1, b1), .relu)
    let w2 = g.parameter("w2", shape: [hidden, hidden], .xavierNormal)
    h = g.activation(try g.linear(g.activation(try g.linear(h, w2), .tanh), w2), .relu)  // w2 twice
    let w3 = g.parameter("w3", shape: [5, hidden], .xavierUniform), b3 = g.parameter("b3", shape: [5], .zeros)
    try g.minimize(try g.custom(SquaredError(), [try g.linear(h, w3, b3), t]))
    return (g, x, t)
}

private func batch(_ rows: Int, features: Int = 37, seed: UInt64) -> ([Double], [Double]) {
    var rng = RNG(seed: seed)
    return ((0..<rows * features).map { _ in rng.normal() }, (0..<rows * 5).map { _ in rng.normal() })
}

private func grads(_ g: Graph) -> [[Double]] { g.parameters.map { Array(UnsafeBufferPointer(start: $0.grad, count: $0.count)) } }

/// max |a − b| / max |b| (0 when b is all zeros and a equals it).
private func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    let scale = b.reduce(0) { Swift.max($0, abs($1)) }
    let diff = zip(a, b).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
    return scale > 0 ? diff / scale : diff
}

@Suite struct Float32LinearTests {
    @Test(arguments: [(UInt64(1), 67), (2, 1), (3, 256)])
    func gradientsMatchFloat64WithinFloat32Rounding(_ seed: UInt64, _ rows: Int) throws {
        let (g64, x64, t64) = try mlp(seed: seed, precision: .float64)
        let (g32, x32, t32) = try mlp(seed: seed, precision: .float32)
        let (bx, bt) = batch(rows, seed: seed + 10)
        try g64.feed([x64: bx, t64: bt]); try g32.feed([x32: bx, t32: bt])
        let v64 = try g64.valueAndGradient(), v32 = try g32.valueAndGradient()
        #expect(abs(v32 - v64) <= 1e-5 * abs(v64), "loss \(v32) vs \(v64)")
        var differs = false
        for (k, (a, b)) in zip(grads(g32), grads(g64)).enumerated() {
            let e = relativeError(a, b)
            #expect(e < 2e-5, "\(g64.parameters[k].name): relative error \(e)")
            differs = differs || a != b
        }
        #expect(differs, "the float32 products ran: some gradient differs in its last bits")
    }

    /// Both graphs of a seed, fed the same batch.
    private func pair(seed: UInt64, rows: Int, features: Int = 37, hidden: Int = 29) throws -> (Graph, Graph) {
        let (g64, x64, t64) = try mlp(seed: seed, precision: .float64, features: features, hidden: hidden)
        let (g32, x32, t32) = try mlp(seed: seed, precision: .float32, features: features, hidden: hidden)
        let (bx, bt) = batch(rows, features: features, seed: seed + 1)
        try g64.feed([x64: bx, t64: bt]); try g32.feed([x32: bx, t32: bt])
        return (g64, g32)
    }

    private func expectClose(_ g64: Graph, _ g32: Graph) throws {
        let v64 = try g64.valueAndGradient(), v32 = try g32.valueAndGradient()
        #expect(abs(v32 - v64) <= 1e-5 * abs(v64))
        for (a, b) in zip(grads(g32), grads(g64)) { #expect(relativeError(a, b) < 2e-5) }
    }

    /// Above Parallel.threshold the conversions split across threads: same result.
    @Test func largeLayersMatchFloat64() throws {
        let (g64, g32) = try pair(seed: 7, rows: 9, features: 530, hidden: 600)
        try expectClose(g64, g32)
    }

    /// The float32 weight copies follow every change of the weights (one conversion per run).
    @Test func updatedWeightsAreConvertedAgain() throws {
        let (g64, g32) = try pair(seed: 4, rows: 5)
        _ = try g32.valueAndGradient()
        for g in [g64, g32] { for p in g.parameters { for i in 0..<p.count { p.value[i] *= -1.5 } } }
        try expectClose(g64, g32)
    }

    /// Precision is per run: back to float64, the graph gives the float64 bits again.
    @Test func switchingBackIsExactFloat64() throws {
        let (g64, g) = try pair(seed: 6, rows: 11)
        _ = try g.valueAndGradient()
        g.precision = .float64
        let v = try g.valueAndGradient(), v64 = try g64.valueAndGradient()
        #expect(v == v64 && grads(g) == grads(g64))
    }
}

@Suite struct GradientBufferTests {
    /// Gradient buffers are not cleared before backward: stale values (even NaN) are overwritten,
    /// and a parameter no op reaches ends at zero.
    @Test(arguments: [Precision.float64, .float32])
    func staleGradientsNeverLeak(_ precision: Precision) throws {
        let (g, x, t) = try mlp(seed: 3, precision: precision)
        let unused = g.parameter("unused", shape: [3, 2], .normal(std: 1))
        _ = unused
        let (bx, bt) = batch(4, seed: 3)
        try g.feed([x: bx, t: bt])
        _ = try g.valueAndGradient()
        let first = grads(g)
        #expect(first.last == [Double](repeating: 0, count: 6))
        for p in g.parameters { for i in 0..<p.count { p.grad[i] = .nan } }
        _ = try g.valueAndGradient()
        #expect(grads(g) == first)
    }

    /// Linear layers with and without the overwrite shortcut sum the same gradient: a weight
    /// reached by two layers and an input gradient (VAT's) agree with finite differences.
    @Test func sharedWeightAndInputGradientMatchFiniteDifferences() throws {
        let g = Graph(seed: 2)
        let x = g.input(cols: 3, gradient: true), t = g.input(cols: 3)
        let w = g.parameter("w", shape: [3, 3], .normal(std: 0.5))
        let y = try g.linear(g.activation(try g.linear(x, w), .relu), w)
        try g.minimize(try g.custom(SquaredError(), [try g.add(y, x), t]))
        let xs: [Double] = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7], ts: [Double] = [0.1, 0.2, -0.3, 0.5, 0, 1]
        try g.feed([x: xs, t: ts])
        _ = try g.valueAndGradient()
        let gx = Array(g.gradient(x).buffer)
        let gw = Array(UnsafeBufferPointer(start: g.parameters[0].grad, count: 9))
        let h = 1e-6
        for i in 0..<6 {
            var up = xs, down = xs
            up[i] += h; down[i] -= h
            try g.feed([x: up, t: ts]); let fu = try g.forward()
            try g.feed([x: down, t: ts]); let fd = try g.forward()
            #expect(abs((fu - fd) / (2 * h) - gx[i]) < 1e-6)
        }
        try g.feed([x: xs, t: ts])
        let p = g.parameters[0]
        for i in 0..<9 {
            let w0 = p.value[i]
            p.value[i] = w0 + h; let fu = try g.forward()
            p.value[i] = w0 - h; let fd = try g.forward()
            p.value[i] = w0
            #expect(abs((fu - fd) / (2 * h) - gw[i]) < 1e-6)
        }
    }
}

@Suite struct FusedUpdateTests {
    private func slots(_ seed: UInt64) -> [ParameterSlot] {
        var rng = RNG(seed: seed)
        // 700×401 crosses Parallel.threshold and is not a multiple of 8; the vector has no decay.
        let a = ParameterSlot(name: "w", shape: [700, 401]), b = ParameterSlot(name: "b", shape: [13])
        b.lrScale = 0.5
        for s in [a, b] { for i in 0..<s.count { s.value[i] = rng.normal() } }
        return [a, b]
    }

    private func fillGrads(_ params: [ParameterSlot], step: Int) {
        var rng = RNG(seed: UInt64(100 + step))
        for p in params { for i in 0..<p.count { p.grad[i] = step == 1 && i % 5 == 0 ? 0 : rng.normal() } }
    }

    @Test(arguments: [OptimizerKind.adam(beta1: 0.9, beta2: 0.999, eps: 1e-8), .sgd(momentum: 0.9, nesterov: true),
                      .sgd(momentum: 0.9, nesterov: false), .sgd(momentum: 0, nesterov: false)])
    func fusedUpdateIsTheUnfusedChainBitForBit(_ kind: OptimizerKind) throws {
        let fused = slots(1), chain = slots(1)
        let stepper = Stepper(params: fused, optimizer: try Optimizer(kind), schedule: Schedule(base: 0.01),
                              transforms: [DecoupledWeightDecay(lambda: 0.1)])
        let opt = try Optimizer(kind), decay = DecoupledWeightDecay(lambda: 0.1)
        for step in 0..<3 {
            try stepper.step { fillGrads(fused, step: step); return 0 }
            fillGrads(chain, step: step)
            try opt.directions(chain)
            try decay.apply(chain, StepContext(step: step, lr: 0.01))
            for p in chain { for i in 0..<p.count { p.value[i] -= 0.01 * p.lrScale * p.direction[i] } }
            for (f, c) in zip(fused, chain) {
                #expect(Array(UnsafeBufferPointer(start: f.value, count: f.count)) == Array(UnsafeBufferPointer(start: c.value, count: c.count)))
            }
        }
    }
}

@Suite struct LayerKernelTests {
    let n = Parallel.threshold + 13  // threads and a scalar tail

    private func random(_ count: Int, seed: UInt64) -> [Double] {
        var rng = RNG(seed: seed)
        return (0..<count).map { i in i % 7 == 0 ? 0 : rng.normal() }
    }

    @Test func reluAndItsBackwardMatchScalarLoops() {
        let x = random(n, seed: 1), dy = random(n, seed: 2), acc = random(n, seed: 3)
        var y = [Double](repeating: .nan, count: n), dx = acc, fresh = [Double](repeating: .nan, count: n)
        Kernels.relu(x, into: &y, count: n)
        Kernels.reluBackward(x, dy, into: &dx, count: n)
        Kernels.reluBackward(x, dy, into: &fresh, count: n, accumulate: false)
        for i in 0..<n {
            #expect(y[i] == Swift.max(x[i], 0))
            #expect(dx[i] == (x[i] > 0 ? acc[i] + dy[i] : acc[i]))
            #expect(fresh[i] == (x[i] > 0 ? dy[i] : 0))
        }
    }

    @Test func biasKernelsMatchScalarLoops() {
        for (rows, cols) in [(257, 1031), (3, 5), (1, 8)] {
            let m = random(rows * cols, seed: 4), b = random(cols, seed: 5)
            var y = m, db = b
            Kernels.addRowVector(b, into: &y, rows: rows, cols: cols)
            Kernels.addColumnSums(m, rows: rows, cols: cols, into: &db)
            for i in 0..<rows { for j in 0..<cols { #expect(y[i * cols + j] == m[i * cols + j] + b[j]) } }
            for j in 0..<cols {
                var s = b[j]
                for i in 0..<rows { s += m[i * cols + j] }
                #expect(db[j] == s)
            }
        }
    }

    @Test func scaledAddAndConversionsMatchScalarLoops() {
        let x = random(n, seed: 6), y0 = random(n, seed: 7)
        var y = y0, z = [Double](repeating: .nan, count: n)
        Kernels.addScaled(0.3, x, into: &y, count: n)
        Kernels.addScaled(0.3, x, into: &z, count: n, accumulate: false)
        var f = [Float](repeating: .nan, count: n), w = [Double](repeating: .nan, count: n), wa = y0
        Convert.narrow(x, &f, count: n)
        Convert.widen(f, &w, count: n)
        Convert.widen(f, &wa, count: n, accumulate: true)
        for i in 0..<n {
            #expect(y[i] == y0[i] + 0.3 * x[i] && z[i] == 0.3 * x[i])
            #expect(f[i] == Float(x[i]) && w[i] == Double(Float(x[i])) && wa[i] == y0[i] + Double(Float(x[i])))
        }
    }
}
