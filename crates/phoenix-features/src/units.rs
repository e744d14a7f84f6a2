//! systemd units, drop-ins and environment files, rendered purely from typed
//! settings: the vllm service, the ollama service and its phoenix drop-in.
//!
//! A command line is an argv, each element quoted for systemd's own splitting
//! (never a shell line: systemd runs `ExecStart=` without a shell). A value that
//! cannot be written safely (a control character, a line break) is an error naming
//! it, never a broken unit.

use std::fmt::Write as _;

/// The first line of every file phoenix renders here.
pub const HEADER: &str =
    "# Written by phoenix: a run rewrites this file; change the config instead.";

/// A value phoenix cannot put in a unit file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} cannot be written into a systemd unit: {reason}")]
pub struct RenderError {
    /// Which setting.
    pub what: String,
    /// Its value (never a secret's: those are reported without it).
    pub value: String,
    /// Why.
    pub reason: &'static str,
}

fn check(what: &str, value: &str) -> Result<(), RenderError> {
    if value.chars().any(char::is_control) {
        return Err(RenderError {
            what: what.to_owned(),
            value: value.escape_debug().to_string(),
            reason: "it holds a control character or a line break",
        });
    }
    Ok(())
}

/// `%` is systemd's specifier character everywhere in a unit file.
fn specifiers(s: &str) -> String {
    s.replace('%', "%%")
}

/// One argv element as systemd's `ExecStart=` splits it: bare when it is made of
/// plain characters, else in double quotes with `\` and `"` escaped; `%` doubled
/// (specifiers) and `$` doubled (no variable expansion).
///
/// ```
/// use phoenix_features::units::exec_arg;
/// assert_eq!(exec_arg("--port").unwrap(), "--port");
/// assert_eq!(exec_arg("a b\"c").unwrap(), r#""a b\"c""#);
/// assert_eq!(exec_arg("50%$HOME").unwrap(), "\"50%%$$HOME\"");
/// assert!(exec_arg("two\nlines").is_err());
/// ```
pub fn exec_arg(arg: &str) -> Result<String, RenderError> {
    check("argument", arg)?;
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@".contains(c));
    if plain {
        return Ok(arg.to_owned());
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// `Environment="KEY=value"` with the value quoted for systemd.
fn environment(key: &str, value: &str) -> Result<String, RenderError> {
    check(key, value)?;
    let v = value.replace('\\', "\\\\").replace('"', "\\\"");
    Ok(format!("Environment=\"{key}={}\"", specifiers(&v)))
}

/// The vllm service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VllmUnit {
    /// The model, for the description.
    pub model: String,
    /// The full command line: the venv's `vllm` first.
    pub argv: Vec<String>,
    /// The EnvironmentFile (mode 0600) with the secrets, when there are any.
    pub env_file: Option<String>,
    /// The service's home and Hugging Face cache.
    pub home: String,
}

/// Where the vllm unit is installed.
pub const VLLM_UNIT_PATH: &str = "/etc/systemd/system/vllm.service";
/// Where the ollama unit is installed.
pub const OLLAMA_UNIT_PATH: &str = "/etc/systemd/system/ollama.service";
/// Where phoenix's drop-in of the ollama unit is installed.
pub const OLLAMA_DROPIN_PATH: &str = "/etc/systemd/system/ollama.service.d/phoenix.conf";

/// The vllm unit.
pub fn vllm_unit(u: &VllmUnit) -> Result<String, RenderError> {
    check("vllm_model", &u.model)?;
    let argv: Vec<String> = u
        .argv
        .iter()
        .map(|a| exec_arg(a))
        .collect::<Result<_, _>>()?;
    let mut s = String::new();
    let _ = writeln!(s, "{HEADER}");
    let _ = writeln!(s, "[Unit]");
    let _ = writeln!(
        s,
        "Description=vLLM OpenAI-compatible server for {}",
        specifiers(&u.model)
    );
    let _ = writeln!(s, "After=network-online.target");
    let _ = writeln!(s, "Wants=network-online.target");
    let _ = writeln!(s);
    let _ = writeln!(s, "[Service]");
    let _ = writeln!(s, "Type=exec");
    let _ = writeln!(s, "User=vllm");
    let _ = writeln!(s, "Group=vllm");
    let _ = writeln!(s, "SupplementaryGroups=video");
    let _ = writeln!(s, "WorkingDirectory={}", exec_arg(&u.home)?);
    let _ = writeln!(s, "{}", environment("HOME", &u.home)?);
    let _ = writeln!(
        s,
        "{}",
        environment("HF_HOME", &format!("{}/huggingface", u.home))?
    );
    if let Some(env) = &u.env_file {
        let _ = writeln!(s, "EnvironmentFile={}", exec_arg(env)?);
    }
    let _ = writeln!(s, "ExecStart={}", argv.join(" "));
    let _ = writeln!(s, "Restart=on-failure");
    let _ = writeln!(s, "RestartSec=10");
    let _ = writeln!(s);
    let _ = writeln!(s, "[Install]");
    let _ = writeln!(s, "WantedBy=multi-user.target");
    Ok(s)
}

/// An EnvironmentFile: `KEY="value"` lines (double quotes, `\` and `"` escaped).
/// Its values are secrets: callers push it with mode 0600 and never print it.
pub fn env_file(vars: &[(String, String)]) -> Result<String, RenderError> {
    let mut s = format!("{HEADER}\n");
    for (k, v) in vars {
        if v.chars().any(char::is_control) {
            return Err(RenderError {
                what: k.clone(),
                value: phoenix_config::model::secret::REDACTED.into(),
                reason: "it holds a control character or a line break",
            });
        }
        let v = v.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(s, "{k}=\"{v}\"");
    }
    Ok(s)
}

/// The ollama unit (what Ollama's own installer writes, with phoenix's header);
/// settings come from the drop-in.
pub fn ollama_unit() -> String {
    format!(
        "{HEADER}
[Unit]
Description=Ollama Service
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/bin/ollama serve
User=ollama
Group=ollama
SupplementaryGroups=video
Restart=always
RestartSec=3
Environment=\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"

[Install]
WantedBy=multi-user.target
"
    )
}

/// phoenix's drop-in of the ollama unit: one `Environment=` line per setting.
pub fn ollama_dropin(vars: &[(String, String)]) -> Result<String, RenderError> {
    let mut s = format!("{HEADER}\n[Service]\n");
    for (k, v) in vars {
        let _ = writeln!(s, "{}", environment(k, v)?);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_would_break_a_unit_are_refused_with_their_name() {
        let e = ollama_dropin(&[("OLLAMA_KEEP_ALIVE".into(), "5m\nExecStart=/bin/sh".into())])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"OLLAMA_KEEP_ALIVE "5m\\nExecStart=/bin/sh" cannot be written into a systemd unit: it holds a control character or a line break"#
        );
        let e = env_file(&[("HF_TOKEN".into(), "hf_\nx".into())]).unwrap_err();
        assert!(!e.to_string().contains("hf_"), "{e}");
        assert_eq!(
            environment("K", r#"a"b\c%d"#).unwrap(),
            r#"Environment="K=a\"b\\c%%d""#
        );
    }
}
