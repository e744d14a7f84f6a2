//! The emulator's CLI without containers: conf rewrites, output formats, Getopt errors,
//! `pvesm status` and the test hooks. Runs anywhere (no root, no LXC).

use std::process::Command;

const PCT: &str = env!("CARGO_BIN_EXE_pct");
const PVESM: &str = env!("CARGO_BIN_EXE_pvesm");
const PVEVERSION: &str = env!("CARGO_BIN_EXE_pveversion");

struct Root(tempfile::TempDir);

impl Root {
    fn new() -> Self {
        Root(tempfile::tempdir().unwrap())
    }

    fn write_conf(&self, id: u32, text: &str) {
        let p = self.0.path().join(format!("etc/pve/lxc/{id}.conf"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn conf(&self, id: u32) -> String {
        std::fs::read_to_string(self.0.path().join(format!("etc/pve/lxc/{id}.conf"))).unwrap()
    }

    fn run(&self, bin: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut c = Command::new(bin);
        c.args(args)
            .env("PHOENIX_ROOT", self.0.path())
            .env_remove("PCT_EMU_FAIL")
            .env_remove("PCT_EMU_LOG")
            .env_remove("PCT_EMU_PVE_VERSION");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn pct(&self, args: &[&str]) -> (i32, String, String) {
        self.run(PCT, args, &[])
    }
}

const CONF: &str = "#Owner%3A me\nostype: debian\narch: amd64\nmemory: 512\nhostname: web1\nrootfs: local-zfs:subvol-150-disk-0,size=8G\nunprivileged: 1\nlxc.idmap = u 0 100000 65536\nlxc.cgroup2.devices.allow = c 10:200 rwm\n";

#[test]
fn empty_list_prints_nothing_and_list_has_proxmox_columns() {
    let r = Root::new();
    assert_eq!(r.pct(&["list"]), (0, String::new(), String::new()));
    r.write_conf(150, CONF);
    r.write_conf(1000, "hostname: big\n");
    r.write_conf(200, "lock: backup\n");
    let (code, out, _) = r.pct(&["list"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn config_prints_sorted_keys_then_raw_lines() {
    let r = Root::new();
    r.write_conf(150, CONF);
    let (code, out, err) = r.pct(&["config", "150"]);
    assert_eq!((code, err.as_str()), (0, ""));
    insta::assert_snapshot!(out);
}

#[test]
fn set_rewrites_the_conf_canonically_on_a_stopped_ct() {
    let r = Root::new();
    r.write_conf(150, CONF);
    let (code, _, err) = r.pct(&[
        "set",
        "150",
        "--memory",
        "1024",
        "--onboot",
        "yes",
        "--tags",
        "web,Prod",
        "--net0",
        "bridge=vmbr0,name=eth0,hwaddr=BC:24:11:00:00:01,ip=dhcp",
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    insta::assert_snapshot!(r.conf(150));
    let (code, _, err) = r.pct(&["set", "150", "--delete", "swap"]);
    assert_eq!(
        (code, err.as_str()),
        (
            0,
            "cannot delete 'swap' - not set in current configuration!\n"
        )
    );
    let (code, _, err) = r.pct(&["set", "150", "--delete", "memory"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "unable to delete required option 'memory'\n")
    );
}

#[test]
fn bad_input_gets_getopt_and_schema_messages() {
    let r = Root::new();
    r.write_conf(150, CONF);
    let (code, _, err) = r.pct(&["status", "150", "--bogus"]);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "Unknown option: bogus\n400 unable to parse option\nUSAGE: pct status <vmid> [OPTIONS]\n"
        )
    );
    let (code, _, err) = r.pct(&["status", "abc"]);
    assert_eq!(code, 255);
    assert!(err.starts_with("400 Parameter verification failed.\nvmid: invalid format - value does not look like a valid VM ID\n"));
    let (code, _, err) = r.pct(&["set", "150", "--memory", "8"]);
    assert_eq!(code, 255);
    assert!(err.starts_with(
        "400 Parameter verification failed.\nmemory: value must have a minimum value of 16\n"
    ));
    let (code, _, err) = r.pct(&["set", "150"]);
    assert_eq!((code, err.as_str()), (255, "no options specified\n"));
    let (code, _, err) = r.pct(&["unlock", "150"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "no lock found trying to remove any lock\n")
    );
}

#[test]
fn fail_hook_counts_across_processes_and_log_hook_records_argv() {
    let r = Root::new();
    r.write_conf(150, CONF);
    let log = r.0.path().join("calls.log");
    let log_s = log.display().to_string();
    let env = [
        ("PCT_EMU_FAIL", "config:2"),
        ("PCT_EMU_LOG", log_s.as_str()),
        ("PCT_EMU_LATENCY_MS", "1"),
    ];
    assert_eq!(r.run(PCT, &["config", "150"], &env).0, 0);
    let (code, _, err) = r.run(PCT, &["config", "150"], &env);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "command 'pct config 150' failed: emulated failure (PCT_EMU_FAIL)\n"
        )
    );
    assert_eq!(r.run(PCT, &["config", "150"], &env).0, 0);
    let (code, _, err) = r.run(PCT, &["start", "150"], &[("PCT_EMU_FAIL", "start:1")]);
    assert_eq!(
        (code, err.as_str()),
        (255, "startup for container '150' failed\n")
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let calls: Vec<(&str, f64, f64)> = text.lines().map(logged).collect();
    assert_eq!(
        calls.iter().map(|c| c.0).collect::<Vec<_>>(),
        ["pct config 150"; 3]
    );
    // Each line has the call's start (ms since the epoch, in order) and its duration,
    // which includes the 1 ms latency.
    assert!(calls.windows(2).all(|w| w[0].1 <= w[1].1), "{text}");
    assert!(calls.iter().all(|c| c.1 > 1.6e12 && c.2 >= 1.0), "{text}");
}

/// A `PCT_EMU_LOG` line: the call, its start (ms since the Unix epoch), its duration (ms).
fn logged(line: &str) -> (&str, f64, f64) {
    let (call, times) = line.split_once('\t').expect("a tab before the times");
    let (start, took) = times.split_once(' ').expect("start and duration");
    (call, start.parse().unwrap(), took.parse().unwrap())
}

#[test]
fn the_log_hook_writes_one_line_per_call_when_an_argument_spans_lines() {
    let r = Root::new();
    r.write_conf(150, CONF);
    let log = r.0.path().join("calls.log");
    let log_s = log.display().to_string();
    let env = [("PCT_EMU_LOG", log_s.as_str())];
    // A stopped CT refuses exec; the call is logged all the same.
    r.run(
        PCT,
        &["exec", "150", "--", "sh", "-c", "echo a\necho b", "x"],
        &env,
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(
        logged(text.trim_end()).0,
        "pct exec 150 -- sh -c echo a\\necho b x"
    );
}

#[test]
fn pvesm_status_lists_the_fresh_install_storages_with_each_releases_header() {
    let r = Root::new();
    for (version, header) in [
        (
            "8",
            &["Name", "Type", "Status", "Total", "Used", "Available", "%"][..],
        ),
        (
            "9",
            &[
                "Name",
                "Type",
                "Status",
                "Total",
                "(KiB)",
                "Used",
                "(KiB)",
                "Available",
                "(KiB)",
                "%",
            ][..],
        ),
    ] {
        let env = [("PCT_EMU_PVE_VERSION", version)];
        let (code, out, _) = r.run(PVESM, &["status"], &env);
        assert_eq!(code, 0, "PVE {version}");
        let lines: Vec<Vec<&str>> = out
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], header, "PVE {version}");
        assert_eq!(&lines[1][..3], ["local", "dir", "active"]);
        assert_eq!(&lines[2][..3], ["local-zfs", "zfspool", "active"]);
        // the typed wrapper reads both
        let runner = phoenix_pct::ProcessRunner::new()
            .env("PHOENIX_ROOT", r.0.path())
            .env("PCT_EMU_PVE_VERSION", version);
        let pools = phoenix_pct::Pvesm::with_binary(PVESM, runner)
            .status()
            .unwrap();
        assert_eq!(pools.len(), 2, "PVE {version}");
        assert_eq!(pools[1].name, "local-zfs");
    }
    let (code, _, err) = r.run(PVESM, &["status", "--storage", "nope"], &[]);
    assert_eq!(
        (code, err.as_str()),
        (255, "storage 'nope' does not exist\n")
    );
}

#[test]
fn pveversion_answers_as_the_chosen_release() {
    let r = Root::new();
    let (code, out, err) = r.run(PVEVERSION, &[], &[]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("pve-manager/9.0."), "{out}");
    let (code, out, _) = r.run(PVEVERSION, &["-v"], &[("PCT_EMU_PVE_VERSION", "8")]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("proxmox-ve: 8.4.0 (running kernel: "),
        "{out}"
    );
    for line in [
        "pve-manager: 8.4.1 ",
        "lxc-pve: 6.0.0-1",
        "libpve-storage-perl: 8.",
    ] {
        assert!(out.lines().any(|l| l.starts_with(line)), "{line} in {out}");
    }
    let (_, out, _) = r.run(PVEVERSION, &["-v"], &[("PCT_EMU_PVE_VERSION", "9")]);
    for line in [
        "proxmox-ve: 9.0.0 ",
        "lxc-pve: 6.0.5-1",
        "libpve-storage-perl: 9.0.14",
    ] {
        assert!(out.lines().any(|l| l.starts_with(line)), "{line} in {out}");
    }
    assert_eq!(r.run(PVEVERSION, &["--bogus"], &[]).0, 255);
}

#[test]
fn commands_that_need_lxc_say_so_and_exit_1_without_it() {
    let r = Root::new();
    r.write_conf(150, CONF);
    let (code, _, err) = r.run(PCT, &["start", "150"], &[("PATH", "/nonexistent")]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("pct emulator: this command runs real containers and needs "),
        "{err}"
    );
    assert!(err.contains("LXC (lxc-start on PATH)"), "{err}");
}

#[test]
fn snapshot_writes_a_section_and_parent_and_refuses_incomplete_rollback() {
    let r = Root::new();
    r.write_conf(150, CONF);
    std::fs::create_dir_all(r.0.path().join("rpool/data/subvol-150-disk-0/etc")).unwrap();
    let (code, _, err) = r.pct(&["snapshot", "150", "s1", "--description", "before upgrade"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let conf = r.conf(150);
    let snaptime = conf
        .lines()
        .find(|l| l.starts_with("snaptime: "))
        .unwrap()
        .to_owned();
    insta::assert_snapshot!(conf.replace(&snaptime, "snaptime: <epoch>"));
    let (code, _, err) = r.pct(&["snapshot", "150", "s1"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "snapshot name 's1' already used\n")
    );
    // pve-configid is matched case-insensitively, and names compare exactly
    assert_eq!(
        r.pct(&["snapshot", "150", "S1"]),
        (0, String::new(), String::new())
    );
    assert!(r.conf(150).contains("\n[S1]\n") && r.conf(150).contains("\n[s1]\n"));
    assert_eq!(
        r.pct(&["snapshot", "150", "S1"]),
        (
            255,
            String::new(),
            "snapshot name 'S1' already used\n".into()
        )
    );
    assert_eq!(r.pct(&["delsnapshot", "150", "S1"]).0, 0);
    let (code, _, err) = r.pct(&["snapshot", "150", "1x"]);
    assert_eq!(code, 255);
    assert!(err.starts_with("400 Parameter verification failed.\nsnapname: invalid format - invalid configuration ID '1x'\n"), "{err}");
    let (code, _, err) = r.pct(&["snapshot", "150", "current"]);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "unable to use snapshot name 'current' (reserved name)\n"
        )
    );

    r.write_conf(151, "arch: amd64\nostype: debian\nrootfs: local-zfs:subvol-151-disk-0,size=1G\n\n[s1]\nsnapstate: prepare\nsnaptime: 1\n");
    let (code, _, err) = r.pct(&["rollback", "151", "s1"]);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "unable to rollback to incomplete snapshot (snapstate = prepare)\n"
        )
    );
    let (code, _, err) = r.pct(&["snapshot", "152", "s1"]);
    assert_eq!(
        (code, err.as_str()),
        (
            255,
            "Configuration file 'nodes/pve/lxc/152.conf' does not exist\n"
        )
    );
    // local (dir) cannot snapshot
    r.write_conf(
        153,
        "arch: amd64\nostype: debian\nrootfs: local:153/vm-153-disk-0.raw,size=1G\n",
    );
    let (code, _, err) = r.pct(&["snapshot", "153", "s1"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "snapshot feature is not available\n")
    );
}

#[test]
fn the_typed_wrapper_reads_what_the_emulator_prints() {
    use phoenix_pct::{CtStatus, Lock, Pct, ProcessRunner, Pvesm};
    let r = Root::new();
    r.write_conf(150, CONF);
    r.write_conf(200, "hostname: locked\nlock: backup\n");
    let runner = || {
        ProcessRunner::new()
            .env("PHOENIX_ROOT", r.0.path())
            .env_remove("PCT_EMU_FAIL")
    };
    let pct = Pct::with_binary(PCT, runner());
    let id = phoenix_pveconf::Vmid::new(150).unwrap();

    assert_eq!(pct.status(id).unwrap(), CtStatus::Stopped);
    let list = pct.list().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].name.as_str(), list[1].lock.clone()),
        ("web1", Some(Lock::Backup))
    );
    let conf = pct.config(id).unwrap();
    assert_eq!(conf.get("hostname"), Some("web1"));
    assert_eq!(conf.lxc_values("lxc.idmap"), ["u 0 100000 65536"]);
    assert_eq!(conf.description().as_deref(), Some("Owner: me\n"));
    assert_eq!(pct.listsnapshot(id).unwrap().len(), 1);
    assert!(
        pct.status_optional(phoenix_pveconf::Vmid::new(151).unwrap())
            .unwrap()
            .is_none()
    );

