// Regula — Cauchy–Schwarz regularizers: non-negative Cauchy–Schwarz / Hölder gaps that vanish
// exactly on a target set up to a free scale (binary, one-sided binary, ternary, eigenvectors,
// orthogonal matrices).

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// How a Cauchy–Schwarz penalty normalises its sum: per tensor element ("elenum" in the paper's
/// code, the default) or not at all.
public enum CSNormalize: String, Sendable { case numel, none }


/// Row-wise driver of the Cauchy–Schwarz family: R = (1/N) Σ_i ψ(w_i), N = numel or 1.
/// `psi(x, n, grad)` reads one row in Double, writes ∂ψ/∂x into `grad` and returns ψ(x).
@inlinable
func csRows<T: Scalar>(_ w: Tensor<T>, _ g: Tensor<T>, scale: Double, normalize: CSNormalize,
                       _ psi: (UnsafePointer<Double>, Int, UnsafeMutablePointer<Double>) -> Double) -> Double {
    let (m, n) = w.matrix
    let f = normalize == .numel && w.count > 0 ? scale / Double(w.count) : scale
    let x = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(n, 1))
    let d = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(n, 1))
    defer { x.deallocate(); d.deallocate() }
    var total = 0.0
    for i in 0..<m {
        let row = w.data + i * n, grow = g.data + i * n
        for j in 0..<n { x[j] = row[j].double }
        total += psi(x, n, d)
        for j in 0..<n { grow[j] = T(f * d[j]) }
    }
    return f * total
}

/// Signed power sums S_p = Σ_j x_j^p of one row, for p = 2, 3, 4, 6.
@inlinable
func powerSums(_ x: UnsafePointer<Double>, _ n: Int) -> (s2: Double, s3: Double, s4: Double, s6: Double) {
    var s2 = 0.0, s3 = 0.0, s4 = 0.0, s6 = 0.0
    for j in 0..<n {
        let a = x[j], a2 = a * a
        s2 += a2; s3 += a2 * a; s4 += a2 * a2; s6 += a2 * a2 * a2
    }
    return (s2, s3, s4, s6)
}

/// The polynomial Cauchy–Schwarz regularizers (row-wise, signed power sums S_p = Σ_j x_j^p):
/// ```
/// cs_binary   zero set {−α, α}^n     ψ = n S_4 − S_2²      ∂ψ/∂x = 4n x³ − 4 S_2 x
/// cs_osb      zero set {0, α}^n      ψ = S_2 S_4 − S_3²    ∂ψ/∂x = 2x (S_4 + 2 S_2 x² − 3 S_3 x)
/// cs_ternary  zero set {−α, 0, α}^n  ψ = S_2 S_6 − S_4²    ∂ψ/∂x = 2x (S_6 + 3 S_2 x⁴ − 4 S_4 x²)
/// R(W) = (1/N) Σ_rows ψ(w_i),  N = numel(W) ("numel") or 1 ("none")
/// ```
/// - Parameters: `normalize` ∈ {numel, none}.
/// - Reference: Taner, Wang, Studer, "Cauchy-Schwarz Regularizers", ICLR 2025
///   (IIP-Group/CS_regularizers `binary_recovery.m`, `osb_ternary_recovery.m`,
///   `quantized_nns/tools/regularization_modules.py`). Catalogue: penalties_sparsity §13.
/// - Note: homogeneous of degree 4 (binary, osb) and 8 (ternary), not scale-invariant (the paper
///   uses λ = 10 and 1e5). The repo's FC-ternary branch reuses the previous conv tensor; that bug
///   is not replicated.
public struct CSPolynomial: GenericPenalty {
    public enum Target: String, Sendable { case binary = "cs_binary", osb = "cs_osb", ternary = "cs_ternary" }
    public let target: Target
    public let normalize: CSNormalize
    public init(_ target: Target, normalize: CSNormalize = .numel) { self.target = target; self.normalize = normalize }

