//! The benchmarks of BENCHMARKS.md, side by side in one run: `phoenix validate` and
//! `phoenix plan` on generated fleets of 10, 1,000 and 10,000 containers; `phoenix up`
//! on a fleet of real LXC containers driven through the pct emulator at several
//! `--jobs`, against a lower bound computed from the DAG, the calls each container
//! made and each call's own work (measured in `up --jobs 1` runs without latency, from
//! the durations in the emulator's call log); the emulator calls a created container and a no-op re-run cost; and the same
//! fleet converged the old system's way (`bash-era.sh`: one `jq` per value, one
//! `pct set` per option, the start/stop cycle, one container after the other).
//!
//! `bash scripts/bench.sh` builds what it needs, runs `cargo bench -p phoenix-cli --bench
//! fleet` and writes BENCHMARKS.md (from `PHOENIX_BENCH_MD`, the markdown this prints).
//! The full benchmark: 20 containers (the template CT 7000 created from the busybox OS
//! template and snapshotted, 19 clones 7001..7019 of that snapshot) on the bridge
//! `vmbrbench`, at `--jobs` 1, 4 and 8 with `PCT_EMU_LATENCY_MS=200`; the baseline on CTs
//! 7030..7049 on `vmbrbn0`. Without `--bench` (`cargo test --all-targets`) it runs a smoke
//! version of the same flow: 3 containers, no latency, `--jobs 2`, plan and validate of
//! 10 containers, the baseline on 3. Both fail when a count target is missed (calls per
//! created clone, a second `up` that mutates); times are reported, never asserted.
//!
//! Knobs for iterating: `PHOENIX_BENCH_JOBS=4` (a comma-separated list) runs only those
//! `up` rows (and the work runs), without the validate/plan timings and the baseline;
//! `PHOENIX_BENCH_LOGS=DIR` keeps the call logs (`jobsN-first.log`, `jobsN-second.log`,
//! `workK.log`) and each first `up`'s event stream (`jobsN-first-events.jsonl`, the run
//! then passes `--log-format json`) in DIR.
//!
//! It needs root, LXC, `jq` and the emulator binaries (`pct`, `pvesm`,
//! `phoenix-mktemplate`), which it looks for in the bench's own profile directory, then
//! `target/release`, then `target/debug`: build them with `cargo build --release -p
//! phoenix-cli -p pct-emulator`. Every run gets a fresh temporary root, and its
//! containers are destroyed at the end, also when the run fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use phoenix_testkit::Need;
use serde_json::{Value, json};

/// The first container id of phoenix's fleet; it uses `FIRST_CTID..FIRST_CTID + n`.
const FIRST_CTID: u32 = 7000;
/// The first container id of the baseline's fleet.
const BASELINE_CTID: u32 = 7030;
/// The host bridge of phoenix's containers (created by the bench: pct start refuses a
/// missing bridge, as Proxmox does).
const BRIDGE: &str = "vmbrbench";
/// The host bridge of the baseline's containers.
const BASELINE_BRIDGE: &str = "vmbrbn0";
/// The snapshot of the template the clones are made from.
const SNAPSHOT: &str = "bench-base";
/// The OS template `phoenix-mktemplate` installs.
const OS_TEMPLATE: &str = "local:vztmpl/phoenix-busybox_amd64.tar.gz";
/// The emulator subcommands that only read (a second `up` may make only these).
const READS: [&str; 5] = ["config", "status", "list", "listsnapshot", "pending"];
/// The old system's script.
const BASH_ERA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/bash-era.sh");

/// What one invocation measures.
struct Mode {
    bench: bool,
    cts: u32,
    latency_ms: u64,
    jobs: Vec<u32>,
    /// Fleet sizes of the validate and plan timings.
    sizes: Vec<u32>,
    /// Runs per timing (the median is reported).
    repeats: usize,
    /// Only some `up` rows (`PHOENIX_BENCH_JOBS`): no validate/plan timings, no baseline.
    partial: bool,
    /// Where to keep each `up`'s call logs and event stream (`PHOENIX_BENCH_LOGS`).
    keep: Option<PathBuf>,
}

