// Regula — the Jacobian nuclear-norm regulariser by composition and denoising (a model-eval
// term): squared finite differences of the hidden stack and of the output layer at noisy inputs.

import RegulaEngine

/// `jacobian_nuclear_denoise` on a classifier f = g∘h (h = the hidden stack, g = the output
/// layer): ½(‖J_h‖²_F + ‖J_g‖²_F) ≥ ‖J_f‖_* (equal at a balanced factorisation), each squared
/// Frobenius norm replaced by its denoising estimate ‖J_φ(x)‖²_F ≈ E‖φ(x + ε) − φ(x)‖²/σ²:
/// ```
/// R = (η/2)·[ (1/(σ²B)) Σ_i ‖h(x_i + ε_i) − h(x_i)‖² + (1/(σ²B)) Σ_i ‖g(z_i + ε'_i) − g(z_i)‖² ],
/// z_i = h(x_i), ε, ε' ~ N(0, σ²I) drawn per step (train mode only), K = 1 draw
/// ```
/// Gradients flow through both evaluations (the noise is not differentiated).
/// Reference: "Nuclear Norm Regularization for Deep Learning" (Scarvelis & Solomon, NeurIPS 2024),
/// official cscarv/nuclear-norm-reg-dl `denoising_regularizer`; catalogue penalties_matrix §7.
/// This op is one of the two terms: c/B·Σ_i ‖a_i − b_i‖² with c = η/(2σ²).
public final class SquaredDifferenceOp: GraphOp {
    public let label = "jacobian_nuclear_denoise"
    public let scale: Double
    public init(scale: Double) { self.scale = scale }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 2, inputs[0].cols == inputs[1].cols else {
            throw RegulaError.shape("jacobian_nuclear_denoise compares two (batch, d) nodes of the same width")
        }
        return .scalar
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let a = inputs[0], b = inputs[1], rows = a.lastAxis.rows
        var s = 0.0
        for i in 0..<a.count { let d = a[i] - b[i]; s += d * d }
        out[0] = rows > 0 ? scale * s / Double(rows) : 0
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into g: [Tensor<Double>?]) throws {
        let a = inputs[0], b = inputs[1], rows = a.lastAxis.rows
        guard rows > 0 else { return }
        let c = 2 * scale * outGrad[0] / Double(rows)
        for i in 0..<a.count {
            let d = c * (a[i] - b[i])
            g[0]?[i] += d
            g[1]?[i] -= d
        }
    }
}
