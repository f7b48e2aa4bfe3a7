// Regula — the component protocols: Penalty (+ prox), Loss, OutputMap, and their side inputs.

import RegulaEngine

// MARK: Side inputs

/// An owned array that travels beside the main input: labels, masks, a matrix C, targets.
public enum InputArray: Sendable {
    case real(shape: [Int], values: [Double])
    case index(shape: [Int], values: [Int])

    public var shape: [Int] {
        switch self {
        case .real(let s, _), .index(let s, _): s
        }
    }
    public var count: Int { shape.reduce(1, *) }
}

/// Named side inputs of one call (per-batch data) or fixed data of a component.
public struct Inputs: Sendable, ExpressibleByDictionaryLiteral {
    public var items: [String: InputArray]
    public init(_ items: [String: InputArray] = [:]) { self.items = items }
    public init(dictionaryLiteral elements: (String, InputArray)...) {
        items = Dictionary(elements, uniquingKeysWith: { a, _ in a })
    }
    public static let none = Inputs()

    /// A real input; throws when it is missing or holds indices.
    public func real(_ name: String) throws -> (shape: [Int], values: [Double]) {
        switch items[name] {
        case .real(let s, let v): return (s, v)
        case .index(let s, let v): return (s, v.map(Double.init))
        case nil: throw RegulaError.invalidArgument("missing input '\(name)'")
        }
    }
    /// An integer input (labels, ids); throws when it is missing or holds non-integers.
    public func index(_ name: String) throws -> (shape: [Int], values: [Int]) {
        switch items[name] {
        case .index(let s, let v): return (s, v)
        case .real(let s, let v):
            var out = [Int](); out.reserveCapacity(v.count)
            for x in v {
                guard x == x.rounded(), abs(x) < 9e15 else {
                    throw RegulaError.dtype("input '\(name)' must hold integers")
                }
                out.append(Int(x))
            }
            return (s, out)
        case nil: throw RegulaError.invalidArgument("missing input '\(name)'")
        }
    }
    public func has(_ name: String) -> Bool { items[name] != nil }
}

// MARK: Penalties

/// A weight or feature penalty R(W). Implementations return `scale · R(W)` and write
/// `scale · ∇R(W)` into `g` (same shape as `w`), in one pass where the formula allows.
public protocol Penalty: Sendable {
    func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double,
                          into g: Tensor<Double>) throws -> Double
    /// float32: defaults to a float64 evaluation of a converted copy.
    func valueAndGradient(_ w: Tensor<Float>, _ inputs: Inputs, scale: Double,
                          into g: Tensor<Float>) throws -> Double
}

/// A penalty written once, generically over the element type: both `Penalty` entry points
/// forward to `evaluate` (no float64 copy of float32 inputs). Most matrix and row penalties use it.
public protocol GenericPenalty: Penalty {
    func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs, scale: Double, into g: Tensor<T>) throws -> Double
}

/// A `GenericPenalty` whose prox is also written once, generically over the element type.
public protocol GenericProximal: GenericPenalty, ProximalPenalty {
    func proximal<T: Scalar>(_ v: Tensor<T>, t: Double, _ inputs: Inputs, into out: Tensor<T>) throws
}

/// A penalty with a proximal operator: out = argmin_x t·R(x) + ½‖x − v‖² (out may alias v).
public protocol ProximalPenalty: Penalty {
    func prox(_ v: Tensor<Double>, t: Double, _ inputs: Inputs, into out: Tensor<Double>) throws
    func prox(_ v: Tensor<Float>, t: Double, _ inputs: Inputs, into out: Tensor<Float>) throws
}

extension Penalty {
    public func valueAndGradient(_ w: Tensor<Float>, _ inputs: Inputs, scale: Double,
                                 into g: Tensor<Float>) throws -> Double {
        try viaDouble(w, g) { wd, gd in try valueAndGradient(wd, inputs, scale: scale, into: gd) }
    }
}

extension GenericPenalty {
    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        try evaluate(w, inputs, scale: scale, into: g)
    }
    public func valueAndGradient(_ w: Tensor<Float>, _ inputs: Inputs, scale: Double, into g: Tensor<Float>) throws -> Double {
        try evaluate(w, inputs, scale: scale, into: g)
    }
}

extension GenericProximal {
    public func prox(_ v: Tensor<Double>, t: Double, _ inputs: Inputs, into out: Tensor<Double>) throws {
        try proximal(v, t: t, inputs, into: out)
    }
    public func prox(_ v: Tensor<Float>, t: Double, _ inputs: Inputs, into out: Tensor<Float>) throws {
        try proximal(v, t: t, inputs, into: out)
    }
}

