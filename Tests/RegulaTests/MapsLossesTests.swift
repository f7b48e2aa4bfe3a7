// Edge cases and invariants of the distillation, quantile, ranking, label-proportion and
// self-target losses (the generic checker covers worked values and gradients).

import Testing
import Regula
import RegulaEngine

/// (value, gradient, per-sample) of a loss instance.
func mapsLossEval(_ l: LossInstance, _ z: [Double], _ shape: [Int], target: InputArray?, _ inputs: Inputs = .none)
    throws -> (Double, [Double], [Double]) {
    let x = NDArray<Double>(shape: shape, z), g = NDArray<Double>(shape: shape)
    let rows = x.tensor.lastAxis.rows
    let ps = UnsafeMutableBufferPointer<Double>.allocate(capacity: Swift.max(rows, 1)); defer { ps.deallocate() }
    let v = try l.evaluate(x.tensor, target: target, inputs,
                           perSample: UnsafeMutableBufferPointer(start: ps.baseAddress, count: rows), into: g.tensor)
    return (v, g.values, Array(ps.prefix(rows)))
}

func mapsLabels(_ v: [Int]) -> InputArray { .index(shape: [v.count], values: v) }

@Suite struct DistillationTests {
    @Test func kdIsZeroWhenStudentEqualsTeacher() throws {
        let l = try Registry.shared.loss("kd_kl", "T=2")
        let z: [Double] = [0.3, -1, 2, 0.5, 0.5, 0.5]
        let (v, g, _) = try mapsLossEval(l, z, [2, 3], target: .real(shape: [2, 3], values: z))
        #expect(abs(v) < 1e-14)
        #expect(g.allSatisfy { abs($0) < 1e-14 })
        #expect(throws: (any Error).self) {
            try mapsLossEval(try Registry.shared.loss("kd_kl", "alpha_kd=0.5"), z, [2, 3], target: .real(shape: [2, 3], values: z))
        }
        #expect(throws: (any Error).self) { try mapsLossEval(l, z, [2, 3], target: mapsLabels([0, 1])) }
    }

    @Test func ktSelChecksTeacherProbabilities() throws {
        let l = try Registry.shared.loss("kt_sel")
        #expect(throws: (any Error).self) {
            try mapsLossEval(l, [2, 1, -1], [1, 3], target: mapsLabels([0]), ["teacher_prob": .real(shape: [1], values: [0])])
        }
        // zero loss where the student's log-probability equals the teacher's
        let (v, g, _) = try mapsLossEval(l, [2, 1, -1], [1, 3], target: mapsLabels([1]),
                                     ["teacher_prob": .real(shape: [1], values: [0.259496])])
        #expect(abs(v) < 1e-10 && g.allSatisfy { abs($0) < 1e-5 })
    }
}

@Suite struct QuantileTests {
    @Test func pinballReductionsAndTies() throws {
        let l = try Registry.shared.loss("pinball", "tau=0.9,reduction=none")
        let (v, g, per) = try mapsLossEval(l, [0.4, 1.5, 1], [3, 1], target: .real(shape: [3, 1], values: [1, 1, 1]))
        #expect(mapsNear(per, [0.54, 0.05, 0]))
        #expect(abs(v - 0.59) < 1e-12)
        #expect(mapsNear(g, [-0.9, 0.1, 0]))
        #expect(throws: (any Error).self) { try Registry.shared.loss("pinball", "tau=1") }
        #expect(throws: (any Error).self) {
            try Registry.shared.loss("pinball", data: ["taus": .real(shape: [2], values: [0.5, 1.2])])
        }
    }
}

