// Regula — the list of built-in families. A new family file adds its table here.

extension Registry {
    static var builtins: [Entry] {
        elementwiseNorms + rowNorms + orthogonality + crossEntropy + sparseMaps
    }
}
