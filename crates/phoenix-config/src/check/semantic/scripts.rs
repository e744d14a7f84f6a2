//! Scripts a container names: its `application_script` must exist in the scripts
//! directory (the old layout: `bin/` beside the config directory, where the old
//! system ran `${PHOENIX_BASE_DIR}/bin/<application_script>`), and a bash-era
//! `health_check.command` runs inside the container (`pct exec <id> -- <command>`),
//! so it must not name a host path the container does not have.

use std::collections::BTreeSet;

use super::{Ctx, ct};
use crate::schema::ConfigFile::Lxc;

/// The files of a scripts directory, by path relative to it (`a/b.sh`). Built by
/// the loader, so the checks stay pure.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ScriptIndex {
    /// The directory, as shown in messages.
    pub dir: String,
    /// Relative paths of the files in it.
    pub files: BTreeSet<String>,
}

/// The host directory the old system installed itself in; a health check under it
/// names a host file.
const OLD_BASE_DIR: &str = "/usr/local/phoenix_hypervisor/";

pub(super) fn application_scripts(ctx: &mut Ctx<'_>, scripts: Option<&ScriptIndex>) {
    let Some(index) = scripts else { return };
    let mut found = Vec::new();
    for (id, c) in ctx.containers() {
        let Some(script) = &c.application_script else {
            continue;
        };
        if !index.files.contains(script.as_str()) {
            let pointer = format!("{}/application_script", ct(id));
            found.push((
                pointer.clone(),
                format!(
                    "unknown application script \"{script}\" at {pointer}: {} has no such file, so provisioning container {id} would fail at its last step",
                    index.dir
                ),
            ));
        }
    }
    for (id, c) in ctx.containers() {
        for (i, f) in c.application_files.iter().enumerate() {
            let prefix = format!("{}/", f.as_str().trim_end_matches('/'));
            let exists = index.files.contains(f.as_str())
                || index.files.iter().any(|x| x.starts_with(&prefix));
            if !exists {
                let pointer = format!("{}/application_files/{i}", ct(id));
                found.push((
                    pointer.clone(),
                    format!(
                        "unknown application file \"{f}\" at {pointer}: {} has no such file or directory, so container {id}'s application script would miss it",
                        index.dir
                    ),
                ));
            }
        }
        if let Some(tests) = &c.tests {
            for (suite, list) in [
                ("health_checks", &tests.health_checks),
                ("integration_tests", &tests.integration_tests),
            ] {
                for (i, t) in list.iter().enumerate() {
                    if !index.files.contains(t.path.as_str()) {
                        let pointer = format!("{}/tests/{suite}/{i}/path", ct(id));
                        found.push((
                            pointer.clone(),
                            format!(
                                "unknown test script \"{}\" at {pointer}: {} has no such file, so the check '{}' of container {id} would fail",
                                t.path, index.dir, t.name
                            ),
                        ));
                    }
                }
            }
        }
    }
    for (pointer, message) in found {
        ctx.error(Lxc, pointer, message);
    }
}

pub(super) fn health_checks(ctx: &mut Ctx<'_>) {
    let mut found = Vec::new();
    for (id, c) in ctx.containers() {
        let Some(check) = &c.health_check else {
            continue;
        };
        let program = check.command.split_whitespace().next().unwrap_or_default();
        let mounted = c.mount_points.iter().any(|m| {
            program
                .strip_prefix(m.container_path.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        });
        if program.starts_with(OLD_BASE_DIR) && !mounted {
            let pointer = format!("{}/health_check/command", ct(id));
            found.push((
                pointer.clone(),
                format!(
                    "health check at {pointer}: runs {program} inside container {id} (health_check.command is run with pct exec), but {OLD_BASE_DIR} is the host's phoenix directory and no mount point brings it into the container; name the check script in tests.health_checks instead"
                ),
            ));
        }
    }
    for (pointer, message) in found {
        ctx.error(Lxc, pointer, message);
    }
}
