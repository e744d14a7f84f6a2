//! The API itself: token check, routing, and each endpoint of CLUSTER-DESIGN.md on top
//! of the cluster layout ([`crate::layout`]) and the pct emulator.
//!
//! Every operation Proxmox runs as a worker answers a UPID at once and runs the pct
//! emulator in a thread (`PHOENIX_ROOT=R/node/N`, argv, never a shell); `PUT .../config`
//! runs `pct set` before it answers, as Proxmox does. `/etc/pve` is replicated before
//! each request is answered and after each mutation.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use phoenix_pveconf::api::{NodeName, TokenId};
use phoenix_pveconf::conf::{CtConf, Digest, KeyType, key_type};
use serde_json::{Value, json};

use crate::faults::{Faults, lock_timeout_message};
use crate::http::{Reply, Request};
use crate::layout::Cluster;
use crate::perm::{ParamErrors, root_only, verify_params};
use crate::tasks::{Task, Tasks, run_logged};

/// The token secret the emulator accepts. Its `Debug` is redacted; nothing prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        TokenSecret(secret)
    }

    /// The secret text (for writing the token file only).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the texts differ.
    fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What the emulator serves.
#[derive(Debug)]
pub struct Config {
    /// The cluster layout.
    pub cluster: Cluster,
    /// The pct emulator binary.
    pub pct: PathBuf,
    /// The one token it accepts.
    pub token_id: TokenId,
    /// Its secret.
    pub secret: TokenSecret,
    /// Injected faults.
    pub faults: Faults,
    /// `PVE_API_EMU_LOG`: one `METHOD PATH STATUS` line per request.
    pub request_log: Option<PathBuf>,
}

/// The emulator: its configuration and live state (tasks, ids being created).
#[derive(Debug)]
pub struct Emulator {
    cfg: Config,
    tasks: Tasks,
    /// vmid -> node of creates and clones that run (their conf may not exist yet).
    reserved: Mutex<BTreeMap<u32, NodeName>>,
    replication: Mutex<()>,
    log: Mutex<()>,
}

/// Create's own parameters besides the config keys (pve-container's create_vm).
const CREATE_EXTRA: &[&str] = &[
    "vmid",
    "ostemplate",
    "storage",
    "password",
    "ssh-public-keys",
    "pool",
    "bwlimit",
    "start",
    "force",
    "unique",
    "restore",
    "ignore-unpack-errors",
    "ha-managed",
];
const CLONE_EXTRA: &[&str] = &[
    "newid",
    "hostname",
    "description",
    "snapname",
    "full",
    "target",
    "storage",
    "pool",
    "bwlimit",
];
const SET_EXTRA: &[&str] = &["delete", "digest", "revert"];

type Res = Result<Reply, Reply>;

fn params_err(key: &str, msg: impl Into<String>) -> Reply {
    let mut e = ParamErrors::new();
    e.insert(key.to_owned(), msg.into());
    Reply::params(&e)
}

fn only(req: &Request, allowed: &[&str]) -> Result<(), Reply> {
    let extra: BTreeMap<String, String> = req
        .params
        .iter()
        .filter(|(k, _)| !allowed.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if extra.is_empty() {
        return Ok(());
    }
    // Not even config keys are allowed here.
    let errors: ParamErrors = extra
        .keys()
        .map(|k| (k.clone(), crate::perm::NOT_IN_SCHEMA.to_owned()))
        .collect();
    Err(Reply::params(&errors))
}

fn parse_vmid(key: &str, text: &str) -> Result<u32, Reply> {
    match text.parse::<u32>() {
        Ok(v) if (100..=999_999_999).contains(&v) && !text.starts_with('0') => Ok(v),
        Ok(_) => Err(params_err(
            key,
            "invalid format - value does not look like a valid VM ID",
        )),
        Err(_) => Err(params_err(
            key,
            format!("type check ('integer') failed - got '{text}'"),
        )),
    }
}

/// The `delete` list (commas, semicolons and white space separate, as pve-common's split_list).
fn split_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `--key value` pairs in byte order of the names.
fn option_argv(params: &BTreeMap<String, String>, skip: &[&str]) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
        .collect()
}

