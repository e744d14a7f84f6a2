//! Customize: the configured features through phoenix-features, then the template
//! snapshot that clones are made from.

use phoenix_features::{Container, ExecResult, FeatureError, Request};
use phoenix_pct::{CommandRunner, FileOptions, Pct, argv};
use phoenix_pveconf::Vmid;

use crate::converge::{CtRun, StepFailure, chain, fail};
use crate::plan::{Action, Change, Step};

/// A running container reached through pct, for feature installers.
struct PctContainer<'a, 'r> {
    pct: &'a Pct<&'r dyn CommandRunner>,
    vmid: Vmid,
}

impl Container for PctContainer<'_, '_> {
    fn vmid(&self) -> u32 {
        self.vmid.get()
    }

    fn exec(&self, argv: &[&str]) -> Result<ExecResult, FeatureError> {
        let out = self
            .pct
            .exec(self.vmid, argv)
            .map_err(|e| FeatureError::Access {
                vmid: self.vmid.get(),
                source: Box::new(e),
            })?;
        Ok(ExecResult {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn push(&self, data: &[u8], dest: &str, mode: u32) -> Result<(), FeatureError> {
        let access = |e: Box<dyn std::error::Error + Send + Sync>| FeatureError::Access {
            vmid: self.vmid.get(),
            source: e,
        };
        let tmp = tempfile::NamedTempFile::new().map_err(|e| access(Box::new(e)))?;
        std::fs::write(tmp.path(), data).map_err(|e| access(Box::new(e)))?;
        let opts = FileOptions {
            perms: Some(mode),
            ..FileOptions::default()
        };
        self.pct
            .push(self.vmid, tmp.path(), dest, &opts)
            .map_err(|e| access(Box::new(e)))
    }
}

/// Installs features (those phoenix has an installer for) and takes the template
/// snapshot when the container is a clone source and does not have it yet.
pub fn customize(run: &mut CtRun<'_, '_>) -> Result<(), StepFailure> {
    let step = Step::Customize;
    let vmid = run.d.vmid;
    let request = Request {
        vmid: vmid.get(),
        unprivileged: run.d.unprivileged,
    };
    for name in run.d.features.clone() {
        let Some(feature) = run.ctx.features.get(&name) else {
            run.warnings.push(format!(
                "feature '{name}' has no installer in this phoenix version; it was not installed"
            ));
            continue;
        };
        feature.validate(&request).map_err(|e| fail(step)(&e))?;
        if !run.changed {
            continue;
        }
        run.actions
            .push(Action::note(step, format!("install feature {name}")));
        if !run.ctx.dry_run {
            let ct = PctContainer {
                pct: &run.ctx.pct,
                vmid,
            };
            feature
                .install(&request, &ct)
                .map_err(|e| (step, format!("feature {name}: {}", chain(&e))))?;
        }
    }

    let Some(snap) = run.d.template_snapshot.clone() else {
        return Ok(());
    };
    let exists = if run.ctx.dry_run && run.created {
        false
    } else {
        run.ctx
            .pct
            .listsnapshot(vmid)
            .map_err(|e| fail(step)(&e))?
            .iter()
            .any(|s| s.name == snap.as_str())
    };
    if exists {
        run.actions
            .push(Action::note(step, format!("snapshot {snap} exists")));
        return Ok(());
    }
    let inv = argv::snapshot(run.ctx.pct.binary(), vmid, &snap, None);
    run.pct_call(step, Change::Create, inv, |p| p.snapshot(vmid, &snap, None))?;
    Ok(())
}
