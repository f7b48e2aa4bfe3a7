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

    public func totalWeight(rows: Int, target: RowTargets) -> Double? { Double(rows) }

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

/// Likelihood-ratio regularized quantile regression (LR-QR): the pinball loss of a threshold
/// function h on labelled source points, regularized with unlabelled source and target points so
/// that βh stays close to the likelihood ratio r = dP_target/dP_source without estimating r.
/// ```
/// L(h, β) = Ê₁[ℓ_α(h(X), S)] + λ Ê₃[β² h(X)²] − 2λ Ê₂[β h(X)]      (Algorithm 1 of the paper)
/// ℓ_α(c, s) = (1 − α)(s − c) if s ≥ c, α(c − s) otherwise            (pinball at level 1 − α)
/// β is profiled out in closed form (the joint minimization over (h, β) is the same problem):
///   β* = Ê₂[h]/Ê₃[h²],  L(h) = Ê₁[ℓ_α] − λ Ê₂[h]² / Ê₃[h²]
/// ∂L/∂h_i = ℓ_α'(h_i, S_i)/n₁ (domain 1),  −2λβ*/n₂ (domain 2),  2λβ*² h_i/n₃ (domain 3)
///   (envelope theorem: the partial derivatives at β = β*)
/// ```
/// - Parameters: predictions h at all N points (any shape); target = the scores S (same shape;
///   read only on domain-1 points); input `domain` (same count): 1 = labelled source
///   (calibration), 2 = unlabelled target, 3 = unlabelled source; `alpha` α ∈ (0, 1) (0.1, the
///   miscoverage level); `lam` λ ≥ 0 (required: the paper picks it by 3-fold cross-validation on a
///   grid from λ*/10 to λ*, λ* ∝ sqrt((n₂ + n₃)/n₁)).
/// - Batch-coupled (a ratio of means): reduction = mean only; the per-sample values are each
///   point's contribution (they sum to L). Every domain must be present; Ê₃[h²] = 0 with
///   Ê₂[h] ≠ 0 is unbounded below and an error.
/// - Reference: Joshi, Kiyani, Pappas, Dobriban & Hassani, "Likelihood-Ratio Regularized Quantile
///   Regression: Adapting Conformal Prediction to High-Dimensional Covariate Shifts", 2025
///   (Algorithm 1, §3.1, §5.1; pinned from the paper text). Catalogue: losses §19.
public struct LRQR: Loss {
    public static let id = "lr_qr"
    public let alpha: Double, lam: Double
    public init(alpha: Double = 0.1, lam: Double) { self.alpha = alpha; self.lam = lam }

    public func evaluate(_ z: Tensor<Double>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Double>) throws -> Double {
        guard reduction == .mean else {
            throw RegulaError.unsupported("lr_qr is batch-coupled (a ratio of means): use reduction=mean")
        }
        let n = z.count
        guard let s = target?.asDoubles, s.count == n else {
            throw RegulaError.shape("lr_qr needs the scores S as its target, one per prediction (\(n))")
        }
        let (_, domain) = try inputs.index("domain")
        guard domain.count == n else { throw RegulaError.shape("domain has \(domain.count) values for \(n) predictions") }
        var count = [0, 0, 0, 0], pinball = 0.0, mean2 = 0.0, sq3 = 0.0
        for i in 0..<n {
            switch domain[i] {
            case 1:
                let u = s[i] - z[i]
                pinball += u >= 0 ? (1 - alpha) * u : -alpha * u
            case 2: mean2 += z[i]
            case 3: sq3 += z[i] * z[i]
            default: throw RegulaError.invalidArgument("domain must be 1, 2 or 3; got \(domain[i]) at index \(i)")
            }
            count[domain[i]] += 1
        }
        guard count[1] > 0, count[2] > 0, count[3] > 0 else {
            throw RegulaError.invalidArgument("lr_qr needs points of every domain (1: labelled source, 2: target, 3: unlabelled source); got counts \(count[1]), \(count[2]), \(count[3])")
        }
        let n1 = Double(count[1]), n2 = Double(count[2]), n3 = Double(count[3])
        pinball /= n1; mean2 /= n2; sq3 /= n3
        let beta: Double
        if sq3 > 0 { beta = mean2 / sq3 } else if mean2 == 0 || lam == 0 { beta = 0 } else {
            throw RegulaError.invalidArgument("lr_qr: h is 0 on every unlabelled source point while Ê₂[h] ≠ 0 (the regularizer is unbounded below)")
        }
        let (rows, cols) = z.lastAxis
        for r in 0..<rows { perSample[r] = 0 }
        for i in 0..<n {
            let c: Double
            switch domain[i] {
            case 1:
                let u = s[i] - z[i]
                g[i] = (u > 0 ? -(1 - alpha) : (u < 0 ? alpha : 0)) / n1  // subgradient 0 at the kink
                c = (u >= 0 ? (1 - alpha) * u : -alpha * u) / n1
            case 2:
                g[i] = -2 * lam * beta / n2
                c = -2 * lam * beta * z[i] / n2
            default:
                g[i] = 2 * lam * beta * beta * z[i] / n3
                c = lam * beta * beta * z[i] * z[i] / n3
            }
            if cols > 0 { perSample[i / cols] += c }
        }
        return pinball + lam * (beta * beta * sq3 - 2 * beta * mean2)  // = Ê₁[ℓ] − λ Ê₂[h]²/Ê₃[h²]
    }
}