    public func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs = .none, scale: Double, into g: Tensor<T>) -> Double {
        csRows(w, g, scale: scale, normalize: normalize) { x, n, d in
            let s = powerSums(x, n)
            switch target {
            case .binary:
                let dn = Double(n)
                for j in 0..<n { d[j] = 4 * dn * x[j] * x[j] * x[j] - 4 * s.s2 * x[j] }
                return dn * s.s4 - s.s2 * s.s2
            case .osb:
                for j in 0..<n { let a = x[j]; d[j] = 2 * a * (s.s4 + 2 * s.s2 * a * a - 3 * s.s3 * a) }
                return s.s2 * s.s4 - s.s3 * s.s3
            case .ternary:
                for j in 0..<n { let a = x[j], a2 = a * a; d[j] = 2 * a * (s.s6 + 3 * s.s2 * a2 * a2 - 4 * s.s4 * a2) }
                return s.s2 * s.s6 - s.s4 * s.s4
            }
        }
    }
}

/// Hölder (ℓp–ℓq) regularizer: zero exactly when every row lies in {−α, α}^n, for 1 ≤ q < p.
/// ```
/// ψ(x) = n^{r/q − r/p} ‖x‖_p^r − ‖x‖_q^r
/// ∂ψ/∂x = n^{r/q−r/p} r ‖x‖_p^{r−p} |x|^{p−1} sign(x) − r ‖x‖_q^{r−q} |x|^{q−1} sign(x)
/// ```
/// (p, q, r) = (4, 2, 4) is `cs_binary`.
/// - Parameters: `p` > `q` ≥ 1 (defaults 4, 2), `r` > 0 (default 4), `normalize`.
/// - Reference: Taner, Wang, Studer, "Cauchy-Schwarz Regularizers", ICLR 2025.
///   Catalogue: penalties_sparsity §13.
/// - Note: a zero row has ψ = 0 and gradient 0 (‖x‖^{r−p} is singular there when r < p).
public struct CSLpLq: GenericPenalty {
    public static let id = "cs_lplq"
    public let p: Double, q: Double, r: Double
    public let normalize: CSNormalize
    public init(p: Double = 4, q: Double = 2, r: Double = 4, normalize: CSNormalize = .numel) throws {
        guard q < p else {
            throw RegulaError.invalidParameter(name: "q", value: formatNumber(q), reason: "must be < p (\(formatNumber(p)))")
        }
        self.p = p; self.q = q; self.r = r; self.normalize = normalize
    }

    public func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs = .none, scale: Double, into g: Tensor<T>) -> Double {
        csRows(w, g, scale: scale, normalize: normalize) { x, n, d in
            var sp = 0.0, sq = 0.0
            for j in 0..<n { let a = abs(x[j]); sp += pow(a, p); sq += pow(a, q) }
            guard sp > 0 else { for j in 0..<n { d[j] = 0 }; return 0 }
            let c = pow(Double(n), r / q - r / p)
            let np = pow(sp, 1 / p), nq = pow(sq, 1 / q)
            // ‖x‖^{r−p} from the norm itself (finite since the row is non-zero).
            let fp = c * r * pow(np, r - p), fq = r * pow(nq, r - q)
            for j in 0..<n {
                let a = abs(x[j]), s = Kernels.sign(x[j])
                d[j] = s == 0 ? 0 : s * (fp * pow(a, p - 1) - fq * pow(a, q - 1))
            }
            return c * pow(np, r) - pow(nq, r)
        }
    }
}

/// Eigenvector Cauchy–Schwarz regularizer: zero exactly when every row is an eigenvector of a
/// fixed symmetric matrix C (or zero).
/// ```
/// ψ(x) = ‖Cx‖² ‖x‖² − (xᵀCx)²
/// ∂ψ/∂x = 2 C²x ‖x‖² + 2 ‖Cx‖² x − 4 (xᵀCx) Cx
/// ```
/// All rows at once: Y = W C and Z = Y C through BLAS (C = Cᵀ).
/// - Parameters: data `C` symmetric (n, n) with n = fan-in; `normalize`.
/// - Reference: Taner, Wang, Studer, "Cauchy-Schwarz Regularizers", ICLR 2025
///   (`solution_recovery/eigvec_recovery.m`). Catalogue: penalties_sparsity §13.
public struct CSEigvec: Penalty {
    public static let id = "cs_eigvec"
    public let c: [Double]
    public let order: Int
    public let normalize: CSNormalize

