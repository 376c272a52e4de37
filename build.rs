//! Links the `orchestrator` binary as a position-dependent executable on Linux.
//!
//! Claude Code starts a server per session and waits for its answer to `initialize`. A PIE of this
//! size spends most of its start applying relocations: 60,000 of them, copying 1.1 MB of
//! `.data.rel.ro` page by page. Measured on the 2-core development machine (release build,
//! `orchestrator --version`): 5.3 ms and 513 page faults as a PIE, 2.6 ms and 215 linked
//! position-dependent. The price is address-space randomisation of the binary itself (its
//! libraries, heap and stacks stay randomised); its code is Rust, and the C it links (SQLite,
//! ring's assembly) only ever sees input the program made.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
