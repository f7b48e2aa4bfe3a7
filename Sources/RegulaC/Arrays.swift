// Regula C ABI — validating rg_array views and turning them into tensors (copying only when the
// caller's array is strided or misaligned) and side inputs.

#if canImport(Glibc)
import Glibc
#endif
import CRegulaABI
import Regula
import RegulaEngine

/// A validated input array: a contiguous tensor over the caller's memory or over a copy.
enum InTensor {
    case f32(Tensor<Float>, NDArray<Float>?)
    case f64(Tensor<Double>, NDArray<Double>?)

    var shape: [Int] {
        switch self {
        case .f32(let t, _): t.shape
        case .f64(let t, _): t.shape
        }
    }
    var dtype: Int32 {
        switch self {
        case .f32: RG_FLOAT32
        case .f64: RG_FLOAT64
        }
    }
}

/// The validated layout of an rg_array: shape, element count and element offsets.
struct Layout {
    var dtype: Int32
    var shape: [Int]
    var count: Int
    var strides: [Int]?   // nil: contiguous
    var data: UnsafeMutableRawPointer?
    var aligned: Bool

    /// Largest product of the non-zero dimensions of an empty array (2^24).
    static let maxEmptyExtent = 1 << 24

    static func elementSize(_ dtype: Int32) -> Int? {
        switch dtype {
        case RG_FLOAT32, RG_INT32: 4
        case RG_FLOAT64, RG_INT64: 8
        default: nil
        }
    }

    init(_ p: UnsafePointer<rg_array>?, _ what: String) throws {
        guard let p else { throw nullError(what) }
        let a = p.pointee
        guard let size = Layout.elementSize(a.dtype) else {
            throw RegulaError.dtype("\(what) has unknown dtype code \(a.dtype) (float32=0, float64=1, int32=2, int64=3)")
        }
        guard a.ndim >= 0, a.ndim <= RG_MAX_RANK else {
            throw RegulaError.shape("\(what) has rank \(a.ndim); the limit is \(RG_MAX_RANK)")
        }
        let rank = Int(a.ndim)
        guard rank == 0 || a.shape != nil else { throw nullError("\(what).shape") }
        var shape: [Int] = []
        for k in 0..<rank {
            let d = a.shape![k]
            guard d >= 0 else { throw RegulaError.shape("\(what) has a negative dimension \(d)") }
            shape.append(Int(d))
        }
        guard let count = shape.checkedProduct, count.multipliedReportingOverflow(by: size).overflow == false,
              count * size <= Int(Int64.max / 2) else {
            throw RegulaError.shape("\(what) has \(shape): the element count overflows")
        }
        if count == 0 {
            // An empty array still has rows: components loop over (and allocate per-row scratch
            // for) its other axes, so shape (2^40, 0) would spin or exhaust memory (found by
            // fuzz_arrays). Bound the product of the non-zero dimensions.
            var others = 1
            for d in shape where d > 0 {
                let (m, o) = others.multipliedReportingOverflow(by: d)
                guard !o, m <= Layout.maxEmptyExtent else {
                    throw RegulaError.shape("\(what) is empty but its other axes \(shape) span more than \(Layout.maxEmptyExtent) positions")
                }
                others = m
            }
        }
        guard count == 0 || a.data != nil else { throw nullError("\(what).data") }
        dtype = a.dtype; self.shape = shape; self.count = count; data = a.data
        aligned = Int(bitPattern: a.data) % size == 0
        strides = nil
        if let st = a.strides, count > 0 {
            var s: [Int] = [], expected = 1, contiguous = true
            for k in 0..<rank { s.append(Int(st[k])) }
            for k in stride(from: rank - 1, through: 0, by: -1) {
                if shape[k] != 1 && s[k] != expected { contiguous = false }
                expected *= shape[k]
            }
            if !contiguous {
                // Every reachable offset must be representable: Σ (d−1)·|s| in bytes.
                var span = 0
                for k in 0..<rank {
                    // |Int.min| does not exist: refuse it before abs() could trap.
                    guard s[k] != Int.min else { throw RegulaError.shape("\(what) has strides that overflow") }
                    let (m, o1) = (shape[k] - 1).multipliedReportingOverflow(by: abs(s[k]))
                    let (t, o2) = span.addingReportingOverflow(m)
                    guard !o1, !o2 else { throw RegulaError.shape("\(what) has strides that overflow") }
                    span = t
                }
                guard span.multipliedReportingOverflow(by: size).overflow == false else {
                    throw RegulaError.shape("\(what) has strides that overflow")
                }
                strides = s
            }
        }
    }

    /// Flat element offsets in row-major order for a strided layout.
    func offsets() -> [Int] {
        guard let strides else { return Array(0..<count) }
        var out = [Int](); out.reserveCapacity(count)
        var index = [Int](repeating: 0, count: shape.count)
        var offset = 0
        for _ in 0..<count {
            out.append(offset)
            var k = shape.count - 1
            while k >= 0 {
                index[k] += 1; offset += strides[k]
                if index[k] < shape[k] { break }
                offset -= strides[k] * shape[k]; index[k] = 0; k -= 1
            }
        }
        return out
    }