/// The main section of a conf as key -> value (the description decoded), and its raw
/// `lxc.*` pairs in file order. With `pending`, the `[pve:pending]` values and deletes are
/// applied first, as `GET .../config` does unless `current=1`.
fn conf_view(text: &str, pending: bool) -> (BTreeMap<String, String>, Vec<(String, String)>) {
    let conf = CtConf::parse(text).conf;
    let main = conf.main();
    let mut map: BTreeMap<String, String> = main
        .entries()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut description = main.description();
    if let Some(p) = conf.pending().filter(|_| pending) {
        for (k, v) in p.entries().filter(|(k, _)| *k != "delete") {
            map.insert(k.to_owned(), v.to_owned());
        }
        if let Some(d) = p.description() {
            description = Some(d);
        }
        for d in p.deletes() {
            let key = d.trim_start_matches('!');
            map.remove(key);
            if key == "description" {
                description = None;
            }
        }
    }
    if let Some(d) = description {
        map.insert("description".into(), d);
    }
    let lxc = main
        .lxc()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    (map, lxc)
}

/// A disk size (`8G`, `512M`, bare GiB numbers as pct takes them) in bytes.
fn size_bytes(text: &str) -> Option<u64> {
    let (num, unit) = text.split_at(
        text.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .len(),
    );
    let n: f64 = num.parse().ok()?;
    let mul = match unit {
        "" | "G" => 1u64 << 30,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "T" => 1 << 40,
        _ => return None,
    };
    Some((n * mul as f64) as u64)
}

fn rootfs_size(conf: &BTreeMap<String, String>) -> u64 {
    conf.get("rootfs")
        .and_then(|r| {
            r.split(',')
                .find_map(|i| i.strip_prefix("size="))
                .and_then(size_bytes)
        })
        .unwrap_or(4 << 30)
}

fn num(conf: &BTreeMap<String, String>, key: &str, default: u64) -> u64 {
    conf.get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One CT as the listing endpoints see it.
#[derive(Debug, Clone)]
struct CtInfo {
    vmid: u32,
    node: NodeName,
    running: bool,
    conf: BTreeMap<String, String>,
}

impl CtInfo {
    fn name(&self) -> String {
        self.conf
            .get("hostname")
            .cloned()
            .unwrap_or_else(|| format!("CT{}", self.vmid))
    }
    fn template(&self) -> u64 {
        u64::from(self.conf.get("template").is_some_and(|t| t == "1"))
    }
    fn maxmem(&self) -> u64 {
        num(&self.conf, "memory", 512) << 20
    }
    fn cores(&self) -> u64 {
        num(&self.conf, "cores", 1)
    }
    fn status(&self) -> &'static str {
        if self.running { "running" } else { "stopped" }
    }
    fn resource(&self) -> Value {
        json!({
            "id": format!("lxc/{}", self.vmid),
            "type": "lxc",
            "vmid": self.vmid,
            "node": self.node.as_str(),
            "status": self.status(),
            "name": self.name(),
            "template": self.template(),
            "maxmem": self.maxmem(),
            "mem": 0,
            "maxcpu": self.cores(),
            "cpu": 0,
            "maxdisk": rootfs_size(&self.conf),
            "disk": 0,
            "uptime": 0,
        })
    }
}

fn host_cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

fn host_mem() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(8 << 30, |kb| kb << 10)
}

impl Emulator {
    /// An emulator serving `cfg`.
    pub fn new(cfg: Config) -> Arc<Self> {
        Arc::new(Emulator {
            cfg,
            tasks: Tasks::default(),
            reserved: Mutex::default(),
            replication: Mutex::new(()),
            log: Mutex::new(()),
        })
    }

    /// The cluster it serves.
    pub fn cluster(&self) -> &Cluster {
        &self.cfg.cluster
    }

    /// Replicates `/etc/pve` (errors are printed: a request is answered anyway).
    pub fn replicate(&self) {
        let _g = self.replication.lock().expect("replication");
        if let Err(e) = self.cfg.cluster.replicate() {
            eprintln!("pve-api-emulator: replication: {e}");
        }
    }

    /// Answers one request (after the injected latency) and logs it.
    pub fn handle(self: &Arc<Self>, req: &Request) -> Reply {
        if !self.cfg.faults.latency.is_zero() {
            std::thread::sleep(self.cfg.faults.latency);
        }
        let reply = match self.authenticate(req) {
            Ok(()) => {
                self.replicate();
                self.route(req).unwrap_or_else(|e| e)
            }
            Err(e) => e,
        };
        self.log_request(&req.method, &req.path, reply.status);
        reply
    }

    /// Appends `METHOD PATH STATUS` to the request log (no query, header or body).
    pub fn log_request(&self, method: &str, path: &str, status: u16) {
        let Some(path_log) = &self.cfg.request_log else {
            return;
        };
        let _g = self.log.lock().expect("log");
        let line = format!("{method} {path} {status}\n");
        let r = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path_log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = r {
            eprintln!("pve-api-emulator: {}: {e}", path_log.display());
        }
    }

