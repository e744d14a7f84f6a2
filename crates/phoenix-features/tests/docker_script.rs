//! docker.sh run for real by bash, as the staging runner runs it (`env -i`, `bash -euo
//! pipefail`, lib.sh beside it), against a scratch `/etc` and with recording stand-ins
//! for apt-get, dpkg-query, dpkg, curl and systemctl. Docker's own repository
//! (`docker-ce`) cannot be reached here, so its exact commands are pinned this way.

use std::process::Command;

use phoenix_features::staging::LIB_SH;

const DOCKER_SH: &str = include_str!("../scripts/docker.sh");

use phoenix_testkit::recording_stand_in as fake;

/// Runs docker.sh with `engine` and `driver`; returns (exit code, recorded calls).
fn run(engine: &str, driver: &str, installed: &str, with_fuse: bool) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bin, run_dir, etc, state) = (d.join("bin"), d.join("run"), d.join("etc"), d.join("state"));
    for p in [&bin, &run_dir, &etc, &state] {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(
        etc.join("os-release"),
        "ID=debian\nVERSION_CODENAME=bookworm\n",
    )
    .unwrap();
    std::fs::write(run_dir.join("lib.sh"), LIB_SH).unwrap();
    std::fs::write(run_dir.join("docker.sh"), DOCKER_SH).unwrap();
    // dpkg-query says installed for the packages in $INSTALLED (space-separated).
    fake(
        &bin,
        "dpkg-query",
        "for a in \"$@\"; do :; done; case \" $INSTALLED \" in *\" $a \"*) echo 'install ok installed';; *) exit 1;; esac",
    );
    fake(&bin, "apt-get", "exit 0");
    fake(&bin, "dpkg", "echo amd64");
    fake(
        &bin,
        "curl",
        "for a in \"$@\"; do last=$a; done; : > \"$last\"",
    );
    fake(&bin, "systemctl", "exit 0");
    let fuse = d.join("fuse");
    if with_fuse {
        // A character device stand-in: /dev/null is one.
        std::os::unix::fs::symlink("/dev/null", &fuse).unwrap();
    }
    let out = Command::new("env")
        .arg("-i")
        .arg(format!("PATH={}:/usr/bin:/bin", bin.display()))
        .arg(format!("CALLS={}", d.join("calls").display()))
        .arg(format!("INSTALLED={installed}"))
        .arg(format!("PHOENIX_RUN_DIR={}", run_dir.display()))
        .arg(format!("PHOENIX_ETC={}", etc.display()))
        .arg(format!("PHOENIX_STATE_DIR={}", state.display()))
        .arg(format!("PHOENIX_DEV_FUSE={}", fuse.display()))
        .arg(format!("PHOENIX_DOCKER_ENGINE={engine}"))
        .arg(format!("PHOENIX_STORAGE_DRIVER={driver}"))
        .args(["bash", "-euo", "pipefail"])
        .arg(run_dir.join("docker.sh"))
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(d.join("calls"))
        .unwrap_or_default()
        .replace(&d.display().to_string(), "[scratch]");
    let mut text = calls;
    if engine == "docker-ce" {
        let list =
            std::fs::read_to_string(etc.join("apt/sources.list.d/docker.list")).unwrap_or_default();
        text.push_str(&format!("-- docker.list: {list}"));
    }
    text.push_str(&format!(
        "-- stdout:\n{}-- stderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn docker_ce_from_dockers_repository_runs_exactly_these_commands() {
    let (code, calls) = run("docker-ce", "overlay2", "", false);
    assert_eq!(code, 0, "{calls}");
    insta::assert_snapshot!("docker_ce_overlay2", calls);
}

#[test]
fn docker_io_with_fuse_overlayfs_and_a_second_run_that_installs_nothing() {
    let (code, calls) = run("docker.io", "fuse-overlayfs", "", true);
    assert_eq!(code, 0, "{calls}");
    insta::assert_snapshot!("docker_io_fuse_first", calls);
    let (code, again) = run(
        "docker.io",
        "fuse-overlayfs",
        "docker.io fuse-overlayfs",
        true,
    );
    assert_eq!(code, 0, "{again}");
    assert!(!again.contains("apt-get"), "{again}");
}

#[test]
fn fuse_overlayfs_without_dev_fuse_fails_saying_what_is_missing() {
    let (code, calls) = run(
        "docker.io",
        "fuse-overlayfs",
        "docker.io fuse-overlayfs",
        false,
    );
    assert_eq!(code, 3, "{calls}");
    assert!(
        calls.contains("/dev/fuse is missing: the container needs features fuse=1"),
        "{calls}"
    );
}
