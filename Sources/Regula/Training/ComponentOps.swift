// Regula — registered components as graph nodes: losses, output maps and penalties, whose
// backward is the component's own exact gradient or VJP.

import RegulaEngine

/// A target node's batch as a loss target: width 1 holds integer labels, a width equal to the
/// logits' holds probabilities.
func lossTarget(_ t: Tensor<Double>, classes: Int) throws -> InputArray {
    let (rows, cols) = t.lastAxis
    if cols == 1 && classes != 1 {
        var labels = [Int](repeating: 0, count: rows)
        for i in 0..<rows {
            let v = t[i]
            guard v == v.rounded(), abs(v) < 9e15 else { throw RegulaError.dtype("label \(v) at row \(i) is not an integer") }
            labels[i] = Int(v)
        }
        return .index(shape: [rows], values: labels)
    }
    return .real(shape: [rows, cols], values: Array(t.buffer))
}

extension GraphOp {
    /// The backward of an op whose forward saved its gradient with respect to input 0: that
    /// gradient times the output's seed, added or written (`overwrite`); other inputs get none.
    fileprivate func scaledBackward(_ grad: NDArray<Double>?, _ outGrad: Tensor<Double>, _ inputGrads: [Tensor<Double>?],
                                    _ overwrite: [Bool]) {
        clear(inputGrads, overwrite, from: grad == nil ? 0 : 1)
        guard let gx = inputGrads[0], let g = grad else { return }
        Kernels.addScaled(outGrad[0], g.storage.baseAddress!, into: gx.data, count: gx.count, accumulate: !overwrite[0])
    }
}

/// A loss node: inputs (logits or map output (batch, K), target (batch, 1 or K)); output the
/// reduced loss (a scalar). The forward keeps the loss's gradient, the backward scales it.
public final class LossOp: GraphOp {
    public let loss: LossInstance
    public var label: String { loss.info.id }
    private var grad: NDArray<Double>? = nil
    /// Per-sample losses of the last forward (batch,).
    public private(set) var perSample: [Double] = []

    public init(_ loss: LossInstance) throws {
        guard loss.reduction != .none else {
            throw RegulaError.invalidArgument("a loss node needs reduction mean or sum, not none")
        }
        self.loss = loss
    }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 2, inputs[0].rows == inputs[1].rows,
              inputs[1].cols == 1 || inputs[1].cols == inputs[0].cols else {
            throw RegulaError.shape("loss '\(label)' takes (batch, K) scores and a (batch, 1) or (batch, K) target")
        }
        return .scalar
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let z = inputs[0]
        let target = try lossTarget(inputs[1], classes: z.lastAxis.cols)
        if grad?.shape != z.shape { grad = NDArray(shape: z.shape) }
        if perSample.count != z.lastAxis.rows { perSample = [Double](repeating: 0, count: z.lastAxis.rows) }
        out[0] = try perSample.withUnsafeMutableBufferPointer { ps in
            try loss.evaluate(z, target: target, perSample: ps, into: grad!.tensor)
        }
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into inputGrads: [Tensor<Double>?]) throws {
        try backward(inputs, output: output, outGrad: outGrad, into: inputGrads, overwrite: [false, false])
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into inputGrads: [Tensor<Double>?], overwrite: [Bool]) throws {
        scaledBackward(grad, outGrad, inputGrads, overwrite)  // the target gets no gradient
    }
}

/// An output-map node: y = f(x) along the last axis; backward is the map's VJP.
public final class MapOp: GraphOp {
    public let map: MapInstance
    public var label: String { map.info.id }
    private var scratch: NDArray<Double>? = nil

    public init(_ map: MapInstance) throws {
        guard map.info.hasVJP else { throw RegulaError.unsupported("'\(map.info.id)' has no VJP: it cannot be a graph node") }
        self.map = map
    }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 1 else { throw RegulaError.shape("map '\(label)' takes one input") }
        return inputs[0]
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        try map.forward(inputs[0], into: out)
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into inputGrads: [Tensor<Double>?]) throws {
        try backward(inputs, output: output, outGrad: outGrad, into: inputGrads, overwrite: [false])
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into inputGrads: [Tensor<Double>?], overwrite: [Bool]) throws {
        guard let gx = inputGrads[0] else { return }
        if overwrite[0] { return try map.vjp(inputs[0], cotangent: outGrad, into: gx) }  // straight into the gradient
        if scratch?.shape != gx.shape { scratch = NDArray(shape: gx.shape) }
        let s = scratch!.tensor
        try map.vjp(inputs[0], cotangent: outGrad, into: s)
        Kernels.addScaled(1, s.data, into: gx.data, count: gx.count)
    }
}

/// A penalty node: strength · R(x) of a parameter (or of activations) as a scalar objective
/// term; backward adds the penalty's gradient. Extra inputs become the penalty's per-call
/// inputs under `inputNames` (width-1 nodes as integer labels).
public final class PenaltyOp: GraphOp {
    public let penalty: PenaltyInstance
    public let inputNames: [String]
    public var label: String { penalty.info.id }
    private var grad: NDArray<Double>? = nil

    public init(_ penalty: PenaltyInstance, inputNames: [String] = []) {
        self.penalty = penalty; self.inputNames = inputNames
    }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 1 + inputNames.count else {
            throw RegulaError.shape("penalty '\(label)' takes 1 + \(inputNames.count) inputs")
        }
        return .scalar
    }

    func sideInputs(_ inputs: [Tensor<Double>]) throws -> Inputs {
        var items: [String: InputArray] = [:]
        for (k, name) in inputNames.enumerated() {
            let t = inputs[k + 1]
            items[name] = t.lastAxis.cols == 1 ? try lossTarget(t, classes: 0) : .real(shape: t.shape, values: Array(t.buffer))
        }
        return Inputs(items)
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let w = inputs[0]
        if grad?.shape != w.shape { grad = NDArray(shape: w.shape) }
        out[0] = try penalty.valueAndGradient(w, try sideInputs(inputs), into: grad!.tensor)
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into inputGrads: [Tensor<Double>?]) throws {
        try backward(inputs, output: output, outGrad: outGrad, into: inputGrads, overwrite: inputGrads.map { _ in false })
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into inputGrads: [Tensor<Double>?], overwrite: [Bool]) throws {
        scaledBackward(grad, outGrad, inputGrads, overwrite)  // side inputs get no gradient
    }
}
