//! `history`, `inspect` and `image prune` on a store filled in a temp root.

mod commands_support;

use berth_engine::cli::{HistoryArgs, ImagePruneArgs, InspectArgs};
use berth_images::commands::{history, inspect, prune};
use commands_support::*;
use serde_json::json;

/// A two-layer image built in three steps, the middle one making no layer.
fn built() -> Fixture {
    let fixture = Fixture::new();
    let mut image = TestImage {
        layers: vec![
            layer_tar(&[
                file("bin/busybox", &[7u8; 2000]),
                symlink("bin/sh", "busybox"),
            ]),
            layer_tar(&[file("etc/motd", b"welcome\n")]),
        ],
        ..TestImage::simple(b"", 3 * 86_400)
    };
    image.history = vec![
        json!({"created": ago(30 * 86_400), "created_by": "/bin/sh -c #(nop) ADD file:4d1b5fe1e1d1c1a9b6e0f5d3 in / "}),
        json!({"created": ago(30 * 86_400), "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}),
        json!({"created": ago(3 * 86_400), "created_by": "/bin/sh -c echo welcome\t> /etc/motd", "comment": "motd"}),
    ];
    image.config["Labels"] = json!({"maintainer": "berth <dev@example.org>"});
    image.config["WorkingDir"] = json!("/root");
    fixture.add(&image, &["busybox:motd"]);
    fixture
}

fn history_args(image: &str) -> HistoryArgs {
    HistoryArgs {
        human: true,
        no_trunc: false,
        quiet: false,
        format: None,
        image: image.into(),
    }
}

#[test]
fn history_lists_steps_newest_first() {
    let fixture = built();
    let printed = capture("", |c| {
        history::show(&fixture.store, &history_args("busybox:motd"), c)
    });
    assert_eq!(printed.code, 0, "{}", printed.err);
    insta::assert_snapshot!(redact(&printed.out), @r###"
    IMAGE          CREATED       CREATED BY                                      SIZE      COMMENT
    <image-id12>   3 days ago    /bin/sh -c echo welcome > /etc/motd             8B        motd
    <missing>      4 weeks ago   /bin/sh -c #(nop)  CMD ["sh"]                   0B        
    <missing>      4 weeks ago   /bin/sh -c #(nop) ADD file:4d1b5fe1e1d1c1a9b…   2.01kB    
    "###);
}

#[test]
fn history_raw_and_quiet_and_format() {
    let fixture = built();
    let mut a = history_args("busybox:motd");
    a.human = false;
    a.no_trunc = true;
    a.format = Some(r"{{.ID}}|{{.CreatedSince}}|{{.Size}}|{{.CreatedBy}}".into());
    let printed = capture("", |c| history::show(&fixture.store, &a, c));
    let id = fixture.id_of("busybox:motd");
    let lines: Vec<&str> = printed.out.lines().collect();
    assert_eq!(
        lines[0],
        format!("{id}|2024-05-29T12:00:00Z|8|/bin/sh -c echo welcome > /etc/motd")
    );
    assert_eq!(
        lines[2],
        "<missing>|2024-05-02T12:00:00Z|2007|/bin/sh -c #(nop) ADD file:4d1b5fe1e1d1c1a9b6e0f5d3 in / "
    );
    let mut a = history_args("busybox:motd");
    a.quiet = true;
    let printed = capture("", |c| history::show(&fixture.store, &a, c));
    assert_eq!(
        printed.out,
        format!("{}\n<missing>\n<missing>\n", &id[7..19])
    );
    let printed = capture("", |c| {
        history::show(&fixture.store, &history_args("nosuch"), c)
    });
    assert_eq!(printed.code, 1);
    assert!(printed.err.contains("No such image: nosuch"));
}

fn inspect_args(objects: &[&str], format: Option<&str>) -> InspectArgs {
    InspectArgs {
        format: format.map(str::to_string),
        size: false,
        kind: None,
        objects: objects.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn inspect_prints_docker_json_shape() {
    let fixture = built();
    let printed = capture("", |c| {
        inspect::show(
            &fixture.store,
            &inspect_args(&["busybox:motd"], None),
            "object",
            c,
        )
    });
    assert_eq!(printed.code, 0, "{}", printed.err);
    insta::assert_snapshot!(redact(&printed.out));
    let parsed: serde_json::Value = serde_json::from_str(&printed.out).unwrap();
    assert_eq!(parsed[0]["Id"], fixture.id_of("busybox:motd"));
    assert_eq!(parsed[0]["Size"], 2015);
}

#[test]
fn inspect_formats_each_object_and_reports_the_missing_after() {
    let fixture = built();
    let args = inspect_args(
        &["busybox:motd", "nosuch", "busybox:motd"],
        Some(
            r#"{{.Os}}/{{.Architecture}} {{index .Config.Labels "maintainer"}} {{json .RootFS.Layers}}"#,
        ),
    );
    let printed = capture("", |c| inspect::show(&fixture.store, &args, "object", c));
    assert_eq!(printed.code, 1);
    let line = "linux/amd64 berth <dev@example.org> [\"sha256:<hex64>\",\"sha256:<hex64>\"]\n";
    assert_eq!(redact(&printed.out), line.repeat(2));
    assert_eq!(printed.err, "Error: No such object: nosuch\n");

    let printed = capture("", |c| {
        inspect::show(&fixture.store, &inspect_args(&["nosuch"], None), "image", c)
    });
    assert_eq!((printed.code, printed.out.as_str()), (1, "[]\n"));
    assert_eq!(printed.err, "Error: No such image: nosuch\n");
}

fn prune_args(all: bool, force: bool) -> ImagePruneArgs {
    ImagePruneArgs {
        all,
        force,
        filter: Vec::new(),
    }
}

#[test]
fn prune_removes_dangling_images_after_asking() {
    let fixture = built();
    fixture.add(&TestImage::simple(b"dangling one", 60), &[]);
    let printed = capture("n\n", |c| {
        prune::prune_images(
            &fixture.engine,
            &fixture.store,
            &prune_args(false, false),
            c,
        )
    });
    assert_eq!(
        printed.out,
        "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] Total reclaimed space: 0B\n"
    );
    assert_eq!(fixture.store.images().unwrap().len(), 2);

    let printed = capture("y\n", |c| {
        prune::prune_images(
            &fixture.engine,
            &fixture.store,
            &prune_args(false, false),
            c,
        )
    });
    assert_eq!(printed.code, 0, "{}", printed.err);
    insta::assert_snapshot!(redact(&printed.out), @r"
    WARNING! This will remove all dangling images.
    Are you sure you want to continue? [y/N] Deleted Images:
    deleted: sha256:<hex64>
    deleted: sha256:<hex64>

    Total reclaimed space: 2.729kB
    ");
    let left = fixture.store.images().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].names.len(), 1);
}

#[test]
fn prune_all_removes_tagged_images_too_and_filters_apply() {
    let fixture = built();
    fixture.add(&TestImage::simple(b"recent", 60), &["recent"]);
    let mut args = prune_args(true, true);
    args.filter = vec!["until=24h".into()];
    let printed = capture("", |c| {
        prune::prune_images(&fixture.engine, &fixture.store, &args, c)
    });
    assert_eq!(printed.code, 0, "{}", printed.err);
    assert!(
        printed
            .out
            .starts_with("Deleted Images:\nuntagged: busybox:motd\ndeleted: sha256:"),
        "{}",
        printed.out
    );
    assert_eq!(fixture.store.images().unwrap().len(), 1);

    args.filter = vec!["label!=maintainer".into()];
    let printed = capture("", |c| {
        prune::prune_images(&fixture.engine, &fixture.store, &args, c)
    });
    assert!(
        printed.out.contains("untagged: recent:latest"),
        "{}",
        printed.out
    );
    assert!(fixture.store.images().unwrap().is_empty());
    assert_eq!(fixture.blob_count(), 0);

    args.filter = vec!["colour=red".into()];
    let printed = capture("", |c| {
        prune::prune_images(&fixture.engine, &fixture.store, &args, c)
    });
    assert_eq!(printed.code, 1);
}
