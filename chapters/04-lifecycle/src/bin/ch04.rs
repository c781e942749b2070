//! `ch04`: berth with chapters 01–04 registered.
fn main() {
    berth_engine::main(
        "ch04",
        &[
            &berth_isolation::ISOLATION,
            &berth_resources::RESOURCES,
            &berth_images::IMAGES,
            &berth_lifecycle::LIFECYCLE,
        ],
    );
}
