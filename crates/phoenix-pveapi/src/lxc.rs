//! The typed calls: the cluster, and containers under `/nodes/{node}/lxc`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::client::{Client, encode_segment};
use crate::config::LxcConfig;
use crate::error::ApiError;
use crate::response::{self, Fields};
use crate::types::{LxcStatus, Resource, ResourceKind, TaskOutcome, Version};

fn ct_path(node: &str, vmid: u32) -> String {
    format!("/nodes/{}/lxc/{vmid}", encode_segment(node))
}

fn pairs<'a>(
    first: impl IntoIterator<Item = (&'a str, String)>,
    params: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    first
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(params.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect()
}

fn array<'a>(path: &str, what: &str, v: &'a Value) -> Result<&'a Vec<Value>, ApiError> {
    v.as_array().ok_or_else(|| {
        response::decode(
            path,
            format!("expected {what} as an array, got {}", response::kind(v)),
        )
    })
}

impl Client {
    /// `GET /version`.
    pub fn version(&self) -> Result<Version, ApiError> {
        let path = "/version";
        Version::from_value(path, &self.get(path, &[])?)
    }

    /// `GET /cluster/resources[?type=kind]`.
    pub fn cluster_resources(&self, kind: Option<ResourceKind>) -> Result<Vec<Resource>, ApiError> {
        let path = "/cluster/resources";
        let query: Vec<(&str, String)> =
            kind.map(|k| ("type", k.to_string())).into_iter().collect();
        let data = self.get(path, &query)?;
        array(path, "the resources", &data)?
            .iter()
            .map(|r| Resource::from_value(path, r))
            .collect()
    }

