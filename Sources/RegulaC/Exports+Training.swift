// Regula C ABI — training: optimizers with the catalogue's transforms, stepping caller arrays.

import CRegulaABI
import Regula
import RegulaEngine

/// A configured optimizer; the stepper is built at the first step, when the parameters are known.
/// The first step binds it for good: to caller arrays (rg_optimizer_step) or to one graph's
/// parameter slots (rg_graph_step).
final class OptimizerBox {
    let optimizer: String, params: String, transforms: [String]
    var stepper: Stepper?
    /// (shape, dtype) of each parameter, fixed by the first step.
    var layout: [([Int], Int32)] = []
    /// The parameters before the current step (put back when it fails), buffers reused.
    let snapshot = ParameterSnapshot()
    /// The graph whose parameters the stepper holds (rg_graph_step); weak, so a freed graph is noticed.
    private weak var graph: GraphBox?
    private var boundToGraph = false, boundSlots = 0
    init(optimizer: String, params: String, transforms: [String]) {
        self.optimizer = optimizer; self.params = params; self.transforms = transforms
    }

    func make(_ slots: [ParameterSlot]) throws -> Stepper {
        try OptimizerFactory.make(optimizer: optimizer, params: params, transforms: transforms, slots: slots)
    }

    /// Refuses an optimizer that rg_graph_step bound to a graph.
    func checkArrays() throws {
        if boundToGraph {
            throw RegulaError.invalidArgument("this optimizer steps a graph's parameters (rg_graph_step); create another one for caller arrays")
        }
    }

    /// The stepper over `box`'s parameters, bound to that graph at the first call.
    func stepper(for box: GraphBox) throws -> Stepper {
        let slots = box.graph.parameters
        guard let stepper else {
            let s = try make(slots)
            stepper = s; graph = box; boundToGraph = true; boundSlots = slots.count
            return s
        }
        guard boundToGraph else {
            throw RegulaError.invalidArgument("this optimizer steps caller arrays (rg_optimizer_step); create another one for a graph")
        }
        guard let graph else { throw RegulaError.invalidArgument("the graph this optimizer was bound to has been freed") }
        guard graph === box else { throw RegulaError.invalidArgument("this optimizer is bound to another graph") }
        guard slots.count == boundSlots else {
            throw RegulaError.invalidArgument("the graph gained parameters after this optimizer's first step: create a new optimizer")
        }
        return stepper
    }
}

/// A caller array checked as a writable, contiguous, aligned float32/float64 array.
struct FloatArray {
    let layout: Layout
    init(_ p: UnsafePointer<rg_array>, _ what: String) throws {
        layout = try Layout(p, what)
        guard layout.dtype == RG_FLOAT32 || layout.dtype == RG_FLOAT64 else {
            throw RegulaError.dtype("\(what) must be float32 or float64")
        }
        guard layout.strides == nil else { throw RegulaError.shape("\(what) must be C-contiguous") }
        guard layout.aligned else { throw RegulaError.invalidArgument("\(what).data is not aligned to its element size") }
    }
    func read(into d: UnsafeMutablePointer<Double>) {
        guard let data = layout.data else { return }
        if layout.dtype == RG_FLOAT64 { d.update(from: data.assumingMemoryBound(to: Double.self), count: layout.count); return }
        let f = data.assumingMemoryBound(to: Float.self)
        for i in 0..<layout.count { d[i] = Double(f[i]) }
    }
    func write(from d: UnsafePointer<Double>) {
        guard let data = layout.data else { return }
        if layout.dtype == RG_FLOAT64 { data.assumingMemoryBound(to: Double.self).update(from: d, count: layout.count); return }
        let f = data.assumingMemoryBound(to: Float.self)
        for i in 0..<layout.count { f[i] = Float(d[i]) }
    }
}

func transformList(_ text: UnsafePointer<CChar>?) -> [String] {
    guard let text else { return [] }
    return String(cString: text).split(separator: ";").map(String.init).filter { !$0.allSatisfy { $0 == " " } }
}

@_cdecl("rg_optimizer_new")
public func rg_optimizer_new(_ optimizer: UnsafePointer<CChar>?, _ params: UnsafePointer<CChar>?,
                             _ transforms: UnsafePointer<CChar>?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    guarded {
        try storeHandle(out) {
            let box = OptimizerBox(optimizer: try string(optimizer, "optimizer"),
                                   params: params.map { String(cString: $0) } ?? "", transforms: transformList(transforms))
            // Validate every spec now (on no parameters), so errors surface at creation.
            _ = try box.make([])
            return box
        }
    }
}

