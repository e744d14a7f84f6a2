//! The OS template builder behind `phoenix-mktemplate`: a minimal Debian-like tree
//! around busybox-static, packed as a `.tar.gz` that `pct create` can extract.
//!
//! The tree holds `/bin/busybox` and one symlink per applet (from
//! `busybox --list-full`), `/sbin/init` (busybox init), an `/etc/inittab` that starts
//! no getty and touches nothing outside the container, `/etc/os-release` and
//! `/etc/debian_version` (so Proxmox-style OS detection says `debian`), `passwd`,
//! `group`, `shadow`, `hostname`, `hosts` and `network/interfaces`.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The template file name the example fleet refers to as `local:vztmpl/…`.
pub const TEMPLATE_NAME: &str = "phoenix-busybox_amd64.tar.gz";

/// Why a template could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The busybox binary is missing.
    #[error("busybox not found at {0} (install busybox-static)")]
    NoBusybox(PathBuf),
    /// A helper program failed.
    #[error("{argv} failed: {stderr}")]
    Command {
        /// The argv, space-joined for the message.
        argv: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TemplateError + '_ {
    move |source| TemplateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The small text files of the tree, as (path, mode, contents).
pub const ETC_FILES: &[(&str, u32, &str)] = &[
    (
        "etc/os-release",
        0o644,
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm) - phoenix busybox\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
    ),
    ("etc/debian_version", 0o644, "12.0\n"),
    (
        "etc/passwd",
        0o644,
        "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    ),
    (
        "etc/group",
        0o644,
        "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n",
    ),
    (
        "etc/shadow",
        0o640,
        "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n",
    ),
    ("etc/hostname", 0o644, "localhost\n"),
    (
        "etc/hosts",
        0o644,
        "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
    ),
    (
        "etc/network/interfaces",
        0o644,
        "auto lo\niface lo inet loopback\n",
    ),
    (
        "etc/resolv.conf",
        0o644,
        "# written by the container's host\n",
    ),
    // busybox init: no getty and no respawn, so the container idles until stopped.
    // It only sets the hostname; shutdown just syncs.
    (
        "etc/inittab",
        0o644,
        "::sysinit:/bin/hostname -F /etc/hostname\n::shutdown:/bin/sync\n",
    ),
];

const DIRS: &[(&str, u32)] = &[
    ("bin", 0o755),
    ("sbin", 0o755),
    ("usr/bin", 0o755),
    ("usr/sbin", 0o755),
    ("etc/network", 0o755),
    ("dev", 0o755),
    ("proc", 0o555),
    ("sys", 0o555),
    ("run", 0o755),
    ("tmp", 0o1777),
    ("var/log", 0o755),
    ("var/tmp", 0o1777),
    ("root", 0o700),
    ("home", 0o755),
    ("mnt", 0o755),
];

/// The applet paths busybox installs, relative to `/` (`busybox --list-full`).
pub fn applets(busybox: &Path) -> Result<Vec<String>, TemplateError> {
    if !busybox.is_file() {
        return Err(TemplateError::NoBusybox(busybox.to_owned()));
    }
    let out = Command::new(busybox)
        .arg("--list-full")
        .output()
        .map_err(io(busybox))?;
    if !out.status.success() {
        return Err(TemplateError::Command {
            argv: format!("{} --list-full", busybox.display()),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect())
}

/// Lays the tree out in `dir` (which must exist), with `busybox` copied to `/bin/busybox`
/// and each of `applets` linked to it.
pub fn build_tree(dir: &Path, busybox: &Path, applets: &[String]) -> Result<(), TemplateError> {
    for (d, mode) in DIRS {
        let p = dir.join(d);
        std::fs::create_dir_all(&p).map_err(io(&p))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).map_err(io(&p))?;
    }
    let bb = dir.join("bin/busybox");
    std::fs::copy(busybox, &bb).map_err(io(&bb))?;
    std::fs::set_permissions(&bb, std::fs::Permissions::from_mode(0o755)).map_err(io(&bb))?;
    for applet in applets {
        let rel = applet.trim_start_matches('/');
        if rel == "bin/busybox" || rel.contains("..") {
            continue;
        }
        let link = dir.join(rel);
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        if link.symlink_metadata().is_err() {
            symlink("/bin/busybox", &link).map_err(io(&link))?;
        }
    }
    let init = dir.join("sbin/init");
    if init.symlink_metadata().is_err() {
        symlink("/bin/busybox", &init).map_err(io(&init))?;
    }
    for (rel, mode, text) in ETC_FILES {
        let p = dir.join(rel);
        std::fs::write(&p, text).map_err(io(&p))?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode)).map_err(io(&p))?;
    }
    Ok(())
}

