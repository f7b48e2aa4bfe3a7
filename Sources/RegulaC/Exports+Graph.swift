// Regula C ABI — the autodiff graph: build nodes, feed batches, run forward/backward, read
// values and gradients, save/load parameters, and step an optimizer on the graph's parameters.

#if canImport(Glibc)
import Glibc
#endif
import CRegulaABI
import Regula
import RegulaEngine

/// A graph and the run state the C ABI checks before the engine could misbehave.
final class GraphBox {
    let graph: Graph
    /// Parameter names as C strings for rg_graph_parameter_at (freed with the graph).
    private(set) var names: [UnsafeMutablePointer<CChar>] = []
    private(set) var parameterNodes: [Int] = []
    private var nameSet = Set<String>()
    /// Rows each input holds (absent: never fed).
    var fedRows: [Int: Int] = [:]
    /// Inputs fed since the last run and their rows: the feeds of one batch must agree.
    var round: [Int: Int] = [:]
    /// Rows of the latest feed: the batch of the next run.
    var batch = 0
    var ranForward = false, ranBackward = false

    /// Largest number of values one node may hold (2^27 doubles, 1 GiB).
    static let maxValues = 1 << 27

    init(seed: UInt64) { graph = Graph(seed: seed) }
    deinit { for p in names { free(p) } }

    func node(_ i: Int64, _ what: String) throws -> NodeRef {
        guard i >= 0, i < Int64(graph.nodeCount), let r = graph.node(at: Int(i)) else {
            throw RegulaError.invalidArgument("\(what) = \(i) is not a node of this graph (it has \(graph.nodeCount))")
        }
        return r
    }

    func addParameter(_ name: String, shape: [Int], _ initializer: Initializer) throws -> NodeRef {
        guard !name.isEmpty, name.utf8.count <= 4096 else {
            throw RegulaError.invalidArgument("a parameter name must have 1 to 4096 bytes")
        }
        guard !nameSet.contains(name) else { throw RegulaError.invalidArgument("a parameter is already named '\(name)'") }
        guard let copy = strdup(name) else { throw RegulaError.internal("out of memory") }
        let r = graph.parameter(name, shape: shape, initializer)
        nameSet.insert(name); names.append(copy); parameterNodes.append(r.index)
        return r
    }

    /// The rows a node holds now: a parameter's or scalar's own shape, else (rows, cols).
    func shape(_ r: NodeRef) -> [Int] {
        let s = graph.shape(r)
        if let exact = s.exact { return exact }
        switch s.rows {
        case .fixed(let n): return [n, s.cols]
        case .batch: return [graph.isInput(r) ? fedRows[r.index] ?? 0 : batch, s.cols]
        }
    }

    /// Every input holds the current batch and no node outgrows `maxValues`.
    func checkRunnable() throws {
        for i in 0..<graph.nodeCount {
            guard let r = graph.node(at: i), case let s = graph.shape(r), s.rows == Rows.batch else { continue }
            if graph.isInput(r) {
                guard let rows = fedRows[i] else { throw GraphError.feed("input \(i) was never fed (rg_graph_feed)") }
                guard rows == batch else {
                    throw GraphError.feed("input \(i) holds \(rows) rows from an earlier feed but the batch has \(batch): feed it too")
                }
            }
            let (n, o) = batch.multipliedReportingOverflow(by: s.cols)
            guard !o, n <= GraphBox.maxValues else {
                throw RegulaError.shape("node \(i) would hold \(batch) × \(s.cols) values (limit \(GraphBox.maxValues)): feed smaller batches")
            }
        }
    }
}

/// The graph behind a handle.
func graphBox(_ handle: OpaquePointer?) throws -> GraphBox {
    try Handles.shared.get(UnsafeMutableRawPointer(handle), as: GraphBox.self, "graph")
}

/// Adds a node: `out` is checked before anything is built and gets the new node's index.
func addNode(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<Int64>?,
             _ build: (GraphBox) throws -> NodeRef) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        guard let out else { throw nullError("out") }
        out.pointee = -1
        let r = try build(box)
        box.ranForward = false; box.ranBackward = false  // the new node has no value yet
        out.pointee = Int64(r.index)
    }
}

