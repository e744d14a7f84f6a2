//! The Debian 12 OS template behind `phoenix-mktemplate --distro debian-12`: a minimal
//! bookworm rootfs (systemd as init, iproute2, ca-certificates, apt) built by
//! `mmdebstrap` from the mirror(s) the host's own APT uses, packed as a `.tar.zst`.
//!
//! A build is slow (about 15 s and 64 MiB), so the result is cached by its inputs: the
//! SHA-256 of a canonical text naming the distro, suite, variant, package list, mirror
//! lines, the mmdebstrap version and this recipe's version ([`DebianSpec::cache_text`]).
//! The cache lives in `$PHOENIX_TEMPLATE_CACHE`, default `/var/cache/phoenix/templates`
//! (`<digest>.tar.zst`). It is deliberately host-global, not under `--root`: what is in
//! it is addressed by its inputs, so every temporary root of every test shares it, and a
//! second build is a copy. The template itself goes where `pct create` finds it:
//! `<root>/var/lib/vz/template/cache/phoenix-debian-12_amd64.tar.zst`
//! (`local:vztmpl/phoenix-debian-12_amd64.tar.zst`).
//!
//! ```
//! use pct_emulator::apt_sources::parse_one_line;
//! use pct_emulator::debian::DebianSpec;
//! let spec = DebianSpec::debian_12(parse_one_line("deb http://deb.debian.org/debian bookworm main"));
//! let argv = spec.mmdebstrap_argv(std::path::Path::new("/c/x.tar.zst"));
//! assert_eq!(argv[..3], ["mmdebstrap", "--mode=root", "--variant=minbase"]);
//! assert_eq!(spec.digest("1.3.5").len(), 64);
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::apt_sources::SourceEntry;
use crate::template::TemplateError;

/// The template file name: `local:vztmpl/phoenix-debian-12_amd64.tar.zst`.
pub const DEBIAN_TEMPLATE_NAME: &str = "phoenix-debian-12_amd64.tar.zst";

/// Bumped whenever the recipe below changes in a way the other inputs do not show, so
/// an old cached template is not reused.
pub const RECIPE_VERSION: u32 = 1;

/// The packages on top of minbase (which brings apt, dpkg, bash and coreutils):
/// systemd as PID 1, `ip` for the network checks, CA certificates for https mirrors.
pub const PACKAGES: &[&str] = &["ca-certificates", "iproute2", "systemd-sysv"];

/// What a Debian template is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianSpec {
    /// `debian-12`.
    pub distro: String,
    /// `bookworm`.
    pub suite: String,
    /// mmdebstrap's variant (`minbase`).
    pub variant: String,
    /// The packages added to the variant, sorted.
    pub packages: Vec<String>,
    /// The mirror entries, written into the template's `/etc/apt/sources.list` too.
    pub mirrors: Vec<SourceEntry>,
}

impl DebianSpec {
    /// Debian 12 (bookworm) minbase with [`PACKAGES`] from `mirrors`.
    pub fn debian_12(mirrors: Vec<SourceEntry>) -> Self {
        let mut packages: Vec<String> = PACKAGES.iter().map(|p| (*p).to_owned()).collect();
        packages.sort();
        Self {
            distro: "debian-12".into(),
            suite: "bookworm".into(),
            variant: "minbase".into(),
            packages,
            mirrors,
        }
    }

    /// The canonical text of every input, one `key: value` a line; its digest names the
    /// cached template.
    pub fn cache_text(&self, mmdebstrap_version: &str) -> String {
        let mut t = format!(
            "recipe: {RECIPE_VERSION}\ndistro: {}\nsuite: {}\nvariant: {}\npackages: {}\nmmdebstrap: {}\n",
            self.distro,
            self.suite,
            self.variant,
            self.packages.join(","),
            mmdebstrap_version.trim()
        );
        for m in &self.mirrors {
            t.push_str(&format!("mirror: {}\n", m.one_line()));
        }
        t
    }

