// regula bench — time a training step of the engine, or a registered component's value + gradient.

import ArgumentParser
import Foundation
import Regula
import RegulaEngine

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time a training step of the engine (bench train) or a component's value + gradient (bench ID).",
        discussion: """
        regula bench train --widths 1024,1024 --batch 256 --penalty l2=1e-4 --optimizer adamw: an MLP \
        784-1024-1024-10 on seeded synthetic data, median ms per step (forward, backward, optimizer) after warm-up.
        regula bench l1 --size 16777216 --dtype f32: one component call (value + gradient; map: forward + VJP).
        """,
        subcommands: [BenchTrain.self, BenchComponent.self],
        defaultSubcommand: BenchComponent.self)
}

/// Thread options shared by both benchmarks: OpenBLAS and the engine's own loops.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for OpenBLAS and the engine's parallel loops (default: all cores).")
    var threads: Int?

    func apply() throws {
        guard let threads else { return }
        guard threads >= 1 else { throw ValidationError("--threads must be >= 1") }
        BLAS.threads = threads
        Parallel.limit = threads
    }

    var effective: Int { Swift.min(threads ?? Parallel.workers, Parallel.workers) }
}

/// Median and interquartile range of timings (seconds).
struct Timing {
    let median: Double, iqr: Double, min: Double, count: Int
    init(_ samples: [Double]) {
        let s = samples.sorted()
        count = s.count
        median = s.count % 2 == 1 ? s[s.count / 2] : 0.5 * (s[s.count / 2 - 1] + s[s.count / 2])
        iqr = s[(3 * s.count) / 4] - s[s.count / 4]
        min = s[0]
    }

    /// Repeats of `number` calls each (number chosen so a repeat lasts about `minTime` / repeats).
    static func measure(repeats: Int = 7, minTime: Double = 0.2, _ body: () throws -> Void) rethrows -> Timing {
        try body()  // warm-up
        var t0 = monotonicSeconds()
        try body()
        let once = Swift.max(monotonicSeconds() - t0, 1e-9)
        let number = Swift.max(1, Int(minTime / once / Double(repeats)))
        var samples: [Double] = []
        for _ in 0..<repeats {
            t0 = monotonicSeconds()
            for _ in 0..<number { try body() }
            samples.append((monotonicSeconds() - t0) / Double(number))
        }
        return Timing(samples)
    }

    var text: String { "\(Timing.format(median)) ± \(Timing.format(iqr))" }

    static func format(_ t: Double) -> String {
        if t >= 1e-3 { return String(format: "%.2f ms", t * 1e3) }
        return t >= 1e-6 ? String(format: "%.1f µs", t * 1e6) : String(format: "%.3f ns", t * 1e9)
    }

    var json: [String: Any] { ["median_ms": median * 1e3, "iqr_ms": iqr * 1e3, "min_ms": min * 1e3, "samples": count] }
}

