//! `push` and `pull` as pve-container's `PVE/CLI/pct.pm` does them: no binary inside the
//! container is needed. Proxmox enters the container's mount namespace (and, for an
//! unprivileged CT, its user namespace, as the CT's root) with `setns`, `chdir('/')`, and
//! opens the file there. The emulator opens the same file from the host through
//! `/proc/<init pid>/root`, resolving every symlink inside that root itself (so a link
//! cannot lead out of the container), and gives a new file the owner the CT's root has
//! on the host.
//!
//! What both keep from Proxmox's `create_file`:
//! - a new file is created `0666 & ~umask` (0644 under the usual umask 022) and owned by
//!   the CT's root, unless `--perms`, `--user` or `--group` say otherwise;
//! - an existing file is truncated and keeps its mode and owner, unless those options
//!   are given; `--perms` is octal unless it starts with `0x`;
//! - a relative destination (push) or path (pull) is relative to the container's `/`;
//! - no parent directory is created: a missing one fails the task.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::error::{Failure, Result};
use crate::shift::OwnerMap;

/// `$!` as Perl prints it: the OS message without Rust's ` (os error N)`.
pub(crate) fn errno(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Resolves `path` (absolute, or relative to the container's `/`) inside `root`,
/// following symlinks as the kernel would with `root` as `/`. The last component is
/// followed too when it is a symlink (Perl's `sysopen` follows it).
pub(crate) fn resolve_in_root(root: &Path, path: &str) -> PathBuf {
    let mut todo: Vec<String> = split(path);
    todo.reverse();
    let mut cur: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = todo.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let candidate = join(root, &cur).join(&part);
        match std::fs::read_link(&candidate) {
            Ok(target) if links < 40 => {
                links += 1;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    cur.clear();
                }
                let mut more = split(&target);
                more.reverse();
                todo.extend(more);
            }
            _ => cur.push(part),
        }
    }
    join(root, &cur)
}

fn split(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

fn join(root: &Path, parts: &[String]) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(parts);
    p
}

/// The `--user`, `--group` and `--perms` of push and pull.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ownership {
    /// A name or a decimal id.
    pub user: Option<String>,
    /// A name or a decimal id.
    pub group: Option<String>,
    /// As given; octal unless `0x`.
    pub perms: Option<String>,
}

impl Ownership {
    /// `--perms` as `create_file` reads it (`strtoul($perms, 0)` after pct prefixes a
    /// `0` when there is none): octal, or hex with `0x`.
    fn mode(&self) -> Result<Option<u32>> {
        let Some(v) = &self.perms else {
            return Ok(None);
        };
        let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => u32::from_str_radix(v, 8).ok(),
        };
        parsed.map(Some).ok_or_else(|| {
            let shown = if v.starts_with('0') {
                v.clone()
            } else {
                format!("0{v}")
            };
            Failure::Task(format!("invalid mode: '{shown}'"))
        })
    }
}

/// Looks a name up in a `passwd` or `group` file: field 3 is the id.
fn id_of(db: &Path, name: &str) -> Option<u32> {
    std::fs::read_to_string(db).ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

/// The ids `--user`/`--group` name, read where Proxmox's `getpwnam` reads them: the
/// `etc/passwd` and `etc/group` under `names_root`.
fn ids(own: &Ownership, names_root: &Path) -> Result<(Option<u32>, Option<u32>)> {
    let one = |v: &Option<String>, db: &str, what: &str| -> Result<Option<u32>> {
        match v {
            None => Ok(None),
            Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n
                .parse()
                .map(Some)
                .map_err(|_| Failure::Task(format!("failed to get {what} for: {n}"))),
            Some(n) => id_of(&names_root.join(db), n)
                .map(Some)
                .ok_or_else(|| Failure::Task(format!("failed to get {what} for: {n}"))),
        }
    };
    Ok((
        one(&own.user, "etc/passwd", "uid")?,
        one(&own.group, "etc/group", "gid")?,
    ))
}

/// Proxmox's `create_file` at `path` (a host path): a new file gets `0666 & ~umask`
/// (the kernel applies this process's umask to the 0666 asked for) and `new_owner`;
/// an existing one is truncated and keeps mode and owner. Then `--perms` and
/// `--user`/`--group` (already host ids) apply.
fn create_file(
    path: &Path,
    shown: &str,
    mode: Option<u32>,
    owner: (Option<u32>, Option<u32>),
    new_owner: (u32, u32),
) -> Result<File> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(path);
    let (file, is_new) = match created {
        Ok(f) => (f, true),
        Err(_) => (
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .map_err(|e| {
                    Failure::Task(format!("failed to create file: {shown}: {}", errno(&e)))
                })?,
            false,
        ),
    };
    if let Some(m) = mode {
        file.set_permissions(std::fs::Permissions::from_mode(m))?;
    }
    let (uid, gid) = if is_new {
        (
            Some(owner.0.unwrap_or(new_owner.0)),
            Some(owner.1.unwrap_or(new_owner.1)),
        )
    } else {
        owner
    };
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::fchown(&file, uid, gid)
            .map_err(|e| Failure::Task(format!("failed to change file owner: {}", errno(&e))))?;
    }
    Ok(file)
}

fn copy(mut from: File, mut to: File) -> Result<()> {
    let mut buf = Vec::new();
    from.read_to_end(&mut buf)?;
    to.write_all(&buf)?;
    Ok(())
}

