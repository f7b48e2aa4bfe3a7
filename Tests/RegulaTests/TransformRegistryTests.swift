// The training transforms in the registry: listed and described as kind `transform`, refused
// by the component constructors, and checked (the checks can fail).

import Testing
import Regula

@Suite struct TransformRegistryTests {
    @Test func everyCatalogTransformIsListedOnce() throws {
        let listed = Set(Registry.shared.ids(kind: .transform))
        for t in TransformCatalog.all where t.id != "flooding" {
            #expect(listed.contains(t.id), "\(t.id) missing")
            let info = try Registry.shared.info(t.id)
            #expect(info.family == t.kind.rawValue && info.params.map(\.name) == t.params.map(\.name))
        }
        // flooding names the loss wrapper as well; the registry keeps the loss.
        #expect(try Registry.shared.info("flooding").kind == .loss)
        #expect(!listed.contains("softmax_cross_entropy"))
    }

    @Test func describeSaysTransform() throws {
        let json = try Registry.shared.info("perp_grad").json
        #expect(json.contains("\"kind\":\"transform\"") && json.contains("\"family\":\"grad_transform\""))
        #expect(Registry.shared.markdownCatalogue().contains("## transform"))
    }

    @Test func componentConstructorsRefuseTransforms() {
        #expect(throws: RegulaError.self) { try Registry.shared.penalty("sam") }
        #expect(throws: RegulaError.self) { try Registry.shared.loss("mixup") }
        #expect(throws: RegulaError.self) { try Registry.shared.map("perp_grad") }
    }

    @Test func checksFailForATransformTheOptimizerCannotBuild() throws {
        let r = Registry()
        let info = ComponentInfo(id: "not_in_catalog", kind: .transform, family: "grad_transform", summary: "",
                                 formula: "", reference: "")
        try r.register([Entry(info: info) { _ in throw RegulaError.unsupported("transform") }])
        let failed = Checker(registry: r).run("not_in_catalog").filter { !$0.passed }.map(\.name)
        #expect(failed.contains("builds with its defaults") && failed.contains("one optimizer step"))
    }
}
