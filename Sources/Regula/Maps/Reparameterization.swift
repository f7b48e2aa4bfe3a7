// Regula — weight reparameterizations used as output maps: w = Φ(v) forward, ∂Φ/∂v in the VJP.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Weight Compander: every conv/linear weight is produced from a latent v as w = a·arctan(v/b),
/// which caps |w| < aπ/2 and moves small weights fastest (pushing them off zero).
/// ```
/// Φ(v) = a·arctan(v/b)          VJP: g_v = c ⊙ (a/b)/(1 + (v/b)²)
/// ∂Φ/∂a = arctan(v/b)           ∂Φ/∂b = −a·v/(b² + v²)          Φ⁻¹(w) = b·tan(w/a)
/// ```
/// - Parameters: `a` > 0, `b` > 0 (library default (1.0, 0.6), the paper's best for
///   ResNet18/50 on CIFAR-10; the authors advise a, b ≥ 0.5). Elementwise (any shape).
/// - Use: initialise v = `inverse(w)` from the usual init; decay w (fixed a, b) or v (learned
///   a, b); with Adam scale the step computed from ∂L/∂w by ∂Φ/∂v (the paper's modified optimizer).
///   Biases and BN parameters are not reparameterised. Not a penalty: no strength.
/// - Stability: (v/b)² overflowing to +∞ gives the correct limit 0 of the derivative; the inverse
///   clamps |w| to (aπ/2)(1 − 1e-6) before the tan pole.
/// - Reference: Cakaj, Mehnert, Yang, "Weight Compander: A Simple Weight Reparameterization for
///   Regularization", IJCNN 2023 (Eq. 1, 3, 4). Catalogue: penalties_sparsity §15.
public struct WeightCompander: OutputMap {
    public static let id = "weight_compander"
    public let a: Double
    public let b: Double
    public init(a: Double = 1.0, b: Double = 0.6) { self.a = a; self.b = b }

    /// Φ⁻¹(w) = b·tan(w/a), with |w| clamped below the pole aπ/2.
    public func inverse(_ w: Double) -> Double {
        let limit = a * Double.pi / 2 * (1 - 1e-6)
        return b * tan(Swift.min(Swift.max(w, -limit), limit) / a)
    }

    /// (∂Φ/∂a, ∂Φ/∂b) at v, for the learnable (per-layer or global) variant.
    public func parameterPartials(_ v: Double) -> (da: Double, db: Double) {
        (atan(v / b), -a * v / (b * b + v * v))
    }

    public func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        Kernels.map(x.data, y.data, count: x.count) { a * atan($0 / b) }
    }

    public func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        for i in 0..<x.count {
            let r = x[i] / b
            gx[i] = cotangent[i] * (a / b) / (1 + r * r)
        }
    }
}

extension Registry {
    static let reparameterization: [Entry] = [
        .map("weight_compander", kind: .map, family: "quantization",
             summary: "Weight Compander reparameterization w = a·arctan(v/b) (forward) with ∂Φ/∂v (VJP)",
             formula: "Φ(v) = a·arctan(v/b); VJP: c·(a/b)/(1 + v²/b²); ∂Φ/∂a = arctan(v/b); ∂Φ/∂b = −av/(b² + v²)",
             reference: "Weight Compander: A Simple Weight Reparameterization for Regularization (Cakaj, Mehnert, Yang 2023)",
             notes: "Elementwise. Fixed a, b (library default 1.0, 0.6); parameterPartials gives ∂Φ/∂a, ∂Φ/∂b and "
                + "inverse the init v = b·tan(w/a) (clamped at (aπ/2)(1 − 1e-6)).",
             params: [.real("a", 1.0, min: 0, minOpen: true, "output scale a (|w| < aπ/2)"),
                      .real("b", 0.6, min: 0, minOpen: true, "input scale b")],
             examples: [
                WorkedExample("a=1, b=1", params: "a=1,b=1", x: w0, shape: [2, 2],
                              output: [0.785398, -1.107149, 0.463648, 0], vjp: ([1, 1, 1, 1], [0.5, 0.2, 0.8, 1.0])),
                WorkedExample("a=0.8, b=0.5", params: "a=0.8,b=0.5", x: w0, shape: [2, 2],
                              output: [0.885719, -1.060654, 0.628319, 0], vjp: ([1, 1, 1, 1], [0.32, 0.094118, 0.8, 1.6])),
                WorkedExample("1e4 inputs", x: [1e4, -1e4], shape: [2], output: [1.570736, -1.570736]),
             ]) { p in WeightCompander(a: try p.real("a"), b: try p.real("b")) },
    ]
}
