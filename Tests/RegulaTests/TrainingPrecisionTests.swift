// Training with float32 linear layers (TrainConfig.precision), and the component graph ops'
// overwriting backward (the graph hands them stale buffers to write instead of cleared ones).

import Testing
import Regula
import RegulaEngine

@Suite struct TrainingPrecisionTests {
    /// The default `regula train` configuration with `--precision f32` reaches 97 % too.
    @Test func float32DigitsRunReaches97Percent() throws {
        let path = String(#filePath.dropLast("Tests/RegulaTests/TrainingPrecisionTests.swift".count)) + "data/digits.csv"
        let (train, test) = try Dataset.loadCSV(path: path).split(testFraction: 0.2, seed: 0)
        var c = TrainConfig()
        c.model = ModelSpec(widths: [512]); c.lr = 3e-3  // the CLI's defaults
        c.precision = .float32
        let r = try Trainer.run(train: train, test: test, config: c)
        #expect(r.test.accuracy >= 0.97, "test accuracy \(r.test.accuracy)")
    }

    /// Overwriting a stale (NaN) buffer gives what adding into a cleared one gives, for the
    /// penalty, loss and map ops; a loss's target slot is cleared.
    @Test func componentOpsOverwriteWhatTheyWouldAdd() throws {
        var rng = RNG(seed: 11)
        let x = NDArray<Double>(shape: [6, 5]); for i in 0..<x.count { x[i] = rng.normal() }
        let labels = NDArray<Double>(shape: [6, 1], [0, 4, 2, 1, 3, 0])
        let ops: [(GraphOp, [Tensor<Double>])] = [
            (PenaltyOp(try Registry.shared.penalty("l2", "strength=0.3")), [x.tensor]),
            (try LossOp(try Registry.shared.loss("softmax_cross_entropy", "label_smoothing=0.1")), [x.tensor, labels.tensor]),
            (try MapOp(try Registry.shared.map("sparsemax")), [x.tensor]),
        ]
        for (op, inputs) in ops {
            let shape = try op.outputShape(inputs.map { NodeShape(rows: .fixed($0.shape[0]), cols: $0.shape[1]) })
            let out = NDArray<Double>(shape: shape.exact ?? [6, 5])
            try op.forward(inputs, into: out.tensor, training: true)
            let seed = NDArray<Double>(shape: out.shape); for i in 0..<seed.count { seed[i] = 0.5 + Double(i % 3) }
            let added = inputs.map { NDArray<Double>(shape: $0.shape) }
            let written = inputs.map { NDArray<Double>(shape: $0.shape, repeating: .nan) }
            try op.backward(inputs, output: out.tensor, outGrad: seed.tensor, into: added.map(\.tensor))
            try op.backward(inputs, output: out.tensor, outGrad: seed.tensor, into: written.map(\.tensor),
                            overwrite: inputs.map { _ in true })
            for (a, w) in zip(added, written) { #expect(a.values == w.values, "\(op.label)") }
        }
    }
}
