// Regula engine — LAPACK decompositions (float64; callers convert float32 once).

import COpenBLAS

public enum LinalgError: Error, Sendable, CustomStringConvertible {
    case noConvergence(String, Int32)
    case tooLarge(String)
    public var description: String {
        switch self {
        case .noConvergence(let routine, let info): "\(routine) did not converge (info \(info))"
        case .tooLarge(let what): "\(what) is too large for LAPACK's 32-bit sizes"
        }
    }
}

public enum LAPACK {
    /// Thin SVD of a row-major m×n matrix: A = U · diag(s) · Vᵀ with U m×r, s r, Vt r×n,
    /// r = min(m, n), singular values descending (divide and conquer, dgesdd).
    public static func svd(_ a: [Double], rows m: Int, cols n: Int) throws
        -> (u: [Double], s: [Double], vt: [Double]) {
        let r = Swift.min(m, n)
        if r == 0 { return ([], [], []) }
        guard m < Int(Int32.max) / Swift.max(n, 1) else { throw LinalgError.tooLarge("SVD input") }
        // Row-major A (m×n) is column-major Aᵀ (n×m): factor Aᵀ = V S Uᵀ, so LAPACK's U is our V
        // and LAPACK's Vᵀ is our Uᵀ, both read back in row-major without copies.
        var at = a
        var s = [Double](repeating: 0, count: r)
        var uL = [Double](repeating: 0, count: n * r)   // n×r column-major = V (row-major r×n = Vᵀ)
        var vtL = [Double](repeating: 0, count: r * m)  // r×m column-major = Uᵀ (row-major m×r = U)
        var jobz: CChar = 83 /* "S" */
        var mm = Int32(n), nn = Int32(m), lda = Int32(n), ldu = Int32(n), ldvt = Int32(r)
        var info: Int32 = 0, lwork: Int32 = -1
        var query = 0.0
        var iwork = [Int32](repeating: 0, count: 8 * r)
        dgesdd_(&jobz, &mm, &nn, &at, &lda, &s, &uL, &ldu, &vtL, &ldvt, &query, &lwork, &iwork, &info)
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgesdd_(&jobz, &mm, &nn, &at, &lda, &s, &uL, &ldu, &vtL, &ldvt, &work, &lwork, &iwork, &info)
        if info != 0 { throw LinalgError.noConvergence("dgesdd", info) }
        return (vtL, s, uL)
    }

    /// Eigendecomposition of a symmetric n×n matrix: ascending eigenvalues and the eigenvectors
    /// as the rows of the returned n×n matrix (dsyevd).
    public static func symmetricEigen(_ a: [Double], order n: Int) throws
        -> (values: [Double], vectors: [Double]) {
        if n == 0 { return ([], []) }
        var m = a
        var w = [Double](repeating: 0, count: n)
        var jobz: CChar = 86 /* "V" */, uplo: CChar = 85 /* "U" */
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var wq = 0.0, iq: Int32 = 0
        dsyevd_(&jobz, &uplo, &nn, &m, &lda, &w, &wq, &lwork, &iq, &liwork, &info)
        lwork = Int32(wq); liwork = iq
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_(&jobz, &uplo, &nn, &m, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        if info != 0 { throw LinalgError.noConvergence("dsyevd", info) }
        // Column-major eigenvectors of a symmetric matrix = rows in our row-major reading.
        return (w, m)
    }
}
