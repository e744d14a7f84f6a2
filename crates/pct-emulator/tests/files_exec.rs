//! `pct push`, `pull` and `exec` as Proxmox's `PVE/CLI/pct.pm` does them, and a failed
//! start that leaves nothing behind, against real LXC. Ids 9110-9129 (pct-emulator's
//! range); a guard kills the containers.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

use common::{Env, PCT, exec_out, need_lxc, vmid};
use phoenix_pct::{CtOptions, FileOptions};

/// Runs the emulator under `umask 022` (Proxmox's `0666 & ~umask` depends on it) with
/// `env` added: (exit code, stdout, stderr).
fn pct(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 022; exec \"$@\"")
        .arg("sh")
        .arg(PCT)
        .args(args)
        .env("PHOENIX_ROOT", env.root())
        .env_remove("PCT_EMU_FAIL");
    for (k, v) in vars {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn meta(env: &Env, p: &str) -> (u32, u32, u32) {
    let m = std::fs::metadata(env.path(p)).unwrap();
    (m.mode() & 0o7777, m.uid(), m.gid())
}

const ROOTFS: &str = "/rpool/data/subvol-9110-disk-0";

#[test]
fn push_and_pull_need_no_binary_in_the_ct_and_create_files_as_proxmox() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9110], &[]);
    env.create(9110, CtOptions::default());
    env.pct.start(vmid(9110)).unwrap();
    // Proxmox's push and pull open the file through the CT's namespaces: no tee, cat,
    // chown or chmod inside is needed
    let (code, _) = exec_out(
        &env,
        9110,
        &[
            "sh",
            "-c",
            "for a in tee cat chown chmod cp dd; do rm -f \"$(command -v $a)\"; done; command -v tee cat || true",
        ],
    );
    assert_eq!(code, 0);
    std::fs::write(env.path("/in.txt"), "hello\n").unwrap();

    // a new file: 0666 & ~022, owned by the CT's root (host 100000)
    assert_eq!(
        pct(&env, &["push", "9110", "/in.txt", "/root/new"], &[]),
        (0, String::new(), String::new())
    );
    let new = format!("{ROOTFS}/root/new");
    assert_eq!(meta(&env, &new), (0o644, 100_000, 100_000));
    assert_eq!(std::fs::read_to_string(env.path(&new)).unwrap(), "hello\n");

    // an existing file keeps its mode and owner
    let old = env.path(&format!("{ROOTFS}/root/old"));
    std::fs::write(&old, "a much longer previous content\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&old, Some(100_005), Some(100_007)).unwrap();
    assert_eq!(
        pct(&env, &["push", "9110", "/in.txt", "/root/old"], &[]).0,
        0
    );
    assert_eq!(
        meta(&env, &format!("{ROOTFS}/root/old")),
        (0o600, 100_005, 100_007)
    );
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "hello\n");

    // --perms (octal), --user and --group are the CT's ids
    let (code, _, err) = pct(
        &env,
        &[
            "push", "9110", "/in.txt", "root/rel", "--perms", "640", "--user", "5", "--group", "6",
        ],
        &[],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    // a relative destination is relative to the CT's /
    assert_eq!(
        meta(&env, &format!("{ROOTFS}/root/rel")),
        (0o640, 100_005, 100_006)
    );

    // worker failures: the task error on stderr, exit 0 (push has no $upid_exit)
    assert_eq!(
        pct(&env, &["push", "9110", "/nope", "/root/x"], &[]),
        (
            0,
            String::new(),
            "failed to open /nope for reading\n".into()
        )
    );
    assert_eq!(
        pct(&env, &["push", "9110", "/in.txt", "/no/such/f"], &[]),
        (
            0,
            String::new(),
            "failed to create file: /no/such/f: No such file or directory\n".into()
        )
    );
    // which the typed wrapper reads as a failure
    let missing = env.pct.push(
        vmid(9110),
        std::path::Path::new("/nope"),
        "/root/x",
        &FileOptions::default(),
    );
    assert!(missing.is_err(), "{missing:?}");

    // pull: a relative path inside the CT, a new host file 0644 owned by root
    assert_eq!(
        pct(&env, &["pull", "9110", "root/new", "/pulled.txt"], &[]),
        (0, String::new(), String::new())
    );
    assert_eq!(
        std::fs::read_to_string(env.path("/pulled.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(meta(&env, "/pulled.txt"), (0o644, 0, 0));
    // no parent directory is created
    assert_eq!(
        pct(&env, &["pull", "9110", "/root/new", "/out/pulled.txt"], &[]),
        (
            0,
            String::new(),
            "failed to create file: /out/pulled.txt: No such file or directory\n".into()
        )
    );
    assert!(!env.path("/out").exists());
    // the destination is created before the source is opened, as in Proxmox
    assert_eq!(
        pct(&env, &["pull", "9110", "/root/nope", "/p2.txt"], &[]),
        (
            0,
            String::new(),
            "failed to open /root/nope: No such file or directory\n".into()
        )
    );
    assert_eq!(std::fs::read(env.path("/p2.txt")).unwrap(), b"");

    // push loads the conf, so its warnings come first; pull loads none (pct.pm)
    let conf_path = env.path("/etc/pve/lxc/9110.conf");
    let conf = std::fs::read_to_string(&conf_path).unwrap();
    std::fs::write(&conf_path, format!("{conf}foo: bar\n")).unwrap();
    assert_eq!(
        pct(&env, &["push", "9110", "/in.txt", "/root/w"], &[]),
        (
            0,
            String::new(),
            "vm 9110 - unable to parse value of 'foo' - unknown setting 'foo'\n".into()
        )
    );
    assert_eq!(
        pct(&env, &["pull", "9110", "/root/w", "/w.txt"], &[]),
        (0, String::new(), String::new())
    );
    // and the typed wrapper takes the warned push as the success it is
    env.pct
        .push(
            vmid(9110),
            std::path::Path::new("/in.txt"),
            "/root/w2",
            &FileOptions::default(),
        )
        .unwrap();
    std::fs::write(&conf_path, conf).unwrap();

    // a stopped CT: refused before any worker, so non-zero
    env.pct.stop(vmid(9110)).unwrap();
    assert_eq!(
        pct(&env, &["push", "9110", "/in.txt", "/root/y"], &[]),
        (
            255,
            String::new(),
            "can only push files to a running CT\n".into()
        )
    );
    let (code, _, err) = pct(&env, &["pull", "9110", "/root/new", "/p3.txt"], &[]);
    assert_eq!(code, 255);
    assert!(
        err.starts_with(
            "can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line "
        ),
        "{err}"
    );
    assert!(!env.path("/p3.txt").exists());
}

#[test]
fn exec_gets_proxmox_s_path_and_not_phoenix_s_environment() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9111], &[]);
    env.create(9111, CtOptions::default());
    env.pct.start(vmid(9111)).unwrap();
    let vars = [
        ("PHOENIX_SECRET", "s3cret"),
        ("PCT_EMU_LATENCY_MS", "0"),
        ("SSL_CERT_FILE", "/etc/ssl/x.pem"),
        ("KEEPME", "kept"),
        ("PATH", "/opt/host-only/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
    ];
    for keep in [None, Some("1")] {
        let mut args = vec!["exec", "9111"];
        if let Some(k) = keep {
            args.extend(["--keep-env", k]);
        }
        args.extend(["--", "env"]);
        let (code, out, err) = pct(&env, &args, &vars);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines.contains(&"PATH=/sbin:/bin:/usr/sbin:/usr/bin"),
            "{out}"
        );
        assert!(
            lines.contains(&"KEEPME=kept"),
            "--keep-env keeps the rest: {out}"
        );
        for gone in ["PHOENIX_", "PCT_EMU_", "SSL_CERT_FILE=", "SSL_CERT_DIR="] {
            assert!(
                !lines.iter().any(|l| l.starts_with(gone)),
                "{gone} leaked: {out}"
            );
        }
    }
    // --keep-env 0 is lxc-attach --clear-env
    let (code, out, _) = pct(
        &env,
        &["exec", "9111", "--keep-env", "0", "--", "env"],
        &vars,
    );
    assert_eq!(code, 0);
    assert!(!out.contains("KEEPME"), "{out}");
    assert!(!out.lines().any(|l| l.starts_with("PHOENIX_")), "{out}");
}

