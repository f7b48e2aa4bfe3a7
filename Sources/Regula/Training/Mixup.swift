// Regula — mixup (a data transform): convex combinations of a batch with a permutation of itself.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// `mixup` (facebookresearch/mixup-cifar10): one λ ~ Beta(α, α) per batch (λ = 1 when α = 0),
/// partners from a fresh random permutation π of the batch (not torchvision's roll),
/// x̃ = λx + (1−λ)x_π and the soft target ỹ = λ e_y + (1−λ) e_{y_π}, which is the official
/// `λ·CE(f(x̃), y) + (1−λ)·CE(f(x̃), y_π)` for losses linear in the target (cross-entropy).
public struct Mixup: Sendable {
    public let alpha: Double
    public init(alpha: Double) { self.alpha = alpha }

    /// Mixes a batch: x (rows × features) and labels in 0..<classes.
    public func mix(x: [Double], labels: [Int], features: Int, classes: Int, rng: inout RNG)
        -> (x: [Double], targets: [Double], lambda: Double, permutation: [Int]) {
        var t = [Double](repeating: 0, count: labels.count * classes)
        for (i, y) in labels.enumerated() { t[i * classes + y] = 1 }
        return mix(x: x, targets: t, features: features, classes: classes, rng: &rng)
    }

    /// Mixes a batch with soft targets (rows × classes): ỹ = λ t + (1 − λ) t_π.
    public func mix(x: [Double], targets t: [Double], features: Int, classes: Int, rng: inout RNG)
        -> (x: [Double], targets: [Double], lambda: Double, permutation: [Int]) {
        let n = t.count / Swift.max(classes, 1)
        let lambda = alpha > 0 ? Self.beta(alpha, alpha, &rng) : 1
        var perm = Array(0..<n)
        shuffle(&perm, &rng)
        var xm = [Double](repeating: 0, count: n * features), y = [Double](repeating: 0, count: n * classes)
        for i in 0..<n {
            let j = perm[i]
            for f in 0..<features { xm[i * features + f] = lambda * x[i * features + f] + (1 - lambda) * x[j * features + f] }
            for c in 0..<classes { y[i * classes + c] = lambda * t[i * classes + c] + (1 - lambda) * t[j * classes + c] }
        }
        return (xm, y, lambda, perm)
    }

    /// Beta(a, b) = X/(X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
    public static func beta(_ a: Double, _ b: Double, _ rng: inout RNG) -> Double {
        let x = gamma(a, &rng), y = gamma(b, &rng)
        return x / (x + y)
    }

    /// Gamma(shape k, scale 1): Marsaglia–Tsang for k ≥ 1; k < 1 through Gamma(k+1)·U^{1/k}.
    public static func gamma(_ k: Double, _ rng: inout RNG) -> Double {
        if k < 1 { return gamma(k + 1, &rng) * pow(Swift.max(rng.uniform(), 0x1.0p-60), 1 / k) }
        let d = k - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var z = 0.0, v = 0.0
            repeat { z = rng.normal(); v = 1 + c * z } while v <= 0
            v = v * v * v
            let u = rng.uniform()
            if u < 1 - 0.0331 * z * z * z * z || log(u) < 0.5 * z * z + d * (1 - v + log(v)) { return d * v }
        }
    }
}
