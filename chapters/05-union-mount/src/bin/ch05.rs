//! `ch05`: berth with chapters 01–05 registered.
fn main() {
    berth_engine::main(
        "ch05",
        &[
            &berth_isolation::ISOLATION,
            &berth_resources::RESOURCES,
            &berth_images::IMAGES,
            &berth_lifecycle::LIFECYCLE,
            &berth_union::UNION,
        ],
    );
}
