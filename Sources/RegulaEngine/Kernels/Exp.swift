// Regula engine — exp without a libm call, for the softmax family's inner loops.

#if canImport(Glibc)
import Glibc
#endif

extension Kernels {
    /// e^x to within a few ulp (relative error < 2e-15), inlinable and branch-light:
    /// x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split in two parts so r is exact), e^r by its Taylor
    /// series to r¹² (truncation < 2e-16), then scaled by 2^k through the exponent bits.
    /// Outside [−708, 709] (where 2^k leaves the normal range) it defers to libm.
    @inlinable
    public static func exp(_ x: Double) -> Double {
        guard x > -708, x < 709 else { return Glibc.exp(x) }  // also NaN
        let k = (x * 1.4426950408889634).rounded(.toNearestOrEven)
        let r = (x - k * 0.6931471803691238) - k * 1.9082149292705877e-10
        var p = 1.0 / 479001600
        p = p * r + 1.0 / 39916800
        p = p * r + 1.0 / 3628800
        p = p * r + 1.0 / 362880
        p = p * r + 1.0 / 40320
        p = p * r + 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        return p * Double(bitPattern: UInt64(Int64(k) + 1023) << 52)
    }
}