fn main() -> ExitCode {
    let bench = std::env::args().any(|a| a == "--bench");
    let mut mode = if bench {
        Mode {
            bench,
            cts: 20,
            latency_ms: 200,
            jobs: vec![1, 4, 8],
            sizes: vec![10, 1_000, 10_000],
            repeats: 5,
            partial: false,
            keep: None,
        }
    } else {
        Mode {
            bench,
            cts: 3,
            latency_ms: 0,
            jobs: vec![2],
            sizes: vec![10],
            repeats: 1,
            partial: false,
            keep: None,
        }
    };
    // PHOENIX_BENCH_JOBS=4 (or 1,4): only these `up` rows, for iterating on the scheduler.
    if let Ok(jobs) = std::env::var("PHOENIX_BENCH_JOBS")
        && !jobs.trim().is_empty()
    {
        match jobs.split(',').map(|j| j.trim().parse::<u32>()).collect() {
            Ok(jobs) => mode.jobs = jobs,
            Err(_) => {
                eprintln!(
                    "error: PHOENIX_BENCH_JOBS={jobs}: not a comma-separated list of numbers"
                );
                return ExitCode::FAILURE;
            }
        }
        mode.sizes.clear();
        mode.partial = true;
    }
    mode.keep = std::env::var_os("PHOENIX_BENCH_LOGS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    if !phoenix_testkit::require(&[
        Need::Root,
        Need::Command("lxc-start"),
        Need::Command("ip"),
        Need::Command("jq"),
    ]) {
        return ExitCode::SUCCESS;
    }
    let bins = match Bins::find() {
        Ok(bins) => bins,
        Err(err) if !bench && !phoenix_testkit::system_tests_required() => {
            eprintln!("fleet smoke run skipped: {err:#}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    match run(&mode, &bins) {
        Ok(missed) if missed.is_empty() => ExitCode::SUCCESS,
        Ok(missed) => {
            for m in missed {
                eprintln!("error: count target missed: {m}");
            }
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every measurement, prints the markdown (and writes it to `PHOENIX_BENCH_MD`);
/// returns the count targets that were missed.
fn run(mode: &Mode, bins: &Bins) -> anyhow::Result<Vec<String>> {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!("validate and plan: {:?} containers", mode.sizes);
    let speed = mode
        .sizes
        .iter()
        .map(|&n| measure_plan(mode, bins, n))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let config = tempfile::tempdir().context("creating the config directory")?;
    write_config(config.path(), mode.cts, FIRST_CTID, BRIDGE)?;
    let bridge = BridgeGuard::new(BRIDGE);
    let work_logs = measure_work(mode, bins, config.path())?;
    let mut rows = Vec::new();
    for &jobs in &mode.jobs {
        rows.push(measure(mode, bins, config.path(), jobs)?);
    }
    drop(bridge);

    let baseline = if mode.partial {
        None
    } else {
        let base_config =
            tempfile::tempdir().context("creating the baseline's config directory")?;
        write_config(base_config.path(), mode.cts, BASELINE_CTID, BASELINE_BRIDGE)?;
        let bridge = BridgeGuard::new(BASELINE_BRIDGE);
        let baseline = measure_baseline(mode, bins, base_config.path())?;
        drop(bridge);
        Some(baseline)
    };
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let report = Report {
        mode,
        cpus,
        load: (load.trim(), load_after.trim()),
        speed: &speed,
        rows: &rows,
        work: Work::of(&work_logs),
        work_table: Work::per_subcommand(&work_logs),
        baseline: baseline.as_ref(),
    };
    let md = report.markdown();
    print!("{md}");
    if let Some(path) = std::env::var_os("PHOENIX_BENCH_MD") {
        std::fs::write(&path, &md)
            .with_context(|| format!("writing {}", PathBuf::from(&path).display()))?;
    }
    Ok(report.missed())
}

/// The median of some durations.
fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d.get(d.len() / 2).copied().unwrap_or_default()
}

/// Validate and plan timings of one fleet size.
struct Speed {
    cts: u32,
    validate: Duration,
    plan: Duration,
    /// Emulator calls one `phoenix plan` made.
    plan_calls: usize,
}

/// `phoenix validate` and `phoenix plan` (all containers new) of a fleet of `n`, each
/// `repeats` times; the medians.
fn measure_plan(mode: &Mode, bins: &Bins, n: u32) -> anyhow::Result<Speed> {
    let config = tempfile::tempdir().context("creating the config directory")?;
    write_config(config.path(), n, FIRST_CTID, BRIDGE)?;
    // No container is created: the fleet's ids are only planned.
    let fleet = Fleet::new(bins, config.path(), 0, FIRST_CTID)?;
    fleet.mktemplate()?;
    let mut validate = Vec::new();
    let mut plan = Vec::new();
    let log = fleet.root().join("calls-plan.log");
    for i in 0..mode.repeats {
        validate.push(fleet.phoenix(&["validate"], None)?);
        let _ = std::fs::remove_file(&log);
        plan.push(fleet.phoenix(&["plan"], Some((&log, 0)))?);
        if i == 0 {
            eprintln!(
                "{n} containers: validate {:.3} s, plan {:.3} s",
                validate[0].as_secs_f64(),
                plan[0].as_secs_f64()
            );
        }
    }
    Ok(Speed {
        cts: n,
        validate: median(validate),
        plan: median(plan),
        plan_calls: CallLog::read(&log)?.lines.len(),
    })
}

/// One row of the `up` table.
struct Row {
    jobs: u32,
    first: Duration,
    second: Duration,
    first_log: CallLog,
    second_log: CallLog,
}

/// Converges the fleet from nothing, then again, on a fresh root; destroys it after.
fn measure(mode: &Mode, bins: &Bins, config: &Path, jobs: u32) -> anyhow::Result<Row> {
    let fleet = Fleet::new(bins, config, mode.cts, FIRST_CTID)?;
    fleet.mktemplate()?;
    let root = fleet.root();
    let jobs_arg = jobs.to_string();
    let up = ["up", "--jobs", jobs_arg.as_str()];
    let first_log = root.join("calls-first.log");
    let events = root.join("events-first.jsonl");
    let first = if mode.keep.is_some() {
        // The event stream (each guest's start and end) beside the call log.
        let mut with_events = up.to_vec();
        with_events.extend(["--log-format", "json"]);
        fleet.phoenix_to(
            &with_events,
            Some((&first_log, mode.latency_ms)),
            Some(&events),
        )?
    } else {
        fleet.phoenix(&up, Some((&first_log, mode.latency_ms)))?
    };
    let second_log = root.join("calls-second.log");
    let second = fleet.phoenix(&up, Some((&second_log, mode.latency_ms)))?;
    if let Some(dir) = &mode.keep {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (from, to) in [
            (&first_log, "first.log"),
            (&second_log, "second.log"),
            (&events, "first-events.jsonl"),
        ] {
            let to = dir.join(format!("jobs{jobs}-{to}"));
            std::fs::copy(from, &to).with_context(|| format!("keeping {}", to.display()))?;
        }
    }
    let row = Row {
        jobs,
        first,
        second,
        first_log: CallLog::read(&first_log)?,
        second_log: CallLog::read(&second_log)?,
    };
    eprintln!(
        "--jobs {jobs}: first up {:.1} s, second up {:.1} s",
        first.as_secs_f64(),
        second.as_secs_f64()
    );
    drop(fleet);
    Ok(row)
}

/// The work runs: the fleet converged from nothing at `--jobs 1` without latency, on a
/// fresh root each time (3 runs; 1 in the smoke run); their call logs.
fn measure_work(mode: &Mode, bins: &Bins, config: &Path) -> anyhow::Result<Vec<CallLog>> {
    let runs = if mode.bench { 3 } else { 1 };
    let mut logs = Vec::new();
    for k in 0..runs {
        let fleet = Fleet::new(bins, config, mode.cts, FIRST_CTID)?;
        fleet.mktemplate()?;
        let log = fleet.root().join("calls-work.log");
        let took = fleet.phoenix(&["up", "--jobs", "1"], Some((&log, 0)))?;
        eprintln!(
            "work run {}: up --jobs 1 without latency {:.1} s",
            k + 1,
            took.as_secs_f64()
        );
        logs.push(CallLog::read(&log)?);
        if let Some(dir) = &mode.keep {
            std::fs::create_dir_all(dir)?;
            std::fs::copy(&log, dir.join(format!("work{}.log", k + 1)))?;
        }
        drop(fleet);
    }
    Ok(logs)
}

/// The baseline's run.
struct Baseline {
    wall: Duration,
    log: CallLog,
    /// `jq` processes.
    jq: usize,
}

/// The same fleet (other ids, another bridge) converged by `bash-era.sh`.
fn measure_baseline(mode: &Mode, bins: &Bins, config: &Path) -> anyhow::Result<Baseline> {
    let fleet = Fleet::new(bins, config, mode.cts, BASELINE_CTID)?;
    fleet.mktemplate()?;
    let log = fleet.root().join("calls-bash.log");
    let jq_log = fleet.root().join("jq.log");
    let mut cmd = Command::new("bash");
    cmd.arg(BASH_ERA)
        .arg(config)
        .env("PCT", &bins.pct)
        .env("JQ_LOG", &jq_log);
    fleet.emulator_env(&mut cmd, Some((&log, mode.latency_ms)))?;
    let start = Instant::now();
    let out = cmd.output().context("running bash-era.sh")?;
    let wall = start.elapsed();
    check(Path::new(BASH_ERA), &out)?;
    let jq = std::fs::read_to_string(&jq_log)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    eprintln!("bash era: {:.1} s", wall.as_secs_f64());
    let baseline = Baseline {
        wall,
        log: CallLog::read(&log)?,
        jq,
    };
    drop(fleet);
    Ok(baseline)
}

/// Writes the three config files of a fleet of `n` containers from `first` on `bridge`.
fn write_config(dir: &Path, n: u32, first: u32, bridge: &str) -> anyhow::Result<()> {
    for (name, value) in fleet_config(n, first, bridge) {
        let text = serde_json::to_string_pretty(&value)?;
        std::fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))?;
    }
    Ok(())
}

/// The three config files of a fleet of `n` containers: CT `first` from the OS template
/// with a template snapshot, and `n - 1` clones of that snapshot, on `bridge`.
fn fleet_config(n: u32, first: u32, bridge: &str) -> [(&'static str, Value); 3] {
    let lxc: serde_json::Map<String, Value> = (0..n)
        .map(|i| {
            let mut ct = json!({
                "name": format!("bench-{i:02}"),
                "memory_mb": 64,
                "cores": 1,
                "storage_pool": "local-zfs",
                "storage_size_gb": 1,
                "network_config": {
                    "name": "eth0",
                    "bridge": bridge,
                    "ip": format!("10.77.{}.{}/16", i / 240, 10 + i % 240),
                    "gw": "10.77.0.1"
                },
                "mac_address": format!("52:54:{:02x}:77:{:02x}:{:02x}", first % 256, i / 256, i % 256),
                "unprivileged": true,
                "features": [],
                "lxc_options": []
            });
            if i == 0 {
                ct["template"] = json!(OS_TEMPLATE);
                ct["template_snapshot_name"] = json!(SNAPSHOT);
            } else {
                ct["clone_from_ctid"] = json!(first);
            }
            ((first + i).to_string(), ct)
        })
        .collect();
    let hypervisor = json!({
        "version": "1.0.0",
        "timezone": "UTC",
        "network": {
            "interfaces": {
                "name": bridge,
                "address": "10.77.0.2/16",
                "gateway": "10.77.0.1",
                "dns_nameservers": "10.77.0.1"
            },
            "default_subnet": "10.77.0.0/16"
        },
        "proxmox_storage_ids": { "lxc_disks": "local-zfs" },
        "mount_point_base": "/mnt/pve",
        "behavior": { "rollback_on_failure": true, "debug_mode": false },
        "shared_volumes": {},
        "firewall": {
            "enabled": false,
            "default_input_policy": "DROP",
            "default_output_policy": "ACCEPT"
        }
    });
    let vms = json!({
        "vm_defaults": {
            "cores": 1,
            "memory_mb": 512,
            "disk_size_gb": 8,
            "storage_pool": "local-zfs",
            "network_bridge": bridge
        },
        "vms": []
    });
    [
        ("phoenix_hypervisor_config.json", hypervisor),
        ("phoenix_lxc_configs.json", json!({ "lxc_configs": lxc })),
        ("phoenix_vm_configs.json", vms),
    ]
}

/// The binaries the benchmark runs.
struct Bins {
    phoenix: PathBuf,
    pct: PathBuf,
    pvesm: PathBuf,
    mktemplate: PathBuf,
}

impl Bins {
    /// `phoenix` as cargo built it for this bench; the emulator's binaries from the
    /// bench's profile directory, else `target/release`, else `target/debug`.
    fn find() -> anyhow::Result<Bins> {
        let exe = std::env::current_exe().context("locating the bench executable")?;
        // target/<profile>/deps/fleet-<hash>
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .context("the bench executable is not in target/<profile>/deps")?;
        let mut dirs = vec![profile.to_path_buf()];
        if let Some(target) = profile.parent() {
            dirs.push(target.join("release"));
            dirs.push(target.join("debug"));
        }
        let dir = dirs
            .iter()
            .find(|d| {
                ["pct", "pvesm", "phoenix-mktemplate"]
                    .iter()
                    .all(|b| d.join(b).is_file())
            })
            .with_context(|| {
                format!(
                    "the pct emulator binaries are missing from {}: run \
                     `cargo build --release -p phoenix-cli -p pct-emulator` first",
                    profile.display()
                )
            })?;
        Ok(Bins {
            phoenix: PathBuf::from(env!("CARGO_BIN_EXE_phoenix")),
            pct: dir.join("pct"),
            pvesm: dir.join("pvesm"),
            mktemplate: dir.join("phoenix-mktemplate"),
        })
    }
}

/// A fleet under a temporary root; dropping it destroys its containers, then the root.
struct Fleet<'a> {
    bins: &'a Bins,
    config: &'a Path,
    ids: Vec<u32>,
    root: tempfile::TempDir,
}

impl<'a> Fleet<'a> {
    fn new(bins: &'a Bins, config: &'a Path, cts: u32, first: u32) -> anyhow::Result<Fleet<'a>> {
        let root = tempfile::tempdir().context("creating the root directory")?;
        // The containers' id-mapped root users must be able to reach their rootfs.
        std::fs::set_permissions(
            root.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .context("making the root directory traversable")?;
        Ok(Fleet {
            bins,
            config,
            ids: (first..first + cts).collect(),
            root,
        })
    }

    fn root(&self) -> &Path {
        self.root.path()
    }

    /// Installs the OS template into the root.
    fn mktemplate(&self) -> anyhow::Result<()> {
        let status = Command::new(&self.bins.mktemplate)
            .arg("--root")
            .arg(self.root())
            .output()
            .context("running phoenix-mktemplate")?;
        check(&self.bins.mktemplate, &status)
    }

    /// The emulator's environment: this root, its binaries first on `PATH`, and the call
    /// log with the latency when `log` is given.
    fn emulator_env(&self, cmd: &mut Command, log: Option<(&Path, u64)>) -> anyhow::Result<()> {
        cmd.env("PHOENIX_ROOT", self.root())
            .env("PHOENIX_PCT", &self.bins.pct)
            .env("PHOENIX_PVESM", &self.bins.pvesm)
            .env_remove("PHOENIX_CONFIG_DIR")
            .env_remove("PCT_EMU_FAIL")
            .env_remove("PCT_EMU_LOG")
            .env_remove("PCT_EMU_LATENCY_MS")
            .env_remove("PCT_EMU_NODE");
        if let Some(dir) = self.bins.pct.parent() {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut paths = vec![dir.to_path_buf()];
            paths.extend(std::env::split_paths(&path));
            cmd.env("PATH", std::env::join_paths(paths)?);
        }
        if let Some((file, latency_ms)) = log {
            cmd.env("PCT_EMU_LOG", file)
                .env("PCT_EMU_LATENCY_MS", latency_ms.to_string());
        }
        Ok(())
    }

    /// `phoenix --root R --config-dir C <args>` with the emulator; `log` is the call log
    /// and the latency. Returns the wall time; fails with the output on a nonzero exit.
    fn phoenix(&self, args: &[&str], log: Option<(&Path, u64)>) -> anyhow::Result<Duration> {
        self.phoenix_to(args, log, None)
    }

    /// [`Fleet::phoenix`] that also writes phoenix's stderr to `stderr`.
    fn phoenix_to(
        &self,
        args: &[&str],
        log: Option<(&Path, u64)>,
        stderr: Option<&Path>,
    ) -> anyhow::Result<Duration> {
        let mut cmd = Command::new(&self.bins.phoenix);
        cmd.arg("--root")
            .arg(self.root())
            .arg("--config-dir")
            .arg(self.config)
            .args(args);
        self.emulator_env(&mut cmd, log)?;
        let start = Instant::now();
        let out = cmd.output().context("running phoenix")?;
        let took = start.elapsed();
        if let Some(path) = stderr {
            std::fs::write(path, &out.stderr)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        check(&self.bins.phoenix, &out).with_context(|| format!("phoenix {}", args.join(" ")))?;
        Ok(took)
    }
}

impl Drop for Fleet<'_> {
    fn drop(&mut self) {
        let conf_dir = self.root().join("etc/pve/lxc");
        let existing: Vec<String> = self
            .ids
            .iter()
            .filter(|id| conf_dir.join(format!("{id}.conf")).exists())
            .map(u32::to_string)
            .collect();
        if existing.is_empty() {
            return;
        }
        let mut args = vec!["delete"];
        args.extend(existing.iter().map(String::as_str));
        args.push("--yes");
        if let Err(err) = self.phoenix(&args, None) {
            eprintln!("warning: cleanup failed, stopping the containers with lxc-stop: {err:#}");
            let lxcpath = self.root().join("var/lib/lxc");
            for id in &existing {
                let _ = Command::new("lxc-stop")
                    .arg("-P")
                    .arg(&lxcpath)
                    .args(["-n", id, "-k"])
                    .output();
            }
        }
    }
}

/// Creates the bridge when it is missing, and removes it on drop when it did not exist
/// before the benchmark.
struct BridgeGuard {
    name: &'static str,
    existed: bool,
}

impl BridgeGuard {
    fn new(name: &'static str) -> BridgeGuard {
        let existed = Path::new("/sys/class/net").join(name).exists();
        if !existed {
            for args in [
                &["link", "add", "name", name, "type", "bridge"][..],
                &["link", "set", name, "up"],
            ] {
                let _ = Command::new("ip").args(args).output();
            }
        }
        BridgeGuard { name, existed }
    }
}

impl Drop for BridgeGuard {
    fn drop(&mut self) {
        if !self.existed && Path::new("/sys/class/net").join(self.name).exists() {
            let _ = Command::new("ip")
                .args(["link", "del", "name", self.name])
                .output();
        }
    }
}

/// Fails with the program's stdout and stderr when it exited nonzero.
fn check(program: &Path, out: &Output) -> anyhow::Result<()> {
    if out.status.success() {
        return Ok(());
    }
    bail!(
        "{} failed ({}):\n{}{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Emulator calls by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Calls {
    /// config, status, list, listsnapshot, pending (and `pvesm status`).
    reads: usize,
    /// `pct exec` (the idmap proof; may write inside the container).
    execs: usize,
    /// Everything else: create, clone, set, start, snapshot...
    writes: usize,
}

impl Calls {
    fn add(&mut self, line: &str) {
        match line.split_whitespace().nth(1).unwrap_or("") {
            sub if READS.contains(&sub) => self.reads += 1,
            "exec" => self.execs += 1,
            _ => self.writes += 1,
        }
    }

    fn total(&self) -> usize {
        self.reads + self.execs + self.writes
    }

    /// Every call but the reads.
    fn mutating(&self) -> usize {
        self.execs + self.writes
    }
}

/// A `PCT_EMU_LOG` file: `<program> <subcommand> ...`, then a tab, the call's start (ms
/// since the Unix epoch) and its duration (ms), one call a line, written as each call
/// ends; kept here in the order the calls started.
#[derive(Debug, Default, Clone)]
struct CallLog {
    /// The calls' argv (`pct clone 7000 7001 ...`).
    lines: Vec<String>,
    /// Each line's start (ms since the epoch) and duration (ms).
    times: Vec<(f64, f64)>,
}

impl CallLog {
    /// Reads the log; a missing file is a run without calls.
    fn read(path: &Path) -> anyhow::Result<CallLog> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut calls = Vec::new();
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            let (call, times) = l.split_once('\t').unwrap_or((l, ""));
            let mut t = times.split(' ').map(str::parse::<f64>);
            let (Some(Ok(start)), Some(Ok(took))) = (t.next(), t.next()) else {
                bail!("{}: a line without start and duration: {l}", path.display());
            };
            calls.push((start, took, call.to_owned()));
        }
        calls.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(CallLog {
            times: calls.iter().map(|c| (c.0, c.1)).collect(),
            lines: calls.into_iter().map(|c| c.2).collect(),
        })
    }

    /// The container a call is about (`pct clone SRC NEW` is about NEW); `None` for the
    /// calls about the node (`pct list`, `pvesm status`).
    fn vmid_of(line: &str) -> Option<u32> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (program, sub) = (words.first()?, words.get(1)?);
        if !program.ends_with("pct") {
            return None;
        }
        let at = if *sub == "clone" { 3 } else { 2 };
        words.get(at)?.parse().ok()
    }

    fn all(&self) -> Calls {
        let mut c = Calls::default();
        for l in &self.lines {
            c.add(l);
        }
        c
    }

    /// Calls about the node, not about one container.
    fn node(&self) -> Calls {
        let mut c = Calls::default();
        for l in self.lines.iter().filter(|l| Self::vmid_of(l).is_none()) {
            c.add(l);
        }
        c
    }

    /// Calls per container.
    fn per_ct(&self) -> BTreeMap<u32, Calls> {
        let mut out: BTreeMap<u32, Calls> = BTreeMap::new();
        for l in &self.lines {
            if let Some(id) = Self::vmid_of(l) {
                out.entry(id).or_default().add(l);
            }
        }
        out
    }

    /// How many lines have this subcommand.
    fn count(&self, sub: &str) -> usize {
        self.lines
            .iter()
            .filter(|l| l.split_whitespace().nth(1) == Some(sub))
            .count()
    }
}

