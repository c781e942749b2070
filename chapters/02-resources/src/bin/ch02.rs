//! `ch02`: berth with chapters 01–02 registered.
fn main() {
    berth_engine::main(
        "ch02",
        &[&berth_isolation::ISOLATION, &berth_resources::RESOURCES],
    );
}
