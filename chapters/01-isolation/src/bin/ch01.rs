//! `ch01`: berth with chapter 01 (isolation) registered.
fn main() {
    berth_engine::main("ch01", &[&berth_isolation::ISOLATION]);
}