/// Each call's own work: its duration in the emulator's log of a `phoenix up --jobs 1`
/// without latency (the least of a few such runs), by container and subcommand.
#[derive(Debug, Default, Clone)]
struct Work {
    /// (container, subcommand) -> ms; `None`: a call about the node.
    by_call: BTreeMap<(Option<u32>, String), f64>,
    /// The runs it was measured in.
    runs: usize,
}

impl Work {
    /// The least duration of each (container, subcommand) over `logs` (several calls of
    /// one kind in one run, as the source's two `pct exec`, are summed first).
    fn of(logs: &[CallLog]) -> Work {
        let mut by_call: BTreeMap<(Option<u32>, String), f64> = BTreeMap::new();
        for log in logs {
            let mut run: BTreeMap<(Option<u32>, String), f64> = BTreeMap::new();
            for (line, (_, ms)) in log.lines.iter().zip(&log.times) {
                *run.entry(Self::key(line)).or_default() += ms;
            }
            for (k, ms) in run {
                let e = by_call.entry(k).or_insert(ms);
                *e = e.min(ms);
            }
        }
        Work {
            by_call,
            runs: logs.len(),
        }
    }

    fn key(line: &str) -> (Option<u32>, String) {
        (
            CallLog::vmid_of(line),
            line.split_whitespace().nth(1).unwrap_or("").to_owned(),
        )
    }

