// Edge cases and invariants of the maps family: softmax alternatives, attention maps,
// activations and diffusion weightings (the generic checker covers values and VJPs).

import Testing
import Regula
import RegulaEngine

/// forward of a registered map on a row-major array.
func mapsForward(_ id: String, _ params: String, _ x: [Double], _ shape: [Int], _ inputs: Inputs = .none) throws -> [Double] {
    let m = try Registry.shared.map(id, params)
    let a = NDArray<Double>(shape: shape, x), y = NDArray<Double>(shape: shape)
    try m.forward(a.tensor, inputs, into: y.tensor)
    return y.values
}

func mapsVJP(_ id: String, _ params: String, _ x: [Double], _ shape: [Int], _ u: [Double], _ inputs: Inputs = .none) throws -> [Double] {
    let m = try Registry.shared.map(id, params)
    let a = NDArray<Double>(shape: shape, x), c = NDArray<Double>(shape: shape, u), g = NDArray<Double>(shape: shape)
    try m.vjp(a.tensor, cotangent: c.tensor, inputs, into: g.tensor)
    return g.values
}

func mapsForward(_ id: String, _ x: [Double], _ shape: [Int], _ inputs: Inputs = .none) throws -> [Double] {
    try mapsForward(id, "", x, shape, inputs)
}

func mapsVJP(_ id: String, _ x: [Double], _ shape: [Int], _ u: [Double], _ inputs: Inputs = .none) throws -> [Double] {
    try mapsVJP(id, "", x, shape, u, inputs)
}

func mapsNear(_ a: [Double], _ b: [Double], _ tol: Double = 1e-9) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * Swift.max(1, abs($1)) }
}

