// Regula engine — a static reverse-mode autodiff graph: build once, run forward/backward per batch.

#if canImport(Glibc)
import Glibc
#endif

/// A node of a `Graph` (its index in build order).
public struct NodeRef: Hashable, Sendable {
    public let index: Int
}

/// The rows of a node: the batch (set per run, may change between runs) or a fixed count.
public enum Rows: Equatable, Sendable {
    case batch
    case fixed(Int)
}

/// The shape of a node at build time. `exact` is the tensor shape handed to ops (a parameter's
/// own shape, `[]` for a scalar); nil means `(rows, cols)`.
public struct NodeShape: Equatable, Sendable {
    public var rows: Rows
    public var cols: Int
    public var exact: [Int]?
    public init(rows: Rows, cols: Int, exact: [Int]? = nil) {
        self.rows = rows; self.cols = cols; self.exact = exact
    }
    public static let scalar = NodeShape(rows: .fixed(1), cols: 1, exact: [])
}

/// An op the engine does not know: components (losses, output maps, penalties) become graph
/// nodes through this protocol one layer up. The engine stores values in Double.
public protocol GraphOp: AnyObject {
    var label: String { get }
    /// The output shape for the inputs' shapes; throws on a mismatch.
    func outputShape(_ inputs: [NodeShape]) throws -> NodeShape
    /// Writes the output (its buffer is not cleared first).
    func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws
    /// Adds Jᵢᵀ · outGrad into `inputGrads[i]` for every non-nil entry (inputs that need no
    /// gradient get nil). `output` holds the forward result of the same run.
    func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                  into inputGrads: [Tensor<Double>?]) throws
    /// The same, where `overwrite[i]` says that no gradient has reached `inputGrads[i]` yet in this
    /// pass: it holds stale values, and the op writes Jᵢᵀ · outGrad over every entry instead of
    /// adding (which saves clearing the buffer and reading it back). The default clears those
    /// buffers and calls `backward`; ops whose gradient is a scaled copy implement it.
    func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                  into inputGrads: [Tensor<Double>?], overwrite: [Bool]) throws
}

extension GraphOp {
    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into inputGrads: [Tensor<Double>?], overwrite: [Bool]) throws {
        clear(inputGrads, overwrite)
        try backward(inputs, output: output, outGrad: outGrad, into: inputGrads)
    }

    /// Zeroes the gradients marked `overwrite` from slot `start` on (an op that writes only some
    /// of its inputs' gradients clears the others).
    public func clear(_ inputGrads: [Tensor<Double>?], _ overwrite: [Bool], from start: Int = 0) {
        for k in start..<Swift.min(inputGrads.count, overwrite.count) where overwrite[k] {
            if let g = inputGrads[k] { g.data.update(repeating: 0, count: g.count) }
        }
    }
}

/// The precision of a graph's linear layers (matrix products). Everything else, parameters and
/// optimizer state included, stays float64.
public enum Precision: String, Sendable, CaseIterable {
    /// dgemm on the float64 values.
    case float64 = "f64"
    /// sgemm on float32 copies of the operands (kept in per-node scratch, converted each run),
    /// results widened back to float64: about twice the FLOP rate, float32 rounding in the products.
    case float32 = "f32"
}

/// Elementwise activations with a defined backward.
public enum Activation: String, Sendable, CaseIterable {
    case relu, gelu, tanh, identity
}

/// Errors of building or running a graph.
public enum GraphError: Error, Sendable, CustomStringConvertible, Equatable {
    case shape(String)
    case feed(String)
    case value(String)
    case io(String)
    /// The operation cannot be done this way (the message names the way that works).
    case unsupported(String)
    public var description: String {
        switch self {
        case .shape(let m): "graph shape: \(m)"
        case .feed(let m): "graph feed: \(m)"
        case .value(let m): "graph value: \(m)"
        case .io(let m): "parameter file: \(m)"
        case .unsupported(let m): m
        }
    }
}

