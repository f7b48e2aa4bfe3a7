// Edge cases and invariants of the classification losses (label smoothing, entropy, z-losses,
// noisy softmax, sparse FY losses, StableMax, focal, flooding) beyond the generic checker.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import Regula
import RegulaEngine

/// (value, gradient) of a registered loss in float64.
private func clsEval(_ id: String, _ params: String = "", _ x: [Double], _ shape: [Int], labels: [Int]? = nil,
              reals: [Double]? = nil, inputs: Inputs = .none, loss: LossInstance? = nil) throws -> (Double, [Double]) {
    let l = try loss ?? Registry.shared.loss(id, params)
    let z = NDArray<Double>(shape: shape, x), g = NDArray<Double>(shape: shape)
    let target: InputArray? = labels.map { .index(shape: [$0.count], values: $0) }
        ?? reals.map { .real(shape: shape, values: $0) }
    let v = try l.evaluate(z.tensor, target: target, inputs, into: g.tensor)
    return (v, g.values)
}

/// (value, gradient) in float32.
private func clsEval32(_ id: String, _ params: String = "", _ x: [Float], _ shape: [Int], labels: [Int]? = nil,
                inputs: Inputs = .none) throws -> (Double, [Float]) {
    let l = try Registry.shared.loss(id, params)
    let z = NDArray<Float>(shape: shape, x), g = NDArray<Float>(shape: shape)
    let v = try l.evaluate(z.tensor, target: labels.map { .index(shape: [$0.count], values: $0) }, inputs, into: g.tensor)
    return (v, g.values)
}

private func clsNear(_ a: Double, _ b: Double, _ tol: Double = 1e-6) -> Bool { abs(a - b) <= tol * Swift.max(1, abs(b)) }
private func clsNear(_ a: [Double], _ b: [Double], _ tol: Double = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { clsNear($0, $1, tol) }
}

@Suite struct LabelSmoothingTests {
    @Test func tslaSwitchesStageThroughUpdate() throws {
        let l = try Registry.shared.loss("tsla_label_smoothing", "theta=0.1,t1=3")
        let x: [Double] = [2, 1, -1]
        #expect(clsNear(try clsEval("", "", x, [1, 3], labels: [0], loss: l).0, 0.482346))
        try l.update("epoch=2")
        #expect(clsNear(try clsEval("", "", x, [1, 3], labels: [0], loss: l).0, 0.482346))
        try l.update("epoch=3")
        #expect(clsNear(try clsEval("", "", x, [1, 3], labels: [0], loss: l).0, 0.349012))
        #expect(throws: (any Error).self) { try l.update("step=3") }   // not a state of tsla
        #expect(throws: (any Error).self) { try l.update("epoch=-1") }
        #expect(throws: (any Error).self) { try Registry.shared.loss("tsla_label_smoothing") }  // t1 required
    }

    @Test func maxsupScheduleIsLinearOverSteps() throws {
        let l = try Registry.shared.loss("maxsup", "alpha_begin=0.1,alpha_end=0.2,total_steps=10")
        let x: [Double] = [2, 1, -1], gap = 2.0 - 2.0 / 3  // max − mean
        let ce = 1.349012  // CE for y = 1
        for (step, alpha) in [(0, 0.1), (5, 0.15), (10, 0.2), (25, 0.2)] {
            try l.update("step=\(step)")
            #expect(clsNear(try clsEval("", "", x, [1, 3], labels: [1], loss: l).0, ce + alpha * gap, 1e-6))
        }
        #expect(throws: (any Error).self) { try Registry.shared.loss("maxsup", "alpha_begin=0.1") }
        #expect(throws: (any Error).self) { try Registry.shared.loss("maxsup", "alpha_begin=0.1,alpha_end=0.2") }
        #expect(throws: (any Error).self) { try Registry.shared.loss("maxsup", "total_steps=4") }
        // Constant α ignores the step.
        let c = try Registry.shared.loss("maxsup", "alpha=0.3")
        try c.update("step=7")
        #expect(clsNear(try clsEval("", "", x, [1, 3], labels: [1], loss: c).0, ce + 0.3 * gap, 1e-6))
    }

