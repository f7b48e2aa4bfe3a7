// regula train — train an MLP classifier with registered losses, penalties and transforms.

import ArgumentParser
import Foundation
import Regula
import RegulaEngine

/// Data options shared by `train` and `compare`.
struct DataOptions: ParsableArguments {
    @Option(help: "CSV file of numbers with a label column (default: the bundled UCI digits, data/digits.csv).")
    var data: String?

    @Option(name: .customLong("label-column"), help: "Label column (negative counts from the end).")
    var labelColumn = -1

    @Option(help: "Share of each class held out for testing.")
    var split = 0.2

    @Option(name: .customLong("split-seed"), help: "Seed of the train/test split.")
    var splitSeed: UInt64 = 0

    /// The data file: --data, $REGULA_DATA, ./data/digits.csv, or data/digits.csv (or an installed
    /// share/regula/digits.csv) above the executable.
    func path() throws -> String {
        if let data { return data }
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["REGULA_DATA"] { candidates.append(env) }
        candidates.append(FileManager.default.currentDirectoryPath + "/data/digits.csv")
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("data/digits.csv").path)
            candidates.append(dir.appendingPathComponent("share/regula/digits.csv").path)  // make install
            dir = dir.deletingLastPathComponent()
        }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ValidationError("cannot find data/digits.csv; pass --data PATH or set REGULA_DATA")
        }
        return found
    }

    func load() throws -> (train: Dataset, test: Dataset, path: String) {
        let p = try path()
        let d = try Dataset.loadCSV(path: p, labelColumn: labelColumn)
        let (tr, te) = try d.split(testFraction: split, seed: splitSeed)
        return (tr, te, p)
    }
}

/// Model and optimizer options shared by `train` and `compare`.
struct ModelOptions: ParsableArguments {
    @Option(help: "Hidden widths, comma-separated (\"\" for a linear model).")
    var widths = "512"

    @Option(help: "Hidden activation: relu, gelu, tanh, or a registered map/activation id (id:params).")
    var activation = "relu"

    @Option(help: "Dropout after each hidden layer (very_large_dropout: 0.9 with one hidden layer).")
    var dropout = 0.0

    @Option(name: .customLong("gaussian-noise"), help: "Additive Gaussian noise σ after each hidden layer.")
    var gaussianNoise = 0.0

    @Option(name: .customLong("gaussian-dropout"), help: "Multiplicative Gaussian noise rate p after each hidden layer.")
    var gaussianDropout = 0.0

    @Option(name: .customLong("quant-bits"), help: "Quantisation noise (QReg) on the weight matrices with this many bits.")
    var quantBits: Int?

    @Option(name: .customLong("quant-mode"), help: "Quantisation noise mode: fake_quant (STE) or uniform_noise.")
    var quantMode = "fake_quant"

    @Flag(name: .customLong("layer-norm"), help: "Layer norm before each hidden activation.")
    var layerNorm = false

    @Flag(help: "Residual adds between hidden layers of equal width.")
    var residual = false

    @Option(help: "Optimizer: adam, adamw, sgd.")
    var optimizer = "adam"

    @Option(help: "Base learning rate.")
    var lr = 3e-3

    @Option(help: "SGD momentum.")
    var momentum = 0.9

    @Flag(help: "Nesterov momentum (sgd).")
    var nesterov = false

    @Option(name: .customLong("weight-decay"), help: "AdamW's decoupled weight decay λ.")
    var weightDecay = 0.01

    @Option(help: "LR schedule: cosine, constant, step.")
    var schedule = "cosine"

    @Option(help: "Linear warmup steps.")
    var warmup = 0

    @Option(help: "Parameter group settings, e.g. 'output:lr_scale=0.1' or 'bias:decay=true' (repeatable; names: layerN.weight/bias, output.weight/bias).")
    var group: [String] = []

    @Option(name: .customLong("step-every"), help: "The step schedule decays every this many epochs.")
    var stepEvery = 30

    @Option(name: .customLong("step-gamma"), help: "The step schedule's decay factor.")
    var stepGamma = 0.1

