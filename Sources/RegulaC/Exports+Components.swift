// Regula C ABI — penalties, losses and maps: create, evaluate, free.

import CRegulaABI
import Regula
import RegulaEngine

final class PenaltyBox { let p: PenaltyInstance; init(_ p: PenaltyInstance) { self.p = p } }
final class LossBox { let l: LossInstance; init(_ l: LossInstance) { self.l = l } }
final class MapBox { let m: MapInstance; init(_ m: MapInstance) { self.m = m } }

/// Parses id, params and fixed data of a *_new call.
func creation(_ id: UnsafePointer<CChar>?, _ params: UnsafePointer<CChar>?,
              _ data: UnsafePointer<rg_named_array>?, _ n: Int64) throws -> (String, String, [String: InputArray]) {
    (try string(id, "id"), params.map { String(cString: $0) } ?? "", try namedArrays(data, n, "data"))
}

func storeHandle(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ make: () throws -> AnyObject) throws {
    guard let out else { throw nullError("out") }
    out.pointee = nil
    let obj = try make()
    out.pointee = OpaquePointer(Handles.shared.make(obj))
}

// MARK: Penalties

@_cdecl("rg_penalty_new")
public func rg_penalty_new(_ id: UnsafePointer<CChar>?, _ params: UnsafePointer<CChar>?,
                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    rg_penalty_new_with(id, params, nil, 0, out)
}

@_cdecl("rg_penalty_new_with")
public func rg_penalty_new_with(_ id: UnsafePointer<CChar>?, _ params: UnsafePointer<CChar>?,
                                _ data: UnsafePointer<rg_named_array>?, _ n: Int64,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    guarded {
        try storeHandle(out) {
            let (name, text, arrays) = try creation(id, params, data, n)
            return PenaltyBox(try Registry.shared.penalty(name, text, data: arrays))
        }
    }
}

@_cdecl("rg_penalty_eval")
public func rg_penalty_eval(_ handle: OpaquePointer?, _ w: UnsafePointer<rg_array>?,
                            _ inputs: UnsafePointer<rg_named_array>?, _ n: Int64,
                            _ value: UnsafeMutablePointer<Double>?, _ grad: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let p = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: PenaltyBox.self, "penalty").p
        guard let value else { throw nullError("value") }
        let x = try inputTensor(w, "w")
        let side = Inputs(try namedArrays(inputs, n, "inputs"))
        switch x {
        case .f32(let t, let owner):
            let scratch = grad == nil ? NDArray<Float>(shape: t.shape) : nil
            let g = try scratch?.tensor ?? outputTensor(grad, "grad", shape: t.shape, as: Float.self)
            value.pointee = try withExtendedLifetime((owner, scratch)) { try p.valueAndGradient(t, side, into: g) }
        case .f64(let t, let owner):
            let scratch = grad == nil ? NDArray<Double>(shape: t.shape) : nil
            let g = try scratch?.tensor ?? outputTensor(grad, "grad", shape: t.shape, as: Double.self)
            value.pointee = try withExtendedLifetime((owner, scratch)) { try p.valueAndGradient(t, side, into: g) }
        }
    }
}

@_cdecl("rg_penalty_eval_many")
public func rg_penalty_eval_many(_ handle: OpaquePointer?, _ ws: UnsafePointer<rg_array>?, _ n: Int64,
                                 _ value: UnsafeMutablePointer<Double>?, _ grads: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let p = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: PenaltyBox.self, "penalty").p
        guard let value else { throw nullError("value") }
        guard n >= 0, n <= 1 << 24 else { throw RegulaError.invalidArgument("n = \(n) is out of range") }
        guard n == 0 || ws != nil else { throw nullError("ws") }
        var total = 0.0
        for k in 0..<Int(n) {
            let x = try inputTensor(ws! + k, "ws[\(k)]")
            switch x {
            case .f32(let t, let owner):
                let scratch = grads == nil ? NDArray<Float>(shape: t.shape) : nil
                let g = try scratch?.tensor ?? outputTensor(grads! + k, "grads[\(k)]", shape: t.shape, as: Float.self)
                total += try withExtendedLifetime((owner, scratch)) { try p.valueAndGradient(t, .none, into: g) }
            case .f64(let t, let owner):
                let scratch = grads == nil ? NDArray<Double>(shape: t.shape) : nil
                let g = try scratch?.tensor ?? outputTensor(grads! + k, "grads[\(k)]", shape: t.shape, as: Double.self)
                total += try withExtendedLifetime((owner, scratch)) { try p.valueAndGradient(t, .none, into: g) }
            }
        }
        value.pointee = total
    }
}

