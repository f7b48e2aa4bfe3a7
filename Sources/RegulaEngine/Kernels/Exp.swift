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

    /// e^x on 8 lanes for x ≤ 0 (the max-shifted softmax domain), with the same reduction and
    /// series as `exp`. Round-to-nearest and the integer k come from adding 1.5·2⁵² (pure adds,
    /// no rounding instructions needed on baseline x86-64). Lanes below −708 are clamped there:
    /// e^−708 ≈ 3e-308, far below the 1 that the max contributes to any softmax sum.
    @inlinable @inline(__always)
    public static func expNonPositive(_ x: SIMD8<Double>) -> SIMD8<Double> {
        let magic = 6755399441055744.0  // 1.5·2⁵²
        let xc = x.replacing(with: -708, where: x .< -708)
        let t = xc * 1.4426950408889634 + magic
        let k = t - magic
        let r = (xc - k * 0.6931471803691238) - k * 1.9082149292705877e-10
        var p = SIMD8<Double>(repeating: 1.0 / 479001600)
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
        let kBits = unsafeBitCast(t, to: SIMD8<Int64>.self) &- unsafeBitCast(SIMD8<Double>(repeating: magic), to: SIMD8<Int64>.self)
        return p * unsafeBitCast((kBits &+ 1023) &<< 52, to: SIMD8<Double>.self)
    }
}