    @Option(help: "Feature scaling: max (divide by the largest training value), standardize, none.")
    var scaling = "max"

    @Option(help: "Epochs.")
    var epochs = 40

    @Option(help: "Batch size (the last batch may be smaller).")
    var batch = 32

    @Option(help: "Precision of the linear layers' matrix products: f64, or f32 (sgemm, about twice as fast; the rest stays float64).")
    var precision = "f64"

    /// The options as trainer-spec items (`TrainSpec`, the parser the C ABI and Python use too).
    var specItems: [(String, String)] {
        var items: [(String, String)] = [
            ("widths", widths), ("activation", activation), ("dropout", "\(dropout)"),
            ("gaussian_noise", "\(gaussianNoise)"), ("gaussian_dropout", "\(gaussianDropout)"), ("quant_mode", quantMode),
            ("layer_norm", "\(layerNorm)"), ("residual", "\(residual)"), ("optimizer", optimizer), ("lr", "\(lr)"),
            ("momentum", "\(momentum)"), ("nesterov", "\(nesterov)"), ("weight_decay", "\(weightDecay)"),
            ("schedule", schedule), ("warmup", "\(warmup)"), ("step_every", "\(stepEvery)"), ("step_gamma", "\(stepGamma)"),
            ("epochs", "\(epochs)"), ("batch", "\(batch)"), ("precision", precision),
        ]
        if let quantBits { items.append(("quant_bits", "\(quantBits)")) }
        items += group.map { ("group", $0) }
        return items
    }

    func config() throws -> TrainConfig {
        var c = try TrainSpec.config(specItems)
        c.scaling = scaling  // a data option of Trainer.run, checked there
        return c
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an MLP classifier (default: UCI digits) and report accuracy, calibration and weight structure.",
        discussion: """
        Penalties attach to every weight matrix: --penalty l2=1e-4, --penalty l1-prox=1e-4 (proximal step), \
        --penalty 'elastic_net:strength=1e-4,l1_ratio=0.3'; '@pattern' restricts one to the parameters whose \
        name matches a glob (* any run, ? one character): --penalty 'l2=1e-4@layer*.weight', \
        --penalty 'l1-prox:strength=1e-4@output.weight' (names: layerN.weight/bias, layerN.norm.gain/bias, \
        output.weight/bias). Transforms: --transform clip_global_norm:max_norm=1, \
        --transform sam:rho=0.05, --transform flooding:b=0.02 (see `regula train --list-transforms`).
        """)

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Loss: a registered loss id, optionally with parameters (id:name=value,...).")
    var loss = "softmax_cross_entropy"

    @Option(name: .customLong("output-map"), help: "A registered output map applied to the logits before the loss.")
    var outputMap: String?

    @Option(help: "Penalty on the weight matrices, or with @pattern on the matching parameters (repeatable).")
    var penalty: [String] = []

    @Option(name: .customLong("feature-penalty"), help: "Penalty on the penultimate features, e.g. least_volume=1e-3 (repeatable).")
    var featurePenalty: [String] = []

    @Option(help: "Training transform (repeatable).")
    var transform: [String] = []

