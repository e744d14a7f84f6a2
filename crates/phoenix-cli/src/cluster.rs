//! A cluster run's connections, from the hypervisor config's `cluster` section: the PVE
//! API client (token, TLS trust) and the node path's SSH client. Every file it names is
//! resolved beneath `--root`, like every other host path.

use anyhow::Context as _;
use camino::Utf8Path;
use phoenix_orchestrator::config::model::cluster::Cluster;
use phoenix_orchestrator::hostfs::under_root;
use phoenix_orchestrator::pveapi::{ApiToken, Client, ClientConfig, Secret, Trust};

use crate::global::Global;

/// The `ssh` the node path runs: `PHOENIX_SSH`, else `ssh` on PATH.
pub fn ssh() -> std::path::PathBuf {
    std::env::var_os("PHOENIX_SSH")
        .map(Into::into)
        .unwrap_or_else(|| "ssh".into())
}

/// The API token: the secret from its file (the bare secret, or the whole
/// `USER@REALM!TOKENID=SECRET` line Proxmox shows once) or its environment variable.
fn token(cluster: &Cluster, global: &Global) -> anyhow::Result<ApiToken> {
    let id = cluster.token_id.clone();
    if let Some(file) = &cluster.token_secret_file {
        let path = under_root(&global.root, Utf8Path::new(file.as_str()));
        if let Ok(whole) = ApiToken::from_file(&path) {
            anyhow::ensure!(
                whole.id == id,
                "{path}: holds a secret for the token {}, the config's token_id is {id}",
                whole.id
            );
            return Ok(whole);
        }
        let secret = Secret::from_file(&path).context("reading the API token's secret")?;
        return Ok(ApiToken { id, secret });
    }
    if let Some(var) = &cluster.token_secret_env {
        let secret = Secret::from_env(var.as_str()).context("reading the API token's secret")?;
        return Ok(ApiToken { id, secret });
    }
    anyhow::bail!("cluster: neither token_secret_file nor token_secret_env is set")
}

/// HTTP requests the client sent again after a lock timeout, a server error or a lost
/// connection (not counted: an operation started again because its task failed on a
/// lock): a run's report says how many.
pub static RETRIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The report's note about retried requests, if there were any.
pub fn retried_note() -> Option<String> {
    let n = RETRIED.load(std::sync::atomic::Ordering::Relaxed);
    (n > 0).then(|| {
        format!(
            "{n} PVE API request{} sent again after a lock timeout or a server error (-vv shows each)",
            if n == 1 { " was" } else { "s were" }
        )
    })
}

/// The API client of the cluster section.
pub fn client(cluster: &Cluster, global: &Global) -> anyhow::Result<Client> {
    let trust = match (&cluster.fingerprint, &cluster.ca_file) {
        (Some(f), _) => Trust::Fingerprint(*f),
        (None, Some(ca)) => Trust::CaFile(under_root(&global.root, Utf8Path::new(ca.as_str()))),
        (None, None) => anyhow::bail!("cluster: neither fingerprint nor ca_file is set"),
    };
    let client = Client::new(ClientConfig::new(
        cluster.api_url.as_str(),
        token(cluster, global)?,
        trust,
    ))
    .context("connecting to the PVE API")?;
    // Requests are traced (-vv): method, path, status and time; never a header.
    Ok(client.on_request(std::sync::Arc::new(|r| {
        if r.attempt > 1 {
            RETRIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        tracing::debug!(
            method = ?r.method,
            path = %r.path,
            status = r.status,
            attempt = r.attempt,
            ms = r.duration.as_millis() as u64,
            "pve api"
        );
    })))
}
