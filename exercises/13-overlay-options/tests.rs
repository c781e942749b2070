use super::*;

/// A link name as docker makes them: 26 capital letters and digits.
fn link(n: usize) -> String {
    format!("{n:0>4}ABCDEFGHIJKLMNOPQRSTUV")
}

/// A container directory of berth's default root, for realistic lengths.
fn container_dir(name: &str) -> String {
    format!("/var/lib/berth/containers/{}/{name}", "c".repeat(64))
}

#[test]
fn lowerdir_puts_the_init_layer_first_then_the_image_top_first() {
    assert_eq!(
        lowerdir("INIT", &["BOTTOM", "MIDDLE", "TOP"]),
        Ok("l/INIT:l/TOP:l/MIDDLE:l/BOTTOM".to_string())
    );
    assert_eq!(lowerdir("I", &["ONLY"]), Ok("l/I:l/ONLY".to_string()));
}

#[test]
fn an_image_without_layers_still_has_the_init_layer() {
    assert_eq!(lowerdir("I", &[]), Ok("l/I".to_string()));
}

#[test]
fn link_names_are_ascii_letters_and_digits() {
    for good in ["A", "Z9", "UQKOEXIVPDUU45LERBK2CU2QDC", "abc123"] {
        assert!(is_safe_link(good), "{good:?}");
    }
    for bad in ["", "a:b", "a,b", "a/b", "..", "a b", "É", "a\\b", "a=b"] {
        assert!(!is_safe_link(bad), "{bad:?}");
    }
}

#[test]
fn the_first_bad_link_is_named() {
    let bad = |link: &str| {
        Err(OptionsError::BadLink {
            link: link.to_string(),
        })
    };
    assert_eq!(lowerdir("", &["A"]), bad(""));
    assert_eq!(lowerdir("I", &["A", "x:y", "B,"]), bad("B,"));
    assert_eq!(lowerdir("I", &["../A"]), bad("../A"));
}

#[test]
fn the_options_name_every_directory_and_switch_three_features_off() {
    let layers = ContainerLayers {
        image: &["BASE", "APP"],
        init: "INIT",
        upper: "/b/c/1/upper",
        work: "/b/c/1/work",
    };
    assert_eq!(
        mount_options(&layers),
        Ok(
            "lowerdir=l/INIT:l/APP:l/BASE,upperdir=/b/c/1/upper,workdir=/b/c/1/work,\
            redirect_dir=off,metacopy=off,index=off"
                .to_string()
        )
    );
}

#[test]
fn a_comma_in_the_upper_or_work_directory_is_refused() {
    let layers = |upper: &'static str, work: &'static str| ContainerLayers {
        image: &["A"],
        init: "I",
        upper,
        work,
    };
    let bad = |dir: &str| {
        Err(OptionsError::BadDir {
            dir: dir.to_string(),
        })
    };
    assert_eq!(
        mount_options(&layers("/x,lowerdir=/", "/w")),
        bad("/x,lowerdir=/")
    );
    assert_eq!(mount_options(&layers("/u", "/w,ro")), bad("/w,ro"));
    assert_eq!(mount_options(&layers("", "/w")), bad(""));
    assert_eq!(mount_options(&layers("/u", "")), bad(""));
    // A bad link is refused through mount_options as well.
    let bad_link = ContainerLayers {
        image: &["A:B"],
        ..layers("/u", "/w")
    };
    assert_eq!(
        mount_options(&bad_link),
        Err(OptionsError::BadLink {
            link: "A:B".to_string()
        })
    );
}

#[test]
fn an_image_of_127_layers_fits_with_short_links() {
    let names: Vec<String> = (0..127).map(link).collect();
    let image: Vec<&str> = names.iter().map(String::as_str).collect();
    let upper = container_dir("upper");
    let work = container_dir("work");
    let layers = ContainerLayers {
        image: &image,
        init: "INITINITINITINITINITINITIN",
        upper: &upper,
        work: &work,
    };
    let options = mount_options(&layers).expect("127 short links fit in a page");
    assert!(options.len() < PAGE_SIZE, "{}", options.len());
    assert!(
        options.starts_with("lowerdir=l/INITINITINITINITINITINITIN:l/0126ABCDEFGHIJKLMNOPQRSTUV:")
    );
    assert!(options.contains(":l/0000ABCDEFGHIJKLMNOPQRSTUV,upperdir="));
}

#[test]
fn an_image_of_127_layers_named_by_chain_id_does_not_fit() {
    let names: Vec<String> = (0..127).map(|n| format!("{n:0>64}")).collect();
    let image: Vec<&str> = names.iter().map(String::as_str).collect();
    let layers = ContainerLayers {
        image: &image,
        init: "I",
        upper: "/u",
        work: "/w",
    };
    // lowerdir=l/I, then ":l/" and 64 digits per layer, then the rest.
    let length =
        "lowerdir=l/I".len() + 127 * (3 + 64) + ",upperdir=/u,workdir=/w,".len() + ALWAYS_OFF.len();
    assert_eq!(
        mount_options(&layers),
        Err(OptionsError::TooLong {
            length,
            lowers: 128
        })
    );
}

#[test]
fn the_limit_is_one_page_less_the_nul_byte() {
    let fixed = "lowerdir=l/I,upperdir=/,workdir=/w,".len() + ALWAYS_OFF.len();
    let upper_fitting = format!("/{}", "u".repeat(PAGE_SIZE - 1 - fixed));
    let fitting = ContainerLayers {
        image: &[],
        init: "I",
        upper: &upper_fitting,
        work: "/w",
    };
    assert_eq!(mount_options(&fitting).map(|o| o.len()), Ok(PAGE_SIZE - 1));
    let upper_too_long = format!("{upper_fitting}u");
    let too_long = ContainerLayers {
        upper: &upper_too_long,
        ..fitting
    };
    assert_eq!(
        mount_options(&too_long),
        Err(OptionsError::TooLong {
            length: PAGE_SIZE,
            lowers: 1
        })
    );
}
