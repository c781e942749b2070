//! The whole docker-compatible command line, declared once.
//!
//! Every command and flag carries the chapter that teaches it: flags through their
//! help heading (one heading per chapter, see [`CHAPTERS`]), commands through
//! [`command_chapter`]. A chapter binary registers chapters 1..N; the engine refuses
//! what a later chapter teaches (see `gate.rs`). Flags of later chapters are plain
//! strings here: their typed parsers belong to the chapter that teaches them.
//!
//! Every subcommand enum is `defer`red: clap declares each command's name and about
//! up front but fills in its flags only when the parser reaches it, so a command
//! line pays for the one command it runs, not for the hundreds of flags of the
//! whole surface (about a millisecond at every start).
//!
//! The doc comments are also the help text, word for word docker's, placeholders
//! like `<uid>` and `[:TAG]` included, which rustdoc would otherwise take for
//! HTML tags and links.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

use clap::{Args, Parser, Subcommand};

/// Chapter number and short name, in book order; the help headings are built from it.
pub const CHAPTERS: &[(u8, &str)] = &[
    (1, "isolation"),
    (2, "resources"),
    (3, "images"),
    (4, "lifecycle"),
    (5, "union mount"),
    (6, "volumes"),
    (7, "networking"),
    (8, "registry"),
    (9, "build"),
    (10, "berth"),
];

/// Help heading of the flags chapter 01 teaches.
pub const CH01: &str = "Chapter 01 · isolation";
/// Help heading of the flags chapter 02 teaches.
pub const CH02: &str = "Chapter 02 · resources";
/// Help heading of the flags chapter 03 teaches.
pub const CH03: &str = "Chapter 03 · images";
/// Help heading of the flags chapter 04 teaches.
pub const CH04: &str = "Chapter 04 · lifecycle";
/// Help heading of the flags chapter 05 teaches.
pub const CH05: &str = "Chapter 05 · union mount";
/// Help heading of the flags chapter 06 teaches.
pub const CH06: &str = "Chapter 06 · volumes";
/// Help heading of the flags chapter 07 teaches.
pub const CH07: &str = "Chapter 07 · networking";
/// Help heading of the flags chapter 08 teaches.
pub const CH08: &str = "Chapter 08 · registry";
/// Help heading of the flags chapter 09 teaches.
pub const CH09: &str = "Chapter 09 · build";
/// Help heading of the flags chapter 10 teaches.
pub const CH10: &str = "Chapter 10 · berth";

/// The chapter a help heading names, if it is one of the chapter headings.
pub fn heading_chapter(heading: &str) -> Option<u8> {
    let rest = heading.strip_prefix("Chapter ")?;
    rest.get(..2)?.parse().ok()
}

/// The short name of chapter `n` ("networking" for 7).
pub fn chapter_name(n: u8) -> &'static str {
    CHAPTERS
        .iter()
        .find(|(k, _)| *k == n)
        .map_or("?", |(_, name)| name)
}

/// The chapter that teaches a (sub)command, by its path of names (`["image", "pull"]`).
pub fn command_chapter(path: &[&str]) -> u8 {
    match path {
        ["runtime", ..] | ["run"] | ["container"] => 1,
        ["supervise"] => 4,
        ["image"] => 3,
        ["container" | "image", leaf] => match *leaf {
            "ls" | "list" | "ps" if path[0] == "container" => 4,
            "ls" | "list" => 3,
            "rm" | "remove" if path[0] == "image" => 3,
            "inspect" if path[0] == "image" => 3,
            "prune" if path[0] == "image" => 3,
            "pull" | "push" => 8,
            "build" => 9,
            other => command_chapter(&[other]),
        },
        ["volume", ..] => 6,
        ["network", ..] => 7,
        ["registry", ..] => 8,
        ["system", ..] => 10,
        [top, ..] => match *top {
            "load" | "save" | "import" | "tag" | "rmi" | "images" | "history" | "inspect" => 3,
            "create" | "start" | "stop" | "kill" | "restart" | "pause" | "unpause" | "wait"
            | "rm" | "ps" | "logs" | "attach" | "exec" | "top" | "stats" | "rename" | "update"
            | "container" | "prune" => 4,
            "diff" | "commit" | "export" | "cp" => 5,
            "port" => 7,
            "pull" | "push" | "login" | "logout" | "search" => 8,
            "build" => 9,
            _ => 10,
        },
        [] => 1,
    }
}

