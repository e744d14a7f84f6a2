//! End-to-end faults: the `phoenix` binary against REAL unprivileged LXC containers
//! through the pct emulator, with something going wrong in the middle. Each fault gives
//! a clear error and leaves nothing half-applied, and the run after it (with the fault
//! gone) ends in the state a clean run ends in: the same confs, container states and
//! volume owners, and a run after that makes no mutating call.
//!
//! Container ids 8840-8879 and the bridge `vmbrft0` are this file's; the tests share the
//! bridge, so they run one at a time.

mod support;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use support::{Env, mutations, small_fleet};

const BRIDGE: &str = "vmbrft0";

/// One test at a time: they share the bridge.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Edits a conf behind phoenix's back, as a user with `vi` would: the next run has a
/// `pct set` to make.
fn drift_memory(env: &Env, id: u32) {
    let conf = env.host(&format!("/etc/pve/lxc/{id}.conf"));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("memory: 96\n"), "{text}");
    std::fs::write(&conf, text.replacen("memory: 96", "memory: 80", 1)).unwrap();
}

fn conf(env: &Env, id: u32) -> String {
    std::fs::read_to_string(env.host(&format!("/etc/pve/lxc/{id}.conf"))).unwrap()
}

/// A run that must fail as a runtime failure (exit 1); returns what it printed.
fn fails(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> String {
    let out = env.phoenix(args, vars);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    text(&out)
}

/// The run after a fault converges, ends like the clean run, and the one after has
/// nothing left to do.
fn converges_back(env: &Env, clean: &std::collections::BTreeMap<String, String>, what: &str) {
    let again = env.ok(&env.phoenix(&["up"], &[]));
    assert!(
        again.contains("3 ok, 0 failed"),
        "re-run after {what}: {again}"
    );
    assert_eq!(&env.state(), clean, "after {what} and a re-run");
    env.take_log();
    env.ok(&env.phoenix(&["up"], &[]));
    assert_eq!(
        mutations(&env.take_log()),
        Vec::<&String>::new(),
        "after {what}"
    );
}

/// pct failing at each call an existing fleet's run makes: the reads that observe it
/// (`list`, `config`; a clone source's snapshots are read from its conf file, not by
/// `pct listsnapshot`), the `set` that repairs a drifted
/// conf and the `exec` that proves its id map. (`e2e_fleet` fails each call of a run
/// from nothing: create, clone, set, start, exec, snapshot.)
#[test]
fn pct_failing_at_each_call_of_a_repair_then_a_rerun_ends_like_a_clean_run() {
    let _one = serial();
    let Some(env) = Env::new(BRIDGE, &[8840, 8841, 8842]) else {
        return;
    };
    small_fleet(&env, 8840);
    env.ok(&env.phoenix(&["up"], &[]));
    let clean = env.state();
    for fail in ["list:1", "config:1", "set:1", "exec:1"] {
        drift_memory(&env, 8841);
        let _ = std::fs::remove_dir_all(env.root.join("var/lib/pct-emulator"));
        env.take_log();
        let failed = fails(&env, &["up"], &[("PCT_EMU_FAIL", fail)]);
        assert!(
            failed.contains("emulated failure (PCT_EMU_FAIL)"),
            "with {fail}: {failed}"
        );
        let log = env.take_log();
        // Nothing was done past the failure: a failed read changes nothing at all.
        if fail != "set:1" && fail != "exec:1" {
            assert_eq!(mutations(&log), Vec::<&String>::new(), "with {fail}");
            assert!(conf(&env, 8841).contains("memory: 80\n"), "with {fail}");
        }
        converges_back(&env, &clean, fail);
    }
}

/// `CT is locked (backup)`: phoenix waits with backoff while the lock is held, goes on
/// when it is released, and after `--lock-wait` fails naming the lock, changing nothing.
#[test]
fn a_locked_container_is_waited_for_then_reported_by_its_lock() {
    let _one = serial();
    let Some(env) = Env::new(BRIDGE, &[8843, 8844, 8845]) else {
        return;
    };
    small_fleet(&env, 8843);
    env.ok(&env.phoenix(&["up"], &[]));
    let clean = env.state();

    // A backup holds the container for longer than phoenix waits.
    drift_memory(&env, 8844);
    let path = env.host("/etc/pve/lxc/8844.conf");
    let locked = format!("{}lock: backup\n", conf(&env, 8844));
    std::fs::write(&path, &locked).unwrap();
    env.take_log();
    let failed = fails(&env, &["up", "--lock-wait", "2"], &[]);
    assert!(
        failed.contains("container 8844 is locked (backup), still after waiting 2.0s (3 tries)"),
        "{failed}"
    );
    let sets = |log: &[String]| log.iter().filter(|l| l.starts_with("set 8844 ")).count();
    assert_eq!(
        sets(&env.take_log()),
        3,
        "tried at once, after 1 s and after 2 s"
    );
    assert_eq!(conf(&env, 8844), locked, "nothing changed under the lock");

    // The backup ends while phoenix waits: the run goes on and succeeds.
    let unlock = {
        let pct = env.bins.join("pct");
        let root = env.root.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            let out = Command::new(pct)
                .args(["unlock", "8844"])
                .env("PHOENIX_ROOT", root)
                .env_remove("PCT_EMU_LOG")
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out));
        })
    };
    let waited = env.ok(&env.phoenix(&["up", "--lock-wait", "30"], &[]));
    unlock.join().unwrap();
    assert!(waited.contains("3 ok, 0 failed"), "{waited}");
    assert!(
        sets(&env.take_log()) >= 2,
        "the set was tried again after the unlock"
    );
    assert_eq!(env.state(), clean);
    converges_back(&env, &clean, "a lock");
}