    @Test func maxsupDiffersFromLabelSmoothingOnlyWhenMisclassified() throws {
        let x: [Double] = [0.3, 2.5, -0.7, 1.1]
        for y in 0..<4 {
            let ms = try clsEval("maxsup", "alpha=0.1", x, [1, 4], labels: [y]).0
            let ls = try clsEval("softmax_cross_entropy", "label_smoothing=0.1", x, [1, 4], labels: [y]).0
            #expect(clsNear(ms, ls, 1e-12) == (y == 1))
        }
    }

    @Test func aclsNegativeTermUsesTheDetachedMax() throws {
        // Central differences of the value with m held fixed must match the negative-term gradient.
        let x: [Double] = [14, 1, -3, 5], k = 4.0, alpha = 0.1, lambda2 = 0.1, margin = 10.0
        let (_, g) = try clsEval("acls", "", x, [1, 4], labels: [1])
        let (_, gce) = try clsEval("softmax_cross_entropy", "", x, [1, 4], labels: [1])
        for c in 1..<4 {
            let d = Swift.max(14 - x[c] - margin, 0)
            let expected = gce[c] - alpha * lambda2 * 2 * d / (k - 1)
            #expect(clsNear(g[c], expected, 1e-9))
        }
        #expect(clsNear(g[0], gce[0] + alpha * 1.0 * 2 * 4, 1e-9))  // positive term: 2αλ1(m − M)
    }

    @Test func aclsTiesAndOneClass() throws {
        let (v, g) = try clsEval("acls", "", [12, 12, 0], [1, 3], labels: [0])
        let (ce, gce) = try clsEval("softmax_cross_entropy", "", [12, 12, 0], [1, 3], labels: [0])
        #expect(clsNear(v, ce + 0.1 * (4 + 4 + 0.1 * 4 / 2), 1e-9))  // both maxima positive; gap 12 → (12 − 10)² / (K − 1)
        #expect(clsNear(g[0] - gce[0], 0.1 * 2 * 2, 1e-9) && clsNear(g[1] - gce[1], 0.1 * 2 * 2, 1e-9))
        let (v1, g1) = try clsEval("acls", "", [15], [1, 1], labels: [0])
        #expect(clsNear(v1, 0.1 * 25) && clsNear(g1, [0.1 * 2 * 5]))
    }
}

@Suite struct EntropyLossTests {
    @Test func happyDefaultsMatchCentralDifferences() throws {
        // The generic check runs τ = 1; here the official τ = 0.1 (logits amplified 10×).
        let x: [Double] = [0.2, -0.1, 0.05, 0.3, 0.0, -0.2, 0.1, 0.15, -0.05, 0.02, 0.3, 0.1]
        for id in ["happy_soft_entropy", "marginal_entropy_max"] {
            let params = id == "happy_soft_entropy" ? "c_old=2" : ""
            let (_, g) = try clsEval(id, params, x, [3, 4])
            for i in 0..<x.count {
                var xp = x, xm = x
                xp[i] += 1e-6; xm[i] -= 1e-6
                let fd = (try clsEval(id, params, xp, [3, 4]).0 - clsEval(id, params, xm, [3, 4]).0) / 2e-6
                #expect(abs(fd - g[i]) < 1e-6, "\(id) [\(i)]: \(g[i]) vs \(fd)")
            }
        }
    }

    @Test func happyRejectsBadSetups() throws {
        #expect(throws: (any Error).self) { try clsEval("happy_soft_entropy", "c_old=3", [1, 2, 3], [1, 3]) }
        #expect(throws: (any Error).self) { try Registry.shared.loss("happy_soft_entropy") }
        #expect(throws: (any Error).self) { try Registry.shared.loss("happy_soft_entropy", "c_old=1,reduction=sum") }
        #expect(throws: (any Error).self) { try Registry.shared.loss("marginal_entropy_max", "reduction=none") }
        #expect(throws: (any Error).self) { try clsEval("marginal_entropy_max", "", [], [0, 3]) }
    }

    @Test func marginalEntropyIsZeroForABalancedBatch() throws {
        // Two rows that put their mass on different classes: p̄ uniform over 2 classes → R = 0.
        let (v, _) = try clsEval("marginal_entropy_max", "tau=1", [50, -50, -50, 50], [2, 2])
        #expect(abs(v) < 1e-12)
        // One-hot collapse: R = log K.
        let (c, g) = try clsEval("marginal_entropy_max", "", [1e4, 0, 0, 1e4, 0, 0], [2, 3])
        #expect(clsNear(c, log(3.0)) && g.allSatisfy(\.isFinite))
    }

