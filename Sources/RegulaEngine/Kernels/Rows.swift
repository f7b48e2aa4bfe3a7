// Regula engine — row-wise helpers over a (rows, cols) matrix.

extension Kernels {
    /// ‖row i‖₂ for each row, written into `norms` (count = rows), accumulated in Double.
    @inlinable
    public static func rowNorms<T: Scalar>(_ x: UnsafePointer<T>, rows: Int, cols: Int,
                                           into norms: UnsafeMutablePointer<Double>) {
        for i in 0..<rows { norms[i] = sumOfSquares(x + i * cols, count: cols).squareRoot() }
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