/// How a parameter starts. Kaiming/Xavier read the fan-in/fan-out of a `(units, fan_in)` matrix.
public enum Initializer: Sendable, Equatable {
    case zeros
    case constant(Double)
    case normal(std: Double)
    case uniform(bound: Double)
    /// He et al. 2015: N(0, 2/fan_in) (for ReLU layers).
    case kaimingNormal
    /// U(−b, b), b = sqrt(6/fan_in).
    case kaimingUniform
    /// Glorot & Bengio 2010: N(0, 2/(fan_in + fan_out)).
    case xavierNormal
    /// U(−b, b), b = sqrt(6/(fan_in + fan_out)).
    case xavierUniform

    /// Fills `count` values of a parameter of `shape` (rank 1: fan_in = fan_out = count).
    public func fill(_ p: UnsafeMutablePointer<Double>, shape: [Int], rng: inout RNG) {
        let count = shape.reduce(1, *)
        let fanOut = shape.first ?? 1
        let fanIn = shape.count >= 2 ? count / Swift.max(fanOut, 1) : Swift.max(count, 1)
        func normal(_ std: Double) { for i in 0..<count { p[i] = std * rng.normal() } }
        func uniform(_ b: Double) { for i in 0..<count { p[i] = (2 * rng.uniform() - 1) * b } }
        switch self {
        case .zeros: for i in 0..<count { p[i] = 0 }
        case .constant(let c): for i in 0..<count { p[i] = c }
        case .normal(let std): normal(std)
        case .uniform(let b): uniform(b)
        case .kaimingNormal: normal((2 / Double(fanIn)).squareRoot())
        case .kaimingUniform: uniform((6 / Double(fanIn)).squareRoot())
        case .xavierNormal: normal((2 / Double(fanIn + fanOut)).squareRoot())
        case .xavierUniform: uniform((6 / Double(fanIn + fanOut)).squareRoot())
        }
    }
}

/// A trainable parameter as optimizers see it: value and gradient buffers owned by the graph,
/// plus its group settings.
public final class ParameterSlot: @unchecked Sendable {
    public let name: String
    public let shape: [Int]
    public let count: Int
    public let value: UnsafeMutablePointer<Double>
    public let grad: UnsafeMutablePointer<Double>
    /// Scratch for the optimizer's direction (same size; the fused update of `Stepper` does
    /// without it and leaves it as it was).
    public let direction: UnsafeMutablePointer<Double>
    /// Weight decay applies (decoupled_weight_decay, l2_grad). Default: matrices yes, vectors
    /// (biases, norm gains) no.
    public var decay: Bool
    /// Multiplies the learning rate of this parameter.
    public var lrScale: Double

    public init(name: String, shape: [Int], decay: Bool? = nil, lrScale: Double = 1) {
        self.name = name; self.shape = shape
        count = shape.reduce(1, *)
        value = .allocate(capacity: Swift.max(count, 1)); value.initialize(repeating: 0, count: Swift.max(count, 1))
        grad = .allocate(capacity: Swift.max(count, 1)); grad.initialize(repeating: 0, count: Swift.max(count, 1))
        direction = .allocate(capacity: Swift.max(count, 1)); direction.initialize(repeating: 0, count: Swift.max(count, 1))
        self.decay = decay ?? (shape.count >= 2)
        self.lrScale = lrScale
    }
    deinit { value.deallocate(); grad.deallocate(); direction.deallocate() }

    public var valueTensor: Tensor<Double> { Tensor(value, shape: shape, owner: self) }
    public var gradTensor: Tensor<Double> { Tensor(grad, shape: shape, owner: self) }
}

/// A growable buffer (reallocated only when a larger batch arrives).
final class Buffer<T: Scalar> {
    var data: UnsafeMutablePointer<T>
    var capacity: Int
    init(_ n: Int) {
        capacity = Swift.max(n, 1)
        data = .allocate(capacity: capacity); data.initialize(repeating: 0, count: capacity)
    }
    func reserve(_ n: Int) {
        if n <= capacity { return }
        data.deallocate()
        capacity = n
        data = .allocate(capacity: n); data.initialize(repeating: 0, count: n)
    }
    func zero(_ n: Int) { data.update(repeating: 0, count: n) }
    deinit { data.deallocate() }
}

