//! Build script shared by every binary crate: link the binaries as fixed-address
//! executables. A position-independent berth carries about 27,000 relative
//! relocations that the loader applies, page by page, at every start; a container
//! start runs the binary three times, so that cost (about 1 ms each here) shows.

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