    fn authenticate(&self, req: &Request) -> Result<(), Reply> {
        let fail = || Reply::error(401, "authentication failure");
        let header = req.authorization.as_deref().ok_or_else(fail)?;
        let token = header.strip_prefix("PVEAPIToken=").ok_or_else(fail)?;
        let (id, secret) = token.split_once('=').ok_or_else(fail)?;
        let ok_id = id == self.cfg.token_id.as_str();
        let ok_secret = self.cfg.secret.matches(secret);
        if ok_id && ok_secret {
            Ok(())
        } else {
            Err(fail())
        }
    }

    fn user(&self) -> &str {
        self.cfg.token_id.as_str()
    }

    fn node(&self, name: &str) -> Result<NodeName, Reply> {
        self.cfg.cluster.node(name).cloned().ok_or_else(|| {
            Reply::error(
                500,
                format!("hostname lookup '{name}' failed - failed to get address info for: {name}: Name or service not known"),
            )
        })
    }

    fn route(self: &Arc<Self>, req: &Request) -> Res {
        let not_impl = || {
            Reply::error(
                501,
                format!("Method '{} {}' not implemented", req.method, req.path),
            )
        };
        let Some(rest) = req.path.strip_prefix("/api2/json") else {
            return Err(not_impl());
        };
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let m = req.method.as_str();
        match (m, segs.as_slice()) {
            ("GET", ["version"]) => Ok(Reply::data(json!({
                "version": "8.2.4",
                "release": "8.2",
                "repoid": "faa83925c9641325",
            }))),
            ("GET", ["cluster", "resources"]) => self.resources(req),
            ("GET", ["cluster", "nextid"]) => self.nextid(req),
            ("GET", ["nodes"]) => Ok(Reply::data(Value::Array(
                self.cfg
                    .cluster
                    .nodes()
                    .iter()
                    .map(|n| json!({"node": n.as_str(), "status": "online", "type": "node", "id": format!("node/{n}")}))
                    .collect(),
            ))),
            (_, ["nodes", node, tail @ ..]) => {
                let node = self.node(node)?;
                self.node_route(req, &node, tail).unwrap_or_else(|| Err(not_impl()))
            }
            _ => Err(not_impl()),
        }
    }

    fn node_route(self: &Arc<Self>, req: &Request, node: &NodeName, tail: &[&str]) -> Option<Res> {
        let m = req.method.as_str();
        Some(match (m, tail) {
            ("GET", ["lxc"]) => self.list_node(node),
            ("POST", ["lxc"]) => self.create(req, node),
            ("GET", ["tasks", upid, "status"]) => {
                self.task(node, upid).map(|t| Reply::data(t.status_json()))
            }
            ("GET", ["tasks", upid, "log"]) => self.task_log(req, node, upid),
            (_, ["lxc", vmid, rest @ ..]) => {
                let vmid = match parse_vmid("vmid", vmid) {
                    Ok(v) => v,
                    Err(e) => return Some(Err(e)),
                };
                return self.ct_route(req, node, vmid, rest);
            }
            _ => return None,
        })
    }

    fn ct_route(
        self: &Arc<Self>,
        req: &Request,
        node: &NodeName,
        vmid: u32,
        tail: &[&str],
    ) -> Option<Res> {
        let m = req.method.as_str();
        Some(match (m, tail) {
            ("GET", []) => self.existing(node, vmid).map(|_| {
                Reply::data(json!([{"subdir":"config"},{"subdir":"status"},{"subdir":"snapshot"},{"subdir":"clone"},{"subdir":"template"}]))
            }),
            ("DELETE", []) => self.destroy(req, node, vmid),
            ("GET", ["config"]) => self.get_config(req, node, vmid),
            ("PUT", ["config"]) => self.set_config(req, node, vmid),
            ("GET", ["status", "current"]) => self.status_current(node, vmid),
            ("POST", ["status", action @ ("start" | "stop" | "shutdown")]) => {
                self.power(req, node, vmid, action)
            }
            ("POST", ["clone"]) => self.clone_ct(req, node, vmid),
            ("POST", ["template"]) => self.simple_task(req, node, vmid, "vztemplate", &[], |_| vec!["template".into(), vmid.to_string()]),
            ("GET", ["snapshot"]) => self.list_snapshots(node, vmid),
            ("POST", ["snapshot"]) => self.snapshot(req, node, vmid),
            _ => return None,
        })
    }

    // ---------------------------------------------------------------- helpers

