// Regula — penalties of row norms (rows = output units): group lasso and Norm Loss.
// Both are radial per group: R = Σ_i ψ(‖w_i‖), ∇_{w_i} R = ψ'(‖w_i‖)/‖w_i‖ · w_i.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Which slices of the weight matrix form the groups.
public enum GroupAxis: String, Sendable { case rows, cols }

/// One pass per group: group norms in Double, then `g = scale · ψ'(r)/r · w` for the group.
/// `psi(r, n)` returns (ψ(r), ψ'(r)/r) for a group of n elements (0 for a zero group).
@inlinable
func radialValueAndGradient<T: Scalar>(_ w: Tensor<T>, _ g: Tensor<T>, axis: GroupAxis, scale: Double,
                                       _ psi: (Double, Int) -> (Double, Double)) -> Double {
    let (m, n) = w.matrix
    var total = 0.0
    if axis == .rows {
        // One pass over memory: each row is read for its norm and scaled while still in cache.
        // Rows split over the workers above the size threshold; chunk totals add in order.
        var partial = [Double](repeating: 0, count: Parallel.workers)
        partial.withUnsafeMutableBufferPointer { part in
            Parallel.chunks(m, minimum: Swift.max(2, Parallel.threshold / Swift.max(n, 1))) { c, range in
                var sub = 0.0
                for i in range {
                    let row = w.data + i * n, grow = g.data + i * n
                    let (v, f) = psi(Kernels.sumOfSquares(row, count: n).squareRoot(), n)
                    sub += v
                    let s = scale * f
                    for j in 0..<n { grow[j] = T(s * row[j].double) }
                }
                part[c] = sub
            }
        }
        for p in partial { total += p }
    } else {
        var sq = [Double](repeating: 0, count: n)
        for i in 0..<m { for j in 0..<n { let x = w.data[i * n + j].double; sq[j] += x * x } }
        var factor = [Double](repeating: 0, count: n)
        for j in 0..<n { let (v, f) = psi(sq[j].squareRoot(), m); total += v; factor[j] = scale * f }
        for i in 0..<m { for j in 0..<n { g.data[i * n + j] = T(factor[j] * w.data[i * n + j].double) } }
    }
    return scale * total
}

/// Block soft-thresholding style prox for radial penalties: x_i = v_i · ρ(‖v_i‖)/‖v_i‖,
/// where `shrink(r, n)` returns the new norm ρ(r) (the 1-D prox of ψ at r).
@inlinable
func radialProx<T: Scalar>(_ v: Tensor<T>, _ out: Tensor<T>, axis: GroupAxis, _ shrink: (Double, Int) -> Double) {
    let (m, n) = v.matrix
    if axis == .rows {
        Parallel.chunks(m, minimum: Swift.max(2, Parallel.threshold / Swift.max(n, 1))) { _, range in
            for i in range {
                let row = v.data + i * n, orow = out.data + i * n
                let r = Kernels.sumOfSquares(row, count: n).squareRoot()
                let f = r > 0 ? shrink(r, n) / r : 0
                for j in 0..<n { orow[j] = T(f * row[j].double) }
            }
        }
    } else {
        var sq = [Double](repeating: 0, count: n)
        for i in 0..<m { for j in 0..<n { let x = v.data[i * n + j].double; sq[j] += x * x } }
        let f = sq.map { s -> Double in let r = s.squareRoot(); return r > 0 ? shrink(r, m) / r : 0 }
        for i in 0..<m { for j in 0..<n { out.data[i * n + j] = T(f[j] * v.data[i * n + j].double) } }
    }
}

/// Group lasso (ℓ2,1), rows (output units) as groups by default.
/// ```
/// R(W) = Σ_i c_i ‖w_i‖₂,  c_i = 1 ("none") or √n ("sqrt_size", Yuan–Lin)
/// ∇ = c_i w_i/‖w_i‖ (zero row → 0)     prox: x_i = v_i · max(0, 1 − t c_i/‖v_i‖)
/// ```
/// - Reference: Yuan & Lin, "Model selection and estimation in regression with grouped
///   variables", 2006. Catalogue: penalties_sparsity §4.
public struct GroupLasso: ProximalPenalty {
    public static let id = "group_lasso"
    public enum Weight: String, Sendable { case none, sqrt_size }
    public let axis: GroupAxis
    public let weight: Weight
    public init(axis: GroupAxis = .rows, weight: Weight = .none) { self.axis = axis; self.weight = weight }

    @inlinable func c(_ n: Int) -> Double { weight == .none ? 1 : Double(n).squareRoot() }

