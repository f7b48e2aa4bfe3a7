// Regula — orthogonality penalties on weight matrices (Gram matrices through BLAS).

import RegulaEngine

/// Soft orthogonality: the Gram matrix of the rows (or columns) pulled to the identity.
/// ```
/// rows: R = ‖W Wᵀ − I_m‖²_F      cols: R = ‖Wᵀ W − I_n‖²_F      auto: cols if m ≥ n, else rows
/// ∇R = 4 (W Wᵀ − I) W = 4 W (Wᵀ W − I)   (the same for both: R_cols − R_rows = n − m)
/// ```
/// - Reference: Bansal, Chen, Wang, "Can We Gain More from Orthogonality Regularizations in
///   Training Deep CNNs?", 2018; the `auto` rule follows YoavKurtz/GOR `calc_dist`.
///   Catalogue: penalties_matrix §1.
public struct SoftOrthogonality: GenericPenalty {
    public static let id = "soft_orthogonality"
    public enum Mode: String, Sendable { case auto, rows, cols }
    public let mode: Mode
    public init(mode: Mode = .auto) { self.mode = mode }

    public func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs = .none, scale: Double, into g: Tensor<T>) -> Double {
        let (m, n) = w.matrix
        if m == 0 || n == 0 {
            for i in 0..<g.count { g[i] = 0 }
            return mode == .cols || (mode == .auto && m >= n) ? scale * Double(n) : scale * Double(m)
        }
        let useCols = mode == .cols || (mode == .auto && m >= n)
        let k = useCols ? n : m
        let gram = NDArray<T>(shape: [k, k])
        // G = Wᵀ W (n×n) or W Wᵀ (m×m), then G − I and ‖G − I‖²_F in Double.
        BLAS.gram(useCols ? .transpose : .none, n: k, k: useCols ? m : n, alpha: 1, w.data, lda: n,
                  beta: 0, gram.storage.baseAddress!)
        for i in 0..<k { gram[i * k + i] -= 1 }
        let value = Kernels.sumOfSquares(gram.storage.baseAddress!, count: k * k)
        // ∇ = 4 W (Wᵀ W − I) or 4 (W Wᵀ − I) W.
        if useCols {
            BLAS.gemm(.none, .none, m: m, n: n, k: n, alpha: 4 * scale, w.data, lda: n,
                      gram.storage.baseAddress!, ldb: n, beta: 0, g.data, ldc: n)
        } else {
            BLAS.gemm(.none, .none, m: m, n: n, k: m, alpha: 4 * scale, gram.storage.baseAddress!, lda: m,
                      w.data, ldb: n, beta: 0, g.data, ldc: n)
        }
        return scale * value
    }

}