@_cdecl("rg_penalty_prox")
public func rg_penalty_prox(_ handle: OpaquePointer?, _ v: UnsafePointer<rg_array>?, _ step: Double,
                            _ inputs: UnsafePointer<rg_named_array>?, _ n: Int64,
                            _ out: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let p = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: PenaltyBox.self, "penalty").p
        guard p.hasProx else { throw RegulaError.unsupported("'\(p.info.id)' has no prox") }
        guard step.isFinite, step >= 0 else { throw RegulaError.invalidArgument("step must be finite and >= 0 (got \(step))") }
        let x = try inputTensor(v, "v")
        let side = Inputs(try namedArrays(inputs, n, "inputs"))
        switch x {
        case .f32(let t, let owner):
            let o = try outputTensor(out, "out", shape: t.shape, as: Float.self)
            try withExtendedLifetime(owner) { try p.prox(t, step: step, side, into: o) }
        case .f64(let t, let owner):
            let o = try outputTensor(out, "out", shape: t.shape, as: Double.self)
            try withExtendedLifetime(owner) { try p.prox(t, step: step, side, into: o) }
        }
    }
}

@_cdecl("rg_penalty_update")
public func rg_penalty_update(_ handle: OpaquePointer?, _ state: UnsafePointer<CChar>?) -> rg_status {
    guarded {
        let p = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: PenaltyBox.self, "penalty").p
        try p.update(try string(state, "state"))
    }
}

@_cdecl("rg_penalty_free")
public func rg_penalty_free(_ handle: OpaquePointer?) -> rg_status {
    guarded { try Handles.shared.free(UnsafeMutableRawPointer(handle), as: PenaltyBox.self, "penalty") }
}

// MARK: Losses

@_cdecl("rg_loss_new")
public func rg_loss_new(_ id: UnsafePointer<CChar>?, _ params: UnsafePointer<CChar>?,
                        _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    rg_loss_new_with(id, params, nil, 0, out)
}

@_cdecl("rg_loss_new_with")
public func rg_loss_new_with(_ id: UnsafePointer<CChar>?, _ params: UnsafePointer<CChar>?,
                             _ data: UnsafePointer<rg_named_array>?, _ n: Int64,
                             _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    guarded {
        try storeHandle(out) {
            let (name, text, arrays) = try creation(id, params, data, n)
            return LossBox(try Registry.shared.loss(name, text, data: arrays))
        }
    }
}

@_cdecl("rg_loss_eval")
public func rg_loss_eval(_ handle: OpaquePointer?, _ logits: UnsafePointer<rg_array>?, _ target: UnsafePointer<rg_array>?,
                         _ inputs: UnsafePointer<rg_named_array>?, _ n: Int64,
                         _ value: UnsafeMutablePointer<Double>?, _ perSample: UnsafeMutablePointer<rg_array>?,
                         _ grad: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let l = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: LossBox.self, "loss").l
        guard let value else { throw nullError("value") }
        let z = try inputTensor(logits, "logits")
        guard z.shape.count >= 1 else { throw RegulaError.shape("logits must have rank >= 1") }
        let t = try target.map { try inputArray($0, "target") }
        let side = Inputs(try namedArrays(inputs, n, "inputs"))
        let rows = z.shape.last == 0 ? 0 : z.shape.reduce(1, *) / z.shape.last!
        func run<T: Scalar>(_ zt: Tensor<T>) throws -> Double {
            let g = try grad.map { try outputTensor($0, "grad", shape: zt.shape, as: T.self) }
            let ps = try perSample.map { try outputTensor($0, "per_sample", shape: [rows], as: T.self) }
            return try l.evaluate(zt, target: t, side, perSample: ps?.buffer, into: g)
        }
        switch z {
        case .f32(let zt, let owner): value.pointee = try withExtendedLifetime(owner) { try run(zt) }
        case .f64(let zt, let owner): value.pointee = try withExtendedLifetime(owner) { try run(zt) }
        }
    }
}