/// berth: a container engine you can read, chapter by chapter.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "A container engine you can read, chapter by chapter",
    disable_help_subcommand = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every top-level command of the docker-compatible surface.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create and run a new container from an image (or, in chapter 01, a root filesystem)
    Run(RunArgs),
    /// Create a new container
    Create(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Pause all processes within one or more containers
    Pause(ContainersArgs),
    /// Unpause all processes within one or more containers
    Unpause(ContainersArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(ContainersArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// List containers
    Ps(PsArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Display a live stream of container resource usage statistics
    Stats(StatsArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Update configuration of one or more containers
    Update(UpdateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(ContainerArg),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// List port mappings or a specific mapping for the container
    Port(PortArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// List images
    Images(ImagesArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove one or more images
    Rmi(RmiArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Return low-level information on Docker objects
    Inspect(InspectArgs),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Log in to a registry
    Login(LoginArgs),
    /// Log out from a registry
    Logout(LogoutArgs),
    /// Search Docker Hub for images
    Search(SearchArgs),
    /// Run a registry server
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Build an image from a Dockerfile
    Build(BuildArgs),
    /// Run the daemon that serves the Docker Engine API
    Daemon(DaemonArgs),
    /// Display system-wide information
    Info(FormatArgs),
    /// Show the berth version information
    Version(FormatArgs),
    /// Manage berth
    #[command(subcommand)]
    System(SystemCommand),
    /// Get real time events from the server
    Events(EventsArgs),
    /// The OCI runtime, shaped like runc (used by the engine itself)
    #[command(subcommand, hide = true)]
    Runtime(RuntimeCommand),
    /// Watch one container for its whole life (started by the engine itself)
    #[command(hide = true)]
    Supervise(SuperviseArgs),
}

/// The engine's own hidden commands, parsed without the rest of the CLI: they
/// run at every container start, where declaring the whole docker surface and
/// marking it for help would be work for nothing.
#[derive(Debug, Parser)]
#[command(name = "berth")]
pub struct Internal {
    #[command(subcommand)]
    command: InternalCommand,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
enum InternalCommand {
    #[command(subcommand)]
    Runtime(RuntimeCommand),
    Supervise(SuperviseArgs),
}

impl Internal {
    /// Parses `args` when they name a hidden command; `None` otherwise, and
    /// when they do not parse (the full CLI then explains the mistake).
    pub fn parse_hidden(args: &[std::ffi::OsString]) -> Option<Command> {
        let first = args.get(1)?.to_str()?;
        if first != "runtime" && first != "supervise" {
            return None;
        }
        Some(match Internal::try_parse_from(args).ok()?.command {
            InternalCommand::Runtime(command) => Command::Runtime(command),
            InternalCommand::Supervise(args) => Command::Supervise(args),
        })
    }
}

/// Flags of `run` and `create`, grouped by the chapter that teaches them.
#[derive(Debug, Clone, Default, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    // ANCHOR: run_flags_ch01
    /// Run the container on this root filesystem directory instead of an image
    #[arg(long, value_name = "DIR", help_heading = CH01)]
    pub rootfs: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long, help_heading = CH01)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long, help_heading = CH01)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY=VALUE", help_heading = CH01)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long, value_name = "FILE", help_heading = CH01)]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR", help_heading = CH01)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long, help_heading = CH01)]
    pub user: Option<String>,
    /// Container host name
    #[arg(short = 'h', long, help_heading = CH01)]
    pub hostname: Option<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long, help_heading = CH01)]
    pub read_only: bool,
    /// Add Linux capabilities
    #[arg(long, value_name = "CAP", help_heading = CH01)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long, value_name = "CAP", help_heading = CH01)]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long, help_heading = CH01)]
    pub privileged: bool,
    /// Security options (seccomp=unconfined|FILE, no-new-privileges)
    #[arg(long, value_name = "OPT", help_heading = CH01)]
    pub security_opt: Vec<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long, help_heading = CH01)]
    pub init: bool,
    /// Automatically remove the container when it exits
    #[arg(long, help_heading = CH01)]
    pub rm: bool,
    /// Cgroup namespace to use (host|private)
    #[arg(long, value_name = "MODE", help_heading = CH01)]
    pub cgroupns: Option<String>,
    // ANCHOR_END: run_flags_ch01

    // ANCHOR: run_flags_ch02
    /// Memory limit
    #[arg(short, long, value_name = "BYTES", help_heading = CH02)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long, value_name = "BYTES", help_heading = CH02)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long, value_name = "BYTES", help_heading = CH02)]
    pub memory_reservation: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "DECIMAL", help_heading = CH02)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long, value_name = "INT", help_heading = CH02)]
    pub cpu_shares: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long, value_name = "INT", help_heading = CH02)]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, value_name = "INT", help_heading = CH02)]
    pub cpu_quota: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "LIST", help_heading = CH02)]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, value_name = "INT", help_heading = CH02)]
    pub pids_limit: Option<String>,
    /// Add a host device to the container
    #[arg(long, value_name = "PATH[:PATH[:rwm]]", help_heading = CH02)]
    pub device: Vec<String>,
    // ANCHOR_END: run_flags_ch02
    /// Run in the background and print the container ID
    #[arg(short, long, help_heading = CH04)]
    pub detach: bool,
    /// Assign a name to the container
    #[arg(long, help_heading = CH04)]
    pub name: Option<String>,
    /// Restart policy to apply when a container exits (no, always, unless-stopped, on-failure[:N])
    #[arg(long, value_name = "POLICY", help_heading = CH04)]
    pub restart: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "CMD", help_heading = CH04)]
    pub entrypoint: Option<String>,
    /// Set meta data on a container
    #[arg(short, long, value_name = "KEY=VALUE", help_heading = CH04)]
    pub label: Vec<String>,
    /// Signal to stop the container
    #[arg(long, value_name = "SIGNAL", help_heading = CH04)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long, value_name = "SECONDS", help_heading = CH04)]
    pub stop_timeout: Option<String>,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "KEYS", help_heading = CH04)]
    pub detach_keys: Option<String>,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short, long, value_name = "STREAM", help_heading = CH04)]
    pub attach: Vec<String>,

    /// Bind mount a volume
    #[arg(short, long, value_name = "SRC:DST[:OPTS]", help_heading = CH06)]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "SPEC", help_heading = CH06)]
    pub mount: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long, value_name = "DST[:OPTS]", help_heading = CH06)]
    pub tmpfs: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long, value_name = "CONTAINER", help_heading = CH06)]
    pub volumes_from: Vec<String>,

    /// Publish a container's port(s) to the host
    #[arg(short, long, value_name = "[IP:][HOST:]CONTAINER", help_heading = CH07)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long, help_heading = CH07)]
    pub publish_all: bool,
    /// Connect a container to a network
    #[arg(long, alias = "net", value_name = "NETWORK", help_heading = CH07)]
    pub network: Option<String>,
    /// Add link to another container
    #[arg(long, value_name = "NAME:ALIAS", help_heading = CH07)]
    pub link: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long, value_name = "HOST:IP", help_heading = CH07)]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "IP", help_heading = CH07)]
    pub dns: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "IP", help_heading = CH07)]
    pub ip: Option<String>,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "PORT", help_heading = CH07)]
    pub expose: Vec<String>,

    /// Pull image before running (always, missing, never)
    #[arg(long, value_name = "POLICY", help_heading = CH08)]
    pub pull: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "OS/ARCH", help_heading = CH08)]
    pub platform: Option<String>,

    /// The image (or, with --rootfs, the command) followed by the command and its arguments
    #[arg(value_name = "IMAGE|CMD", trailing_var_arg = true, required = true, num_args = 1..)]
    pub args: Vec<String>,
}