@_cdecl("rg_optimizer_step")
public func rg_optimizer_step(_ handle: OpaquePointer?, _ params: UnsafeMutablePointer<rg_array>?,
                              _ grads: UnsafeMutablePointer<rg_array>?, _ n: Int64,
                              _ fn: rg_grad_fn?, _ ctx: UnsafeMutableRawPointer?,
                              _ loss: UnsafeMutablePointer<Double>?) -> rg_status {
    guarded {
        let box = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: OptimizerBox.self, "optimizer")
        try box.checkArrays()
        guard n >= 0, n <= 1 << 20 else { throw RegulaError.invalidArgument("n = \(n) parameter arrays is out of range") }
        let count = Int(n)
        guard count == 0 || (params != nil && grads != nil) else { throw nullError(params == nil ? "params" : "grads") }
        var ps: [FloatArray] = [], gs: [FloatArray] = []
        for i in 0..<count {
            let p = try FloatArray(params! + i, "params[\(i)]"), g = try FloatArray(grads! + i, "grads[\(i)]")
            guard g.layout.dtype == p.layout.dtype else {
                throw RegulaError.dtype("grads[\(i)] must have the dtype of params[\(i)]")
            }
            guard g.layout.shape == p.layout.shape else {
                throw RegulaError.shape("grads[\(i)] must have the shape \(p.layout.shape) of params[\(i)]")
            }
            ps.append(p); gs.append(g)
        }
        let layout = ps.map { ($0.layout.shape, $0.layout.dtype) }
        if box.stepper == nil {
            box.stepper = try box.make(ps.enumerated().map { ParameterSlot(name: "param\($0.offset)", shape: $0.element.layout.shape) })
            box.layout = layout
        }
        guard box.layout.count == layout.count, zip(box.layout, layout).allSatisfy({ $0.0 == $1.0 && $0.1 == $1.1 }) else {
            throw RegulaError.shape("the parameters differ in number, shape or dtype from the first step's")
        }
        let stepper = box.stepper!
        if let w = stepper.wrapper as? TermwiseGradientWrapper { throw w.singleCallbackError }
        if fn == nil && stepper.wrapper != nil {
            throw RegulaError.invalidArgument("'\(stepper.wrapper!.id)' re-evaluates the gradient: pass a gradient callback")
        }
        let slots = stepper.params
        for (p, s) in zip(ps, slots) { p.read(into: s.value) }
        // The NaN policy: non-finite parameters or gradients are refused before they reach the
        // optimizer state (one NaN would otherwise poison every later step).
        func finite(_ s: [ParameterSlot], _ what: String, _ buffer: (ParameterSlot) -> UnsafeMutablePointer<Double>) throws {
            for (k, slot) in s.enumerated() {
                if let i = Kernels.firstNonFinite(UnsafePointer(buffer(slot)), count: slot.count) {
                    throw RegulaError.nonFinite(what: "\(what)[\(k)]", index: i)
                }
            }
        }
        try finite(slots, "params") { $0.value }
        box.snapshot.save(slots)
        var first = true
        do {
            let l = try stepper.step {
                guard let fn else {
                    guard first else { throw RegulaError.internal("a second gradient evaluation without a callback") }
                    first = false
                    for (g, s) in zip(gs, slots) { g.read(into: s.grad) }
                    try finite(slots, "grads") { $0.grad }
                    return 0
                }
                for (p, s) in zip(ps, slots) { p.write(from: s.value) }
                var value = 0.0
                let status = fn(ctx, &value)
                guard status == RG_OK else { throw RegulaError.callback("the gradient callback returned status \(status)") }
                guard value.isFinite else { throw RegulaError.callback("the gradient callback reported a non-finite loss") }
                for (g, s) in zip(gs, slots) { g.read(into: s.grad) }
                try finite(slots, "grads") { $0.grad }
                return value
            }
            loss?.pointee = l
        } catch {
            // Leave the caller's parameters as they were (a wrapper may have written perturbed values).
            box.snapshot.restore(slots)
            for (p, s) in zip(ps, slots) { p.write(from: s.value) }
            throw error
        }
        for (p, s) in zip(ps, slots) { p.write(from: s.value) }
    }
}

@_cdecl("rg_optimizer_free")
public func rg_optimizer_free(_ handle: OpaquePointer?) -> rg_status {
    guarded { try Handles.shared.free(UnsafeMutableRawPointer(handle), as: OptimizerBox.self, "optimizer") }
}