@_cdecl("rg_loss_update")
public func rg_loss_update(_ handle: OpaquePointer?, _ state: UnsafePointer<CChar>?) -> rg_status {
    guarded {
        let l = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: LossBox.self, "loss").l
        try l.update(try string(state, "state"))
    }
}

@_cdecl("rg_loss_free")
public func rg_loss_free(_ handle: OpaquePointer?) -> rg_status {
    guarded { try Handles.shared.free(UnsafeMutableRawPointer(handle), as: LossBox.self, "loss") }
}

// MARK: Maps

@_cdecl("rg_map_new")
public func rg_map_new(_ id: UnsafePointer<CChar>?, _ params: UnsafePointer<CChar>?,
                       _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    rg_map_new_with(id, params, nil, 0, out)
}

@_cdecl("rg_map_new_with")
public func rg_map_new_with(_ id: UnsafePointer<CChar>?, _ params: UnsafePointer<CChar>?,
                            _ data: UnsafePointer<rg_named_array>?, _ n: Int64,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    guarded {
        try storeHandle(out) {
            let (name, text, arrays) = try creation(id, params, data, n)
            return MapBox(try Registry.shared.map(name, text, data: arrays))
        }
    }
}

@_cdecl("rg_map_forward")
public func rg_map_forward(_ handle: OpaquePointer?, _ x: UnsafePointer<rg_array>?,
                           _ inputs: UnsafePointer<rg_named_array>?, _ n: Int64,
                           _ y: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let m = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: MapBox.self, "map").m
        let xin = try inputTensor(x, "x")
        let side = Inputs(try namedArrays(inputs, n, "inputs"))
        switch xin {
        case .f32(let t, let owner):
            let o = try outputTensor(y, "y", shape: t.shape, as: Float.self)
            try withExtendedLifetime(owner) { try m.forward(t, side, into: o) }
        case .f64(let t, let owner):
            let o = try outputTensor(y, "y", shape: t.shape, as: Double.self)
            try withExtendedLifetime(owner) { try m.forward(t, side, into: o) }
        }
    }
}

@_cdecl("rg_map_vjp")
public func rg_map_vjp(_ handle: OpaquePointer?, _ x: UnsafePointer<rg_array>?, _ cotangent: UnsafePointer<rg_array>?,
                       _ inputs: UnsafePointer<rg_named_array>?, _ n: Int64,
                       _ gx: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let m = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: MapBox.self, "map").m
        let xin = try inputTensor(x, "x"), cin = try inputTensor(cotangent, "cotangent")
        guard xin.dtype == cin.dtype else { throw RegulaError.dtype("cotangent must have x's dtype") }
        let side = Inputs(try namedArrays(inputs, n, "inputs"))
        switch (xin, cin) {
        case (.f32(let t, let o1), .f32(let c, let o2)):
            let o = try outputTensor(gx, "gx", shape: t.shape, as: Float.self)
            try withExtendedLifetime((o1, o2)) { try m.vjp(t, cotangent: c, side, into: o) }
        case (.f64(let t, let o1), .f64(let c, let o2)):
            let o = try outputTensor(gx, "gx", shape: t.shape, as: Double.self)
            try withExtendedLifetime((o1, o2)) { try m.vjp(t, cotangent: c, side, into: o) }
        default: throw RegulaError.dtype("cotangent must have x's dtype")
        }
    }
}

@_cdecl("rg_map_update")
public func rg_map_update(_ handle: OpaquePointer?, _ state: UnsafePointer<CChar>?) -> rg_status {
    guarded {
        let m = try Handles.shared.get(UnsafeMutableRawPointer(handle), as: MapBox.self, "map").m
        try m.update(try string(state, "state"))
    }
}

@_cdecl("rg_map_free")
public func rg_map_free(_ handle: OpaquePointer?) -> rg_status {
    guarded { try Handles.shared.free(UnsafeMutableRawPointer(handle), as: MapBox.self, "map") }
}