    public init(c: InputArray, normalize: CSNormalize = .numel) throws {
        guard case .real(let shape, let values) = c else { throw RegulaError.dtype("C must be a real matrix") }
        guard shape.count == 2, shape[0] == shape[1] else {
            throw RegulaError.shape("C has shape \(shape), expected a square (n, n) matrix")
        }
        let n = shape[0]
        var big = 0.0
        for v in values {
            guard v.isFinite else { throw RegulaError.invalidArgument("C has a non-finite entry") }
            big = Swift.max(big, abs(v))
        }
        for i in 0..<n { for j in 0..<i where abs(values[i * n + j] - values[j * n + i]) > 1e-12 * Swift.max(big, 1) {
            throw RegulaError.invalidArgument("C must be symmetric: C[\(i),\(j)] != C[\(j),\(i)]")
        } }
        self.c = values; self.order = n; self.normalize = normalize
    }

    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        if w.count == 0 { return 0 }  // no rows: a sum over nothing
        let (m, n) = w.matrix
        guard n == order else { throw RegulaError.shape("rows have \(n) entries but C is \(order)×\(order)") }
        let y = NDArray<Double>(shape: [m, n]), z = NDArray<Double>(shape: [m, n])
        c.withUnsafeBufferPointer { cp in
            // Y = W C (rows Cx since C is symmetric), Z = Y C (rows C²x).
            BLAS.gemm(.none, .none, m: m, n: n, k: n, alpha: 1, w.data, lda: n, cp.baseAddress!, ldb: n,
                      beta: 0, y.storage.baseAddress!, ldc: n)
            BLAS.gemm(.none, .none, m: m, n: n, k: n, alpha: 1, y.storage.baseAddress!, lda: n, cp.baseAddress!,
                      ldb: n, beta: 0, z.storage.baseAddress!, ldc: n)
        }
        let f = normalize == .numel ? scale / Double(w.count) : scale
        var total = 0.0
        for i in 0..<m {
            let x = w.data + i * n, yr = y.storage.baseAddress! + i * n, zr = z.storage.baseAddress! + i * n
            let a = Kernels.sumOfSquares(yr, count: n), b = Kernels.sumOfSquares(x, count: n)
            let q = Kernels.dot(x, yr, count: n)
            total += a * b - q * q
            for j in 0..<n { g[i * n + j] = f * (2 * zr[j] * b + 2 * a * x[j] - 4 * q * yr[j]) }
        }
        return f * total
    }
}

/// Orthogonal-matrix Cauchy–Schwarz regularizer (matrix-wide): zero exactly when all non-zero
/// singular values are equal and rank W = K (W Wᵀ = cI for m ≤ n, WᵀW = cI for m ≥ n).
/// ```
/// ψ(W) = K ‖WᵀW‖_F² − ‖W‖_F⁴,  K = min(m, n)         R = ψ / N (N = numel or 1)
/// ∇ψ = 4K · W WᵀW − 4 ‖W‖_F² W
/// ```
/// - Parameters: `normalize` ∈ {numel, none}.
/// - Reference: Taner, Wang, Studer, "Cauchy-Schwarz Regularizers", ICLR 2025
///   (`orth_matrix_recovery.m`, square case). Catalogue: penalties_sparsity §13.
/// - Note: K = min(m, n) is the catalogue's generalisation to non-square W (the repo only
///   runs square matrices, where N = K); it keeps ψ ≥ 0 by Cauchy–Schwarz on the ≤ K non-zero
///   eigenvalues of the Gram matrix. The smaller Gram matrix is formed (‖WᵀW‖_F = ‖WWᵀ‖_F).
public struct CSOrthogonal: GenericPenalty {
    public static let id = "cs_orthogonal"
    public let normalize: CSNormalize
    public init(normalize: CSNormalize = .numel) { self.normalize = normalize }

