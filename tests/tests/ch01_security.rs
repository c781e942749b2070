//! Chapter 01 end to end: capabilities, users, no-new-privileges and seccomp, as
//! `/proc/self/status` shows them inside the container.

use berth_tests::kernel::{
    CAP_MKNOD, CAP_NET_ADMIN, DOCKER_DEFAULT_CAPS, cap_bit, cap_mask, host_status, ids,
    status_field,
};
use berth_tests::{Binary, Output, TestEnv, assert_nothing_left};

/// chapter 01 keeps CAP_MKNOD dropped until chapter 02's devices allow-list exists.
const CH01_DEFAULT_CAPS: u64 = DOCKER_DEFAULT_CAPS & !(1 << CAP_MKNOD);

fn status(env: &TestEnv, bin: Binary, options: &[&str]) -> Output {
    let out = env.container(bin, options, &["cat", "/proc/self/status"]);
    out.assert_success();
    out
}

/// Asserts the three root masks (bounding, permitted, effective) and empty
/// inheritable and ambient sets.
fn assert_root_caps(status: &str, expected: u64) {
    for key in ["CapBnd", "CapPrm", "CapEff"] {
        assert_eq!(
            cap_mask(status, key),
            expected,
            "{key}: {} expected {expected:016x}",
            status_field(status, key)
        );
    }
    assert_eq!(cap_mask(status, "CapInh"), 0);
    assert_eq!(cap_mask(status, "CapAmb"), 0);
}

#[test]
fn root_gets_dockers_capabilities_without_mknod_in_chapter_01() {
    let Some(env) = TestEnv::new("root_gets_dockers_capabilities_without_mknod_in_chapter_01")
    else {
        return;
    };
    let out = status(&env, Binary::Ch01, &[]);
    assert_root_caps(&out.stdout, CH01_DEFAULT_CAPS);
    assert_eq!(ids(&out.stdout, "Uid"), [0; 4]);
    assert_nothing_left(&env);
}

#[test]
fn root_gets_dockers_capabilities_with_mknod_in_chapter_02() {
    let Some(env) = TestEnv::new("root_gets_dockers_capabilities_with_mknod_in_chapter_02") else {
        return;
    };
    let out = status(&env, Binary::Ch02, &[]);
    assert_root_caps(&out.stdout, DOCKER_DEFAULT_CAPS);
    assert_nothing_left(&env);
}

#[test]
fn a_numeric_user_has_no_effective_capabilities() {
    let Some(env) = TestEnv::new("a_numeric_user_has_no_effective_capabilities") else {
        return;
    };
    for user in ["1000", "1000:1000", "app"] {
        let out = status(&env, Binary::Ch01, &["-u", user]);
        let status = &out.stdout;
        assert_eq!(ids(status, "Uid"), [1000; 4], "-u {user}");
        assert_eq!(ids(status, "Gid"), [1000; 4], "-u {user}");
        assert_eq!(cap_mask(status, "CapPrm"), 0, "-u {user}");
        assert_eq!(cap_mask(status, "CapEff"), 0, "-u {user}");
        assert_eq!(cap_mask(status, "CapInh"), 0, "-u {user}");
        assert_eq!(cap_mask(status, "CapAmb"), 0, "-u {user}");
        assert_eq!(cap_mask(status, "CapBnd"), CH01_DEFAULT_CAPS, "-u {user}");
    }
    assert_nothing_left(&env);
}