    /// The work of one call of a timed run, in seconds (0 when it was not measured).
    fn of_call(&self, line: &str, calls_of_kind: usize) -> f64 {
        self.by_call.get(&Self::key(line)).copied().unwrap_or(0.0)
            / 1000.0
            / calls_of_kind.max(1) as f64
    }

    /// Per program and subcommand (`pct clone`) over `logs`: calls per run, the median
    /// and the largest duration (ms).
    fn per_subcommand(logs: &[CallLog]) -> BTreeMap<String, (usize, f64, f64)> {
        let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for log in logs {
            for (line, (_, ms)) in log.lines.iter().zip(&log.times) {
                let name: Vec<&str> = line.split_whitespace().take(2).collect();
                by.entry(name.join(" ")).or_default().push(*ms);
            }
        }
        by.into_iter()
            .map(|(k, mut v)| {
                v.sort_by(f64::total_cmp);
                (
                    k,
                    (v.len() / logs.len().max(1), v[v.len() / 2], v[v.len() - 1]),
                )
            })
            .collect()
    }
}

/// The lower bound of a first `up` and its three parts, in seconds.
#[derive(Debug, Clone, Copy)]
struct Bound {
    /// The serialized part: the node's calls, the source's, every `pct clone` one after
    /// the other (the source's lock), then the rest of the clone that cloned last.
    chain: f64,
    /// The node's and the source's calls, then every clone's calls spread over `jobs`.
    slots: f64,
    /// The node's and the source's calls, then every clone's work spread over the CPUs.
    cpus: f64,
}