    public func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs = .none, scale: Double, into g: Tensor<T>) -> Double {
        let (m, n) = w.matrix
        if m == 0 || n == 0 { return 0 }
        let useCols = m >= n, k = Swift.min(m, n)
        let gram = NDArray<T>(shape: [k, k])
        let gp = gram.storage.baseAddress!
        BLAS.gram(useCols ? .transpose : .none, n: k, k: useCols ? m : n, alpha: 1, w.data, lda: n, beta: 0, gp)
        let frob2 = Kernels.sumOfSquares(w.data, count: w.count)
        let gram2 = Kernels.sumOfSquares(gp, count: k * k)
        let f = normalize == .numel ? scale / Double(w.count) : scale
        // g = 4K·f·(W G or G W) − 4 f ‖W‖² W.
        for i in 0..<w.count { g[i] = T(-4 * f * frob2 * w[i].double) }
        if useCols {
            BLAS.gemm(.none, .none, m: m, n: n, k: n, alpha: 4 * Double(k) * f, w.data, lda: n, gp, ldb: n,
                      beta: 1, g.data, ldc: n)
        } else {
            BLAS.gemm(.none, .none, m: m, n: n, k: m, alpha: 4 * Double(k) * f, gp, lda: m, w.data, ldb: n,
                      beta: 1, g.data, ldc: n)
        }
        return f * (Double(k) * gram2 - frob2 * frob2)
    }
}