/// CPU seconds of the whole process (all threads): on a loaded machine it moves far less than
/// wall time, so it is the figure to compare while other jobs run.
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func printJSON(_ obj: [String: Any]) throws {
    let d = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    print(String(decoding: d, as: UTF8.self))
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Median time of one training step (feed, forward, backward, optimizer) of an MLP on synthetic data.")

    @Option(help: "Input features.") var features = 784
    @Option(help: "Hidden widths, comma-separated.") var widths = "1024,1024"
    @Option(help: "Classes.") var classes = 10
    @Option(help: "Batch size.") var batch = 256
    @Option(help: "Timed steps.") var steps = 20
    @Option(help: "Untimed warm-up steps.") var warmup = 3
    @Option(help: "Penalty on every weight matrix, as in `regula train` (repeatable; none by default).")
    var penalty: [String] = []
    @Option(help: "Optimizer: adam, adamw, sgd.") var optimizer = "adamw"
    @Option(help: "Learning rate (constant).") var lr = 1e-3
    @Option(name: .customLong("weight-decay"), help: "AdamW's decoupled weight decay λ.") var weightDecay = 0.01
    @Option(help: "Hidden activation: relu, gelu, tanh.") var activation = "relu"
    @Option(help: "Precision of the linear layers' matrix products: f64 or f32 (everything else stays float64).")
    var precision = "f64"
    @Option(help: "Seed of the initialisation and the synthetic data.") var seed: UInt64 = 0
    @OptionGroup var threadOptions: ThreadOptions
    @Flag(help: "Also time the phases of a step: feed, forward, backward, optimizer.") var phases = false
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        try threadOptions.apply()
        let ws = try widths.split(separator: ",").map { s -> Int in
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("bad width '\(s)'") }
            return v
        }
        guard features >= 1, classes >= 2, batch >= 1, steps >= 1, warmup >= 0 else {
            throw ValidationError("features >= 1, classes >= 2, batch >= 1, steps >= 1 and warmup >= 0 are required")
        }
        guard let act = Activation(rawValue: activation) else { throw ValidationError("--activation must be relu, gelu, tanh or identity") }
        guard let prec = Precision(rawValue: precision) else { throw ValidationError("--precision must be f64 or f32") }
        let penalties = try penalty.map(PenaltySpec.parse)
        let model = try Classifier(features: features, classes: classes, model: ModelSpec(widths: ws, activation: act),
                                   loss: "softmax_cross_entropy", penalties: penalties, seed: seed)
        let g = model.graph
        g.precision = prec
        let opt: Optimizer
        var transforms: [StepTransform] = model.proxSteps
        switch optimizer {
        case "adam": opt = try Optimizer(.adam(beta1: 0.9, beta2: 0.999, eps: 1e-8))
        case "adamw":
            opt = try Optimizer(.adam(beta1: 0.9, beta2: 0.999, eps: 1e-8))
            transforms.append(DecoupledWeightDecay(lambda: weightDecay))
        case "sgd": opt = try Optimizer(.sgd(momentum: 0.9, nesterov: false))
        default: throw ValidationError("--optimizer must be adam, adamw or sgd")
        }
        let stepper = Stepper(params: g.parameters, optimizer: opt, schedule: Schedule(base: lr), transforms: transforms)
        // Four seeded batches, fed in turn (the feed's copy is part of the step, as in a real loop).
        var rng = RNG(seed: seed &+ 0xB3AC)
        let pool = (0..<4).map { _ in
            ((0..<(batch * features)).map { _ in rng.normal() }, (0..<batch).map { _ in Double(rng.below(classes)) })
        }
        var samples: [Double] = [], cpu: [Double] = []
        var split: [[Double]] = [[], [], [], []]  // feed, forward, backward, optimizer
        var loss = 0.0
        for s in 0..<(warmup + steps) {
            let c0 = processCPUSeconds(), t0 = monotonicSeconds()
            var t1 = t0, t2 = t0, t3 = t0
            let (bx, by) = pool[s % pool.count]
            try g.feed([model.x: bx, model.y: by])
            loss = try stepper.step {
                t1 = monotonicSeconds()
                let v = try g.forward()
                t2 = monotonicSeconds()
                try g.backward()
                t3 = monotonicSeconds()
                return v
            }
            let t4 = monotonicSeconds(), c4 = processCPUSeconds()
            guard s >= warmup else { continue }
            samples.append(t4 - t0); cpu.append(c4 - c0)
            for (k, d) in [t1 - t0, t2 - t1, t3 - t2, t4 - t3].enumerated() { split[k].append(d) }
        }
        guard loss.isFinite else { throw ValidationError("the loss became non-finite (\(loss)): lower --lr") }
        let t = Timing(samples), tc = Timing(cpu)
        let names = ["feed", "forward", "backward", "optimizer"]
        let phaseTimings = split.map(Timing.init)
        let arch = ([features] + ws + [classes]).map(String.init).joined(separator: "-")
        let params = g.parameters.reduce(0) { $0 + $1.count }
        if json {
            try printJSON([
                "architecture": arch, "batch": batch, "optimizer": optimizer, "penalties": penalties.map(\.description),
                "precision": prec.rawValue, "threads": threadOptions.effective, "blas_threads": BLAS.threads,
                "parameters": params, "warmup": warmup, "loss": loss, "step": t.json, "cpu_per_step": tc.json,
            ].merging(phases ? ["phases": Dictionary(uniqueKeysWithValues: zip(names, phaseTimings.map(\.json)))] : [:]) { a, _ in a })
        } else {
            let pen = penalties.isEmpty ? "" : " + " + penalties.map(\.description).joined(separator: " + ")
            print("train step \(arch) batch \(batch) \(optimizer)\(pen), \(prec.rawValue) linear layers, \(threadOptions.effective) threads: "
                  + "\(t.text) (median ± IQR of \(steps) steps after \(warmup) warm-up; \(params) parameters; loss \(String(format: "%.4f", loss)); CPU time \(tc.text) per step)")
            if phases { for (n, p) in zip(names, phaseTimings) { print("  \(n.padding(10))\(p.text)") } }
        }
    }
}

