// regula compare — a grid of loss × penalty × transform, repeated over seeds.

import ArgumentParser
import Foundation
import Regula
import RegulaEngine

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a grid of loss × penalty × transform over several seeds; print a markdown table and write a CSV.",
        discussion: """
        Each axis is a repeatable option; without it the default grid is used:
          losses     softmax_cross_entropy, softmax_cross_entropy:label_smoothing=0.1, maxsup, stablemax_cross_entropy
          penalties  none, l2=1e-3, l1-prox=0.1, hyperspherical_energy, norm_loss, cs_binary
          transforms none, sam
        Components missing from this build's registry are skipped with a note.
        """)

    static let defaultLosses = ["softmax_cross_entropy", "softmax_cross_entropy:label_smoothing=0.1", "maxsup",
                                "stablemax_cross_entropy"]
    static let defaultPenalties = ["none", "l2=1e-3", "l1-prox=0.1", "hyperspherical_energy", "norm_loss", "cs_binary"]
    static let defaultTransforms = ["none", "sam"]

    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A loss of the grid (repeatable).")
    var loss: [String] = []

    @Option(help: "A penalty of the grid, or none (repeatable).")
    var penalty: [String] = []

    @Option(help: "A transform of the grid, or none; several joined with '+' act together (repeatable).")
    var transform: [String] = []

    @Option(help: "Seeds per cell (0, 1, ...).")
    var repeats = 2

    @Option(help: "Runs in parallel.")
    var jobs = 2

    @Option(help: "CSV output file.")
    var csv = "compare.csv"

    mutating func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be >= 1") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be >= 1") }
    }

    func run() throws {
        var base = try modelOptions.config()
        // The default grid trains a smaller model for fewer epochs unless the user chose.
        func given(_ flag: String) -> Bool { CommandLine.arguments.contains { $0 == flag || $0.hasPrefix(flag + "=") } }
        if !given("--epochs") { base.epochs = 20 }
        if !given("--widths") { base.model.widths = [256] }
        let registry = Registry.shared
        func present(_ id: String, _ kind: Kind) -> Bool { registry.ids(kind: kind).contains(id) }

        var losses: [String] = []
        for l in loss.isEmpty ? Self.defaultLosses : loss {
            let id = TransformCatalog.split(l).id
            if present(id, .loss) { losses.append(l) } else { note("skipping loss '\(id)': not in the registry of this build") }
        }
        var penalties: [PenaltySpec?] = []
        for p in penalty.isEmpty ? Self.defaultPenalties : penalty {
            if p == "none" { penalties.append(nil); continue }
            let spec = try PenaltySpec.parse(p)
            if present(spec.id, .penalty) { penalties.append(spec) } else { note("skipping penalty '\(spec.id)': not in the registry of this build") }
        }
        var transforms: [[String]] = []
        for t in transform.isEmpty ? Self.defaultTransforms : transform {
            if t == "none" { transforms.append([]); continue }
            let parts = t.split(separator: "+").map(String.init)
            let missing = parts.map { TransformCatalog.split($0).id }.filter { id in !TransformCatalog.all.contains { $0.id == id } }
            if missing.isEmpty { transforms.append(parts) } else { note("skipping transform '\(t)': unknown \(missing)") }
        }
        guard !losses.isEmpty, !penalties.isEmpty, !transforms.isEmpty else { throw ValidationError("the grid is empty") }

        let (train, test, path) = try dataOptions.load()
        struct Cell { var loss: String; var penalty: PenaltySpec?; var transforms: [String] }
        var cells: [Cell] = []
        for l in losses { for p in penalties { for t in transforms { cells.append(Cell(loss: l, penalty: p, transforms: t)) } } }
        let runs = cells.indices.flatMap { c in (0..<repeats).map { (c, $0) } }
        note("\(cells.count) cells × \(repeats) seeds = \(runs.count) runs on \(path) (\(train.count) train / \(test.count) test), \(base.epochs) epochs, widths \(base.model.widths)")

        let start = Date()
        if jobs > 1 { BLAS.threads = 1 }  // one model per thread: no nested BLAS threads
        let lock = NSLock()
        var results = [[TrainReport?]](repeating: [TrainReport?](repeating: nil, count: repeats), count: cells.count)
        var failures: [String] = []
        var done = 0
        let next = ManagedCounter()
        DispatchQueue.concurrentPerform(iterations: Swift.min(jobs, runs.count)) { _ in
            while let k = next.take(below: runs.count) {
                let (c, s) = runs[k]
                var cfg = base
                cfg.loss = cells[c].loss; cfg.penalties = cells[c].penalty.map { [$0] } ?? []
                cfg.transforms = cells[c].transforms; cfg.seed = UInt64(s)
                let outcome: Result<TrainReport, Error> = Result { try Trainer.run(train: train, test: test, config: cfg) }
                lock.lock()
                switch outcome {
                case .success(let r): results[c][s] = r
                case .failure(let e): failures.append("\(Self.label(cells[c].loss, cells[c].penalty, cells[c].transforms)) seed \(s): \(e)")
                }
                done += 1
                FileHandle.standardError.write(String(format: "\r%d/%d runs  %.0fs", done, runs.count, Date().timeIntervalSince(start)).data(using: .utf8)!)
                lock.unlock()
            }
        }
        FileHandle.standardError.write("\n".data(using: .utf8)!)
        for f in failures { note("failed: \(f)") }

        var table = "| loss | penalty | transform | test acc | ECE | NLL | zeros % | s/run |\n|---|---|---|---|---|---|---|---|\n"
        var csvText = "loss,penalty,transform,runs,acc_mean,acc_sd,ece_mean,ece_sd,nll_mean,nll_sd,zeros_mean,seconds_mean\n"
        for (c, cell) in cells.enumerated() {
            let rs = results[c].compactMap { $0 }
            let pen = cell.penalty?.description ?? "none", tr = cell.transforms.isEmpty ? "none" : cell.transforms.joined(separator: "+")
            guard !rs.isEmpty else {
                table += "| \(cell.loss) | \(pen) | \(tr) | failed | | | | |\n"; continue
            }
            let acc = stats(rs.map(\.test.accuracy)), ece = stats(rs.map(\.test.ece)), nll = stats(rs.map(\.test.nll))
            let zeros = stats(rs.map(\.zeroShare)), secs = stats(rs.map(\.seconds))
            table += String(format: "| %@ | %@ | %@ | %.4f ± %.4f | %.4f ± %.4f | %.4f ± %.4f | %.2f | %.2f |\n",
                            cell.loss as NSString, pen as NSString, tr as NSString, acc.0, acc.1, ece.0, ece.1, nll.0, nll.1,
                            100 * zeros.0, secs.0)
            csvText += [csvField(cell.loss), csvField(pen), csvField(tr), String(rs.count)].joined(separator: ",")
            csvText += String(format: ",%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.4f\n", acc.0, acc.1, ece.0, ece.1, nll.0, nll.1, zeros.0, secs.0)
        }
        print(table, terminator: "")
        print(String(format: "\n%d runs in %.1fs; ± is the sample standard deviation over seeds 0..%d.", runs.count,
                     Date().timeIntervalSince(start), repeats - 1))
        try csvText.write(toFile: csv, atomically: true, encoding: .utf8)
        note("wrote \(csv)")
    }

    static func label(_ l: String, _ p: PenaltySpec?, _ t: [String]) -> String {
        "\(l) / \(p?.description ?? "none") / \(t.isEmpty ? "none" : t.joined(separator: "+"))"
    }
}

/// Mean and sample standard deviation (0 for one value).
func stats(_ v: [Double]) -> (Double, Double) {
    let m = v.reduce(0, +) / Double(v.count)
    guard v.count > 1 else { return (m, 0) }
    let s = v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count - 1)
    return (m, s.squareRoot())
}

func csvField(_ s: String) -> String {
    s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}

func note(_ s: String) { FileHandle.standardError.write("note: \(s)\n".data(using: .utf8)!) }

/// A shared work counter for the parallel runs.
final class ManagedCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func take(below n: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard value < n else { return nil }
        value += 1
        return value - 1
    }
}