/// Flags of `start`.
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Containers to start
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Flags of `stop` and `restart`.
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short = 't', long = "time", alias = "timeout")]
    pub time: Option<i64>,
    /// Signal to send to the container
    #[arg(short, long)]
    pub signal: Option<String>,
    /// Containers to stop
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Flags of `kill`.
#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    /// Containers to kill
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// One or more containers, nothing else.
#[derive(Debug, Clone, Args)]
pub struct ContainersArgs {
    /// Containers (name, id or unique id prefix)
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// A single container.
#[derive(Debug, Clone, Args)]
pub struct ContainerArg {
    /// Container (name, id or unique id prefix)
    pub container: String,
}

/// Flags of `rm`.
#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long, help_heading = CH06)]
    pub volumes: bool,
    /// Remove the specified link
    #[arg(short, long, help_heading = CH07)]
    pub link: bool,
    /// Containers to remove
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Flags of `ps`.
#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, default_value_t = -1)]
    pub last: i64,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
}

/// Flags of `logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long)]
    pub tail: Option<String>,
    /// Show logs since timestamp or relative (e.g. 42m)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp or relative (e.g. 42m)
    #[arg(long)]
    pub until: Option<String>,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// The container
    pub container: String,
}

/// Flags of `attach`.
#[derive(Debug, Clone, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// The container
    pub container: String,
}