    @Test func confidencePenaltyIsFiniteAtHugeLogits() throws {
        let (v, g) = try clsEval("confidence_penalty", "", [1e4, 0, -1e4], [1, 3], labels: [2])
        #expect(clsNear(v, 2e4) && clsNear(g, [1, 0, -1]))
    }
}

@Suite struct ZLossTests {
    @Test func sphericalZLossIsShiftAndScaleInvariant() throws {
        let x: [Double] = [0.3, -1.2, 2.2, 0.7]
        let (v, g) = try clsEval("zloss_spherical", "a=1,b=2", x, [1, 4], labels: [3])
        let (v2, g2) = try clsEval("zloss_spherical", "a=1,b=2", x.map { 7 * $0 - 3 }, [1, 4], labels: [3])
        #expect(clsNear(v, v2, 1e-12))
        #expect(clsNear(g, g2.map { 7 * $0 }, 1e-9))  // ∂/∂z scales by 1/7 under z → 7z − 3
        #expect(abs(g.reduce(0, +)) < 1e-12)  // shift invariance: the gradient sums to 0
    }

    @Test func equalLogitsAndMissingParameters() throws {
        let (v, g) = try clsEval("zloss_spherical", "a=1,b=2", [3, 3, 3], [1, 3], labels: [1])
        #expect(clsNear(v, log1p(exp(2.0))) && g == [0, 0, 0])
        #expect(throws: (any Error).self) { try Registry.shared.loss("zloss_spherical", "a=1") }
        #expect(throws: (any Error).self) { try Registry.shared.loss("zloss_spherical", "a=0,b=1") }
        #expect(throws: (any Error).self) { try clsEval("zloss_spherical", "a=1,b=2", [1, 2], [1, 2], reals: [0.5, 0.5]) }
    }

    @Test func logzPenaltyIgnoresTheTarget() throws {
        let x: [Double] = [2, 1, -1]
        #expect(try clsEval("logz_penalty", "", x, [1, 3]).0 == clsEval("logz_penalty", "", x, [1, 3], labels: [2]).0)
    }
}

@Suite struct NoisySoftmaxTests {
    let r: Inputs = ["r": .real(shape: [2], values: [5, 4])]
    let x: [Double] = [2, 1, -1, 0.5, 1.5, -0.3]

    @Test func fixedNoiseReproducesTheCatalogueExample() throws {
        let loss = NoisySoftmaxRows(alpha: 0.1, magnitudes: [1])
        let z = NDArray<Double>(shape: [1, 3], [2, 1, -1]), g = NDArray<Double>(shape: [1, 3])
        let ps = UnsafeMutableBufferPointer<Double>.allocate(capacity: 1)
        defer { ps.deallocate() }
        let v = try loss.evaluate(z.tensor, target: .index(shape: [1], values: [0]),
                                  ["r": .real(shape: [1], values: [5])], reduction: .mean, perSample: ps, into: g.tensor)
        #expect(clsNear(v, 0.447113) && clsNear(g.values, [-0.396581, 0.317552, 0.042976]))
    }

    @Test func noiseIsReproducibleAndAdvancesWithTheStep() throws {
        let a = try Registry.shared.loss("noisy_softmax", "alpha=0.5,seed=7")
        let b = try Registry.shared.loss("noisy_softmax", "alpha=0.5,seed=7")
        let v0 = try clsEval("", "", x, [2, 3], labels: [0, 1], inputs: r, loss: a).0
        #expect(v0 == (try clsEval("", "", x, [2, 3], labels: [0, 1], inputs: r, loss: a).0))  // repeated call agrees
        #expect(v0 == (try clsEval("", "", x, [2, 3], labels: [0, 1], inputs: r, loss: b).0))  // same seed, same step
        try a.update("step=1")
        #expect(v0 != (try clsEval("", "", x, [2, 3], labels: [0, 1], inputs: r, loss: a).0))
        let other = try clsEval("noisy_softmax", "alpha=0.5,seed=8", x, [2, 3], labels: [0, 1], inputs: r).0
        #expect(v0 != other)
        // The noise only lowers the target logit: the loss is never below plain CE.
        let ce = try clsEval("softmax_cross_entropy", "", x, [2, 3], labels: [0, 1]).0
        #expect(v0 >= ce)
    }

