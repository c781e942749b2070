//! `berth`: every chapter registered. Chapters 06–10 join this list as they land.
fn main() {
    berth_engine::main(
        "berth",
        &[
            &berth_isolation::ISOLATION,
            &berth_resources::RESOURCES,
            &berth_images::IMAGES,
            &berth_lifecycle::LIFECYCLE,
            &berth_union::UNION,
        ],
    );
}
