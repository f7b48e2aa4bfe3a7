// Regula engine — the top singular triplet by power iteration on the smaller Gram matrix.

public enum PowerIteration {
    /// σ₁ and unit singular vectors u (m) and v (n) of a row-major m×n matrix A, with
    /// A v = σ₁ u. Power iteration runs on the smaller Gram matrix (AᵀA if n ≤ m, else AAᵀ)
    /// from a fixed pseudo-random start (so the result is a deterministic function of A) until
    /// the eigen-residual ‖Gx − λx‖ ≤ tolerance · λ, or `maxIterations`.
    /// A zero matrix gives σ₁ = 0 and zero vectors (normalisation guarded by 1e-300).
    public static func topSingular(_ a: UnsafePointer<Double>, rows m: Int, cols n: Int,
                                   tolerance: Double = 1e-12, maxIterations: Int = 20_000)
        -> (sigma: Double, u: [Double], v: [Double], iterations: Int) {
        if m == 0 || n == 0 { return (0, [Double](repeating: 0, count: m), [Double](repeating: 0, count: n), 0) }
        let tall = n <= m, k = tall ? n : m
        var gram = [Double](repeating: 0, count: k * k)
        gram.withUnsafeMutableBufferPointer { gp in
            BLAS.gram(tall ? .transpose : .none, n: k, k: tall ? m : n, alpha: 1, a, lda: n, beta: 0, gp.baseAddress!)
        }
        var rng = RNG(seed: 0x5EED_5EED)
        var x = (0..<k).map { _ in rng.normal() }
        var y = [Double](repeating: 0, count: k)
        normalize(&x)
        var iterations = 0
        while iterations < maxIterations {
            iterations += 1
            multiply(gram, x, into: &y, k)
            let lambda = Kernels.dot(x, y, count: k)  // Rayleigh quotient xᵀGx (‖x‖ = 1)
            var residual = 0.0
            for i in 0..<k { let d = y[i] - lambda * x[i]; residual += d * d }
            let norm = normalize(&y)
            if norm == 0 { x = [Double](repeating: 0, count: k); break }
            swap(&x, &y)
            if residual.squareRoot() <= tolerance * lambda { break }
        }
        // The other singular vector: u = A v / σ (tall) or v = Aᵀ u / σ (wide); σ = its norm.
        var other = [Double](repeating: 0, count: tall ? m : n)
        x.withUnsafeBufferPointer { xp in
            other.withUnsafeMutableBufferPointer { op in
                BLAS.gemm(tall ? .none : .transpose, .none, m: tall ? m : n, n: 1, k: k, alpha: 1, a, lda: n,
                          xp.baseAddress!, ldb: 1, beta: 0, op.baseAddress!, ldc: 1)
            }
        }
        let sigma = normalize(&other)
        if sigma == 0 { x = [Double](repeating: 0, count: k) }
        return tall ? (sigma, other, x, iterations) : (sigma, x, other, iterations)
    }

    /// y = G x for a k×k row-major G.
    static func multiply(_ g: [Double], _ x: [Double], into y: inout [Double], _ k: Int) {
        g.withUnsafeBufferPointer { gp in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    BLAS.gemm(.none, .none, m: k, n: 1, k: k, alpha: 1, gp.baseAddress!, lda: k,
                              xp.baseAddress!, ldb: 1, beta: 0, yp.baseAddress!, ldc: 1)
                }
            }
        }
    }

    /// Scales x to unit norm and returns the old norm (x is zeroed when the norm is below 1e-300).
    @discardableResult
    static func normalize(_ x: inout [Double]) -> Double {
        let r = x.withUnsafeBufferPointer { Kernels.sumOfSquares($0.baseAddress!, count: $0.count) }.squareRoot()
        if r < 1e-300 { for i in 0..<x.count { x[i] = 0 }; return 0 }
        for i in 0..<x.count { x[i] /= r }
        return r
    }
}