extension Registry {
    static let csReference = "Cauchy-Schwarz Regularizers (Taner, Wang, Studer, ICLR 2025)"
    static let csNormalize = ParamSpec.choice("normalize", ["numel", "none"],
                                              "numel: divide the tensor's sum by its number of elements (the paper's 'elenum')")
    static let csNotes = "normalize=numel (default) divides by the tensor's element count, as the paper's code ('elenum'); "
        + "excluding first/last layers and summing over layers is the caller's. Source: IIP-Group/CS_regularizers."
    /// A symmetric 5×5 matrix C for the checks of cs_eigvec.
    static let csCheckC: InputArray = {
        var rng = RNG(seed: 13)
        let n = 5
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i { let v = rng.normal(); a[i * n + j] = v; a[j * n + i] = v } }
        return .real(shape: [n, n], values: a)
    }()

    static let cauchySchwarz: [Entry] = [
        .penalty("cs_binary", family: "cauchy_schwarz", summary: "Cauchy–Schwarz binary regularizer: rows pushed to {−α, α}^n",
                 formula: "ψ(x) = n S_4 − S_2²; ∂ψ = 4n x³ − 4 S_2 x; R = Σ_rows ψ / N",
                 reference: csReference, notes: csNotes, strength: 10, params: [csNormalize],
                 examples: [WorkedExample("W0 numel", x: w0, shape: [2, 2], value: 2.265625, gradient: [-3, -6, 0.125, 0])]) {
            CSPolynomial(.binary, normalize: try $0.choice("normalize"))
        },
        .penalty("cs_osb", family: "cauchy_schwarz", summary: "Cauchy–Schwarz one-sided binary regularizer: rows pushed to {0, α}^n",
                 formula: "ψ(x) = S_2 S_4 − S_3²; ∂ψ = 2x(S_4 + 2S_2 x² − 3S_3 x); R = Σ_rows ψ / N",
                 reference: csReference, notes: csNotes, strength: 10, params: [csNormalize],
                 examples: [WorkedExample("W0 numel", x: w0, shape: [2, 2], value: 9, gradient: [24, -15, 0, 0])]) {
            CSPolynomial(.osb, normalize: try $0.choice("normalize"))
        },
        .penalty("cs_ternary", family: "cauchy_schwarz", summary: "Cauchy–Schwarz ternary regularizer: rows pushed to {−α, 0, α}^n",
                 formula: "ψ(x) = S_2 S_6 − S_4²; ∂ψ = 2x(S_6 + 3S_2 x⁴ − 4S_4 x²); R = Σ_rows ψ / N",
                 reference: csReference, notes: csNotes + " Default strength 1e5 as the paper's ternary runs.",
                 strength: 1e5, params: [csNormalize],
                 examples: [WorkedExample("W0 numel", x: w0, shape: [2, 2], value: 9, gradient: [6, -33, 0, 0])]) {
            CSPolynomial(.ternary, normalize: try $0.choice("normalize"))
        },
        .penalty("cs_lplq", family: "cauchy_schwarz", summary: "Hölder ℓp–ℓq regularizer: rows pushed to {−α, α}^n",
                 formula: "ψ(x) = n^{r/q−r/p}‖x‖_p^r − ‖x‖_q^r; ∂ψ = n^{r/q−r/p} r‖x‖_p^{r−p}|x|^{p−1}sign x − r‖x‖_q^{r−q}|x|^{q−1}sign x",
                 reference: csReference, notes: csNotes + " Defaults p=4, q=2, r=4 as the repo's train_from_cfg.py (the function signature says r=2) equal cs_binary; q < p is required; a zero row has gradient 0.",
                 strength: 10,
                 params: [.real("p", 4, min: 1, "the larger exponent (p > q)"),
                          .real("q", 2, min: 1, "the smaller exponent (1 ≤ q < p)"),
                          .real("r", 4, min: 0, minOpen: true, "the power of the norms"), csNormalize],
                 check: CheckSpec(shapes: [[4, 5], [7], [3, 2, 2]], params: "r=2"),
                 examples: [
                    WorkedExample("W0 numel p=4 q=2 r=2", params: "r=2", x: w0, shape: [2, 2], value: 0.233626,
                                  gradient: [-0.328501, -0.371989, 0.103553, 0]),
                    WorkedExample("defaults equal cs_binary", x: w0, shape: [2, 2], value: 2.265625, gradient: [-3, -6, 0.125, 0]),
                 ]) {
            try CSLpLq(p: try $0.real("p"), q: try $0.real("q"), r: try $0.real("r"), normalize: try $0.choice("normalize"))
        },
        .penalty("cs_eigvec", family: "cauchy_schwarz", summary: "Cauchy–Schwarz eigenvector regularizer: rows pushed to eigenvectors of C",
                 formula: "ψ(x) = ‖Cx‖²‖x‖² − (xᵀCx)²; ∂ψ = 2C²x‖x‖² + 2‖Cx‖²x − 4(xᵀCx)Cx",
                 reference: csReference, notes: csNotes + " C must be symmetric (checked to 1e-12 relative).",
                 strength: 10, params: [csNormalize],
                 data: [InputSpec("C", "symmetric matrix (fan_in, fan_in)")],
                 check: CheckSpec(shapes: [[4, 5], [5], [3, 5, 1]], data: ["C": csCheckC]),
                 examples: [WorkedExample("row [1,-2], C=[[2,1],[1,0]] unnormalised", params: "normalize=none",
                                          data: ["C": .real(shape: [2, 2], values: [2, 1, 1, 0])],
                                          x: [1, -2], shape: [1, 2], value: 1, gradient: [12, 4])]) {
            guard let c = $0.array("C") else { throw RegulaError.invalidArgument("cs_eigvec needs the data array 'C'") }
            return try CSEigvec(c: c, normalize: try $0.choice("normalize"))
        },
        .penalty("cs_orthogonal", family: "cauchy_schwarz", summary: "Cauchy–Schwarz orthogonal-matrix regularizer (matrix-wide)",
                 formula: "ψ(W) = K‖WᵀW‖_F² − ‖W‖_F⁴, K = min(m,n); ∇ψ = 4K WWᵀW − 4‖W‖_F² W",
                 reference: csReference, confidence: "high (formula) / medium (K for m ≠ n)",
                 notes: csNotes + " K = min(m, n) generalises the repo's square case (catalogue decision; ψ ≥ 0 by Cauchy–Schwarz).",
                 strength: 10, params: [csNormalize],
                 check: CheckSpec(shapes: [[4, 5], [5, 3], [7], [3, 2, 2]]),
                 examples: [WorkedExample("W0 unnormalised", params: "normalize=none", x: w0, shape: [2, 2],
                                          value: 23.5625, gradient: [21, -38, -5.5, -8])]) {
            CSOrthogonal(normalize: try $0.choice("normalize"))
        },
    ]
}
