//! `cargo xtask demo|test|book|bench|doctor|exercise|vm-test`: berth's project commands.
//!
//! Each subcommand lives in its own module; this file only dispatches.

mod bench;
mod book;
mod demo;
mod doctor;
mod exercise;
mod oracle;
mod rootfs;
mod test;
mod util;
mod vm;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = args
        .split_first()
        .map_or(("", &[][..]), |(c, r)| (c.as_str(), r));
    match cmd {
        "demo" => demo::run(rest),
        "test" => test::run(rest),
        "book" => book::run(rest),
        "bench" => bench::run(rest),
        "doctor" => doctor::run(rest),
        "exercise" => exercise::run(rest),
        "vm-test" => vm::run(rest),
        "rootfs" => rootfs::run(rest),
        _ => anyhow::bail!(
            "usage: cargo xtask <demo|test|book|bench|doctor|exercise|vm-test|rootfs> [ARGS]"
        ),
    }
}
