// Regula engine — a small complex DFT/FFT in Double: radix-2 for power-of-two lengths, a direct
// DFT (with an exact twiddle table) for every other length, and n-dimensional transforms by axes.

#if canImport(Glibc)
import Glibc
#endif

/// Discrete Fourier transforms in Double precision.
/// ```
/// forward:  X_k = Σ_j x_j e^{−2πi jk/n}        inverse: x_j = Σ_k X_k e^{+2πi jk/n}   (no 1/n)
/// ```
/// The caller applies any normalisation (numpy's `ifft` is `inverse / n`).
public enum FFT {
    /// The integer wavenumber of bin `j` of an `n`-point transform, numpy's `fftfreq(n, 1/n)`:
    /// 0, 1, …, ⌈n/2⌉−1, −⌊n/2⌋, …, −1.
    @inlinable
    public static func wavenumber(_ j: Int, _ n: Int) -> Int { j < (n + 1) / 2 ? j : j - n }

    /// In-place transform of `n` complex values stored at `re[k·stride]`, `im[k·stride]`.
    public static func transform(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>,
                                 count n: Int, stride: Int = 1, inverse: Bool = false) {
        if n <= 1 { return }
        // Gather into contiguous scratch, transform, scatter back.
        var xr = [Double](repeating: 0, count: n), xi = [Double](repeating: 0, count: n)
        for k in 0..<n { xr[k] = re[k * stride]; xi[k] = im[k * stride] }
        xr.withUnsafeMutableBufferPointer { r in
            xi.withUnsafeMutableBufferPointer { i in
                if n & (n - 1) == 0 { radix2(r.baseAddress!, i.baseAddress!, n, inverse) }
                else { direct(r.baseAddress!, i.baseAddress!, n, inverse) }
            }
        }
        for k in 0..<n { re[k * stride] = xr[k]; im[k * stride] = xi[k] }
    }

    /// In-place n-dimensional transform of a row-major array of `shape` over its last
    /// `shape.count − batchDims` axes (the leading `batchDims` axes index independent signals).
    public static func transform(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>,
                                 shape: [Int], batchDims: Int = 0, inverse: Bool = false) {
        let total = shape.reduce(1, *)
        if total == 0 { return }
        for axis in batchDims..<shape.count {
            let n = shape[axis]
            if n <= 1 { continue }
            let inner = shape[(axis + 1)...].reduce(1, *)   // stride of this axis
            let outer = total / (n * inner)
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * n * inner + i
                    transform(re + base, im + base, count: n, stride: inner, inverse: inverse)
                }
            }
        }
    }

    /// cos and sin of 2πk/n for k in 0..<n (k < n, so every angle is in [0, 2π)).
    static func twiddles(_ n: Int) -> (c: [Double], s: [Double]) {
        var c = [Double](repeating: 0, count: n), s = [Double](repeating: 0, count: n)
        for k in 0..<n {
            let a = 2 * Double.pi * Double(k) / Double(n)
            c[k] = cos(a); s[k] = sin(a)
        }
        return (c, s)
    }

    /// Direct O(n²) DFT; the twiddle index is reduced mod n so no large angles are formed.
    static func direct(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>, _ n: Int, _ inverse: Bool) {
        let (c, s) = twiddles(n)
        let sign: Double = inverse ? 1 : -1
        var outR = [Double](repeating: 0, count: n), outI = [Double](repeating: 0, count: n)
        for k in 0..<n {
            var ar = 0.0, ai = 0.0, idx = 0
            for j in 0..<n {
                let cr = c[idx], ci = sign * s[idx]
                ar += re[j] * cr - im[j] * ci
                ai += re[j] * ci + im[j] * cr
                idx += k; if idx >= n { idx -= n }
            }
            outR[k] = ar; outI[k] = ai
        }
        for k in 0..<n { re[k] = outR[k]; im[k] = outI[k] }
    }

    /// Iterative radix-2 Cooley–Tukey (bit-reversal permutation, then butterflies).
    static func radix2(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>, _ n: Int, _ inverse: Bool) {
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 { j ^= bit; bit >>= 1 }
            j |= bit
            if i < j { swap(&re[i], &re[j]); swap(&im[i], &im[j]) }
        }
        let (c, s) = twiddles(n)
        let sign: Double = inverse ? 1 : -1
        var len = 2
        while len <= n {
            let half = len / 2, step = n / len
            var start = 0
            while start < n {
                for k in 0..<half {
                    let wr = c[k * step], wi = sign * s[k * step]
                    let a = start + k, b = a + half
                    let tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr; im[b] = im[a] - ti
                    re[a] += tr; im[a] += ti
                }
                start += len
            }
            len <<= 1
        }
    }
}
