// Regula C ABI — the trainer (include/regula.h, section Trainer): a TrainingSession behind a
// handle, configured by one spec string, stepped, evaluated and saved with caller arrays.

import CRegulaABI
import Regula
import RegulaEngine

/// A live trainer handle.
final class TrainerBox {
    let session: TrainingSession
    init(_ session: TrainingSession) { self.session = session }
}

func trainerSession(_ handle: OpaquePointer?) throws -> TrainingSession {
    try Handles.shared.get(UnsafeMutableRawPointer(handle), as: TrainerBox.self, "trainer").session
}

/// x checked as (n, features) float32/float64 (any strides, finite) and read as float64 rows.
func trainerRows(_ p: UnsafePointer<rg_array>?, _ s: TrainingSession) throws -> (x: [Double], rows: Int, dtype: Int32) {
    let l = try Layout(p, "x")
    guard l.dtype == RG_FLOAT32 || l.dtype == RG_FLOAT64 else {
        throw RegulaError.dtype("x must be float32 or float64, not \(l.dtype == RG_INT32 ? "int32" : "int64")")
    }
    guard l.shape.count == 2, l.shape[1] == s.features else {
        throw RegulaError.shape("x has shape \(l.shape); expected (rows, \(s.features))")
    }
    switch try inputTensor(p, "x") {
    case .f32(let t, _): return (t.buffer.map(Double.init), l.shape[0], l.dtype)
    case .f64(let t, _): return (Array(t.buffer), l.shape[0], l.dtype)
    }
}

/// Labels checked as (rows,) or (rows, 1): int32/int64, or float32/float64 holding integers, each
/// in 0..<classes. Integers are read as integers (an int64 beyond 2^53 is never rounded into range).
func trainerLabels(_ p: UnsafePointer<rg_array>?, rows n: Int, classes: Int) throws -> [Int] {
    let l = try Layout(p, "labels")
    guard l.shape == [n] || l.shape == [n, 1] else {
        throw RegulaError.shape("labels has shape \(l.shape); expected (\(n),): one label per row of x")
    }
    guard n > 0, let data = l.data else { return [] }
    let raw = UnsafeRawPointer(data)
    var out: [Int] = []
    out.reserveCapacity(n)
    for (i, off) in l.offsets().enumerated() {
        let label: Int?
        switch l.dtype {
        case RG_INT32: label = Int(raw.loadUnaligned(fromByteOffset: off * 4, as: Int32.self))
        case RG_INT64: label = Int(raw.loadUnaligned(fromByteOffset: off * 8, as: Int64.self))
        default:
            let v = l.load(raw, off)
            guard v.isFinite else { throw RegulaError.nonFinite(what: "labels", index: i) }
            label = v == v.rounded() && abs(v) <= Double(classes) ? Int(v) : nil
        }
        guard let label, label >= 0, label < classes else {
            throw RegulaError.invalidArgument("labels[\(i)] is not a class index in 0..<\(classes)")
        }
        out.append(label)
    }
    return out
}

@_cdecl("rg_trainer_new")
public func rg_trainer_new(_ features: Int64, _ classes: Int64, _ spec: UnsafePointer<CChar>?,
                           _ out: UnsafeMutablePointer<OpaquePointer?>?) -> rg_status {
    guarded {
        try storeHandle(out) {
            guard features >= 1, features <= 1 << 24 else { throw RegulaError.invalidArgument("features = \(features) must be in 1...\(1 << 24)") }
            guard classes >= 2, classes <= 1 << 16 else { throw RegulaError.invalidArgument("classes = \(classes) must be in 2...\(1 << 16)") }
            let session = try TrainingSession(features: Int(features), classes: Int(classes),
                                              spec: spec.map { String(cString: $0) } ?? "")
            guard !session.needsDataset else {
                throw RegulaError.unsupported("pseudo_label_mixup needs the whole training set at once; the C trainer steps batches")
            }
            return TrainerBox(session)
        }
    }
}

@_cdecl("rg_trainer_plan")
public func rg_trainer_plan(_ handle: OpaquePointer?, _ stepsPerEpoch: Int64, _ epochs: Int64) -> rg_status {
    guarded {
        let s = try trainerSession(handle)
        guard stepsPerEpoch >= 1, epochs >= 1, stepsPerEpoch <= 1 << 40, epochs <= 1 << 40 else {
            throw RegulaError.invalidArgument("steps_per_epoch = \(stepsPerEpoch) and epochs = \(epochs) must be >= 1")
        }
        try s.plan(stepsPerEpoch: Int(stepsPerEpoch), epochs: Int(epochs))
    }
}

@_cdecl("rg_trainer_step")
public func rg_trainer_step(_ handle: OpaquePointer?, _ x: UnsafePointer<rg_array>?, _ labels: UnsafePointer<rg_array>?,
                            _ loss: UnsafeMutablePointer<Double>?) -> rg_status {
    guarded {
        let s = try trainerSession(handle)
        let (rows, n, _) = try trainerRows(x, s)
        let y = try trainerLabels(labels, rows: n, classes: s.classes)
        let l = try s.step(x: rows, labels: y)
        loss?.pointee = l
    }
}

@_cdecl("rg_trainer_evaluate")
public func rg_trainer_evaluate(_ handle: OpaquePointer?, _ x: UnsafePointer<rg_array>?, _ labels: UnsafePointer<rg_array>?,
                                _ out: UnsafeMutablePointer<rg_metrics>?) -> rg_status {
    guarded {
        let s = try trainerSession(handle)
        guard let out else { throw nullError("out") }
        let (rows, n, _) = try trainerRows(x, s)
        let y = try trainerLabels(labels, rows: n, classes: s.classes)
        let m = try s.evaluate(x: rows, labels: y)
        out.pointee = rg_metrics(accuracy: m.accuracy, nll: m.nll, ece: m.ece, count: Int64(n))
    }
}

@_cdecl("rg_trainer_predict")
public func rg_trainer_predict(_ handle: OpaquePointer?, _ x: UnsafePointer<rg_array>?,
                               _ probs: UnsafeMutablePointer<rg_array>?) -> rg_status {
    guarded {
        let s = try trainerSession(handle)
        let (rows, n, dtype) = try trainerRows(x, s)
        let shape = [n, s.classes]
        if dtype == RG_FLOAT32 {
            let out = try outputTensor(probs, "probs", shape: shape, as: Float.self)
            for (i, v) in try s.predict(x: rows).enumerated() { out[i] = Float(v) }
        } else {
            let out = try outputTensor(probs, "probs", shape: shape, as: Double.self)
            for (i, v) in try s.predict(x: rows).enumerated() { out[i] = v }
        }
    }
}

@_cdecl("rg_trainer_save")
public func rg_trainer_save(_ handle: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> rg_status {
    guarded {
        let s = try trainerSession(handle)
        try s.save(to: try string(path, "path"))
    }
}

@_cdecl("rg_trainer_load")
public func rg_trainer_load(_ handle: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> rg_status {
    guarded {
        let s = try trainerSession(handle)
        try s.load(from: try string(path, "path"))
    }
}

@_cdecl("rg_trainer_free")
public func rg_trainer_free(_ handle: OpaquePointer?) -> rg_status {
    guarded { try Handles.shared.free(UnsafeMutableRawPointer(handle), as: TrainerBox.self, "trainer") }
}