    let storages = Pvesm::with_binary(PVESM, runner()).status().unwrap();
    let names: Vec<&str> = storages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["local", "local-zfs"]);
    assert!(storages.iter().all(|s| s.total_kib > 0));
}

#[test]
fn resize_grows_the_recorded_size_and_exits_0_on_failure() {
    let r = Root::new();
    r.write_conf(150, CONF);
    assert_eq!(r.pct(&["resize", "150", "rootfs", "+2G"]).0, 0);
    assert!(
        r.conf(150)
            .contains("rootfs: local-zfs:subvol-150-disk-0,size=10G\n")
    );
    let (code, _, err) = r.pct(&["resize", "150", "rootfs", "4G"]);
    assert_eq!((code, err.as_str()), (0, "unable to shrink disk size\n"));
    let (code, _, err) = r.pct(&["resize", "150", "rootfs", "10G"]);
    assert_eq!(
        (code, err.as_str()),
        (0, "disk is already at specified size\n")
    );
}

#[test]
fn clone_onto_itself_or_a_taken_id_is_already_exists() {
    let r = Root::new();
    r.write_conf(150, CONF);
    r.write_conf(151, CONF);
    let (code, _, err) = r.pct(&["clone", "150", "150"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "CT 150 already exists on node 'pve'\n")
    );
    let (code, _, err) = r.pct(&["clone", "150", "151"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "CT 151 already exists on node 'pve'\n")
    );
    std::fs::create_dir_all(r.0.path().join("etc/pve/qemu-server")).unwrap();
    std::fs::write(
        r.0.path().join("etc/pve/qemu-server/152.conf"),
        "memory: 512\n",
    )
    .unwrap();
    let (code, _, err) = r.pct(&["clone", "150", "152"]);
    assert_eq!(
        (code, err.as_str()),
        (255, "VM 152 already exists on node 'pve'\n")
    );
    let out = Command::new(PCT)
        .args(["status", "150"])
        .env("PHOENIX_ROOT", r.0.path())
        .env("PCT_EMU_NODE", "node7")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "status: stopped\n");
    let out = Command::new(PCT)
        .args(["status", "153"])
        .env("PHOENIX_ROOT", r.0.path())
        .env("PCT_EMU_NODE", "node7")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Configuration file 'nodes/node7/lxc/153.conf' does not exist\n"
    );
}