/// Copies a node's value or gradient into a caller array of its shape (float32 or float64);
/// a width-1 node of (rows, 1) may also go into a (rows,) vector.
func copyOut(_ t: Tensor<Double>, _ p: UnsafeMutablePointer<rg_array>?, _ what: String) throws {
    let l = try Layout(p.map { UnsafePointer($0) }, what)
    var shape = t.shape
    if shape.count == 2, shape[1] == 1, l.shape == [shape[0]] { shape = l.shape }
    switch l.dtype {
    case RG_FLOAT32:
        let o = try outputTensor(p, what, shape: shape, as: Float.self)
        for i in 0..<t.count { o[i] = Float(t[i]) }
    case RG_FLOAT64:
        let o = try outputTensor(p, what, shape: shape, as: Double.self)
        o.data.update(from: t.data, count: t.count)
    default:
        throw RegulaError.dtype("\(what) must be float32 or float64")
    }
}

// MARK: Lifecycle

@_cdecl("rg_graph_new")
public func rg_graph_new(_ seed: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    guarded { try storeHandle(out) { GraphBox(seed: seed) } }
}

@_cdecl("rg_graph_set_precision")
public func rg_graph_set_precision(_ handle: OpaquePointer?, _ precision: UnsafePointer<CChar>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let text = try string(precision, "precision")
        guard let p = Precision(rawValue: text) else {
            throw RegulaError.invalidParameter(name: "precision", value: text, reason: "must be f64 or f32")
        }
        box.graph.precision = p
        box.ranForward = false; box.ranBackward = false
    }
}

@_cdecl("rg_graph_free")
public func rg_graph_free(_ handle: OpaquePointer?) -> rg_status {
    guarded { try Handles.shared.free(UnsafeMutableRawPointer(handle), as: GraphBox.self, "graph") }
}

// MARK: Building

@_cdecl("rg_graph_input")
public func rg_graph_input(_ handle: OpaquePointer?, _ cols: Int64, _ flags: Int32, _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in
        guard cols >= 1, cols <= 1 << 24 else { throw RegulaError.shape("an input needs 1 to 2^24 columns, got \(cols)") }
        guard flags & ~RG_GRAPH_INPUT_GRAD == 0 else { throw RegulaError.invalidArgument("unknown input flags \(flags)") }
        return box.graph.input(cols: Int(cols), gradient: flags & RG_GRAPH_INPUT_GRAD != 0)
    }
}

@_cdecl("rg_graph_parameter")
public func rg_graph_parameter(_ handle: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ shape: UnsafePointer<Int64>?,
                               _ rank: Int32, _ initSpec: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in
        let name = try string(name, "name"), spec = try string(initSpec, "init")
        guard rank >= 0, rank <= RG_MAX_RANK else { throw RegulaError.shape("rank \(rank) is not in 0...\(RG_MAX_RANK)") }
        guard rank == 0 || shape != nil else { throw nullError("shape") }
        var dims: [Int] = [], count = 1
        for k in 0..<Int(rank) {
            let d = shape![k]
            guard d >= 1 else { throw RegulaError.shape("parameter '\(name)' has dimension \(d); dimensions must be >= 1") }
            let (c, o) = count.multipliedReportingOverflow(by: Int(d))
            guard !o, c <= GraphBox.maxValues else {
                throw RegulaError.shape("parameter '\(name)' would hold more than \(GraphBox.maxValues) values")
            }
            dims.append(Int(d)); count = c
        }
        return try box.addParameter(name, shape: dims, try GraphSpecs.initializer(spec))
    }
}

@_cdecl("rg_graph_linear")
public func rg_graph_linear(_ handle: OpaquePointer?, _ x: Int64, _ w: Int64, _ b: Int64,
                            _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in
        let bias = b == -1 ? nil : try box.node(b, "b")
        return try box.graph.linear(try box.node(x, "x"), try box.node(w, "w"), bias)
    }
}

@_cdecl("rg_graph_embedding")
public func rg_graph_embedding(_ handle: OpaquePointer?, _ ids: Int64, _ table: Int64,
                               _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in try box.graph.embedding(try box.node(ids, "ids"), try box.node(table, "table")) }
}

