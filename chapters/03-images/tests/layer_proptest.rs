//! Random layers made of the pieces attacks are made of (`..`, absolute
//! paths, symlinks to `/`, to `..` and to the canary beside the root,
//! hardlinks, whiteouts), unpacked two at a time: whatever is refused or
//! accepted, nothing beside the root may change.

mod layer_support;

use layer_support::{Layer, have_root, in_jail};
use proptest::prelude::*;

/// One crafted entry; paths are lists of component indexes into `PARTS`.
#[derive(Debug, Clone)]
enum Piece {
    File(Vec<usize>),
    Dir(Vec<usize>),
    Symlink(Vec<usize>, usize),
    Hardlink(Vec<usize>, Vec<usize>),
    Whiteout(Vec<usize>, usize),
    Opaque(Vec<usize>),
}

const PARTS: &[&str] = &["a", "b", "..", ".", "canary", "keep", "sub"];
/// Symlink targets; `{canary}` becomes the canary's absolute path.
const TARGETS: &[&str] = &[
    "/",
    "..",
    "../..",
    "a",
    "b/..",
    "{canary}",
    "{canary}/keep",
    "../canary",
    "/a",
];

fn path(parts: &[usize], absolute: bool) -> String {
    let joined: Vec<&str> = parts.iter().map(|&i| PARTS[i]).collect();
    format!("{}{}", if absolute { "/" } else { "" }, joined.join("/"))
}

fn parts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..PARTS.len(), 1..4)
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        parts().prop_map(Piece::File),
        parts().prop_map(Piece::Dir),
        (parts(), 0..TARGETS.len()).prop_map(|(p, t)| Piece::Symlink(p, t)),
        (parts(), parts()).prop_map(|(p, t)| Piece::Hardlink(p, t)),
        (prop::collection::vec(0..PARTS.len(), 0..3), 0..PARTS.len())
            .prop_map(|(p, n)| Piece::Whiteout(p, n)),
        prop::collection::vec(0..PARTS.len(), 0..3).prop_map(Piece::Opaque),
    ]
}

fn build(pieces: &[(Piece, bool)], canary: &str) -> Vec<u8> {
    let mut layer = Layer::new();
    for (piece, absolute) in pieces {
        layer = match piece {
            Piece::File(p) => layer.file(&path(p, *absolute), b"pwned"),
            Piece::Dir(p) => layer.dir(&path(p, *absolute)),
            Piece::Symlink(p, t) => layer.symlink(
                &path(p, *absolute),
                &TARGETS[*t].replace("{canary}", canary),
            ),
            Piece::Hardlink(p, t) => layer.hardlink(&path(p, *absolute), &path(t, !*absolute)),
            Piece::Whiteout(p, n) => {
                let dir = path(p, *absolute);
                let sep = if dir.is_empty() || dir.ends_with('/') {
                    ""
                } else {
                    "/"
                };
                layer.file(&format!("{dir}{sep}.wh.{}", PARTS[*n]), b"")
            }
            Piece::Opaque(p) => {
                let dir = path(p, *absolute);
                let sep = if dir.is_empty() || dir.ends_with('/') {
                    ""
                } else {
                    "/"
                };
                layer.file(&format!("{dir}{sep}.wh..wh..opq"), b"")
            }
        };
    }
    layer.finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_hostile_layers_never_touch_the_host(
        lower in prop::collection::vec((piece(), any::<bool>()), 1..10),
        upper in prop::collection::vec((piece(), any::<bool>()), 1..10),
    ) {
        if !have_root("random_hostile_layers_never_touch_the_host") {
            return Ok(());
        }
        in_jail(move |sandbox| {
            let canary = sandbox.canary_abs();
            // Refusals are expected; only what is outside the root matters here.
            let _ = sandbox.unpack(&build(&lower, &canary));
            let _ = sandbox.unpack(&build(&upper, &canary));
            sandbox.assert_host_unchanged();
            let _ = sandbox.unpack_overlay(&build(&upper, &canary));
            sandbox.assert_host_unchanged();
        });
    }
}