#[test]
fn a_user_name_is_resolved_in_the_containers_passwd() {
    let Some(env) = TestEnv::new("a_user_name_is_resolved_in_the_containers_passwd") else {
        return;
    };
    let out = env.sh(&["-u", "app"], "id -u; id -g; echo $HOME");
    out.assert_success();
    assert_eq!(out.lines(), ["1000", "1000", "/home/app"]);
    // A name only the host knows is not looked up on the host.
    let out = env.sh(&["-u", "daemon"], "id -u");
    assert_eq!(out.code, 125, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn cap_add_accepts_any_case_with_or_without_the_prefix() {
    let Some(env) = TestEnv::new("cap_add_accepts_any_case_with_or_without_the_prefix") else {
        return;
    };
    for name in ["NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "cap_Net_Admin"] {
        let out = status(&env, Binary::Ch01, &["--cap-add", name]);
        assert_root_caps(&out.stdout, CH01_DEFAULT_CAPS | cap_bit(CAP_NET_ADMIN));
    }
    assert_nothing_left(&env);
}

#[test]
fn cap_drop_all_leaves_no_capability() {
    let Some(env) = TestEnv::new("cap_drop_all_leaves_no_capability") else {
        return;
    };
    let out = status(&env, Binary::Ch01, &["--cap-drop", "ALL"]);
    assert_root_caps(&out.stdout, 0);
    let out = status(
        &env,
        Binary::Ch01,
        &["--cap-drop", "all", "--cap-add", "net_admin"],
    );
    assert_root_caps(&out.stdout, cap_bit(CAP_NET_ADMIN));
    assert_nothing_left(&env);
}

#[test]
fn privileged_gets_the_engines_own_bounding_set_and_no_seccomp() {
    let Some(env) = TestEnv::new("privileged_gets_the_engines_own_bounding_set_and_no_seccomp")
    else {
        return;
    };
    let host = cap_mask(&host_status(), "CapBnd");
    let ch02 = status(&env, Binary::Ch02, &["--privileged"]);
    assert_root_caps(&ch02.stdout, host);
    assert_eq!(status_field(&ch02.stdout, "Seccomp"), "0");
    // chapter 01 says, on one line, that CAP_MKNOD stays dropped.
    let ch01 = status(&env, Binary::Ch01, &["--privileged"]);
    assert_root_caps(&ch01.stdout, host & !cap_bit(CAP_MKNOD));
    assert_eq!(ch01.stderr.lines().count(), 1, "{ch01:#?}");
    assert!(ch01.stderr.contains("CAP_MKNOD"), "{ch01:#?}");
    assert_nothing_left(&env);
}

#[test]
fn an_unknown_capability_exits_125_with_one_line() {
    let Some(env) = TestEnv::new("an_unknown_capability_exits_125_with_one_line") else {
        return;
    };
    for flag in ["--cap-add", "--cap-drop"] {
        let out = env.container(Binary::Ch01, &[flag, "NET_BOGUS"], &["true"]);
        assert_eq!(out.code, 125, "{out:#?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
        assert!(out.stderr.contains("NET_BOGUS"), "{out:#?}");
    }
    assert_nothing_left(&env);
}

#[test]
fn no_new_privileges_is_off_by_default_and_on_by_request() {
    let Some(env) = TestEnv::new("no_new_privileges_is_off_by_default_and_on_by_request") else {
        return;
    };
    let default = status(&env, Binary::Ch01, &[]);
    assert_eq!(status_field(&default.stdout, "NoNewPrivs"), "0");
    let on = status(&env, Binary::Ch01, &["--security-opt", "no-new-privileges"]);
    assert_eq!(status_field(&on.stdout, "NoNewPrivs"), "1");
    assert_nothing_left(&env);
}

#[test]
fn the_default_seccomp_profile_refuses_user_namespaces() {
    let Some(env) = TestEnv::new("the_default_seccomp_profile_refuses_user_namespaces") else {
        return;
    };
    let default = status(&env, Binary::Ch01, &[]);
    assert_eq!(status_field(&default.stdout, "Seccomp"), "2", "filter mode");
    let refused = env.container(Binary::Ch01, &[], &["unshare", "-U", "-r", "id", "-u"]);
    assert_ne!(refused.code, 0, "{refused:#?}");
    assert!(
        refused.stderr.contains("Operation not permitted"),
        "{refused:#?}"
    );
    assert_nothing_left(&env);
}

#[test]
fn seccomp_unconfined_lifts_the_filter() {
    let Some(env) = TestEnv::new("seccomp_unconfined_lifts_the_filter") else {
        return;
    };
    let opt = ["--security-opt", "seccomp=unconfined"];
    let unconfined = status(&env, Binary::Ch01, &opt);
    assert_eq!(status_field(&unconfined.stdout, "Seccomp"), "0");
    let allowed = env.container(Binary::Ch01, &opt, &["unshare", "-U", "-r", "id", "-u"]);
    allowed.assert_success();
    assert_eq!(allowed.lines(), ["0"], "root inside the new user namespace");
    assert_nothing_left(&env);
}