/// The argv that packs `tree` into the gzip tarball `output`, every file owned by 0:0
/// whoever runs it.
pub fn tar_argv(tree: &Path, output: &Path) -> Vec<String> {
    vec![
        "tar".into(),
        "--numeric-owner".into(),
        "--owner=0".into(),
        "--group=0".into(),
        "--sort=name".into(),
        "-czf".into(),
        output.display().to_string(),
        "-C".into(),
        tree.display().to_string(),
        ".".into(),
    ]
}

/// Builds the template at `output` from `busybox`, writing a temporary file beside it and
/// renaming it into place.
pub fn build_tarball(busybox: &Path, output: &Path) -> Result<(), TemplateError> {
    let applets = applets(busybox)?;
    let work = output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(work).map_err(io(work))?;
    let tree = work.join(format!(".phoenix-mktemplate.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::create_dir_all(&tree).map_err(io(&tree))?;
    let tmp = work.join(format!(".phoenix-mktemplate.{}.tar.gz", std::process::id()));
    let result = (|| {
        build_tree(&tree, busybox, &applets)?;
        let argv = tar_argv(&tree, &tmp);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .output()
            .map_err(io(&tmp))?;
        if !out.status.success() {
            return Err(TemplateError::Command {
                argv: argv.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        std::fs::rename(&tmp, output).map_err(io(output))
    })();
    let _ = std::fs::remove_dir_all(&tree);
    let _ = std::fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_argv_forces_root_owners() {
        let argv = tar_argv(Path::new("/t/tree"), Path::new("/t/out.tar.gz"));
        assert_eq!(
            argv.join(" "),
            "tar --numeric-owner --owner=0 --group=0 --sort=name -czf /t/out.tar.gz -C /t/tree ."
        );
    }

    #[test]
    fn tree_has_init_and_says_debian() {
        let t = tempfile::tempdir().unwrap();
        let fake = t.path().join("busybox");
        std::fs::write(&fake, b"#!/bin/sh\n").unwrap();
        let tree = t.path().join("tree");
        std::fs::create_dir(&tree).unwrap();
        build_tree(&tree, &fake, &["usr/bin/id".into(), "sbin/init".into()]).unwrap();
        assert_eq!(
            std::fs::read_link(tree.join("sbin/init")).unwrap(),
            Path::new("/bin/busybox")
        );
        assert_eq!(
            std::fs::read_link(tree.join("usr/bin/id")).unwrap(),
            Path::new("/bin/busybox")
        );
        let os = std::fs::read_to_string(tree.join("etc/os-release")).unwrap();
        assert!(os.lines().any(|l| l == "ID=debian"));
        let mode = std::fs::metadata(tree.join("tmp"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o1777);
    }

    #[test]
    fn missing_busybox_is_named() {
        let err = applets(Path::new("/nonexistent/busybox")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "busybox not found at /nonexistent/busybox (install busybox-static)"
        );
        let err = TemplateError::Command {
            argv: "tar -czf x".into(),
            stderr: "boom".into(),
        };
        assert_eq!(err.to_string(), "tar -czf x failed: boom");
        let err = TemplateError::Io {
            path: "/x".into(),
            source: std::io::Error::other("denied"),
        };
        assert_eq!(err.to_string(), "cannot write /x: denied");
    }
}
