// regula list — registered components with their counts per kind and family.

import ArgumentParser
import Regula

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List registered components.")
    @OptionGroup var plugins: PluginOptions
    @Option(help: "Only this kind (penalty, loss, map, activation, transform).") var kind: String?
    @Flag(help: "Ids only, one per line.") var idsOnly = false

    func run() throws {
        try plugins.load()
        let registry = Registry.shared
        var filter: Kind? = nil
        if let kind {
            guard let k = Kind(rawValue: kind) else { throw ValidationError("unknown kind '\(kind)'") }
            filter = k
        }
        let infos = registry.ids(kind: filter).compactMap { try? registry.info($0) }
        if idsOnly { infos.forEach { print($0.id) }; return }
        print("\(infos.count) components")
        for k in Kind.allCases {
            let ofKind = infos.filter { $0.kind == k }
            if ofKind.isEmpty { continue }
            print("\n\(k.rawValue) (\(ofKind.count))")
            let families = Dictionary(grouping: ofKind, by: \.family)
            for family in families.keys.sorted() {
                let members = families[family]!
                print("  \(family) (\(members.count))")
                for info in members {
                    var flags = ""
                    if info.hasProx { flags += " [prox]" }
                    if info.hasVJP { flags += " [vjp]" }
                    print("    \(info.id.padding(28))\(info.summary)\(flags)")
                }
            }
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