/// Flags of `exec`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// The container, then the command and its arguments
    #[arg(trailing_var_arg = true, required = true, num_args = 2..)]
    pub args: Vec<String>,
}

/// Flags of `top`.
#[derive(Debug, Clone, Args)]
pub struct TopArgs {
    /// The container, then options for ps
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true, num_args = 1..)]
    pub args: Vec<String>,
}

/// Flags of `stats`.
#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Containers (default: all running)
    pub containers: Vec<String>,
}

/// Arguments of `rename`.
#[derive(Debug, Clone, Args)]
pub struct RenameArgs {
    /// The container
    pub container: String,
    /// Its new name
    pub new_name: String,
}

/// Flags of `update`.
#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    /// Memory limit
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<String>,
    /// Limit CPU CFS period
    #[arg(long)]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS quota
    #[arg(long)]
    pub cpu_quota: Option<String>,
    /// CPUs in which to allow execution
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long)]
    pub pids_limit: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    pub restart: Option<String>,
    /// Containers to update
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Flags of `commit`.
#[derive(Debug, Clone, Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub pause: bool,
    /// The container
    pub container: String,
    /// REPOSITORY[:TAG] of the new image
    pub repository: Option<String>,
}

/// Flags of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<String>,
    /// The container
    pub container: String,
}

/// Flags of `cp`.
#[derive(Debug, Clone, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// CONTAINER:SRC_PATH, a local path, or - for a tar stream
    pub source: String,
    /// CONTAINER:DEST_PATH, a local path, or - for a tar stream
    pub destination: String,
}