/// Float32 scratch of a linear node in `Precision.float32` mode, allocated on first use and
/// grown only with the batch: the input (kept for dW), the product (also dy in backward), dx
/// and dW. The weight's float32 copy lives on the weight node (`Node.weight32`), converted once
/// per forward run even when several layers share the weight.
final class LinearScratch {
    let x = Buffer<Float>(0), y = Buffer<Float>(0), dx = Buffer<Float>(0), dw = Buffer<Float>(0)
}

/// A static computation graph (ggml's model: build the nodes once, then for each batch feed the
/// inputs, run `forward`, and `backward` for the gradients of the objective).
///
/// Nodes are added in topological order (an op's inputs exist before it). Batch nodes have
/// `(batch, cols)` values whose batch size is set per run, so the last partial batch needs no
/// rebuild. Values and gradients are float64; matrix products go through BLAS.
public final class Graph: @unchecked Sendable {
    enum Op {
        case input
        case parameter(ParameterSlot)
        case linear(bias: Bool)
        case embedding
        case activation(Activation)
        case add
        case layerNorm(eps: Double)
        case dropout(p: Double)
        case gaussianNoise(sigma: Double)
        case gaussianDropout(p: Double)
        case quantNoise(bits: Int, uniformNoise: Bool)
        case custom(GraphOp)
    }

    final class Node {
        let op: Op
        let inputs: [Int]
        let shape: NodeShape
        var needsGrad = false
        var rows = 0
        let value: Buffer<Double>
        let grad: Buffer<Double>
        /// Saved forward quantities (dropout mask, layer-norm statistics).
        let aux: Buffer<Double>
        /// Float32 mode: a linear node's scratch; the float32 copy of a weight node's value and
        /// the forward run it was converted in; whether this linear node's last forward ran in float32.
        var linear32: LinearScratch?
        var weight32: Buffer<Float>?
        var weight32Run = -1
        var ranFloat32 = false
        /// Backward: the gradient buffer holds this pass's sum so far (false: stale contents, to
        /// be overwritten or cleared by the first op that reaches it).
        var gradReady = false
        init(op: Op, inputs: [Int], shape: NodeShape) {
            self.op = op; self.inputs = inputs; self.shape = shape
            let rows: Int
            if case .fixed(let r) = shape.rows { rows = r } else { rows = 0 }
            self.rows = rows
            value = Buffer(rows * shape.cols); grad = Buffer(rows * shape.cols); aux = Buffer(0)
        }
        var count: Int { rows * shape.cols }
        var tensorShape: [Int] { shape.exact ?? [rows, shape.cols] }
        /// Parameters live in their slot (no copy per run); other nodes in their buffers.
        var v: UnsafeMutablePointer<Double> {
            if case .parameter(let s) = op { return s.value }
            return value.data
        }
        var g: UnsafeMutablePointer<Double> {
            if case .parameter(let s) = op { return s.grad }
            return grad.data
        }
        var valueTensor: Tensor<Double> { Tensor(v, shape: tensorShape, owner: self) }
        var gradTensor: Tensor<Double> { Tensor(g, shape: tensorShape, owner: self) }
    }

    var nodes: [Node] = []
    /// The scalar nodes whose (weighted) sum is minimised.
    public private(set) var objective: [NodeRef] = []
    /// The trainable parameters in creation order.
    public private(set) var parameters: [ParameterSlot] = []
    /// Dropout and other stochastic nodes draw from this stream.
    public var rng: RNG
    /// Train mode (dropout active) or eval mode.
    public var training = true
    /// Batch size of the last run.
    public private(set) var batch = 0
    /// Precision of the linear layers' matrix products (can change between runs).
    public var precision: Precision
    /// Forward runs so far (tags the float32 weight copies of the current run).
    var runs = 0

    public init(seed: UInt64 = 0, precision: Precision = .float64) { rng = RNG(seed: seed); self.precision = precision }

