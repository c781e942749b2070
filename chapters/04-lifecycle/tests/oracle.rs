//! Chapter 04 against the oracle dockerd: the same image (the test root
//! filesystem, imported into both), the same steps, and what a user sees —
//! exit codes, the state machine's messages, `ps` and `logs` output, the keys
//! of `inspect` — must match once ids, names and times are replaced.
//!
//! Known differences, on purpose or left to their owners, are listed beside
//! the steps they concern; everything else is compared exactly.

mod common;
mod guard;

use std::collections::BTreeSet;
use std::time::Duration;

use berth_tests::Output;
use berth_tests::env::eventually;
use berth_tests::oracle::Docker;
use common::World;
use guard::Guarded;
use serde_json::Value;

/// docker's inspect keys berth leaves out, and why: chapters still to come
/// (volumes 06, networking 07, the overlay driver's data 05), flags berth
/// does not take or does not record (devices lists, blkio, dns, ulimits,
/// capabilities as given), and exec objects, which berth does not keep.
const LEFT_OUT: &[&str] = &[
    "Config.AttachStderr",
    "Config.AttachStdin",
    "Config.AttachStdout",
    "Config.OnBuild",
    "Config.StdinOnce",
    "Config.Volumes",
    "ExecIDs",
    "GraphDriver",
    "HostConfig.Binds",
    "HostConfig.BlkioDeviceReadBps",
    "HostConfig.BlkioDeviceReadIOps",
    "HostConfig.BlkioDeviceWriteBps",
    "HostConfig.BlkioDeviceWriteIOps",
    "HostConfig.BlkioWeight",
    "HostConfig.BlkioWeightDevice",
    "HostConfig.CapAdd",
    "HostConfig.CapDrop",
    "HostConfig.Cgroup",
    "HostConfig.CgroupParent",
    "HostConfig.CgroupnsMode",
    "HostConfig.ConsoleSize",
    "HostConfig.ContainerIDFile",
    "HostConfig.CpuCount",
    "HostConfig.CpuPercent",
    "HostConfig.CpuRealtimePeriod",
    "HostConfig.CpuRealtimeRuntime",
    "HostConfig.CpusetMems",
    "HostConfig.DeviceCgroupRules",
    "HostConfig.DeviceRequests",
    "HostConfig.Devices",
    "HostConfig.Dns",
    "HostConfig.DnsOptions",
    "HostConfig.DnsSearch",
    "HostConfig.ExtraHosts",
    "HostConfig.GroupAdd",
    "HostConfig.IOMaximumBandwidth",
    "HostConfig.IOMaximumIOps",
    "HostConfig.IpcMode",
    "HostConfig.Isolation",
    "HostConfig.KernelMemory",
    "HostConfig.KernelMemoryTCP",
    "HostConfig.Links",
    "HostConfig.MemorySwappiness",
    "HostConfig.OomKillDisable",
    "HostConfig.PidMode",
    "HostConfig.PortBindings",
    "HostConfig.Privileged",
    "HostConfig.PublishAllPorts",
    "HostConfig.Runtime",
    "HostConfig.SecurityOpt",
    "HostConfig.ShmSize",
    "HostConfig.UTSMode",
    "HostConfig.Ulimits",
    "HostConfig.UsernsMode",
    "HostConfig.VolumeDriver",
    "HostConfig.VolumesFrom",
    "NetworkSettings",
];

/// Keys berth shows that this docker does not: `Config.StopSignal` is
/// omitted by docker unless set, while berth's record always holds one.
const BERTH_ONLY: &[&str] = &["Config.StopSignal"];

/// Runs one command of a tool and waits for it.
type Runner<'a> = Box<dyn Fn(&[&str]) -> Output + 'a>;

/// One tool's view of the same steps: how to run a command, and the names it
/// gave its image and containers.
struct Side<'a> {
    run: Runner<'a>,
    image: String,
    running: String,
    exited: String,
}

