// Regula engine — borrowed contiguous views and the owning NDArray.

/// A row-major, contiguous view of `count` elements with a shape. Kernels read and write
/// through it. A view of an NDArray keeps that array alive; a view of foreign memory (the C
/// ABI's caller buffers) owns nothing.
public struct Tensor<T: Scalar>: @unchecked Sendable {
    public let data: UnsafeMutablePointer<T>
    public let shape: [Int]
    public let count: Int
    @usableFromInline let owner: AnyObject?

    /// The caller guarantees `data` holds `shape.product` elements for the view's use.
    @inlinable public init(_ data: UnsafeMutablePointer<T>, shape: [Int], owner: AnyObject? = nil) {
        self.data = data
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.owner = owner
    }

    @inlinable public subscript(i: Int) -> T {
        get { data[i] }
        nonmutating set { data[i] = newValue }
    }

    /// Weight-matrix view: rank > 2 flattens to `(shape[0], -1)`, rank 1 (and 0) is one row.
    @inlinable public var matrix: (rows: Int, cols: Int) {
        shape.count >= 2 ? (shape[0], shape[0] == 0 ? 0 : count / shape[0]) : (1, count)
    }

    /// Rows along the last axis: `(count / last, last)`; rank 0 is one row of one.
    @inlinable public var lastAxis: (rows: Int, cols: Int) {
        guard let last = shape.last else { return (1, 1) }
        return (last == 0 ? 0 : count / last, last)
    }

    @inlinable public var buffer: UnsafeMutableBufferPointer<T> {
        UnsafeMutableBufferPointer(start: data, count: count)
    }
}

/// An owning, contiguous n-dimensional array (used by the Swift API, the engine and tests).
public final class NDArray<T: Scalar>: @unchecked Sendable {
    public let storage: UnsafeMutableBufferPointer<T>
    public let shape: [Int]

    public init(shape: [Int], repeating value: T = 0) {
        self.shape = shape
        let n = shape.reduce(1, *)
        storage = .allocate(capacity: Swift.max(n, 1))
        if value == 0 {  // all-zero bits are +0.0 for Float and Double: a memset
            UnsafeMutableRawPointer(storage.baseAddress!).initializeMemory(
                as: UInt8.self, repeating: 0, count: storage.count * MemoryLayout<T>.stride)
        } else {
            storage.initialize(repeating: value)
        }
    }

    public convenience init(shape: [Int], _ values: [T]) {
        self.init(shape: shape)
        precondition(values.count == storage.count || (values.isEmpty && count == 0),
                     "NDArray: \(values.count) values for shape \(shape)")
        for (i, v) in values.enumerated() { storage[i] = v }
    }

    deinit { storage.deallocate() }

    public var count: Int { shape.reduce(1, *) }
    public var tensor: Tensor<T> { Tensor(storage.baseAddress!, shape: shape, owner: self) }
    public var values: [T] { Array(storage.prefix(count)) }

    public subscript(i: Int) -> T {
        get { storage[i] }
        set { storage[i] = newValue }
    }

    /// A copy converted to another element type.
    public func converted<U: Scalar>(to: U.Type = U.self) -> NDArray<U> {
        let out = NDArray<U>(shape: shape)
        for i in 0..<count { out.storage[i] = U(storage[i].double) }
        return out
    }
}

/// Element conversions with concrete types (fast even when called from unspecialised generic code):
/// 8 lanes at a time, split across the cores above `Parallel.threshold` elements.
public enum Convert {
    /// float32 → float64, written into `out` or, with `accumulate`, added to it (a float32
    /// result summed into a float64 buffer).
    public static func widen(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Double>, count: Int,
                             accumulate: Bool = false) {
        Parallel.chunks(count) { _, r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let v = SIMD8<Double>(load8(x + i))
                store8(accumulate ? load8(out + i) + v : v, out + i)
                i += 8
            }
            while i < r.upperBound { out[i] = accumulate ? out[i] + Double(x[i]) : Double(x[i]); i += 1 }
        }
    }

    /// float64 → float32 (round to nearest).
    public static func narrow(_ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.chunks(count) { _, r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound { store8(SIMD8<Float>(load8(x + i)), out + i); i += 8 }
            while i < r.upperBound { out[i] = Float(x[i]); i += 1 }
        }
    }
}

extension Array where Element == Int {
    /// Product of the dimensions with overflow detection (nil on overflow or negative).
    public var checkedProduct: Int? {
        var p = 1
        for d in self {
            guard d >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: d)
            if o { return nil }
            p = r
        }
        return p
    }
}
