//! `tag` and `rmi`: docker's untag-or-delete rules, messages and exit codes.

mod commands_support;

use berth_engine::cli::{RmiArgs, TagArgs};
use berth_engine::{Chapter, Engine, ReferenceHolder};
use berth_images::commands::rmi::remove;
use berth_images::commands::tag::tag_image;
use commands_support::*;

fn tag(fixture: &Fixture, source: &str, target: &str) -> Printed {
    let args = TagArgs {
        source: source.into(),
        target: target.into(),
    };
    capture("", |_| tag_image(&fixture.store, &args))
}

fn rmi(fixture: &Fixture, force: bool, images: &[&str]) -> Printed {
    let args = RmiArgs {
        force,
        no_prune: false,
        images: images.iter().map(|s| s.to_string()).collect(),
    };
    capture("", |console| {
        remove(&fixture.engine, &fixture.store, &args, console)
    })
}

fn names(fixture: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = fixture
        .store
        .images()
        .unwrap()
        .iter()
        .flat_map(|i| i.names.iter().map(|n| n.familiar()))
        .collect();
    names.sort();
    names
}

#[test]
fn tag_adds_a_name_and_moves_an_existing_one() {
    let fixture = Fixture::new();
    fixture.add(&TestImage::simple(b"one", 60), &["one"]);
    fixture.add(&TestImage::simple(b"two", 60), &["two"]);
    let printed = tag(&fixture, "one", "registry.example:5000/team/app:v1");
    assert_eq!((printed.code, printed.out.as_str()), (0, ""));
    assert_eq!(
        fixture.id_of("registry.example:5000/team/app:v1"),
        fixture.id_of("one")
    );
    let short_id = &fixture.id_of("two")[7..19];
    assert_eq!(tag(&fixture, short_id, "one").code, 0);
    assert_eq!(fixture.id_of("one"), fixture.id_of("two"));
    // The image that lost its only name stays, untagged.
    assert_eq!(fixture.store.images().unwrap().len(), 2);
}

#[test]
fn tag_refuses_bad_names_with_exit_one() {
    let fixture = Fixture::new();
    fixture.add(&TestImage::simple(b"one", 60), &["one"]);
    let printed = tag(&fixture, "one", "UPPER");
    assert_eq!(printed.code, 1);
    assert!(
        printed
            .err
            .contains("invalid reference format: repository name")
            && printed.err.contains("must be lowercase"),
        "{}",
        printed.err
    );
    let digest = format!("one@sha256:{}", "a".repeat(64));
    assert_eq!(tag(&fixture, "one", &digest).code, 1);
    let printed = tag(&fixture, "missing", "two");
    assert_eq!(printed.code, 1);
    assert!(
        printed.err.contains("No such image: missing"),
        "{}",
        printed.err
    );
}

#[test]
fn rmi_of_one_name_among_several_untags_only() {
    let fixture = Fixture::new();
    fixture.add(&TestImage::simple(b"bb", 60), &["busybox", "busybox:1.36"]);
    let blobs = fixture.blob_count();
    let printed = rmi(&fixture, false, &["busybox"]);
    assert_eq!(printed.code, 0, "{}", printed.err);
    assert_eq!(printed.out, "Untagged: busybox:latest\n");
    assert_eq!(names(&fixture), ["busybox:1.36"]);
    assert_eq!(fixture.blob_count(), blobs);
}

#[test]
fn rmi_of_the_last_name_deletes_image_and_layers() {
    let fixture = Fixture::new();
    let id = {
        fixture.add(&TestImage::simple(b"bb", 60), &["busybox"]);
        fixture.id_of("busybox")
    };
    let printed = rmi(&fixture, false, &["busybox"]);
    assert_eq!(printed.code, 0, "{}", printed.err);
    let lines: Vec<&str> = printed.out.lines().collect();
    assert_eq!(lines[0], "Untagged: busybox:latest");
    assert_eq!(lines[1], format!("Deleted: {id}"));
    // The one layer's chain id is its diff id.
    assert_eq!(lines.len(), 3, "{}", printed.out);
    assert!(lines[2].starts_with("Deleted: sha256:"));
    assert!(fixture.store.images().unwrap().is_empty());
    assert_eq!(fixture.blob_count(), 0);
}