extension ProximalPenalty {
    public func prox(_ v: Tensor<Float>, t: Double, _ inputs: Inputs, into out: Tensor<Float>) throws {
        _ = try viaDouble(v, out) { vd, od in try prox(vd, t: t, inputs, into: od); return 0 }
    }
}

/// Runs a float64 body on converted copies of a float32 input and output.
@inlinable
func viaDouble(_ x: Tensor<Float>, _ out: Tensor<Float>,
               _ body: (Tensor<Double>, Tensor<Double>) throws -> Double) rethrows -> Double {
    let xd = NDArray<Double>(shape: x.shape), od = NDArray<Double>(shape: out.shape)
    Convert.widen(x.data, xd.storage.baseAddress!, count: x.count)
    let r = try body(xd.tensor, od.tensor)
    Convert.narrow(od.storage.baseAddress!, out.data, count: out.count)
    return r
}

/// A penalty that is a sum of one function over the elements: R(W) = Σ φ(w_ij).
/// Conformers give φ and φ'; the kernel does the one pass (both dtypes, threads, Double sums).
public protocol ElementwisePenalty: Penalty, PointwiseFunction {
    /// (φ(x), φ'(x)) of the unscaled penalty.
    func phi(_ x: Double) -> (Double, Double)
}

extension ElementwisePenalty {
    @inlinable
    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double,
                                 into g: Tensor<Double>) throws -> Double {
        Kernels.valueAndGradient(w.data, g.data, count: w.count, scale: scale, self)
    }
    @inlinable
    public func valueAndGradient(_ w: Tensor<Float>, _ inputs: Inputs, scale: Double,
                                 into g: Tensor<Float>) throws -> Double {
        Kernels.valueAndGradient(w.data, g.data, count: w.count, scale: scale, self)
    }
}

/// An elementwise penalty whose prox is elementwise too.
public protocol ElementwiseProximal: ElementwisePenalty, ProximalPenalty, PointwiseProx {
    /// prox_{t φ}(v) for one element.
    func proxScalar(_ v: Double, t: Double) -> Double
}

extension ElementwiseProximal {
    @inlinable
    public func prox(_ v: Tensor<Double>, t: Double, _ inputs: Inputs, into out: Tensor<Double>) throws {
        Kernels.prox(v.data, out.data, count: v.count, t: t, self)
    }
    @inlinable
    public func prox(_ v: Tensor<Float>, t: Double, _ inputs: Inputs, into out: Tensor<Float>) throws {
        Kernels.prox(v.data, out.data, count: v.count, t: t, self)
    }
}

// MARK: Losses

/// How a loss reduces per-sample values: mean (default), sum, or none (per-sample values).
public enum Reduction: String, Sendable, CaseIterable { case mean, sum, none }

/// A loss on logits z (rows along the last axis) and a target (labels or real targets).
/// `evaluate` writes the per-sample losses into `perSample` (one per row), the gradient of the
/// returned value into `g` (for `.none`: of the sum of per-sample losses), and returns the
/// reduced value.
public protocol Loss: Sendable {
    func evaluate(_ z: Tensor<Double>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                  perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Double>) throws -> Double
    /// float32 logits: defaults to a float64 evaluation of a converted copy.
    func evaluate(_ z: Tensor<Float>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                  perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Float>) throws -> Double
}

extension Loss {
    public func evaluate(_ z: Tensor<Float>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Float>) throws -> Double {
        try viaDouble(z, g) { zd, gd in
            try evaluate(zd, target: target, inputs, reduction: reduction, perSample: perSample, into: gd)
        }
    }
}

/// A loss that is a (weighted) sum of independent per-row terms. `row` returns the row's loss
/// and its weight in the mean's denominator (1 normally; a class weight; 0 for ignored rows)
/// and writes ∂ℓ/∂z_row into `g`. The driver below does the rest once for every such loss:
/// float32 rows are converted one at a time (no full copies), rows are split over threads for
/// large batches (so `row` must not mutate shared state), and the mean is applied in the same
/// pass when `totalWeight` is known.
public protocol RowLoss: Loss {
    /// Checks the target against the logits' (rows, classes) once per call.
    func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets
    func row(_ z: UnsafePointer<Double>, classes: Int, target: RowTargets, index: Int,
             scratch: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double)
    /// Σ of the rows' weights when known before evaluating them (enables one-pass means).
    func totalWeight(rows: Int, target: RowTargets) -> Double?
}

