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
        return (m + log(expSum(z, count: count, shift: m, into: nil)), m)
    }

    /// p = softmax(z) written into `p` (Double), returns the log-sum-exp.
    @inlinable
    public static func softmax<T: Scalar>(_ z: UnsafePointer<T>, count: Int,
                                          into p: UnsafeMutablePointer<Double>) -> Double {
        var m = -Double.infinity
        for k in 0..<count { m = Swift.max(m, z[k].double) }
        let s = expSum(z, count: count, shift: m, into: p)
        let inv = 1 / s
        for k in 0..<count { p[k] *= inv }
        return m + log(s)
    }

    /// Σ_k e^{z_k − shift} (every exponent ≤ 0 when shift is the max, so terms are ≤ 1 and the
    /// max term is 1), 8 lanes at a time; the terms are stored into `p` when given.
    @inlinable
    public static func expSum<T: Scalar>(_ z: UnsafePointer<T>, count: Int, shift m: Double,
                                         into p: UnsafeMutablePointer<Double>?) -> Double {
        var acc = SIMD8<Double>()
        var k = 0
        while k + 8 <= count {
            let e = expNonPositive(SIMD8<Double>(UnsafeRawPointer(z + k).loadUnaligned(as: SIMD8<T>.self)) - m)
            if let p { UnsafeMutableRawPointer(p + k).storeBytes(of: e, as: SIMD8<Double>.self) }
            acc += e
            k += 8
        }
        var s = acc.sum()
        while k < count {
            let e = exp(z[k].double - m)
            p?[k] = e
            s += e
            k += 1
        }
        return s
    }
}
