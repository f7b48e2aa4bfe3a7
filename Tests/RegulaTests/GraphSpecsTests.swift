// Graph nodes from text specs: initializers, noise layers, activations and component ops parse
// to the right engine values and refuse unknown names, parameters and input names.

import Testing
import Regula
import RegulaEngine

@Suite struct GraphSpecsTests {
    @Test func initializersParseWithDefaultsAndRefuseUnknowns() throws {
        #expect(try GraphSpecs.initializer("zeros") == .zeros)
        #expect(try GraphSpecs.initializer("constant:value=1.5") == .constant(1.5))
        #expect(try GraphSpecs.initializer("normal") == .normal(std: 0.02))
        #expect(try GraphSpecs.initializer("uniform:bound=0.3") == .uniform(bound: 0.3))
        #expect(try GraphSpecs.initializer("xavier_uniform") == .xavierUniform)
        #expect(throws: RegulaError.invalidParameter(name: "init", value: "gaussian",
                                                     reason: "must be one of zeros, constant, normal, uniform, kaiming_normal, kaiming_uniform, xavier_normal, xavier_uniform")) {
            try GraphSpecs.initializer("gaussian")
        }
        #expect(throws: RegulaError.unknownParameter(component: "normal", name: "mean", known: ["std"])) {
            try GraphSpecs.initializer("normal:mean=0")
        }
        #expect(throws: RegulaError.self) { try GraphSpecs.initializer("normal:std=-1") }
        #expect(throws: RegulaError.self) { try GraphSpecs.initializer("kaiming_normal:gain=2") }
    }

    @Test func noiseLayersParse() throws {
        #expect(try GraphSpecs.noise("dropout:p=0.25") == .dropout(p: 0.25))
        #expect(try GraphSpecs.noise("gaussian_noise") == .gaussianNoise(sigma: 0.1))
        #expect(try GraphSpecs.noise("quant_noise:bits=4,uniform_noise=true") == .quantNoise(bits: 4, uniformNoise: true))
        #expect(throws: RegulaError.self) { try GraphSpecs.noise("dropout:p=1") }
        #expect(throws: RegulaError.self) { try GraphSpecs.noise("quant_noise:bits=30") }
    }

    @Test func activationsAreBuiltinsOrRegisteredMaps() throws {
        guard case .builtin(.gelu) = try GraphSpecs.activation("gelu") else { Issue.record("gelu is the engine's"); return }
        guard case .map(let op) = try GraphSpecs.activation("entmax15") else { Issue.record("entmax15 is a map"); return }
        #expect(op.label == "entmax15")
        #expect(throws: RegulaError.unknownComponent("nope")) { try GraphSpecs.activation("nope") }
        #expect(throws: RegulaError.self) { try GraphSpecs.activation("relu:alpha=1") }
        #expect(throws: RegulaError.self) { try GraphSpecs.activation("l1") }  // a penalty
    }

    @Test func componentOpsCheckKindsCountsAndInputNames() throws {
        #expect(try GraphSpecs.op("softmax_cross_entropy:label_smoothing=0.1", inputs: 2, inputNames: []) is LossOp)
        #expect(try GraphSpecs.op("sparsemax", inputs: 1, inputNames: []) is MapOp)
        let p = try GraphSpecs.op("neural_collapse_features", inputs: 2, inputNames: ["labels"])
        #expect((p as? PenaltyOp)?.inputNames == ["labels"])
        #expect(throws: RegulaError.self) { try GraphSpecs.op("softmax_cross_entropy", inputs: 1, inputNames: []) }
        #expect(throws: RegulaError.self) { try GraphSpecs.op("softmax_cross_entropy", inputs: 2, inputNames: ["labels"]) }
        #expect(throws: RegulaError.self) { try GraphSpecs.op("neural_collapse_features", inputs: 1, inputNames: []) }
        #expect(throws: RegulaError.unknownParameter(component: "neural_collapse_features", name: "colors", known: ["labels"])) {
            try GraphSpecs.op("neural_collapse_features", inputs: 2, inputNames: ["colors"])
        }
        #expect(throws: RegulaError.unknownComponent("nope")) { try GraphSpecs.op("nope", inputs: 1, inputNames: []) }
        #expect(throws: RegulaError.self) { try GraphSpecs.op("sam", inputs: 1, inputNames: []) }
    }
}