    /// The bytes of node `node`'s own conf of `vmid`, or Proxmox's error.
    fn existing(&self, node: &NodeName, vmid: u32) -> Result<Vec<u8>, Reply> {
        std::fs::read(self.cfg.cluster.own_conf(node, vmid)).map_err(|_| {
            Reply::error(
                500,
                format!("Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist"),
            )
        })
    }

    fn lock_fault(&self, vmid: u32) -> Result<(), Reply> {
        if self.cfg.faults.take_lock_fail() {
            return Err(Reply::error(500, lock_timeout_message(&vmid.to_string())));
        }
        Ok(())
    }

    /// Checks `vmid` is used nowhere in the cluster and reserves it for `node`.
    fn reserve(&self, vmid: u32, node: &NodeName) -> Result<(), Reply> {
        let mut r = self.reserved.lock().expect("reserved");
        let owner = self
            .cfg
            .cluster
            .owner(vmid)
            .or_else(|| r.get(&vmid).cloned());
        if let Some(owner) = owner {
            return Err(Reply::error(
                500,
                format!("CT {vmid} already exists on node '{owner}'"),
            ));
        }
        r.insert(vmid, node.clone());
        Ok(())
    }

    fn release(&self, vmid: u32) {
        self.reserved.lock().expect("reserved").remove(&vmid);
    }

