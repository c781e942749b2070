//! The root-only guard every end-to-end test starts with.

/// The variable that turns "not root, skipped" into a failure (CI sets it).
pub const REQUIRE_ROOT_ENV: &str = "BERTH_REQUIRE_ROOT";

/// Whether a privileged test may run: as root yes; otherwise it prints why it is
/// skipped and returns false, unless `BERTH_REQUIRE_ROOT=1`, which makes it panic.
pub fn root_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var(REQUIRE_ROOT_ENV).as_deref() != Ok("1"),
        "{test} needs root, and {REQUIRE_ROOT_ENV}=1 forbids skipping it"
    );
    eprintln!("skipped {test}: it needs root (containers need namespaces and mounts)");
    false
}
