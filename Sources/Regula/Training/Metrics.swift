// Regula — evaluation metrics of a trained classifier: accuracy, ECE, NLL, sparsity, spectra.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

/// Classification metrics from logits (rows × classes) and labels.
public struct ClassificationMetrics: Sendable, Equatable {
    public var accuracy: Double
    /// Expected calibration error over equal-width confidence bins:
    /// Σ_b |B_b|/n · |acc(B_b) − conf(B_b)|, confidence = max softmax probability.
    public var ece: Double
    /// Mean −log softmax(z)_y (max-shifted log-sum-exp).
    public var nll: Double

    /// Softmax probabilities are used for ECE and NLL whatever loss trained the logits.
    public init(logits: [Double], labels: [Int], classes k: Int, bins: Int = 15) {
        let n = labels.count
        var correct = 0, nll = 0.0
        var binCount = [Int](repeating: 0, count: bins), binCorrect = [Int](repeating: 0, count: bins)
        var binConf = [Double](repeating: 0, count: bins)
        logits.withUnsafeBufferPointer { z in
            for i in 0..<n {
                let row = z.baseAddress! + i * k
                let (lse, m) = Kernels.logSumExp(row, count: k)
                var arg = 0
                for c in 1..<k where row[c] > row[arg] { arg = c }
                let conf = exp(m - lse)  // max probability = exp(z_max − LSE)
                let ok = arg == labels[i]
                if ok { correct += 1 }
                nll += lse - row[labels[i]]
                // bins (l/B, (l+1)/B], conf = 1 → last; a diverged model's NaN confidence → bin 0
                let b = conf.isFinite ? Swift.max(0, Swift.min(Int(conf * Double(bins)), bins - 1)) : 0
                binCount[b] += 1; binConf[b] += conf; if ok { binCorrect[b] += 1 }
            }
        }
        accuracy = n > 0 ? Double(correct) / Double(n) : 0
        self.nll = n > 0 ? nll / Double(n) : 0
        var e = 0.0
        for b in 0..<bins where binCount[b] > 0 {
            let c = Double(binCount[b])
            e += c / Double(n) * abs(Double(binCorrect[b]) / c - binConf[b] / c)
        }
        ece = n > 0 ? e : 0
    }
}

/// The smallest and largest singular value of a weight matrix (rank > 2 flattens).
public func singularValueRange(_ w: Tensor<Double>) throws -> (min: Double, max: Double) {
    let (r, c) = w.matrix
    let s = try LAPACK.svd(Array(w.buffer), rows: r, cols: c).s
    return (s.last ?? 0, s.first ?? 0)
}