@_cdecl("rg_graph_activation")
public func rg_graph_activation(_ handle: OpaquePointer?, _ x: Int64, _ spec: UnsafePointer<CChar>?,
                                _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in
        let r = try box.node(x, "x")
        switch try GraphSpecs.activation(try string(spec, "spec")) {
        case .builtin(let f): return box.graph.activation(r, f)
        case .map(let op): return try box.graph.custom(op, [r])
        }
    }
}

@_cdecl("rg_graph_add")
public func rg_graph_add(_ handle: OpaquePointer?, _ a: Int64, _ b: Int64, _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in try box.graph.add(try box.node(a, "a"), try box.node(b, "b")) }
}

@_cdecl("rg_graph_reduce")
public func rg_graph_reduce(_ handle: OpaquePointer?, _ x: Int64, _ how: UnsafePointer<CChar>?,
                            _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in
        let op = try ReduceOp(try string(how, "reduction"))
        return try box.graph.custom(op, [try box.node(x, "x")])
    }
}

@_cdecl("rg_graph_layer_norm")
public func rg_graph_layer_norm(_ handle: OpaquePointer?, _ x: Int64, _ gain: Int64, _ bias: Int64, _ eps: Double,
                                _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in
        guard eps > 0, eps.isFinite else {
            throw RegulaError.invalidParameter(name: "eps", value: formatNumber(eps), reason: "must be > 0 and finite")
        }
        return try box.graph.layerNorm(try box.node(x, "x"), gain: try box.node(gain, "gain"), bias: try box.node(bias, "bias"), eps: eps)
    }
}

@_cdecl("rg_graph_noise")
public func rg_graph_noise(_ handle: OpaquePointer?, _ x: Int64, _ spec: UnsafePointer<CChar>?,
                           _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in
        let r = try box.node(x, "x"), g = box.graph
        switch try GraphSpecs.noise(try string(spec, "spec")) {
        case .dropout(let p): return try g.dropout(r, p: p)
        case .gaussianNoise(let sigma): return try g.gaussianNoise(r, sigma: sigma)
        case .gaussianDropout(let p): return try g.gaussianDropout(r, p: p)
        case .quantNoise(let bits, let uniform): return try g.quantNoise(r, bits: bits, uniformNoise: uniform)
        }
    }
}

@_cdecl("rg_graph_op")
public func rg_graph_op(_ handle: OpaquePointer?, _ spec: UnsafePointer<CChar>?, _ inputs: UnsafePointer<Int64>?, _ n: Int64,
                        _ inputNames: UnsafePointer<UnsafePointer<CChar>?>?, _ out: UnsafeMutablePointer<Int64>?) -> rg_status {
    addNode(handle, out) { box in
        let text = try string(spec, "spec")
        guard n >= 0, n <= 64 else { throw RegulaError.invalidArgument("n = \(n) inputs is out of range (0...64)") }
        guard n == 0 || inputs != nil else { throw nullError("inputs") }
        var refs: [NodeRef] = []
        for i in 0..<Int(n) { refs.append(try box.node(inputs![i], "inputs[\(i)]")) }
        var names: [String] = []
        if let inputNames {
            for i in 0..<max(Int(n) - 1, 0) { names.append(try string(inputNames[i], "input_names[\(i)]")) }
        }
        return try box.graph.custom(try GraphSpecs.op(text, inputs: Int(n), inputNames: names), refs)
    }
}

@_cdecl("rg_graph_minimize")
public func rg_graph_minimize(_ handle: OpaquePointer?, _ node: Int64) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let r = try box.node(node, "node")
        guard !box.graph.objective.contains(r) else { throw RegulaError.invalidArgument("node \(node) is already in the objective") }
        try box.graph.minimize(r)
        box.ranForward = false; box.ranBackward = false
    }
}

// MARK: Running

