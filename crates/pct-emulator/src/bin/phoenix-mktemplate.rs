//! `phoenix-mktemplate [--root DIR | --output FILE] [--busybox PATH]`: builds the busybox
//! OS template at `<root>/var/lib/vz/template/cache/phoenix-busybox_amd64.tar.gz`.

use std::path::PathBuf;

use pct_emulator::root::HostRoot;
use pct_emulator::template::{TEMPLATE_NAME, build_tarball};

const USAGE: &str = "usage: phoenix-mktemplate [--root DIR | --output FILE] [--busybox PATH]";

fn main() {
    let mut root = HostRoot::from_env();
    let mut output: Option<PathBuf> = None;
    let mut busybox = PathBuf::from("/bin/busybox");
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
    let output =
        output.unwrap_or_else(|| root.join("/var/lib/vz/template/cache").join(TEMPLATE_NAME));
    match build_tarball(&busybox, &output) {
        Ok(()) => println!("{}", output.display()),
        Err(e) => {
            eprintln!("phoenix-mktemplate: {e}");
            std::process::exit(1);
        }
    }
}
