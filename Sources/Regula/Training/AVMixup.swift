// Regula — AVmixup (a data transform): mix each example with its adversarial vertex, a PGD
// example pushed γ times as far, and mix their label-smoothed targets the same way.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// `avmixup` (official Saehyung-Lee/cifar10_challenge, `pgd_attack.py::perturb_avmixup`):
/// ```
/// x_adv = PGD_∞(x): random start U(−ε, ε), `steps` × (x_adv += a·sign ∇_x L), clip to x ± ε
/// x_av  = clip(x + γ(x_adv − x), lo, hi)                           (the adversarial vertex)
/// u ~ U(0, 1) per sample;  x̃ = u·x + (1 − u)·x_av;  ỹ = u·LS(y, λ1) + (1 − u)·LS(y, λ2)
/// LS(y, f): f on the true class, (1 − f)/(K − 1) on every other
/// ```
/// Training then minimises the loss against the soft targets ỹ (it replaces adversarial training).
/// Decisions: ε and a are in the units of the scaled inputs (official 8/255 and 2/255 on the
/// 0–1 pixel scale); [lo, hi] is the range of the training inputs (official 0–255); the attack
/// maximises the configured task loss on one-hot targets (officially cross-entropy).
public struct AVMixup: Sendable {
    public var epsilon: Double, stepSize: Double, steps: Int, gamma: Double, lambda1: Double, lambda2: Double
    public init(epsilon: Double = 8.0 / 255, stepSize: Double = 2.0 / 255, steps: Int = 10, gamma: Double = 2,
                lambda1: Double = 1, lambda2: Double = 0.1) {
        self.epsilon = epsilon; self.stepSize = stepSize; self.steps = steps; self.gamma = gamma
        self.lambda1 = lambda1; self.lambda2 = lambda2
    }

    /// The vertex, the mixed inputs and their soft targets for given mixing weights `u` (one per row).
    public func mix(x: [Double], adversarial xAdv: [Double], labels: [Int], classes k: Int, u: [Double],
                    range: (lo: Double, hi: Double)) -> (x: [Double], targets: [Double]) {
        let n = labels.count, f = n > 0 ? x.count / n : 0
        var out = [Double](repeating: 0, count: x.count), t = [Double](repeating: 0, count: n * k)
        let off1 = k > 1 ? (1 - lambda1) / Double(k - 1) : 0, off2 = k > 1 ? (1 - lambda2) / Double(k - 1) : 0
        for i in 0..<n {
            for j in i * f ..< (i + 1) * f {
                let vertex = Swift.min(Swift.max(x[j] + gamma * (xAdv[j] - x[j]), range.lo), range.hi)
                out[j] = u[i] * x[j] + (1 - u[i]) * vertex
            }
            for c in 0..<k {
                let hit = c == labels[i]
                t[i * k + c] = u[i] * (hit ? lambda1 : off1) + (1 - u[i]) * (hit ? lambda2 : off2)
            }
        }
        return (out, t)
    }

    /// L∞ PGD with a random start on the classifier's task loss (objective term 0) against the
    /// one-hot `targets`; the graph must differentiate its input. Leaves the graph fed with x_adv.
    public func attack(_ c: Classifier, x: [Double], targets: [Double], range: (lo: Double, hi: Double),
                       rng: inout RNG) throws -> [Double] {
        let g = c.graph
        var weights = [Double](repeating: 0, count: g.objective.count)
        weights[0] = 1
        var adv = x.map { $0 + epsilon * (2 * rng.uniform() - 1) }
        for _ in 0..<steps {
            try g.feed([c.x: adv, c.y: targets])
            _ = try Trainer.objective(g, weights: weights)
            let grad = g.gradient(c.x)
            for j in 0..<adv.count {
                let a = adv[j] + stepSize * Kernels.sign(grad[j])
                adv[j] = Swift.min(Swift.max(Swift.min(Swift.max(a, x[j] - epsilon), x[j] + epsilon), range.lo), range.hi)
            }
        }
        return adv
    }

    /// One AVmixup batch: attack, vertex, per-sample u ~ U(0, 1), mixed inputs and targets.
    func apply(_ c: Classifier, x: [Double], labels: [Int], classes k: Int, range: (lo: Double, hi: Double),
               rng: inout RNG) throws -> (x: [Double], targets: [Double]) {
        let adv = try attack(c, x: x, targets: c.targets(labels, classes: k), range: range, rng: &rng)
        return mix(x: x, adversarial: adv, labels: labels, classes: k, u: labels.map { _ in rng.uniform() }, range: range)
    }
}
