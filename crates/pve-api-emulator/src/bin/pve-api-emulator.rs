//! `pve-api-emulator`: the Proxmox VE API emulator (see the library's documentation).

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use phoenix_pveconf::api::{NodeName, TokenId};
use pve_api_emulator::api::{Config, Emulator, TokenSecret, default_pct};
use pve_api_emulator::faults::Faults;
use pve_api_emulator::layout::Cluster;
use pve_api_emulator::tls::Identity;

const USAGE: &str = "usage: pve-api-emulator --listen 127.0.0.1:PORT --nodes pve1,pve2 --token-file FILE [--token-id USER@REALM!TOKENID] [--pct PATH] [--cert-out FILE] [--latency-ms N] [--busybox PATH]

State lives under $PHOENIX_ROOT (required). Prints one line when ready:
  listening https://127.0.0.1:PORT fingerprint AB:CD:...
Environment:
  PVE_API_EMU_LATENCY_MS=N       every request waits N ms
  PVE_API_EMU_LOCK_FAIL=N        the next N mutating requests answer 500 can't lock file ... got timeout
  PVE_API_EMU_TASK_LOCKED=N      the next N clone tasks end with 'CT is locked (disk)'
  PVE_API_EMU_FAIL_TASK=TYPE:ID  that task (vzcreate:101, vzstart:101, ...) fails with a log
  PVE_API_EMU_LOG=FILE           appends 'METHOD PATH STATUS' per request
  PCT_EMU_FAIL, PCT_EMU_LATENCY_MS, ...  passed through to the pct emulator";

struct Args {
    listen: String,
    nodes: Vec<NodeName>,
    token_file: PathBuf,
    token_id: TokenId,
    pct: PathBuf,
    cert_out: Option<PathBuf>,
    latency: Duration,
    busybox: PathBuf,
}

fn parse_args() -> Result<Args> {
    let mut listen = None;
    let mut nodes = None;
    let mut token_file = None;
    let mut token_id: TokenId = "phoenix@pve!test".parse().expect("a valid token id");
    let mut pct = default_pct();
    let mut cert_out = None;
    let mut latency = Duration::ZERO;
    let mut busybox = PathBuf::from("/bin/busybox");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-h" || a == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        let mut value = || -> Result<String> {
            inline
                .clone()
                .or_else(|| args.next())
                .with_context(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--listen" => listen = Some(value()?),
            "--nodes" => {
                let list = value()?;
                let parsed: Result<Vec<NodeName>, _> = list
                    .split(',')
                    .map(|n| n.trim().parse::<NodeName>())
                    .collect();
                nodes = Some(parsed.with_context(|| format!("--nodes {list}"))?);
            }
            "--token-file" => token_file = Some(PathBuf::from(value()?)),
            "--token-id" => token_id = value()?.parse().context("--token-id")?,
            "--pct" => pct = PathBuf::from(value()?),
            "--cert-out" => cert_out = Some(PathBuf::from(value()?)),
            "--latency-ms" => {
                latency = Duration::from_millis(value()?.parse().context("--latency-ms")?)
            }
            "--busybox" => busybox = PathBuf::from(value()?),
            other => bail!("unknown argument '{other}'"),
        }
    }
    let nodes = nodes.context("--nodes is required")?;
    if nodes.is_empty() {
        bail!("--nodes names no node");
    }
    Ok(Args {
        listen: listen.context("--listen is required")?,
        nodes,
        token_file: token_file.context("--token-file is required")?,
        token_id,
        pct,
        cert_out,
        latency,
        busybox,
    })
}

/// Writes `text` to `path` with mode 0600, through a temp file and a rename.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let name = path.file_name().context("the token file has no name")?;
    let tmp = dir.unwrap_or(std::path::Path::new(".")).join(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn run() -> Result<()> {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pve-api-emulator: {e:#}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let root = std::env::var_os("PHOENIX_ROOT")
        .filter(|r| !r.is_empty())
        .context("PHOENIX_ROOT must name the emulator's state directory")?;
    std::fs::create_dir_all(&root)
        .with_context(|| format!("creating {}", root.to_string_lossy()))?;
    let root = std::fs::canonicalize(&root)?;
    let cluster = Cluster::new(root, args.nodes);
    cluster
        .prepare(&args.busybox, || {
            pve_api_emulator::random_bytes().expect("/dev/urandom is readable")
        })
        .context("preparing the node roots")?;

    let identity = Identity::generate()?;
    if let Some(out) = &args.cert_out {
        std::fs::write(out, identity.cert_pem())
            .with_context(|| format!("writing {}", out.display()))?;
    }
    let secret = TokenSecret::new(pve_api_emulator::random_secret()?);
    write_private(
        &args.token_file,
        &format!("{}={}\n", args.token_id, secret.expose()),
    )?;

    let listener =
        TcpListener::bind(&args.listen).with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let emu = Emulator::new(Config {
        cluster,
        pct: args.pct,
        token_id: args.token_id,
        secret,
        faults: Faults::from_env(args.latency),
        request_log: std::env::var_os("PVE_API_EMU_LOG")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
    });
    let tls = identity.server_config()?;
    println!(
        "listening https://{addr} fingerprint {}",
        identity.fingerprint()
    );
    std::io::stdout().flush()?;
    pve_api_emulator::server::serve(listener, tls, emu);
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("pve-api-emulator: {e:#}");
        std::process::exit(1);
    }
}
