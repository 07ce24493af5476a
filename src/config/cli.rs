//! Command-line definitions (clap derive). Parsing only: `main.rs` dispatches, `config.rs`
//! merges `RunArgs` with the TOML file into one `Config`.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::units::{
    CREWS_RANGE, DAY_SECONDS_RANGE, DAYS_RANGE, MAX_SECTIONS_RANGE, NETWORK_LIMIT_RANGE,
    NotANumberInRange, SENSORS_RANGE, in_range, parse_in_range,
};
use crate::wall::Crews;

#[derive(Debug, Parser)]
#[command(
    name = "wallwatch",
    version,
    about = "A terminal control room for the Wall"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options for the dashboard when no subcommand is given.
    #[command(flatten)]
    pub run: DashboardArgs,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the live dashboard, or with --headless the engine alone, printing a JSON summary.
    Run(DashboardArgs),
    /// Answer one of the original REST paths for a profiles file, as one JSON object.
    Query(QueryArgs),
    /// Days, ice and cost of a whole wall, as a table, JSON, or the crews' log.
    Report(ReportArgs),
    /// Export stored readings.
    Readings(ReadingsArgs),
    /// Measure the pipeline, the dashboard's cost, or a long soak.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run the site with no terminal until SIGTERM, SIGINT or `wallwatch stop` (SIGHUP does not
    /// stop it); viewers attach to its socket. Prints the JSON summary on exit.
    Serve(ServeArgs),
    /// Watch a served site: the whole dashboard, with a view of your own. q, Esc, Ctrl-C and
    /// SIGHUP detach; the site runs on.
    Attach(AttachArgs),
    /// The live summary of a served site.
    Status(StatusArgs),
    /// Stop a served site as SIGTERM does, wait for it to drain, print its final summary.
    Stop(SiteArgs),
    /// Run sensors on this machine and publish their readings through an MQTT v5 broker to a
    /// site started with `--broker`; on SIGINT/SIGTERM wait for the site's confirmations and
    /// print {produced, confirmed, pending}.
    Agent(AgentArgs),
    // Steering a running site: see the block of `ControlArgs` below.
    /// Add or remove crews of a served site.
    #[command(subcommand)]
    Crews(CrewsCommand),
    /// Add or remove sensors of a served site.
    #[command(subcommand)]
    Sensors(SensorsCommand),
    /// Pause a served site's simulated time (sensors and crews wait).
    Pause(ControlArgs),
    /// Resume a paused site.
    Resume(ControlArgs),
    /// Set a served site's speed: simulated seconds per real second, or `max`.
    Speed(SpeedArgs),
    /// Load another wall into a served site: a new run from its start (the old one stays in the
    /// store).
    #[command(subcommand)]
    Wall(WallCommand),
}

/// `wallwatch agent`.
#[derive(Debug, Clone, Args)]
pub struct AgentArgs {
    /// The broker: `mqtt://HOST:PORT`, or `mqtts://HOST:PORT` over TLS (port 8883 by default);
    /// `USER:PASSWORD@` before HOST to log in.
    #[arg(long, value_name = "URL")]
    pub broker: String,
    /// With an `mqtts://` broker: also trust the CA certificates of this PEM file (besides the
    /// system's) to check the broker's certificate.
    #[arg(long, value_name = "FILE")]
    pub broker_ca: Option<PathBuf>,
    /// The site to report to (the name its `serve --site` or `run --site` gives).
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub site: String,
    /// This agent's id, 1 to 64 of `A-Z a-z 0-9 _ - .` (default: the host's name).
    #[arg(long, value_name = "ID")]
    pub agent_id: Option<String>,
    /// Number of sensors, 0..=100000.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = parse_in(SENSORS_RANGE))]
    pub sensors: usize,
    /// Kinds of the sensors, cycled.
    #[arg(
        long,
        value_name = "KINDS",
        value_delimiter = ',',
        default_value = "default"
    )]
    pub sensor_kinds: Vec<String>,
    /// Seed for the sensors' values (default: one made from the agent's id, so that agents'
    /// sensors differ from each other's and from the site's own).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated seconds per real second, 0.001..=1000000, or `max`.
    #[arg(long, value_name = "X|max", default_value = "1")]
    pub speed: String,
    /// Stop after this much real time.
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// The most readings kept unconfirmed; when full, the sensors wait (1..=10000000).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = parse_in(1..=10_000_000usize))]
    pub buffer: usize,
    /// How long to wait for the site's last confirmations when stopping (real time).
    #[arg(long, value_name = "D", default_value = "30s")]
    pub drain_timeout: String,
}

