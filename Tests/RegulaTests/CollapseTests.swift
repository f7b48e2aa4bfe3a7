// Neural-collapse feature terms and the class sum-of-norms penalty: minima, edge cases.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import Regula
import RegulaEngine

@Suite struct CollapseTests {
    @Test func simplexETFWithCollapsedFeaturesCostsNothing() throws {
        // Three class means 120° apart (a simplex ETF in 2-D), every feature on its mean.
        var h: [Double] = []
        var y: [Int] = []
        for c in 0..<3 {
            let a = 2 * Double.pi * Double(c) / 3
            for _ in 0..<2 { h += [2 * cos(a), 2 * sin(a)]; y.append(c) }
        }
        let (v, g) = try evalPenalty("neural_collapse_features", "alpha=1,beta=1", h, [6, 2], ["labels": .index(shape: [6], values: y)])
        #expect(abs(v) < 1e-12 && g.allSatisfy { abs($0) < 1e-10 })
        // With num_classes = 4 the same three means are not an ETF of 4 classes.
        let (v4, _) = try evalPenalty("neural_collapse_features", "alpha=1,beta=1,num_classes=4", h, [6, 2], ["labels": .index(shape: [6], values: y)])
        #expect(v4 > 0.01)
    }

    @Test func oneClassAndZeroMeansAreSafe() throws {
        let h = randomValues(8, seed: 41)
        let (v, _) = try evalPenalty("neural_collapse_features", "alpha=0,beta=1", h, [4, 2], ["labels": .index(shape: [4], values: [2, 2, 2, 2])])
        #expect(v == 0)   // K = 1: no between-class term
        let zeroMean: [Double] = [1, -1, -1, 1, 0, 1, 0.5, 0.2]   // class 0 has mean (0, 0)
        let (vz, gz) = try evalPenalty("neural_collapse_features", "alpha=1,beta=1", zeroMean, [4, 2], ["labels": .index(shape: [4], values: [0, 0, 1, 2])])
        #expect(vz.isFinite && gz.allSatisfy(\.isFinite))
        #expect(throws: (any Error).self) {
            try evalPenalty("neural_collapse_features", "", h, [4, 2], ["labels": .index(shape: [4], values: [0, -1, 0, 1])])
        }
    }

    @Test func classSumOfNormsBlocks() throws {
        // Rows (0, .5), (0, .2) of class 7 and (.3, .4) of class 2: the (7, column 0) block is zero
        // (subgradient 0); labels need not be contiguous (absent classes are simply not there).
        let t: [Double] = [0, 0.5, 0, 0.2, 0.3, 0.4]
        let y: Inputs = ["labels": .index(shape: [3], values: [7, 7, 2])]
        let (v, g) = try evalPenalty("class_sum_of_norms", "", t, [3, 2], y)
        let r = (0.5 * 0.5 + 0.2 * 0.2).squareRoot()
        #expect(abs(v - (r + 0.3 + 0.4)) < 1e-12)
        #expect(g[0] == 0 && g[2] == 0)
        #expect(abs(g[1] - 0.5 / r) < 1e-12 && abs(g[4] - 1) < 1e-12 && abs(g[5] - 1) < 1e-12)
        // Prox of a threshold above every block norm is 0; step 0 is the identity.
        let zero = try proxPenalty("class_sum_of_norms", "", t, [3, 2], step: 10, y)
        #expect(zero.allSatisfy { $0 == 0 })
        #expect(try proxPenalty("class_sum_of_norms", "", t, [3, 2], step: 0, y) == t)
        #expect(throws: (any Error).self) { try evalPenalty("class_sum_of_norms", "", t, [3, 2], ["labels": .index(shape: [2], values: [0, 1])]) }
    }
}
