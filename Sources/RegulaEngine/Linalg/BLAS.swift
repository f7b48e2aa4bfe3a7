// Regula engine — BLAS through OpenBLAS (row-major CBLAS), for float32 and float64.

import COpenBLAS

public enum Transpose: Sendable { case none, transpose
    @usableFromInline var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, row-major; op(A) is m×k, op(B) is k×n.
    @inlinable
    public static func gemm<T: Scalar>(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int,
                                       alpha: Double, _ a: UnsafePointer<T>, lda: Int,
                                       _ b: UnsafePointer<T>, ldb: Int,
                                       beta: Double, _ c: UnsafeMutablePointer<T>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if T.self == Float.self {
            cblas_sgemm(CblasRowMajor, ta.cblas, tb.cblas, Int32(m), Int32(n), Int32(k), Float(alpha),
                        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), Int32(lda),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), Int32(ldb), Float(beta),
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(ldc))
        } else {
            cblas_dgemm(CblasRowMajor, ta.cblas, tb.cblas, Int32(m), Int32(n), Int32(k), alpha,
                        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), Int32(lda),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), Int32(ldb), beta,
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), Int32(ldc))
        }
    }

    /// Gram matrix, full (both triangles): C = alpha · A·Aᵀ (n×n, A n×k) when `trans == .none`,
    /// or alpha · Aᵀ·A (k×k for A of k rows... i.e. A is rows×n, C is n×n) when `.transpose`.
    /// `n` is C's order and `k` the inner dimension; `lda` is A's row stride.
    @inlinable
    public static func gram<T: Scalar>(_ trans: Transpose, n: Int, k: Int, alpha: Double,
                                       _ a: UnsafePointer<T>, lda: Int,
                                       beta: Double, _ c: UnsafeMutablePointer<T>) {
        if n == 0 { return }
        if T.self == Float.self {
            cblas_ssyrk(CblasRowMajor, CblasUpper, trans.cblas, Int32(n), Int32(k), Float(alpha),
                        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), Int32(lda), Float(beta),
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(n))
        } else {
            cblas_dsyrk(CblasRowMajor, CblasUpper, trans.cblas, Int32(n), Int32(k), alpha,
                        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), Int32(lda), beta,
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), Int32(n))
        }
        for i in 0..<n { for j in 0..<i { c[i * n + j] = c[j * n + i] } }  // mirror the upper triangle
    }
}
