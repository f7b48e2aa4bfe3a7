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

/// `lawn` (Logit Attenuating Weight Normalization): a free phase of `warmupSteps`, then each
/// constrained tensor keeps the norm r it had at the switch: the gradient is projected on the
/// tangent space, g ← g − (wᵀg/‖w‖²)w, and after the update w ← r·w/‖w‖. Per-tensor norms; the
/// learning-rate schedule is not restarted at the switch (no official code: catalogue §8).
public final class LogitAttenuatingWeightNorm {
    public let warmupSteps: Int
    /// Constrains only the last weight matrix (the classifier) or every weight matrix.
    public let lastOnly: Bool
    private var radii: [ObjectIdentifier: Double] = [:]

    public init(warmupSteps: Int, lastOnly: Bool) { self.warmupSteps = warmupSteps; self.lastOnly = lastOnly }

    func constrained(_ params: [ParameterSlot]) -> [ParameterSlot] {
        let m = params.filter(\.decay)
        return lastOnly ? Array(m.suffix(1)) : m
    }

    /// The two transforms: the tangent projection (before clipping) and the renormalisation.
    public var transforms: [StepTransform] { [Part(self, .project), Part(self, .postStep)] }

    func project(_ params: [ParameterSlot]) {
        for p in constrained(params) {
            let ww = Kernels.sumOfSquares(p.value, count: p.count)
            if radii[ObjectIdentifier(p)] == nil { radii[ObjectIdentifier(p)] = ww.squareRoot() }  // r at the switch
            guard ww > 0 else { continue }  // a zero tensor has no tangent space: leave g
            let c = Kernels.dot(p.value, p.grad, count: p.count) / ww
            for i in 0..<p.count { p.grad[i] -= c * p.value[i] }
        }
    }

    func renormalize(_ params: [ParameterSlot]) {
        for p in constrained(params) {
            guard let r = radii[ObjectIdentifier(p)] else { continue }
            let n = Kernels.sumOfSquares(p.value, count: p.count).squareRoot()
            guard n > 0 else { continue }
            let s = r / n
            for i in 0..<p.count { p.value[i] *= s }
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