@Suite struct SoftmaxesTests {
    @Test func entmaxRowsAreDistributionsAndTiesAreUniform() throws {
        var rng = RNG(seed: 11)
        let x = (0..<40).map { _ in 4 * rng.normal() }
        let y = try mapsForward("entmax15", x, [8, 5])
        for r in 0..<8 { #expect(abs(y[(r * 5)..<(r * 5 + 5)].reduce(0, +) - 1) < 1e-12) }
        #expect(mapsNear(try mapsForward("entmax15", [3, 3, 3, 3], [4]), [0.25, 0.25, 0.25, 0.25]))
        #expect(try mapsForward("entmax15", [7], [1]) == [1])
    }

    @Test func entmaxFloat32AtLargeLogits() throws {
        let m = try Registry.shared.map("entmax15")
        let x = NDArray<Float>(shape: [1, 3], [1e4, 0, -1e4]), y = NDArray<Float>(shape: [1, 3])
        try m.forward(x.tensor, into: y.tensor)
        #expect(y.values == [1, 0, 0])
    }

    @Test func topkTiesGoToLowestIndexAndKIsRequired() throws {
        let y = try mapsForward("sparse_softmax_topk", "k=2", [1, 1, 1], [3])
        #expect(mapsNear(y, [0.5, 0.5, 0]))
        #expect(mapsNear(try mapsForward("sparse_softmax_topk", "k=10", [2, 1, -1], [3]), [0.705385, 0.259496, 0.035119], 1e-5))
        #expect(throws: (any Error).self) { try Registry.shared.map("sparse_softmax_topk") }
        // VJP is zero off the support
        let g = try mapsVJP("sparse_softmax_topk", "k=1", [0.3, 2, -1], [3], [1, 2, 3])
        #expect(g == [0, 0, 0])
    }

    @Test func stablemaxFloat32HasNoNaNAtOne() throws {
        let m = try Registry.shared.map("stablemax")
        let x = NDArray<Float>(shape: [3], [1, 0, -1]), c = NDArray<Float>(shape: [3], [1, -1, 0.5])
        let g = NDArray<Float>(shape: [3])
        try m.vjp(x.tensor, cotangent: c.tensor, into: g.tensor)
        #expect(g.values.allSatisfy { $0.isFinite })
        // not shift-invariant: adding a constant changes the output
        #expect(!mapsNear(try mapsForward("stablemax", [2, 1, -1], [3]), try mapsForward("stablemax", [3, 2, 0], [3]), 1e-3))
    }

    @Test func softpickMaskedEqualsDroppedAndBroadcasts() throws {
        let x: [Double] = [1.3, -0.2, 0.7, 2.1]
        let masked = try mapsForward("softpick", x, [4], ["mask": .real(shape: [4], values: [1, 1, 0, 1])])
        let dropped = try mapsForward("softpick", [1.3, -0.2, 2.1], [3])
        #expect(mapsNear([masked[0], masked[1], masked[3]], dropped))
        #expect(masked[2] == 0)
        // a causal (T, T) mask applied to a batch (2, T, T)
        var rng = RNG(seed: 2)
        let xs = (0..<18).map { _ in rng.normal() }
        let causal: [Double] = [1, 0, 0, 1, 1, 0, 1, 1, 1]
        let y = try mapsForward("softpick", xs, [2, 3, 3], ["mask": .real(shape: [3, 3], values: causal)])
        for b in 0..<2 { for i in 0..<9 where causal[i] == 0 { #expect(y[b * 9 + i] == 0) } }
        for r in 0..<6 { #expect(y[(r * 3)..<(r * 3 + 3)].reduce(0, +) <= 1) }
        for i in 0..<18 where xs[i] <= 0 { #expect(y[i] == 0) }
        #expect(throws: (any Error).self) {
            try mapsForward("softpick", xs, [2, 3, 3], ["mask": .real(shape: [2, 3], values: [1, 1, 1, 1, 1, 1])])
        }
    }

    @Test func gumbelNoiseIsAFunctionOfSeedAndStep() throws {
        let m = try Registry.shared.map("gumbel_softmax", "seed=7")
        let x = NDArray<Double>(shape: [2, 4], [0.5, 0.1, -0.3, 1, 0, 0, 0, 0])
        func run() throws -> [Double] { let y = NDArray<Double>(shape: [2, 4]); try m.forward(x.tensor, into: y.tensor); return y.values }
        let a = try run(), b = try run()
        #expect(a == b)
        try m.update("step=1")
        let c = try run()
        #expect(a != c)
        try m.update("step=0")
        #expect(try run() == a)
        #expect(throws: (any Error).self) { try m.update("step=-1") }
        #expect(throws: (any Error).self) { try m.update("epoch=1") }
    }

    @Test func gumbelHardFrequenciesFollowSoftmax() throws {
        let m = try Registry.shared.map("gumbel_softmax", "hard=true,seed=3")
        let x = NDArray<Double>(shape: [1, 3], [1, 0, -1]), y = NDArray<Double>(shape: [1, 3])
        var counts = [0.0, 0, 0]
        let n = 6000
        for s in 0..<n {
            try m.update("step=\(s)")
            try m.forward(x.tensor, into: y.tensor)
            #expect(y.values.reduce(0, +) == 1)
            for j in 0..<3 { counts[j] += y[j] }
        }
        let p = [0.665241, 0.244728, 0.090031]  // softmax([1, 0, −1]): Gumbel-max sampling law
        for j in 0..<3 { #expect(abs(counts[j] / Double(n) - p[j]) < 0.025, "class \(j): \(counts[j] / Double(n))") }
        // straight-through: the hard VJP is the soft one
        let g: Inputs = ["gumbel": .real(shape: [1, 3], values: [0.2, -0.1, 0.4])]
        let hard = try mapsVJP("gumbel_softmax", "hard=true,tau=0.5", [1, 0, -1], [1, 3], [1, 2, -1], g)
        let soft = try mapsVJP("gumbel_softmax", "tau=0.5", [1, 0, -1], [1, 3], [1, 2, -1], g)
        #expect(hard == soft)
    }
}

@Suite struct AttentionMapsTests {
    @Test func wcdasDomainAndSaturatedConcentration() throws {
        #expect(throws: (any Error).self) { try mapsForward("wcdas", [1.5, 0], [2]) }
        let y = try mapsForward("wcdas", "g=40", [1, -1], [2])  // ρ clamped below 1: finite at c = 1
        #expect(y.allSatisfy { $0.isFinite && $0 > 0 })
        #expect(throws: (any Error).self) {
            _ = try Registry.shared.map("wcdas", data: ["g_per_class": .real(shape: [2], values: [0, 1])])
                .forward(NDArray<Double>(shape: [3]).tensor, into: NDArray<Double>(shape: [3]).tensor)
        }
        // per-class concentrations: column k uses g_k
        let m = try Registry.shared.map("wcdas", data: ["g_per_class": .real(shape: [2], values: [0, 1])])
        let out = NDArray<Double>(shape: [2])
        try m.forward(NDArray<Double>(shape: [2], [0.3, 0.3]).tensor, into: out.tensor)
        #expect(mapsNear([out[1]], try mapsForward("wcdas", "g=1", [0.3], [1])))
    }

    @Test func idwRejectsNegativeDistancesAndRowsSumToOne() throws {
        #expect(throws: (any Error).self) { try mapsForward("idw_attention", [0.5, -0.1], [2]) }
        let y = try mapsForward("idw_attention", "p=1", [0, 0.3, 2, 5], [2, 2])
        #expect(abs(y[0] + y[1] - 1) < 1e-12 && abs(y[2] + y[3] - 1) < 1e-12)
    }
}

@Suite struct ActivationsTests {
    @Test func clippedActivationsAreSparseAndBounded() throws {
        var rng = RNG(seed: 9)
        let x = (0..<200).map { _ in 2 * rng.normal() }
        let c = try mapsForward("crelu_clipped", "tau=0.5,m=1.5", x, [200])
        let s = try mapsForward("cst_clipped", "tau=0.5,m=1.5", x, [200])
        for i in 0..<200 {
            #expect(c[i] >= 0 && c[i] <= 1.5)
            #expect(abs(s[i]) <= 1.5 && (s[i] == 0 || (s[i] > 0) == (x[i] > 0)))
            if abs(x[i]) <= 0.5 { #expect(s[i] == 0) }
        }
        // derivative 0 at the kinks and beyond the clip
        #expect(try mapsVJP("crelu_clipped", [1, 2, 2.5], [3], [1, 1, 1]) == [0, 0, 0])
    }

    @Test func ashKeepsTheTopOfEachRowAndHandlesConstantRows() throws {
        var rng = RNG(seed: 5)
        let x = (0..<1000).map { _ in rng.normal() }
        let y = try mapsForward("hard_ash", x, [1000])
        // nonzero exactly where x > max(0, t − 3/α), t = μ + z_k σ (hardsigmoid opens at u = −3)
        let mu = x.reduce(0, +) / 1000
        let sd = (x.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 1000).squareRoot()
        let open = Swift.max(0, mu + 2.3 * sd - 1)
        for i in 0..<1000 { #expect((y[i] != 0) == (x[i] > open), "x = \(x[i])") }
        #expect(y.filter { $0 != 0 }.count < 150)
        let flat = try mapsVJP("ash", [0.7, 0.7, 0.7], [3], [1, 1, 1])
        #expect(flat.allSatisfy { $0.isFinite })
        #expect(try mapsForward("hard_ash", [2, 2, 2], [3]).allSatisfy { $0.isFinite })
    }

    @Test func logSaturationIsLog1pOfRelu() throws {
        #expect(mapsNear(try mapsForward("log_saturation", [1e-12, -3, 1e300], [3]), [1e-12, 0, 690.7755278982137]))
    }
}

@Suite struct WeightingTests {
    @Test func snrDomain() throws {
        #expect(throws: (any Error).self) { try mapsForward("p2_weight", [-1], [1]) }
        #expect(throws: (any Error).self) { try mapsForward("debias_weight", [-0.5], [1]) }
        #expect(try mapsForward("p2_weight", "gamma=0", [0, 5], [2]) == [1, 1])
        #expect(try mapsForward("debias_weight", "snr_floor=0.01", [0], [1]) == [10])
    }
}
