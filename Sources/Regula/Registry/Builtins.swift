// Regula — the list of built-in families. A new family file adds its table here, one line each.

extension Registry {
    static var builtins: [Entry] {
        var all: [Entry] = []
        all += elementwiseNorms
        all += rowNorms
        all += orthogonality
        all += crossEntropy
        all += sparseMaps
        all += labelSmoothing
        all += entropyRegularizers
        all += zLosses
        all += noisySoftmax
        all += sparseLosses
        all += stableMax
        all += focal
        all += wrappers
        all += sparsity
        all += sparseEnvelope
        all += pruning
        all += quantization
        all += reparameterization
        all += cauchySchwarz
        all += spectral
        all += energy
        all += distribution
        all += softmaxes
        all += attentionMaps
        all += activations
        all += diffusionWeighting
        all += distillation
        all += quantile
        all += ranking
        all += labelProportions
        all += selfTargets
        all += totalVariation
        all += smoothness
        all += features
        all += collapse
        // Training transforms, after the components: an id that names a component already
        // (flooding, a loss wrapper too) stays the component's.
        all += transforms.filter { t in !all.contains { $0.info.id == t.info.id } }
        return all
    }
}