@_cdecl("rg_graph_feed")
public func rg_graph_feed(_ handle: OpaquePointer?, _ node: Int64, _ values: UnsafePointer<rg_array>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let r = try box.node(node, "node")
        guard box.graph.isInput(r) else { throw GraphError.feed("node \(node) is not an input: only inputs are fed") }
        let cols = box.graph.shape(r).cols
        let shape: [Int], flat: [Double]
        switch try inputArray(values, "values") {  // validates dtype, rank, strides and finiteness
        case .real(let s, let v): shape = s; flat = v
        case .index(let s, let v): shape = s; flat = v.map(Double.init)
        }
        guard (shape.count == 2 && shape[1] == cols) || (shape.count == 1 && cols == 1) else {
            throw RegulaError.shape("input \(node) takes (rows, \(cols))\(cols == 1 ? " or (rows,)" : ""), got \(shape)")
        }
        let rows = shape[0]
        guard rows >= 1 else { throw RegulaError.shape("input \(node) was fed an empty batch") }
        if let (other, b) = box.round.first(where: { $0.key != r.index && $0.value != rows }) {
            throw RegulaError.shape("input \(node) was fed \(rows) rows but input \(other), fed since the last run, has \(b)")
        }
        try box.graph.feed([r: flat])
        box.round[r.index] = rows; box.batch = rows; box.fedRows[r.index] = rows
        box.ranForward = false; box.ranBackward = false
    }
}

@_cdecl("rg_graph_forward")
public func rg_graph_forward(_ handle: OpaquePointer?, _ training: Int32, _ objective: UnsafeMutablePointer<Double>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        try box.checkRunnable()
        box.round = [:]
        box.ranForward = false; box.ranBackward = false
        box.graph.training = training != 0
        let v = try box.graph.forward()
        box.ranForward = true
        objective?.pointee = v
    }
}

@_cdecl("rg_graph_backward")
public func rg_graph_backward(_ handle: OpaquePointer?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        guard !box.graph.objective.isEmpty else { throw GraphError.feed("the graph has no objective (rg_graph_minimize)") }
        guard box.ranForward else { throw GraphError.feed("backward needs a forward run on the current feeds and nodes first") }
        box.ranBackward = false
        try box.graph.backward()
        box.ranBackward = true
    }
}

@_cdecl("rg_graph_node_shape")
public func rg_graph_node_shape(_ handle: OpaquePointer?, _ node: Int64, _ shape: UnsafeMutablePointer<Int64>?,
                                _ rank: UnsafeMutablePointer<Int32>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let r = try box.node(node, "node")
        guard let shape else { throw nullError("shape") }
        guard let rank else { throw nullError("rank") }
        let s = box.shape(r)
        for (k, d) in s.enumerated() { shape[k] = Int64(d) }
        rank.pointee = Int32(s.count)
    }
}

@_cdecl("rg_graph_value")
public func rg_graph_value(_ handle: OpaquePointer?, _ node: Int64, _ out: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let r = try box.node(node, "node"), g = box.graph
        if g.isInput(r) {
            guard box.fedRows[r.index] != nil else { throw GraphError.feed("input \(node) was never fed") }
        } else if g.slot(r) == nil {
            guard box.ranForward else { throw GraphError.feed("node \(node) has no value: run rg_graph_forward after the last feed or change") }
        }
        try copyOut(g.value(r), out, "out")
    }
}

@_cdecl("rg_graph_gradient")
public func rg_graph_gradient(_ handle: OpaquePointer?, _ node: Int64, _ out: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let r = try box.node(node, "node"), g = box.graph
        guard g.hasGradient(r) else {
            throw RegulaError.invalidArgument(g.isInput(r)
                ? "input \(node) was built without RG_GRAPH_INPUT_GRAD: it has no gradient"
                : "node \(node) depends on no parameter or gradient input: it has no gradient")
        }
        guard box.ranBackward else { throw GraphError.feed("no gradients yet: run rg_graph_backward after rg_graph_forward") }
        try copyOut(g.gradient(r), out, "out")
    }
}

// MARK: Parameters

@_cdecl("rg_graph_parameter_count")
public func rg_graph_parameter_count(_ handle: OpaquePointer?, _ count: UnsafeMutablePointer<Int64>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        guard let count else { throw nullError("count") }
        count.pointee = Int64(box.parameterNodes.count)
    }
}

@_cdecl("rg_graph_parameter_at")
public func rg_graph_parameter_at(_ handle: OpaquePointer?, _ i: Int64, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                  _ node: UnsafeMutablePointer<Int64>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        guard i >= 0, i < Int64(box.parameterNodes.count) else {
            throw RegulaError.invalidArgument("parameter index \(i) is out of range (the graph has \(box.parameterNodes.count))")
        }
        guard name != nil || node != nil else { throw nullError("name and node") }
        name?.pointee = UnsafePointer(box.names[Int(i)])
        node?.pointee = Int64(box.parameterNodes[Int(i)])
    }
}

