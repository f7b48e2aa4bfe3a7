// Regula engine — row-wise helpers over a (rows, cols) matrix.

extension Kernels {
    /// ‖row i‖₂ for each row, written into `norms` (count = rows), accumulated in Double.
    @inlinable
    public static func rowNorms<T: Scalar>(_ x: UnsafePointer<T>, rows: Int, cols: Int,
                                           into norms: UnsafeMutablePointer<Double>) {
        for i in 0..<rows { norms[i] = sumOfSquares(x + i * cols, count: cols).squareRoot() }
    }

    /// The largest of `count` finite values, eight lanes at a time (−inf when empty).
    @inlinable
    public static func maximum(_ x: UnsafePointer<Double>, count n: Int) -> Double {
        var lanes = SIMD8<Double>(repeating: -.infinity)
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 8 <= n {
            lanes = pointwiseMax(lanes, raw.loadUnaligned(fromByteOffset: i * 8, as: SIMD8<Double>.self))
            i += 8
        }
        var m = lanes.max()
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        return m
    }

    /// Sorts the first `count` values of `b` in descending order (equal values are
    /// interchangeable): negate, sort ascending with the specialised `<`, negate back.
    @inlinable
    public static func sortDescending(_ b: UnsafeMutableBufferPointer<Double>, count: Int) {
        var part = UnsafeMutableBufferPointer(rebasing: b[0..<count])
        for i in part.indices { part[i] = -part[i] }
        part.sort()
        for i in part.indices { part[i] = -part[i] }
    }

    /// Sorts `values` in descending order (equal values are interchangeable).
    /// Negate, sort ascending with the specialised `<`, negate back: no comparison closure.
    @inlinable
    public static func sortDescending(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { b in
            for i in b.indices { b[i] = -b[i] }
            b.sort()
            for i in b.indices { b[i] = -b[i] }
        }
    }
}
