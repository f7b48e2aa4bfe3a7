// Regula engine — post-step transforms on the weights: ISS-P / IHT shrinkage and LAWN's
// fixed-norm constraint (with its tangent projection of the gradient).

/// `iss_p` (β > 0) and `iht` (β = 0): after each step, per tensor (slots with `decay`), the
/// share `ratio` of entries with the smallest |w| — recomputed every step, so weights can leave
/// it — is multiplied by β. k = ⌊ratio·n⌋; ties keep the lower index in the set.
/// Official code (Iterative-Soft-Shrinkage-SR, `ist_pruner.py`): L1 magnitude, per layer.
public final class IterativeShrink: StepTransform {
    public let id: String
    public let stage = TransformStage.postStep
    public let ratio: Double, beta: Double
    private var order: [Int] = []

    public init(ratio: Double, beta: Double) {
        self.ratio = ratio; self.beta = beta; id = beta == 0 ? "iht" : "iss_p"
    }

    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        for p in params where p.decay {
            let k = Int((ratio * Double(p.count)).rounded(.down))
            guard k > 0 else { continue }
            let w = p.value
            order.removeAll(keepingCapacity: true)
            order.append(contentsOf: 0..<p.count)
            order.sort { abs(w[$0]) < abs(w[$1]) || (abs(w[$0]) == abs(w[$1]) && $0 < $1) }
            for i in order[0..<k] { w[i] *= beta }
        }
    }
}

/// `hard_threshold_proj` (AWP's projection as a post step): after each update every row of each
/// weight matrix keeps its k entries of largest |w| and the rest become 0 (ties keep the lower
/// index). Rows with at most k entries are unchanged.
public final class RowTopKProjection: StepTransform {
    public let id = "hard_threshold_proj", stage = TransformStage.postStep
    public let k: Int
    private var order: [Int] = []

    public init(k: Int) { self.k = k }

    public func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
        for p in params where p.decay {
            let rows = p.shape.first ?? 1, cols = rows == 0 ? 0 : p.count / rows
            guard cols > k else { continue }
            for r in 0..<rows {
                let w = p.value + r * cols
                order.removeAll(keepingCapacity: true)
                order.append(contentsOf: 0..<cols)
                order.sort { abs(w[$0]) > abs(w[$1]) || (abs(w[$0]) == abs(w[$1]) && $0 < $1) }
                for i in order[k...] { w[i] = 0 }
            }
        }
    }
}

/// `lawn` / `lawn_projection` (Logit Attenuating Weight Normalization): a free phase of
/// `warmupSteps`, then each constrained tensor (or, with `perUnit`, each of its rows) keeps the
/// norm r it had at the switch: with `tangent` the gradient is projected on the tangent space,
/// g ← g − (wᵀg/‖w‖²)w, and after the update w ← r·w/‖w‖. The learning-rate schedule is not
/// restarted at the switch (no official code: catalogue transforms §8, penalties_matrix §21).
public final class LogitAttenuatingWeightNorm {
    public let warmupSteps: Int
    /// Constrains only the last weight matrix (the classifier) or every weight matrix.
    public let lastOnly: Bool
    /// One norm per output row instead of one per tensor.
    public let perUnit: Bool
    /// Projects the gradient on the tangent space of the constraint.
    public let tangent: Bool
    private var radii: [ObjectIdentifier: [Double]] = [:]

    public init(warmupSteps: Int, lastOnly: Bool, perUnit: Bool = false, tangent: Bool = true) {
        self.warmupSteps = warmupSteps; self.lastOnly = lastOnly; self.perUnit = perUnit; self.tangent = tangent
    }

    func constrained(_ params: [ParameterSlot]) -> [ParameterSlot] {
        let m = params.filter(\.decay)
        return lastOnly ? Array(m.suffix(1)) : m
    }

    /// The two transforms: the tangent projection (before clipping) and the renormalisation.
    public var transforms: [StepTransform] { [Part(self, .project), Part(self, .postStep)] }

    /// The constrained blocks of a tensor: (offset, length) of each row, or the whole tensor.
    func blocks(_ p: ParameterSlot) -> [(Int, Int)] {
        let rows = perUnit ? Swift.max(p.shape.first ?? 1, 1) : 1, cols = p.count / rows
        return (0..<rows).map { ($0 * cols, cols) }
    }

    /// Records r at the switch (first constrained step).
    func capture(_ params: [ParameterSlot]) {
        for p in constrained(params) where radii[ObjectIdentifier(p)] == nil {
            radii[ObjectIdentifier(p)] = blocks(p).map { Kernels.sumOfSquares(p.value + $0.0, count: $0.1).squareRoot() }
        }
    }

    func project(_ params: [ParameterSlot]) {
        capture(params)
        guard tangent else { return }
        for p in constrained(params) {
            for (o, n) in blocks(p) {
                let w = p.value + o, g = p.grad + o
                let ww = Kernels.sumOfSquares(w, count: n)
                guard ww > 0 else { continue }  // a zero block has no tangent space: leave g
                let c = Kernels.dot(w, g, count: n) / ww
                for i in 0..<n { g[i] -= c * w[i] }
            }
        }
    }

    func renormalize(_ params: [ParameterSlot]) {
        for p in constrained(params) {
            guard let r = radii[ObjectIdentifier(p)] else { continue }
            for ((o, n), rk) in zip(blocks(p), r) {
                let w = p.value + o
                let norm = Kernels.sumOfSquares(w, count: n).squareRoot()
                guard norm > 0, rk > 0 else { continue }  // zero at capture: the block is skipped
                let s = rk / norm
                for i in 0..<n { w[i] *= s }
            }
        }
    }

    /// One of LAWN's two stages.
    final class Part: StepTransform {
        let id = "lawn"
        let stage: TransformStage
        let owner: LogitAttenuatingWeightNorm  // strong: the owner is referenced only by its parts
        init(_ o: LogitAttenuatingWeightNorm, _ stage: TransformStage) { owner = o; self.stage = stage }
        func apply(_ params: [ParameterSlot], _ ctx: StepContext) throws {
            guard ctx.step >= owner.warmupSteps else { return }
            if stage == .project { owner.project(params) } else { owner.renormalize(params) }
        }
    }
}