/// `can't lock file '.../pve-config-<id>.lock' - got timeout`: another process holds the
/// config flock; phoenix retries, then fails naming the lock file.
#[test]
fn a_held_config_flock_is_reported_by_its_file() {
    let _one = serial();
    let Some(env) = Env::new(BRIDGE, &[8846, 8847, 8848]) else {
        return;
    };
    small_fleet(&env, 8846);
    env.ok(&env.phoenix(&["up"], &[]));
    let clean = env.state();
    drift_memory(&env, 8847);
    let before = conf(&env, 8847);
    let lock_path = env.host("/run/lock/lxc/pve-config-8847.lock");
    let holder = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap();
    holder.lock().unwrap();
    env.take_log();
    let failed = fails(
        &env,
        &["up", "--lock-wait", "1"],
        &[("PCT_EMU_LOCK_TIMEOUT_MS", "200")],
    );
    let shown = format!(
        "container 8847: another process holds the config lock {} (got timeout), still after waiting 1.0s (2 tries)",
        lock_path.display()
    );
    assert!(failed.contains(&shown), "{failed}");
    assert_eq!(conf(&env, 8847), before, "nothing changed");
    holder.unlock().unwrap();
    drop(holder);
    converges_back(&env, &clean, "a held flock");
}

/// A saved plan applied after `pct destroy` of one of its containers: refused before any
/// call, naming the missing conf; `phoenix up` then creates the container again.
#[test]
fn a_container_deleted_between_plan_and_apply_is_refused() {
    let _one = serial();
    let Some(env) = Env::new(BRIDGE, &[8849, 8850, 8851]) else {
        return;
    };
    small_fleet(&env, 8849);
    env.ok(&env.phoenix(&["up"], &[]));
    let clean = env.state();
    drift_memory(&env, 8850);
    let plan = env.ok(&env.phoenix(&["plan", "-o", "json"], &[]));
    let plan_file = env.root.join("plan.json");
    std::fs::write(&plan_file, plan).unwrap();
    env.pct_stdout(&["stop", "8850"]);
    env.pct_stdout(&["destroy", "8850"]);
    let others = (conf(&env, 8849), conf(&env, 8851));
    env.take_log();
    let out = env.phoenix(&["apply", plan_file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "plan is stale: /etc/pve/lxc/8850.conf was deleted since the plan was made; run phoenix plan again"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(mutations(&env.take_log()), Vec::<&String>::new());
    assert_eq!((conf(&env, 8849), conf(&env, 8851)), others);
    converges_back(&env, &clean, "a deleted container");
}

/// A tmpfs mounted under the root, unmounted (lazily) on drop.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
    }
}

