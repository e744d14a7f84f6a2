//! Benchmark of `phoenix up` on a fleet of real LXC containers driven through the pct
//! emulator: wall time of a first and a second `up` at several `--jobs`, and the emulator
//! calls each created container costs.
//!
//! `cargo bench -p phoenix-cli --bench fleet` runs the full benchmark: 20 containers (the
//! template CT 7000 created from the busybox OS template and snapshotted, 19 clones
//! 7001..7019 of that snapshot) on the bridge `vmbrbench`, at `--jobs 1` and `--jobs 4`,
//! with `PCT_EMU_LATENCY_MS=200`. Without `--bench` (`cargo test --all-targets`) it runs a
//! smoke version of the same flow: 3 containers, no latency, `--jobs 2`. Both fail when the
//! second `up` makes a mutating call.
//!
//! It needs root, LXC and the emulator binaries (`pct`, `pvesm`, `phoenix-mktemplate`),
//! which it looks for in the bench's own profile directory, then `target/release`, then
//! `target/debug`: build them with `cargo build --release -p phoenix-cli -p pct-emulator`.
//! Every run gets a fresh temporary root, and its containers are destroyed at the end,
//! also when the run fails.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use phoenix_testkit::Need;
use serde_json::{Value, json};

/// The first container id; the fleet uses `FIRST_CTID..FIRST_CTID + n`.
const FIRST_CTID: u32 = 7000;
/// The host bridge of every container (created by the bench: pct start refuses a
/// missing bridge, as Proxmox does).
const BRIDGE: &str = "vmbrbench";
/// The snapshot of the template the clones are made from.
const SNAPSHOT: &str = "bench-base";
/// The OS template `phoenix-mktemplate` installs.
const OS_TEMPLATE: &str = "local:vztmpl/phoenix-busybox_amd64.tar.gz";
/// The emulator subcommands that only read (a second `up` may make only these).
const READS: [&str; 5] = ["config", "status", "list", "listsnapshot", "pending"];

/// What one invocation measures.
struct Mode {
    cts: u32,
    latency_ms: u64,
    jobs: Vec<u32>,
}

fn main() -> ExitCode {
    let bench = std::env::args().any(|a| a == "--bench");
    let mode = if bench {
        Mode {
            cts: 20,
            latency_ms: 200,
            jobs: vec![1, 4],
        }
    } else {
        Mode {
            cts: 3,
            latency_ms: 0,
            jobs: vec![2],
        }
    };
    if !phoenix_testkit::require(&[Need::Root, Need::Command("lxc-start"), Need::Command("ip")]) {
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
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: a second `phoenix up` made mutating calls (see the table)");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every `--jobs` value and prints the table; false when a second `up` mutated.
fn run(mode: &Mode, bins: &Bins) -> anyhow::Result<bool> {
    let config = tempfile::tempdir().context("creating the config directory")?;
    for (name, value) in fleet_config(mode.cts) {
        let text = serde_json::to_string_pretty(&value)?;
        std::fs::write(config.path().join(name), text)
            .with_context(|| format!("writing {name}"))?;
    }
    let bridge = BridgeGuard::new();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "fleet: {} CTs (CT {FIRST_CTID} from {OS_TEMPLATE} + snapshot, {} clones), \
         PCT_EMU_LATENCY_MS={}, {cpus} CPUs",
        mode.cts,
        mode.cts - 1,
        mode.latency_ms
    );
    println!("phoenix: {}", bins.phoenix.display());
    println!("pct:     {}", bins.pct.display());
    let mut rows = Vec::new();
    for &jobs in &mode.jobs {
        rows.push(measure(mode, bins, config.path(), jobs)?);
    }
    println!();
    print!("{}", render_table(&rows, mode.cts));
    drop(bridge);
    Ok(rows.iter().all(|r| r.second_calls.mutating() == 0))
}

/// One row of the table.
struct Row {
    jobs: u32,
    first: Duration,
    second: Duration,
    first_calls: Calls,
    second_calls: Calls,
}

/// Converges the fleet from nothing, then again, on a fresh root; destroys it after.
fn measure(mode: &Mode, bins: &Bins, config: &Path, jobs: u32) -> anyhow::Result<Row> {
    let fleet = Fleet::new(bins, config, mode.cts)?;
    let root = fleet.root();
    let status = Command::new(&bins.mktemplate)
        .arg("--root")
        .arg(root)
        .output()
        .context("running phoenix-mktemplate")?;
    check(&bins.mktemplate, &status)?;

    let jobs_arg = jobs.to_string();
    let up = ["up", "--jobs", jobs_arg.as_str()];
    let first_log = root.join("calls-first.log");
    let first = fleet.phoenix(&up, Some((&first_log, mode.latency_ms)))?;
    let second_log = root.join("calls-second.log");
    let second = fleet.phoenix(&up, Some((&second_log, mode.latency_ms)))?;
    let row = Row {
        jobs,
        first,
        second,
        first_calls: Calls::from_log(&first_log)?,
        second_calls: Calls::from_log(&second_log)?,
    };
    eprintln!(
        "--jobs {jobs}: first up {:.1} s, second up {:.1} s",
        first.as_secs_f64(),
        second.as_secs_f64()
    );
    drop(fleet);
    Ok(row)
}

/// The three config files of a fleet of `n` containers: CT 7000 from the OS template with
/// a template snapshot, and `n - 1` clones of that snapshot.
fn fleet_config(n: u32) -> [(&'static str, Value); 3] {
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
                    "bridge": BRIDGE,
                    "ip": format!("10.77.0.{}/24", 10 + i),
                    "gw": "10.77.0.1"
                },
                "mac_address": format!("52:54:00:77:{:02x}:{:02x}", i / 256, i % 256),
                "unprivileged": true,
                "features": [],
                "lxc_options": []
            });
            if i == 0 {
                ct["template"] = json!(OS_TEMPLATE);
                ct["template_snapshot_name"] = json!(SNAPSHOT);
            } else {
                ct["clone_from_ctid"] = json!(FIRST_CTID);
            }
            ((FIRST_CTID + i).to_string(), ct)
        })
        .collect();
    let hypervisor = json!({
        "version": "1.0.0",
        "timezone": "UTC",
        "network": {
            "interfaces": {
                "name": BRIDGE,
                "address": "10.77.0.2/24",
                "gateway": "10.77.0.1",
                "dns_nameservers": "10.77.0.1"
            },
            "default_subnet": "10.77.0.0/24"
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
            "network_bridge": BRIDGE
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
    fn new(bins: &'a Bins, config: &'a Path, cts: u32) -> anyhow::Result<Fleet<'a>> {
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
            ids: (FIRST_CTID..FIRST_CTID + cts).collect(),
            root,
        })
    }

    fn root(&self) -> &Path {
        self.root.path()
    }

    /// `phoenix --root R --config-dir C <args>` with the emulator; `log` is the call log
    /// and the latency. Returns the wall time; fails with the output on a nonzero exit.
    fn phoenix(&self, args: &[&str], log: Option<(&Path, u64)>) -> anyhow::Result<Duration> {
        let mut cmd = Command::new(&self.bins.phoenix);
        cmd.arg("--root")
            .arg(self.root())
            .arg("--config-dir")
            .arg(self.config)
            .args(args)
            .env("PHOENIX_ROOT", self.root())
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
        let start = Instant::now();
        let out = cmd.output().context("running phoenix")?;
        let took = start.elapsed();
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
    existed: bool,
}

