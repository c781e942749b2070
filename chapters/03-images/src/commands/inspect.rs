//! `image inspect` / `inspect`: an image as docker's API describes it, as JSON
//! (a list, one object per argument), or one `--format` line per image.

use berth_engine::cli::InspectArgs;
use berth_engine::format::{Format, go_json_pretty};
use berth_engine::output::Console;
use berth_engine::{Engine, Result};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::commands::images::LayerSizes;
use crate::reference::Reference;
use crate::store::{ImageRecord, Store};

/// Runs `inspect`: a name that is not an image is "No such object".
pub fn inspect(engine: &Engine, args: &InspectArgs) -> Result<i32> {
    let store = Store::open(&engine.paths)?;
    Console::with_std(|console| show(&store, args, "object", console))
}

/// Runs `image inspect`: a name that is not an image is "No such image".
pub fn image_inspect(engine: &Engine, args: &InspectArgs) -> Result<i32> {
    let store = Store::open(&engine.paths)?;
    Console::with_std(|console| show(&store, args, "image", console))
}

// ANCHOR: inspect_command
/// Prints every image of `args.objects` found, then one `Error: No such
/// <what>: NAME` line per missing one; exit 1 if any was missing.
pub fn show(store: &Store, args: &InspectArgs, what: &str, console: &mut Console) -> Result<i32> {
    let only_images = args.kind.as_deref().is_none_or(|kind| kind == "image");
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut sizes = LayerSizes::default();
    for name in &args.objects {
        let image = match store.resolve(name) {
            Ok(image) if only_images => image,
            _ => {
                missing.push(name);
                continue;
            }
        };
        found.push(describe(store, &image, &mut sizes)?);
    }
    match &args.format {
        Some(format) => {
            let format = Format::parse(format, "")?;
            for object in &found {
                let object = serde_json::to_value(object).unwrap_or_else(|_| json!({}));
                writeln!(console.out, "{}", format.render_one(&object)?)?;
            }
        }
        // Serialised from the structs, so the keys keep docker's order.
        None => writeln!(console.out, "{}", go_json_pretty(&found))?,
    }
    let what = args.kind.as_deref().unwrap_or(what);
    for name in &missing {
        writeln!(console.err, "Error: No such {what}: {name}")?;
    }
    Ok(if missing.is_empty() { 0 } else { 1 })
}
// ANCHOR_END: inspect_command

// ANCHOR: inspect_shape
/// An image as `GET /images/{name}/json` returns it (docker 20.10's fields, in
/// its order).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImageInspect {
    id: String,
    repo_tags: Vec<String>,
    repo_digests: Vec<String>,
    parent: String,
    comment: String,
    created: String,
    container: String,
    container_config: ContainerConfig,
    docker_version: String,
    author: String,
    config: ContainerConfig,
    architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<String>,
    os: String,
    size: u64,
    virtual_size: u64,
    graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    root_fs: RootFs,
    metadata: Metadata,
}

/// A container's config as the API names it; `Config` of an image has it too.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerConfig {
    hostname: String,
    domainname: String,
    user: String,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    #[serde(skip_serializing_if = "Json::is_null")]
    exposed_ports: Json,
    tty: bool,
    open_stdin: bool,
    stdin_once: bool,
    env: Json,
    cmd: Json,
    #[serde(skip_serializing_if = "Json::is_null")]
    healthcheck: Json,
    #[serde(skip_serializing_if = "Json::is_null")]
    args_escaped: Json,
    image: String,
    volumes: Json,
    working_dir: String,
    entrypoint: Json,
    on_build: Json,
    labels: Json,
    #[serde(skip_serializing_if = "Json::is_null")]
    stop_signal: Json,
    #[serde(skip_serializing_if = "Json::is_null")]
    shell: Json,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GraphDriver {
    data: Json,
    name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct RootFs {
    #[serde(rename = "Type")]
    kind: String,
    layers: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    last_tag_time: String,
}
// ANCHOR_END: inspect_shape

/// Go's zero time, which docker prints for a time it never recorded.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The inspect object of one image.
fn describe(store: &Store, image: &ImageRecord, sizes: &mut LayerSizes) -> Result<ImageInspect> {
    let config: Json = serde_json::from_slice(&store.config_bytes(image)?).unwrap_or_default();
    let text = |key: &str| config[key].as_str().unwrap_or_default().to_string();
    let size = sizes.image_size(store, image)?;
    let repositories = |name: &Reference| name.familiar_name();
    let mut repo_digests: Vec<String> = image
        .names
        .iter()
        .map(|name| format!("{}@{}", repositories(name), image.manifest_digest()))
        .collect();
    repo_digests.dedup();
    let inspect = ImageInspect {
        id: image.id.to_string(),
        repo_tags: image.names.iter().map(Reference::familiar).collect(),
        repo_digests,
        parent: String::new(),
        comment: text("comment"),
        created: text("created"),
        container: text("container"),
        container_config: container_config(&config["container_config"]),
        docker_version: text("docker_version"),
        author: text("author"),
        config: container_config(&config["config"]),
        architecture: text("architecture"),
        variant: config["variant"].as_str().map(str::to_string),
        os: text("os"),
        size,
        virtual_size: size,
        // Chapter 03 copies layers into a plain directory, as docker's vfs
        // driver does; chapter 05 brings overlay.
        graph_driver: GraphDriver {
            data: Json::Null,
            name: "vfs".to_string(),
        },
        root_fs: RootFs {
            kind: "layers".to_string(),
            layers: config["rootfs"]["diff_ids"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| id.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        },
        metadata: Metadata {
            last_tag_time: ZERO_TIME.to_string(),
        },
    };
    Ok(inspect)
}

/// docker's container config from the image config's (possibly absent) one.
fn container_config(c: &Json) -> ContainerConfig {
    let text = |key: &str| c[key].as_str().unwrap_or_default().to_string();
    let flag = |key: &str| c[key].as_bool().unwrap_or(false);
    ContainerConfig {
        hostname: text("Hostname"),
        domainname: text("Domainname"),
        user: text("User"),
        attach_stdin: flag("AttachStdin"),
        attach_stdout: flag("AttachStdout"),
        attach_stderr: flag("AttachStderr"),
        exposed_ports: c["ExposedPorts"].clone(),
        tty: flag("Tty"),
        open_stdin: flag("OpenStdin"),
        stdin_once: flag("StdinOnce"),
        env: c["Env"].clone(),
        cmd: c["Cmd"].clone(),
        healthcheck: c["Healthcheck"].clone(),
        args_escaped: c["ArgsEscaped"].clone(),
        image: text("Image"),
        volumes: c["Volumes"].clone(),
        working_dir: text("WorkingDir"),
        entrypoint: c["Entrypoint"].clone(),
        on_build: c["OnBuild"].clone(),
        labels: c["Labels"].clone(),
        stop_signal: c["StopSignal"].clone(),
        shell: c["Shell"].clone(),
    }
}