impl Bound {
    fn max(&self) -> Duration {
        Duration::from_secs_f64(self.chain.max(self.slots).max(self.cpus))
    }
}

/// The shortest time the first `up` of the fleet (one source, its clones) can take at
/// `jobs`, from the calls it made (`log`): each call costs `latency` plus its own work
/// (`work`; none for the bound of the calls alone).
///
/// - The calls about the node come first (the plan needs them): they are independent
///   of each other, so at least the longest of them, and at least all of them spread
///   over `jobs`. Then the source's calls one after the other (every clone needs it).
///   Nothing else can run meanwhile: this prefix is part of every term below.
/// - (a) the chain: each `pct clone` holds the source's lock (`lock: disk`), so the
///   clones' `pct clone` calls run one after the other, and the clone that got the lock
///   last still has its other calls to make (the fewest of any clone's).
/// - (b) the slots: every clone's calls, spread over `jobs` (a guest holds one job slot).
///   It is at least all the run's calls / `jobs`.
/// - (c) the CPUs: every clone's work spread over the machine's `cpus` (taking the
///   work at no latency as CPU time). At least all the run's work / `cpus`.
fn lower_bound(
    log: &CallLog,
    source: u32,
    jobs: u32,
    latency: Duration,
    work: Option<&Work>,
    cpus: usize,
) -> Bound {
    let l = latency.as_secs_f64();
    let jobs = f64::from(jobs.max(1));
    // Each call's work: calls of one container and subcommand share what was measured.
    let mut kinds: BTreeMap<(Option<u32>, String), usize> = BTreeMap::new();
    for line in &log.lines {
        *kinds.entry(Work::key(line)).or_default() += 1;
    }
    let w = |line: &str| work.map_or(0.0, |w| w.of_call(line, kinds[&Work::key(line)]));
    let node: Vec<f64> = log
        .lines
        .iter()
        .filter(|line| CallLog::vmid_of(line).is_none())
        .map(|line| l + w(line))
        .collect();
    let node = node
        .iter()
        .copied()
        .fold(0.0, f64::max)
        .max(node.iter().sum::<f64>() / jobs);
    let mut per: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for line in &log.lines {
        if let Some(id) = CallLog::vmid_of(line) {
            per.entry(id).or_default().push(line);
        }
    }
    let src: f64 = per
        .get(&source)
        .map_or(0.0, |c| c.iter().map(|line| l + w(line)).sum());
    let prefix = node + src;
    let is_clone = |line: &str| line.split_whitespace().nth(1) == Some("clone");
    let clones: Vec<&Vec<&str>> = per
        .iter()
        .filter(|(id, _)| **id != source)
        .map(|(_, c)| c)
        .collect();
    let clone_calls: f64 = clones
        .iter()
        .flat_map(|c| c.iter().filter(|line| is_clone(line)))
        .map(|line| l + w(line))
        .sum();
    let rest = clones
        .iter()
        .map(|c| {
            c.iter()
                .filter(|line| !is_clone(line))
                .map(|line| l + w(line))
                .sum::<f64>()
        })
        .fold(f64::INFINITY, f64::min);
    let rest = if rest.is_finite() { rest } else { 0.0 };
    let all: f64 = clones
        .iter()
        .flat_map(|c| c.iter())
        .map(|line| l + w(line))
        .sum();
    let all_work: f64 = clones
        .iter()
        .flat_map(|c| c.iter())
        .map(|line| w(line))
        .sum();
    Bound {
        chain: prefix + clone_calls + rest,
        slots: prefix + all / jobs,
        cpus: prefix + all_work / cpus.max(1) as f64,
    }
}

/// Where a first `up`'s time went, from its call log (start and duration of each call).
#[derive(Debug, Clone, Copy, Default)]
struct Timeline {
    /// phoenix's own time between the end of one of a guest's calls and the start of its
    /// next (parsing, planning, spawning pct): median and largest, ms.
    between_calls: (f64, f64),
    /// The longest time, ms, from one `pct clone`'s end to the next's start while fewer
    /// than `jobs` guests were busy (a ready clone and a free slot, not started).
    clone_wait: f64,
    /// Calls in flight on average, from the first call's start to the last's end.
    in_flight: f64,
}

