//! Running a feature's embedded script inside a container: the script, phoenix's
//! helper (`lib.sh`) and rendered files are pushed into a staging directory
//! `/tmp/phoenix_run/<run-id>/<feature>/`, run with `bash -euo pipefail` and an
//! explicit environment (`env -i`: nothing of phoenix's own environment; secrets in a
//! file of mode 0600 the helper sources, never in argv), its output streamed line by
//! line, and the staging directory removed afterwards, after a failure too.

use crate::FeatureError;
use crate::feature::{Container, ExecResult};

/// Where staging directories live inside a container.
pub const STAGING_ROOT: &str = "/tmp/phoenix_run";

/// The helper every script sources first.
pub const LIB_SH: &str = include_str!("../scripts/lib.sh");

/// phoenix's own gateway step, run in the gateway container (nginx installed, the
/// rendered configuration tested and reloaded only when it changed).
pub const GATEWAY_SH: &str = include_str!("../scripts/gateway.sh");

/// The PATH scripts run with (Proxmox's own for `pct exec`).
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A file staged beside the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    /// Path relative to the staging directory.
    pub path: String,
    /// Content.
    pub content: Vec<u8>,
    /// Mode.
    pub mode: u32,
}

/// A script with what it needs.
#[derive(Debug, Clone, Default)]
pub struct Staged {
    /// The feature (the staging subdirectory and the output prefix).
    pub feature: String,
    /// The script's text.
    pub script: String,
    /// Files beside it.
    pub files: Vec<StagedFile>,
    /// Environment variables (not secret: they are in argv).
    pub env: Vec<(String, String)>,
    /// Secret variables: written to `secrets.env` (0600), sourced by `lib.sh`.
    pub secrets: Vec<(String, String)>,
    /// Arguments of the script.
    pub args: Vec<String>,
}

/// Shell-quotes a value for `secrets.env` (single quotes, `'` escaped).
fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// The last `n` lines of a command's output, for an error.
pub fn last_lines(out: &ExecResult, n: usize) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Waits (at most about two minutes) until the container's init has finished booting:
/// systemd's `tmpfiles.d` empties `/tmp` during boot (`D /tmp`), under a staging
/// directory and under apt's temporary files. Right after a start `systemctl` may not
/// reach systemd yet and answer at once, so it is asked again until it says `running`
/// or `degraded`. A container without systemd (no `systemctl`) returns at once.
/// Returns the last state systemd reported, if any.
pub fn wait_for_boot(ct: &dyn Container) -> Result<Option<String>, FeatureError> {
    let mut last = None;
    for attempt in 0..60 {
        let out = ct.exec(&["timeout", "110", "systemctl", "is-system-running", "--wait"])?;
        if out.code == 126 || out.code == 127 {
            return Ok(None);
        }
        let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if matches!(state.as_str(), "running" | "degraded") {
            return Ok(Some(state));
        }
        last = (!state.is_empty()).then_some(state);
        if attempt > 0 || out.code != 0 {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    Ok(last)
}

/// Runs `staged` in `ct`; a non-zero exit is [`FeatureError::CommandFailed`] with the
/// script's last lines. The staging directory is removed in every case.
pub fn run_staged(ct: &dyn Container, staged: &Staged) -> Result<ExecResult, FeatureError> {
    let run_dir = format!("{STAGING_ROOT}/{}", ct.run_id());
    let dir = format!("{run_dir}/{}", staged.feature);
    let result = stage_and_run(ct, staged, &dir);
    let cleanup = ct.exec(&["rm", "-rf", &run_dir]);
    let _ = ct.exec(&["rmdir", "--ignore-fail-on-non-empty", STAGING_ROOT]);
    let out = result?;
    match cleanup {
        Ok(c) if c.code != 0 => Err(FeatureError::CommandFailed {
            vmid: ct.vmid(),
            command: format!("rm -rf {run_dir}"),
            code: c.code,
            stderr: last_lines(&c, 5),
        }),
        Err(e) => Err(e),
        Ok(_) => Ok(out),
    }
}

fn stage_and_run(
    ct: &dyn Container,
    staged: &Staged,
    dir: &str,
) -> Result<ExecResult, FeatureError> {
    let ok = |argv: &[&str]| -> Result<(), FeatureError> {
        let out = ct.exec(argv)?;
        if out.code != 0 {
            return Err(FeatureError::CommandFailed {
                vmid: ct.vmid(),
                command: argv.join(" "),
                code: out.code,
                stderr: last_lines(&out, 5),
            });
        }
        Ok(())
    };
    ok(&["mkdir", "-p", "-m", "0700", dir])?;
    ct.push(LIB_SH.as_bytes(), &format!("{dir}/lib.sh"), 0o644)?;
    let script = format!("{dir}/{}.sh", staged.feature);
    ct.push(staged.script.as_bytes(), &script, 0o755)?;
    for f in &staged.files {
        let path = format!("{dir}/{}", f.path);
        if let Some((parent, _)) = path.rsplit_once('/') {
            ok(&["mkdir", "-p", parent])?;
        }
        ct.push(&f.content, &path, f.mode)?;
    }
    if !staged.secrets.is_empty() {
        let text: String = staged
            .secrets
            .iter()
            .map(|(k, v)| format!("export {k}={}\n", quote(v)))
            .collect();
        ct.push(text.as_bytes(), &format!("{dir}/secrets.env"), 0o600)?;
    }
    let mut argv: Vec<String> = vec![
        "env".into(),
        "-i".into(),
        format!("PATH={SCRIPT_PATH}"),
        "HOME=/root".into(),
        "LANG=C.UTF-8".into(),
        "DEBIAN_FRONTEND=noninteractive".into(),
        format!("PHOENIX_RUN_DIR={dir}"),
        format!("PHOENIX_CTID={}", ct.vmid()),
    ];
    argv.extend(staged.env.iter().map(|(k, v)| format!("{k}={v}")));
    argv.extend([
        "bash".into(),
        "-euo".into(),
        "pipefail".into(),
        script.clone(),
    ]);
    argv.extend(staged.args.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = ct.exec_streaming(&argv, &|line| ct.output(&staged.feature, line))?;
    if out.code != 0 {
        return Err(FeatureError::CommandFailed {
            vmid: ct.vmid(),
            command: format!("{} script", staged.feature),
            code: out.code,
            stderr: last_lines(&out, 20),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_quoted_for_the_shell() {
        assert_eq!(quote("a'b c"), r"'a'\''b c'");
        let out = ExecResult {
            code: 1,
            stdout: b"1\n2\n3\n".to_vec(),
            stderr: b"4\n".to_vec(),
        };
        assert_eq!(last_lines(&out, 2), "3\n4");
    }
}
