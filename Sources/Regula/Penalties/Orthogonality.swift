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
public struct SoftOrthogonality: Penalty {
    public static let id = "soft_orthogonality"
    public enum Mode: String, Sendable { case auto, rows, cols }
    public let mode: Mode
    public init(mode: Mode = .auto) { self.mode = mode }

    func run<T: Scalar>(_ w: Tensor<T>, _ g: Tensor<T>, _ scale: Double) -> Double {
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

    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        run(w, g, scale)
    }
    public func valueAndGradient(_ w: Tensor<Float>, _ inputs: Inputs, scale: Double, into g: Tensor<Float>) throws -> Double {
        run(w, g, scale)
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
    ]
}