@_cdecl("rg_graph_set_value")
public func rg_graph_set_value(_ handle: OpaquePointer?, _ node: Int64, _ values: UnsafePointer<rg_array>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let r = try box.node(node, "node")
        guard let slot = box.graph.slot(r) else { throw RegulaError.invalidArgument("node \(node) is not a parameter") }
        let x = try inputTensor(values, "values")  // float32/float64, finite, any strides
        guard x.shape == slot.shape else { throw RegulaError.shape("parameter '\(slot.name)' is \(slot.shape), values are \(x.shape)") }
        switch x {
        case .f32(let t, let owner): withExtendedLifetime(owner) { for i in 0..<slot.count { slot.value[i] = Double(t[i]) } }
        case .f64(let t, let owner): withExtendedLifetime(owner) { slot.value.update(from: t.data, count: slot.count) }
        }
        box.ranForward = false; box.ranBackward = false
    }
}

@_cdecl("rg_graph_save")
public func rg_graph_save(_ handle: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        try box.graph.saveParameters(to: try string(path, "path"))
    }
}

@_cdecl("rg_graph_load")
public func rg_graph_load(_ handle: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        try box.graph.loadParameters(from: try string(path, "path"))
        box.ranForward = false; box.ranBackward = false
    }
}

// MARK: Training

@_cdecl("rg_graph_neighbors")
public func rg_graph_neighbors(_ handle: OpaquePointer?, _ node: Int64, _ y: UnsafePointer<rg_array>?,
                               _ out: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let r = try box.node(node, "node")
        guard let op = box.graph.customOp(r) as? LipschitzGeneratorOp else {
            throw RegulaError.invalidArgument("node \(node) is not a lipschitz_generator op")
        }
        guard case .real(let shape, let values) = try inputArray(y, "y") else {
            throw RegulaError.dtype("y must be float32 or float64")
        }
        guard shape.count == 1 || shape.count == 2, shape[0] >= 1 else {
            throw RegulaError.shape("y must be (rows, cols) or (rows,) with rows >= 1, got \(shape)")
        }
        let cols = shape.count == 2 ? shape[1] : 1
        guard cols >= 1 else { throw RegulaError.shape("y has no columns") }
        let neighbors = try op.neighbors(values, cols: cols, rng: &box.graph.rng)
        try neighbors.withUnsafeBufferPointer {
            try copyOut(Tensor(UnsafeMutablePointer(mutating: $0.baseAddress!), shape: shape), out, "y_prime")
        }
    }
}

@_cdecl("rg_graph_step")
public func rg_graph_step(_ handle: OpaquePointer?, _ optimizer: OpaquePointer?, _ loss: UnsafeMutablePointer<Double>?) -> rg_status {
    guarded {
        let box = try graphBox(handle)
        let opt = try Handles.shared.get(UnsafeMutableRawPointer(optimizer), as: OptimizerBox.self, "optimizer")
        let g = box.graph
        guard !g.objective.isEmpty else { throw GraphError.feed("the graph has no objective (rg_graph_minimize)") }
        try box.checkRunnable()
        let stepper = try opt.stepper(for: box)
        let slots = stepper.params
        opt.snapshot.save(slots)
        box.round = [:]
        box.ranForward = false; box.ranBackward = false
        g.training = true
        do {
            // Per-term evaluation, so termwise wrappers (surrogate_gradient_norm) get the
            // gradients of the objective terms apart; every other step sees their sum.
            let value = try stepper.step(terms: g.objective.count) { seeds in
                let v = try Trainer.objective(g, weights: seeds)
                guard v.isFinite else { throw RegulaError.nonFinite(what: "the objective", index: 0) }
                for s in g.parameters {
                    if let i = Kernels.firstNonFinite(UnsafePointer(s.grad), count: s.count) {
                        throw RegulaError.nonFinite(what: "the gradient of '\(s.name)'", index: i)
                    }
                }
                return v
            }
            loss?.pointee = value
        } catch {
            // Leave the parameters as they were (a wrapper may have left perturbed values).
            opt.snapshot.restore(slots)
            throw error
        }
        box.ranForward = true; box.ranBackward = true  // the values and gradients of the step's last evaluation
    }
}
