// Regula — the list of built-in families. A new family file adds its table here, one line each.

extension Registry {
    static var builtins: [Entry] {
        var all: [Entry] = []
        all += elementwiseNorms
        all += rowNorms
        all += orthogonality
        all += crossEntropy
        all += sparseMaps
        all += sparsity
        all += sparseEnvelope
        all += pruning
        all += quantization
        all += reparameterization
        all += cauchySchwarz
        all += spectral
        all += energy
        all += distribution
        all += totalVariation
        all += smoothness
        all += features
        all += collapse
        return all
    }
}