/// Arguments of `port`.
#[derive(Debug, Clone, Args)]
pub struct PortArgs {
    /// The container
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

/// `container` subcommands: the same commands, grouped.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContainerCommand {
    /// List containers
    #[command(visible_aliases = ["list", "ps"])]
    Ls(PsArgs),
    /// Create and run a new container
    Run(RunArgs),
    /// Create a new container
    Create(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Pause all processes within one or more containers
    Pause(ContainersArgs),
    /// Unpause all processes within one or more containers
    Unpause(ContainersArgs),
    /// Block until one or more containers stop
    Wait(ContainersArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Attach to a running container
    Attach(AttachArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Display resource usage statistics
    Stats(StatsArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Update configuration of one or more containers
    Update(UpdateArgs),
    /// Display detailed information on one or more containers
    Inspect(InspectArgs),
    /// Remove all stopped containers
    Prune(PruneArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(ContainerArg),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// List port mappings for the container
    Port(PortArgs),
}

/// Flags of `images` / `image ls`.
#[derive(Debug, Clone, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

/// `image` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageCommand {
    /// List images
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(RmiArgs),
    /// Display detailed information on one or more images
    Inspect(InspectArgs),
    /// Remove unused images
    Prune(ImagePruneArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Save one or more images to a tar archive
    Save(SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Build an image from a Dockerfile
    Build(BuildArgs),
}

/// Flags of `load`.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short, long)]
    pub quiet: bool,
}

/// Flags of `save`.
#[derive(Debug, Clone, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<String>,
    /// Images to save
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// Flags of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// FILE, URL or - for STDIN
    pub source: String,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

/// Arguments of `tag`.
#[derive(Debug, Clone, Args)]
pub struct TagArgs {
    /// SOURCE_IMAGE[:TAG]
    pub source: String,
    /// TARGET_IMAGE[:TAG]
    pub target: String,
}

/// Flags of `rmi` / `image rm`.
#[derive(Debug, Clone, Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    pub no_prune: bool,
    /// Images to remove
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// Flags of `history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub human: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// The image
    pub image: String,
}

/// Flags of `inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short, long)]
    pub size: bool,
    /// Return JSON for specified type
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Objects to inspect
    #[arg(required = true)]
    pub objects: Vec<String>,
}

/// Flags of `image prune`.
#[derive(Debug, Clone, Args)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
}

/// Flags of `container prune`, `volume prune`, `network prune`.
#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
}

/// `volume` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum VolumeCommand {
    /// Create a volume
    Create {
        /// Specify volume driver name
        #[arg(short, long, default_value = "local")]
        driver: String,
        /// Set driver specific options
        #[arg(short, long)]
        opt: Vec<String>,
        /// Set metadata for a volume
        #[arg(long)]
        label: Vec<String>,
        /// The volume's name
        name: Option<String>,
    },
    /// List volumes
    #[command(visible_alias = "list")]
    Ls {
        /// Only display volume names
        #[arg(short, long)]
        quiet: bool,
        /// Provide filter values
        #[arg(short, long)]
        filter: Vec<String>,
        /// Format output using a custom template
        #[arg(long)]
        format: Option<String>,
    },
    /// Display detailed information on one or more volumes
    Inspect {
        /// Format output using a custom template
        #[arg(short, long)]
        format: Option<String>,
        /// Volumes
        #[arg(required = true)]
        volumes: Vec<String>,
    },
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm {
        /// Force the removal of one or more volumes
        #[arg(short, long)]
        force: bool,
        /// Volumes
        #[arg(required = true)]
        volumes: Vec<String>,
    },
    /// Remove unused local volumes
    Prune(PruneArgs),
}

/// `network` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NetworkCommand {
    /// Create a network
    Create {
        /// Driver to manage the Network
        #[arg(short, long, default_value = "bridge")]
        driver: String,
        /// Subnet in CIDR format
        #[arg(long)]
        subnet: Vec<String>,
        /// Gateway for the subnet
        #[arg(long)]
        gateway: Vec<String>,
        /// Set metadata on a network
        #[arg(long)]
        label: Vec<String>,
        /// The network's name
        name: String,
    },
    /// List networks
    #[command(visible_alias = "list")]
    Ls {
        /// Only display network IDs
        #[arg(short, long)]
        quiet: bool,
        /// Provide filter values
        #[arg(short, long)]
        filter: Vec<String>,
        /// Do not truncate the output
        #[arg(long)]
        no_trunc: bool,
        /// Format output using a custom template
        #[arg(long)]
        format: Option<String>,
    },
    /// Display detailed information on one or more networks
    Inspect {
        /// Format output using a custom template
        #[arg(short, long)]
        format: Option<String>,
        /// Networks
        #[arg(required = true)]
        networks: Vec<String>,
    },
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm {
        /// Networks
        #[arg(required = true)]
        networks: Vec<String>,
    },
    /// Connect a container to a network
    Connect {
        /// IPv4 address
        #[arg(long)]
        ip: Option<String>,
        /// Add network-scoped alias for the container
        #[arg(long)]
        alias: Vec<String>,
        /// The network
        network: String,
        /// The container
        container: String,
    },
    /// Disconnect a container from a network
    Disconnect {
        /// Force the container to disconnect from a network
        #[arg(short, long)]
        force: bool,
        /// The network
        network: String,
        /// The container
        container: String,
    },
    /// Remove all unused networks
    Prune(PruneArgs),
}