/// The push worker: `src` (a host path) to `dest` inside the container whose root is
/// `ct_root` (`/proc/<pid>/root`). `unprivileged` is the conf flag, which decides
/// whether Proxmox writes as the CT's root (ids through `map`) or as host root.
pub(crate) fn push(
    src: &Path,
    shown_src: &str,
    ct_root: &Path,
    dest: &str,
    own: &Ownership,
    unprivileged: bool,
    map: &OwnerMap,
) -> Result<()> {
    let source = File::open(src)
        .map_err(|_| Failure::Task(format!("failed to open {shown_src} for reading")))?;
    let mode = own.mode()?;
    let (uid, gid) = ids(own, ct_root)?;
    let identity = OwnerMap::default();
    let map = if unprivileged { map } else { &identity };
    let target = resolve_in_root(ct_root, dest);
    let dest_file = create_file(
        &target,
        dest,
        mode,
        (uid.map(|u| map.host_uid(u)), gid.map(|g| map.host_gid(g))),
        (map.host_uid(0), map.host_gid(0)),
    )?;
    copy(source, dest_file)
}

/// The pull worker: `create_file(dest)` on the host first (so a missing source still
/// leaves an empty destination, as in Proxmox), then `path` inside the container.
pub(crate) fn pull(
    ct_root: &Path,
    path: &str,
    dest: &Path,
    shown_dest: &str,
    own: &Ownership,
) -> Result<()> {
    let mode = own.mode()?;
    // On the host, by host names: Proxmox looks them up before entering the CT.
    let (uid, gid) = ids(own, Path::new("/"))?;
    let dest_file = create_file(dest, shown_dest, mode, (uid, gid), (0, 0))?;
    let source = File::open(resolve_in_root(ct_root, path))
        .map_err(|e| Failure::Task(format!("failed to open {path}: {}", errno(&e))))?;
    copy(source, dest_file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, symlink};

    fn mode_owner(p: &Path) -> std::io::Result<(u32, u32, u32)> {
        let m = std::fs::metadata(p)?;
        Ok((m.mode() & 0o7777, m.uid(), m.gid()))
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("var/real")).unwrap();
        symlink("/etc/shadow", root.join("etc/link")).unwrap();
        symlink("../var/real", root.join("etc/rel")).unwrap();
        symlink("/", root.join("up")).unwrap();
        assert_eq!(resolve_in_root(root, "/etc/link"), root.join("etc/shadow"));
        assert_eq!(resolve_in_root(root, "etc/rel/f"), root.join("var/real/f"));
        assert_eq!(resolve_in_root(root, "/../../../x"), root.join("x"));
        assert_eq!(resolve_in_root(root, "/up/up/etc"), root.join("etc"));
        // a loop ends instead of spinning
        symlink("loop", root.join("loop")).unwrap();
        assert!(resolve_in_root(root, "/loop").starts_with(root));
    }

    #[test]
    fn create_file_keeps_an_existing_file_s_mode_and_gives_a_new_one_0666_less_umask() {
        let t = tempfile::tempdir().unwrap();
        let old = t.path().join("old");
        std::fs::write(&old, "previous content").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o600)).unwrap();
        let me = std::fs::metadata(t.path()).unwrap();
        let f = create_file(&old, "old", None, (None, None), (me.uid(), me.gid())).unwrap();
        drop(f);
        assert_eq!(mode_owner(&old).unwrap().0, 0o600);
        assert_eq!(std::fs::read(&old).unwrap(), b"");
        let new = t.path().join("new");
        drop(create_file(&new, "new", None, (None, None), (me.uid(), me.gid())).unwrap());
        // the test runs with its own umask; 0666 & ~umask never has x bits or more than 0666
        assert_eq!(mode_owner(&new).unwrap().0 & !0o666, 0);
        drop(create_file(&new, "new", Some(0o750), (None, None), (me.uid(), me.gid())).unwrap());
        assert_eq!(mode_owner(&new).unwrap().0, 0o750);
        let e = create_file(
            &t.path().join("no/dir/f"),
            "no/dir/f",
            None,
            (None, None),
            (0, 0),
        )
        .unwrap_err();
        assert_eq!(
            e,
            Failure::Task("failed to create file: no/dir/f: No such file or directory".into())
        );
    }

    #[test]
    fn perms_and_names_as_create_file_reads_them() {
        let own = |p: &str| Ownership {
            perms: Some(p.into()),
            ..Default::default()
        };
        assert_eq!(own("640").mode().unwrap(), Some(0o640));
        assert_eq!(own("0640").mode().unwrap(), Some(0o640));
        assert_eq!(own("0x1a4").mode().unwrap(), Some(0o644));
        assert_eq!(
            own("9z").mode().unwrap_err(),
            Failure::Task("invalid mode: '09z'".into())
        );
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("etc")).unwrap();
        std::fs::write(
            t.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nweb:x:1001:1001::/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(t.path().join("etc/group"), "root:x:0:\nweb:x:1002:\n").unwrap();
        let o = Ownership {
            user: Some("web".into()),
            group: Some("web".into()),
            perms: None,
        };
        assert_eq!(ids(&o, t.path()).unwrap(), (Some(1001), Some(1002)));
        let o = Ownership {
            user: Some("nobody-here".into()),
            ..Default::default()
        };
        assert_eq!(
            ids(&o, t.path()).unwrap_err(),
            Failure::Task("failed to get uid for: nobody-here".into())
        );
        assert_eq!(
            errno(&std::io::Error::from_raw_os_error(2)),
            "No such file or directory"
        );
    }
}
