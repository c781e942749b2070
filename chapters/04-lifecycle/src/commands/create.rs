//! `create`: a container's directory, root filesystem, bundle and record.

use std::collections::BTreeMap;
use std::fs;

use berth_engine::cli::RunArgs;
use berth_engine::state::new_id;
use berth_engine::{ContainerPlan, Engine, Error, Result, RootFilesystem};
use berth_images::image_config::{image_run_config, process_args};
use berth_images::store::Store;
use berth_isolation::run::{root_filesystem, write_bundle};
use berth_isolation::runtime::signals;

use super::World;
use crate::events;
use crate::record::{Config, ContainerRecord, State, entrypoint_and_cmd, now_rfc3339};
use crate::restart::RestartPolicy;
use crate::supervisor::launch::Launching;
use crate::supervisor::protocol::{Announcement, Made};

/// `create`: prints the new container's id.
pub fn create(engine: &Engine, args: &RunArgs) -> Result<i32> {
    let record = create_container(engine, args, None)?;
    println!("{}", record.id);
    Ok(0)
}

/// What to make the container from.
struct Source {
    image: String,
    image_id: Option<String>,
    external_rootfs: Option<std::path::PathBuf>,
    process: Vec<String>,
    stop_signal: Option<String>,
    /// docker's `Config.Entrypoint` and `Config.Cmd`.
    entrypoint_and_cmd: (Option<Vec<String>>, Option<Vec<String>>),
}

fn source(
    engine: &Engine,
    args: &RunArgs,
) -> Result<(Source, Option<(Store, berth_images::store::ImageRecord)>)> {
    if let Some(dir) = &args.rootfs {
        let rootfs = root_filesystem(dir)?;
        return Ok((
            Source {
                image: dir.clone(),
                image_id: None,
                external_rootfs: Some(rootfs),
                process: args.args.clone(),
                stop_signal: None,
                entrypoint_and_cmd: (None, Some(args.args.clone())),
            },
            None,
        ));
    }
    let (wanted, cmd) = args.args.split_first().expect("clap requires IMAGE");
    let store = Store::open(&engine.paths)?;
    let image = store.resolve(wanted).map_err(|_| {
        Error::usage(format!("No such image: {wanted}"))
            .hint("load the image first (load -i IMAGE.tar, or import a root filesystem tarball)")
    })?;
    let config = image_run_config(engine, image.id.as_ref())?;
    let process = process_args(&config, args.entrypoint.as_deref(), cmd)?;
    Ok((
        Source {
            image: wanted.clone(),
            image_id: Some(image.id.to_string()),
            external_rootfs: None,
            process,
            stop_signal: config.stop_signal().clone(),
            entrypoint_and_cmd: entrypoint_and_cmd(
                config.entrypoint().as_deref(),
                config.cmd().as_deref(),
                args.entrypoint.as_deref(),
                cmd,
            ),
        },
        Some((store, image)),
    ))
}

/// The flags of chapter 04 that need checking before anything is made.
fn check_flags(args: &RunArgs) -> Result<(RestartPolicy, Config)> {
    let policy = match &args.restart {
        Some(text) => RestartPolicy::parse(text).map_err(|e| Error::usage(e.to_string()))?,
        None => RestartPolicy::No,
    };
    if args.rm && policy != RestartPolicy::No {
        return Err(Error::usage("Conflicting options: --restart and --rm"));
    }
    let mut labels = BTreeMap::new();
    for label in &args.label {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        labels.insert(key.to_string(), value.to_string());
    }
    let stop_timeout = match &args.stop_timeout {
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            Error::usage(format!(
                "invalid argument \"{t}\" for \"--stop-timeout\" flag"
            ))
        })?),
        None => None,
    };
    if let Some(signal) = &args.stop_signal {
        signals::parse(signal).map_err(|_| Error::usage(format!("Invalid signal: {signal}")))?;
    }
    Ok((
        policy,
        Config {
            tty: args.tty,
            open_stdin: args.interactive,
            labels,
            stop_signal: args.stop_signal.clone().unwrap_or_default(),
            stop_timeout,
            ..Config::default()
        },
    ))
}

