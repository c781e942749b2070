use super::*;

const HEX: &str = "3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741";

/// The full form of `reference`, or the error's message.
fn full(reference: &str) -> Result<String, String> {
    parse_reference(reference)
        .map(|r| r.full())
        .map_err(|e| e.to_string())
}

#[test]
fn a_registry_looks_like_a_host() {
    for first in [
        "my.registry.io",
        "host:5000",
        "localhost",
        "Registry",
        "127.0.0.1",
    ] {
        assert!(looks_like_registry(first), "{first}");
    }
    for first in ["user", "library", "local", "localhost2", "a-b_c"] {
        assert!(!looks_like_registry(first), "{first}");
    }
}

#[test]
fn an_official_image_gets_docker_io_library_and_latest() {
    let busybox = parse_reference("busybox").unwrap();
    assert_eq!(
        busybox,
        Reference {
            registry: "docker.io".to_string(),
            repository: "library/busybox".to_string(),
            tag: Some("latest".to_string()),
            digest: None,
        }
    );
    assert_eq!(busybox.to_string(), "docker.io/library/busybox:latest");
    assert_eq!(
        full("busybox:1.36").unwrap(),
        "docker.io/library/busybox:1.36"
    );
}

#[test]
fn a_user_repository_is_on_docker_hub_without_library() {
    assert_eq!(full("user/app").unwrap(), "docker.io/user/app:latest");
    assert_eq!(full("user/app:v1.0").unwrap(), "docker.io/user/app:v1.0");
    // `local` is not `localhost`: a user's name.
    assert_eq!(full("local/x").unwrap(), "docker.io/local/x:latest");
}

#[test]
fn docker_io_written_out_is_the_same_registry() {
    assert_eq!(
        full("docker.io/busybox").unwrap(),
        "docker.io/library/busybox:latest"
    );
    assert_eq!(
        full("docker.io/user/app:v1").unwrap(),
        "docker.io/user/app:v1"
    );
}

#[test]
fn a_registry_port_is_not_a_tag() {
    let r = parse_reference("host:5000/a/b:t").unwrap();
    assert_eq!(r.registry, "host:5000");
    assert_eq!(r.repository, "a/b");
    assert_eq!(r.tag.as_deref(), Some("t"));
    assert_eq!(full("host:5000/a/b").unwrap(), "host:5000/a/b:latest");
    assert_eq!(full("my.registry.io/x").unwrap(), "my.registry.io/x:latest");
}

#[test]
fn a_colon_before_any_slash_is_a_tag() {
    // No `/`: no registry part, so `localhost:5000` is the image `localhost`.
    assert_eq!(
        full("localhost:5000").unwrap(),
        "docker.io/library/localhost:5000"
    );
}

#[test]
fn localhost_is_a_registry_and_gets_no_library() {
    let r = parse_reference("localhost/x").unwrap();
    assert_eq!(r.registry, "localhost");
    assert_eq!(r.repository, "x");
    assert_eq!(r.full(), "localhost/x:latest");
}

#[test]
fn a_digest_is_kept_and_needs_no_tag() {
    let digest = format!("sha256:{HEX}");
    let r = parse_reference(&format!("busybox@{digest}")).unwrap();
    assert_eq!(r.tag, None);
    assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
    assert_eq!(r.full(), format!("docker.io/library/busybox@{digest}"));
    assert_eq!(
        full(&format!("host:5000/a:1.0@{digest}")).unwrap(),
        format!("host:5000/a:1.0@{digest}")
    );
}

#[test]
fn an_upper_case_repository_is_refused_by_name() {
    assert_eq!(
        parse_reference("Busybox"),
        Err(ReferenceError::Uppercase {
            repository: "library/Busybox".to_string()
        })
    );
    assert_eq!(
        full("user/App:v1").unwrap_err(),
        "invalid reference format: repository name (user/App) must be lowercase"
    );
    assert_eq!(
        full("localhost/Foo").unwrap_err(),
        "invalid reference format: repository name (Foo) must be lowercase"
    );
}

#[test]
fn upper_case_is_fine_in_a_tag_and_makes_a_registry() {
    assert_eq!(
        full("busybox:LATEST").unwrap(),
        "docker.io/library/busybox:LATEST"
    );
    assert_eq!(full("Registry/repo").unwrap(), "Registry/repo:latest");
}

#[test]
fn malformed_references_are_invalid_format() {
    for bad in [
        "",
        ":tag",
        "busybox:",
        "busybox:-tag",
        "busybox:a:b",
        "/busybox",
        "busybox/",
        "a//b",
        "busy box",
        "-busybox",
        "busybox-",
        "a..b",
        "host:/x",
        "host:5000/",
        "busybox@",
        "busybox@sha256:abc",
    ] {
        assert_eq!(
            parse_reference(bad),
            Err(ReferenceError::InvalidFormat {
                reference: bad.to_string()
            }),
            "{bad:?}"
        );
    }
    assert_eq!(full("a//b").unwrap_err(), "invalid reference format");
}

#[test]
fn separators_inside_a_repository_element_follow_docker() {
    assert_eq!(
        full("ns/a__b.c-d---e").unwrap(),
        "docker.io/ns/a__b.c-d---e:latest"
    );
    assert!(parse_reference("ns/a___b").is_err());
    assert!(parse_reference("ns/a._b").is_err());
}

#[test]
fn the_familiar_form_drops_docker_io_and_library() {
    for (input, familiar) in [
        ("busybox", "busybox:latest"),
        ("docker.io/library/busybox:1.36", "busybox:1.36"),
        ("user/app", "user/app:latest"),
        ("library/a/b", "library/a/b:latest"),
        ("localhost/x", "localhost/x:latest"),
        ("host:5000/a/b:t", "host:5000/a/b:t"),
    ] {
        assert_eq!(
            parse_reference(input).unwrap().familiar(),
            familiar,
            "{input}"
        );
    }
    let pinned = format!("busybox@sha256:{HEX}");
    assert_eq!(parse_reference(&pinned).unwrap().familiar(), pinned);
}

#[test]
fn the_familiar_form_reads_back_as_the_same_reference() {
    for input in [
        "busybox",
        "user/app:v2",
        "library/a/b",
        "localhost/x",
        "host:5000/a/b:t",
    ] {
        let first = parse_reference(input).unwrap();
        let again = parse_reference(&first.familiar()).unwrap();
        assert_eq!(again, first, "{input}");
    }
}