    @Test func rIsRequiredAndChecked() throws {
        #expect(throws: (any Error).self) { try clsEval("noisy_softmax", "alpha=0.1", x, [2, 3], labels: [0, 1]) }
        #expect(throws: (any Error).self) {
            try clsEval("noisy_softmax", "alpha=0.1", x, [2, 3], labels: [0, 1], inputs: ["r": .real(shape: [1], values: [5])])
        }
        #expect(throws: (any Error).self) { try Registry.shared.loss("noisy_softmax") }  // alpha required
    }
}

@Suite struct SparseAndStableLossTests {
    @Test func sparseLossGradientIsMapMinusOneHot() throws {
        let x: [Double] = [0.4, 1.3, -0.2, 1.1, 0.9]
        let map = try Registry.shared.map("sparsemax")
        let p = NDArray<Double>(shape: [1, 5])
        try map.forward(NDArray<Double>(shape: [1, 5], x).tensor, into: p.tensor)
        let (_, g) = try clsEval("sparsemax_loss", "", x, [1, 5], labels: [2])
        var expected = p.values
        expected[2] -= 1
        #expect(clsNear(g, expected, 1e-12))
        // Shift invariance and zero loss once the target wins by the margin.
        #expect(clsNear(try clsEval("sparsemax_loss", "", x.map { $0 + 1e4 }, [1, 5], labels: [2]).0,
                     try clsEval("sparsemax_loss", "", x, [1, 5], labels: [2]).0, 1e-9))
        #expect(try clsEval("sparsemax_loss", "", [3, 1, 0], [1, 3], labels: [0]).0 == 0)
        #expect(try clsEval("entmax15_loss", "", [5, 1, 0], [1, 3], labels: [0]).0 == 0)
    }

    @Test func softmaxCollapseInFloat32IsHandled() throws {
        // The regime: a top-logit gap of 20 > 16.64 makes float32 Σ exp(z − max) round to exactly 1,
        // so a float32 log-softmax gives CE = 0 and a zero target gradient.
        let z: [Float] = [20, 0, 0]
        var s: Float = 0
        for v in z { s += Float(exp(Double(v - 20))) }
        #expect(s == 1 && log(s) == 0)
        // Regula's softmax CE accumulates in float64: a positive loss and a non-zero target gradient.
        let (ce, gce) = try clsEval32("softmax_cross_entropy", "", z, [1, 3], labels: [0])
        #expect(ce > 0 && gce[0] < 0 && gce[1] > 0)
        #expect(clsNear(ce, 2 * exp(-20.0), 1e-6))
        // StableMax CE keeps an O(1/gap²) gradient, far from any underflow.
        let (sv, sg) = try clsEval32("stablemax_cross_entropy", "", z, [1, 3], labels: [0])
        #expect(clsNear(sv, log(23.0 / 21.0), 1e-6))
        #expect(clsNear(Double(sg[0]), 1.0 / 23 - 1.0 / 21, 1e-5) && sg[1] > 0 && sg[2] > 0)
        // Gap 120 (float32 exp underflows completely): StableMax still has a gradient.
        let (_, sg2) = try clsEval32("stablemax_cross_entropy", "", [120, 0, 0], [1, 3], labels: [0])
        #expect(sg2[0] < 0 && sg2[1] > 0)
    }

    @Test func stablemaxHasNoNaNAtOne() throws {
        let (v, g) = try clsEval32("stablemax_cross_entropy", "", [1, 1, -1], [1, 3], labels: [2])
        #expect(v.isFinite && g.allSatisfy(\.isFinite))
    }
}

@Suite struct FocalTests {
    @Test func focalWithSmallGammaIsFiniteAtCertainty() throws {
        let (v, g) = try clsEval("focal_loss", "gamma=0.5", [1e4, 0, 0], [1, 3], labels: [0])
        #expect(v == 0 && g.allSatisfy { $0.isFinite && $0 == 0 })
        let (w, _) = try clsEval("focal_loss", "gamma=2,alpha=0.5", [2, 1, -1], [1, 3], labels: [0])
        #expect(clsNear(w, 0.5 * 0.030294, 1e-6))
    }

