//! `inspect` / `container inspect`: a container as docker's API describes it.
//! The top-level `inspect` looks for a container first, then for an image
//! (chapter 03 describes those), as docker does; `--type` narrows the search.

use berth_engine::cli::InspectArgs;
use berth_engine::format::{Format, go_json_pretty};
use berth_engine::oci_spec::runtime::Spec;
use berth_engine::output::Console;
use berth_engine::{Engine, Result};
use serde::Serialize;
use serde_json::Value as Json;

use super::World;
use super::pause::container_spec;
use crate::record::ContainerRecord;
use crate::restart::RestartPolicy;
use crate::state::Status;

/// Go's zero time, which docker prints for a time it never recorded.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `inspect`: containers, then images; a name that is neither is "No such object".
pub fn inspect(engine: &Engine, args: &InspectArgs) -> Result<i32> {
    match args.kind.as_deref() {
        Some("image") => berth_images::commands::inspect::inspect(engine, args),
        Some("container") => show(engine, args, "container", false),
        _ => show(engine, args, "object", true),
    }
}

/// `container inspect`: containers only.
pub fn container_inspect(engine: &Engine, args: &InspectArgs) -> Result<i32> {
    show(engine, args, "container", false)
}

/// One object found: its JSON text (an element of the printed list) or its
/// `--format` line.
type Found = String;

// ANCHOR: inspect_dispatch
/// Prints every object found, in the order given, as one JSON list (or one
/// `--format` line each), then one error line per missing name; exit 1 if any
/// was missing.
fn show(engine: &Engine, args: &InspectArgs, what: &str, images_too: bool) -> Result<i32> {
    let world = World::open(engine)?;
    let format = args
        .format
        .as_deref()
        .map(|f| Format::parse(f, ""))
        .transpose()?;
    let mut found: Vec<Found> = Vec::new();
    let mut missing = Vec::new();
    for name in &args.objects {
        if let Ok(record) = world.find(name) {
            let object = describe(&world, &record)?;
            found.push(match &format {
                Some(format) => format.render_one(
                    &serde_json::to_value(&object).expect("an inspect object serialises"),
                )?,
                None => list_element(&go_json_pretty(&[object])),
            });
        } else if let Some(image) = images_too
            .then(|| image_object(engine, args, name))
            .flatten()
        {
            found.push(image);
        } else {
            missing.push(name);
        }
    }
    match format {
        Some(_) => found.iter().for_each(|line| println!("{line}")),
        None if found.is_empty() => println!("[]"),
        None => println!("[\n{}\n]", found.join(",\n")),
    }
    for name in &missing {
        eprintln!("Error: No such {what}: {name}");
    }
    Ok(i32::from(!missing.is_empty()))
}
// ANCHOR_END: inspect_dispatch

/// The image `name` as chapter 03 prints it (a list element, or the format's line).
fn image_object(engine: &Engine, args: &InspectArgs, name: &str) -> Option<Found> {
    let store = berth_images::store::Store::open(&engine.paths).ok()?;
    let one = InspectArgs {
        objects: vec![name.to_string()],
        kind: Some("image".into()),
        ..args.clone()
    };
    let (mut out, mut err, mut input) = (Vec::new(), Vec::new(), std::io::empty());
    let mut console = Console {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        now: std::time::SystemTime::now(),
    };
    let code = berth_images::commands::inspect::show(&store, &one, "image", &mut console).ok()?;
    let text = String::from_utf8(out).ok()?;
    match (code, args.format.is_some()) {
        (0, true) => Some(text.trim_end_matches('\n').to_string()),
        (0, false) => Some(list_element(&text)),
        _ => None,
    }
}

/// The one element of a pretty-printed one-element list, indented as in the list.
fn list_element(list: &str) -> String {
    let list = list.trim();
    let inner = list.strip_prefix('[').unwrap_or(list);
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    inner.trim_matches('\n').to_string()
}

