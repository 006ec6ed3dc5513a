//! Release builds of the `moxide` binary on x86_64 Linux (glibc) place the
//! functions listed in `link/hot-symbols.txt` (the code that runs while a
//! server starts, serves IMAP, IMAPS and SMTP and idles; regenerate with
//! `link/gen-symbol-order.sh`) together at the start of `.text`, through
//! lld's `--symbol-ordering-file`. The kernel maps executable code in 64 KB
//! windows around each page fault, so about 1.2 MB of start-up code spread
//! over the binary made 5-6 MB of it resident; packed, it takes ~1.5 MB.
//! See docs/DESIGN.md "Code layout of the release binary".
//!
//! Only where rustc links with its bundled lld by default (x86_64 Linux
//! glibc since Rust 1.90; this workspace needs 1.95), only for the release
//! profile (and profiles inheriting from it), and not when RUSTFLAGS or
//! the environment name another linker. `MOXIDE_SYMBOL_ORDER=off` turns it
//! off. Names the list does not know (another rustc, changed code) are
//! skipped by the linker without a warning: a stale list only loses its
//! effect, it never breaks the build or the program.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=link/hot-symbols.txt");
    println!("cargo::rerun-if-env-changed=MOXIDE_SYMBOL_ORDER");
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let var = |k: &str| env::var(k).unwrap_or_default();
    let target_is_lld_default = var("TARGET") == "x86_64-unknown-linux-gnu";
    let release = var("PROFILE") == "release";
    let other_linker = var("CARGO_ENCODED_RUSTFLAGS").contains("linker")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some();
    let off = var("MOXIDE_SYMBOL_ORDER") == "off";
    if !target_is_lld_default || !release || other_linker || off {
        return;
    }
    let list = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/hot-symbols.txt");
    if !list.is_file() {
        return;
    }
    println!(
        "cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        list.display()
    );
    println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}