impl BridgeGuard {
    fn new() -> BridgeGuard {
        let existed = Path::new("/sys/class/net").join(BRIDGE).exists();
        if !existed {
            for args in [
                &["link", "add", "name", BRIDGE, "type", "bridge"][..],
                &["link", "set", BRIDGE, "up"],
            ] {
                let _ = Command::new("ip").args(args).output();
            }
        }
        BridgeGuard { existed }
    }
}

impl Drop for BridgeGuard {
    fn drop(&mut self) {
        if !self.existed && Path::new("/sys/class/net").join(BRIDGE).exists() {
            let _ = Command::new("ip")
                .args(["link", "del", "name", BRIDGE])
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

/// Emulator calls (`pct` and `pvesm`) of one run, by kind.
#[derive(Debug, Default, Clone, Copy)]
struct Calls {
    /// config, status, list, listsnapshot, pending.
    reads: usize,
    /// `pct exec` (the idmap proof; may write inside the container).
    execs: usize,
    /// Everything else: create, clone, set, start, snapshot...
    writes: usize,
}

impl Calls {
    /// Counts the lines of a `PCT_EMU_LOG` file (`<program> <subcommand> ...`); a missing
    /// file is a run without calls.
    fn from_log(path: &Path) -> anyhow::Result<Calls> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Calls::parse(&text))
    }

    fn parse(log: &str) -> Calls {
        let mut calls = Calls::default();
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            match line.split_whitespace().nth(1).unwrap_or("") {
                sub if READS.contains(&sub) => calls.reads += 1,
                "exec" => calls.execs += 1,
                _ => calls.writes += 1,
            }
        }
        calls
    }

    fn total(&self) -> usize {
        self.reads + self.execs + self.writes
    }

    /// Every call but the reads.
    fn mutating(&self) -> usize {
        self.execs + self.writes
    }
}

/// The result table (plain text, one row per `--jobs`).
fn render_table(rows: &[Row], cts: u32) -> String {
    let per_ct = |n: usize| n as f64 / f64::from(cts);
    let mut out = format!(
        "{:>4}  {:>9}  {:>9}  {:>10}  {:>30}  {:>11}  {:>12}\n",
        "jobs",
        "1st up",
        "2nd up",
        "1st calls",
        "1st calls/CT (read+exec+write)",
        "2nd calls",
        "2nd mutating"
    );
    for r in rows {
        let c = r.first_calls;
        let split = format!(
            "{:.2} ({:.2} + {:.2} + {:.2})",
            per_ct(c.total()),
            per_ct(c.reads),
            per_ct(c.execs),
            per_ct(c.writes)
        );
        out.push_str(&format!(
            "{:>4}  {:>7.1} s  {:>7.1} s  {:>10}  {:>30}  {:>11}  {:>12}\n",
            r.jobs,
            r.first.as_secs_f64(),
            r.second.as_secs_f64(),
            c.total(),
            split,
            r.second_calls.total(),
            r.second_calls.mutating()
        ));
    }
    out
}
