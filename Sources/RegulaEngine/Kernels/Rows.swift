// Regula engine — row-wise helpers over a (rows, cols) matrix.

extension Kernels {
    /// ‖row i‖₂ for each row, written into `norms` (count = rows), accumulated in Double.
    @inlinable
    public static func rowNorms<T: Scalar>(_ x: UnsafePointer<T>, rows: Int, cols: Int,
                                           into norms: UnsafeMutablePointer<Double>) {
        for i in 0..<rows { norms[i] = sumOfSquares(x + i * cols, count: cols).squareRoot() }
    }

    /// The largest of `count` finite values (−inf when empty): four independent compare-select
    /// chains (maxsd without a NaN-handling call; the stdlib's SIMD pointwiseMax is not inlined).
    @inlinable
    public static func maximum(_ x: UnsafePointer<Double>, count n: Int) -> Double {
        var m0 = -Double.infinity, m1 = m0, m2 = m0, m3 = m0
        var i = 0
        while i + 4 <= n {
            let a = x[i], b = x[i + 1], c = x[i + 2], d = x[i + 3]
            m0 = a > m0 ? a : m0; m1 = b > m1 ? b : m1; m2 = c > m2 ? c : m2; m3 = d > m3 ? d : m3
            i += 4
        }
        while i < n { m0 = x[i] > m0 ? x[i] : m0; i += 1 }
        m0 = m1 > m0 ? m1 : m0; m2 = m3 > m2 ? m3 : m2
        return m2 > m0 ? m2 : m0
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
