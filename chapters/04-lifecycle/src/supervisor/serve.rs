//! The supervisor's life: one thread, one poll loop. It creates and starts the
//! container, copies its output into the log and to attached clients, answers
//! requests on its socket, reaps the init, records the exit, and applies the
//! restart policy.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use berth_engine::Engine;
use berth_engine::oci_spec::runtime::Spec;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::protocol::{self, EXIT, Made, Reply, Request, STDERR, STDOUT};
use super::runtime::{self, Created, Setup, StartFailure};
use crate::events;
use crate::logs::{LogWriter, Stream};
use crate::record::{ContainerRecord, Containers, now_rfc3339, own_pid_and_start_time};
use crate::restart::Backoff;
use crate::state::Status;

/// What the supervisor could not do before the container ran.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The socket, signals or record could not be set up.
    #[error("{what}: {reason}")]
    Setup {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The runtime failed.
    #[error(transparent)]
    Start(#[from] StartFailure),
}

impl SuperviseError {
    fn setup(what: &'static str) -> impl FnOnce(String) -> Self {
        move |reason| SuperviseError::Setup { what, reason }
    }

    /// docker's exit code class of the failure.
    pub fn code(&self) -> i32 {
        match self {
            SuperviseError::Start(f) => f.code,
            SuperviseError::Setup { .. } => berth_engine::error::exit::USAGE,
        }
    }
}

/// A connected client and what it asked for.
struct Client {
    stream: UnixStream,
    request: Vec<u8>,
    role: Role,
}

#[derive(Debug, PartialEq, Eq)]
enum Role {
    /// Its request line has not arrived yet.
    Pending,
    /// Streams output; forwards input when `stdin`.
    Attached { stdin: bool },
    /// Streams output; its input has ended (not polled any more: a half-closed
    /// socket always reads as ready).
    Listening,
    /// Waits for the exit code.
    Waiting,
    /// Done: drop it.
    Gone,
}

/// One run of the container's process.
struct Run {
    created: Created,
    started: Instant,
}

/// Why the poll loop returned.
#[derive(Debug, PartialEq, Eq)]
enum Wake {
    /// The init ended with this exit code.
    Exited(i32),
    /// The starting command said "start".
    StartAsked,
    /// The starting command went away before saying it.
    StarterGone,
    /// The deadline passed.
    Timeout,
    /// A user signalled during a back-off (a stop or kill).
    Interrupted,
}

/// The supervisor of one container.
pub struct Supervisor<'a> {
    engine: &'a Engine,
    containers: Containers,
    id: String,
    listener: UnixListener,
    socket: PathBuf,
    socket_inode: u64,
    signals: SignalFd,
    clients: Vec<Client>,
    ready: Option<UnixStream>,
    log: LogWriter<std::fs::File>,
    /// Input an attached client sent before the container started.
    early_stdin: Vec<u8>,
    /// Whether that client's input already ended.
    early_stdin_closed: bool,
    /// Foreground execs: their processes are ours to relay and reap.
    execs: super::exec::Sessions,
    /// The record's part the first create needs, when the record is still
    /// being written (see [`Supervisor::with_made`]).
    made: Option<Made>,
}

