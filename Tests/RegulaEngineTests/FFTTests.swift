// The FFT kernel against a naive DFT written here, and its round trip.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import RegulaEngine

@Suite struct FFTTests {
    /// A naive DFT evaluated with fresh angles (independent of the kernel's twiddle table).
    func naive(_ re: [Double], _ im: [Double], inverse: Bool) -> ([Double], [Double]) {
        let n = re.count, sign: Double = inverse ? 1 : -1
        var outR = [Double](repeating: 0, count: n), outI = [Double](repeating: 0, count: n)
        for k in 0..<n {
            for j in 0..<n {
                let a = sign * 2 * Double.pi * Double(j * k) / Double(n)
                outR[k] += re[j] * cos(a) - im[j] * sin(a)
                outI[k] += re[j] * sin(a) + im[j] * cos(a)
            }
        }
        return (outR, outI)
    }

    @Test(arguments: [1, 2, 3, 4, 5, 8, 12, 16, 17, 64])
    func matchesNaiveDFT(_ n: Int) {
        var rng = RNG(seed: UInt64(n))
        var re = (0..<n).map { _ in rng.normal() }, im = (0..<n).map { _ in rng.normal() }
        let (wr, wi) = naive(re, im, inverse: false)
        FFT.transform(&re, &im, count: n)
        for k in 0..<n {
            #expect(abs(re[k] - wr[k]) < 1e-10 * Double(n) && abs(im[k] - wi[k]) < 1e-10 * Double(n), "n=\(n) bin \(k)")
        }
        // inverse(forward(x)) = n·x
        var re2 = re, im2 = im
        FFT.transform(&re2, &im2, count: n, inverse: true)
        let (br, _) = naive(wr, wi, inverse: true)
        for k in 0..<n { #expect(abs(re2[k] - br[k]) < 1e-9 * Double(n)) }
    }

    @Test func twoDimensionalDeltaIsFlat() {
        var re = [Double](repeating: 0, count: 12), im = [Double](repeating: 0, count: 12)
        re[0] = 1
        FFT.transform(&re, &im, shape: [3, 4])
        #expect(re.allSatisfy { abs($0 - 1) < 1e-14 } && im.allSatisfy { abs($0) < 1e-14 })
        // A shifted delta along the last axis: X[k1,k2] = e^{-2πi k2/4}.
        var r2 = [Double](repeating: 0, count: 12), i2 = [Double](repeating: 0, count: 12)
        r2[1] = 1
        FFT.transform(&r2, &i2, shape: [3, 4])
        #expect(abs(r2[5] - 0) < 1e-14 && abs(i2[5] + 1) < 1e-14)   // k = (1, 1)
        // batchDims = 1: rows transformed independently, no mixing across the first axis.
        var r3 = [Double](repeating: 0, count: 12), i3 = [Double](repeating: 0, count: 12)
        r3[4] = 1
        FFT.transform(&r3, &i3, shape: [3, 4], batchDims: 1)
        #expect(r3[0..<4].allSatisfy { $0 == 0 } && r3[4..<8].allSatisfy { abs($0 - 1) < 1e-14 })
    }

    @Test func wavenumbersMatchNumpy() {
        #expect((0..<4).map { FFT.wavenumber($0, 4) } == [0, 1, -2, -1])
        #expect((0..<5).map { FFT.wavenumber($0, 5) } == [0, 1, 2, -2, -1])
    }
}