    /// `GET /cluster/nextid`: the lowest free guest id (a string in Proxmox's answer).
    pub fn next_id(&self) -> Result<u32, ApiError> {
        let path = "/cluster/nextid";
        let data = self.get(path, &[])?;
        response::number_u64(&data)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                response::decode(
                    path,
                    format!("expected a guest id, got {}", response::short(&data)),
                )
            })
    }

    /// `GET /nodes`: the nodes' names.
    pub fn nodes(&self) -> Result<Vec<String>, ApiError> {
        let path = "/nodes";
        let data = self.get(path, &[])?;
        array(path, "the nodes", &data)?
            .iter()
            .map(|n| Fields::new(path, "a node", n)?.string("node"))
            .collect()
    }

    /// `GET /nodes/{node}/lxc/{vmid}/config`.
    pub fn lxc_config(&self, node: &str, vmid: u32) -> Result<LxcConfig, ApiError> {
        let path = format!("{}/config", ct_path(node, vmid));
        LxcConfig::from_value(&path, &self.get(&path, &[])?)
    }

    /// `GET /nodes/{node}/lxc/{vmid}/status/current`.
    pub fn lxc_status(&self, node: &str, vmid: u32) -> Result<LxcStatus, ApiError> {
        let path = format!("{}/status/current", ct_path(node, vmid));
        LxcStatus::from_value(&path, vmid, &self.get(&path, &[])?)
    }

    /// `POST /nodes/{node}/lxc` (`vmid`, `ostemplate`, then `params` in byte order: any
    /// `pct create` option) and waits for the `vzcreate` task.
    pub fn lxc_create(
        &self,
        node: &str,
        vmid: u32,
        ostemplate: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<TaskOutcome, ApiError> {
        let path = format!("/nodes/{}/lxc", encode_segment(node));
        let form = pairs(
            [
                ("vmid", vmid.to_string()),
                ("ostemplate", ostemplate.to_owned()),
            ],
            params,
        );
        self.task_op(node, &path, || self.post(&path, &form))
    }

    /// `POST /nodes/{node}/lxc/{source}/clone` (`newid`, then `params`: `hostname`,
    /// `description`, `snapname`, `full`, `target`, `storage`, `pool`) and waits for the
    /// `vzclone` task. A clone that fails on "CT is locked" is started again.
    pub fn lxc_clone(
        &self,
        node: &str,
        source: u32,
        newid: u32,
        params: &BTreeMap<String, String>,
    ) -> Result<TaskOutcome, ApiError> {
        let path = format!("{}/clone", ct_path(node, source));
        let form = pairs([("newid", newid.to_string())], params);
        self.task_op(node, &path, || self.post(&path, &form))
    }

    /// `PUT /nodes/{node}/lxc/{vmid}/config` with `params`, `delete=a,b` (when any) and
    /// `digest` (when given: Proxmox refuses the change if the file changed since).
    /// Synchronous in Proxmox; should a node answer with a UPID, its task is waited for.
    pub fn lxc_set_config(
        &self,
        node: &str,
        vmid: u32,
        params: &BTreeMap<String, String>,
        delete: &[String],
        digest: Option<&str>,
    ) -> Result<(), ApiError> {
        let path = format!("{}/config", ct_path(node, vmid));
        let mut form = pairs([], params);
        if !delete.is_empty() {
            form.push(("delete".into(), delete.join(",")));
        }
        if let Some(d) = digest {
            form.push(("digest".into(), d.to_owned()));
        }
        self.task_op(node, &path, || self.put(&path, &form))
            .map(drop)
    }

    fn lxc_action(&self, node: &str, vmid: u32, action: &str) -> Result<TaskOutcome, ApiError> {
        let path = format!("{}/{action}", ct_path(node, vmid));
        self.task_op(node, &path, || self.post(&path, &[]))
    }

    /// `POST .../status/start` and waits for the `vzstart` task.
    pub fn lxc_start(&self, node: &str, vmid: u32) -> Result<TaskOutcome, ApiError> {
        self.lxc_action(node, vmid, "status/start")
    }

    /// `POST .../status/stop` (immediate) and waits for the `vzstop` task.
    pub fn lxc_stop(&self, node: &str, vmid: u32) -> Result<TaskOutcome, ApiError> {
        self.lxc_action(node, vmid, "status/stop")
    }

    /// `POST .../status/shutdown` (clean) and waits for the `vzshutdown` task.
    pub fn lxc_shutdown(&self, node: &str, vmid: u32) -> Result<TaskOutcome, ApiError> {
        self.lxc_action(node, vmid, "status/shutdown")
    }

    /// `POST .../template`: makes the container a template (Proxmox answers null, an
    /// emulator may answer a UPID: both are accepted).
    pub fn lxc_template(&self, node: &str, vmid: u32) -> Result<TaskOutcome, ApiError> {
        self.lxc_action(node, vmid, "template")
    }

    /// `GET .../snapshot`: the snapshots' names, without Proxmox's `current` entry.
    pub fn lxc_snapshots(&self, node: &str, vmid: u32) -> Result<Vec<String>, ApiError> {
        let path = format!("{}/snapshot", ct_path(node, vmid));
        let data = self.get(&path, &[])?;
        let mut names = Vec::new();
        for s in array(&path, "the snapshots", &data)? {
            let name = Fields::new(&path, "a snapshot", s)?.string("name")?;
            if name != "current" {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// `POST .../snapshot` (`snapname`) and waits for the `vzsnapshot` task.
    pub fn lxc_snapshot(&self, node: &str, vmid: u32, name: &str) -> Result<TaskOutcome, ApiError> {
        let path = format!("{}/snapshot", ct_path(node, vmid));
        let form = [("snapname".to_owned(), name.to_owned())];
        self.task_op(node, &path, || self.post(&path, &form))
    }

    /// `DELETE /nodes/{node}/lxc/{vmid}` and waits for the `vzdestroy` task.
    pub fn lxc_destroy(&self, node: &str, vmid: u32) -> Result<TaskOutcome, ApiError> {
        let path = ct_path(node, vmid);
        self.task_op(node, &path, || self.delete(&path, &[]))
    }
}