#[test]
fn shared_layers_stay_until_their_last_image_goes() {
    let fixture = Fixture::new();
    let base = layer_tar(&[file("base", b"shared base")]);
    let image = |top: &'static [u8]| TestImage {
        layers: vec![base.clone(), layer_tar(&[file("top", top)])],
        ..TestImage::simple(b"", 60)
    };
    fixture.add(&image(b"first"), &["first"]);
    fixture.add(&image(b"second"), &["second"]);
    let printed = rmi(&fixture, false, &["first"]);
    // Untagged, the image, and only the top layer's chain id.
    assert_eq!(printed.out.lines().count(), 3, "{}", printed.out);
    let printed = rmi(&fixture, false, &["second"]);
    assert_eq!(printed.out.lines().count(), 4, "{}", printed.out);
    assert_eq!(fixture.blob_count(), 0);
}

#[test]
fn rmi_by_id_with_several_names_must_be_forced() {
    let fixture = Fixture::new();
    fixture.add(&TestImage::simple(b"bb", 60), &["busybox", "mybox:v1"]);
    let id = fixture.id_of("busybox");
    let short = &id[7..19];
    let printed = rmi(&fixture, false, &[short]);
    assert_eq!(printed.code, 1);
    assert_eq!(
        printed.err,
        format!(
            "Error: conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories\n"
        )
    );
    let printed = rmi(&fixture, true, &[short]);
    assert_eq!(printed.code, 0, "{}", printed.err);
    let lines: Vec<&str> = printed.out.lines().collect();
    assert_eq!(
        &lines[..3],
        [
            "Untagged: busybox:latest",
            "Untagged: mybox:v1",
            &format!("Deleted: {id}")
        ]
    );
    assert!(fixture.store.images().unwrap().is_empty());
}

#[test]
fn rmi_by_id_with_one_name_untags_and_deletes() {
    let fixture = Fixture::new();
    fixture.add(&TestImage::simple(b"bb", 60), &["busybox"]);
    let id = fixture.id_of("busybox");
    let printed = rmi(&fixture, false, &[&id]);
    assert_eq!(printed.code, 0, "{}", printed.err);
    assert!(
        printed
            .out
            .starts_with(&format!("Untagged: busybox:latest\nDeleted: {id}\n"))
    );
}

#[test]
fn a_missing_image_fails_after_the_others_are_done() {
    let fixture = Fixture::new();
    fixture.add(&TestImage::simple(b"a", 60), &["a"]);
    fixture.add(&TestImage::simple(b"b", 60), &["b"]);
    let printed = rmi(&fixture, false, &["a", "nosuch", "b"]);
    assert_eq!(printed.code, 1);
    assert_eq!(printed.err, "Error: No such image: nosuch\n");
    assert!(
        printed.out.contains("Untagged: a:latest") && printed.out.contains("Untagged: b:latest")
    );
    assert!(fixture.store.images().unwrap().is_empty());
}

/// A chapter whose containers use every image, as chapter 04's will.
struct EveryImageUsed;

impl ReferenceHolder for EveryImageUsed {
    fn image_users(&self, _engine: &Engine, _image_id: &str) -> berth_engine::Result<Vec<String>> {
        Ok(vec!["container 0123456789ab".to_string()])
    }
}

impl Chapter for EveryImageUsed {
    fn number(&self) -> u8 {
        4
    }
    fn reference_holder(&self) -> Option<&dyn ReferenceHolder> {
        Some(self)
    }
}

static USED: EveryImageUsed = EveryImageUsed;

#[test]
fn an_image_in_use_must_be_forced_and_then_only_loses_its_name() {
    let fixture = Fixture::with_chapters(&[&USED]);
    fixture.add(&TestImage::simple(b"bb", 60), &["busybox"]);
    let id = fixture.id_of("busybox");
    let short = &id[7..19];
    let printed = rmi(&fixture, false, &["busybox"]);
    assert_eq!(printed.code, 1);
    assert_eq!(
        printed.err,
        format!(
            "Error: conflict: unable to remove repository reference \"busybox\" (must force) - container 0123456789ab is using its referenced image {short}\n"
        )
    );
    let printed = rmi(&fixture, false, &[short]);
    assert_eq!(printed.code, 1);
    assert!(
        printed
            .err
            .contains("(must be forced) - image is being used by container 0123456789ab")
    );

    let printed = rmi(&fixture, true, &["busybox"]);
    assert_eq!(
        (printed.code, printed.out.as_str()),
        (0, "Untagged: busybox:latest\n")
    );
    let left = fixture.store.images().unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].names.is_empty());
}
