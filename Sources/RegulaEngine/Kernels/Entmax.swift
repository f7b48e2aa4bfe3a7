// Regula engine — the 1.5-entmax threshold (exact sort algorithm), shared by the map and the loss.

extension Kernels {
    /// τ of 1.5-entmax for one row, on the half-scaled shifted values `x = (z − max z)/2`:
    /// p = max(x − τ, 0)² sums to 1. Returns (τ, max z). `c` is caller scratch of `count` values.
    /// ```
    /// x sorted descending; for k = 1..K: μ_k = mean(x_(1..k)), ms_k = mean(x_(1..k)²),
    /// ss_k = k(ms_k − μ_k²), δ_k = (1 − ss_k)/k, τ_k = μ_k − sqrt(max(δ_k, 0));
    /// k* = #{k : τ_k ≤ x_(k)},  τ = τ_{k*}
    /// ```
    /// An empty row returns (0, −inf).
    @inlinable
    public static func entmax15Threshold<T: Scalar>(_ z: UnsafePointer<T>, count: Int,
                                                    scratch c: UnsafeMutablePointer<Double>) -> (tau: Double, max: Double) {
        guard count > 0 else { return (0, -.infinity) }
        var m = -Double.infinity
        for j in 0..<count { let v = z[j].double; m = v > m ? v : m }  // compare-select: no NaN-aware call
        // Only x > −1 can be in the support (p_max = τ² ≤ 1 and x_max = 0 give τ ≥ −1), so
        // sorting these candidates gives the same k* as sorting the row: the condition below
        // holds exactly for k ≤ k*, and every k ≤ k* indexes a candidate.
        var n = 0
        for j in 0..<count {
            let x = (z[j].double - m) * 0.5  // shift first: exact at |z| = 1e4
            c[n] = x
            n &+= x > -1 ? 1 : 0
        }
        sortDescending(UnsafeMutableBufferPointer(start: c, count: n), count: n)
        func tauAt(_ k: Int, _ sum: Double, _ sumSq: Double) -> Double {
            let n = Double(k)
            let mean = sum / n, meanSq = sumSq / n
            let delta = (1 - n * (meanSq - mean * mean)) / n
            return mean - Swift.max(delta, 0).squareRoot()
        }
        var sum = 0.0, sumSq = 0.0, support = 0
        for k in 0..<n {
            sum += c[k]; sumSq += c[k] * c[k]
            if tauAt(k + 1, sum, sumSq) <= c[k] { support += 1 }
        }
        // k* = number of k that satisfy the condition (entmax's rule), then τ = τ_{k*}.
        sum = 0; sumSq = 0
        for k in 0..<support { sum += c[k]; sumSq += c[k] * c[k] }
        return (tauAt(support, sum, sumSq), m)
    }
}
