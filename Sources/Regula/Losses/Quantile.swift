// Regula — the pinball (quantile) loss, with one or several quantile levels.

import RegulaEngine

/// Pinball loss of predictions ŷ against real targets y.
/// ```
/// u = y − ŷ;  ρ_τ(u) = max(τ u, (τ − 1) u);  ℓ_row = (1/Q) Σ_q ρ_{τ_q}(u_q)  (mean over the last axis)
/// ∂ℓ_row/∂ŷ_q = (1/Q)·(−τ_q if u_q > 0, 1 − τ_q if u_q < 0, 0 at u_q = 0)
/// ```
/// - Parameters: target y with the predictions' shape (reals; integer arrays are read as
///   numbers); `tau` ∈ (0, 1) (0.5, the median: the catalogue gives no default); data `taus`
///   (Q,) gives one level per column of the last axis instead.
/// - Rows: the last axis holds the quantile levels of one sample, so a batch of scalars is
///   (batch, 1); a rank-1 input is one row and its loss is the mean over its entries.
/// - The subgradient at u = 0 is 0 (torch's `maximum` splits ties and gives 0.5 − τ).
/// - Reference: Koenker & Bassett, "Regression Quantiles", 1978. Catalogue: losses §19.
public struct Pinball: RowLoss {
    public static let id = "pinball"
    public let tau: Double
    public let taus: [Double]?
    public init(tau: Double = 0.5, taus: [Double]? = nil) { self.tau = tau; self.taus = taus }

    public func prepare(rows: Int, classes: Int, target: InputArray?, _ inputs: Inputs) throws -> RowTargets {
        if let taus, taus.count != classes {
            throw RegulaError.shape("taus has \(taus.count) levels for a last axis of \(classes)")
        }
        guard let values = target?.asDoubles else {
            throw RegulaError.invalidArgument("pinball needs the targets y (same shape as the predictions)")
        }
        guard values.count == rows * classes, target?.shape.last ?? classes == classes else {
            throw RegulaError.shape("targets \(target?.shape ?? []) do not match predictions of \(rows) rows × \(classes)")
        }
        return RowTargets(reals: values, width: classes)
    }

    public func row(_ z: UnsafePointer<Double>, classes q: Int, target: RowTargets, index i: Int,
                    scratch: UnsafeMutablePointer<Double>, g: UnsafeMutablePointer<Double>) -> (loss: Double, weight: Double) {
        let y = target.reals!, base = i * q, inv = 1 / Double(q)
        var loss = 0.0
        for c in 0..<q {
            let t = taus?[c] ?? tau
            let u = y[base + c] - z[c]
            loss += u > 0 ? t * u : (t - 1) * u
            g[c] = inv * (u > 0 ? -t : (u < 0 ? 1 - t : 0))
        }
        return (loss * inv, 1)
    }
}

extension Registry {
    static let quantile: [Entry] = [
        .loss("pinball", family: "quantile", summary: "pinball (quantile) loss ρ_τ(y − ŷ)",
              formula: "ρ_τ(u) = max(τu, (τ−1)u), u = y − ŷ, mean over the last axis; ∂/∂ŷ = −τ (u > 0), 1 − τ (u < 0), 0 (u = 0)",
              reference: "Regression Quantiles (Koenker & Bassett 1978)",
              notes: "Default tau = 0.5 (the catalogue gives none). The last axis holds quantile levels (data 'taus'); pass a batch of scalars as (batch, 1). lr_qr is not shipped: its regularizer could not be pinned.",
              target: "real targets y (same shape as the predictions)",
              params: [.real("tau", 0.5, min: 0, max: 1, minOpen: true, maxOpen: true, "quantile level τ")],
              data: [InputSpec("taus", required: false, "one quantile level per column of the last axis (Q,)")],
              check: CheckSpec(shapes: [[4, 1], [3, 3], [6]], params: "tau=0.3", sample: { rng, shape in
                  let x = NDArray<Double>(shape: shape), y = NDArray<Double>(shape: shape)
                  for i in 0..<x.count { x[i] = rng.normal(); y[i] = rng.normal() }
                  return Sample(x: x, target: .real(shape: shape, values: y.values))
              }),
              examples: [
                WorkedExample("τ=0.9, y=1, ŷ=0.4", params: "tau=0.9", x: [0.4], shape: [1, 1],
                              target: .real(shape: [1, 1], values: [1]), value: 0.54, gradient: [-0.9]),
                WorkedExample("τ=0.9, y=1, ŷ=1.5", params: "tau=0.9", x: [1.5], shape: [1, 1],
                              target: .real(shape: [1, 1], values: [1]), value: 0.05, gradient: [0.1]),
                WorkedExample("batch mean, tie gives 0", params: "tau=0.9", x: [0.4, 1.5, 1], shape: [3, 1],
                              target: .real(shape: [3, 1], values: [1, 1, 1]), value: 0.59 / 3,
                              gradient: [-0.3, 0.1 / 3, 0]),
                WorkedExample("two levels", data: ["taus": .real(shape: [2], values: [0.1, 0.9])], x: [0.4, 0.4], shape: [1, 2],
                              target: .real(shape: [1, 2], values: [1, 1]), value: (0.06 + 0.54) / 2,
                              gradient: [-0.05, -0.45]),
              ]) { p in
            let taus = p.array("taus")?.asDoubles
            if let taus, let bad = taus.first(where: { !($0 > 0 && $0 < 1) }) {
                throw RegulaError.invalidParameter(name: "taus", value: "\(bad)", reason: "levels must lie in (0, 1)")
            }
            return Pinball(tau: try p.real("tau"), taus: taus)
        },
    ]
}