// ANCHOR: container_inspect_shape
/// A container as `GET /containers/{id}/json` returns it, docker 20.10's
/// fields in its order (those berth has no use for yet are left out).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    id: String,
    created: String,
    path: String,
    args: Vec<String>,
    state: StateInspect,
    image: String,
    resolv_conf_path: String,
    hostname_path: String,
    hosts_path: String,
    log_path: String,
    name: String,
    restart_count: u32,
    driver: String,
    platform: String,
    mount_label: String,
    process_label: String,
    app_armor_profile: String,
    host_config: HostConfig,
    mounts: Vec<Json>,
    config: Config,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct StateInspect {
    status: String,
    running: bool,
    paused: bool,
    restarting: bool,
    #[serde(rename = "OOMKilled")]
    oom_killed: bool,
    dead: bool,
    pid: i32,
    exit_code: i32,
    error: String,
    started_at: String,
    finished_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct HostConfig {
    log_config: LogConfig,
    network_mode: String,
    restart_policy: RestartPolicyInspect,
    auto_remove: bool,
    oom_score_adj: i32,
    readonly_rootfs: bool,
    cpu_shares: u64,
    memory: i64,
    nano_cpus: i64,
    cpu_period: u64,
    cpu_quota: i64,
    cpuset_cpus: String,
    memory_reservation: i64,
    memory_swap: i64,
    pids_limit: Option<i64>,
    masked_paths: Vec<String>,
    readonly_paths: Vec<String>,
}

/// Chapter 04's one log driver, docker's default.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct LogConfig {
    #[serde(rename = "Type")]
    kind: &'static str,
    config: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct RestartPolicyInspect {
    name: String,
    maximum_retry_count: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Config {
    hostname: String,
    domainname: String,
    user: String,
    tty: bool,
    open_stdin: bool,
    env: Vec<String>,
    cmd: Option<Vec<String>>,
    image: String,
    working_dir: String,
    entrypoint: Option<Vec<String>>,
    labels: std::collections::BTreeMap<String, String>,
    stop_signal: String,
}
// ANCHOR_END: container_inspect_shape

/// The inspect object of one container, from its record and its spec.
pub fn describe(world: &World, record: &ContainerRecord) -> Result<ContainerInspect> {
    let spec = container_spec(world, record)?;
    let dir = world.containers.dir(&record.id);
    let path_of = |name: &str| dir.join(name).display().to_string();
    let time = |t: &str| match t.is_empty() {
        true => ZERO_TIME.to_string(),
        false => t.to_string(),
    };
    let s = &record.state;
    let process = spec.process().clone().unwrap_or_default();
    let user = process.user();
    Ok(ContainerInspect {
        id: record.id.clone(),
        created: record.created.clone(),
        path: record.path.clone(),
        args: record.args.clone(),
        state: StateInspect {
            status: s.status.to_string(),
            running: matches!(s.status, Status::Running | Status::Paused),
            paused: s.status == Status::Paused,
            restarting: s.status == Status::Restarting,
            oom_killed: s.oom_killed,
            dead: s.status == Status::Dead,
            pid: if s.status.is_active() { s.pid } else { 0 },
            exit_code: s.exit_code,
            error: s.error.clone(),
            started_at: time(&s.started_at),
            finished_at: time(&s.finished_at),
        },
        image: record.image_id.clone().unwrap_or_default(),
        resolv_conf_path: path_of("resolv.conf"),
        hostname_path: path_of("hostname"),
        hosts_path: path_of("hosts"),
        log_path: world.containers.log_path(&record.id).display().to_string(),
        name: format!("/{}", record.name),
        restart_count: s.restart_count,
        driver: "vfs".into(),
        platform: "linux".into(),
        mount_label: String::new(),
        process_label: String::new(),
        app_armor_profile: String::new(),
        host_config: host_config(record, &spec),
        mounts: Vec::new(),
        config: Config {
            hostname: spec.hostname().clone().unwrap_or_default(),
            domainname: String::new(),
            user: match (user.uid(), user.gid()) {
                (0, 0) => String::new(),
                (uid, 0) => uid.to_string(),
                (uid, gid) => format!("{uid}:{gid}"),
            },
            tty: record.config.tty,
            open_stdin: record.config.open_stdin,
            env: process.env().clone().unwrap_or_default(),
            cmd: shown_cmd(record),
            image: record.image.clone(),
            working_dir: process.cwd().display().to_string(),
            entrypoint: record.config.entrypoint.clone(),
            labels: record.config.labels.clone(),
            stop_signal: record.config.stop_signal.clone(),
        },
    })
}

/// `Config.Cmd`; a record older than the field shows its whole process there.
fn shown_cmd(record: &ContainerRecord) -> Option<Vec<String>> {
    match (&record.config.entrypoint, &record.config.cmd) {
        (None, None) => Some(
            std::iter::once(record.path.clone())
                .chain(record.args.iter().cloned())
                .collect(),
        ),
        (_, cmd) => cmd.clone(),
    }
}

// ANCHOR: host_config_from_spec
/// The limits as docker reports them, read back from the spec's
/// `linux.resources`. `--cpus N` became a quota of N × 100 ms per 100 ms
/// period; docker reports that as `NanoCpus` and the quota as 0.
fn host_config(record: &ContainerRecord, spec: &Spec) -> HostConfig {
    let resources = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let memory = resources.memory().unwrap_or_default();
    let cpu = resources.cpu().clone().unwrap_or_default();
    let (quota, period) = (cpu.quota().unwrap_or(0), cpu.period().unwrap_or(0));
    let (nano_cpus, quota, period) = match period {
        100_000 if quota > 0 => (quota * 10_000, 0, 0),
        _ => (0, quota, period),
    };
    let (name, max) = match record.restart_policy {
        RestartPolicy::No => ("no", 0),
        RestartPolicy::Always => ("always", 0),
        RestartPolicy::UnlessStopped => ("unless-stopped", 0),
        RestartPolicy::OnFailure { max } => ("on-failure", max),
    };
    let linux = spec.linux().clone().unwrap_or_default();
    HostConfig {
        log_config: LogConfig {
            kind: "json-file",
            config: Default::default(),
        },
        network_mode: "default".into(),
        restart_policy: RestartPolicyInspect {
            name: name.into(),
            maximum_retry_count: max,
        },
        auto_remove: record.auto_remove,
        oom_score_adj: spec
            .process()
            .as_ref()
            .and_then(|p| p.oom_score_adj())
            .unwrap_or(0),
        readonly_rootfs: spec
            .root()
            .as_ref()
            .and_then(|r| r.readonly())
            .unwrap_or(false),
        cpu_shares: cpu.shares().unwrap_or(0),
        memory: memory.limit().unwrap_or(0),
        nano_cpus,
        cpu_period: period,
        cpu_quota: quota,
        cpuset_cpus: cpu.cpus().clone().unwrap_or_default(),
        memory_reservation: memory.reservation().unwrap_or(0),
        memory_swap: memory.swap().unwrap_or(0),
        pids_limit: resources.pids().map(|p| p.limit()).filter(|&l| l > 0),
        masked_paths: linux.masked_paths().clone().unwrap_or_default(),
        readonly_paths: linux.readonly_paths().clone().unwrap_or_default(),
    }
}
// ANCHOR_END: host_config_from_spec