impl Side<'_> {
    fn run(&self, args: &[&str]) -> Output {
        (self.run)(args)
    }

    /// The id of container `name`.
    fn id(&self, name: &str) -> String {
        let out = self.run(&["inspect", "-f", "{{.Id}}", name]);
        out.stdout.trim().to_string()
    }

    /// Code, stdout and stderr with this side's ids, names and image named
    /// alike, and the program's own prefix (`ch04: `) taken off.
    fn step(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.run(args);
        let mut pairs = Vec::new();
        for (name, placeholder) in [(&self.running, "RUNNING"), (&self.exited, "EXITED")] {
            let id = self.id(name);
            if !id.is_empty() {
                pairs.push((id.clone(), format!("<{placeholder}-ID>")));
                pairs.push((id[..12].to_string(), format!("<{placeholder}-ID>")));
            }
            pairs.push((name.clone(), placeholder.to_string()));
        }
        pairs.push((self.image.clone(), "IMAGE".to_string()));
        let clean = |text: &str| {
            let mut text = text.strip_prefix("ch04: ").unwrap_or(text).to_string();
            for (from, to) in &pairs {
                text = text.replace(from.as_str(), to);
            }
            text
        };
        (out.code, clean(&out.stdout), clean(&out.stderr))
    }

    /// `ps -a` of one container in the given format, with times replaced.
    fn ps(&self, name: &str) -> String {
        let out = self.step(&[
            "ps",
            "-a",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Image}} {{.Command}} {{.Status}}",
        ]);
        assert_eq!(out.0, 0, "{out:?}");
        without_times(out.1.trim())
    }

    /// The inspect keys of container `name`: the top level, and one level
    /// into State, Config and HostConfig.
    fn inspect_keys(&self, name: &str) -> BTreeSet<String> {
        let out = self.run(&["inspect", name]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let all: Value = serde_json::from_str(&out.stdout).expect("inspect prints JSON");
        let object = all[0].as_object().expect("one object");
        let mut keys = BTreeSet::new();
        for (key, value) in object {
            keys.insert(key.clone());
            if ["State", "Config", "HostConfig"].contains(&key.as_str())
                && let Some(inner) = value.as_object()
            {
                keys.extend(inner.keys().map(|k| format!("{key}.{k}")));
            }
        }
        keys
    }
}

/// `Up 3 seconds` and `Exited (3) 2 minutes ago` with the durations replaced.
fn without_times(status_line: &str) -> String {
    if let Some((before, _)) = status_line.split_once(" Up ") {
        return format!("{before} Up <T>");
    }
    if let Some((before, after)) = status_line.split_once(" Exited (")
        && let Some((code, _)) = after.split_once(") ")
    {
        return format!("{before} Exited ({code}) <T> ago");
    }
    status_line.to_string()
}

#[test]
fn the_state_machine_ps_logs_exec_and_inspect_answer_as_docker_does() {
    let Some(docker) = Docker::connect("ch04 oracle") else {
        return;
    };
    let Some(w) = World::new("ch04 oracle") else {
        return;
    };
    let w = Guarded::new(w);
    let image = docker.name("busybox");
    docker.import(w.env.rootfs(), &image);
    let theirs = Side {
        run: Box::new(|args| docker.run(args)),
        image: image.clone(),
        running: docker.name("running"),
        exited: docker.name("exited"),
    };
    let ours = Side {
        run: Box::new(|args| w.ch04(args)),
        image: "busybox".into(),
        running: "berth-running".into(),
        exited: "berth-exited".into(),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compare(&theirs, &ours)));
    let _ = docker.run(&["rm", "-f", &theirs.running, &theirs.exited]);
    drop((theirs, ours));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    w.clean_up();
}