/// Fills the file system of `dir` with one file until it refuses another byte.
fn fill(dir: &Path) -> std::path::PathBuf {
    use std::io::Write as _;
    let filler = dir.join("filler");
    let mut f = File::create(&filler).unwrap();
    let block = [0u8; 4096];
    loop {
        match f.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling {}: {e}", filler.display()),
        }
    }
    while f.write(&[0]).is_ok_and(|n| n > 0) {}
    filler
}

/// The disk under `/etc/apparmor.d` fills up while phoenix installs its profiles: the
/// run fails (exit 1) naming the file, the old file is intact, no temp is left and no
/// later file of the install was written; once there is room the re-run ends like a
/// clean run.
#[test]
fn a_full_disk_fails_naming_the_file_and_keeps_the_old_one() {
    let _one = serial();
    if !phoenix_testkit::require(&[phoenix_testkit::Need::Command("mount")]) {
        return;
    }
    let Some(env) = Env::new(BRIDGE, &[8852, 8853, 8854]) else {
        return;
    };
    small_fleet(&env, 8852);
    let apparmor = env.host("/etc/apparmor.d");
    std::fs::create_dir_all(&apparmor).unwrap();
    let mount = Mount(apparmor.clone());
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0755", "phoenix-faults"])
        .arg(&apparmor)
        .output()
        .unwrap();
    assert!(out.status.success(), "mount: {}", text(&out));
    let tunables = apparmor.join("tunables");
    std::fs::create_dir_all(&tunables).unwrap();
    let old = "# the host's own\n@{apparmor_nesting_profiles} = lxc-old\n";
    std::fs::write(tunables.join("nesting"), old).unwrap();
    let filler = fill(&apparmor);

    let failed = fails(&env, &["up"], &[]);
    let named = env.host("/etc/apparmor.d/tunables/nesting");
    assert!(
        failed.contains(&format!("cannot write {}", named.display()))
            && failed.contains("No space left on device"),
        "{failed}"
    );
    assert_eq!(
        std::fs::read_to_string(tunables.join("nesting")).unwrap(),
        old
    );
    let left: Vec<String> = walk(&apparmor)
        .into_iter()
        .filter(|p| p.contains(".tmp."))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "temp files left behind");
    // Nothing was done to the containers after the host step failed.
    // The install stopped at its first file: no profile was written without the tunable.
    // (The containers of this fleet use no phoenix profile, so they were converged.)
    assert_eq!(
        walk(&apparmor),
        [filler.display().to_string(), named.display().to_string()],
        "{failed}"
    );

    std::fs::remove_file(&filler).unwrap();
    env.ok(&env.phoenix(&["up"], &[]));
    let after_fault = (env.state(), read_all(&apparmor));

    // The clean run, for comparison: the same start without the full disk.
    env.ok(&env.phoenix(&["delete", "--yes", "8852", "8853", "8854"], &[]));
    let _ = std::fs::remove_dir_all(env.host("/srv"));
    for p in walk(&apparmor) {
        let _ = std::fs::remove_file(&p);
    }
    std::fs::write(tunables.join("nesting"), old).unwrap();
    env.ok(&env.phoenix(&["up"], &[]));
    assert_eq!((env.state(), read_all(&apparmor)), after_fault);
    drop(mount);
}

/// Every file under `dir`, as paths.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Every file under `dir` with its content.
fn read_all(dir: &Path) -> Vec<(String, String)> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (p, text)
        })
        .collect()
}
