// Regula — elementwise norm penalties with closed-form prox: l2, l1, elastic net.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Weight decay as an explicit penalty.
/// ```
/// R(W) = ½ Σ w²      ∇R = W      prox_{tR}(v) = v / (1 + t)
/// ```
/// - Reference: textbook (Tikhonov regularisation). Catalogue: penalties_sparsity §1.
public struct L2: ElementwiseProximal {
    public static let id = "l2"
    public init() {}
    @inlinable @inline(__always) public func phi(_ x: Double) -> (Double, Double) { (0.5 * x * x, x) }
    @inlinable @inline(__always) public func phi8(_ x: SIMD8<Double>) -> (SIMD8<Double>, SIMD8<Double>) { (0.5 * x * x, x) }
    @inlinable public func proxScalar(_ v: Double, t: Double) -> Double { v / (1 + t) }
}

/// The lasso: exact zeros through the soft-threshold prox.
/// ```
/// R(W) = Σ |w|       ∂R = sign(W) (0 at 0)      prox_{tR}(v) = sign(v)·max(|v| − t, 0)
/// ```
/// - Reference: Tibshirani, "Regression Shrinkage and Selection via the Lasso", 1996.
///   Catalogue: penalties_sparsity §2.
public struct L1: ElementwiseProximal {
    public static let id = "l1"
    public init() {}
    @inlinable @inline(__always) public func phi(_ x: Double) -> (Double, Double) { (abs(x), Kernels.sign(x)) }
    @inlinable @inline(__always) public func phi8(_ x: SIMD8<Double>) -> (SIMD8<Double>, SIMD8<Double>) {
        (Kernels.abs(x), Kernels.sign(x))
    }
    @inlinable public func proxScalar(_ v: Double, t: Double) -> Double { softThreshold(v, t) }
}

/// S_t(v) = sign(v)·max(|v| − t, 0).
@inlinable func softThreshold(_ v: Double, _ t: Double) -> Double {
    v > t ? v - t : (v < -t ? v + t : 0)
}

/// Elastic net: a convex mix of lasso and ridge.
/// ```
/// R(W) = ρ Σ|w| + ((1−ρ)/2) Σ w²      ∇R = ρ·sign(W) + (1−ρ)·W
/// prox_{tR}(v) = S_{tρ}(v) / (1 + t(1−ρ))
/// ```
/// - Parameters: `l1_ratio` ρ ∈ [0, 1] (default 0.5).
/// - Reference: Zou & Hastie, "Regularization and variable selection via the elastic net", 2005.
///   Catalogue: penalties_sparsity §3.
public struct ElasticNet: ElementwiseProximal {
    public static let id = "elastic_net"
    public let rho: Double
    public init(rho: Double) { self.rho = rho }
    @inlinable @inline(__always) public func phi(_ x: Double) -> (Double, Double) {
        (rho * abs(x) + 0.5 * (1 - rho) * x * x, rho * Kernels.sign(x) + (1 - rho) * x)
    }
    @inlinable @inline(__always) public func phi8(_ x: SIMD8<Double>) -> (SIMD8<Double>, SIMD8<Double>) {
        (rho * Kernels.abs(x) + 0.5 * (1 - rho) * x * x, rho * Kernels.sign(x) + (1 - rho) * x)
    }
    // argmin_x tρ|x| + t(1−ρ)/2 x² + ½(x − v)²: soft-threshold by tρ, then shrink by 1 + t(1−ρ).
    @inlinable public func proxScalar(_ v: Double, t: Double) -> Double {
        softThreshold(v, t * rho) / (1 + t * (1 - rho))
    }
}

extension Registry {
    static let w0: [Double] = [1.0, -2.0, 0.5, 0.0]  // the catalogue's standard example W0 (2×2)

    static let elementwiseNorms: [Entry] = [
        .penalty("l2", family: "sparsity", summary: "weight decay as an explicit penalty, ½‖W‖²",
                 formula: "R = ½ Σ w²; ∇R = W; prox_{tR}(v) = v/(1+t)", reference: "textbook (Tikhonov regularisation)",
                 strength: 1e-4, prox: true,
                 examples: [WorkedExample("W0", params: "strength=1", x: w0, shape: [2, 2], value: 2.625, gradient: w0,
                                          prox: (0.5, [0.666667, -1.333333, 0.333333, 0]))]) { _ in L2() },
        .penalty("l1", family: "sparsity", summary: "lasso, Σ|w|, with the soft-threshold prox",
                 formula: "R = Σ |w|; ∂R = sign(W), sign(0)=0; prox = sign(v)·max(|v|−t, 0)",
                 reference: "Regression Shrinkage and Selection via the Lasso (Tibshirani 1996)",
                 strength: 1e-5, prox: true,
                 examples: [WorkedExample("W0", params: "strength=1", x: w0, shape: [2, 2], value: 3.5,
                                          gradient: [1, -1, 1, 0], prox: (0.6, [0.4, -1.4, 0, 0]))]) { _ in L1() },
        .penalty("elastic_net", family: "sparsity", summary: "elastic net, ρ‖W‖₁ + (1−ρ)/2‖W‖²",
                 formula: "R = ρ Σ|w| + ((1−ρ)/2) Σ w²; ∇R = ρ sign(W) + (1−ρ) W; prox = S_{tρ}(v)/(1+t(1−ρ))",
                 reference: "Regularization and variable selection via the elastic net (Zou & Hastie 2005)",
                 strength: 1e-5, params: [.real("l1_ratio", 0.5, min: 0, max: 1, "ρ, the lasso share")], prox: true,
                 examples: [WorkedExample("W0, ρ=0.5", params: "strength=1", x: w0, shape: [2, 2], value: 3.0625,
                                          gradient: [1.0, -1.5, 0.75, 0], prox: (1, [0.333333, -1.0, 0, 0]))]) {
            ElasticNet(rho: try $0.real("l1_ratio"))
        },
    ]
}