    // MARK: Building

    func add(_ op: Op, _ inputs: [NodeRef], _ shape: NodeShape) -> NodeRef {
        let n = Node(op: op, inputs: inputs.map(\.index), shape: shape)
        switch op {
        case .parameter: n.needsGrad = true
        case .input: n.needsGrad = false
        default: n.needsGrad = inputs.contains { nodes[$0.index].needsGrad }
        }
        nodes.append(n)
        return NodeRef(index: nodes.count - 1)
    }

    public func shape(_ r: NodeRef) -> NodeShape { nodes[r.index].shape }

    /// Number of nodes built so far (valid indices are `0..<nodeCount`).
    public var nodeCount: Int { nodes.count }

    /// The node with this index, nil when the graph has no such node.
    public func node(at index: Int) -> NodeRef? { index >= 0 && index < nodes.count ? NodeRef(index: index) : nil }

    /// The op of a node built with `custom`, nil for built-in nodes.
    public func customOp(_ r: NodeRef) -> GraphOp? {
        if case .custom(let op) = nodes[r.index].op { return op }
        return nil
    }

    /// Whether a node is a batch input (the only nodes `feed` accepts).
    public func isInput(_ r: NodeRef) -> Bool {
        if case .input = nodes[r.index].op { return true }
        return false
    }

    /// Whether `backward` computes the objective's gradient with respect to this node
    /// (parameters, inputs built with `gradient`, and every node that depends on one of them).
    public func hasGradient(_ r: NodeRef) -> Bool { nodes[r.index].needsGrad }

    /// A batch input of `cols` features per row (labels are an input of width 1).
    /// With `gradient`, backward also computes the objective's gradient with respect to this
    /// input (read it with `gradient(_:)`; adversarial perturbations such as VAT need it).
    public func input(cols: Int, gradient: Bool = false) -> NodeRef {
        let r = add(.input, [], NodeShape(rows: .batch, cols: cols))
        nodes[r.index].needsGrad = gradient
        return r
    }

    /// A trainable parameter of `shape`, initialised from `rng` (a seeded stream per graph).
    public func parameter(_ name: String, shape: [Int], _ initializer: Initializer,
                          decay: Bool? = nil) -> NodeRef {
        let slot = ParameterSlot(name: name, shape: shape, decay: decay)
        initializer.fill(slot.value, shape: shape, rng: &rng)
        parameters.append(slot)
        let rows = shape.count >= 2 ? shape[0] : 1
        let cols = rows == 0 ? 0 : slot.count / Swift.max(rows, 1)
        let r = add(.parameter(slot), [], NodeShape(rows: .fixed(rows), cols: cols, exact: shape))
        return r
    }

    /// The slot of a parameter node.
    public func slot(_ r: NodeRef) -> ParameterSlot? {
        if case .parameter(let s) = nodes[r.index].op { return s }
        return nil
    }

    /// y = x Wᵀ + b for x (batch, in), W (out, in), b (out).
    public func linear(_ x: NodeRef, _ w: NodeRef, _ b: NodeRef? = nil) throws -> NodeRef {
        let sx = shape(x), sw = shape(w)
        guard case .fixed(let out) = sw.rows, sw.cols == sx.cols else {
            throw GraphError.shape("linear: x has \(sx.cols) features, W is \(sw.exact ?? [])")
        }
        if let b {
            guard nodes[b.index].shape.exact?.reduce(1, *) == out else {
                throw GraphError.shape("linear: bias must hold \(out) values")
            }
        }
        return add(.linear(bias: b != nil), [x, w] + (b.map { [$0] } ?? []), NodeShape(rows: sx.rows, cols: out))
    }

    /// Rows of `table` (vocab, dim) picked by the integer ids of `ids` (batch, 1).
    public func embedding(_ ids: NodeRef, _ table: NodeRef) throws -> NodeRef {
        guard shape(ids).cols == 1, case .fixed = shape(table).rows else {
            throw GraphError.shape("embedding: ids must be (batch, 1) and the table a parameter")
        }
        return add(.embedding, [ids, table], NodeShape(rows: shape(ids).rows, cols: shape(table).cols))
    }

