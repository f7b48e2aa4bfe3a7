// regula describe — one component's metadata, or the whole catalogue as Markdown.

import ArgumentParser
import Regula

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a component (or --all).")
    @OptionGroup var plugins: PluginOptions
    @Argument(help: "Component id.") var id: String?
    @Flag(help: "Every component.") var all = false
    @Flag(help: "JSON output.") var json = false
    @Flag(help: "Markdown output (docs/catalogue.md is `regula describe --all --markdown`).") var markdown = false

    func validate() throws {
        if (id == nil) == !all { throw ValidationError("give a component id or --all") }
    }

    func run() throws {
        try plugins.load()
        let registry = Registry.shared
        if all && markdown { print(registry.markdownCatalogue(), terminator: ""); return }
        let ids = all ? registry.ids() : [id!]
        for id in ids {
            let info = try registry.info(id)
            if json { print(info.json); continue }
            if markdown { print(info.markdown, terminator: ""); continue }
            print("\(info.id) — \(info.summary)")
            print("  kind: \(info.kind.rawValue)   family: \(info.family)   confidence: \(info.confidence)")
            print("  formula: \(info.formula)")
            print("  reference: \(info.reference)")
            for p in info.params {
                print("  param \(p.name) = \(p.defaultValue?.description ?? "unset")  \(p.doc)")
            }
            for d in info.data { print("  data \(d.name)\(d.required ? "" : " (optional)")  \(d.doc)") }
            for i in info.inputs { print("  input \(i.name)\(i.required ? "" : " (optional)")  \(i.doc)") }
            if !info.notes.isEmpty { print("  notes: \(info.notes)") }
            if info.kind == .penalty { print("  prox: \(info.hasProx ? "yes" : "no")") }
            if info.kind == .map || info.kind == .activation { print("  vjp: \(info.hasVJP ? "yes" : "no")") }
        }
    }
}