impl Timeline {
    fn of(log: &CallLog, jobs: u32) -> Timeline {
        let calls: Vec<(f64, f64, Option<u32>, bool)> = log
            .lines
            .iter()
            .zip(&log.times)
            .map(|(line, (start, ms))| {
                let clone = line.split_whitespace().nth(1) == Some("clone");
                (*start, start + ms, CallLog::vmid_of(line), clone)
            })
            .collect();
        let Some(first) = calls.iter().map(|c| c.0).reduce(f64::min) else {
            return Timeline::default();
        };
        let last = calls.iter().map(|c| c.1).fold(first, f64::max);
        // Each guest is busy from its first call's start to its last call's end.
        let mut busy: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
        let mut gaps = Vec::new();
        let mut prev_end: BTreeMap<u32, f64> = BTreeMap::new();
        for &(start, end, id, _) in &calls {
            let Some(id) = id else { continue };
            let b = busy.entry(id).or_insert((start, end));
            b.1 = b.1.max(end);
            if let Some(p) = prev_end.insert(id, end) {
                gaps.push((start - p).max(0.0));
            }
        }
        gaps.sort_by(f64::total_cmp);
        let busy_at = |t: f64| busy.values().filter(|(s, e)| *s <= t && t < *e).count();
        let clones: Vec<&(f64, f64, Option<u32>, bool)> = calls.iter().filter(|c| c.3).collect();
        let clone_wait = clones
            .windows(2)
            .filter(|w| busy_at(w[0].1) < jobs as usize)
            .map(|w| (w[1].0 - w[0].1).max(0.0))
            .fold(0.0, f64::max);
        let in_flight = calls.iter().map(|c| c.1 - c.0).sum::<f64>() / (last - first).max(1e-9);
        Timeline {
            between_calls: (
                gaps.get(gaps.len() / 2).copied().unwrap_or(0.0),
                gaps.last().copied().unwrap_or(0.0),
            ),
            clone_wait,
            in_flight,
        }
    }
}

/// Where the roots live: the tmpfs `scripts/bench.sh` mounts, or the disk.
fn storage_medium() -> String {
    let dir = std::env::temp_dir();
    let fstype = std::fs::read_to_string("/proc/mounts")
        .ok()
        .and_then(|m| {
            m.lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() > 2 && dir.starts_with(f[1])).then(|| (f[1].len(), f[2].to_owned()))
                })
                .max()
                .map(|(_, t)| t)
        })
        .unwrap_or_else(|| "unknown".into());
    if fstype == "tmpfs" {
        format!(
            "on a tmpfs (`{}`, mounted by scripts/bench.sh; `PHOENIX_BENCH_TMPFS=0` keeps them on the disk): a `pct clone` copies a rootfs with `cp -a`, and on this machine's ext4 disk that copy took 12 ms to 300 ms depending on what the bench had deleted before, the disk's behaviour rather than phoenix's (on Proxmox the copy is the storage's own)",
            dir.display()
        )
    } else {
        format!("on the disk (`{}`, {fstype})", dir.display())
    }
}

/// Everything measured, rendered as BENCHMARKS.md.
struct Report<'a> {
    mode: &'a Mode,
    cpus: usize,
    load: (&'a str, &'a str),
    speed: &'a [Speed],
    rows: &'a [Row],
    /// Each call's work (no latency, `--jobs 1`).
    work: Work,
    /// The same, per subcommand, for the table.
    work_table: BTreeMap<String, (usize, f64, f64)>,
    baseline: Option<&'a Baseline>,
}

/// The count targets (issue 16): a created clone makes at most this many calls that
/// mutate or exec, and at most this many reads.
const CLONE_MUTATING_MAX: usize = 4;
const CLONE_READS_MAX: usize = 2;
/// `--jobs 4` within this factor of the lower bound (reported, never asserted).
const JOBS4_RATIO_MAX: f64 = 1.3;