    public func activation(_ x: NodeRef, _ f: Activation) -> NodeRef {
        add(.activation(f), [x], NodeShape(rows: shape(x).rows, cols: shape(x).cols, exact: shape(x).exact))
    }

    /// a + b (a residual connection); shapes must match.
    public func add(_ a: NodeRef, _ b: NodeRef) throws -> NodeRef {
        guard shape(a) == shape(b) else { throw GraphError.shape("add: \(shape(a)) vs \(shape(b))") }
        return add(.add, [a, b], shape(a))
    }

    /// Layer norm over the features of each row: γ ⊙ (x − μ)/sqrt(σ² + eps) + β.
    public func layerNorm(_ x: NodeRef, gain: NodeRef, bias: NodeRef, eps: Double = 1e-5) throws -> NodeRef {
        let c = shape(x).cols
        guard nodes[gain.index].shape.exact?.reduce(1, *) == c, nodes[bias.index].shape.exact?.reduce(1, *) == c else {
            throw GraphError.shape("layer_norm: gain and bias must hold \(c) values")
        }
        return add(.layerNorm(eps: eps), [x, gain, bias], NodeShape(rows: shape(x).rows, cols: c))
    }

    /// Inverted dropout: train y = x ⊙ m/(1−p), m ~ Bernoulli(1−p); eval y = x.
    public func dropout(_ x: NodeRef, p: Double) throws -> NodeRef {
        guard p >= 0, p < 1 else { throw GraphError.value("dropout p must be in [0, 1), got \(p)") }
        return add(.dropout(p: p), [x], shape(x))
    }

    /// Additive Gaussian noise (`gaussian_noise`): train y = x + σ·ε, ε ~ N(0, 1); eval y = x.
    public func gaussianNoise(_ x: NodeRef, sigma: Double) throws -> NodeRef {
        guard sigma >= 0, sigma.isFinite else { throw GraphError.value("gaussian noise σ must be >= 0, got \(sigma)") }
        return add(.gaussianNoise(sigma: sigma), [x], shape(x))
    }

    /// Multiplicative Gaussian noise (`gaussian_dropout`, Keras GaussianDropout): train
    /// y = x ⊙ (1 + sqrt(p/(1−p))·ε), the mean and variance of inverted dropout; eval y = x.
    public func gaussianDropout(_ x: NodeRef, p: Double) throws -> NodeRef {
        guard p >= 0, p < 1 else { throw GraphError.value("gaussian dropout p must be in [0, 1), got \(p)") }
        return add(.gaussianDropout(p: p), [x], shape(x))
    }

    /// Quantisation noise on a tensor (`quant_noise`, QReg), per tensor and symmetric with
    /// s = max|w|/(2^{b−1}−1). `fake_quant` (train and eval): w_q = clamp(round_half_even(w/s), ±(2^{b−1}−1))·s
    /// with the straight-through gradient (identity inside the clamp range, which per-tensor
    /// max scaling never leaves). `uniform_noise` (train only): w + U(−s/2, s/2), gradient 1.
    public func quantNoise(_ x: NodeRef, bits: Int, uniformNoise: Bool = false) throws -> NodeRef {
        guard bits >= 2, bits <= 24 else { throw GraphError.value("quant_noise bits must be in 2...24, got \(bits)") }
        return add(.quantNoise(bits: bits, uniformNoise: uniformNoise), [x], shape(x))
    }

    /// A node computed by an op from outside the engine (a component).
    public func custom(_ op: GraphOp, _ inputs: [NodeRef]) throws -> NodeRef {
        let s = try op.outputShape(inputs.map { shape($0) })
        return add(.custom(op), inputs, s)
    }

    /// Adds a scalar node to the objective (the sum of these terms is minimised).
    public func minimize(_ r: NodeRef) throws {
        guard shape(r).rows == .fixed(1), shape(r).cols == 1 else {
            throw GraphError.shape("an objective term must be a scalar")
        }
        objective.append(r)
    }

