// Regula — configured components: the Swift API that the C ABI, the CLI and the engine call.
// They check what every component relies on (shapes, input names) so components need not.

import RegulaEngine

/// Checks per-call inputs against the declared ones: unknown names and missing required ones.
func checkInputs(_ inputs: Inputs, _ info: ComponentInfo) throws {
    for name in inputs.items.keys where !info.inputs.contains(where: { $0.name == name }) {
        throw RegulaError.unknownParameter(component: info.id, name: name, known: info.inputs.map(\.name))
    }
    for s in info.inputs where s.required && !inputs.has(s.name) {
        throw RegulaError.invalidArgument("'\(info.id)' needs the input '\(s.name)' (\(s.doc))")
    }
}

func checkSame(_ a: [Int], _ b: [Int], _ what: String) throws {
    guard a == b else { throw RegulaError.shape("\(what) has shape \(a), expected \(b)") }
}

/// A penalty with its parameters; strength is applied here.
public final class PenaltyInstance: @unchecked Sendable {
    public let info: ComponentInfo
    public let params: Params
    public let strength: Double
    public let impl: any Penalty

    init(info: ComponentInfo, params: Params, impl: any Penalty) throws {
        self.info = info; self.params = params; self.impl = impl
        self.strength = try params.real("strength")
    }

    public var hasProx: Bool { impl is any ProximalPenalty }

    /// strength · R(w), with strength · ∇R(w) written into g.
    public func valueAndGradient<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs = .none, into g: Tensor<T>) throws -> Double {
        try checkSame(g.shape, w.shape, "the gradient")
        try checkInputs(inputs, info)
        if let wd = w as? Tensor<Double>, let gd = g as? Tensor<Double> {
            return try impl.valueAndGradient(wd, inputs, scale: strength, into: gd)
        }
        if let wf = w as? Tensor<Float>, let gf = g as? Tensor<Float> {
            return try impl.valueAndGradient(wf, inputs, scale: strength, into: gf)
        }
        throw RegulaError.dtype("unsupported element type")
    }

    /// strength · R(w) (allocates a scratch gradient).
    public func value<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs = .none) throws -> Double {
        let g = NDArray<T>(shape: w.shape)
        return try valueAndGradient(w, inputs, into: g.tensor)
    }

    /// prox_{t R}(v) with t = step · strength; out may alias v.
    public func prox<T: Scalar>(_ v: Tensor<T>, step: Double, _ inputs: Inputs = .none, into out: Tensor<T>) throws {
        guard let p = impl as? any ProximalPenalty else {
            throw RegulaError.unsupported("'\(info.id)' has no prox")
        }
        guard step.isFinite, step >= 0 else {
            throw RegulaError.invalidArgument("prox step must be finite and >= 0 (got \(step))")
        }
        try checkSame(out.shape, v.shape, "the prox output")
        try checkInputs(inputs, info)
        let t = step * strength
        if let vd = v as? Tensor<Double>, let od = out as? Tensor<Double> { return try p.prox(vd, t: t, inputs, into: od) }
        if let vf = v as? Tensor<Float>, let of = out as? Tensor<Float> { return try p.prox(vf, t: t, inputs, into: of) }
        throw RegulaError.dtype("unsupported element type")
    }

    /// Applies state assignments ("step=100") to a stateful penalty (schedules, anneals).
    public func update(_ text: String) throws { try applyState(text, info: info, impl) }
}

/// A loss with its parameters and reduction.
public final class LossInstance: @unchecked Sendable {
    public let info: ComponentInfo
    public let params: Params
    public let reduction: Reduction
    public let impl: any Loss

    init(info: ComponentInfo, params: Params, impl: any Loss) throws {
        self.info = info; self.params = params; self.impl = impl
        self.reduction = try params.choice("reduction")
    }