/// Flags of `pull`.
#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short, long)]
    pub all_tags: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// NAME[:TAG|@DIGEST]
    pub image: String,
}

/// Flags of `push`.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short, long)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// NAME[:TAG]
    pub image: String,
}

/// Flags of `login`.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// The registry server (default: Docker Hub)
    pub server: Option<String>,
}

/// Arguments of `logout`.
#[derive(Debug, Clone, Args)]
pub struct LogoutArgs {
    /// The registry server (default: Docker Hub)
    pub server: Option<String>,
}

/// Flags of `search`.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// Max number of search results
    #[arg(long)]
    pub limit: Option<u32>,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output using a Go template
    #[arg(long)]
    pub format: Option<String>,
    /// The search term
    pub term: String,
}

/// `registry` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RegistryCommand {
    /// Serve the distribution API from a local store
    Serve {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:5000")]
        listen: String,
        /// Directory to keep the registry's blobs and manifests in
        #[arg(long)]
        storage: Option<String>,
    },
}

/// Flags of `build`.
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag in the name:tag format
    #[arg(short, long)]
    pub tag: Vec<String>,
    /// Name of the Dockerfile (default: PATH/Dockerfile)
    #[arg(short, long)]
    pub file: Option<String>,
    /// Set build-time variables
    #[arg(long)]
    pub build_arg: Vec<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Set the target build stage to build
    #[arg(long)]
    pub target: Option<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    pub quiet: bool,
    /// The build context: a directory
    pub context: String,
}

/// Flags of `daemon`.
#[derive(Debug, Clone, Args)]
pub struct DaemonArgs {
    /// Socket to listen on
    #[arg(short = 'H', long, default_value = "unix:///run/berth.sock")]
    pub host: Vec<String>,
}

/// A `--format` flag alone (`info`, `version`).
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// Format output using a custom template
    #[arg(short, long)]
    pub format: Option<String>,
}

/// `system` subcommands.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SystemCommand {
    /// Show disk usage
    Df {
        /// Show detailed information on space usage
        #[arg(short, long)]
        verbose: bool,
        /// Format output using a custom template
        #[arg(long)]
        format: Option<String>,
    },
    /// Remove unused data
    Prune {
        /// Remove all unused images not just dangling ones
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
        /// Prune anonymous volumes
        #[arg(long)]
        volumes: bool,
    },
    /// Display system-wide information
    Info(FormatArgs),
    /// Get real time events from the server
    Events(EventsArgs),
}

/// Flags of `events`.
#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// Show all events created since timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
    /// Filter output based on conditions provided
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format the output using the given Go template
    #[arg(long)]
    pub format: Option<String>,
}

/// Arguments of the hidden `supervise` command.
#[derive(Debug, Clone, Args)]
pub struct SuperviseArgs {
    /// A descriptor inherited from the starting command, on which the supervisor
    /// reports that the container started (or why it did not), then closes
    #[arg(long)]
    pub ready_fd: Option<i32>,
    /// Container id; without it, the supervisor reads it as the first line of
    /// the ready channel (the command starts it while it makes the container)
    pub id: Option<String>,
}

