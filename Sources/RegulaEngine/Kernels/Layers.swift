// Regula engine — the layer kernels of the graph's hot loop: ReLU and its backward, bias
// broadcast and bias gradient. 8 lanes at a time, branch-free, split across the cores on large inputs.

extension Kernels {
    /// y = max(x, 0); NaN stays NaN (as `Swift.max(x, 0)`), −0 becomes +0.
    public static func relu(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count: Int) {
        Parallel.chunks(count) { _, r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound { let v = load8(x + i); store8(v.replacing(with: 0, where: v .<= 0), y + i); i += 8 }
            while i < r.upperBound { y[i] = Swift.max(x[i], 0); i += 1 }
        }
    }

    /// dx += dy where x > 0 (relu'(0) = 0), or dx = that masked dy when `accumulate` is false.
    /// A select, not a branch: the sign of a pre-activation is a coin flip that a branch
    /// predictor loses half the time.
    public static func reluBackward(_ x: UnsafePointer<Double>, _ dy: UnsafePointer<Double>,
                                    into dx: UnsafeMutablePointer<Double>, count: Int, accumulate: Bool = true) {
        Parallel.chunks(count) { _, r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let d = load8(dy + i).replacing(with: 0, where: .!(load8(x + i) .> 0))
                store8(accumulate ? load8(dx + i) + d : d, dx + i)
                i += 8
            }
            while i < r.upperBound {
                let d = x[i] > 0 ? dy[i] : 0
                dx[i] = accumulate ? dx[i] + d : d
                i += 1
            }
        }
    }

    /// y[i, :] += b for every row of a (rows, cols) matrix.
    public static func addRowVector(_ b: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, rows: Int, cols: Int) {
        Parallel.chunks(rows, minimum: Swift.max(2, Parallel.threshold / Swift.max(cols, 1))) { _, rs in
            for r in rs {
                let row = y + r * cols
                var j = 0
                while j + 8 <= cols { store8(load8(row + j) + load8(b + j), row + j); j += 8 }
                while j < cols { row[j] += b[j]; j += 1 }
            }
        }
    }

    /// db += Σ_i dy[i, :] (the bias gradient), rows added in order (as the scalar loop).
    public static func addColumnSums(_ dy: UnsafePointer<Double>, rows: Int, cols: Int, into db: UnsafeMutablePointer<Double>) {
        var j = 0
        while j + 8 <= cols {
            var acc = load8(db + j)
            for i in 0..<rows { acc += load8(dy + i * cols + j) }
            store8(acc, db + j)
            j += 8
        }
        while j < cols {
            var acc = db[j]
            for i in 0..<rows { acc += dy[i * cols + j] }
            db[j] = acc
            j += 1
        }
    }
}