/// Which site: `--socket PATH`, or `--site NAME` under `$XDG_RUNTIME_DIR/wallwatch/` (else
/// `/tmp/wallwatch-UID/`). One name for a site: its socket's, its name on a broker, and what
/// `status` and the others are told. `--name` is its older spelling.
#[derive(Debug, Clone, Default, Args)]
pub struct SiteArgs {
    /// The site's socket.
    #[arg(long, value_name = "PATH", conflicts_with = "name")]
    pub socket: Option<PathBuf>,
    /// The site's name (default: `default`): its socket NAME.sock, and with `serve --broker` its
    /// name on the broker, which agents' --site gives.
    #[arg(long = "site", visible_alias = "name", value_name = "NAME")]
    pub name: Option<String>,
}

/// `serve`'s site: as [`SiteArgs`], but `--socket` and `--site` may come together: a socket
/// where it is, and the site's name on the broker.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeSiteArgs {
    /// The site's socket (default: NAME.sock under `$XDG_RUNTIME_DIR/wallwatch/`).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The site's name (default: `default`): its socket NAME.sock unless --socket says
    /// otherwise, and with --broker its name on the broker, which agents' --site gives.
    #[arg(long = "site", visible_alias = "name", value_name = "NAME")]
    pub name: Option<String>,
}

