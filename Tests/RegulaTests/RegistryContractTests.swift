// The one generic test: every registered component (built-in or plugin) passes the checker.

import Testing
import Regula

@Suite struct RegistryContractTests {
    @Test(arguments: Registry.shared.ids())
    func componentPassesEveryCheck(_ id: String) {
        let results = Checker().run(id)
        #expect(!results.isEmpty)
        for r in results where !r.passed {
            Issue.record("\(id): \(r.name): \(r.detail)")
        }
    }

    @Test func declaredCapabilitiesMatchImplementations() throws {
        for id in Registry.shared.ids() {
            let e = try Registry.shared.entry(id)
            if e.info.kind == .penalty, e.check.data.isEmpty || true {
                guard let p = try? Registry.shared.penalty(id, e.check.params, data: e.check.data) else { continue }
                #expect(p.hasProx == e.info.hasProx, "\(id): hasProx")
            }
        }
    }

    @Test func unknownIdsAndParametersAreErrors() {
        #expect(throws: RegulaError.unknownComponent("nope")) { try Registry.shared.penalty("nope") }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("l1", "strength=-1") }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("l1", "q=0.5") }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("l1", "strength") }
        #expect(throws: (any Error).self) { try Registry.shared.loss("l1") }
    }

    @Test func firstComponentsAreRegistered() {
        let ids = Set(Registry.shared.ids())
        for id in ["l2", "l1", "elastic_net", "group_lasso", "soft_orthogonality", "norm_loss",
                   "softmax_cross_entropy", "sparsemax"] {
            #expect(ids.contains(id), "\(id) missing")
        }
    }
}