fn compare(theirs: &Side, ours: &Side) {
    for side in [theirs, ours] {
        let network: &[&str] = match std::ptr::eq(side, theirs) {
            // The oracle has no bridge; berth has no networking before chapter 07.
            true => &["--network", "none"],
            false => &[],
        };
        let mut run = vec!["run", "-d", "--name", &side.running];
        run.extend(network);
        run.extend([
            &side.image,
            "sh",
            "-c",
            "echo one; echo two; echo three; sleep 1000",
        ]);
        assert_eq!(side.run(&run).code, 0);
        let mut exited = vec!["run", "--name", &side.exited];
        exited.extend(network);
        exited.extend([&side.image, "sh", "-c", "exit 3"]);
        assert_eq!(side.run(&exited).code, 3, "a foreground run's code");
        assert!(eventually(Duration::from_secs(10), || {
            side.run(&["logs", &side.running]).stdout.contains("three")
        }));
    }
    let same = |args: &[&str]| {
        let name = |s: &Side, a: &str| match a {
            "RUNNING" => s.running.clone(),
            "EXITED" => s.exited.clone(),
            other => other.to_string(),
        };
        let for_side = |s: &Side| -> Vec<String> { args.iter().map(|a| name(s, a)).collect() };
        let (t, o) = (for_side(theirs), for_side(ours));
        let t: Vec<&str> = t.iter().map(String::as_str).collect();
        let o: Vec<&str> = o.iter().map(String::as_str).collect();
        (theirs.step(&t), ours.step(&o))
    };
    let exactly = |args: &[&str]| {
        let (t, o) = same(args);
        assert_eq!(o, t, "berth and docker differ on {args:?}");
    };
    let code_only = |args: &[&str]| {
        let (t, o) = same(args);
        assert_eq!(o.0, t.0, "exit codes differ on {args:?}: {t:?} {o:?}");
    };

    exactly(&["start", "RUNNING"]);
    exactly(&["pause", "EXITED"]);
    exactly(&["unpause", "RUNNING"]);
    exactly(&["rm", "RUNNING"]);
    exactly(&["kill", "EXITED"]);
    exactly(&["wait", "EXITED"]);
    exactly(&["logs", "--tail", "2", "RUNNING"]);
    // The runtime's own messages differ from runc's (docker prints them on
    // stdout, berth on stderr); the codes are docker 20.10's.
    code_only(&["exec", "RUNNING", "no-such-command"]);
    code_only(&["exec", "RUNNING", "/"]);
    exactly(&["exec", "RUNNING", "sh", "-c", "echo out; exit 5"]);
    exactly(&["exec", "EXITED", "true"]);
    exactly(&["restart", "-t", "1", "EXITED"]);
    exactly(&["pause", "RUNNING"]);
    exactly(&["pause", "RUNNING"]);
    exactly(&["exec", "RUNNING", "true"]);
    exactly(&["unpause", "RUNNING"]);
    exactly(&["stop", "-t", "1", "EXITED"]);
    // docker says "Error response from daemon: No such container"; berth,
    // without a daemon, "Error: No such container".
    code_only(&["rm", "no-such-container"]);

    for name in ["RUNNING", "EXITED"] {
        let (t, o) = (
            theirs.ps(if name == "RUNNING" {
                &theirs.running
            } else {
                &theirs.exited
            }),
            ours.ps(if name == "RUNNING" {
                &ours.running
            } else {
                &ours.exited
            }),
        );
        assert_eq!(o, t, "ps -a of {name}");
    }

    let theirs_keys = theirs.inspect_keys(&theirs.running);
    let ours_keys = ours.inspect_keys(&ours.running);
    let missing: Vec<&str> = theirs_keys
        .difference(&ours_keys)
        .map(String::as_str)
        .collect();
    let extra: Vec<&str> = ours_keys
        .difference(&theirs_keys)
        .map(String::as_str)
        .collect();
    assert_eq!(missing, LEFT_OUT, "docker's inspect keys berth leaves out");
    assert_eq!(extra, BERTH_ONLY, "inspect keys only berth shows");
}