impl<'a> Supervisor<'a> {
    /// Becomes subreaper, takes SIGCHLD and SIGTERM as data, listens on the socket.
    pub fn new(engine: &'a Engine, id: &str) -> Result<Self, SuperviseError> {
        // SAFETY: prctl with integer arguments only.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        Errno::result(rc)
            .map_err(|e| SuperviseError::setup("becoming subreaper")(e.to_string()))?;
        let mut set = SigSet::empty();
        set.add(Signal::SIGCHLD);
        set.add(Signal::SIGTERM);
        set.add(Signal::SIGINT);
        set.add(Signal::SIGHUP);
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .map_err(|e| SuperviseError::setup("blocking signals")(e.to_string()))?;
        // A client that goes away mid-write must not kill us.
        // SAFETY: setting a signal's disposition to ignore runs no code of ours.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| SuperviseError::setup("creating a signalfd")(e.to_string()))?;
        let containers = Containers::open(engine)
            .map_err(|e| SuperviseError::setup("opening the record")(e.to_string()))?;
        engine
            .paths
            .run_dir("sv")
            .map_err(|e| SuperviseError::setup("creating the socket directory")(e.to_string()))?;
        let socket = protocol::socket_path(engine, id);
        // A socket left by a supervisor that died is in the way; a live one's
        // container would not be startable.
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket)
            .map_err(|e| SuperviseError::setup("listening on the socket")(e.to_string()))?;
        let socket_inode = std::fs::metadata(&socket).map(|m| m.ino()).unwrap_or(0);
        let log = LogWriter::open(&containers.log_path(id))
            .map_err(|e| SuperviseError::setup("opening the log")(e.to_string()))?;
        Ok(Supervisor {
            engine,
            containers,
            id: id.into(),
            listener,
            socket,
            socket_inode,
            signals,
            clients: Vec::new(),
            ready: None,
            log,
            early_stdin: Vec::new(),
            early_stdin_closed: false,
            execs: super::exec::Sessions::default(),
            made: None,
        })
    }

    /// The channel to the starting command, which says when to start.
    pub fn with_ready(mut self, ready: Option<UnixStream>) -> Self {
        self.ready = ready;
        self
    }

    /// What the starting command said of a container whose record it is
    /// still writing; `None`: the record is there to read.
    pub fn with_made(mut self, made: Option<Made>) -> Self {
        self.made = made;
        self
    }

    // ANCHOR: supervisor_life
    /// The whole life: first start (reported on the ready channel), then runs
    /// and restarts until the container ends for good.
    pub fn live(mut self) -> i32 {
        let mut run = match self.first_start() {
            Ok(Some(run)) => run,
            Ok(None) => return self.leave(0),
            Err(e) => {
                self.report(&format!("error {} {}\n", e.code(), e));
                let message = e.to_string();
                let _ = self
                    .containers
                    .update(&self.id, |r| r.state.error = message);
                return self.leave(1);
            }
        };
        let mut backoff = Backoff::default();
        loop {
            let code = match self.pump(Some(&mut run), None) {
                Wake::Exited(code) => code,
                other => unreachable!("a run ends with its exit, not {other:?}"),
            };
            let ran_for = run.started.elapsed();
            let restart = self.finish(run, code);
            if !restart {
                break;
            }
            let delay = backoff.next(ran_for);
            let deadline = Instant::now() + delay;
            while self.pump(None, Some(deadline)) == Wake::Interrupted {
                if self.stopped_by_user() {
                    break;
                }
            }
            if self.stopped_by_user() {
                let _ = self
                    .containers
                    .update(&self.id, |r| r.state.status = Status::Exited);
                break;
            }
            run = match self.create().and_then(|created| self.start(created, true)) {
                Ok(run) => run,
                Err(e) => {
                    let message = e.to_string();
                    let code = e.code();
                    let _ = self.containers.update(&self.id, |r| {
                        r.state.status = Status::Exited;
                        r.state.exit_code = code;
                        r.state.error = message;
                    });
                    break;
                }
            };
        }
        self.leave(0)
    }
    // ANCHOR_END: supervisor_life

    /// Creates the container, says "created", waits for "start", starts it.
    /// `None`: the starting command went away first.
    fn first_start(&mut self) -> Result<Option<Run>, SuperviseError> {
        let created = self.create()?;
        self.report("created\n");
        if self.ready.is_some() {
            match self.pump(None, None) {
                Wake::StartAsked => {}
                _ => {
                    let _ = kill(Pid::from_raw(created.pid), Signal::SIGKILL);
                    runtime::delete(self.engine, &self.id);
                    reap_all();
                    // The command left before the start: perhaps before it
                    // wrote the record. Whoever starts the container later
                    // mounts its root again.
                    let bundle = self.containers.dir(&self.id);
                    let driver = crate::commands::create::root_filesystem_driver(self.engine);
                    let _ = driver.unmount(self.engine, &bundle);
                    return Ok(None);
                }
            }
        }
        let run = self.start(created, false)?;
        // What a foreground client typed before the start goes in first.
        write_stdin(&run, &std::mem::take(&mut self.early_stdin));
        if self.early_stdin_closed {
            close_stdin(&run);
        }
        self.report("started\n");
        self.ready = None;
        Ok(Some(run))
    }

    fn create(&mut self) -> Result<Created, SuperviseError> {
        let made = match self.made.take() {
            Some(made) => made,
            None => Made::of(
                &self
                    .containers
                    .load(&self.id)
                    .map_err(|e| SuperviseError::setup("reading the record")(e.to_string()))?,
            ),
        };
        let bundle = self.containers.dir(&self.id);
        if made.image_root {
            crate::commands::create::root_filesystem_driver(self.engine)
                .mount(self.engine, &bundle)
                .map_err(|e| {
                    SuperviseError::setup("mounting the root filesystem")(e.to_string())
                })?;
        }
        let scratch = self.socket.with_extension("");
        let setup = Setup {
            bundle: &bundle,
            id: &self.id,
            open_stdin: made.open_stdin,
            tty: made.tty,
            scratch,
        };
        Ok(runtime::create(self.engine, &setup)?)
    }

    /// `runtime start`, then the record says Running.
    fn start(&mut self, created: Created, restarted: bool) -> Result<Run, SuperviseError> {
        if let Err(e) = runtime::start(self.engine, &self.id) {
            let _ = kill(Pid::from_raw(created.pid), Signal::SIGKILL);
            runtime::delete(self.engine, &self.id);
            reap_all();
            return Err(e.into());
        }
        let pid = created.pid;
        let pid_start_time = berth_isolation::runtime::record::start_time(pid).unwrap_or(0);
        let (me, my_start) = own_pid_and_start_time();
        let (record, ()) = self
            .containers
            .update(&self.id, |r| {
                let s = &mut r.state;
                s.status = Status::Running;
                s.pid = pid;
                s.pid_start_time = pid_start_time;
                s.supervisor_pid = me;
                s.supervisor_start_time = my_start;
                s.started_at = now_rfc3339();
                s.exit_code = 0;
                s.oom_killed = false;
                s.error.clear();
                if !restarted {
                    s.stopped_by_user = false;
                }
            })
            .map_err(|e| SuperviseError::setup("recording the start")(e.to_string()))?;
        events::emit(
            self.engine,
            &record,
            if restarted { "restart" } else { "start" },
            &[],
        );
        Ok(Run {
            created,
            started: Instant::now(),
        })
    }

    // ANCHOR: supervisor_finish
    /// After the init ended: OOM?, record, release, tell the clients. Returns
    /// whether the restart policy starts it again.
    fn finish(&mut self, run: Run, code: i32) -> bool {
        let oom = code == 137 && self.oom_killed();
        let decided = self.record_exit(code, oom);
        // A container removed as it ends keeps its cgroup and the runtime's
        // state until its client has the exit code (see below); any other's
        // go first, killing what is left of it before its output is read.
        let removed = matches!(&decided, Some((record, false)) if record.auto_remove);
        if !removed {
            runtime::delete(self.engine, &self.id);
        }
        self.drain(run);
        let _ = self.log.flush_partial(SystemTime::now());
        let Some((record, restart)) = decided else {
            self.notify_exit(code, true);
            return false;
        };
        if oom {
            events::emit(self.engine, &record, "oom", &[]);
        }
        events::emit(
            self.engine,
            &record,
            "die",
            &[("exitCode", code.to_string())],
        );
        if removed {
            // docker's rule: once `run --rm` returns, `ps -a` no longer lists
            // the container. Hiding it is enough for that; its cgroup, the
            // runtime's state and its files can go once the client has its
            // exit code. Its pid namespace died with its init: nothing of it
            // runs meanwhile (with a shared one, the runtime kills the rest).
            let trashed = crate::commands::rm::hide(self.engine, &record);
            self.notify_exit(code, true);
            runtime::delete(self.engine, &self.id);
            if let Some(trashed) = trashed {
                trashed.delete(self.engine);
            }
            return false;
        }
        self.notify_exit(code, !restart);
        restart
    }

    /// Writes the exit into the record and says whether the restart policy
    /// starts the container again. A `--rm` container that stays down is only
    /// read: it is removed next, and writing first would cost a lock and two
    /// fsyncs for a record nobody reads.
    fn record_exit(&self, code: i32, oom: bool) -> Option<(ContainerRecord, bool)> {
        let restarts = |r: &ContainerRecord| {
            r.restart_policy
                .should_restart(code, r.state.restart_count, r.state.stopped_by_user)
        };
        let record = self.containers.load(&self.id).ok()?;
        if record.auto_remove && !restarts(&record) {
            return Some((record, false));
        }
        let now = now_rfc3339();
        let updated = self.containers.update(&self.id, |r| {
            let restart = restarts(r);
            let s = &mut r.state;
            s.status = if restart {
                Status::Restarting
            } else {
                Status::Exited
            };
            s.exit_code = code;
            s.oom_killed = oom;
            s.finished_at = now;
            s.pid = 0;
            s.pid_start_time = 0;
            if restart {
                s.restart_count += 1;
            }
            restart
        });
        updated.ok()
    }

    /// Whether the kernel's OOM killer ended the container. Asked only after
    /// an exit by SIGKILL (137), the only way an OOM kill ends, so the spec
    /// (which names the cgroup) is read only then.
    fn oom_killed(&self) -> bool {
        let spec: Option<Spec> = std::fs::read(self.containers.dir(&self.id).join("config.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        spec.zip(self.engine.cgroups())
            .is_some_and(|(spec, cgroups)| cgroups.oom_killed(&spec))
    }
    // ANCHOR_END: supervisor_finish

    fn stopped_by_user(&self) -> bool {
        self.containers
            .load(&self.id)
            .map_or(true, |r| r.state.stopped_by_user)
    }

    /// Copies what is left in the pipes once every writer is gone.
    fn drain(&mut self, run: Run) {
        let Created {
            stdout,
            stderr,
            console,
            ..
        } = run.created;
        for (fd, stream) in [
            (stdout, Stream::Stdout),
            (stderr, Stream::Stderr),
            (console, Stream::Stdout),
        ] {
            if let Some(fd) = fd {
                let _ = nix::fcntl::fcntl(
                    &fd,
                    nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
                );
                while self.copy_out(fd.as_fd(), stream) {}
            }
        }
    }

    /// Reads one chunk of output into the log and the attached clients; false
    /// at the end (or nothing to read).
    fn copy_out(&mut self, fd: BorrowedFd<'_>, stream: Stream) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let n = match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let _ = self.log.write(stream, &buf[..n], SystemTime::now());
        let kind = match stream {
            Stream::Stdout => STDOUT,
            Stream::Stderr => STDERR,
        };
        let frame = protocol::frame(kind, &buf[..n]);
        for client in &mut self.clients {
            if matches!(client.role, Role::Attached { .. } | Role::Listening)
                && client.stream.write_all(&frame).is_err()
            {
                client.role = Role::Gone;
            }
        }
        true
    }

    /// Ends every attached client; answers the waiting ones only when the
    /// container ended for good (`wait` does not return while it restarts,
    /// as in docker, where a restarting container still counts as running).
    fn notify_exit(&mut self, code: i32, for_good: bool) {
        let reply = line(&Reply {
            ok: true,
            exit_code: Some(code),
            error: None,
        });
        let frame = protocol::frame(EXIT, code.to_string().as_bytes());
        for client in &mut self.clients {
            match client.role {
                Role::Waiting if for_good => {
                    let _ = client.stream.write_all(&reply);
                    client.role = Role::Gone;
                }
                Role::Attached { .. } | Role::Listening => {
                    let _ = client.stream.write_all(&frame);
                    client.role = Role::Gone;
                }
                _ => {}
            }
        }
        self.clients.retain(|c| c.role != Role::Gone);
    }

    // ANCHOR: poll_loop
    /// The one loop: signals, the socket, the ready channel, the output, the
    /// clients. Returns when something the caller waits for happened.
    fn pump(&mut self, mut run: Option<&mut Run>, deadline: Option<Instant>) -> Wake {
        loop {
            let timeout = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Wake::Timeout;
                    }
                    PollTimeout::try_from(left.as_millis().min(60_000) as u32 + 1)
                        .unwrap_or(PollTimeout::MAX)
                }
            };
            // Raw numbers, so the run stays free to be changed in the loop; a
            // descriptor is closed only through its slot, after its last use.
            let outputs: Vec<(RawFd, Stream, usize)> = run
                .as_ref()
                .map(|r| {
                    let c = &r.created;
                    [
                        (&c.stdout, Stream::Stdout),
                        (&c.stderr, Stream::Stderr),
                        (&c.console, Stream::Stdout),
                    ]
                    .into_iter()
                    .enumerate()
                    .filter_map(|(slot, (fd, s))| fd.as_ref().map(|fd| (fd.as_raw_fd(), s, slot)))
                    .collect()
                })
                .unwrap_or_default();
            let mut fds = vec![
                PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.listener.as_fd(), PollFlags::POLLIN),
            ];
            let ready_at = self.ready.as_ref().map(|r| {
                fds.push(PollFd::new(r.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            let outputs_at = fds.len();
            // SAFETY: each descriptor is owned by the run, which outlives this poll.
            let borrowed: Vec<BorrowedFd> = outputs
                .iter()
                .map(|(fd, _, _)| unsafe { BorrowedFd::borrow_raw(*fd) })
                .collect();
            fds.extend(
                borrowed
                    .iter()
                    .map(|fd| PollFd::new(*fd, PollFlags::POLLIN)),
            );
            let clients_at = fds.len();
            let polled: Vec<usize> = (0..self.clients.len())
                .filter(|&i| self.clients[i].role != Role::Listening)
                .collect();
            fds.extend(
                polled
                    .iter()
                    .map(|&i| PollFd::new(self.clients[i].stream.as_fd(), PollFlags::POLLIN)),
            );
            let execs_at = fds.len();
            fds.extend(self.execs.poll_fds());
            match poll(&mut fds, timeout) {
                Err(Errno::EINTR) | Ok(0) => continue,
                Err(_) => return Wake::Timeout,
                Ok(_) => {}
            }
            let fired: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            self.execs.dispatch(&fired[execs_at..]);
            for (i, (_, stream, slot)) in outputs.iter().enumerate() {
                if fired[outputs_at + i] && !self.copy_out(borrowed[i], *stream) {
                    // End of file: stop polling it (a closed pipe is always "ready").
                    close_output(run.as_deref_mut(), *slot);
                }
            }
            let mut interrupted = false;
            for (k, &i) in polled.iter().enumerate() {
                if fired[clients_at + k] {
                    interrupted |= self.serve_client(i, run.as_deref());
                }
            }
            self.clients.retain(|c| c.role != Role::Gone);
            if fired[1]
                && let Ok((stream, _)) = self.listener.accept()
            {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                self.clients.push(Client {
                    stream,
                    request: Vec::new(),
                    role: Role::Pending,
                });
            }
            if let Some(at) = ready_at
                && fired[at]
            {
                return match self.ready.as_mut().map(protocol::read_line) {
                    Some(Ok(Some(line))) if line == "start" => Wake::StartAsked,
                    _ => Wake::StarterGone,
                };
            }
            if fired[0]
                && let Some(code) = self.handle_signals(run.as_deref())
            {
                return Wake::Exited(code);
            }
            if interrupted && run.is_none() {
                return Wake::Interrupted;
            }
        }
    }
    // ANCHOR_END: poll_loop

    /// Reaps children; the init's exit code when it ended. SIGTERM and friends
    /// sent to the supervisor go on to the container.
    fn handle_signals(&mut self, run: Option<&Run>) -> Option<i32> {
        while let Ok(Some(info)) = self.signals.read_signal() {
            let signo = info.ssi_signo as i32;
            if signo != libc::SIGCHLD
                && let Some(run) = run
                && let Ok(signal) = Signal::try_from(signo)
            {
                let _ = kill(Pid::from_raw(run.created.pid), signal);
            }
        }
        let init = run.map(|r| r.created.pid);
        let mut exited = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if Some(pid.as_raw()) == init => {
                    exited = Some(code)
                }
                Ok(WaitStatus::Signaled(pid, signal, _)) if Some(pid.as_raw()) == init => {
                    exited = Some(128 + signal as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(other) => self.execs.reaped(&other),
            }
        }
        exited
    }

    /// Reads from client `i`; true when it was a signal request (a user stop).
    fn serve_client(&mut self, i: usize, run: Option<&Run>) -> bool {
        let mut buf = [0u8; 8192];
        // An error reads as the client leaving.
        let n = self.clients[i].stream.read(&mut buf).unwrap_or_default();
        let client = &mut self.clients[i];
        if let Role::Attached { stdin } = client.role {
            if n == 0 {
                // The client's input ended (or, without stdin, it left).
                client.role = match stdin {
                    true => Role::Listening,
                    false => Role::Gone,
                };
                match (stdin, run) {
                    (true, Some(run)) => close_stdin(run),
                    (true, None) => self.early_stdin_closed = true,
                    _ => {}
                }
                return false;
            }
            match (stdin, run) {
                (true, Some(run)) => write_stdin(run, &buf[..n]),
                (true, None) => self.early_stdin.extend_from_slice(&buf[..n]),
                _ => {}
            }
            return false;
        }
        if n == 0 {
            client.role = Role::Gone;
            return false;
        }
        if client.role != Role::Pending {
            return false;
        }
        client.request.extend_from_slice(&buf[..n]);
        let Some(end) = client.request.iter().position(|&b| b == b'\n') else {
            return false;
        };
        let rest = client.request.split_off(end + 1);
        let request: Result<Request, _> = serde_json::from_slice(&client.request[..end]);
        let (reply, role, signalled) = match request {
            Ok(Request::Wait) => (None, Role::Waiting, false),
            Ok(Request::Attach { stdin }) => (
                Some(Reply {
                    ok: true,
                    ..Reply::default()
                }),
                Role::Attached { stdin },
                false,
            ),
            Ok(Request::Signal { signal }) => {
                let result = match (run, Signal::try_from(signal)) {
                    (Some(run), Ok(sig)) => {
                        kill(Pid::from_raw(run.created.pid), sig).map_err(|e| e.to_string())
                    }
                    (None, Ok(_)) => Ok(()),
                    (_, Err(e)) => Err(e.to_string()),
                };
                (Some(result_reply(result)), Role::Gone, true)
            }
            Ok(Request::Exec { args }) => {
                let reply = match super::exec::run_detached(&args) {
                    Ok(()) => result_reply(Ok(())),
                    Err((code, message)) => Reply {
                        ok: false,
                        exit_code: Some(code),
                        error: Some(message),
                    },
                };
                (Some(reply), Role::Gone, false)
            }
            Ok(Request::ExecAttached { args, stdin, tty }) => {
                if let Ok(stream) = client.stream.try_clone() {
                    let scratch = self.socket.with_extension("");
                    let request = super::exec::ExecRequest {
                        args: &args,
                        stdin,
                        tty,
                        scratch: &scratch,
                    };
                    self.execs.start(stream, &request);
                }
                (None, Role::Gone, false)
            }
            Ok(Request::Resize { rows, cols }) => {
                let result = match run.and_then(|r| r.created.console.as_ref()) {
                    Some(master) => resize(master.as_fd(), rows, cols),
                    None => Err("the container has no terminal".into()),
                };
                (Some(result_reply(result)), Role::Gone, false)
            }
            Err(e) => (
                Some(result_reply(Err(format!("bad request: {e}")))),
                Role::Gone,
                false,
            ),
        };
        if let Some(reply) = reply
            && client.stream.write_all(&line(&reply)).is_err()
        {
            client.role = Role::Gone;
            return signalled;
        }
        client.role = role;
        if client.role == (Role::Attached { stdin: true }) && !rest.is_empty() {
            match run {
                Some(run) => write_stdin(run, &rest),
                None => self.early_stdin.extend_from_slice(&rest),
            }
        }
        signalled
    }

    /// Writes a line on the ready channel (ignored when nobody listens).
    fn report(&mut self, text: &str) {
        if let Some(ready) = &mut self.ready {
            let _ = ready.write_all(text.as_bytes());
        }
    }

    /// Last words: tell remaining clients, remove our socket (not a successor's).
    fn leave(mut self, code: i32) -> i32 {
        let record = self.containers.load(&self.id);
        if let Ok(record) = &record
            && record.external_rootfs.is_none()
        {
            let bundle = self.containers.dir(&self.id);
            let _ = crate::commands::create::root_filesystem_driver(self.engine)
                .unmount(self.engine, &bundle);
        }
        let last = record.map_or(code, |r| r.state.exit_code);
        self.notify_exit(last, true);
        self.execs.end_all();
        let ours = std::fs::metadata(&self.socket).is_ok_and(|m| m.ino() == self.socket_inode);
        if ours {
            let _ = std::fs::remove_file(&self.socket);
        }
        code
    }
}

fn line(reply: &Reply) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(reply).expect("a reply serialises");
    bytes.push(b'\n');
    bytes
}