/// Mean absolute cosine between distinct vectors (Keras `OrthogonalRegularizer`).
/// ```
/// v̂ = v / sqrt(max(‖v‖², 1e-12)),  P = V̂ V̂ᵀ,  R = factor · Σ_{i<j} |P_ij| / (k(k−1)/2)
/// ∂R/∂v̂_i = c Σ_{j≠i} sign(P_ij) v̂_j  (c = factor/(k(k−1)/2), sign(0) = 0)
/// ∂R/∂v_i = (I − v̂_i v̂_iᵀ) ∂R/∂v̂_i / ‖v_i‖   (‖v_i‖² ≤ 1e-12: 1e6 · ∂R/∂v̂_i)
/// ```
/// - Parameters: `factor` ≥ 0 (default 0.01, Keras' default; strength defaults to 1 on top of
///   it); `over` ∈ {units (rows of W, default), inputs (columns of W)}. Keras' mode "rows" on a
///   (fan_in, units) kernel is `over="inputs"` here; Keras "columns" is `over="units"`.
/// - Reference: Keras `OrthogonalRegularizer` (keras 2.13 `regularizers.py`).
///   Catalogue: penalties_matrix §2.
/// - Note: k < 2 vectors give 0; zero vectors normalise to 0 and contribute 0.
public struct CosineOrthogonality: Penalty {
    public static let id = "cosine_orthogonality"
    public enum Over: String, Sendable { case units, inputs }
    public let factor: Double
    public let over: Over
    public init(factor: Double = 0.01, over: Over = .units) { self.factor = factor; self.over = over }

    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (m, n) = w.matrix
        let (k, len) = over == .units ? (m, n) : (n, m)
        for i in 0..<g.count { g[i] = 0 }
        if k < 2 || len == 0 { return 0 }
        // V̂: one normalised vector per row (columns of W are transposed in).
        let vh = NDArray<Double>(shape: [k, len]), inv = NDArray<Double>(shape: [k])
        let vp = vh.storage.baseAddress!
        for a in 0..<k {
            for b in 0..<len { vp[a * len + b] = over == .units ? w[a * n + b] : w[b * n + a] }
            let r2 = Kernels.sumOfSquares(vp + a * len, count: len)
            inv[a] = 1 / Swift.max(r2, 1e-12).squareRoot()  // Keras' eps on the squared norm
            for b in 0..<len { vp[a * len + b] *= inv[a] }
        }
        let p = NDArray<Double>(shape: [k, k]), pp = p.storage.baseAddress!
        BLAS.gram(.none, n: k, k: len, alpha: 1, vp, lda: len, beta: 0, pp)
        let c = factor / (Double(k) * Double(k - 1) / 2)
        var total = 0.0
        for a in 0..<k {
            pp[a * k + a] = 0
            for b in 0..<k where b != a {
                if b > a { total += abs(pp[a * k + b]) }
                pp[a * k + b] = Kernels.sign(pp[a * k + b])
            }
        }
        // Ĝ = c · sign(P) V̂, then back through the normalisation.
        let gh = NDArray<Double>(shape: [k, len]), ghp = gh.storage.baseAddress!
        BLAS.gemm(.none, .none, m: k, n: len, k: k, alpha: c * scale, pp, lda: k, vp, ldb: len, beta: 0, ghp, ldc: len)
        for a in 0..<k {
            let row = vp + a * len, grow = ghp + a * len
            // Below the eps the normalisation is linear (v · 1e6): no projection.
            let proj = inv[a] < 1e6 ? Kernels.dot(row, grow, count: len) : 0
            for b in 0..<len {
                let v = (grow[b] - proj * row[b]) * inv[a]
                if over == .units { g[a * n + b] = v } else { g[b * n + a] = v }
            }
        }
        return scale * c * total
    }
}

/// Group orthogonality regularization (GOR): soft orthogonality inside groups of filters.
/// ```
/// G = min(num_groups, c_out // min_num_filters), s = c_out / G (c_out % G == 0 required)
/// inter: blocks M_g = W[g·s ..< (g+1)·s]        intra: sets M_j = W[{j, j+s, …, j+(G−1)s}]
/// R = Σ_M dist(M),  dist(M) = ‖MᵀM − I‖²_F (rows ≥ cols) else ‖MMᵀ − I‖²_F
/// ∂/∂M = 4 M (MᵀM − I) = 4 (MMᵀ − I) M, scattered back to W's rows
/// ```
/// - Parameters: `num_groups` N ≥ 1 (32), `min_num_filters` ≥ 1 (4), `reg_type` ∈ {inter, intra}.
/// - Reference: Kurtz, Bar, Giryes, "Group Orthogonalization Regularization for Vision Models
///   Adaptation and Robustness", BMVC 2023 (YoavKurtz/GOR `weight_regularization.py`).
///   Catalogue: penalties_matrix §3.
/// - Note: intra with s = 1 uses dist(W) on the whole matrix (as the reference). When
///   c_out < min_num_filters (G = 0, where the reference divides by zero) the layer is skipped
///   (R = 0), matching "min_num_filters = minimal group size"; c_out not divisible by G is an
///   error, as the reference asserts.
public struct GroupOrthogonality: Penalty {
    public static let id = "group_orthogonality"
    public enum RegType: String, Sendable { case inter, intra }
    public let numGroups: Int, minNumFilters: Int
    public let regType: RegType
    public init(numGroups: Int = 32, minNumFilters: Int = 4, regType: RegType = .inter) {
        self.numGroups = numGroups; self.minNumFilters = minNumFilters; self.regType = regType
    }

    /// The row sets to orthogonalise, or [] to skip.
    func sets(rows cOut: Int) throws -> [[Int]] {
        let groups = Swift.min(numGroups, cOut / minNumFilters)
        if groups == 0 { return [] }
        guard cOut % groups == 0 else {
            throw RegulaError.shape("group_orthogonality: \(cOut) filters are not divisible into \(groups) groups")
        }
        let s = cOut / groups
        switch regType {
        case .inter: return (0..<groups).map { g in Array(g * s ..< (g + 1) * s) }
        case .intra:
            if s == 1 { return [Array(0..<cOut)] }
            return (0..<s).map { j in (0..<groups).map { j + $0 * s } }
        }
    }

    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        let (m, d) = w.matrix
        for i in 0..<g.count { g[i] = 0 }
        let soft = SoftOrthogonality(mode: .auto)
        var total = 0.0
        for set in try sets(rows: m) {
            let block = NDArray<Double>(shape: [set.count, d]), gb = NDArray<Double>(shape: [set.count, d])
            for (r, i) in set.enumerated() { for j in 0..<d { block[r * d + j] = w[i * d + j] } }
            total += soft.evaluate(block.tensor, scale: scale, into: gb.tensor)
            for (r, i) in set.enumerated() { for j in 0..<d { g[i * d + j] += gb[r * d + j] } }
        }
        return total
    }
}