impl ServeSiteArgs {
    pub fn to_site(&self) -> SiteArgs {
        SiteArgs {
            socket: self.socket.clone(),
            name: self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub site: ServeSiteArgs,
    /// Let this group's members attach and ask the status too: the socket's directory 0750 and
    /// the socket 0660 with this group (a name or a gid; the site must be in it, or root).
    #[arg(long, value_name = "GROUP")]
    pub socket_group: Option<String>,
    /// Members of --socket-group may also steer the site (commands, keys, stop); without it
    /// they are read-only viewers.
    #[arg(long)]
    pub group_may_steer: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AttachArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    /// Watch only: keys that would change the site give a notice instead.
    #[arg(long)]
    pub read_only: bool,
    /// Colours: none, 16, 256 or truecolor (default: from the terminal; NO_COLOR wins).
    #[arg(long, value_name = "P")]
    pub palette: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    /// One JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

// ---- Steering a running site: `crews`, `sensors`, `pause`, `resume`, `speed`, `wall`. ----

/// Which site a command goes to, and how its answer is printed.
#[derive(Debug, Clone, Args)]
pub struct ControlArgs {
    #[command(flatten)]
    pub site: SiteArgs,
    /// The outcome (or the refusal) as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CrewsCommand {
    /// N more crews (default 1); each starts work the next day.
    Add(CountArgs),
    /// The N highest-numbered crews (default 1) leave at the end of the day; the last crew
    /// stays.
    Remove(CountArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CountArgs {
    /// How many, 1..=1000.
    #[arg(value_name = "N", default_value_t = 1, allow_negative_numbers = true, value_parser = parse_in(crate::engine::COUNT_RANGE))]
    pub count: u32,
    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SensorsCommand {
    /// New sensors, named and seeded as the site's own.
    Add(AddSensorsArgs),
    /// These sensors, by name; none is removed unless all are there.
    Remove(RemoveSensorsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AddSensorsArgs {
    /// Their kind (default: the kinds in turn, as the `s` key adds them).
    #[arg(long, value_name = "K", value_parser = clap::builder::PossibleValuesParser::new(crate::sensors::KINDS.iter().copied()))]
    pub kind: Option<String>,
    /// How many, 1..=1000.
    #[arg(long, value_name = "N", default_value_t = 1, allow_negative_numbers = true, value_parser = parse_in(crate::engine::COUNT_RANGE))]
    pub count: u32,
    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RemoveSensorsArgs {
    /// The sensors' names (as `status --json` lists them in `sensor_names`).
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SpeedArgs {
    /// Simulated seconds per real second, 0.001..=1000000, or `max`.
    #[arg(value_name = "X|max", allow_negative_numbers = true, value_parser = crate::units::parse_speed)]
    pub speed: crate::units::Speed,
    #[command(flatten)]
    pub control: ControlArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum WallCommand {
    /// A profiles file (`-` reads standard input), worked from its start as the site's next
    /// run.
    Load(LoadWallArgs),
}

#[derive(Debug, Clone, Args)]
pub struct LoadWallArgs {
    /// Profiles file, one profile per line, at most 1 MiB (`-` reads standard input).
    pub file: PathBuf,
    /// Number of crews, 1..=1000000, or `unlimited` (default: as many as work now).
    #[arg(long, value_parser = parse_crews)]
    pub crews: Option<Crews>,
    #[command(flatten)]
    pub control: ControlArgs,
}

// ---- end of the steering block ----

/// Parses a crew count: `unlimited`, or a number in [`CREWS_RANGE`].
pub fn parse_crews(s: &str) -> Result<Crews, String> {
    if s.eq_ignore_ascii_case("unlimited") {
        return Ok(Crews::Unlimited);
    }
    s.parse::<u32>()
        .ok()
        .and_then(|n| in_range(n, &CREWS_RANGE).ok())
        .map(Crews::Limited)
        .ok_or_else(|| {
            format!(
                "'{}' is not a crew count (a number from {} to {}, or 'unlimited')",
                crate::text::sanitize(s),
                CREWS_RANGE.start(),
                CREWS_RANGE.end()
            )
        })
}

fn parse_positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a positive whole number")),
    }
}

/// A parser of a number in `range`, for clap: the error says the range (clap names the flag).
fn parse_in<T>(range: RangeInclusive<T>) -> impl Fn(&str) -> Result<T, NotANumberInRange> + Clone
where
    T: FromStr + PartialOrd + fmt::Display + Clone,
{
    move |s: &str| parse_in_range(s, &range)
}

/// The wall file and its section limit, shared by `query` and `report`.
#[derive(Debug, Args)]
pub struct WallArgs {
    /// Profiles file, one profile per line (`-` reads standard input).
    pub file: PathBuf,
    /// Number of crews, 1..=1000000, or `unlimited` (default: one per section).
    #[arg(long, value_parser = parse_crews)]
    pub crews: Option<Crews>,
    /// Most sections one profile may have, 1..=10000000.
    #[arg(long, value_name = "N", default_value_t = crate::wall::DEFAULT_MAX_SECTIONS, value_parser = parse_in(MAX_SECTIONS_RANGE))]
    pub max_sections: usize,
}

impl WallArgs {
    /// The crews asked for: one per section unless `--crews N`.
    pub fn crews(&self) -> Crews {
        self.crews.unwrap_or(Crews::Unlimited)
    }
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub wall: WallArgs,
    /// `/profiles/{p}/days/{d}`, `/profiles/{p}/overview/{d}`, `/profiles/overview/{d}` or
    /// `/profiles/overview`.
    pub path: String,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub wall: WallArgs,
    /// Include every day.
    #[arg(long)]
    pub daily: bool,
    /// One JSON object instead of a table.
    #[arg(long, conflicts_with = "log")]
    pub json: bool,
    /// The crews' log lines instead of a table.
    #[arg(long)]
    pub log: bool,
}

/// The options only a run with a screen of its own takes (`wallwatch`, `wallwatch run`), so
/// that `serve`'s help does not offer them.
#[derive(Debug, Clone, Default, Args)]
pub struct ScreenArgs {
    /// Run without the dashboard; print a JSON summary on exit.
    #[arg(long)]
    pub headless: bool,
    /// Colours: `none`, `16`, `256` or `truecolor` (NO_COLOR is honoured).
    #[arg(long, value_name = "PALETTE")]
    pub palette: Option<String>,
}

/// `wallwatch` and `wallwatch run`: a run's options and the screen's.
#[derive(Debug, Clone, Default, Args)]
pub struct DashboardArgs {
    #[command(flatten)]
    pub screen: ScreenArgs,
    /// The site's name on the broker (default `default`); with --broker. (`serve --site` names
    /// its socket too.)
    #[arg(long = "site", value_name = "NAME")]
    pub site: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl DashboardArgs {
    /// The run's options with the screen's and the site's name set in them.
    pub fn into_run(self) -> RunArgs {
        RunArgs {
            headless: self.screen.headless,
            palette: self.screen.palette,
            site: self.site,
            ..self.run
        }
    }
}

/// Options of a run (dashboard, headless or `serve`). Every one may also come from `--config
/// FILE`; a flag given here wins over the file.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// `--headless`, from [`ScreenArgs`] (not a flag of `serve`).
    #[arg(skip)]
    pub headless: bool,
    /// TOML file with the same keys as these flags (see assets/wallwatch.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Profiles file (default: the built-in example wall).
    #[arg(long, value_name = "FILE")]
    pub profiles: Option<PathBuf>,
    /// Most sections one profile may have, 1..=10000000 (default 2000).
    #[arg(long, value_name = "N", value_parser = parse_in(MAX_SECTIONS_RANGE))]
    pub max_sections: Option<usize>,
    /// Number of crews, 1..=1000000, or `unlimited` (default 3).
    #[arg(long, value_parser = parse_crews)]
    pub crews: Option<Crews>,
    /// Number of sensors at start, 0..=100000 (default 5; at most 100000 while running).
    #[arg(long, value_name = "N", value_parser = parse_in(SENSORS_RANGE))]
    pub sensors: Option<usize>,
    /// Kinds of the sensors, cycled (e.g. `default,thermometer,strain,seismometer,cpu`).
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    pub sensor_kinds: Option<Vec<String>>,
    /// Messages the network carries at once, 1..=65536 (default 5).
    #[arg(long, value_name = "N", value_parser = parse_in(NETWORK_LIMIT_RANGE))]
    pub network_limit: Option<usize>,
    /// Simulated network latency, real time, each end 0..=60s: `0`, `40ms`, `10..200ms`.
    #[arg(long, value_name = "LATENCY")]
    pub latency: Option<String>,
    /// Store URL: `sqlite:PATH` (default `sqlite:wallwatch.db`), `memory:`, `csv:PATH`, `postgres://…`.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Seed for every random choice (sensor values, latency), 0..=18446744073709551615.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated seconds per real second, 0.001..=1000000, or `max` (default 1).
    #[arg(long, value_name = "X|max")]
    pub speed: Option<String>,
    /// Simulated seconds per wall day, 0.001..=86400 (default 5).
    #[arg(long, value_name = "S", value_parser = parse_in(DAY_SECONDS_RANGE))]
    pub day_seconds: Option<f64>,
    /// Stop after this much real time, 1ms..=366 days: `500ms`, `30s`, `2m`, `1h`.
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,
    /// Stop after this wall day, 1..=1000000000.
    #[arg(long, value_name = "N", value_parser = parse_in(DAYS_RANGE))]
    pub days: Option<u64>,
    /// When stopping, wait at most this long (real time) for a stuck store to take the write
    /// under way; past it, exit 1 naming what was not stored (default 30s).
    #[arg(long, value_name = "D")]
    pub drain_timeout: Option<String>,
    /// Stop when the wall is complete.
    #[arg(long)]
    pub until_complete: bool,
    /// Empty the store first (its readings, crew reports, earlier runs and recorded changes) and
    /// start over, of this wall or another.
    #[arg(long)]
    pub fresh: bool,
    /// `--palette`, from [`ScreenArgs`] (not a flag of `serve`).
    #[arg(skip)]
    pub palette: Option<String>,
    /// Also take readings from agents through this MQTT v5 broker, `mqtt://HOST:PORT`, or
    /// `mqtts://HOST:PORT` over TLS (its Receive Maximum is --network-limit).
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// With an `mqtts://` broker: also trust the CA certificates of this PEM file (besides the
    /// system's) to check the broker's certificate.
    #[arg(long, value_name = "FILE")]
    pub broker_ca: Option<PathBuf>,
    /// The site's name on the broker: the dashboard's `--site`, or `serve`'s (which names its
    /// socket too).
    #[arg(skip)]
    pub site: Option<String>,
    /// Answer the site's HTTP API (the wall's paths, status, sensors, readings, crews' log,
    /// config, health, Prometheus metrics; writes with the token) on ADDR, e.g. 127.0.0.1:8080;
    /// port 0 picks a free one. Off unless given; an address other than loopback is allowed with
    /// a warning.
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    pub http: Option<std::net::SocketAddr>,
    // HTTP writes and their token.
    /// The bearer token HTTP writes need, read from PATH (made 0600 with a new token if
    /// absent). Default: a new token at each start in NAME.token beside the socket.
    #[arg(long, value_name = "PATH")]
    pub http_token_file: Option<PathBuf>,
    /// Refuse every HTTP write with 405 (no token needed then).
    #[arg(long)]
    pub http_read_only: bool,
    /// What needs the token: `writes` (default) or `all` (reads too).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub http_auth: Option<HttpAuth>,
    /// Also write the log lines to PATH, a new file each day (PATH.YYYY-MM-DD).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Log files kept by --log-file, 1..=10000 (default 7): the oldest beyond are removed.
    #[arg(long, value_name = "N", value_parser = parse_in(LOG_KEEP_RANGE))]
    pub log_keep: Option<usize>,
}

/// How many daily log files `--log-keep` may keep.
pub const LOG_KEEP_RANGE: RangeInclusive<usize> = 1..=10_000;
/// Daily log files kept unless `--log-keep` says otherwise.
pub const DEFAULT_LOG_KEEP: usize = 7;

/// `--http ADDR`: an IP address and a port.
pub fn parse_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().map_err(|_| {
        format!(
            "'{}' is not an address and port (e.g. 127.0.0.1:8080 or [::1]:8080)",
            crate::text::sanitize(s)
        )
    })
}

/// `--http-auth`: which requests need the bearer token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum HttpAuth {
    /// Writes only; reads stay open.
    #[default]
    Writes,
    /// Reads and writes.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
    Table,
}

#[derive(Debug, Args)]
pub struct ReadingsArgs {
    /// Store URL to read from.
    #[arg(long, value_name = "URL", default_value = "sqlite:wallwatch.db")]
    pub store: String,
    /// Only this sensor's readings.
    #[arg(long, value_name = "NAME")]
    pub sensor: Option<String>,
    #[arg(long, value_enum, default_value_t = ExportFormat::Table)]
    pub format: ExportFormat,
    /// At most this many readings (the most recent).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Readings per second end to end against the store's raw batched insert rate.
    Pipeline(PipelineArgs),
    /// Bytes, frames and render time of the real dashboard into a counting backend.
    Tui(TuiBenchArgs),
    /// A long run at a fixed offered rate into SQLite with the dashboard drawing: per minute,
    /// readings/s stored, p99 store write, p99 frame and RSS.
    Soak(SoakArgs),
    /// Agents' readings per second into SQLite through an MQTT broker at Receive Maximum =
    /// --network-limit, side by side with a plain subscriber that acks on receipt; and both
    /// with an added round-trip latency, against limit / latency.
    Broker(BrokerBenchArgs),
    /// Steering a served site over HTTP: how soon a write's effect shows in `GET /status` and
    /// in every attached viewer's model, and readings/s at --speed max with and without
    /// writes.
    Control(ControlBenchArgs),
    /// The browser page in a real headless Chromium beside an attached viewer: its first
    /// render, its bytes per second against the viewer's, what 100 /events clients cost the
    /// site, and an update of a 1,000,000-section wall drawn.
    Web(WebBenchArgs),
}

#[derive(Debug, Args)]
pub struct WebBenchArgs {
    /// Loads of the page timed for its first render, 1..=1000.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = parse_in(1..=1000usize))]
    pub loads: usize,
    /// Seconds of each window, 0.5..=3600.
    #[arg(long, value_name = "S", default_value_t = 10.0, value_parser = parse_in(0.5..=3600.0f64))]
    pub window: f64,
    /// `/events` clients in the windows with clients, 1..=500.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = parse_in(1..=500usize))]
    pub clients: usize,
    /// Windows with the clients, each between two without, 1..=100.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = parse_in(1..=100usize))]
    pub rounds: usize,
    #[arg(long)]
    pub json: bool,
}

/// The store of `bench control`'s sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchStore {
    /// `memory:`.
    Memory,
    /// A new SQLite file for each site, in the benchmark's temporary directory.
    Sqlite,
}

#[derive(Debug, Args)]
pub struct ControlBenchArgs {
    /// Commands timed on each site: pause, resume, a crew added, a crew removed, in turn
    /// (1..=100000).
    #[arg(long, value_name = "K", default_value_t = 200, value_parser = parse_in(1..=100_000usize))]
    pub commands: usize,
    /// Viewers attached to each site, 1..=100.
    #[arg(long, value_name = "V", default_value_t = 5, value_parser = parse_in(1..=100usize))]
    pub viewers: usize,
    /// The sites' store.
    #[arg(long, value_enum, value_name = "STORE", default_value_t = BenchStore::Memory)]
    pub store: BenchStore,
    /// Seconds of each throughput window, 0.1..=3600.
    #[arg(long, value_name = "S", default_value_t = 5.0, value_parser = parse_in(0.1..=3600.0f64))]
    pub window: f64,
    /// Throughput windows of each kind, alternating (none, with writes, none, …).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = parse_in(1..=1000usize))]
    pub rounds: usize,
    /// HTTP writes per second in the windows with writes, 1..=10000.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = parse_in(1..=10_000u32))]
    pub write_rate: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BrokerBenchArgs {
    /// The broker, `mqtt://HOST:PORT` (default: $WALLWATCH_TEST_MQTT, which
    /// `.ci/mosquitto.sh` exports).
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,
    /// Readings queued for each measurement without latency.
    #[arg(long, default_value_t = 100_000, value_parser = parse_in(1..=100_000_000u64))]
    pub readings: u64,
    /// Added round-trip latency between the broker and the consumers (`0` for none).
    #[arg(long, value_name = "LATENCY", default_value = "20ms")]
    pub latency: String,
    /// Readings queued for each measurement with latency.
    #[arg(long, default_value_t = 1_000, value_parser = parse_in(1..=100_000_000u64))]
    pub latency_readings: u64,
    /// Receive Maximum (and the site's network limit), 1..=65535.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = parse_in(1..=65_535usize))]
    pub network_limit: usize,
    /// Pairs measured; medians are reported, with every run.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = parse_positive)]
    pub runs: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// How long to run, in minutes.
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// Readings per second offered by all sensors together.
    #[arg(long, default_value_t = 50_000)]
    pub rate: u64,
    /// Sensors, 1..=100000.
    #[arg(long, default_value_t = 1000, value_parser = parse_in(1..=*SENSORS_RANGE.end()))]
    pub sensors: usize,
    /// Store URL (default: a temporary SQLite file, removed afterwards unless --keep).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Keep the temporary database.
    #[arg(long)]
    pub keep: bool,
    /// Print a JSON list of per-minute objects instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Seconds per reported interval (a minute; shorter for quick checks).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, hide = true)]
    pub report_every: f64,
}

#[derive(Debug, Args)]
pub struct PipelineArgs {
    #[arg(long, value_name = "URL", default_value = "memory:")]
    pub store: String,
    /// Sensors, 1..=100000.
    #[arg(long, default_value_t = 1000, value_parser = parse_in(1..=*SENSORS_RANGE.end()))]
    pub sensors: usize,
    #[arg(long, default_value_t = 1_000_000)]
    pub readings: u64,
    /// Simulated latency per message (default 0).
    #[arg(long, value_name = "LATENCY", default_value = "0")]
    pub latency: String,
    /// Messages the network carries at once, 1..=65536.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = parse_in(NETWORK_LIMIT_RANGE))]
    pub network_limit: usize,
    /// Runs (each end to end, then raw); the run with the median ratio is reported.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_positive)]
    pub runs: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TuiBenchArgs {
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Terminal size, `COLSxROWS`.
    #[arg(long, default_value = "120x40")]
    pub size: String,
    #[arg(long)]
    pub json: bool,
    /// Also write the terminal byte stream to this file (frames start with `ESC[?2026h`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
}