    @Test func sigmoidFocalChecksTargetsAndHugeLogits() throws {
        #expect(throws: (any Error).self) { try clsEval("sigmoid_focal_loss", "", [1, 2], [1, 2], reals: [1.5, 0]) }
        let (v, g) = try clsEval("sigmoid_focal_loss", "gamma=0.5", [1e4, -1e4, 1e4], [1, 3], reals: [1, 0, 0])
        #expect(clsNear(v, 0.75 * 1e4) && g.allSatisfy(\.isFinite))
        // γ = 0, α < 0: plain BCE with logits.
        let (b, gb) = try clsEval("sigmoid_focal_loss", "gamma=0,alpha=-1", [0.5], [1, 1], reals: [0.3])
        let p = 1 / (1 + exp(-0.5))
        #expect(clsNear(b, -(0.3 * log(p) + 0.7 * log(1 - p))) && clsNear(gb, [p - 0.3]))
    }
}

@Suite struct FloodingTests {
    @Test func zeroGradientAtTheFloodLevelAndSumReduction() throws {
        let x: [Double] = [2, 1, -1, 0.5, 0.2, 0.1]
        let (l, _) = try clsEval("softmax_cross_entropy", "reduction=sum", x, [2, 3], labels: [0, 2])
        let (v, g) = try clsEval("flooding", "b=\(l),reduction=sum", x, [2, 3], labels: [0, 2])
        #expect(v == l && g.allSatisfy { $0 == 0 })
        let (vs, gs) = try clsEval("flooding", "b=100,reduction=sum", x, [2, 3], labels: [0, 2])
        let (_, gce) = try clsEval("softmax_cross_entropy", "reduction=sum", x, [2, 3], labels: [0, 2])
        #expect(clsNear(vs, 200 - l) && clsNear(gs, gce.map { -$0 }))
    }

    @Test func wrapsOtherLossesAndRefusesWhatItCannotPass() throws {
        let x: [Double] = [2, 1, -1]
        let (f, _) = try clsEval("flooding", "b=0,loss=focal_loss,loss_params=gamma:2;alpha=0.5", x, [1, 3], labels: [0])
        #expect(clsNear(f, 0.5 * 0.030294, 1e-6))
        for bad in ["b=0.1,loss=nope", "b=0.1,loss=sparsemax", "b=0.1,loss=noisy_softmax,loss_params=alpha=0.1",
                    "b=0.1,loss=maxsup", "b=0.1,loss_params=reduction=sum", "b=0.1,reduction=none",
                    "loss=softmax_cross_entropy", "b=0.1,loss_params=label_smoothing=2"] {
            #expect(throws: (any Error).self, "\(bad)") { try Registry.shared.loss("flooding", bad) }
        }
    }

    @Test func perSampleValuesAreTheInnerOnes() throws {
        let l = try Registry.shared.loss("flooding", "b=5")
        let z = NDArray<Double>(shape: [2, 3], [2, 1, -1, 0.5, 0.2, 0.1])
        let ps = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2)
        defer { ps.deallocate() }
        let v = try l.evaluate(z.tensor, target: .index(shape: [2], values: [0, 2]), perSample: ps)
        #expect(clsNear(v, 10 - (ps[0] + ps[1]) / 2) && clsNear(ps[0], 0.349012))
    }
}

@Suite struct HugeLogitsTests {
    /// Every loss of this family gives finite values and gradients at |z| = 1e4, in both dtypes.
    @Test(arguments: [
        ("tsla_label_smoothing", "t1=1"), ("maxsup", ""), ("acls", ""), ("confidence_penalty", ""),
        ("zloss_spherical", "a=1,b=2"), ("logz_penalty", ""), ("noisy_softmax", "alpha=0.1"),
        ("sparsemax_loss", ""), ("entmax15_loss", ""), ("stablemax_cross_entropy", ""), ("focal_loss", ""),
        ("sigmoid_focal_loss", ""), ("flooding", "b=0.1"), ("happy_soft_entropy", "c_old=1"), ("marginal_entropy_max", ""),
    ])
    func finiteAt1e4(_ id: String, _ params: String) throws {
        let x: [Double] = [1e4, 0, -1e4, -1e4, 1e4, 3]
        let inputs: Inputs = id == "noisy_softmax" ? ["r": .real(shape: [2], values: [2e4, 2e4])] : .none
        let (v, g) = try clsEval(id, params, x, [2, 3], labels: [2, 0], inputs: inputs)
        #expect(v.isFinite && g.allSatisfy(\.isFinite), "\(id): \(v) \(g)")
        let (v32, g32) = try clsEval32(id, params, x.map(Float.init), [2, 3], labels: [2, 0], inputs: inputs)
        #expect(v32.isFinite && g32.allSatisfy(\.isFinite), "\(id) float32: \(v32) \(g32)")
    }
}