@Suite struct LRQRTests {
    @Test func contributionsSumToTheObjectiveAndDomainsAreChecked() throws {
        let l = try Registry.shared.loss("lr_qr", "lam=0.8,alpha=0.2")
        let h: [Double] = [0.3, 0.9, 0.4, 0.6, 0.2, 0.5, 0.7]
        let dom: Inputs = ["domain": .index(shape: [7], values: [1, 1, 2, 3, 2, 3, 1])]
        let s: InputArray = .real(shape: [7, 1], values: [0.5, 0.2, 0, 0, 0, 0, 0.7])
        let (v, g, per) = try mapsLossEval(l, h, [7, 1], target: s, dom)
        #expect(abs(per.reduce(0, +) - v) < 1e-12)
        // the tie h = S (last point) has subgradient 0
        #expect(g[6] == 0)
        #expect(throws: (any Error).self) {
            try mapsLossEval(l, h, [7, 1], target: s, ["domain": .index(shape: [7], values: [1, 1, 2, 2, 2, 4, 1])])
        }
        #expect(throws: (any Error).self) {  // no unlabelled source point
            try mapsLossEval(l, h, [7, 1], target: s, ["domain": .index(shape: [7], values: [1, 1, 2, 2, 2, 2, 1])])
        }
        #expect(throws: (any Error).self) {  // h = 0 on domain 3 with Ê₂[h] ≠ 0: unbounded below
            try mapsLossEval(l, [0.3, 1, 0], [3], target: .real(shape: [3], values: [0, 0, 0]),
                         ["domain": .index(shape: [3], values: [1, 2, 3])])
        }
    }
}

@Suite struct RankingTests {
    @Test func pslOutOfDomainRowIsMinusInfinityWithZeroGradient() throws {
        let l = try Registry.shared.loss("pairwise_softmax_loss", "activation=relu")
        let (v, g, _) = try mapsLossEval(l, [2, 1, -1], [1, 3], target: mapsLabels([0]))
        #expect(v == -.infinity)
        #expect(g == [0, 0, 0])
        let atan = try Registry.shared.loss("pairwise_softmax_loss", "activation=atan")
        let (va, ga, _) = try mapsLossEval(atan, [2, 1, -1], [1, 3], target: mapsLabels([0]))  // d = [−1, −3]: only d = −1 in domain
        #expect(va.isFinite && ga.allSatisfy { $0.isFinite })
        // huge gaps stay finite in the tanh form
        let (vt, gt, _) = try mapsLossEval(try Registry.shared.loss("pairwise_softmax_loss"), [-1e4, 0, 1e4], [1, 3], target: mapsLabels([0]))
        #expect(vt.isFinite && gt.allSatisfy { $0.isFinite })
    }

    @Test func pslMethodTwoIsBatchCoupledAndNeedsTwoColumns() throws {
        #expect(throws: (any Error).self) {
            try mapsLossEval(try Registry.shared.loss("pairwise_softmax_loss", "method=2,reduction=sum"), [1, 0], [1, 2], target: mapsLabels([0]))
        }
        #expect(throws: (any Error).self) {
            try mapsLossEval(try Registry.shared.loss("pairwise_softmax_loss"), [1, 0], [2, 1], target: mapsLabels([0, 0]))
        }
        // method 2 gradient sums to zero per row (shift invariance of the scores within a row)
        let (_, g, _) = try mapsLossEval(try Registry.shared.loss("pairwise_softmax_loss", "method=2"),
                                     [0.3, -0.2, 0.9, 0.1, 0.4, -0.5], [2, 3], target: mapsLabels([0, 2]))
        #expect(abs(g[0] + g[1] + g[2]) < 1e-12 && abs(g[3] + g[4] + g[5]) < 1e-12)
    }
}

