//! `images`: docker's table, its flags and filters, on a store filled in a temp root.

mod commands_support;

use berth_engine::cli::ImagesArgs;
use berth_images::commands::images::list;
use commands_support::*;
use serde_json::json;

fn args() -> ImagesArgs {
    ImagesArgs {
        all: false,
        quiet: false,
        digests: false,
        no_trunc: false,
        filter: Vec::new(),
        format: None,
        repository: None,
    }
}

fn images(fixture: &Fixture, args: &ImagesArgs) -> Printed {
    capture("", |console| list(&fixture.store, args, console))
}

/// busybox (two names, two hours old), alpine (a day old, labelled, gzip
/// layers), and an untagged image (three weeks old).
fn three_images() -> Fixture {
    let fixture = Fixture::new();
    fixture.add(
        &TestImage::simple(b"busybox", 7200),
        &["busybox", "busybox:1.36"],
    );
    let mut alpine = TestImage {
        layers: vec![
            layer_tar(&[file("etc/os-release", b"Alpine Linux 3.19\n")]),
            layer_tar(&[
                symlink("bin/sh", "/bin/busybox"),
                file("bin/busybox", &[0u8; 1500]),
            ]),
        ],
        ..TestImage::simple(b"", 86_400)
    };
    alpine.config["Labels"] = json!({"org.example.flavour": "alpine", "tier": "base"});
    alpine.gzip = true;
    fixture.add(&alpine, &["alpine:3.19"]);
    fixture.add(&TestImage::simple(b"old and untagged", 21 * 86_400), &[]);
    fixture
}

#[test]
fn the_default_table_lists_every_name_newest_first() {
    let fixture = three_images();
    let printed = images(&fixture, &args());
    assert_eq!(printed.code, 0, "{}", printed.err);
    insta::assert_snapshot!(redact(&printed.out), @r"
    REPOSITORY   TAG       IMAGE ID       CREATED        SIZE
    busybox      1.36      <image-id12>   2 hours ago    7B
    busybox      latest    <image-id12>   2 hours ago    7B
    alpine       3.19      <image-id12>   24 hours ago   1.53kB
    <none>       <none>    <image-id12>   3 weeks ago    16B
    ");
}

#[test]
fn sizes_count_file_bytes_and_link_targets_of_compressed_layers() {
    let fixture = three_images();
    let mut a = args();
    a.format = Some("{{.Repository}} {{.Size}}".into());
    a.repository = Some("alpine".into());
    // 18 bytes of os-release + 1500 of busybox + 12 of the symlink's target.
    assert_eq!(images(&fixture, &a).out, "alpine 1.53kB\n");
}

#[test]
fn quiet_prints_each_id_once() {
    let fixture = three_images();
    let mut a = args();
    a.quiet = true;
    let printed = images(&fixture, &a);
    let ids: Vec<&str> = printed.out.lines().collect();
    assert_eq!(ids.len(), 3, "{}", printed.out);
    assert_eq!(ids[0], &fixture.id_of("busybox")[7..19]);
    a.no_trunc = true;
    let printed = images(&fixture, &a);
    assert_eq!(
        printed.out.lines().next().unwrap(),
        fixture.id_of("busybox")
    );
}

#[test]
fn digests_and_no_trunc_show_full_digests() {
    let fixture = three_images();
    let mut a = args();
    a.digests = true;
    a.no_trunc = true;
    a.repository = Some("busybox:latest".into());
    let printed = images(&fixture, &a);
    let columns = |line: &str| -> Vec<String> {
        line.split("   ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    };
    let lines: Vec<&str> = printed.out.lines().collect();
    assert_eq!(
        columns(lines[0]),
        ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
    );
    let image = fixture.store.resolve("busybox").unwrap();
    assert_eq!(
        columns(lines[1]),
        [
            "busybox",
            "latest",
            image.manifest_digest().as_ref(),
            image.id.as_ref(),
            "2 hours ago",
            "7B"
        ]
    );
    // The columns line up: each starts where its header does.
    let at = |line: &str, text: &str| line.find(text).unwrap();
    assert_eq!(at(lines[0], "IMAGE ID"), at(lines[1], image.id.as_ref()));
}

#[test]
fn filters_select_as_docker() {
    let fixture = three_images();
    let shown = |filters: &[&str]| {
        let mut a = args();
        a.filter = filters.iter().map(|f| f.to_string()).collect();
        a.format = Some("{{.Repository}}:{{.Tag}}".into());
        let printed = images(&fixture, &a);
        assert_eq!(printed.code, 0, "{}", printed.err);
        printed.out.lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(shown(&["dangling=true"]), ["<none>:<none>"]);
    assert_eq!(shown(&["dangling=false"]).len(), 3);
    assert_eq!(
        shown(&["reference=busy*"]),
        ["busybox:1.36", "busybox:latest"]
    );
    assert_eq!(shown(&["reference=*:latest"]), ["busybox:latest"]);
    assert_eq!(
        shown(&["reference=busybox", "reference=alpine"]).len(),
        0,
        "AND across values"
    );
    assert_eq!(shown(&["label=tier"]), ["alpine:3.19"]);
    assert_eq!(shown(&["label=tier=base"]), ["alpine:3.19"]);
    assert_eq!(shown(&["label=tier=top"]), Vec::<String>::new());
    assert_eq!(shown(&["before=alpine:3.19"]), ["<none>:<none>"]);
    assert_eq!(
        shown(&["since=alpine:3.19"]),
        ["busybox:1.36", "busybox:latest"]
    );
    assert_eq!(
        shown(&["since=alpine:3.19", "dangling=true"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_bad_filter_fails_with_exit_one() {
    let fixture = three_images();
    let mut a = args();
    a.filter = vec!["colour=red".into()];
    let printed = images(&fixture, &a);
    assert_eq!(printed.code, 1);
    assert!(
        printed.err.contains("Invalid filter 'colour=red'"),
        "{}",
        printed.err
    );
    a.filter = vec!["dangling=maybe".into()];
    assert_eq!(images(&fixture, &a).code, 1);
    a.filter = vec!["before=nosuchimage".into()];
    let printed = images(&fixture, &a);
    assert_eq!(printed.code, 1);
    assert!(
        printed.err.contains("No such image: nosuchimage"),
        "{}",
        printed.err
    );
}

#[test]
fn format_templates_and_json() {
    let fixture = three_images();
    let mut a = args();
    a.repository = Some("alpine".into());
    a.format = Some(r"table {{.Repository}}\t{{.CreatedAt}}".into());
    insta::assert_snapshot!(images(&fixture, &a).out, @r"
    REPOSITORY   CREATED AT
    alpine       2024-05-31 12:00:00 +0000 UTC
    ");
    a.format = Some("{{json .}}".into());
    let line = redact(&images(&fixture, &a).out);
    insta::assert_snapshot!(line, @r#"{"Containers":"N/A","CreatedAt":"2024-05-31 12:00:00 +0000 UTC","CreatedSince":"24 hours ago","Digest":"sha256:<hex64>","ID":"<image-id12>","Repository":"alpine","SharedSize":"N/A","Size":"1.53kB","Tag":"3.19","UniqueSize":"N/A","VirtualSize":"1.53kB"}"#);
    a.format = Some("{{.Nope".into());
    assert_eq!(images(&fixture, &a).code, 1);
}

#[test]
fn an_empty_store_prints_the_header_only() {
    let fixture = Fixture::new();
    insta::assert_snapshot!(images(&fixture, &args()).out, @"REPOSITORY   TAG       IMAGE ID   CREATED   SIZE");
}
