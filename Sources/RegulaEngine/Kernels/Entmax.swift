// Regula engine — the 1.5-entmax threshold (shared by the entmax15 map and the entmax15 loss).

extension Kernels {
    /// The threshold τ of 1.5-entmax for one row, by the exact sort algorithm of Peters et al.
    /// (entmax package `_entmax_threshold_and_support`), on the shifted, halved values
    /// `x_j = (z_j − max z)/2`. The map is then `p_j = max(x_j − τ, 0)²` (Σ p = 1).
    /// ```
    /// sort x descending; for k = 1..K: μ_k = mean(x_(1..k)), ms_k = mean(x_(1..k)²),
    /// ss_k = k (ms_k − μ_k²), δ_k = (1 − ss_k)/k, τ_k = μ_k − sqrt(max(δ_k, 0));
    /// k* = #{k : τ_k ≤ x_(k)}, τ = τ_{k*}
    /// ```
    /// Returns (τ, max z). `sorted` is scratch (reused across rows). An empty row gives (0, -inf).
    /// - Stability: the max shift makes |z| = 1e4 exact (x ≤ 0, the top entry is 0); sums in Double.
    @inlinable
    public static func entmax15Threshold<T: Scalar>(_ z: UnsafePointer<T>, count k: Int,
                                                    sorted: inout [Double]) -> (tau: Double, max: Double) {
        var m = -Double.infinity
        for j in 0..<k { m = Swift.max(m, z[j].double) }
        guard k > 0 else { return (0, m) }
        sorted.removeAll(keepingCapacity: true)
        for j in 0..<k { sorted.append((z[j].double - m) / 2) }
        sorted.sort(by: >)
        // τ_k from the prefix sums of the sorted row.
        func tauPrefix(_ n: Double, _ sum: Double, _ sumSq: Double) -> Double {
            let mean = sum / n, meanSq = sumSq / n
            let ss = n * (meanSq - mean * mean)
            let delta = (1 - ss) / n
            return mean - Swift.max(delta, 0).squareRoot()
        }
        var sum = 0.0, sumSq = 0.0, support = 0
        for j in 0..<k {  // k* = #{k : τ_k ≤ x_(k)} (counted over all k, as the entmax package does)
            sum += sorted[j]; sumSq += sorted[j] * sorted[j]
            if tauPrefix(Double(j + 1), sum, sumSq) <= sorted[j] { support += 1 }
        }
        support = Swift.max(support, 1)  // k = 1 always qualifies (τ_1 = x_(1) − 1); guard rounding
        sum = 0; sumSq = 0
        for j in 0..<support { sum += sorted[j]; sumSq += sorted[j] * sorted[j] }
        let tau = tauPrefix(Double(support), sum, sumSq)
        return (tau, m)
    }

    /// 1.5-entmax of one row: writes `p_j = max((z_j − max z)/2 − τ, 0)²` into `p`.
    @inlinable
    public static func entmax15<T: Scalar>(_ z: UnsafePointer<T>, count k: Int, sorted: inout [Double],
                                           into p: UnsafeMutablePointer<Double>) {
        let (tau, m) = entmax15Threshold(z, count: k, sorted: &sorted)
        for j in 0..<k {
            let d = Swift.max((z[j].double - m) / 2 - tau, 0)
            p[j] = d * d
        }
    }
}
