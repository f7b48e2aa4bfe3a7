// Regula from Swift: the registry, a graph built by hand and trained with a stepper, and a
// TrainingSession (step, evaluate, predict, save, load, fit), on the bundled digits.
//
//     swift run regula-example [data/digits.csv] [epochs] [min_accuracy]   (exit 1 below it)

#if canImport(Glibc)
import Glibc
#endif
import Regula
import RegulaEngine

let args = CommandLine.arguments
let path = args.count > 1 ? args[1] : "data/digits.csv"
let epochs = args.count > 2 ? Int(args[2]) ?? 15 : 15
let minAccuracy = args.count > 3 ? Double(args[3]) ?? 0.9 : 0.9

func fail(_ message: String) -> Never {
    fputs(message + "\n", stderr)
    exit(1)
}

do {
    // 1. The registry: what is there, and what one component says about itself.
    let registry = Registry.shared
    let counts = Kind.allCases.map { "\(registry.ids(kind: $0).count) \($0.rawValue)" }
    print("registry: " + counts.joined(separator: ", "))
    let info = try registry.info("stablemax_cross_entropy")
    print("\(info.id): \(info.summary)\n  formula: \(info.formula)\n  reference: \(info.reference)")

    // 2. A graph by hand: 64-96-10 MLP, the registry's loss and penalty as nodes (their backward
    //    is the component's exact gradient), an optimizer with transforms from text specs.
    let data = try Dataset.loadCSV(path: path)
    let (rawTrain, rawTest) = try data.split(testFraction: 0.2, seed: 1)
    let scale = [Double](repeating: 16, count: data.features), zero = [Double](repeating: 0, count: data.features)
    let train = rawTrain.standardized(mean: zero, scale: scale), test = rawTest.standardized(mean: zero, scale: scale)

    let g = Graph(seed: 7)
    let x = g.input(cols: train.features), y = g.input(cols: 1)
    let w1 = g.parameter("layer0.weight", shape: [96, train.features], .kaimingNormal)
    let b1 = g.parameter("layer0.bias", shape: [96], .zeros)
    let w2 = g.parameter("output.weight", shape: [train.classes, 96], .kaimingNormal)
    let b2 = g.parameter("output.bias", shape: [train.classes], .zeros)
    let hidden = g.activation(try g.linear(x, w1, b1), .relu)
    let logits = try g.linear(hidden, w2, b2)
    let loss = try g.custom(LossOp(try registry.loss("softmax_cross_entropy", "label_smoothing=0.1")), [logits, y])
    try g.minimize(loss)
    for w in [w1, w2] { try g.minimize(try g.custom(PenaltyOp(try registry.penalty("l2", "strength=1e-4")), [w])) }

    let perEpoch = (train.count + 31) / 32
    let stepper = try OptimizerFactory.make(optimizer: "adam", params: "lr=0.003,schedule=cosine,total_steps=\(epochs * perEpoch)",
                                            transforms: ["clip_global_norm:max_norm=5", "prox_step:penalty=l1,strength=1e-4"],
                                            slots: g.parameters)
    func accuracy(_ d: Dataset) throws -> Double {
        g.training = false
        defer { g.training = true }
        try g.feed([x: d.x, y: d.y.map(Double.init)])
        try g.forward()
        let z = g.value(logits)
        return ClassificationMetrics(logits: Array(z.buffer), labels: d.y, classes: d.classes).accuracy
    }
    var rng = RNG(seed: 3)
    var order = Array(0..<train.count)
    print("graph: MLP \(train.features)-96-\(train.classes), softmax_cross_entropy(label_smoothing=0.1) + l2(1e-4), "
          + "Adam 3e-3 cosine, clip_global_norm 5, prox_step(l1, 1e-4); \(epochs) epochs")
    var graphAccuracy = 0.0
    for epoch in 1...epochs {
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        var total = 0.0
        for start in stride(from: 0, to: order.count, by: 32) {
            let rows = order[start..<min(start + 32, order.count)]
            var bx: [Double] = [], by: [Double] = []
            for r in rows { bx += train.x[r * train.features..<(r + 1) * train.features]; by.append(Double(train.y[r])) }
            try g.feed([x: bx, y: by])
            total += try stepper.step { try g.valueAndGradient() } * Double(rows.count)
        }
        graphAccuracy = try accuracy(test)
        print("  epoch \(epoch): objective \(String(total / Double(train.count)).prefix(6))  test accuracy \(String(graphAccuracy).prefix(6))")
    }

    // 3. The same kind of model as a TrainingSession: one spec string (or a TrainConfig) builds the
    //    model, loss, penalties (by parameter-name pattern), transforms and optimizer; you step it
    //    on your batches, evaluate, predict, save and load.
    let spec = """
        widths=96;loss=softmax_cross_entropy:label_smoothing=0.1;penalty=l2=1e-4@layer*.weight;\
        penalty=l1-prox=1e-4@output.weight;transform=clip_global_norm:max_norm=5;lr=3e-3;batch=32;epochs=\(epochs)
        """
    let session = try TrainingSession(features: train.features, classes: train.classes, spec: spec + ";seed=7")
    try session.plan(stepsPerEpoch: perEpoch, epochs: epochs)  // the cosine schedule's length
    print("session: \(spec)")
    for epoch in 1...epochs {
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.below(i + 1)) }
        var total = 0.0
        for start in stride(from: 0, to: order.count, by: 32) {
            let rows = Array(order[start..<min(start + 32, order.count)])
            let batch = train.subset(rows)
            total += try session.step(x: batch.x, labels: batch.y) * Double(rows.count)
        }
        let m = try session.evaluate(test)
        print("  epoch \(epoch): objective \(String(total / Double(train.count)).prefix(6))  test accuracy \(String(m.accuracy).prefix(6))")
    }
    let metrics = try session.evaluate(test)
    print("session: test accuracy \(String(metrics.accuracy).prefix(6)), NLL \(String(metrics.nll).prefix(6)), "
          + "ECE \(String(metrics.ece).prefix(6)), \(session.steps) steps")
    let firstFive = test.subset(Array(0..<5))
    let probabilities = try session.predict(x: firstFive.x)  // softmax rows, eval mode
    let predicted = (0..<5).map { i in (0..<test.classes).max { probabilities[i * test.classes + $0] < probabilities[i * test.classes + $1] }! }
    print("  first test images: predicted \(predicted), true \(firstFive.y)")

    let path = "/tmp/regula-example-\(getpid()).rgp"
    defer { unlink(path) }
    try session.save(to: path)
    let restored = try TrainingSession(features: train.features, classes: train.classes, spec: spec + ";seed=8")
    try restored.load(from: path)
    guard try restored.predict(x: test.x) == session.predict(x: test.x) else { fail("the loaded session predicts differently") }
    print("  saved to \(path); a fresh session loaded it and predicts identically")

    // 4. Or let the session run the epochs: fit plans the schedule from the data and shuffles.
    let fitted = try TrainingSession(features: train.features, classes: train.classes, spec: spec + ";seed=7")
    try fitted.fit(train)
    let fitAccuracy = try fitted.evaluate(test).accuracy
    print("fit: test accuracy \(String(fitAccuracy).prefix(6))")

    print("test accuracy \(String(graphAccuracy).prefix(6)) (graph), \(String(metrics.accuracy).prefix(6)) (session steps), "
          + "\(String(fitAccuracy).prefix(6)) (fit)")
    if min(graphAccuracy, metrics.accuracy, fitAccuracy) < minAccuracy { fail("test accuracy below \(minAccuracy)") }
} catch {
    fail("error: \(error)")
}
