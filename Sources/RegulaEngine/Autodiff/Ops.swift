// Regula engine — forward and backward of the graph's built-in ops (linear through BLAS gemm).

#if canImport(Glibc)
import Glibc
#endif

extension Graph {
    /// A linear node's float32 scratch (allocated on its first float32 run).
    func scratch32(_ n: Node) -> LinearScratch {
        if let s = n.linear32 { return s }
        let s = LinearScratch()
        n.linear32 = s
        return s
    }

    /// The float32 copy of a weight node's value for this forward run (converted once per run).
    func weight32(_ w: Node) -> UnsafeMutablePointer<Float> {
        let b = w.weight32 ?? Buffer<Float>(w.count)
        w.weight32 = b
        if w.weight32Run != runs {
            b.reserve(w.count)
            Convert.narrow(w.v, b.data, count: w.count)
            w.weight32Run = runs
        }
        return b.data
    }

    func forward(_ n: Node) throws {
        let x = nodes[n.inputs.first ?? 0]
        let y = n.v, rows = n.rows, cols = n.shape.cols
        switch n.op {
        case .input, .parameter:
            return
        case .linear(let bias):
            // y (B×out) = x (B×in) · Wᵀ (in×out)
            let w = nodes[n.inputs[1]], k = x.shape.cols
            n.ranFloat32 = precision == .float32
            if n.ranFloat32 {
                // sgemm on float32 copies: x is kept for dW, y is widened back to float64.
                let s = scratch32(n), w32 = weight32(w)
                s.x.reserve(rows * k); s.y.reserve(rows * cols)
                Convert.narrow(x.v, s.x.data, count: rows * k)
                BLAS.gemm(.none, .transpose, m: rows, n: cols, k: k, alpha: 1, s.x.data, lda: k, w32, ldb: k,
                          beta: 0, s.y.data, ldc: cols)
                Convert.widen(s.y.data, y, count: rows * cols)
            } else {
                BLAS.gemm(.none, .transpose, m: rows, n: cols, k: k, alpha: 1, x.v, lda: k, w.v, ldb: k,
                          beta: 0, y, ldc: cols)
            }
            if bias { Kernels.addRowVector(nodes[n.inputs[2]].v, into: y, rows: rows, cols: cols) }
        case .embedding:
            let table = nodes[n.inputs[1]]
            let vocab = table.rows
            for i in 0..<rows {
                let id = x.v[i]
                guard id == id.rounded(), id >= 0, id < Double(vocab) else {
                    throw GraphError.value("embedding id \(id) at row \(i) is not in 0..<\(vocab)")
                }
                (y + i * cols).update(from: table.v + Int(id) * cols, count: cols)
            }
        case .activation(let f):
            let xv = x.v
            switch f {
            case .relu: Kernels.relu(xv, into: y, count: n.count)
            case .tanh: for i in 0..<n.count { y[i] = tanh(xv[i]) }
            case .identity: y.update(from: xv, count: n.count)
            case .gelu:
                // exact GELU: x·Φ(x), Φ(x) = ½(1 + erf(x/√2))
                for i in 0..<n.count { y[i] = 0.5 * xv[i] * (1 + erf(xv[i] * 0.7071067811865476)) }
            }
        case .add:
            let a = x.v, b = nodes[n.inputs[1]].v
            for i in 0..<n.count { y[i] = a[i] + b[i] }
        case .layerNorm(let eps):
            let gain = nodes[n.inputs[1]].v, beta = nodes[n.inputs[2]].v
            n.aux.reserve(2 * rows)
            let stats = n.aux.data
            for i in 0..<rows {
                let r = x.v + i * cols, o = y + i * cols
                var mean = 0.0
                for j in 0..<cols { mean += r[j] }
                mean /= Double(cols)
                var v = 0.0
                for j in 0..<cols { let d = r[j] - mean; v += d * d }  // two-pass variance: no cancellation
                let inv = 1 / (v / Double(cols) + eps).squareRoot()
                stats[2 * i] = mean; stats[2 * i + 1] = inv
                for j in 0..<cols { o[j] = (r[j] - mean) * inv * gain[j] + beta[j] }
            }
        case .dropout(let p):
            if !training || p == 0 { y.update(from: x.v, count: n.count); return }
            n.aux.reserve(n.count)
            let mask = n.aux.data, keep = 1 / (1 - p)
            for i in 0..<n.count {
                mask[i] = rng.uniform() < p ? 0 : keep
                y[i] = x.v[i] * mask[i]
            }
        case .gaussianNoise(let sigma):
            if !training || sigma == 0 { y.update(from: x.v, count: n.count); return }
            for i in 0..<n.count { y[i] = x.v[i] + sigma * rng.normal() }  // additive: dy/dx = 1
        case .gaussianDropout(let p):
            if !training || p == 0 { y.update(from: x.v, count: n.count); return }
            n.aux.reserve(n.count)
            let mult = n.aux.data, s = (p / (1 - p)).squareRoot()
            for i in 0..<n.count {
                mult[i] = 1 + s * rng.normal()
                y[i] = x.v[i] * mult[i]
            }
        case .quantNoise(let bits, let uniformNoise):
            var top = 0.0
            for i in 0..<n.count { top = Swift.max(top, abs(x.v[i])) }
            let levels = Double((1 << (bits - 1)) - 1)
            let s = top / levels
            if s == 0 || (uniformNoise && !training) { y.update(from: x.v, count: n.count); return }
            for i in 0..<n.count {
                y[i] = uniformNoise ? x.v[i] + (rng.uniform() - 0.5) * s
                                    : Swift.min(Swift.max((x.v[i] / s).rounded(.toNearestOrEven), -levels), levels) * s
            }
        case .custom(let op):
            try op.forward(n.inputs.map { nodes[$0].valueTensor }, into: n.valueTensor, training: training)
        }
    }