/// SORSA orthonormal regularizer on one adapter factor (not squared).
/// ```
/// R(W) = ‖W Wᵀ − I‖_F (m ≤ n: wide or square, e.g. A = V_pᵀ)   or   ‖WᵀW − I‖_F (m > n, e.g. B = U_p)
/// ∇R = 2 (WWᵀ − I) W / R   or   2 W (WᵀW − I) / R;   0 when R < 1e-12 (a subgradient)
/// ```
/// - Parameters: none beyond strength. The reference averages over the |M| factors of all
///   adapted layers; one call takes one factor (README decision), averaging is the caller's.
///   `strength = γ / lr` reproduces the reference trainer's scaling (it adds the gradient after
///   clipping).
/// - Reference: Cao, "SORSA: Singular Values and Orthonormal Regularized Singular Vectors
///   Adaptation of Large Language Models", 2024 (Gunale0926/SORSA `layer.py::calc_ortho`).
///   Catalogue: penalties_matrix §4.
public struct SORSAOrthonormal: GenericPenalty {
    public static let id = "sorsa_orthonormal"
    public init() {}

    public func evaluate<T: Scalar>(_ w: Tensor<T>, _ inputs: Inputs = .none, scale: Double, into g: Tensor<T>) -> Double {
        // ‖G − I‖²_F and 4(G − I)W from soft orthogonality (its auto mode is the same switch:
        // for square W the two Gram forms have equal norms), then the square root.
        let s = SoftOrthogonality(mode: .auto).evaluate(w, scale: 1, into: g)
        let r = s.squareRoot()
        let f = r < 1e-12 ? 0 : scale / (2 * r)
        for i in 0..<g.count { g[i] = T(f * g[i].double) }
        return scale * r
    }
}