    @Option(help: "Seed of initialisation, batch order, dropout and noise.")
    var seed: UInt64 = 0

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "No progress line.")
    var quiet = false

    @Flag(name: .customLong("list-transforms"), help: "List the training transforms and exit.")
    var listTransforms = false

    func run() throws {
        if listTransforms {
            for t in TransformCatalog.all {
                let ps = t.params.map { "\($0.name)=\($0.defaultValue?.description ?? "-")" }.joined(separator: ",")
                print("\(t.id.padding(toLength: 24, withPad: " ", startingAt: 0)) \(t.kind.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \(t.summary)" + (ps.isEmpty ? "" : " [\(ps)]"))
            }
            return
        }
        var items = modelOptions.specItems + [("loss", loss), ("seed", "\(seed)")]
        if let outputMap { items.append(("output_map", outputMap)) }
        items += penalty.map { ("penalty", $0) } + featurePenalty.map { ("feature_penalty", $0) } + transform.map { ("transform", $0) }
        var c = try TrainSpec.config(items)
        c.scaling = modelOptions.scaling
        let (train, test, path) = try dataOptions.load()
        let report = try Trainer.run(train: train, test: test, config: c) { e in
            guard !quiet else { return }
            let line = String(format: "\repoch %3d/%d  loss %.4f  train acc %.4f  %.1fs", e.epoch, e.epochs, e.loss, e.trainAccuracy, e.seconds)
            FileHandle.standardError.write(line.data(using: .utf8)!)
            if e.epoch == e.epochs { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        }
        if json {
            print(try reportJSON(report, config: c, data: path, train: train.count, test: test.count))
        } else {
            print(reportText(report, config: c, data: path, train: train.count, test: test.count))
        }
    }
}

func configSummary(_ c: TrainConfig) -> String {
    let pen = c.penalties.isEmpty && c.featurePenalties.isEmpty ? "none"
        : (c.penalties.map(\.description) + c.featurePenalties.map { "features:" + $0.description }).joined(separator: " ")
    let tr = c.transforms.isEmpty ? "none" : c.transforms.joined(separator: " ")
    return "loss \(c.loss)\(c.outputMap.map { " after \($0)" } ?? ""); penalties \(pen); transforms \(tr); "
        + "\(c.optimizer) lr \(c.lr) \(c.schedule); widths \(c.model.widths); \(c.epochs) epochs × batch \(c.batch); seed \(c.seed)"
        + (c.precision == .float32 ? "; float32 linear layers" : "")
}

func reportText(_ r: TrainReport, config c: TrainConfig, data: String, train: Int, test: Int) -> String {
    var s = "data        \(data) (\(train) train / \(test) test)\n"
    s += "config      \(configSummary(c))\n"
    s += String(format: "test        accuracy %.4f  ECE(15) %.4f  NLL %.4f\n", r.test.accuracy, r.test.ece, r.test.nll)
    s += String(format: "train       accuracy %.4f  ECE(15) %.4f  NLL %.4f  final objective %.4f\n",
                r.train.accuracy, r.train.ece, r.train.nll, r.finalLoss)
    s += String(format: "weights     exact zeros %.2f%%\n", 100 * r.zeroShare)
    for l in r.layers {
        s += String(format: "  %-9@ %-10@ singular values [%.4g, %.4g]\n", l.name as NSString,
                    "\(l.shape)" as NSString, l.minSingular, l.maxSingular)
    }
    s += String(format: "time        %.2fs (%d steps, %d gradient evaluations)", r.seconds, r.steps, r.evaluations)
    return s
}

func reportJSON(_ r: TrainReport, config c: TrainConfig, data: String, train: Int, test: Int) throws -> String {
    let obj: [String: Any] = [
        "data": data, "train_size": train, "test_size": test,
        "config": [
            "loss": c.loss, "output_map": c.outputMap.map { $0 as Any } ?? NSNull(), "penalties": c.penalties.map(\.description), "feature_penalties": c.featurePenalties.map(\.description),
            "transforms": c.transforms, "optimizer": c.optimizer, "lr": c.lr, "schedule": c.schedule,
            "widths": c.model.widths, "epochs": c.epochs, "batch": c.batch, "seed": c.seed,
        ] as [String: Any],
        "test": ["accuracy": r.test.accuracy, "ece": r.test.ece, "nll": r.test.nll],
        "train": ["accuracy": r.train.accuracy, "ece": r.train.ece, "nll": r.train.nll, "final_objective": r.finalLoss],
        "zero_share": r.zeroShare,
        "layers": r.layers.map { ["name": $0.name, "shape": $0.shape, "min_singular": $0.minSingular, "max_singular": $0.maxSingular] as [String: Any] },
        "seconds": r.seconds, "steps": r.steps, "gradient_evaluations": r.evaluations,
    ]
    let d = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    return String(decoding: d, as: UTF8.self)
}