    @inlinable func run<T: Scalar>(_ w: Tensor<T>, _ g: Tensor<T>, _ scale: Double) -> Double {
        radialValueAndGradient(w, g, axis: axis, scale: scale) { r, n in (c(n) * r, r > 0 ? c(n) / r : 0) }
    }
    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        run(w, g, scale)
    }
    public func valueAndGradient(_ w: Tensor<Float>, _ inputs: Inputs, scale: Double, into g: Tensor<Float>) throws -> Double {
        run(w, g, scale)
    }
    public func prox(_ v: Tensor<Double>, t: Double, _ inputs: Inputs, into out: Tensor<Double>) throws {
        radialProx(v, out, axis: axis) { r, n in Swift.max(0, r - t * c(n)) }
    }
    public func prox(_ v: Tensor<Float>, t: Double, _ inputs: Inputs, into out: Tensor<Float>) throws {
        radialProx(v, out, axis: axis) { r, n in Swift.max(0, r - t * c(n)) }
    }
}

/// Norm Loss: a soft constraint keeping every unit's weight row on the unit sphere (the oblique
/// manifold). Pushes small rows up and large rows down, unlike weight decay.
/// ```
/// R(W) = Σ_i (‖w_i‖ − 1)²      ∇_{w_i} R = 2(1 − 1/(‖w_i‖ + ε)) w_i   (zero row → 0)
/// ```
/// - Reference: Georgiou, Schmitt, Bäck, Chen, Lew, "Norm Loss: An efficient yet effective
///   regularization method for deep neural networks", 2021. Catalogue: penalties_sparsity §12.
/// - Note: ε = 1e-8 guards the division as in Ranger21's port of the authors' code; the value
///   sums over rows (the paper's layer normalisation is the caller's strength).
public struct NormLoss: Penalty {
    public static let id = "norm_loss"
    public let eps: Double
    public init(eps: Double = 1e-8) { self.eps = eps }

    @inlinable func run<T: Scalar>(_ w: Tensor<T>, _ g: Tensor<T>, _ scale: Double) -> Double {
        radialValueAndGradient(w, g, axis: .rows, scale: scale) { r, _ in
            ((r - 1) * (r - 1), r > 0 ? 2 * (1 - 1 / (r + eps)) : 0)
        }
    }
    public func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        run(w, g, scale)
    }
    public func valueAndGradient(_ w: Tensor<Float>, _ inputs: Inputs, scale: Double, into g: Tensor<Float>) throws -> Double {
        run(w, g, scale)
    }
}

extension Registry {
    static let rowNorms: [Entry] = [
        .penalty("group_lasso", family: "sparsity", summary: "group lasso ℓ2,1 with rows (or columns) as groups",
                 formula: "R = Σ_i c_i‖w_i‖; ∇ = c_i w_i/‖w_i‖; prox: x_i = v_i·max(0, 1 − t c_i/‖v_i‖)",
                 reference: "Model selection and estimation in regression with grouped variables (Yuan & Lin 2006)",
                 strength: 1e-4,
                 params: [.choice("group_weight", ["none", "sqrt_size"], "c_i = 1 or √(group size)"),
                          .choice("groups", ["rows", "cols"], "rows = output units; cols = input channels")],
                 prox: true,
                 examples: [
                    WorkedExample("W0 unweighted", params: "strength=1", x: w0, shape: [2, 2], value: 2.736068,
                                  gradient: [0.447214, -0.894427, 1, 0], prox: (1, [0.552786, -1.105573, 0, 0])),
                    WorkedExample("W0 prox 0.5", params: "strength=1", x: w0, shape: [2, 2],
                                  prox: (0.5, [0.776393, -1.552786, 0, 0])),
                    WorkedExample("W0 sqrt_size", params: "strength=1,group_weight=sqrt_size", x: w0, shape: [2, 2],
                                  value: 3.869384),
                 ]) {
            GroupLasso(axis: try $0.choice("groups"), weight: try $0.choice("group_weight"))
        },
        .penalty("norm_loss", family: "sparsity", summary: "Norm Loss: rows pulled onto the unit sphere, Σ(‖w_i‖−1)²",
                 formula: "R = Σ_i (‖w_i‖ − 1)²; ∇ = 2(1 − 1/(‖w_i‖+ε)) w_i",
                 reference: "Norm Loss: An efficient yet effective regularization method for deep neural networks (Georgiou et al. 2021)",
                 confidence: "high (form) / medium (paper scaling)",
                 notes: "Sum over rows; ε=1e-8 in the division as in Ranger21 (a port of the authors' TensorFlow code).",
                 strength: 1e-4, params: [.real("eps", 1e-8, min: 0, max: 1e-2, "guard in 1/(‖w_i‖+ε)")],
                 examples: [WorkedExample("W0", params: "strength=1", x: w0, shape: [2, 2], value: 1.777864,
                                          gradient: [1.105573, -2.211146, -1.0, 0])]) {
            NormLoss(eps: try $0.real("eps"))
        },
    ]
}
