// regula — the command line (interim root while the lead's main lands: train and compare).
import ArgumentParser

struct RegulaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regula", abstract: "Regula: the regularization literature as one fast, verified library.",
        subcommands: [Train.self, Compare.self])
}

RegulaCommand.main()
