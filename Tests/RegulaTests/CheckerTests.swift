// The checker must be able to fail: a penalty with a wrong gradient or prox is caught.

import Testing
import Regula
import RegulaEngine

struct WrongGradient: ElementwisePenalty {
    func phi(_ x: Double) -> (Double, Double) { (x * x, x) }  // φ' should be 2x
}

struct WrongProx: ElementwiseProximal {
    func phi(_ x: Double) -> (Double, Double) { (abs(x), x > 0 ? 1 : (x < 0 ? -1 : 0)) }
    func proxScalar(_ v: Double, t: Double) -> Double { v / (1 + t) }  // not the soft threshold
}

@Suite struct CheckerTests {
    func registry(_ entries: [Entry]) throws -> Registry {
        let r = Registry()
        try r.register(entries)
        return r
    }

    @Test func catchesAWrongGradient() throws {
        let r = try registry([.penalty("wrong_grad", family: "test", summary: "", formula: "", reference: "",
                                       strength: 1) { _ in WrongGradient() }])
        let failed = Checker(registry: r).run("wrong_grad").filter { !$0.passed }
        #expect(failed.contains { $0.name.hasPrefix("gradient") })
    }

    @Test func catchesAWrongProx() throws {
        let r = try registry([.penalty("wrong_prox", family: "test", summary: "", formula: "", reference: "",
                                       strength: 1, prox: true) { _ in WrongProx() }])
        let failed = Checker(registry: r).run("wrong_prox").filter { !$0.passed }
        #expect(failed.contains { $0.name.hasPrefix("prox optimality") })
    }

    @Test func catchesAWrongWorkedValue() throws {
        let r = try registry([.penalty("l1_bad_example", family: "test", summary: "", formula: "", reference: "",
                                       strength: 1, examples: [WorkedExample(x: [1, -2], shape: [2], value: 4)]) { _ in L1() }])
        let failed = Checker(registry: r).run("l1_bad_example").filter { !$0.passed }
        #expect(failed.contains { $0.name.hasPrefix("worked example") })
    }

    @Test func duplicateIdsAreRefusedAllOrNothing() throws {
        let r = Registry()
        let e = Entry.penalty("dup", family: "t", summary: "", formula: "", reference: "", strength: 1) { _ in L1() }
        let f = Entry.penalty("fresh", family: "t", summary: "", formula: "", reference: "", strength: 1) { _ in L1() }
        try r.register([e])
        #expect(throws: (any Error).self) { try r.register([f, e]) }
        #expect(r.ids() == ["dup"])
    }
}
