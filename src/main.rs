//! The `orchestrator` binary: the command line over the library.

fn main() -> std::process::ExitCode {
    orchestrator::cli::main()
}