/// The runtime's commands, shaped like runc's.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RuntimeCommand {
    /// Create a container from a bundle; it waits, stopped before exec, for `start`
    Create {
        /// Path to the bundle (the directory holding config.json)
        #[arg(short, long, default_value = ".")]
        bundle: String,
        /// Write the container's pid to this file
        #[arg(long)]
        pid_file: Option<String>,
        /// Unix socket that receives the pty master when the spec asks for a terminal
        #[arg(long)]
        console_socket: Option<String>,
        /// Container id
        id: String,
    },
    /// Let a created container exec its process
    Start {
        /// Container id
        id: String,
    },
    /// Print the container's state as JSON
    State {
        /// Container id
        id: String,
    },
    /// Send a signal to the container's init process
    Kill {
        /// Send the signal to every process of the container
        #[arg(short, long)]
        all: bool,
        /// Container id
        id: String,
        /// Signal name or number
        #[arg(default_value = "TERM")]
        signal: String,
    },
    /// Release everything the container held
    Delete {
        /// Kill the container first if it still runs
        #[arg(short, long)]
        force: bool,
        /// Container id
        id: String,
    },
    /// Create and start a container, wait for it, delete it; exits with its status
    Run {
        /// Path to the bundle (the directory holding config.json)
        #[arg(short, long, default_value = ".")]
        bundle: String,
        /// Write the container's pid to this file
        #[arg(long)]
        pid_file: Option<String>,
        /// Container id
        id: String,
    },
    /// Run a new process in a running container; exits with its status
    Exec {
        /// The process to run, as an OCI process JSON (instead of CMD and the flags below)
        #[arg(short, long, value_name = "FILE")]
        process: Option<String>,
        /// Allocate a pseudo-TTY
        #[arg(short, long)]
        tty: bool,
        /// Unix socket that receives the pty master with --tty
        #[arg(long, value_name = "PATH")]
        console_socket: Option<String>,
        /// Write the process's pid to this file
        #[arg(long, value_name = "FILE")]
        pid_file: Option<String>,
        /// Return as soon as the process runs, without waiting for it
        #[arg(short, long)]
        detach: bool,
        /// Working directory inside the container
        #[arg(long, value_name = "DIR")]
        cwd: Option<String>,
        /// Set an environment variable
        #[arg(short, long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// Run as this user (format: <uid>[:<gid>])
        #[arg(short, long, value_name = "UID[:GID]")]
        user: Option<String>,
        /// Add a capability to the process's sets
        #[arg(long, value_name = "CAP")]
        cap: Vec<String>,
        /// Container id
        id: String,
        /// The command and its arguments (without --process)
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD"
        )]
        command: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_heading_names_a_known_chapter() {
        for n in 1..=10 {
            assert_ne!(chapter_name(n), "?");
        }
        assert_eq!(heading_chapter(CH07), Some(7));
        assert_eq!(heading_chapter("Options"), None);
    }

    #[test]
    fn commands_map_to_their_chapters() {
        assert_eq!(command_chapter(&["run"]), 1);
        assert_eq!(command_chapter(&["image", "ls"]), 3);
        assert_eq!(command_chapter(&["container", "ls"]), 4);
        assert_eq!(command_chapter(&["container", "diff"]), 5);
        assert_eq!(command_chapter(&["image", "pull"]), 8);
        assert_eq!(command_chapter(&["ps"]), 4);
        assert_eq!(command_chapter(&["volume", "ls"]), 6);
        assert_eq!(command_chapter(&["info"]), 10);
    }

    #[test]
    fn run_stops_parsing_flags_at_the_image() {
        let cli =
            Cli::try_parse_from(["berth", "run", "-it", "--rm", "busybox", "ls", "-l"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert!(args.interactive && args.tty && args.rm);
        assert_eq!(args.args, ["busybox", "ls", "-l"]);
    }

    #[test]
    fn an_unknown_run_flag_is_an_error_not_the_command() {
        let e =
            Cli::try_parse_from(["berth", "run", "--rootfs", "/r", "--bogus", "true"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
        let cli = Cli::try_parse_from(["berth", "run", "img", "sh", "-c", "echo --bogus"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.args, ["img", "sh", "-c", "echo --bogus"]);
        let cli = Cli::try_parse_from(["berth", "exec", "box", "ls", "-l"]).unwrap();
        let Command::Exec(args) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(args.args, ["box", "ls", "-l"]);
    }

    #[test]
    fn run_short_h_is_hostname_as_in_docker() {
        let cli = Cli::try_parse_from(["berth", "run", "-h", "box", "img"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.hostname.as_deref(), Some("box"));
    }
}