    /// The reduced loss; per-sample values (batch,) and the gradient with respect to z are
    /// written when given (a scratch gradient is used otherwise).
    public func evaluate<T: Scalar>(_ z: Tensor<T>, target: InputArray?, _ inputs: Inputs = .none,
                                    perSample: UnsafeMutableBufferPointer<T>? = nil,
                                    into g: Tensor<T>? = nil) throws -> Double {
        guard z.shape.count >= 1 else { throw RegulaError.shape("logits must have rank >= 1") }
        if let g { try checkSame(g.shape, z.shape, "the gradient") }
        try checkInputs(inputs, info)
        let rows = z.lastAxis.rows
        if let perSample, perSample.count != rows {
            throw RegulaError.shape("per-sample output has \(perSample.count) values, expected \(rows)")
        }
        let scratch = g == nil ? NDArray<T>(shape: z.shape) : nil
        let grad = g ?? scratch!.tensor
        let ps = UnsafeMutableBufferPointer<Double>.allocate(capacity: Swift.max(rows, 1))
        defer { ps.deallocate() }
        let per = UnsafeMutableBufferPointer(start: ps.baseAddress, count: rows)
        let v: Double
        if let zd = z as? Tensor<Double>, let gd = grad as? Tensor<Double> {
            v = try impl.evaluate(zd, target: target, inputs, reduction: reduction, perSample: per, into: gd)
        } else if let zf = z as? Tensor<Float>, let gf = grad as? Tensor<Float> {
            v = try impl.evaluate(zf, target: target, inputs, reduction: reduction, perSample: per, into: gf)
        } else {
            throw RegulaError.dtype("unsupported element type")
        }
        if let perSample { for i in 0..<rows { perSample[i] = T(ps[i]) } }
        return v
    }

    /// Applies state assignments ("epoch=3") to a stateful loss.
    public func update(_ text: String) throws {
        try applyState(text, info: info, impl)
    }
}

func applyState(_ text: String, info: ComponentInfo, _ impl: Any) throws {
    guard let s = impl as? any Stateful else { throw RegulaError.unsupported("'\(info.id)' keeps no state") }
    var values: [String: ParamValue] = [:]
    for (name, v) in try ParamParser.parse(text) {
        guard let spec = info.state.first(where: { $0.name == name }) else {
            throw RegulaError.unknownParameter(component: info.id, name: name, known: info.state.map(\.name))
        }
        values[name] = try spec.validate(v)
    }
    try s.update(values)
}

/// An output map or activation with its parameters.
public final class MapInstance: @unchecked Sendable {
    public let info: ComponentInfo
    public let params: Params
    public let impl: any OutputMap

    init(info: ComponentInfo, params: Params, impl: any OutputMap) {
        self.info = info; self.params = params; self.impl = impl
    }

    public func forward<T: Scalar>(_ x: Tensor<T>, _ inputs: Inputs = .none, into y: Tensor<T>) throws {
        try checkSame(y.shape, x.shape, "the output")
        try checkInputs(inputs, info)
        try withDouble(x, y) { xd, yd in try impl.forward(xd, inputs, into: yd) }
    }

    public func vjp<T: Scalar>(_ x: Tensor<T>, cotangent: Tensor<T>, _ inputs: Inputs = .none, into gx: Tensor<T>) throws {
        guard info.hasVJP else { throw RegulaError.unsupported("'\(info.id)' has no VJP") }
        try checkSame(cotangent.shape, x.shape, "the cotangent")
        try checkSame(gx.shape, x.shape, "the VJP output")
        try checkInputs(inputs, info)
        if let xd = x as? Tensor<Double>, let cd = cotangent as? Tensor<Double>, let gd = gx as? Tensor<Double> {
            return try impl.vjp(xd, cotangent: cd, inputs, into: gd)
        }
        guard let cf = cotangent as? Tensor<Float> else {
            throw RegulaError.dtype("unsupported element type")
        }
        try ScratchPool.shared.withBuffers(x.count) { c, _ in
            Convert.widen(cf.data, c, count: x.count)
            try withDouble(x, gx) { xd, gd in try impl.vjp(xd, cotangent: Tensor(c, shape: x.shape), inputs, into: gd) }
        }
    }

    public func update(_ text: String) throws { try applyState(text, info: info, impl) }

    private func withDouble<T: Scalar>(_ x: Tensor<T>, _ out: Tensor<T>,
                                       _ body: (Tensor<Double>, Tensor<Double>) throws -> Void) throws {
        if let xd = x as? Tensor<Double>, let od = out as? Tensor<Double> { return try body(xd, od) }
        guard let xf = x as? Tensor<Float>, let of = out as? Tensor<Float> else {
            throw RegulaError.dtype("unsupported element type")
        }
        // float32: one converted copy in, one out (concrete conversions, pooled buffers: no
        // page faults per call).
        try ScratchPool.shared.withBuffers(x.count) { xc, oc in
            Convert.widen(xf.data, xc, count: x.count)
            try body(Tensor(xc, shape: x.shape), Tensor(oc, shape: x.shape))
            Convert.narrow(oc, of.data, count: out.count)
        }
    }
}