fn result_reply(result: Result<(), String>) -> Reply {
    match result {
        Ok(()) => Reply {
            ok: true,
            ..Reply::default()
        },
        Err(e) => Reply {
            ok: false,
            exit_code: None,
            error: Some(e),
        },
    }
}

fn close_output(run: Option<&mut Run>, slot: usize) {
    let Some(run) = run else { return };
    let c = &mut run.created;
    match slot {
        0 => c.stdout = None,
        1 => c.stderr = None,
        _ => c.console = None,
    }
}

fn write_stdin(run: &Run, bytes: &[u8]) {
    let target = run.created.stdin.as_ref().or(run.created.console.as_ref());
    if let Some(fd) = target
        && let Ok(copy) = fd.try_clone()
    {
        let _ = std::fs::File::from(copy).write_all(bytes);
    }
}

fn close_stdin(run: &Run) {
    if let Some(fd) = &run.created.stdin {
        // Shut the pipe for the container by replacing our end with nothing:
        // dup2 /dev/null over it keeps the descriptor number valid for the run.
        if let Ok(null) = std::fs::File::open("/dev/null") {
            // SAFETY: both descriptors are open; dup2 replaces the second.
            unsafe { libc::dup2(null.as_raw_fd(), fd.as_raw_fd()) };
        }
    }
}

fn resize(master: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), String> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize we own.
    let rc = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    Errno::result(rc).map(drop).map_err(|e| e.to_string())
}

/// Reaps whatever children have ended.
fn reap_all() {
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}
