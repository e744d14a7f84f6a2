//! nvidia.sh run for real by bash, as the staging runner runs it (`env -i`, `bash -euo
//! pipefail`, lib.sh beside it), against a scratch `/etc` and with recording stand-ins
//! for the commands that need NVIDIA's servers or a GPU (curl, the runfile's `sh`,
//! apt-get, apt-cache, dpkg-query, nvidia-smi, nvidia-ctk). Neither the runfile nor
//! NVIDIA's repositories can be reached here, and no GPU answers `nvidia-smi`, so the
//! exact commands are pinned this way; sha256sum is the real one.

use std::process::Command;

use phoenix_features::staging::LIB_SH;

const NVIDIA_SH: &str = include_str!("../scripts/nvidia.sh");
const VERSION: &str = "580.76.05";
/// SHA-256 of an empty file (what the curl stand-in downloads).
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

use phoenix_testkit::recording_stand_in as fake;

struct Run {
    method: &'static str,
    url: &'static str,
    sha256: &'static str,
    toolkit: bool,
    /// The driver is already there (nvidia-smi reports the version).
    installed: bool,
    os: &'static str,
}

/// Runs nvidia.sh; returns (exit code, recorded calls and output).
fn run(r: &Run) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bin, run_dir, etc, state) = (d.join("bin"), d.join("run"), d.join("etc"), d.join("state"));
    for p in [&bin, &run_dir, &etc, &state] {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(
        etc.join("os-release"),
        format!("ID={}\nVERSION_CODENAME=noble\n", r.os),
    )
    .unwrap();
    std::fs::write(run_dir.join("lib.sh"), LIB_SH).unwrap();
    std::fs::write(run_dir.join("nvidia.sh"), NVIDIA_SH).unwrap();
    let marker = d.join("driver");
    if r.installed {
        std::fs::write(&marker, "").unwrap();
    }
    // nvidia-smi reports the version once the driver is "installed" (the marker).
    fake(
        &bin,
        "nvidia-smi",
        &format!("[ -f \"$MARKER\" ] || exit 127; echo {VERSION}"),
    );
    // The runfile's installer and apt-get install put the driver in place.
    fake(&bin, "sh", ": > \"$MARKER\"");
    fake(
        &bin,
        "apt-get",
        "case \"$1\" in install) case \"$*\" in *nvidia-utils*|*nvidia-smi*) : > \"$MARKER\";; esac;; esac",
    );
    fake(
        &bin,
        "apt-cache",
        &format!(
            "echo \" $2 | {VERSION}-0ubuntu1 | repo  Packages\"; echo \" $2 | 570.1-0ubuntu1 | repo  Packages\""
        ),
    );
    fake(
        &bin,
        "dpkg-query",
        "for a in \"$@\"; do :; done; case \" $INSTALLED \" in *\" $a \"*) echo 'install ok installed';; *) exit 1;; esac",
    );
    fake(
        &bin,
        "curl",
        "for a in \"$@\"; do last=$a; done; : > \"$last\"",
    );
    fake(&bin, "nvidia-ctk", "exit 0");
    let installed = if r.toolkit && r.installed {
        "ca-certificates curl kmod nvidia-container-toolkit"
    } else {
        ""
    };
    if r.toolkit && r.installed {
        // What the first run left: the key, the source, the runtime's config.
        for sub in [
            "apt/keyrings",
            "apt/sources.list.d",
            "nvidia-container-runtime",
        ] {
            std::fs::create_dir_all(etc.join(sub)).unwrap();
        }
        std::fs::write(etc.join("apt/keyrings/nvidia-container-toolkit.asc"), "key").unwrap();
        std::fs::write(
            etc.join("apt/sources.list.d/nvidia-container-toolkit.list"),
            "deb [signed-by=/etc/apt/keyrings/nvidia-container-toolkit.asc] https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n",
        )
        .unwrap();
        std::fs::write(
            etc.join("nvidia-container-runtime/config.toml"),
            "[nvidia-container-cli]\nno-cgroups = true\n",
        )
        .unwrap();
    }
    let out = Command::new("env")
        .arg("-i")
        .arg(format!("PATH={}:/usr/bin:/bin", bin.display()))
        .arg(format!("CALLS={}", d.join("calls").display()))
        .arg(format!("MARKER={}", marker.display()))
        .arg(format!("INSTALLED={installed}"))
        .arg(format!("PHOENIX_RUN_DIR={}", run_dir.display()))
        .arg(format!("PHOENIX_ETC={}", etc.display()))
        .arg(format!("PHOENIX_STATE_DIR={}", state.display()))
        .arg(format!("PHOENIX_NVIDIA_VERSION={VERSION}"))
        .arg(format!("PHOENIX_NVIDIA_METHOD={}", r.method))
        .arg(format!("PHOENIX_NVIDIA_URL={}", r.url))
        .arg(format!("PHOENIX_NVIDIA_SHA256={}", r.sha256))
        .arg(format!(
            "PHOENIX_NVIDIA_TOOLKIT={}",
            if r.toolkit { 1 } else { 0 }
        ))
        .args(["bash", "-euo", "pipefail"])
        .arg(run_dir.join("nvidia.sh"))
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(d.join("calls")).unwrap_or_default();
    let mut text = calls;
    for list in ["nvidia-cuda.list", "nvidia-container-toolkit.list"] {
        if let Ok(l) = std::fs::read_to_string(etc.join("apt/sources.list.d").join(list)) {
            text.push_str(&format!("-- {list}: {l}"));
        }
    }
    text.push_str(&format!(
        "-- stdout:\n{}-- stderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    (
        out.status.code().unwrap_or(-1),
        text.replace(&d.display().to_string(), "[scratch]"),
    )
}

const RUNFILE: &str = "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run";

#[test]
fn the_runfile_is_downloaded_checked_and_run_without_the_kernel_module() {
    let (code, calls) = run(&Run {
        method: "runfile",
        url: RUNFILE,
        sha256: EMPTY_SHA256,
        toolkit: false,
        installed: false,
        os: "debian",
    });
    assert_eq!(code, 0, "{calls}");
    assert!(
        calls.contains("sh [scratch]/run/NVIDIA-Linux-580.76.05.run --no-kernel-module --silent"),
        "{calls}"
    );
    insta::assert_snapshot!("runfile_first", calls);
}

#[test]
fn a_runfile_with_another_checksum_is_not_run() {
    let (code, calls) = run(&Run {
        method: "runfile",
        url: RUNFILE,
        sha256: "0000000000000000000000000000000000000000000000000000000000000000",
        toolkit: false,
        installed: false,
        os: "debian",
    });
    assert_ne!(code, 0, "{calls}");
    assert!(calls.contains("FAILED"), "{calls}");
    assert!(!calls.contains("--no-kernel-module"), "{calls}");
}

#[test]
fn packages_of_exactly_the_version_from_the_repository() {
    let (code, calls) = run(&Run {
        method: "packages",
        url: "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/",
        sha256: "",
        toolkit: false,
        installed: false,
        os: "ubuntu",
    });
    assert_eq!(code, 0, "{calls}");
    assert!(
        calls.contains(
            "libnvidia-compute-580=580.76.05-0ubuntu1 nvidia-utils-580=580.76.05-0ubuntu1"
        ),
        "{calls}"
    );
    insta::assert_snapshot!("packages_ubuntu", calls);
}

#[test]
fn the_toolkit_for_docker_and_a_second_run_that_changes_nothing() {
    let (code, calls) = run(&Run {
        method: "runfile",
        url: RUNFILE,
        sha256: "",
        toolkit: true,
        installed: false,
        os: "debian",
    });
    assert_eq!(code, 0, "{calls}");
    assert!(
        calls.contains("nvidia-ctk config --in-place --set nvidia-container-cli.no-cgroups=true"),
        "{calls}"
    );
    insta::assert_snapshot!("toolkit_first", calls);
    let (code, again) = run(&Run {
        method: "runfile",
        url: RUNFILE,
        sha256: "",
        toolkit: true,
        installed: true,
        os: "debian",
    });
    assert_eq!(code, 0, "{again}");
    for absent in ["curl", "apt-get", "nvidia-ctk", "sh "] {
        assert!(
            !again.lines().any(|l| l.starts_with(absent)),
            "{absent}: {again}"
        );
    }
    assert!(again.contains("already installed"), "{again}");
}

#[test]
fn the_shipped_nvidia_check_is_shellcheck_clean_and_judges_every_gpu() {
    use phoenix_features::{CheckRun, Feature, HostFacts, Nvidia, Request};
    let ct: phoenix_config::Container = serde_json::from_value(serde_json::json!({
        "name": "gpu", "memory_mb": 64, "cores": 1, "storage_pool": "local-zfs",
        "storage_size_gb": 1, "template": "local:vztmpl/debian-12.tar.zst",
        "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5/24"},
        "features": ["nvidia"], "gpu_assignment": "0"
    }))
    .unwrap();
    let lxc: phoenix_config::LxcFile = serde_json::from_value(
        serde_json::json!({"nvidia_driver_version": VERSION, "lxc_configs": {}}),
    )
    .unwrap();
    let hypervisor: phoenix_config::HypervisorFile =
        serde_json::from_value(serde_json::json!({})).unwrap();
    let host = HostFacts::default();
    let req = Request {
        vmid: 860,
        container: &ct,
        hypervisor: &hypervisor,
        lxc: &lxc,
        host: &host,
    };
    let checks = Nvidia.checks(&req);
    let CheckRun::Script(body) = &checks[0].run else {
        panic!("{checks:?}")
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("check.sh");
    std::fs::write(&script, format!("#!/bin/bash\n{body}")).unwrap();
    // Run as the staging runner runs checks, against nvidia-smi stand-ins.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (answer, passes) in [
        (format!("{VERSION}\n{VERSION}"), true),
        (format!("{VERSION}\n535.1"), false),
        (String::new(), false),
    ] {
        std::fs::write(
            bin.join("nvidia-smi"),
            format!("#!/bin/sh\nprintf '%s\\n' '{answer}'\n"),
        )
        .unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(bin.join("nvidia-smi"))
            .status()
            .unwrap();
        let out = Command::new("env")
            .arg("-i")
            .arg(format!("PATH={}:/usr/bin:/bin", bin.display()))
            .args(["bash", "-euo", "pipefail"])
            .arg(&script)
            .output()
            .unwrap();
        assert_eq!(out.status.success(), passes, "{answer:?}: {out:?}");
    }
    if Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("PHOENIX_REQUIRE_SYSTEM_TESTS").as_deref() != Ok("1"),
            "shellcheck is missing (scripts/setup.sh installs it)"
        );
        eprintln!("skipped shellcheck: not installed");
        return;
    }
    let out = Command::new("shellcheck").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