struct BenchComponent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "component",
        abstract: "Time one registered component: value + gradient (penalty, loss) or forward + VJP (map).")

    @OptionGroup var plugins: PluginOptions
    @Argument(help: "Component id.") var id: String
    @Option(help: "Elements of the input; its shape is (size / cols, cols).") var size = 1 << 20
    @Option(help: "Length of the last axis (classes of a loss or map, row length of a penalty).") var cols = 1024
    @Option(help: "Explicit input shape, comma-separated (overrides --size and --cols).") var shape: String?
    @Option(help: "Element type: f32 or f64.") var dtype = "f32"
    @Option(help: "Component parameters (name=value,...); penalties default to strength=1.") var params: String?
    @OptionGroup var threadOptions: ThreadOptions
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        try plugins.load()
        try threadOptions.apply()
        let registry = Registry.shared
        let entry = try registry.entry(id)
        let dims: [Int]
        if let shape {
            dims = try shape.split(separator: ",").map { s -> Int in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("bad dimension '\(s)'") }
                return v
            }
        } else {
            guard cols >= 1, size >= cols else { throw ValidationError("--size must be >= --cols >= 1") }
            dims = [size / cols, cols]
        }
        let checker = Checker(registry: registry)
        let text = params ?? checker.checkParams(entry)
        let sample = checker.sample(entry, shape: dims, seed: 1)
        let t: Timing
        switch dtype {
        case "f64": t = try time(entry, text, sample, Double.self)
        case "f32": t = try time(entry, text, sample, Float.self)
        default: throw ValidationError("--dtype must be f32 or f64")
        }
        let n = dims.reduce(1, *)
        if json {
            try printJSON(["id": id, "kind": entry.info.kind.rawValue, "shape": dims, "dtype": dtype, "params": text,
                           "threads": threadOptions.effective, "call": t.json, "ns_per_element": t.median * 1e9 / Double(Swift.max(n, 1))])
        } else {
            print("\(id) \(entry.info.kind.rawValue) \(dims) \(dtype): \(t.text) per call "
                  + String(format: "(%.3f ns per element; median ± IQR of 7 repeats)", t.median * 1e9 / Double(Swift.max(n, 1))))
        }
    }

    func time<T: Scalar>(_ e: Entry, _ text: String, _ s: Sample, _: T.Type) throws -> Timing {
        let x = s.x.converted(to: T.self), out = NDArray<T>(shape: s.x.shape)
        switch e.info.kind {
        case .penalty:
            let p = try Registry.shared.penalty(e.info.id, text, data: e.check.data)
            return try Timing.measure { _ = try p.valueAndGradient(x.tensor, s.inputs, into: out.tensor) }
        case .loss:
            let l = try Registry.shared.loss(e.info.id, text, data: e.check.data)
            return try Timing.measure { _ = try l.evaluate(x.tensor, target: s.target, s.inputs, into: out.tensor) }
        case .map, .activation:
            let m = try Registry.shared.map(e.info.id, text, data: e.check.data)
            let c = NDArray<T>(shape: s.x.shape, repeating: 1), gx = NDArray<T>(shape: s.x.shape)
            return try Timing.measure {
                try m.forward(x.tensor, s.inputs, into: out.tensor)
                if e.info.hasVJP { try m.vjp(x.tensor, cotangent: c.tensor, s.inputs, into: gx.tensor) }
            }
        case .transform:
            throw ValidationError("'\(e.info.id)' is a training transform, not a component with a value and gradient")
        }
    }
}
