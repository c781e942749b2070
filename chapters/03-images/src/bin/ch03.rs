//! `ch03`: berth with chapters 01–03 registered.
fn main() {
    berth_engine::main(
        "ch03",
        &[
            &berth_isolation::ISOLATION,
            &berth_resources::RESOURCES,
            &berth_images::IMAGES,
        ],
    );
}
