// Regula engine — the one log-sum-exp / softmax kernel (max-shifted, Double accumulation).

#if canImport(Glibc)
import Glibc
#endif

extension Kernels {
    /// log Σ_k exp(z_k), max-shifted: finite for |z| up to the float range.
    /// Returns (lse, max). An empty row gives (-inf, -inf).
    @inlinable
    public static func logSumExp<T: Scalar>(_ z: UnsafePointer<T>, count: Int) -> (lse: Double, max: Double) {
        var m = -Double.infinity
        for k in 0..<count { m = Swift.max(m, z[k].double) }
        if !m.isFinite { return (m, m) }
        var s = 0.0
        for k in 0..<count { s += Kernels.exp(z[k].double - m) }  // shifted: every term ≤ 1, the max term = 1
        return (m + log(s), m)
    }

    /// p = softmax(z) written into `p` (Double), returns the log-sum-exp.
    @inlinable
    public static func softmax<T: Scalar>(_ z: UnsafePointer<T>, count: Int,
                                          into p: UnsafeMutablePointer<Double>) -> Double {
        var m = -Double.infinity
        for k in 0..<count { m = Swift.max(m, z[k].double) }
        var s = 0.0
        for k in 0..<count { let e = Kernels.exp(z[k].double - m); p[k] = e; s += e }
        let inv = 1 / s
        for k in 0..<count { p[k] *= inv }
        return m + log(s)
    }
}