    fn running(&self, node: &NodeName, vmid: u32) -> bool {
        let out = Command::new(&self.cfg.pct)
            .args(["status", &vmid.to_string()])
            .env("PHOENIX_ROOT", self.cfg.cluster.node_root(node))
            .env_remove("PCT_EMU_FAIL")
            .env_remove("PCT_EMU_LATENCY_MS")
            .env_remove("PCT_EMU_LOG")
            .stdin(Stdio::null())
            .output();
        out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "status: running")
    }

    fn cts(&self, only_node: Option<&NodeName>) -> Vec<CtInfo> {
        self.cfg
            .cluster
            .vmlist()
            .into_iter()
            .filter(|(_, n)| only_node.is_none_or(|o| o == n))
            .filter_map(|(vmid, node)| {
                let text = std::fs::read_to_string(self.cfg.cluster.own_conf(&node, vmid)).ok()?;
                let (conf, _) = conf_view(&text, false);
                let running =
                    conf.get("template").is_none_or(|t| t != "1") && self.running(&node, vmid);
                Some(CtInfo {
                    vmid,
                    node,
                    running,
                    conf,
                })
            })
            .collect()
    }

    /// Starts a task on `node` that runs `pct argv` (unless an injected fault ends it
    /// first) and releases `reserved` when it ends.
    fn spawn(
        self: &Arc<Self>,
        node: &NodeName,
        kind: &str,
        id: u32,
        fault_ids: &[u32],
        argv: Vec<String>,
        reserved: Option<u32>,
    ) -> Reply {
        let task = self
            .tasks
            .start(node.as_str(), kind, &id.to_string(), self.user());
        let upid = task.upid().to_string();
        let me = Arc::clone(self);
        let node = node.clone();
        let ids: Vec<String> = fault_ids.iter().map(u32::to_string).collect();
        let kind = kind.to_owned();
        std::thread::spawn(move || {
            let idrefs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let exit = if kind == "vzclone" && me.cfg.faults.take_task_locked() {
                task_log(&task, &["CT is locked (disk)"]);
                "CT is locked (disk)".to_owned()
            } else if me.cfg.faults.fails_task(&kind, &idrefs) {
                injected_failure(&task, &kind, id)
            } else {
                let zero_exit_errors = argv.first().is_some_and(|c| c == "template");
                let root = me.cfg.cluster.node_root(&node);
                run_logged(&task, &me.cfg.pct, &argv, &root, zero_exit_errors)
            };
            if let Some(v) = reserved {
                me.release(v);
            }
            me.replicate();
            task.finish(exit);
        });
        Reply::data(json!(upid))
    }

    fn task(&self, node: &NodeName, upid: &str) -> Result<Arc<Task>, Reply> {
        self.tasks
            .get(node.as_str(), upid)
            .ok_or_else(|| Reply::error(500, format!("no such task '{upid}'")))
    }

    // ---------------------------------------------------------------- endpoints

    fn resources(&self, req: &Request) -> Res {
        only(req, &["type"])?;
        let kind = req.params.get("type").map(String::as_str);
        if let Some(k) = kind.filter(|k| !["vm", "node", "storage"].contains(k)) {
            return Err(params_err(
                "type",
                format!(
                    "value '{k}' does not have a value in the enumeration 'vm, storage, node, sdn'"
                ),
            ));
        }
        let want = |k: &str| kind.is_none_or(|w| w == k);
        let cts = self.cts(None);
        let mut out = Vec::new();
        if want("node") {
            let (cpus, mem) = (host_cpus(), host_mem());
            for n in self.cfg.cluster.nodes() {
                let running: Vec<&CtInfo> =
                    cts.iter().filter(|c| &c.node == n && c.running).collect();
                let used_mem: u64 = running.iter().map(|c| c.maxmem()).sum();
                let used_cpu: u64 = running.iter().map(|c| c.cores()).sum();
                out.push(json!({
                    "id": format!("node/{n}"),
                    "type": "node",
                    "node": n.as_str(),
                    "status": "online",
                    "maxcpu": cpus,
                    "cpu": (used_cpu as f64 / cpus as f64).min(1.0),
                    "maxmem": mem,
                    "mem": used_mem.min(mem),
                    "uptime": 0,
                }));
            }
        }
        if want("storage") {
            for n in self.cfg.cluster.nodes() {
                let root = pct_emulator::root::HostRoot::new(self.cfg.cluster.node_root(n));
                let Ok(storages) = pct_emulator::storage::Storages::load(&root) else {
                    continue;
                };
                for s in storages.all().iter().filter(|s| !s.disabled) {
                    out.push(json!({
                        "id": format!("storage/{n}/{}", s.id),
                        "type": "storage",
                        "node": n.as_str(),
                        "storage": s.id,
                        "plugintype": s.kind.name(),
                        "content": s.content.join(","),
                        "shared": 0,
                        "status": "available",
                    }));
                }
            }
        }
        if want("vm") {
            out.extend(cts.iter().map(CtInfo::resource));
        }
        Ok(Reply::data(Value::Array(out)))
    }

    fn nextid(&self, req: &Request) -> Res {
        only(req, &["vmid"])?;
        let used = self.cfg.cluster.vmlist();
        let reserved = self.reserved.lock().expect("reserved").clone();
        let taken = |v: u32| used.contains_key(&v) || reserved.contains_key(&v);
        if let Some(v) = req.params.get("vmid") {
            let v = parse_vmid("vmid", v)?;
            if taken(v) {
                return Err(params_err("vmid", format!("VM {v} already exists")));
            }
            return Ok(Reply::data(json!(v.to_string())));
        }
        let next = (100..).find(|v| !taken(*v)).expect("a free id");
        Ok(Reply::data(json!(next.to_string())))
    }

    fn list_node(&self, node: &NodeName) -> Res {
        let list: Vec<Value> = self
            .cts(Some(node))
            .iter()
            .map(|c| {
                let mut v = json!({
                    "vmid": c.vmid,
                    "status": c.status(),
                    "name": c.name(),
                    "type": "lxc",
                    "maxmem": c.maxmem(),
                    "maxdisk": rootfs_size(&c.conf),
                    "cpus": c.cores(),
                    "uptime": 0,
                });
                if c.template() == 1 {
                    v["template"] = json!(1);
                }
                v
            })
            .collect();
        Ok(Reply::data(Value::Array(list)))
    }

    fn create(self: &Arc<Self>, req: &Request, node: &NodeName) -> Res {
        verify_params(&req.params, CREATE_EXTRA, &["vmid", "ostemplate"])
            .map_err(|e| Reply::params(&e))?;
        let vmid = parse_vmid("vmid", &req.params["vmid"])?;
        let config: BTreeMap<String, String> = req
            .params
            .iter()
            .filter(|(k, _)| !CREATE_EXTRA.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let unprivileged = config
            .get("unprivileged")
            .and_then(|v| phoenix_pveconf::conf::parse_bool(v))
            .unwrap_or(false);
        if let Some(what) = root_only(None, &config, &[], unprivileged) {
            return Err(Reply::forbidden(&what));
        }
        self.lock_fault(vmid)?;
        self.reserve(vmid, node)?;
        let mut argv = vec![
            "create".to_owned(),
            vmid.to_string(),
            req.params["ostemplate"].clone(),
        ];
        argv.extend(option_argv(&req.params, &["vmid", "ostemplate"]));
        Ok(self.spawn(node, "vzcreate", vmid, &[vmid], argv, Some(vmid)))
    }

    fn get_config(&self, req: &Request, node: &NodeName, vmid: u32) -> Res {
        only(req, &["current", "snapshot"])?;
        let bytes = self.existing(node, vmid)?;
        let text = String::from_utf8_lossy(&bytes);
        let current = req.params.get("current").is_some_and(|c| c == "1");
        let text = match req.params.get("snapshot") {
            // a snapshot's values: its section rendered as a conf of its own
            Some(name) => {
                let conf = CtConf::parse(&text).conf;
                let Some(section) = conf.snapshot(name) else {
                    return Err(Reply::error(
                        500,
                        format!("snapshot '{name}' does not exist"),
                    ));
                };
                section
                    .entries()
                    .map(|(k, v)| format!("{k}: {v}\n"))
                    .chain(section.lxc().map(|(k, v)| format!("{k}: {v}\n")))
                    .collect::<String>()
                    .into()
            }
            None => text,
        };
        let (conf, lxc) = conf_view(&text, !current);
        let mut out = serde_json::Map::new();
        for (k, v) in conf {
            let value = match key_type(&k) {
                Some(KeyType::Integer | KeyType::Boolean) => v
                    .parse::<u64>()
                    .map(|n| json!(n))
                    .unwrap_or_else(|_| json!(v)),
                _ => json!(v),
            };
            out.insert(k, value);
        }
        if !lxc.is_empty() {
            out.insert(
                "lxc".into(),
                Value::Array(lxc.into_iter().map(|(k, v)| json!([k, v])).collect()),
            );
        }
        out.insert("digest".into(), json!(Digest::of(&bytes).to_string()));
        Ok(Reply::data(Value::Object(out)))
    }

    fn set_config(&self, req: &Request, node: &NodeName, vmid: u32) -> Res {
        verify_params(&req.params, SET_EXTRA, &[]).map_err(|e| Reply::params(&e))?;
        let bytes = self.existing(node, vmid)?;
        let (old, _) = conf_view(&String::from_utf8_lossy(&bytes), true);
        let delete = req
            .params
            .get("delete")
            .map(|d| split_list(d))
            .unwrap_or_default();
        let new: BTreeMap<String, String> = req
            .params
            .iter()
            .filter(|(k, _)| !SET_EXTRA.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let unprivileged = old.get("unprivileged").is_some_and(|v| v == "1");
        if let Some(what) = root_only(Some(&old), &new, &delete, unprivileged) {
            return Err(Reply::forbidden(&what));
        }
        self.lock_fault(vmid)?;
        let mut argv = vec!["set".to_owned(), vmid.to_string()];
        argv.extend(option_argv(&req.params, &[]));
        let out = Command::new(&self.cfg.pct)
            .args(&argv)
            .env("PHOENIX_ROOT", self.cfg.cluster.node_root(node))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Reply::error(500, format!("unable to run pct: {e}")))?;
        self.replicate();
        if out.status.success() {
            return Ok(Reply::data(Value::Null));
        }
        Err(pct_failure(&String::from_utf8_lossy(&out.stderr)))
    }

    fn status_current(&self, node: &NodeName, vmid: u32) -> Res {
        let bytes = self.existing(node, vmid)?;
        let (conf, _) = conf_view(&String::from_utf8_lossy(&bytes), false);
        let running = conf.get("template").is_none_or(|t| t != "1") && self.running(node, vmid);
        let c = CtInfo {
            vmid,
            node: node.clone(),
            running,
            conf,
        };
        let mut v = json!({
            "status": c.status(),
            "vmid": vmid,
            "name": c.name(),
            "type": "lxc",
            "maxmem": c.maxmem(),
            "maxdisk": rootfs_size(&c.conf),
            "cpus": c.cores(),
            "mem": 0,
            "cpu": 0,
            "uptime": 0,
        });
        if c.template() == 1 {
            v["template"] = json!(1);
        }
        if let Some(l) = c.conf.get("lock") {
            v["lock"] = json!(l);
        }
        Ok(Reply::data(v))
    }

    fn power(self: &Arc<Self>, req: &Request, node: &NodeName, vmid: u32, action: &str) -> Res {
        let allowed: &[&str] = match action {
            "shutdown" => &["timeout", "forceStop"],
            _ => &[],
        };
        let kind = format!("vz{action}");
        self.simple_task(req, node, vmid, &kind, allowed, |p| {
            let mut argv = vec![action.to_owned(), vmid.to_string()];
            argv.extend(option_argv(p, &[]));
            argv
        })
    }

    fn destroy(self: &Arc<Self>, req: &Request, node: &NodeName, vmid: u32) -> Res {
        self.simple_task(
            req,
            node,
            vmid,
            "vzdestroy",
            &["force", "purge", "destroy-unreferenced-disks"],
            |p| {
                let mut argv = vec!["destroy".to_owned(), vmid.to_string()];
                argv.extend(option_argv(p, &[]));
                argv
            },
        )
    }

    fn snapshot(self: &Arc<Self>, req: &Request, node: &NodeName, vmid: u32) -> Res {
        let Some(name) = req.params.get("snapname").cloned() else {
            return Err(params_err("snapname", crate::perm::MISSING));
        };
        self.simple_task(
            req,
            node,
            vmid,
            "vzsnapshot",
            &["snapname", "description"],
            |p| {
                let mut argv = vec!["snapshot".to_owned(), vmid.to_string(), name.clone()];
                argv.extend(option_argv(p, &["snapname"]));
                argv
            },
        )
    }

    /// A task on an existing CT whose only parameters are `allowed`.
    fn simple_task(
        self: &Arc<Self>,
        req: &Request,
        node: &NodeName,
        vmid: u32,
        kind: &str,
        allowed: &[&str],
        argv: impl FnOnce(&BTreeMap<String, String>) -> Vec<String>,
    ) -> Res {
        only(req, allowed)?;
        self.existing(node, vmid)?;
        self.lock_fault(vmid)?;
        let argv = argv(&req.params);
        Ok(self.spawn(node, kind, vmid, &[vmid], argv, None))
    }

    fn clone_ct(self: &Arc<Self>, req: &Request, node: &NodeName, vmid: u32) -> Res {
        only(req, CLONE_EXTRA)?;
        let Some(newid) = req.params.get("newid") else {
            return Err(params_err("newid", crate::perm::MISSING));
        };
        let newid = parse_vmid("newid", newid)?;
        let target = req
            .params
            .get("target")
            .filter(|t| t.as_str() != node.as_str() && t.as_str() != "localhost");
        if let Some(t) = target.filter(|t| self.cfg.cluster.node(t).is_none()) {
            return Err(Reply::error(500, format!("no such cluster node '{t}'")));
        }
        self.existing(node, vmid)?;
        if let Some(t) = target {
            // Every storage of the emulator is node-local (dir and zfspool), so a clone
            // to another node is always refused, as pve-container does for local storage.
            return Err(Reply::error(
                500,
                match req.params.get("storage") {
                    Some(s) => format!("can't clone to non-shared storage '{s}'"),
                    None => format!("can't clone CT to node '{t}' (CT uses local storage)"),
                },
            ));
        }
        self.lock_fault(vmid)?;
        self.reserve(newid, node)?;
        let mut argv = vec!["clone".to_owned(), vmid.to_string(), newid.to_string()];
        argv.extend(option_argv(&req.params, &["newid", "target"]));
        Ok(self.spawn(node, "vzclone", vmid, &[vmid, newid], argv, Some(newid)))
    }

    fn list_snapshots(&self, node: &NodeName, vmid: u32) -> Res {
        let bytes = self.existing(node, vmid)?;
        let text = String::from_utf8_lossy(&bytes);
        let conf = CtConf::parse(&text).conf;
        let mut out: Vec<Value> = conf
            .snapshots()
            .iter()
            .map(|s| {
                let mut v = json!({"name": s.name().unwrap_or_default()});
                if let Some(t) = s.get("snaptime").and_then(|t| t.parse::<u64>().ok()) {
                    v["snaptime"] = json!(t);
                }
                if let Some(d) = s.description() {
                    v["description"] = json!(d);
                }
                if let Some(p) = s.get("parent") {
                    v["parent"] = json!(p);
                }
                v
            })
            .collect();
        let mut current = json!({
            "name": "current",
            "description": "You are here!",
            "running": u8::from(self.running(node, vmid)),
            "digest": Digest::of(&bytes).to_string(),
        });
        if let Some(p) = conf.main().get("parent") {
            current["parent"] = json!(p);
        }
        out.push(current);
        Ok(Reply::data(Value::Array(out)))
    }

    fn task_log(&self, req: &Request, node: &NodeName, upid: &str) -> Res {
        only(req, &["start", "limit", "download"])?;
        let task = self.task(node, upid)?;
        let n = |k: &str, d: usize| -> Result<usize, Reply> {
            match req.params.get(k) {
                None => Ok(d),
                Some(v) => v.parse().map_err(|_| {
                    params_err(k, format!("type check ('integer') failed - got '{v}'"))
                }),
            }
        };
        let (lines, total) = task.log_json(n("start", 0)?, n("limit", 50)?);
        let mut reply = Reply::data(lines);
        reply.body["total"] = json!(total);
        Ok(reply)
    }
}