@Suite struct LabelProportionTests {
    @Test func easyllpGradientRowsSumToZeroAndBagSizeIsNeeded() throws {
        let prior: [String: InputArray] = ["prior": .real(shape: [3], values: [0.4, 0.4, 0.2])]
        let l = try Registry.shared.loss("easyllp", "k=3", data: prior)
        let a: InputArray = .real(shape: [2, 3], values: [0.5, 0.25, 0.25, 0, 1, 0])
        let (_, g, _) = try mapsLossEval(l, [0.2, -1, 3, 1, 1, 1], [2, 3], target: a)
        #expect(abs(g[0] + g[1] + g[2]) < 1e-12 && abs(g[3] + g[4] + g[5]) < 1e-12)
        let noK = try Registry.shared.loss("easyllp", data: prior)
        #expect(throws: (any Error).self) { try mapsLossEval(noK, [0, 0, 0], [1, 3], target: .real(shape: [1, 3], values: [1, 0, 0])) }
        // k = 1 and α = one-hot: plain cross-entropy
        let (v, _, _) = try mapsLossEval(try Registry.shared.loss("easyllp", "k=1", data: prior), [2, 1, -1], [1, 3],
                                     target: .real(shape: [1, 3], values: [1, 0, 0]))
        #expect(abs(v - 0.349012) < 1e-6)
        #expect(throws: (any Error).self) { try Registry.shared.loss("easyllp", "k=2") }
    }
}

@Suite struct SelfTargetsTests {
    let z: [Double] = [2, 1, -1]

    @Test func pskdCommitsPredictionsAtTheEpochChange() throws {
        let l = try Registry.shared.loss("pskd_target", "T_end=4")
        let ids: Inputs = ["ids": .index(shape: [1], values: [5])]
        let (v0, _, _) = try mapsLossEval(l, z, [1, 3], target: mapsLabels([0]), ids)
        #expect(abs(v0 - 0.349012) < 1e-6)  // epoch 0: one-hot target
        // same epoch again: identical (nothing committed yet)
        try l.update("epoch=0")
        #expect(try mapsLossEval(l, z, [1, 3], target: mapsLabels([0]), ids).0 == v0)
        try l.update("epoch=1")  // commits p = softmax(z) for id 5; α = 0.8·2/4 = 0.4
        let (v1, g1, _) = try mapsLossEval(l, z, [1, 3], target: mapsLabels([0]), ids)
        let p = [0.705385, 0.259496, 0.035119]
        let t = [0.6 + 0.4 * p[0], 0.4 * p[1], 0.4 * p[2]]
        let lse = 2.349012
        let want = t[0] * (lse - 2) + t[1] * (lse - 1) + t[2] * (lse + 1)
        #expect(abs(v1 - want) < 1e-5)
        #expect(mapsNear(g1, [p[0] - t[0], p[1] - t[1], p[2] - t[2]], 1e-5))
        // an id never seen uses its label
        let (vNew, _, _) = try mapsLossEval(l, z, [1, 3], target: mapsLabels([0]), ["ids": .index(shape: [1], values: [9])])
        #expect(abs(vNew - 0.349012) < 1e-6)
        #expect(throws: (any Error).self) { try mapsLossEval(l, z, [1, 3], target: mapsLabels([0])) }  // ids missing
    }

    @Test func elrMemoryMovesEveryStep() throws {
        let l = try Registry.shared.loss("elr")
        let ids: Inputs = ["ids": .index(shape: [1], values: [0])]
        let (v1, _, _) = try mapsLossEval(l, z, [1, 3], target: mapsLabels([0]), ids)
        #expect(abs(v1 - -0.209404) < 1e-6)
        let (v2, _, _) = try mapsLossEval(l, z, [1, 3], target: mapsLabels([0]), ids)
        // second identical step: reg = −0.340704 (catalogue), CE unchanged
        #expect(abs(v2 - (0.349012 + 3 * -0.340704)) < 1e-5)
    }

    @Test func elrDuplicateIdsShareTheLastUpdate() throws {
        let l = try Registry.shared.loss("elr", "reduction=none")
        let ids: Inputs = ["ids": .index(shape: [2], values: [3, 3])]
        let (_, _, per) = try mapsLossEval(l, [2, 1, -1, -1, 0, 3], [2, 3], target: mapsLabels([0, 2]), ids)
        // both rows see T = 0.3·p̂(row 2) (the last assignment wins)
        let l2 = try Registry.shared.loss("elr", "reduction=none")
        let (_, _, single) = try mapsLossEval(l2, [-1, 0, 3], [1, 3], target: mapsLabels([2]), ["ids": .index(shape: [1], values: [3])])
        #expect(abs(per[1] - single[0]) < 1e-12)
    }
}