    /// The SHA-256 (hex) of [`Self::cache_text`].
    pub fn digest(&self, mmdebstrap_version: &str) -> String {
        let d = Sha256::digest(self.cache_text(mmdebstrap_version).as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The `mmdebstrap` argv that writes the template to `output` (the `.tar.zst`
    /// extension picks tar and zstd). Run as root (`--mode=root`), so file owners in the
    /// tarball are the real ones and `pct create` shifts them into the container's map.
    pub fn mmdebstrap_argv(&self, output: &Path) -> Vec<String> {
        let mut argv: Vec<String> = vec![
            "mmdebstrap".into(),
            "--mode=root".into(),
            format!("--variant={}", self.variant),
            format!("--include={}", self.packages.join(",")),
            // No recommends: the container gets exactly the listed packages' closure.
            "--aptopt=APT::Install-Recommends \"false\"".into(),
            // No customize hooks (they are shell snippets): mmdebstrap already leaves
            // /etc/machine-id empty, so each container gets its own, and pct start
            // writes /etc/hostname and /etc/resolv.conf before every start.
            self.suite.clone(),
            output.display().to_string(),
        ];
        argv.extend(self.mirrors.iter().map(SourceEntry::one_line));
        argv
    }
}

/// `mmdebstrap --version`, trimmed (`mmdebstrap 1.3.5`).
pub fn mmdebstrap_version() -> Result<String, TemplateError> {
    let out = Command::new("mmdebstrap")
        .arg("--version")
        .output()
        .map_err(|e| TemplateError::Command {
            argv: "mmdebstrap --version".into(),
            stderr: format!("{e} (install mmdebstrap: scripts/setup.sh)"),
        })?;
    if !out.status.success() {
        return Err(TemplateError::Command {
            argv: "mmdebstrap --version".into(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The template cache: `$PHOENIX_TEMPLATE_CACHE`, else `/var/cache/phoenix/templates`.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("PHOENIX_TEMPLATE_CACHE") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("/var/cache/phoenix/templates"),
    }
}

/// Where a build came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Taken from the cache.
    Cache,
    /// Built by mmdebstrap now (and stored in the cache).
    Built,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TemplateError + '_ {
    move |source| TemplateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Puts the template for `spec` at `output`: from `<cache>/<digest>.tar.zst` when it is
/// there, else built with mmdebstrap into the cache first. Concurrent callers serialize
/// on a lock file in the cache, so two tests never build the same template twice.
pub fn build_cached(
    spec: &DebianSpec,
    cache: &Path,
    output: &Path,
) -> Result<Source, TemplateError> {
    if spec.mirrors.is_empty() {
        return Err(TemplateError::Command {
            argv: "mmdebstrap".into(),
            stderr: format!(
                "no Debian mirror for {} in the host's /etc/apt/sources.list(.d)",
                spec.suite
            ),
        });
    }
    let version = mmdebstrap_version()?;
    let digest = spec.digest(&version);
    std::fs::create_dir_all(cache).map_err(io(cache))?;
    let cached = cache.join(format!("{digest}.tar.zst"));
    let lock_path = cache.join(format!("{digest}.lock"));
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    let source = if cached.is_file() {
        Source::Cache
    } else {
        let tmp = cache.join(format!(".{digest}.{}.tar.zst", std::process::id()));
        let argv = spec.mmdebstrap_argv(&tmp);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .output()
            .map_err(io(&tmp))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&tmp);
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(5).collect();
            return Err(TemplateError::Command {
                argv: argv.join(" "),
                stderr: format!(
                    "({}) {}",
                    out.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ),
            });
        }
        std::fs::write(
            cache.join(format!("{digest}.inputs")),
            spec.cache_text(&version),
        )
        .map_err(io(cache))?;
        std::fs::rename(&tmp, &cached).map_err(io(&cached))?;
        Source::Built
    };
    drop(lock);
    place(&cached, output)?;
    Ok(source)
}

/// Copies (or hard-links, on the same filesystem) `cached` to `output` through a
/// temporary name in the output's directory.
fn place(cached: &Path, output: &Path) -> Result<(), TemplateError> {
    let dir = output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(
        ".phoenix-mktemplate.{}.tar.zst",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(cached, &tmp).is_err() {
        std::fs::copy(cached, &tmp).map_err(io(&tmp))?;
    }
    let renamed = std::fs::rename(&tmp, output).map_err(io(output));
    // rename(2) of two links to one inode succeeds and leaves both: drop ours.
    let _ = std::fs::remove_file(&tmp);
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apt_sources::parse_one_line;

    fn spec() -> DebianSpec {
        DebianSpec::debian_12(parse_one_line(
            "deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian-security bookworm-security main\n",
        ))
    }

    #[test]
    fn argv_names_suite_output_and_every_mirror() {
        insta::assert_snapshot!(
            spec()
                .mmdebstrap_argv(Path::new("/cache/x.tar.zst"))
                .join("\n")
        );
    }

    #[test]
    fn digest_changes_with_every_input() {
        let base = spec().digest("mmdebstrap 1.3.5");
        assert_eq!(base, spec().digest("mmdebstrap 1.3.5\n"));
        assert_ne!(base, spec().digest("mmdebstrap 1.4.0"));
        let mut s = spec();
        s.packages.push("jq".into());
        assert_ne!(base, s.digest("mmdebstrap 1.3.5"));
        let mut s = spec();
        s.mirrors.pop();
        assert_ne!(base, s.digest("mmdebstrap 1.3.5"));
        let mut s = spec();
        s.suite = "trixie".into();
        assert_ne!(base, s.digest("mmdebstrap 1.3.5"));
    }

    #[test]
    fn no_mirror_is_refused_before_anything_runs() {
        let t = tempfile::tempdir().unwrap();
        let err = build_cached(
            &DebianSpec::debian_12(vec![]),
            t.path(),
            &t.path().join("out.tar.zst"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "mmdebstrap failed: no Debian mirror for bookworm in the host's /etc/apt/sources.list(.d)"
        );
    }

    #[test]
    fn place_links_or_copies_into_the_template_cache() {
        let t = tempfile::tempdir().unwrap();
        let cached = t.path().join("c.tar.zst");
        std::fs::write(&cached, b"tpl").unwrap();
        let out = t
            .path()
            .join("root/var/lib/vz/template/cache")
            .join(DEBIAN_TEMPLATE_NAME);
        place(&cached, &out).unwrap();
        place(&cached, &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"tpl");
        assert_eq!(std::fs::read_dir(out.parent().unwrap()).unwrap().count(), 1);
    }
}