/// Appends `lines` to a task's log.
fn task_log(task: &Task, lines: &[&str]) {
    for l in lines {
        task.push_line(l);
    }
}

/// What an injected `PVE_API_EMU_FAIL_TASK` task logs: a few lines of progress, then the
/// error (returned as the exit status).
fn injected_failure(task: &Task, kind: &str, id: u32) -> String {
    let (progress, error): (&[&str], String) = match kind {
        "vzcreate" => (
            &["extracting archive", "Total bytes read: 0 (0B, 0B/s)"],
            format!("unable to create CT {id} - emulated failure (PVE_API_EMU_FAIL_TASK)"),
        ),
        "vzclone" => (
            &["create full clone of mountpoint rootfs"],
            "clone failed: emulated failure (PVE_API_EMU_FAIL_TASK)".to_owned(),
        ),
        "vzstart" => (
            &[
                "run_buffer: 571 Script exited with status 1",
                "lxc_init: 845 Failed to run lxc.hook.pre-start for container",
            ],
            format!("startup for container '{id}' failed"),
        ),
        _ => (
            &["emulated progress"],
            format!("command '{kind} {id}' failed: emulated failure (PVE_API_EMU_FAIL_TASK)"),
        ),
    };
    task_log(task, progress);
    task.push_line(&error);
    error
}

