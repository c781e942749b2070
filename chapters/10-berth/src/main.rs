//! `berth`: every chapter registered. Chapters 03–10 join this list as they land.
fn main() {
    berth_engine::main(
        "berth",
        &[&berth_isolation::ISOLATION, &berth_resources::RESOURCES],
    );
}
