// Regula — a labelled table for training: CSV parsing (no Foundation), seeded splits, scaling.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Rows of real features with one class label each.
public struct Dataset: Sendable {
    /// Row-major features (count × features).
    public var x: [Double]
    /// Labels in 0..<classes.
    public var y: [Int]
    public var features: Int
    public var classes: Int
    /// The original label text of each class index.
    public var classNames: [String]

    public var count: Int { y.count }

    public init(x: [Double], y: [Int], features: Int, classes: Int, classNames: [String]? = nil) {
        self.x = x; self.y = y; self.features = features; self.classes = classes
        self.classNames = classNames ?? (0..<classes).map(String.init)
    }

    /// Parses CSV text: numbers, one row per line, the label in `labelColumn` (default the
    /// last; negative counts from the end). A first line with a non-numeric feature is a header.
    /// Labels may be any text; classes are their sorted distinct values (numerically when all are
    /// numbers).
    public static func parseCSV(_ text: String, labelColumn: Int = -1) throws -> Dataset {
        var rows: [[Substring]] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) where !line.allSatisfy({ $0 == " " }) {
            rows.append(line.split(separator: ",", omittingEmptySubsequences: false))
        }
        guard let width = rows.first?.count, width >= 2 else {
            throw RegulaError.invalidArgument("CSV needs at least two columns (features and a label)")
        }
        let lc = labelColumn < 0 ? width + labelColumn : labelColumn
        guard lc >= 0, lc < width else { throw RegulaError.invalidArgument("label column \(labelColumn) is outside \(width) columns") }
        if rows[0].enumerated().contains(where: { $0.offset != lc && Double($0.element.trimmingSpaces()) == nil }) {
            rows.removeFirst()  // header
        }
        guard !rows.isEmpty else { throw RegulaError.invalidArgument("CSV has no data rows") }
        var x = [Double](); x.reserveCapacity(rows.count * (width - 1))
        var labels = [String](); labels.reserveCapacity(rows.count)
        for (r, row) in rows.enumerated() {
            guard row.count == width else {
                throw RegulaError.invalidArgument("CSV row \(r + 1) has \(row.count) fields, expected \(width)")
            }
            for (c, field) in row.enumerated() {
                let f = field.trimmingSpaces()
                if c == lc { labels.append(f); continue }
                guard let v = Double(f), v.isFinite else {
                    throw RegulaError.invalidArgument("CSV row \(r + 1), column \(c + 1): '\(f)' is not a finite number")
                }
                x.append(v)
            }
        }
        let distinct = Array(Set(labels))
        let names = distinct.allSatisfy({ Double($0) != nil })
            ? distinct.sorted { Double($0)! < Double($1)! } : distinct.sorted()
        guard names.count >= 2 else { throw RegulaError.invalidArgument("the label column holds fewer than 2 classes") }
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() { index[n] = i }
        return Dataset(x: x, y: labels.map { index[$0]! }, features: width - 1, classes: names.count, classNames: names)
    }

    /// Reads a CSV file (Glibc I/O).
    public static func loadCSV(path: String, labelColumn: Int = -1) throws -> Dataset {
        guard let f = fopen(path, "rb") else { throw RegulaError.invalidArgument("cannot open '\(path)'") }
        defer { fclose(f) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return try parseCSV(String(decoding: bytes, as: UTF8.self), labelColumn: labelColumn)
    }

    /// The rows at `indices`.
    public func subset(_ indices: [Int]) -> Dataset {
        var sx = [Double](); sx.reserveCapacity(indices.count * features)
        for i in indices { sx += x[i * features ..< (i + 1) * features] }
        return Dataset(x: sx, y: indices.map { y[$0] }, features: features, classes: classes, classNames: classNames)
    }

    /// A seeded stratified split: `testFraction` of every class goes to the test part.
    public func split(testFraction: Double, seed: UInt64) throws -> (train: Dataset, test: Dataset) {
        guard testFraction > 0, testFraction < 1 else {
            throw RegulaError.invalidParameter(name: "split", value: formatNumber(testFraction), reason: "must be in (0, 1)")
        }
        var rng = RNG(seed: seed)
        var train = [Int](), test = [Int]()
        for c in 0..<classes {
            var members = (0..<count).filter { y[$0] == c }
            shuffle(&members, &rng)
            let k = Int((Double(members.count) * testFraction).rounded())
            test += members[0..<k]; train += members[k...]
        }
        shuffle(&train, &rng); shuffle(&test, &rng)
        guard !train.isEmpty, !test.isEmpty else { throw RegulaError.invalidArgument("the split leaves an empty part") }
        return (subset(train), subset(test))
    }

    /// Per-feature mean and standard deviation (a constant feature gets scale 1).
    public func standardization() -> (mean: [Double], scale: [Double]) {
        var mean = [Double](repeating: 0, count: features), sq = [Double](repeating: 0, count: features)
        for i in 0..<count { for j in 0..<features { mean[j] += x[i * features + j] } }
        for j in 0..<features { mean[j] /= Double(Swift.max(count, 1)) }
        for i in 0..<count { for j in 0..<features { let d = x[i * features + j] - mean[j]; sq[j] += d * d } }
        let scale = sq.map { s -> Double in let sd = (s / Double(Swift.max(count, 1))).squareRoot(); return sd > 1e-12 ? sd : 1 }
        return (mean, scale)
    }

    /// (x − mean)/scale per feature.
    public func standardized(mean: [Double], scale: [Double]) -> Dataset {
        var out = self
        for i in 0..<count { for j in 0..<features { out.x[i * features + j] = (x[i * features + j] - mean[j]) / scale[j] } }
        return out
    }
}

/// Fisher–Yates with the engine's seeded RNG.
func shuffle(_ a: inout [Int], _ rng: inout RNG) {
    guard a.count > 1 else { return }
    for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, rng.below(i + 1)) }
}