fn leftover_cgroups(id: u32) -> Vec<String> {
    let mut found = vec![];
    let mut bases = vec![std::path::PathBuf::from("/sys/fs/cgroup")];
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        bases.extend(rd.flatten().map(|e| e.path()));
    }
    for b in bases {
        let p = b.join("lxc.monitor").join(id.to_string());
        if p.exists() {
            found.push(p.display().to_string());
        }
    }
    found
}

#[test]
fn a_failed_start_leaves_no_monitor_cgroup_and_the_next_start_works() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9120], &[]);
    env.create(9120, CtOptions::default());
    let conf_path = env.path("/etc/pve/lxc/9120.conf");
    let good = env.conf(9120);
    std::fs::write(
        &conf_path,
        format!("{good}lxc.init.cmd: /nonexistent-init\n"),
    )
    .unwrap();
    let (code, _, err) = pct(&env, &["start", "9120"], &[]);
    assert_eq!(
        (code, err.as_str()),
        (255, "startup for container '9120' failed\n")
    );
    assert_eq!(leftover_cgroups(9120), Vec::<String>::new());
    // a monitor cgroup an older run left behind does not block the start either
    let controller = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("lxc.monitor"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| std::path::PathBuf::from("/sys/fs/cgroup/lxc.monitor"));
    std::fs::create_dir_all(controller.join("9120")).unwrap();
    std::fs::write(&conf_path, good).unwrap();
    assert_eq!(
        pct(&env, &["start", "9120"], &[]),
        (0, String::new(), String::new())
    );
    assert_eq!(exec_out(&env, 9120, &["true"]).0, 0);
}