/// The per-row view of a loss target: a label per row, or a real row per row.
public struct RowTargets: Sendable {
    public var labels: [Int]?
    public var reals: [Double]?
    public var width: Int
    public init(labels: [Int]? = nil, reals: [Double]? = nil, width: Int = 0) {
        self.labels = labels; self.reals = reals; self.width = width
    }
}

extension RowLoss {
    /// Default target: integer labels (one per row, in range) or real targets of z's shape.
    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        try rowTargets(rows: rows, classes: classes, target: target)
    }

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { nil }

    public func evaluate(_ z: Tensor<Double>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Double>) throws -> Double {
        try evaluateRows(z, target: target, inputs, reduction: reduction, perSample: perSample, into: g)
    }

    public func evaluate(_ z: Tensor<Float>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Float>) throws -> Double {
        try evaluateRows(z, target: target, inputs, reduction: reduction, perSample: perSample, into: g)
    }

    func evaluateRows<T: Scalar>(_ z: Tensor<T>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                                 perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<T>) throws -> Double {
        let (rows, classes) = z.lastAxis
        let t = try prepare(rows: rows, classes: classes, target: target, inputs)
        let known = reduction == .mean ? totalWeight(rows: rows, target: t) : nil
        if reduction == .mean, let known, !(known > 0) {
            throw RegulaError.invalidArgument(rows == 0 ? "mean over an empty batch" : "mean over a batch whose weights sum to 0")
        }
        let scale = known.map { 1 / $0 } ?? 1
        let isDouble = T.self == Double.self
        var partial = [(Double, Double)](repeating: (0, 0), count: Parallel.workers)
        let minimumRows = Swift.max(1, Parallel.threshold / Swift.max(classes, 1))
        partial.withUnsafeMutableBufferPointer { partial in
            Parallel.chunks(rows, minimum: Swift.max(2, minimumRows)) { chunk, range in
                // Per-chunk scratch: the row in Double, its gradient, and the loss's own scratch.
                let buffers = UnsafeMutablePointer<Double>.allocate(capacity: 3 * Swift.max(classes, 1))
                defer { buffers.deallocate() }
                let zrow = buffers, grow = buffers + classes, scratch = buffers + 2 * classes
                var total = 0.0, weight = 0.0
                for i in range {
                    let zi = z.data + i * classes, gi = g.data + i * classes
                    let zp: UnsafePointer<Double>, gp: UnsafeMutablePointer<Double>
                    if isDouble {
                        zp = UnsafeRawPointer(zi).assumingMemoryBound(to: Double.self)
                        gp = UnsafeMutableRawPointer(gi).assumingMemoryBound(to: Double.self)
                    } else {
                        for c in 0..<classes { zrow[c] = zi[c].double }
                        zp = UnsafePointer(zrow); gp = grow
                    }
                    let (l, w) = row(zp, classes: classes, target: t, index: i, scratch: scratch, g: gp)
                    perSample[i] = l; total += l; weight += w
                    if isDouble {
                        if scale != 1 { for c in 0..<classes { gp[c] *= scale } }
                    } else {
                        for c in 0..<classes { gi[c] = T(scale * gp[c]) }
                    }
                }
                partial[chunk] = (total, weight)
            }
        }
        var total = 0.0, weight = 0.0
        for (a, b) in partial { total += a; weight += b }
        guard reduction == .mean else { return total }
        if known != nil { return total * scale }
        guard weight > 0 else {
            throw RegulaError.invalidArgument(rows == 0 ? "mean over an empty batch" : "mean over a batch whose weights sum to 0")
        }
        let inv = 1 / weight
        for k in 0..<g.count { g[k] = T(g[k].double * inv) }  // weights known only afterwards
        return total * inv
    }
}

// MARK: Output maps

/// A map applied along the last axis (softmax alternatives, activations, weightings):
/// y = f(x) with the same shape, and its vector-Jacobian product.
public protocol OutputMap: Sendable {
    func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws
    /// gx = J(x)ᵀ · cotangent.
    func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs,
             into gx: Tensor<Double>) throws
}

/// A component whose state changes during training (schedules by epoch, per-sample targets).
public protocol Stateful: AnyObject, Sendable {
    /// Applies validated state assignments (names from the info's `state` schema).
    func update(_ values: [String: ParamValue]) throws
}

/// A constructed component of any kind.
public enum AnyComponent: Sendable {
    case penalty(any Penalty)
    case loss(any Loss)
    case map(any OutputMap)
}