    func backward(_ n: Node) throws {
        let x = nodes[n.inputs.first ?? 0]
        let dy = n.g, rows = n.rows, cols = n.shape.cols
        // Linear and ReLU write a gradient no op has reached yet (`gradReady` false) instead of
        // adding to it; every other op adds into cleared buffers.
        switch n.op {
        case .linear(let bias): if bias { _ = accumulator(nodes[n.inputs[2]]) }
        case .activation(.relu), .custom: break
        default: for i in n.inputs where nodes[i].needsGrad { _ = accumulator(nodes[i]) }
        }
        switch n.op {
        case .input, .parameter:
            return
        case .linear(let bias):
            let w = nodes[n.inputs[1]], k = x.shape.cols
            if n.ranFloat32, let s = n.linear32, let w32 = w.weight32?.data {
                // The same products in float32 (x and W as converted by this run's forward);
                // each result is widened into (or added to) the float64 gradient.
                Convert.narrow(dy, s.y.data, count: rows * cols)
                if x.needsGrad {
                    s.dx.reserve(rows * k)
                    BLAS.gemm(.none, .none, m: rows, n: k, k: cols, alpha: 1, s.y.data, lda: cols, w32, ldb: k,
                              beta: 0, s.dx.data, ldc: k)
                    Convert.widen(s.dx.data, x.g, count: rows * k, accumulate: x.gradReady)
                    x.gradReady = true
                }
                if w.needsGrad {
                    s.dw.reserve(cols * k)
                    BLAS.gemm(.transpose, .none, m: cols, n: k, k: rows, alpha: 1, s.y.data, lda: cols, s.x.data, ldb: k,
                              beta: 0, s.dw.data, ldc: k)
                    Convert.widen(s.dw.data, w.g, count: cols * k, accumulate: w.gradReady)
                    w.gradReady = true
                }
            } else {
                if x.needsGrad {  // dx (B×in) += dy (B×out) · W (out×in)
                    BLAS.gemm(.none, .none, m: rows, n: k, k: cols, alpha: 1, dy, lda: cols, w.v, ldb: k,
                              beta: x.gradReady ? 1 : 0, x.g, ldc: k)
                    x.gradReady = true
                }
                if w.needsGrad {  // dW (out×in) += dyᵀ (out×B) · x (B×in)
                    BLAS.gemm(.transpose, .none, m: cols, n: k, k: rows, alpha: 1, dy, lda: cols, x.v, ldb: k,
                              beta: w.gradReady ? 1 : 0, w.g, ldc: k)
                    w.gradReady = true
                }
            }
            if bias, nodes[n.inputs[2]].needsGrad {
                Kernels.addColumnSums(dy, rows: rows, cols: cols, into: nodes[n.inputs[2]].g)
            }
        case .embedding:
            let table = nodes[n.inputs[1]]
            guard table.needsGrad else { return }
            for i in 0..<rows {
                let t = table.g + Int(x.v[i]) * cols, r = dy + i * cols
                for j in 0..<cols { t[j] += r[j] }
            }
        case .activation(let f):
            guard x.needsGrad else { return }
            let xv = x.v, dx = x.g, y = n.v
            switch f {
            case .relu:  // relu'(0) = 0
                Kernels.reluBackward(xv, dy, into: dx, count: n.count, accumulate: x.gradReady)
                x.gradReady = true
            case .tanh: for i in 0..<n.count { dx[i] += dy[i] * (1 - y[i] * y[i]) }
            case .identity: for i in 0..<n.count { dx[i] += dy[i] }
            case .gelu:
                // d/dx x·Φ(x) = Φ(x) + x·φ(x)
                for i in 0..<n.count {
                    let v = xv[i]
                    let cdf = 0.5 * (1 + erf(v * 0.7071067811865476))
                    let pdf = exp(-0.5 * v * v) * 0.3989422804014327
                    dx[i] += dy[i] * (cdf + v * pdf)
                }
            }
        case .add:
            for k in 0..<2 where nodes[n.inputs[k]].needsGrad {
                let d = nodes[n.inputs[k]].g
                for i in 0..<n.count { d[i] += dy[i] }
            }
        case .layerNorm:
            let gainNode = nodes[n.inputs[1]], betaNode = nodes[n.inputs[2]]
            let gain = gainNode.v, stats = n.aux.data
            let c = Double(cols)
            for i in 0..<rows {
                let r = x.v + i * cols, d = dy + i * cols
                let mean = stats[2 * i], inv = stats[2 * i + 1]
                var sumG = 0.0, sumGX = 0.0  // Σ ĝ, Σ ĝ·x̂ with ĝ = dy ⊙ γ
                for j in 0..<cols {
                    let xh = (r[j] - mean) * inv, gh = d[j] * gain[j]
                    sumG += gh; sumGX += gh * xh
                    if gainNode.needsGrad { gainNode.g[j] += d[j] * xh }
                    if betaNode.needsGrad { betaNode.g[j] += d[j] }
                }
                if x.needsGrad {
                    // dx = inv · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))
                    let dx = x.g + i * cols
                    for j in 0..<cols {
                        let xh = (r[j] - mean) * inv
                        dx[j] += inv * (d[j] * gain[j] - sumG / c - xh * sumGX / c)
                    }
                }
            }
        case .dropout(let p), .gaussianDropout(let p):
            guard x.needsGrad else { return }
            if !training || p == 0 { for i in 0..<n.count { x.g[i] += dy[i] }; return }
            let mask = n.aux.data  // the multiplier of the forward pass
            for i in 0..<n.count { x.g[i] += dy[i] * mask[i] }
        case .gaussianNoise, .quantNoise:  // additive noise, or the straight-through estimator
            guard x.needsGrad else { return }
            for i in 0..<n.count { x.g[i] += dy[i] }
        case .custom(let op):
            let ins = n.inputs.map { nodes[$0].valueTensor }
            let grads: [Tensor<Double>?] = n.inputs.map { nodes[$0].needsGrad ? nodes[$0].gradTensor : nil }
            // An input listed twice: the first slot may overwrite, the second must add.
            let overwrite = n.inputs.indices.map { k in
                let i = n.inputs[k]
                return nodes[i].needsGrad && !nodes[i].gradReady && !n.inputs[..<k].contains(i)
            }
            try op.backward(ins, output: n.valueTensor, outGrad: n.gradTensor, into: grads, overwrite: overwrite)
            for i in n.inputs where nodes[i].needsGrad { nodes[i].gradReady = true }
        }
    }
}