#[test]
fn revert_drops_pending_changes_and_config_current_hides_them() {
    let r = Root::new();
    r.write_conf(
        150,
        &format!("{CONF}\n[pve:pending]\nfeatures: nesting=1\nmemory: 1024\ndelete: swap\n"),
    );
    let (_, merged, _) = r.pct(&["config", "150"]);
    assert!(
        merged.contains("features: nesting=1\n") && merged.contains("memory: 1024\n"),
        "{merged}"
    );
    let (_, current, _) = r.pct(&["config", "150", "--current"]);
    assert!(
        !current.contains("features:") && current.contains("memory: 512\n"),
        "{current}"
    );
    assert_eq!(r.pct(&["set", "150", "--revert", "features,swap"]).0, 0);
    let conf = r.conf(150);
    assert!(conf.ends_with("\n[pve:pending]\nmemory: 1024\n"), "{conf}");
    assert_eq!(r.pct(&["set", "150", "--revert", "memory"]).0, 0);
    assert!(!r.conf(150).contains("pve:pending"));
}

/// A conf with what Proxmox's load_config warns about (pve-container `LXC/Config.pm`).
const WARNED_CONF: &str = "arch: amd64\nostype: debian\nrootfs: local-zfs:subvol-160-disk-0,size=8G\nfoo: bar\nlxc.id_map: u 0 100000 65536\nlxc.limit.nofile: 1024\n";
const WARNINGS: &str = "vm 160 - unable to parse value of 'foo' - unknown setting 'foo'\n\
vm 160 - lxc.id_map is deprecated and was renamed to lxc.idmap\n\
vm 160 - lxc.limit.nofile: lxc.limit.* was renamed to lxc.prlimit.*\n";