impl Report<'_> {
    fn secs(d: Duration) -> String {
        if d < Duration::from_secs(1) {
            format!("{:.0} ms", d.as_secs_f64() * 1000.0)
        } else {
            format!("{:.1} s", d.as_secs_f64())
        }
    }

    /// The clones' calls (the created containers but the source).
    fn clone_calls(row: &Row) -> Vec<Calls> {
        row.first_log
            .per_ct()
            .into_iter()
            .filter(|(id, _)| *id != FIRST_CTID)
            .map(|(_, c)| c)
            .collect()
    }

    /// The count targets that were missed.
    fn missed(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in self.rows {
            for (i, c) in Self::clone_calls(r).iter().enumerate() {
                if c.mutating() > CLONE_MUTATING_MAX || c.reads > CLONE_READS_MAX {
                    out.push(format!(
                        "--jobs {}: clone #{}: {} mutating or exec calls (at most {CLONE_MUTATING_MAX}), {} reads (at most {CLONE_READS_MAX})",
                        r.jobs,
                        i + 1,
                        c.mutating(),
                        c.reads
                    ));
                }
            }
            let second = r.second_log.all();
            if second.mutating() > 0 {
                out.push(format!(
                    "--jobs {}: the second up made {} mutating calls",
                    r.jobs,
                    second.mutating()
                ));
            }
            let per = r.second_log.per_ct();
            if per.values().any(|c| c.total() > 1) || r.second_log.count("list") > 1 {
                out.push(format!(
                    "--jobs {}: the second up read more than once per container and one pct list",
                    r.jobs
                ));
            }
        }
        out
    }

    fn markdown(&self) -> String {
        let m = self.mode;
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(w, "# Benchmarks\n");
        let _ = writeln!(
            w,
            "Regenerate this file with `bash scripts/bench.sh` (as root, with LXC and `jq`; \
             it builds the release binaries and runs `cargo bench -p phoenix-cli --bench fleet`). \
             Every figure below comes from one run of that command on one machine: \
             {} CPUs, load average `{}` at the start and `{}` at the end. Times are medians \
             where a row says so, else one run; calls and processes are counted, so they do \
             not depend on the machine. Times measured while other builds share the CPUs are \
             noisy: compare the ratios (measured side by side in this run) and the counts. \
             The emulator's roots (every container's rootfs) are {}.{}\n",
            self.cpus,
            self.load.0,
            self.load.1,
            storage_medium(),
            if !m.bench {
                " **This is the smoke run (`cargo test`), not the benchmark.**"
            } else if m.partial {
                " **This is a partial run (`PHOENIX_BENCH_JOBS`): only some `up` rows.**"
            } else {
                ""
            }
        );

        if !self.speed.is_empty() {
            self.plan_section(w);
        }
        self.calls_section(w);
        self.up_section(w);
        if let Some(b) = self.baseline {
            self.baseline_section(w, b);
        }
        o
    }

    fn plan_section(&self, w: &mut String) {
        let m = self.mode;
        let _ = writeln!(w, "## Validate and plan\n");
        let _ = writeln!(
            w,
            "`phoenix validate` and `phoenix plan` (every container new: one `pct list`, one \
             `pvesm status`) as processes, on generated fleets (one template CT, the rest its \
             clones), median of {} runs each, with the pct emulator and no latency.\n",
            m.repeats
        );
        let _ = writeln!(
            w,
            "| containers | validate | plan | plan per container | plan's pct/pvesm calls |"
        );
        let _ = writeln!(w, "| ---: | ---: | ---: | ---: | ---: |");
        for s in self.speed {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {:.1} µs | {} |",
                s.cts,
                Self::secs(s.validate),
                Self::secs(s.plan),
                s.plan.as_secs_f64() * 1e6 / f64::from(s.cts),
                s.plan_calls
            );
        }
    }

    fn calls_section(&self, w: &mut String) {
        let m = self.mode;
        let _ = writeln!(w, "\n## pct calls per created container\n");
        let _ = writeln!(
            w,
            "The fleet: {} containers, CT {FIRST_CTID} created from `{OS_TEMPLATE}` and \
             snapshotted, {} clones of that snapshot. Counted from the emulator's call log \
             (`PCT_EMU_LOG`) of the first `phoenix up --jobs {}` (every `--jobs` makes the \
             same calls). Reads: `config`, `status`, `list`, `listsnapshot`, `pvesm status`; \
             execs: `pct exec`; mutations: everything else.\n",
            m.cts,
            m.cts - 1,
            self.rows.first().map_or(0, |r| r.jobs)
        );
        if let Some(r) = self.rows.first() {
            let _ = writeln!(w, "| what | calls | reads | execs | mutations | target |");
            let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | --- |");
            let per = r.first_log.per_ct();
            let node = r.first_log.node();
            let _ = writeln!(
                w,
                "| the node (`pct list`, `pvesm status`), once per run | {} | {} | {} | {} | |",
                node.total(),
                node.reads,
                node.execs,
                node.writes
            );
            if let Some(c) = per.get(&FIRST_CTID) {
                let _ = writeln!(
                    w,
                    "| the source CT {FIRST_CTID} (create, start, snapshot) | {} | {} | {} | {} | |",
                    c.total(),
                    c.reads,
                    c.execs,
                    c.writes
                );
            }
            let clones = Self::clone_calls(r);
            let max = |f: fn(&Calls) -> usize| clones.iter().map(f).max().unwrap_or(0);
            let _ = writeln!(
                w,
                "| each clone (the most any clone made) | {} | {} | {} | {} | mutations + execs ≤ {CLONE_MUTATING_MAX} ({}), reads ≤ {CLONE_READS_MAX} ({}) |",
                max(Calls::total),
                max(|c| c.reads),
                max(|c| c.execs),
                max(|c| c.writes),
                if max(Calls::mutating) <= CLONE_MUTATING_MAX {
                    "met"
                } else {
                    "**missed**"
                },
                if max(|c| c.reads) <= CLONE_READS_MAX {
                    "met"
                } else {
                    "**missed**"
                },
            );
            let all = r.first_log.all();
            let n = f64::from(m.cts);
            let _ = writeln!(
                w,
                "| per container, the whole run / {} | {:.2} | {:.2} | {:.2} | {:.2} | |",
                m.cts,
                all.total() as f64 / n,
                all.reads as f64 / n,
                all.execs as f64 / n,
                all.writes as f64 / n
            );
            let second = r.second_log.all();
            let per2 = r.second_log.per_ct();
            let most = per2.values().map(Calls::total).max().unwrap_or(0);
            let _ = writeln!(
                w,
                "| the no-op re-run (second `up`), whole run | {} | {} | {} | {} | no mutation ({}), ≤ 1 read per container + one `pct list` ({}: at most {most} per container, {} `pct list`) |",
                second.total(),
                second.reads,
                second.execs,
                second.writes,
                if second.mutating() == 0 {
                    "met"
                } else {
                    "**missed**"
                },
                if most <= 1 && r.second_log.count("list") <= 1 {
                    "met"
                } else {
                    "**missed**"
                },
                r.second_log.count("list"),
            );
        }
        let _ = writeln!(
            w,
            "\nA clone costs `pct clone`, `pct set` (`pct clone` takes no `--net0`), `pct \
             start`, `pct status` (it runs) and one `pct exec` that proves the uid map, the \
             gid map and every volume together. Its steps after the clone are planned again \
             from the conf Proxmox wrote (a clone's MACs exist only then), read from the conf \
             file, not with a `pct config`. A no-op re-run reads `pct \
             list`, then `pct config` of each container (the source's snapshots come from its \
             conf file, not from a `pct listsnapshot`), plus `pvesm status` for the storage check."
        );
    }

    fn up_section(&self, w: &mut String) {
        let m = self.mode;
        let _ = writeln!(w, "\n## `phoenix up` wall time\n");
        let _ = writeln!(
            w,
            "The same fleet from an empty root, every emulator call delayed by \
             `PCT_EMU_LATENCY_MS={}` (a Proxmox API round trip), then `phoenix up` again. \
             Each row's lower bound is computed from the calls its first `up` made (the \
             emulator's call log) and the DAG; each call costs the latency plus its own \
             work, the time the same call took in a `phoenix up --jobs 1` of the same \
             fleet without latency (the least of {} such runs, made before the rows: \
             creating the rootfs, copying it for a clone, starting LXC, attaching for \
             `pct exec`). The bound is the largest of three:\n",
            m.latency_ms, self.work.runs
        );
        let _ = writeln!(
            w,
            "- First, in each of them: the calls about the node (`pct list`, `pvesm \
             status`: the plan needs them; they are independent, so the longer of them, or \
             both spread over `--jobs`), then the source's calls one after the other (every \
             clone needs its snapshot, so nothing else can run meanwhile).\n\
             - (a) **chain**: the clones' `pct clone` calls one after the other (each holds \
             the source's lock, `lock: disk`), each latency + its work, then the other \
             calls of the clone that cloned last (the fewest of any clone's).\n\
             - (b) **slots**: all the clones' calls (latency + work) divided by `--jobs` (a \
             guest holds one job slot). With the prefix this is at least all the run's \
             calls (latency + work) / `--jobs`.\n\
             - (c) **CPUs**: all the clones' work divided by the machine's {} CPUs (the \
             work without latency taken as CPU time; it never binds here).\n",
            self.cpus
        );
        let _ = writeln!(
            w,
            "The calls-only bound is the same with no work (each call one latency): it \
             leaves out what the measured times include. The target (`--jobs 4` within \
             {JOBS4_RATIO_MAX}× of the lower bound) is judged against the bound with work.\n"
        );
        let _ = writeln!(
            w,
            "| `--jobs` | first up | calls-only bound | first / calls-only | (a) chain | (b) slots | (c) CPUs | bound with work | first / bound with work | second up (no-op) |"
        );
        let _ = writeln!(
            w,
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        let lat = Duration::from_millis(m.latency_ms);
        for r in self.rows {
            let calls_only =
                lower_bound(&r.first_log, FIRST_CTID, r.jobs, lat, None, self.cpus).max();
            let b = lower_bound(
                &r.first_log,
                FIRST_CTID,
                r.jobs,
                lat,
                Some(&self.work),
                self.cpus,
            );
            let with_work = b.max();
            let ratio = |bound: Duration| r.first.as_secs_f64() / bound.as_secs_f64().max(1e-9);
            // Without latency (the smoke run) the calls-only bound is nothing.
            let calls_ratio = if calls_only < Duration::from_millis(1) {
                "-".to_owned()
            } else {
                format!("{:.2}", ratio(calls_only))
            };
            let x = ratio(with_work);
            let target = if r.jobs != 4 {
                String::new()
            } else if x <= JOBS4_RATIO_MAX {
                format!(" (target ≤ {JOBS4_RATIO_MAX}: met)")
            } else {
                format!(" (target ≤ {JOBS4_RATIO_MAX}: **missed**)")
            };
            let sec = |x: f64| Self::secs(Duration::from_secs_f64(x));
            let _ = writeln!(
                w,
                "| {} | {} | {} | {calls_ratio} | {} | {} | {} | {} | {x:.2}{target} | {} |",
                r.jobs,
                Self::secs(r.first),
                Self::secs(calls_only),
                sec(b.chain),
                sec(b.slots),
                sec(b.cpus),
                Self::secs(with_work),
                Self::secs(r.second)
            );
        }
        let _ = writeln!(
            w,
            "\nWhere each first `up`'s time went, from the start and duration of every call \
             in its log: phoenix's own time between the end of one of a guest's calls and the \
             start of its next (parsing, planning, spawning pct); the longest a ready clone \
             waited after the previous `pct clone` ended while a job slot was free (fewer \
             than `--jobs` guests busy, a guest being busy from its first call's start to its \
             last call's end); the calls in flight on average; and the same bound (chain and \
             slots) computed with each call's own duration in this run (latency and work as \
             they came, contention with the other calls included) instead of latency + the \
             work without latency: how long the run would take if phoenix added nothing \
             between the calls the node made, so the ratio is phoenix's own share; and the \
             bound with work again, each call's work taken from the `--jobs 1` row instead \
             (its duration there less the latency: the work at the same latency, with \
             nothing of phoenix's beside it), for comparison only: the verdict above uses the \
             work without latency.\n"
        );
        let _ = writeln!(
            w,
            "| `--jobs` | phoenix between a guest's calls (median / largest) | ready clone waiting with a free slot (longest) | calls in flight (average) | bound from this run's own call times | first / that | bound with the `--jobs 1` row's work | first / that |"
        );
        let _ = writeln!(
            w,
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        // Each call's work as it came in the `--jobs 1` row: its duration less the latency
        // (the same latency, nothing of phoenix's beside it).
        let serial_work = self.rows.iter().find(|r| r.jobs == 1).map(|r| {
            let mut log = r.first_log.clone();
            for t in &mut log.times {
                t.1 = (t.1 - m.latency_ms as f64).max(0.0);
            }
            Work::of(std::slice::from_ref(&log))
        });
        for r in self.rows {
            let t = Timeline::of(&r.first_log, r.jobs);
            let own = Work::of(std::slice::from_ref(&r.first_log));
            let own = lower_bound(
                &r.first_log,
                FIRST_CTID,
                r.jobs,
                Duration::ZERO,
                Some(&own),
                self.cpus,
            );
            // (c) would count the latency as CPU time: only the chain and the slots.
            let own = Duration::from_secs_f64(own.chain.max(own.slots));
            let (serial, serial_ratio) = match &serial_work {
                Some(sw) => {
                    let b = lower_bound(
                        &r.first_log,
                        FIRST_CTID,
                        r.jobs,
                        Duration::from_millis(m.latency_ms),
                        Some(sw),
                        self.cpus,
                    )
                    .max();
                    (
                        Self::secs(b),
                        format!("{:.2}", r.first.as_secs_f64() / b.as_secs_f64().max(1e-9)),
                    )
                }
                None => ("-".to_owned(), "-".to_owned()),
            };
            let _ = writeln!(
                w,
                "| {} | {:.1} ms / {:.1} ms | {:.1} ms | {:.2} | {} | {:.2} | {serial} | {serial_ratio} |",
                r.jobs,
                t.between_calls.0,
                t.between_calls.1,
                t.clone_wait,
                t.in_flight,
                Self::secs(own),
                r.first.as_secs_f64() / own.as_secs_f64().max(1e-9)
            );
        }
        let _ = writeln!(
            w,
            "\nWhen a row's first / bound with work is well above its first / that, the \
             calls themselves took longer in the timed run than latency + their work without \
             latency (the machine's other load, the disk: a `pct clone` copies a rootfs with \
             `cp -a`), not phoenix's scheduling."
        );
        let _ = writeln!(
            w,
            "\nThe work per call (ms, in the {} runs without latency at `--jobs 1`; the \
             bound takes each call's least):\n",
            self.work.runs
        );
        let _ = writeln!(w, "| call | calls per run | median | largest |");
        let _ = writeln!(w, "| --- | ---: | ---: | ---: |");
        for (sub, (n, med, max)) in &self.work_table {
            let _ = writeln!(w, "| `{sub}` | {n} | {med:.0} | {max:.0} |");
        }
        let _ = writeln!(
            w,
            "\nA clone waiting for its source's lock holds no job slot: the scheduler starts \
             no second clone of a source while one clones it, and gives the slot to other \
             ready work (`Dag::run_leased`)."
        );
    }

    fn baseline_section(&self, w: &mut String, b: &Baseline) {
        let m = self.mode;
        let _ = writeln!(w, "\n## Baseline: the bash era's way\n");
        let _ = writeln!(
            w,
            "`crates/phoenix-cli/benches/bash-era.sh` converges the same fleet (CTs \
             {BASELINE_CTID}..{}) as the old system did: one `jq` process per config value \
             read, `pct create` or `pct clone`, one `pct set` per option, the start/stop \
             cycle (start, stop, the conf read where its idmap check was, start), the \
             snapshot, one container after the other; against the same emulator at the same \
             latency. Processes: programs started (phoenix itself or bash, `sort`, each `jq`, \
             each `pct`/`pvesm` call).\n",
            BASELINE_CTID + m.cts - 1
        );
        let bash_calls = b.log.all();
        let bash_procs = 2 + b.jq + bash_calls.total();
        let _ = writeln!(
            w,
            "| | pct/pvesm calls | mutations + execs | jq processes | processes | wall time |"
        );
        let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: | ---: |");
        let _ = writeln!(
            w,
            "| bash era (sequential) | {} | {} | {} | {} | {} |",
            bash_calls.total(),
            bash_calls.mutating(),
            b.jq,
            bash_procs,
            Self::secs(b.wall)
        );
        for r in self.rows {
            let c = r.first_log.all();
            let _ = writeln!(
                w,
                "| phoenix `--jobs {}` | {} | {} | 0 | {} | {} |",
                r.jobs,
                c.total(),
                c.mutating(),
                1 + c.total(),
                Self::secs(r.first)
            );
        }
        let _ = writeln!(w, "\nRatios, bash era / phoenix:\n");
        let _ = writeln!(w, "| phoenix | calls | processes | wall time |");
        let _ = writeln!(w, "| --- | ---: | ---: | ---: |");
        for r in self.rows {
            let c = r.first_log.all();
            let _ = writeln!(
                w,
                "| `--jobs {}` | {:.2}x | {:.2}x | {:.2}x |",
                r.jobs,
                bash_calls.total() as f64 / c.total().max(1) as f64,
                bash_procs as f64 / (1 + c.total()) as f64,
                b.wall.as_secs_f64() / r.first.as_secs_f64().max(1e-9)
            );
        }
    }
}