    // MARK: Running

    /// Sets the values of batch inputs; every input must be fed with the same row count.
    public func feed(_ feeds: [NodeRef: [Double]]) throws {
        var rows: Int? = nil
        for (r, values) in feeds {
            let n = nodes[r.index]
            guard case .input = n.op else { throw GraphError.feed("node \(r.index) is not an input") }
            let c = n.shape.cols
            guard c > 0, values.count % c == 0 else {
                throw GraphError.feed("input \(r.index): \(values.count) values for rows of \(c)")
            }
            let k = values.count / c
            if let rows, rows != k { throw GraphError.feed("inputs fed with \(rows) and \(k) rows") }
            rows = k
            n.value.reserve(values.count)
            values.withUnsafeBufferPointer { n.value.data.update(from: $0.baseAddress!, count: values.count) }
            n.rows = k
        }
        batch = rows ?? batch
    }

    /// The current value of a node (a view valid until the next run).
    public func value(_ r: NodeRef) -> Tensor<Double> { nodes[r.index].valueTensor }
    /// The gradient of the objective with respect to a node after `backward`.
    public func gradient(_ r: NodeRef) -> Tensor<Double> { nodes[r.index].gradTensor }

    /// Runs every node forward for the fed batch; returns the sum of the objective terms.
    @discardableResult
    public func forward() throws -> Double {
        runs &+= 1
        for n in nodes {
            switch n.shape.rows {
            case .fixed(let r): n.rows = r
            case .batch:
                if case .input = n.op { guard n.rows == batch else { throw GraphError.feed("an input was not fed") } }
                n.rows = batch
            }
            if case .input = n.op { continue }
            if case .parameter = n.op { continue }
            n.value.reserve(n.count)
            try forward(n)
        }
        var total = 0.0
        for r in objective { total += nodes[r.index].v[0] }
        return total
    }

    /// Gradients of Σ seedᵢ · objectiveᵢ (seeds default to 1) into every node that needs one and
    /// into the parameter slots' `grad` (overwritten).
    public func backward(seeds: [Double]? = nil) throws {
        if let seeds, seeds.count != objective.count {
            throw GraphError.value("\(seeds.count) seeds for \(objective.count) objective terms")
        }
        // Gradient buffers are not cleared up front: the first op to reach one either overwrites
        // it (matrix products with beta = 0, ReLU) or clears it then (`accumulator`); buffers no
        // op reached are cleared at the end. That saves a pass over every parameter.
        for n in nodes where n.needsGrad {
            n.gradReady = false
            if case .parameter = n.op { continue }
            n.grad.reserve(n.count)
        }
        for (k, r) in objective.enumerated() where nodes[r.index].needsGrad {
            accumulator(nodes[r.index])[0] += seeds?[k] ?? 1
        }
        for i in stride(from: nodes.count - 1, through: 0, by: -1) {
            let n = nodes[i]
            switch n.op {
            case .parameter, .input: continue
            default:
                if n.needsGrad {
                    _ = accumulator(n)  // dy of a node no op reached is 0
                    try backward(n)
                }
            }
        }
        for n in nodes where n.needsGrad && !n.gradReady { _ = accumulator(n) }
    }

    /// A node's gradient buffer, ready to accumulate into: cleared on the first request of a
    /// backward pass.
    func accumulator(_ n: Node) -> UnsafeMutablePointer<Double> {
        let g = n.g
        if !n.gradReady {
            Parallel.chunks(n.count) { _, r in (g + r.lowerBound).update(repeating: 0, count: r.count) }
            n.gradReady = true
        }
        return g
    }

    /// Forward and backward in one call; returns the objective.
    public func valueAndGradient(seeds: [Double]? = nil) throws -> Double {
        let v = try forward()
        try backward(seeds: seeds)
        return v
    }

    /// The values of the objective terms of the last forward run.
    public var objectiveTerms: [Double] { objective.map { nodes[$0.index].v[0] } }
}
