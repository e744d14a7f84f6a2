//! `phoenix-mktemplate [--root DIR | --output FILE] [--distro busybox|debian-12]
//! [--busybox PATH] [--cache-dir DIR]`: builds an OS template where `pct create` finds it.
//!
//! - `busybox` (the default): `<root>/var/lib/vz/template/cache/phoenix-busybox_amd64.tar.gz`.
//! - `debian-12`: `<root>/var/lib/vz/template/cache/phoenix-debian-12_amd64.tar.zst`, built
//!   by mmdebstrap from the host's APT mirror and cached by its inputs in `--cache-dir`
//!   (default `$PHOENIX_TEMPLATE_CACHE`, else `/var/cache/phoenix/templates`).
//!
//! Prints the template's path; for debian-12 a second line on stderr says whether it
//! was `built` or taken from the `cache`.

use std::path::PathBuf;

use pct_emulator::apt_sources::{debian_entries, host_sources};
use pct_emulator::debian::{self, DEBIAN_TEMPLATE_NAME, DebianSpec, Source};
use pct_emulator::root::HostRoot;
use pct_emulator::template::{TEMPLATE_NAME, build_tarball};

const USAGE: &str = "usage: phoenix-mktemplate [--root DIR | --output FILE] [--distro busybox|debian-12] [--busybox PATH] [--cache-dir DIR]";

fn main() {
    let mut root = HostRoot::from_env();
    let mut output: Option<PathBuf> = None;
    let mut busybox = PathBuf::from("/bin/busybox");
    let mut distro = String::from("busybox");
    let mut cache = debian::cache_dir();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next().unwrap_or_else(|| {
                eprintln!("phoenix-mktemplate: {name} needs a value\n{USAGE}");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--root" => root = HostRoot::new(value("--root")),
            "--output" | "-o" => output = Some(PathBuf::from(value("--output"))),
            "--busybox" => busybox = PathBuf::from(value("--busybox")),
            "--distro" => distro = value("--distro"),
            "--cache-dir" => cache = PathBuf::from(value("--cache-dir")),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => {
                eprintln!("phoenix-mktemplate: unknown argument '{other}'\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let dir = root.join("/var/lib/vz/template/cache");
    let result = match distro.as_str() {
        "busybox" => {
            let output = output.unwrap_or_else(|| dir.join(TEMPLATE_NAME));
            build_tarball(&busybox, &output).map(|()| (output, None))
        }
        "debian-12" => {
            let output = output.unwrap_or_else(|| dir.join(DEBIAN_TEMPLATE_NAME));
            // The mirror is the host's own (the one this machine may reach), read from
            // the real /etc/apt, not from --root: the template is built on this host.
            let mirrors = debian_entries(&host_sources(&HostRoot::new("/")), "bookworm");
            let spec = DebianSpec::debian_12(mirrors);
            debian::build_cached(&spec, &cache, &output).map(|s| (output, Some(s)))
        }
        other => {
            eprintln!(
                "phoenix-mktemplate: unknown distro '{other}' (busybox or debian-12)\n{USAGE}"
            );
            std::process::exit(2);
        }
    };
    match result {
        Ok((output, source)) => {
            println!("{}", output.display());
            match source {
                Some(Source::Built) => eprintln!("phoenix-mktemplate: built"),
                Some(Source::Cache) => eprintln!("phoenix-mktemplate: cache"),
                None => {}
            }
        }
        Err(e) => {
            eprintln!("phoenix-mktemplate: {e}");
            std::process::exit(1);
        }
    }
}