/// A failed synchronous pct call as Proxmox's HTTP answer: a parameter failure is 400
/// with its `param: message` lines, anything else 500 with the last stderr line.
fn pct_failure(stderr: &str) -> Reply {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some(i) = lines
        .iter()
        .position(|l| l.starts_with("400 Parameter verification failed."))
    {
        let errors: ParamErrors = lines[i + 1..]
            .iter()
            .filter_map(|l| l.split_once(": "))
            .filter(|(k, _)| !k.contains(' '))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        return Reply::params(&errors);
    }
    Reply::error(
        500,
        lines.last().copied().unwrap_or("pct failed").to_owned(),
    )
}

/// `BTreeSet` of the vmids in a listing (for tests and callers that compare).
pub fn vmids(list: &Value) -> BTreeSet<u64> {
    list.as_array()
        .map(|a| a.iter().filter_map(|v| v["vmid"].as_u64()).collect())
        .unwrap_or_default()
}

/// The pct emulator next to the running executable (`--pct` default).
pub fn default_pct() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("pct")))
        .unwrap_or_else(|| Path::new("pct").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_view_splits_keys_description_and_lxc_lines() {
        let (map, lxc) = conf_view(
            "#hello%20world\narch: amd64\nmemory: 64\nswap: 0\nlxc.idmap: u 0 100000 65536\nlxc.idmap: g 0 100000 65536\n\n[pve:pending]\nmemory: 128\ndelete: swap\n\n[snap]\nmemory: 32\n",
            false,
        );
        assert_eq!(map["memory"], "64");
        assert_eq!(map["description"], "hello world\n");
        assert!(!map.contains_key("lxc.idmap"));
        assert_eq!(lxc.len(), 2);
        assert_eq!(lxc[1], ("lxc.idmap".into(), "g 0 100000 65536".into()));
        assert_eq!(map["swap"], "0");
        let text = "memory: 64\nswap: 0\n\n[pve:pending]\nmemory: 128\ndelete: swap\n";
        let (map, _) = conf_view(text, true);
        assert_eq!(map["memory"], "128");
        assert!(!map.contains_key("swap"));
    }

    #[test]
    fn pct_failures_map_to_http_answers() {
        let r = pct_failure(
            "400 Parameter verification failed.\nmemory: type check ('integer') failed - got 'x'\nUSAGE: pct set <vmid> [OPTIONS]\n",
        );
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body["errors"]["memory"],
            "type check ('integer') failed - got 'x'"
        );
        let r = pct_failure(
            "detected modified configuration - file changed by other user? Try again.\n",
        );
        assert_eq!(r.status, 500);
        assert_eq!(
            r.reason,
            "detected modified configuration - file changed by other user? Try again."
        );
    }

    #[test]
    fn sizes_and_lists() {
        assert_eq!(size_bytes("8G"), Some(8 << 30));
        assert_eq!(size_bytes("512M"), Some(512 << 20));
        assert_eq!(size_bytes("1"), Some(1 << 30));
        assert_eq!(split_list("a,b;c d"), ["a", "b", "c", "d"]);
        let mut p = BTreeMap::new();
        p.insert("onboot".to_owned(), "1".to_owned());
        p.insert("cores".to_owned(), "2".to_owned());
        assert_eq!(option_argv(&p, &[]), ["--cores", "2", "--onboot", "1"]);
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let s = TokenSecret::new("s3cr3t".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert!(s.matches("s3cr3t"));
        assert!(!s.matches("s3cr3"));
    }
}