extension Registry {
    static let orthogonality: [Entry] = [
        .penalty("soft_orthogonality", family: "orthogonality",
                 summary: "soft orthogonality ‖WWᵀ − I‖²_F or ‖WᵀW − I‖²_F (smaller Gram by default)",
                 formula: "R = ‖G − I‖²_F, G = WWᵀ (rows) or WᵀW (cols); ∇R = 4 (WWᵀ − I) W",
                 reference: "Can We Gain More from Orthogonality Regularizations in Training Deep CNNs? (Bansal, Chen, Wang 2018)",
                 notes: "auto = cols when rows ≥ cols (YoavKurtz/GOR calc_dist); both modes share the gradient.",
                 strength: 1e-4, params: [.choice("mode", ["auto", "rows", "cols"], "which Gram matrix")],
                 check: CheckSpec(shapes: [[3, 5], [5, 3], [4, 2, 2], [6]]),
                 examples: [
                    WorkedExample("W 2×3 auto", params: "strength=1", x: [1, 2, 0, 0, 1, 1], shape: [2, 3],
                                  value: 25, gradient: [16, 40, 8, 8, 20, 4]),
                    WorkedExample("W 2×3 cols", params: "strength=1,mode=cols", x: [1, 2, 0, 0, 1, 1], shape: [2, 3],
                                  value: 26, gradient: [16, 40, 8, 8, 20, 4]),
                 ]) { SoftOrthogonality(mode: try $0.choice("mode")) },
        .penalty("cosine_orthogonality", family: "orthogonality",
                 summary: "mean absolute cosine between distinct rows (or columns) of W (Keras OrthogonalRegularizer)",
                 formula: "R = factor · mean_{i<j} |⟨v̂_i, v̂_j⟩|, v̂ = v/sqrt(max(‖v‖², 1e-12)); ∂R/∂v_i = (I − v̂_iv̂_iᵀ) c Σ_j sign(P_ij) v̂_j / ‖v_i‖",
                 reference: "Keras OrthogonalRegularizer (keras 2.13 regularizers.py)",
                 notes: "over=units compares rows of W (Keras mode 'columns' on the transposed (fan_in, units) kernel); "
                    + "over=inputs compares columns (Keras default 'rows'). factor keeps Keras' default 0.01 and strength defaults to 1.",
                 strength: 1,
                 params: [.real("factor", 0.01, min: 0, "Keras' factor"),
                          .choice("over", ["units", "inputs"], "units: rows of W; inputs: columns of W")],
                 examples: [
                    WorkedExample("over units", x: [1, 2, 0, 0, 1, 1], shape: [2, 3], value: 0.00632456),
                    WorkedExample("over inputs", params: "over=inputs", x: [1, 2, 0, 0, 1, 1], shape: [2, 3], value: 0.00447214),
                 ]) { CosineOrthogonality(factor: try $0.real("factor"), over: try $0.choice("over")) },
        .penalty("group_orthogonality", family: "orthogonality",
                 summary: "group orthogonality (GOR): soft orthogonality within blocks (inter) or strided sets (intra) of filters",
                 formula: "G = min(N, c_out // min_num_filters); R = Σ_M ‖MᵀM − I‖²_F (or ‖MMᵀ − I‖²_F when wide); ∂/∂M = 4M(MᵀM − I)",
                 reference: "Group Orthogonalization Regularization for Vision Models Adaptation and Robustness (Kurtz, Bar, Giryes, BMVC 2023)",
                 notes: "YoavKurtz/GOR weight_regularization.py: inter = contiguous blocks, intra = strided sets, intra with group size 1 = whole W. "
                    + "c_out < min_num_filters (G = 0; the reference divides by zero) skips the layer (R = 0); c_out % G != 0 is an error, as the reference asserts.",
                 strength: 1e-2,
                 params: [.int("num_groups", 32, min: 1, "requested number of groups N"),
                          .int("min_num_filters", 4, min: 1, "minimal group size"),
                          .choice("reg_type", ["inter", "intra"], "inter: filters within a group; intra: the j-th filters across groups")],
                 check: CheckSpec(shapes: [[8, 3], [8, 2, 2], [12, 5], [3]], params: "num_groups=2"),
                 examples: [
                    WorkedExample("8×2 inter", params: "num_groups=2", x: gorExample, shape: [8, 2], value: 145.136,
                                  gradient: [0.736, 0.56, 1.408, 1.52] + gorGradTail),
                    WorkedExample("8×2 intra", params: "num_groups=2,reg_type=intra", x: gorExample, shape: [8, 2], value: 43.3296),
                 ]) {
            GroupOrthogonality(numGroups: try $0.int("num_groups"), minNumFilters: try $0.int("min_num_filters"),
                               regType: try $0.choice("reg_type"))
        },
        .penalty("sorsa_orthonormal", family: "orthogonality",
                 summary: "SORSA orthonormal regularizer ‖WWᵀ − I‖_F (wide/square) or ‖WᵀW − I‖_F (tall), one factor per call",
                 formula: "R = ‖G − I‖_F (not squared); ∇R = 2(WWᵀ − I)W/R, 0 when R < 1e-12",
                 reference: "SORSA: Singular Values and Orthonormal Regularized Singular Vectors Adaptation of Large Language Models (Cao 2024)",
                 notes: "Gunale0926/SORSA layer.py::calc_ortho; one factor per call (README decision), the mean over factors/layers is the caller's; "
                    + "strength = γ/lr reproduces the reference trainer (γ=4e-4, lr=3e-5 → ≈13.3).",
                 strength: 1,
                 check: CheckSpec(shapes: [[3, 5], [5, 3], [4, 4], [6]]),
                 examples: [
                    WorkedExample("A (wide)", x: [1, 0, 0, 0, 1, 0.5], shape: [2, 3], value: 0.25, gradient: [0, 0, 0, 0, 2, 1]),
                    WorkedExample("B (tall)", x: [1, 0, 0, 2, 0, 0], shape: [3, 2], value: 3),
                 ]) { _ in SORSAOrthonormal() },
    ]

    /// The GOR worked example W (8×2) and the tail of its inter gradient (rows 2–7: the catalogue
    /// gives rows 0–1; the rest is from an independent NumPy evaluation of 4M(MᵀM − I)).
    static let gorExample: [Double] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6]
    static let gorGradTail: [Double] = [2.08, 2.48, 2.752, 3.44, 43.616, 47.024, 52.736, 56.944, 61.856, 66.864, 70.976, 76.784]
}