// ANCHOR: create_container
/// Makes a container: name, directory, root filesystem, `config.json` from
/// every chapter's spec edit, and last the record (until then no command sees
/// it). On failure nothing is left. A `supervisor` started ahead (`run`) hears
/// of the container before the record is written: it creates the container
/// while this process writes the record and waits for the disk.
pub fn create_container(
    engine: &Engine,
    args: &RunArgs,
    mut supervisor: Option<&mut Launching>,
) -> Result<ContainerRecord> {
    berth_isolation::runtime::require_root()?;
    let (policy, mut config) = check_flags(args)?;
    let (source, image) = source(engine, args)?;
    if config.stop_signal.is_empty() {
        config.stop_signal = source
            .stop_signal
            .clone()
            .unwrap_or_else(|| "SIGTERM".into());
    }
    let world = World::open(engine)?;
    // What removals killed half-way left behind goes before more is made.
    super::rm::sweep_trash(engine);
    let id = new_id();
    let dir = world.containers.dir(&id);
    // The directory first, locked until the record is written: a name is
    // taken while the directory it points at is there, and a directory
    // without a record whose lock is free is a dead `create`'s, which `ps`
    // sweeps.
    fs::create_dir(&dir).map_err(|e| Error::usage(format!("creating {}: {e}", dir.display())))?;
    let reserved = (|| -> Result<(fs::File, String)> {
        let lock = fs::File::open(&dir)
            .and_then(|locked| locked.lock().map(|()| locked))
            .map_err(|e| Error::usage(format!("locking {}: {e}", dir.display())))?;
        Ok((lock, world.names.reserve(args.name.as_deref(), &id)?))
    })();
    let (_creating, name) = match reserved {
        Ok(reserved) => reserved,
        Err(e) => {
            let _ = fs::remove_dir(&dir);
            return Err(e);
        }
    };
    let made = (|| -> Result<ContainerRecord> {
        let rootfs = match (&source.external_rootfs, &image) {
            (Some(external), _) => external.clone(),
            (None, Some((_, image))) => {
                root_filesystem_driver(engine).create(engine, image.id.as_ref(), &dir, args.rm)?;
                dir.join("rootfs")
            }
            (None, None) => unreachable!("an image or a root filesystem"),
        };
        let plan = ContainerPlan {
            id: id.clone(),
            args,
            bundle: dir.clone(),
            rootfs,
            image: source.image_id.clone(),
            process_args: source.process.clone(),
        };
        write_bundle(engine, &plan)?;
        let (path, rest) = source
            .process
            .split_first()
            .expect("process_args is never empty");
        let record = ContainerRecord {
            id: id.clone(),
            name: name.clone(),
            created: now_rfc3339(),
            image: source.image.clone(),
            image_id: source.image_id.clone(),
            external_rootfs: source.external_rootfs.clone(),
            path: path.clone(),
            args: rest.to_vec(),
            config: Config {
                entrypoint: source.entrypoint_and_cmd.0.clone(),
                cmd: source.entrypoint_and_cmd.1.clone(),
                ..config.clone()
            },
            restart_policy: policy,
            auto_remove: args.rm,
            state: State::default(),
        };
        if let Some(supervisor) = supervisor.as_deref_mut() {
            supervisor.announce(&Announcement {
                id: id.clone(),
                made: Some(Made::of(&record)),
            })?;
        }
        world.containers.save(&record)?;
        Ok(record)
    })();
    match made {
        Ok(record) => {
            events::emit(engine, &record, "create", &[]);
            Ok(record)
        }
        Err(e) => {
            // An announced container may be half created: its supervisor
            // undoes that first, and only then do its files go.
            if let Some(supervisor) = supervisor {
                supervisor.withdraw();
            }
            if source.external_rootfs.is_none() {
                let _ = root_filesystem_driver(engine).remove(engine, &dir);
            }
            let _ = fs::remove_dir_all(&dir);
            world.names.release(&name, &id);
            Err(e)
        }
    }
}
// ANCHOR_END: create_container

/// The driver that makes root filesystems from images (chapter 03 registers one).
pub fn root_filesystem_driver(engine: &Engine) -> &dyn RootFilesystem {
    engine
        .root_filesystem()
        .expect("chapter 03 offers a root-filesystem driver")
}