extension Registry {
    static let quantile: [Entry] = [
        .loss("pinball", family: "quantile", summary: "pinball (quantile) loss ρ_τ(y − ŷ)",
              formula: "ρ_τ(u) = max(τu, (τ−1)u), u = y − ŷ, mean over the last axis; ∂/∂ŷ = −τ (u > 0), 1 − τ (u < 0), 0 (u = 0)",
              reference: "Regression Quantiles (Koenker & Bassett 1978)",
              notes: "Default tau = 0.5 (the catalogue gives none). The last axis holds quantile levels (data 'taus'); pass a batch of scalars as (batch, 1).",
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
        .loss("lr_qr", family: "quantile",
              summary: "LR-QR: pinball loss of a threshold function with the likelihood-ratio regularizer (β profiled out)",
              formula: "L = Ê₁[ℓ_α(h, S)] + λ min_β (Ê₃[β²h²] − 2Ê₂[βh]) = Ê₁[ℓ_α] − λ Ê₂[h]²/Ê₃[h²]",
              reference: "Likelihood-Ratio Regularized Quantile Regression: Adapting Conformal Prediction to High-Dimensional Covariate Shifts (Joshi et al. 2025)",
              confidence: "medium",
              notes: "Pinned from the paper text (Algorithm 1; the catalogue marked it not pinned). β is minimized in closed form (β* = Ê₂[h]/Ê₃[h²]), which is the paper's joint minimization. lam has no default: the paper cross-validates it on [λ*/10, λ*], λ* ∝ sqrt((n₂+n₃)/n₁). reduction=mean only (batch-coupled).",
              target: "nonconformity scores S (same shape as the predictions; used on domain-1 points)",
              params: [.real("alpha", 0.1, min: 0, max: 1, minOpen: true, maxOpen: true, "miscoverage α (pinball at level 1 − α)"),
                       .real("lam", nil, min: 0, "regularization strength λ (required)")],
              inputs: [InputSpec("domain", "1 = labelled source, 2 = unlabelled target, 3 = unlabelled source, per prediction")],
              check: CheckSpec(shapes: [[12, 1], [9], [3, 4]], params: "lam=0.7", sample: { rng, shape in
                  let x = NDArray<Double>(shape: shape), s = NDArray<Double>(shape: shape)
                  for i in 0..<x.count { x[i] = 0.5 + 0.3 * rng.normal(); s[i] = rng.uniform() }
                  let d = (0..<x.count).map { $0 % 3 + 1 }
                  return Sample(x: x, inputs: ["domain": .index(shape: shape, values: d)],
                                target: .real(shape: shape, values: s.values))
              }),
              examples: [
                WorkedExample("α=0.1, λ=1: pinball 0.095, β* = 0.5/0.17", params: "lam=1",
                              x: [0.5, 0.2, 0.4, 0.6, 0.3, 0.5], shape: [6, 1],
                              inputs: ["domain": .index(shape: [6], values: [1, 1, 2, 2, 3, 3])],
                              target: .real(shape: [6, 1], values: [0.7, 0.1, 0, 0, 0, 0]),
                              value: 0.095 - 0.25 / 0.17,
                              gradient: [-0.45, 0.05, -0.5 / 0.17 * 2 / 2, -0.5 / 0.17 * 2 / 2,
                                         (0.5 / 0.17) * (0.5 / 0.17) * 0.3, (0.5 / 0.17) * (0.5 / 0.17) * 0.5]),
                WorkedExample("λ=0 is the pinball loss at level 1 − α on the labelled points", params: "lam=0,alpha=0.1",
                              x: [0.4, 9, 9], shape: [3],
                              inputs: ["domain": .index(shape: [3], values: [1, 2, 3])],
                              target: .real(shape: [3], values: [1, 0, 0]), value: 0.54, gradient: [-0.9, 0, 0]),
              ]) { p in
            guard let lam = p.optionalReal("lam") else {
                throw RegulaError.invalidParameter(name: "lam", value: "", reason: "required (no universal default; see describe)")
            }
            return LRQR(alpha: try p.real("alpha"), lam: lam)
        },
    ]
}