#[test]
fn conf_warnings_come_first_on_stderr_of_exec_template_and_resize() {
    let r = Root::new();
    r.write_conf(160, WARNED_CONF);
    let (code, _, err) = r.pct(&["resize", "160", "rootfs", "4G"]);
    assert_eq!(
        (code, err.as_str()),
        (
            0,
            format!("{WARNINGS}unable to shrink disk size\n").as_str()
        )
    );
    // exec warns before it looks at the CT (stopped here; or no LXC on this machine)
    let (code, _, err) = r.pct(&["exec", "160", "--", "true"]);
    assert_ne!(code, 0);
    assert!(err.starts_with(WARNINGS), "{err}");
    let (_, _, err) = r.pct(&["template", "160"]);
    assert!(err.starts_with(WARNINGS), "{err}");
    // and the typed wrapper reads the outcome past them
    let runner = phoenix_pct::ProcessRunner::new().env("PHOENIX_ROOT", r.0.path());
    let pct = phoenix_pct::Pct::with_binary(PCT, runner);
    let id = phoenix_pveconf::Vmid::new(160).unwrap();
    pct.resize(id, "rootfs", "+1G").unwrap();
    let err = pct.resize(id, "rootfs", "1G").unwrap_err();
    assert!(
        err.to_string().ends_with(": unable to shrink disk size"),
        "{err}"
    );
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_no_panic() {
    let r = Root::new();
    r.write_conf(
        150,
        &format!("{CONF}parent: s2\n\n[s1]\narch: amd64\nsnaptime: 1700000000\n\n[s2]\narch: amd64\nparent: s1\nsnaptime: 1700000100\n"),
    );
    // the reader is gone before pct writes a byte
    for _ in 0..3 {
        let mut child = Command::new(PCT)
            .args(["listsnapshot", "150"])
            .env("PHOENIX_ROOT", r.0.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        // killed-by-SIGPIPE's 141, as the shell reports Perl's death, or 0 had it been quicker
        assert!(
            matches!(out.status.code(), Some(141 | 0)),
            "{:?} {err}",
            out.status
        );
    }
    // the case users hit: grep -q leaves after the first match, pipefail is set
    let script = format!("set -o pipefail; '{PCT}' listsnapshot 150 | grep -q s1");
    let out = Command::new("bash")
        .args(["-c", &script])
        .env("PHOENIX_ROOT", r.0.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_removed_or_replaced_volume_becomes_unused_and_deleting_unused_frees_it() {
    let r = Root::new();
    let disk = |n: u32| format!("local-zfs:subvol-170-disk-{n}");
    for n in 0..4 {
        std::fs::create_dir_all(r.0.path().join(format!("rpool/data/subvol-170-disk-{n}")))
            .unwrap();
    }
    r.write_conf(
        170,
        &format!(
            "arch: amd64\nostype: debian\nmemory: 512\nrootfs: {},size=8G\nmp0: {},mp=/data,size=1G\nmp1: /srv,mp=/srv\n",
            disk(0),
            disk(1)
        ),
    );
    // stopped CT: a delete applies at once; the volume is kept as unused0
    assert_eq!(
        r.pct(&["set", "170", "--delete", "mp0,mp1"]),
        (0, String::new(), String::new())
    );
    let conf = r.conf(170);
    assert!(conf.contains(&format!("unused0: {}\n", disk(1))), "{conf}");
    assert!(
        !conf.contains("mp0:") && !conf.contains("mp1:") && !conf.contains("unused1"),
        "{conf}"
    );
    // replacing a volume: the old one becomes the next unused
    let mp = |n: u32| format!("{},mp=/x,size=1G", disk(n));
    assert_eq!(r.pct(&["set", "170", "--mp2", &mp(2)]).0, 0);
    assert_eq!(r.pct(&["set", "170", "--mp2", &mp(3)]).0, 0);
    let conf = r.conf(170);
    assert!(conf.contains(&format!("unused1: {}\n", disk(2))), "{conf}");
    // deleting unusedN destroys the volume
    assert_eq!(r.pct(&["set", "170", "--delete", "unused0"]).0, 0);
    assert!(!r.0.path().join("rpool/data/subvol-170-disk-1").exists());
    assert!(r.0.path().join("rpool/data/subvol-170-disk-2").exists());
    assert!(!r.conf(170).contains("unused0"));
}

#[test]
fn config_hides_pending_deletes_and_current_shows_them() {
    let r = Root::new();
    r.write_conf(
        150,
        &format!("{CONF}features: nesting=1\nswap: 512\n\n[pve:pending]\ndelete: features\nmemory: 1024\n"),
    );
    let (code, out, _) = r.pct(&["config", "150"]);
    assert_eq!(code, 0);
    assert!(!out.contains("features"), "{out}");
    assert!(
        out.contains("memory: 1024\n") && out.contains("swap: 512\n"),
        "{out}"
    );
    let (_, out, _) = r.pct(&["config", "150", "--current"]);
    assert!(
        out.contains("features: nesting=1\n") && out.contains("memory: 512\n"),
        "{out}"
    );
}
