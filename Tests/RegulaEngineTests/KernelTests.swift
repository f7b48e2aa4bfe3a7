// Engine kernels against float64 references: Double accumulation, threads, log-sum-exp, BLAS, LAPACK.

import Testing
#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

@Suite struct KernelTests {
    @Test func floatSumsAccumulateInDouble() {
        // 10M float32 values of 0.1: a float accumulator is off by > 1%; Double is exact to ~1e-9.
        let n = 10_000_000
        let x = NDArray<Float>(shape: [n], repeating: 0.1)
        let g = NDArray<Float>(shape: [n])
        let v = Kernels.valueAndGradient(x.storage.baseAddress!, g.storage.baseAddress!, count: n, scale: 1) { ($0, 1) }
        let exact = Double(Float(0.1)) * Double(n)
        #expect(abs(v - exact) / exact < 1e-9)
        #expect(g[n - 1] == 1 && g[0] == 1)
    }

    @Test func threadedAndSerialAgree() {
        var rng = RNG(seed: 4)
        let n = Parallel.threshold * 3 + 17
        let x = NDArray<Double>(shape: [n])
        for i in 0..<n { x[i] = rng.normal() }
        let g = NDArray<Double>(shape: [n])
        let v = Kernels.valueAndGradient(x.storage.baseAddress!, g.storage.baseAddress!, count: n, scale: 2) { ($0 * $0, 2 * $0) }
        var ref = 0.0
        for i in 0..<n { ref += x[i] * x[i] }
        #expect(abs(v - 2 * ref) <= 1e-9 * ref)
        for i in stride(from: 0, to: n, by: 997) { #expect(g[i] == 4 * x[i]) }
    }

    @Test func logSumExpIsStableForHugeLogits() {
        let z: [Float] = [1e4, 0, -1e4]
        let (lse, m) = z.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, count: 3) }
        #expect(lse == 1e4 && m == 1e4)
        let z2: [Double] = [1, 2, 3]
        let (l2, _) = z2.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, count: 3) }
        #expect(abs(l2 - 3.40760596444438) < 1e-12)
    }

    @Test func simdSignAndAbsMatchScalar() {
        let xs: [Double] = [-2.5, -0.0, 0.0, 3, .infinity, -.infinity, 1e-310, -1e-310]
        let v = SIMD8<Double>(xs)
        let a = Kernels.abs(v), s = Kernels.sign(v)
        for l in 0..<8 {
            #expect(a[l] == Swift.abs(xs[l]))
            #expect(s[l] == Kernels.sign(xs[l]))
        }
    }

    @Test func fastExpMatchesLibm() {
        var rng = RNG(seed: 11)
        var worst = 0.0
        for i in 0..<200_000 {
            let x = i < 100_000 ? (rng.uniform() - 0.5) * 1400 : (rng.uniform() - 0.5) * 40
            let want = Glibc.exp(x), got = Kernels.exp(x)
            if want > 0 && want.isFinite { worst = max(worst, abs(got - want) / want) }
            else { #expect(got == want || (got.isNaN && want.isNaN)) }
        }
        #expect(worst < 2e-15, "worst relative error \(worst)")
        #expect(Kernels.exp(0) == 1 && Kernels.exp(-1000) == 0 && Kernels.exp(1000) == .infinity)
        #expect(Kernels.exp(.nan).isNaN)
    }

    @Test func vectorExpMatchesLibmOnTheSoftmaxDomain() {
        var rng = RNG(seed: 12)
        var worst = 0.0
        for _ in 0..<20_000 {
            var v = SIMD8<Double>()
            for l in 0..<8 { v[l] = -rng.uniform() * (rng.uniform() < 0.5 ? 30 : 800) }
            let e = Kernels.expNonPositive(v)
            for l in 0..<8 {
                let want = Glibc.exp(v[l])
                if v[l] >= -708 { worst = max(worst, abs(e[l] - want) / want) }
                else { #expect(e[l] <= 4e-308 && e[l] >= 0) }
            }
        }
        #expect(worst < 2e-15, "worst relative error \(worst)")
        #expect(Kernels.expNonPositive(SIMD8<Double>(repeating: 0))[3] == 1)
    }

    @Test func firstNonFiniteFindsTheIndex() {
        var x = [Double](repeating: 1, count: 37)
        #expect(x.withUnsafeBufferPointer { Kernels.firstNonFinite($0.baseAddress!, count: 37) } == nil)
        x[29] = .nan; x[33] = .infinity
        #expect(x.withUnsafeBufferPointer { Kernels.firstNonFinite($0.baseAddress!, count: 37) } == 29)
    }

    @Test func gemmAndGramMatchLoops() {
        var rng = RNG(seed: 9)
        let m = 4, k = 3
        let a = NDArray<Double>(shape: [m, k])
        for i in 0..<a.count { a[i] = rng.normal() }
        let c = NDArray<Double>(shape: [m, m])
        BLAS.gram(.none, n: m, k: k, alpha: 1, a.storage.baseAddress!, lda: k, beta: 0, c.storage.baseAddress!)
        let d = NDArray<Double>(shape: [m, m])
        BLAS.gemm(.none, .transpose, m: m, n: m, k: k, alpha: 1, a.storage.baseAddress!, lda: k,
                  a.storage.baseAddress!, ldb: k, beta: 0, d.storage.baseAddress!, ldc: m)
        for i in 0..<m { for j in 0..<m {
            var ref = 0.0
            for l in 0..<k { ref += a[i * k + l] * a[j * k + l] }
            #expect(abs(c[i * m + j] - ref) < 1e-12 && abs(d[i * m + j] - ref) < 1e-12)
        } }
    }

    @Test func svdReconstructs() throws {
        var rng = RNG(seed: 3)
        for (m, n) in [(3, 5), (5, 3), (4, 4)] {
            let a = (0..<(m * n)).map { _ in rng.normal() }
            let (u, s, vt) = try LAPACK.svd(a, rows: m, cols: n)
            let r = min(m, n)
            for i in 0..<m { for j in 0..<n {
                var x = 0.0
                for l in 0..<r { x += u[i * r + l] * s[l] * vt[l * n + j] }
                #expect(abs(x - a[i * n + j]) < 1e-10)
            } }
            #expect(zip(s, s.dropFirst()).allSatisfy { $0 >= $1 })
        }
    }

    @Test func symmetricEigenDecomposes() throws {
        let a: [Double] = [2, 1, 0, 1, 2, 0, 0, 0, 5]
        let (w, v) = try LAPACK.symmetricEigen(a, order: 3)
        #expect(abs(w[0] - 1) < 1e-12 && abs(w[1] - 3) < 1e-12 && abs(w[2] - 5) < 1e-12)
        for k in 0..<3 {  // A v_k = w_k v_k, with v_k the k-th row
            for i in 0..<3 {
                var av = 0.0
                for j in 0..<3 { av += a[i * 3 + j] * v[k * 3 + j] }
                #expect(abs(av - w[k] * v[k * 3 + i]) < 1e-12)
            }
        }
    }

    @Test func rngIsReproducible() {
        var a = RNG(seed: 42), b = RNG(seed: 42)
        for _ in 0..<100 { #expect(a.next() == b.next()) }
        var c = RNG(seed: 1)
        var mean = 0.0, sq = 0.0
        for _ in 0..<100_000 { let z = c.normal(); mean += z; sq += z * z }
        #expect(abs(mean / 1e5) < 0.02 && abs(sq / 1e5 - 1) < 0.02)
    }
}