    /// Element i (row-major) as Double, for any dtype, tolerating misalignment.
    func load(_ raw: UnsafeRawPointer, _ offset: Int) -> Double {
        switch dtype {
        case RG_FLOAT32: Double(raw.loadUnaligned(fromByteOffset: offset * 4, as: Float.self))
        case RG_FLOAT64: raw.loadUnaligned(fromByteOffset: offset * 8, as: Double.self)
        case RG_INT32: Double(raw.loadUnaligned(fromByteOffset: offset * 4, as: Int32.self))
        default: Double(raw.loadUnaligned(fromByteOffset: offset * 8, as: Int64.self))
        }
    }

    /// An integer element (int32/int64 arrays) read exactly, not through Double (INT64_MAX
    /// would round to 2^63, which no Int holds).
    func loadInteger(_ raw: UnsafeRawPointer, _ offset: Int) -> Int {
        dtype == RG_INT32 ? Int(raw.loadUnaligned(fromByteOffset: offset * 4, as: Int32.self))
                          : Int(raw.loadUnaligned(fromByteOffset: offset * 8, as: Int64.self))
    }
}

/// A float input: validated, finite, contiguous (copied when strided or misaligned).
func inputTensor(_ p: UnsafePointer<rg_array>?, _ what: String) throws -> InTensor {
    let l = try Layout(p, what)
    func make<T: Scalar>(_: T.Type) throws -> (Tensor<T>, NDArray<T>?) {
        if l.strides == nil && l.aligned {
            let base = l.count == 0 ? nil : l.data?.assumingMemoryBound(to: T.self)
            if let base {
                if let i = Kernels.firstNonFinite(base, count: l.count) { throw RegulaError.nonFinite(what: what, index: i) }
                return (Tensor(base, shape: l.shape), nil)
            }
            let empty = NDArray<T>(shape: l.shape)
            return (empty.tensor, empty)
        }
        let copy = NDArray<T>(shape: l.shape)
        let raw = UnsafeRawPointer(l.data!)
        for (i, off) in l.offsets().enumerated() {
            let v = l.load(raw, off)
            guard v.isFinite else { throw RegulaError.nonFinite(what: what, index: i) }
            copy[i] = T(v)
        }
        return (copy.tensor, copy)
    }
    switch l.dtype {
    case RG_FLOAT32: let (t, o) = try make(Float.self); return .f32(t, o)
    case RG_FLOAT64: let (t, o) = try make(Double.self); return .f64(t, o)
    default: throw RegulaError.dtype("\(what) must be float32 or float64, not \(l.dtype == RG_INT32 ? "int32" : "int64")")
    }
}

/// An output array: contiguous, aligned, of the expected shape and dtype.
func outputTensor<T: Scalar>(_ p: UnsafeMutablePointer<rg_array>?, _ what: String, shape: [Int], as: T.Type) throws -> Tensor<T> {
    let l = try Layout(p.map { UnsafePointer($0) }, what)
    let want: Int32 = T.self == Float.self ? RG_FLOAT32 : RG_FLOAT64
    guard l.dtype == want else {
        throw RegulaError.dtype("\(what) must have the input's dtype (\(want == RG_FLOAT32 ? "float32" : "float64"))")
    }
    guard l.shape == shape else { throw RegulaError.shape("\(what) has shape \(l.shape), expected \(shape)") }
    guard l.strides == nil else { throw RegulaError.shape("\(what) must be C-contiguous") }
    guard l.aligned else { throw RegulaError.invalidArgument("\(what).data is not aligned to its element size") }
    if l.count == 0 {
        return Tensor(UnsafeMutablePointer<T>(bitPattern: MemoryLayout<T>.alignment)!, shape: shape)
    }
    return Tensor(l.data!.assumingMemoryBound(to: T.self), shape: shape)
}

/// Any array as an owned side input: integers stay indices, floats become reals (finite).
func inputArray(_ p: UnsafePointer<rg_array>?, _ what: String) throws -> InputArray {
    let l = try Layout(p, what)
    let raw = l.count == 0 ? nil : UnsafeRawPointer(l.data!)
    let offs = l.offsets()
    if l.dtype == RG_INT32 || l.dtype == RG_INT64 {
        var v = [Int](); v.reserveCapacity(l.count)
        for off in offs { v.append(l.loadInteger(raw!, off)) }
        return .index(shape: l.shape, values: v)
    }
    var v = [Double](); v.reserveCapacity(l.count)
    for (i, off) in offs.enumerated() {
        let x = l.load(raw!, off)
        guard x.isFinite else { throw RegulaError.nonFinite(what: what, index: i) }
        v.append(x)
    }
    return .real(shape: l.shape, values: v)
}

/// Named arrays → a dictionary (names must be non-NULL and distinct).
func namedArrays(_ p: UnsafePointer<rg_named_array>?, _ n: Int64, _ what: String) throws -> [String: InputArray] {
    guard n >= 0, n <= 1024 else { throw RegulaError.invalidArgument("\(what) count \(n) is out of range") }
    if n == 0 { return [:] }
    guard let p else { throw nullError(what) }
    var out: [String: InputArray] = [:]
    for i in 0..<Int(n) {
        let name = try string(p[i].name, "\(what)[\(i)].name")
        guard out[name] == nil else { throw RegulaError.invalidArgument("\(what) names '\(name)' twice") }
        out[name] = try withUnsafePointer(to: p[i].array) { try inputArray($0, "\(what) '\(name)'") }
    }
    return out
}
