// Regula engine — saving and loading a graph's parameters (one small binary format, no Foundation).
//
// Layout (little-endian):
//   "RGPARAMS" · u32 version (1) · u32 count
//   count × { u32 name bytes · name (UTF-8) · u32 rank · rank × i64 dims · product(dims) × f64 }
// Written to `path.tmp` then renamed, so a crash never leaves a half-written file under `path`.

#if canImport(Glibc)
import Glibc
#endif

/// A named float64 tensor as stored in a parameter file.
public struct StoredParameter: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var values: [Double]
    public init(name: String, shape: [Int], values: [Double]) {
        self.name = name; self.shape = shape; self.values = values
    }
}

public enum ParameterFile {
    static let magic: [UInt8] = Array("RGPARAMS".utf8)
    static let version: UInt32 = 1
    /// Refuses absurd headers before allocating (a corrupt or hostile file).
    static let maxRank = 8, maxNameBytes = 4096, maxCount = 1 << 20

    /// Writes `parameters` to `path` atomically.
    public static func write(_ parameters: [StoredParameter], to path: String) throws {
        var bytes: [UInt8] = magic
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        u32(version); u32(UInt32(parameters.count))
        for p in parameters {
            guard p.shape.reduce(1, *) == p.values.count else {
                throw GraphError.value("parameter '\(p.name)': \(p.values.count) values for shape \(p.shape)")
            }
            let name = Array(p.name.utf8)
            u32(UInt32(name.count)); bytes += name
            u32(UInt32(p.shape.count))
            for d in p.shape { i64(Int64(d)) }
            for v in p.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        }
        let tmp = path + ".tmp"
        guard let f = fopen(tmp, "wb") else { throw GraphError.io("cannot open '\(tmp)' for writing: \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let closed = fclose(f)
        guard written == bytes.count, closed == 0 else {
            unlink(tmp)
            throw GraphError.io("cannot write '\(tmp)' (disk full?)")
        }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw GraphError.io("cannot rename '\(tmp)' to '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    /// Reads every parameter of a file written by `write`.
    public static func read(from path: String) throws -> [StoredParameter] {
        guard let f = fopen(path, "rb") else { throw GraphError.io("cannot open '\(path)': \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        func take(_ n: Int) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: n)
            let got = out.withUnsafeMutableBytes { fread($0.baseAddress, 1, n, f) }
            guard got == n else { throw GraphError.io("'\(path)' is truncated") }
            return out
        }
        func u32() throws -> UInt32 { try take(4).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } }
        func i64() throws -> Int64 { try take(8).withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) } }
        guard try take(8) == magic else { throw GraphError.io("'\(path)' is not a Regula parameter file") }
        let v = try u32()
        guard v == version else { throw GraphError.io("'\(path)' has format version \(v); this library reads \(version)") }
        let count = Int(try u32())
        guard count <= maxCount else { throw GraphError.io("'\(path)' claims \(count) parameters") }
        var out: [StoredParameter] = []
        for _ in 0..<count {
            let n = Int(try u32())
            guard n <= maxNameBytes else { throw GraphError.io("'\(path)': a name of \(n) bytes") }
            let name = String(decoding: try take(n), as: UTF8.self)
            let rank = Int(try u32())
            guard rank <= maxRank else { throw GraphError.io("'\(path)': parameter '\(name)' has rank \(rank)") }
            var shape: [Int] = [], total = 1
            for _ in 0..<rank {
                let d = try i64()
                guard d >= 0, d <= 1 << 40 else { throw GraphError.io("'\(path)': parameter '\(name)' has a dimension \(d)") }
                shape.append(Int(d))
                let (t, overflow) = total.multipliedReportingOverflow(by: Int(d))
                guard !overflow, t <= 1 << 40 else { throw GraphError.io("'\(path)': parameter '\(name)' is too large") }
                total = t
            }
            var values = [Double](repeating: 0, count: total)
            let raw = try take(total * 8)
            raw.withUnsafeBytes { b in
                for i in 0..<total { values[i] = Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))) }
            }
            out.append(StoredParameter(name: name, shape: shape, values: values))
        }
        guard fgetc(f) == EOF else { throw GraphError.io("'\(path)' has trailing bytes") }
        return out
    }
}

extension Graph {
    /// Saves every parameter (name, shape, values) to `path`.
    public func saveParameters(to path: String) throws {
        var seen = Set<String>()
        for s in parameters where !seen.insert(s.name).inserted {
            throw GraphError.value("two parameters are named '\(s.name)'; names must be unique to save them")
        }
        try ParameterFile.write(parameters.map {
            StoredParameter(name: $0.name, shape: $0.shape, values: Array(UnsafeBufferPointer(start: $0.value, count: $0.count)))
        }, to: path)
    }

    /// Loads parameters saved by `saveParameters`: every parameter of this graph must be in the
    /// file with the same shape, and the file may hold no others. Nothing changes on an error.
    public func loadParameters(from path: String) throws {
        let stored = try ParameterFile.read(from: path)
        var byName: [String: StoredParameter] = [:]
        for p in stored {
            guard byName.updateValue(p, forKey: p.name) == nil else { throw GraphError.io("'\(path)' holds '\(p.name)' twice") }
        }
        for slot in parameters {
            guard let p = byName[slot.name] else { throw GraphError.io("'\(path)' has no parameter '\(slot.name)'") }
            guard p.shape == slot.shape else {
                throw GraphError.shape("parameter '\(slot.name)' is \(slot.shape) in the model and \(p.shape) in '\(path)'")
            }
            if let i = p.values.firstIndex(where: { !$0.isFinite }) {  // parameters must be finite (the NaN policy)
                throw GraphError.io("'\(path)': parameter '\(slot.name)' holds a non-finite value at index \(i)")
            }
        }
        let known = Set(parameters.map(\.name))
        if let extra = stored.first(where: { !known.contains($0.name) }) {
            throw GraphError.io("'\(path)' holds '\(extra.name)', which the model does not have")
        }
        for slot in parameters where slot.count > 0 {
            byName[slot.name]!.values.withUnsafeBufferPointer { slot.value.update(from: $0.baseAddress!, count: slot.count) }
        }
    }
}

/// The values of a list of parameters before a step, so a failed step can put them back.
/// The buffers are kept and reused: a training loop saves every step, and a fresh copy of
/// every parameter per step would be an allocation (and, for large models, page faults) on
/// the hot path.
public final class ParameterSnapshot {
    private var saved: [UnsafeMutableBufferPointer<Double>] = []
    public init() {}
    deinit { for b in saved { b.deallocate() } }

    /// Copies the slots' current values (buffers are reallocated only when sizes change).
    public func save(_ slots: [ParameterSlot]) {
        if saved.count != slots.count || zip(saved, slots).contains(where: { $0.count != Swift.max($1.count, 1) }) {
            for b in saved { b.deallocate() }
            saved = slots.map { UnsafeMutableBufferPointer<Double>.allocate(capacity: Swift.max($0.count, 1)) }
        }
        for (b, s) in zip(saved, slots) where s.count > 0 { b.baseAddress!.update(from: s.value, count: s.count) }
    }

    /// Writes the saved values back into the same slots.
    public func restore(_ slots: [ParameterSlot]) {
        for (b, s) in zip(saved, slots) where s.count > 0 { s.value.update(from: b.baseAddress!, count: s.count) }
    }
}
