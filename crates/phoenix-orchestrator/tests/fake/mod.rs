//! A scripted Proxmox node for tests without root or LXC: `pct` and `pvesm` answered by
//! a `RecordingRunner` from an in-memory state (confs written under a temporary root,
//! as Proxmox writes them to /etc/pve), and a host file system that keeps owners in
//! memory (a chown to 100000 needs root).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_orchestrator::hostfs::{HostFs, PathMeta, RealFs};
use phoenix_orchestrator::idmap::{IdKind, IdMap};
use phoenix_orchestrator::pct::{Invocation, Output, Pattern, RecordingRunner};
use phoenix_orchestrator::pveconf::conf::CtConf;

/// A container of the fake node.
#[derive(Debug, Clone, Default)]
pub struct FakeCt {
    pub running: bool,
    pub snapshots: Vec<String>,
    /// Files pushed into it (and the ledger).
    pub files: BTreeMap<String, Vec<u8>>,
    /// Debian packages installed by the (emulated) feature scripts.
    pub packages: std::collections::BTreeSet<String>,
    /// The docker service runs.
    pub docker_active: bool,
    /// How often docker was restarted.
    pub docker_restarts: u32,
    /// Feature scripts run, by name.
    pub scripts: Vec<String>,
}

/// The fake node's state.
#[derive(Debug, Default)]
pub struct State {
    pub cts: BTreeMap<u32, FakeCt>,
    /// `subcommand -> n`: the n-th call of that subcommand fails.
    pub fail: Option<(String, usize)>,
    pub calls: BTreeMap<String, usize>,
    pub macs: u32,
    /// Applied to a conf file (id, from, to) when `pvesm status` is called, which
    /// happens while a plan is made: the guest changes between plan and apply.
    pub edit_on_pvesm: Option<(u32, String, String)>,
    /// A feature script (`docker.sh`) that fails with exit 1.
    pub fail_script: Option<String>,
}

/// Owners kept in memory over real directories.
#[derive(Debug, Default)]
pub struct FakeFs {
    pub owners: Mutex<BTreeMap<Utf8PathBuf, (u32, u32)>>,
    pub files: Mutex<BTreeMap<Utf8PathBuf, (u32, u32)>>,
}

impl HostFs for FakeFs {
    fn stat(&self, path: &Utf8Path) -> io::Result<Option<PathMeta>> {
        if let Some((uid, gid)) = self.files.lock().unwrap().get(path) {
            return Ok(Some(PathMeta {
                is_dir: false,
                uid: *uid,
                gid: *gid,
                mode: 0o644,
            }));
        }
        let Some(mut m) = RealFs.stat(path)? else {
            return Ok(None);
        };
        if let Some((u, g)) = self.owners.lock().unwrap().get(path) {
            m.uid = *u;
            m.gid = *g;
        }
        Ok(Some(m))
    }
    fn create_dir(&self, path: &Utf8Path, mode: u32) -> io::Result<()> {
        RealFs.create_dir(path, mode)
    }
    fn chmod(&self, path: &Utf8Path, mode: u32) -> io::Result<()> {
        RealFs.chmod(path, mode)
    }
    fn chown(&self, path: &Utf8Path, uid: u32, gid: u32) -> io::Result<()> {
        self.owners
            .lock()
            .unwrap()
            .insert(path.to_owned(), (uid, gid));
        Ok(())
    }
    fn remove_file(&self, path: &Utf8Path) -> io::Result<()> {
        self.files.lock().unwrap().remove(path);
        Ok(())
    }
}

/// The fake node: its runner, state, file system and root.
pub struct Node {
    pub runner: RecordingRunner,
    pub state: Arc<Mutex<State>>,
    pub fs: Arc<FakeFs>,
    pub root: Utf8PathBuf,
    _dir: tempfile::TempDir,
}

fn args(inv: &Invocation) -> Vec<String> {
    inv.arguments()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn conf_path(root: &Utf8Path, id: u32) -> PathBuf {
    root.join(format!("etc/pve/lxc/{id}.conf"))
        .into_std_path_buf()
}

fn read_conf(root: &Utf8Path, id: u32) -> Option<CtConf> {
    let text = std::fs::read_to_string(conf_path(root, id)).ok()?;
    Some(CtConf::parse(&text).conf)
}

fn write_conf(root: &Utf8Path, id: u32, conf: &CtConf) {
    let p = conf_path(root, id);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, conf.render()).unwrap();
}

/// `--key value` pairs after the positional arguments.
fn options(rest: &[String]) -> Vec<(String, String)> {
    rest.chunks(2)
        .filter_map(|c| Some((c[0].strip_prefix("--")?.to_owned(), c.get(1)?.clone())))
        .collect()
}

fn map_of(conf: &CtConf) -> IdMap {
    phoenix_orchestrator::pveconf::idmap::from_conf(conf).unwrap()
}

/// Container id of host id `host` under `map` (the kernel's inverse).
fn to_ct(map: &IdMap, kind: IdKind, host: u32) -> u32 {
    if !map.is_user_namespaced() {
        return host;
    }
    map.entries()
        .iter()
        .filter(|e| e.kind == kind)
        .find(|e| host >= e.host_start && host - e.host_start < e.count)
        .map(|e| e.ns_start + (host - e.host_start))
        .unwrap_or(65534)
}

fn ok(s: impl Into<String>) -> Result<Output, phoenix_orchestrator::pct::RunError> {
    Ok(Output::ok(s.into().into_bytes()))
}

fn failed(code: i32, s: &str) -> Result<Output, phoenix_orchestrator::pct::RunError> {
    Ok(Output::failed(code, s.as_bytes().to_vec()))
}

impl Node {
    pub fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_owned()).unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let fs = Arc::new(FakeFs::default());
        let (st, r) = (state.clone(), root.clone());
        let runner = RecordingRunner::new()
            .answer_with(Pattern::prefix(["pvesm", "status"]), move |_| {
                if let Some((id, from, to)) = st.lock().unwrap().edit_on_pvesm.take() {
                    let p = conf_path(&r, id);
                    let text = std::fs::read_to_string(&p).unwrap();
                    std::fs::write(&p, text.replacen(&from, &to, 1)).unwrap();
                }
                ok("Name             Type     Status           Total            Used       Available        %\n\
                    local             dir     active        98497780        10365212        83083020   10.52%\n\
                    local-zfs     zfspool     active       436907564        93421120       343486444   21.38%\n")
            })
            .answer(Pattern::prefix(["apparmor_parser"]), Output::ok(Vec::new()));
        let (st, r, f) = (state.clone(), root.clone(), fs.clone());
        let runner = runner.answer_with(Pattern::prefix(["pct"]), move |inv| {
            pct(&st, &r, &f, &args(inv))
        });
        Node {
            runner,
            state,
            fs,
            root,
            _dir: dir,
        }
    }

    /// Makes the `n`-th call of `sub` fail.
    pub fn fail(&self, sub: &str, n: usize) {
        let mut s = self.state.lock().unwrap();
        s.fail = Some((sub.to_owned(), n));
        s.calls.clear();
    }

    /// Every conf, every container's status and snapshots, every owner: what a run
    /// leaves behind.
    pub fn snapshot_state(&self) -> String {
        let s = self.state.lock().unwrap();
        let mut out = String::new();
        for (id, ct) in &s.cts {
            let conf = std::fs::read_to_string(conf_path(&self.root, *id)).unwrap_or_default();
            let conf: String = conf
                .lines()
                .filter(|l| !l.starts_with("snaptime") && !l.contains("hwaddr"))
                .collect::<Vec<_>>()
                .join("\n");
            out.push_str(&format!(
                "== CT {id} running={} snapshots={:?} files={:?} packages={:?} docker_active={}\n{conf}\n",
                ct.running,
                ct.snapshots,
                ct.files.keys().collect::<Vec<_>>(),
                ct.packages,
                ct.docker_active,
            ));
        }
        for (p, o) in self.fs.owners.lock().unwrap().iter() {
            out.push_str(&format!(
                "owner {} {}:{}\n",
                p.strip_prefix(&self.root).unwrap(),
                o.0,
                o.1
            ));
        }
        out
    }
}

fn pct(
    st: &Mutex<State>,
    root: &Utf8Path,
    fs: &FakeFs,
    a: &[String],
) -> Result<Output, phoenix_orchestrator::pct::RunError> {
    let mut s = st.lock().unwrap();
    let sub = a.first().cloned().unwrap_or_default();
    let n = {
        let c = s.calls.entry(sub.clone()).or_default();
        *c += 1;
        *c
    };
    if s.fail.as_ref().is_some_and(|(f, k)| *f == sub && *k == n) {
        return failed(255, &format!("injected failure of pct {sub}\n"));
    }
    let id: u32 = a.get(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    match sub.as_str() {
        "list" => {
            let mut out = String::from("VMID       Status     Lock         Name                \n");
            for (id, ct) in &s.cts {
                let name = read_conf(root, *id)
                    .and_then(|c| c.main().hostname().map(str::to_owned))
                    .unwrap_or_default();
                let status = if ct.running { "running" } else { "stopped" };
                out.push_str(&format!("{id:<10} {status:<10} {:<12} {name}\n", ""));
            }
            ok(out)
        }
        "config" => match read_conf(root, id) {
            Some(c) => {
                let mut main = CtConf::new();
                for (k, v) in c.main().entries() {
                    let _ = main.set(k, v);
                }
                for (k, v) in c.main().lxc() {
                    let _ = main.add_lxc(k, v);
                }
                ok(main.render())
            }
            None => failed(
                2,
                &format!("Configuration file 'nodes/pve/lxc/{id}.conf' does not exist\n"),
            ),
        },
        "status" => match s.cts.get(&id) {
            Some(ct) => ok(format!(
                "status: {}\n",
                if ct.running { "running" } else { "stopped" }
            )),
            None => failed(
                2,
                &format!("Configuration file 'nodes/pve/lxc/{id}.conf' does not exist\n"),
            ),
        },
        "listsnapshot" => {
            let ct = s.cts.get(&id).cloned().unwrap_or_default();
            let mut out = String::new();
            for (i, name) in ct.snapshots.iter().enumerate() {
                out.push_str(&format!(
                    "{}`-> {name:<20} 2026-12-01 10:00:00     no-description\n",
                    " ".repeat(i)
                ));
            }
            out.push_str(&format!(
                "{}`-> current                                  You are here!\n",
                " ".repeat(ct.snapshots.len())
            ));
            ok(out)
        }
        "create" => {
            let mut conf = CtConf::new();
            let _ = conf.set("arch", "amd64");
            let mut opts = options(&a[3..]);
            opts.sort();
            for (k, v) in opts {
                let v = if k == "rootfs" {
                    v.replace(":1", &format!(":subvol-{id}-disk-0,size=1G"))
                } else if k.starts_with("net") && !v.contains("hwaddr=") {
                    s.macs += 1;
                    format!("{v},hwaddr=BC:24:11:00:00:{:02X}", s.macs)
                } else {
                    v
                };
                let _ = conf.set(&k, &v);
            }
            write_conf(root, id, &conf);
            s.cts.insert(id, FakeCt::default());
            ok("")
        }
        "clone" => {
            let new: u32 = a[2].parse().unwrap();
            let src = read_conf(root, id).expect("clone source");
            let mut conf = CtConf::new();
            for (k, v) in src.main().entries() {
                if k == "template" {
                    continue;
                }
                let v = if k.starts_with("net") {
                    s.macs += 1;
                    let kept: Vec<&str> =
                        v.split(',').filter(|p| !p.starts_with("hwaddr=")).collect();
                    format!("{},hwaddr=BC:24:11:00:01:{:02X}", kept.join(","), s.macs)
                } else {
                    v.to_owned()
                };
                let _ = conf.set(k, &v);
            }
            for (k, v) in src.main().lxc() {
                let _ = conf.add_lxc(k, v);
            }
            for (k, v) in options(&a[3..]) {
                if k == "hostname" {
                    let _ = conf.set("hostname", &v);
                }
            }
            write_conf(root, new, &conf);
            s.cts.insert(new, FakeCt::default());
            ok("")
        }
        "set" => {
            let mut conf = read_conf(root, id).expect("set on an existing CT");
            for (k, v) in options(&a[2..]) {
                if k == "delete" {
                    for d in v.split(',') {
                        conf.remove(d);
                    }
                } else {
                    let _ = conf.set(&k, &v);
                }
            }
            write_conf(root, id, &conf);
            ok("")
        }
        "start" => {
            s.cts.get_mut(&id).unwrap().running = true;
            ok("")
        }
        "stop" | "shutdown" => {
            s.cts.get_mut(&id).unwrap().running = false;
            ok("")
        }
        "push" => {
            // Host paths are under the root, as pct (the emulator) resolves them.
            let data =
                std::fs::read(root.join(a[2].trim_start_matches('/'))).expect("pushed file exists");
            s.cts.get_mut(&id).unwrap().files.insert(a[3].clone(), data);
            ok("")
        }
        "snapshot" => {
            s.cts.get_mut(&id).unwrap().snapshots.push(a[2].clone());
            // Proxmox keeps a snapshot as a `[name]` section of the conf.
            let mut conf = read_conf(root, id).unwrap();
            conf.snapshot_mut(&a[2])
                .unwrap()
                .set("snaptime", "1764583200")
                .unwrap();
            write_conf(root, id, &conf);
            ok("")
        }
        "exec" => {
            let conf = read_conf(root, id).unwrap();
            let map = map_of(&conf);
            let cmd: Vec<&str> = a[3..].iter().map(String::as_str).collect();
            let host_of = |ct_path: &str| -> Option<Utf8PathBuf> {
                let mps = conf.main().mount_points().ok()?;
                mps.iter().find_map(|(_, m)| {
                    let rest = ct_path.strip_prefix(m.mp.trim_end_matches('/'))?;
                    Some(
                        root.join(m.volume.trim_start_matches('/'))
                            .join(rest.trim_start_matches('/')),
                    )
                })
            };
            let mut run = |cmd: &[&str]| match cmd {
                ["cat", f] if f.ends_with("uid_map") || f.ends_with("gid_map") => {
                    let kind = if f.ends_with("uid_map") {
                        IdKind::Uid
                    } else {
                        IdKind::Gid
                    };
                    let lines: Vec<String> =
                        phoenix_orchestrator::idmap::proc_map::expected(&map, kind)
                            .iter()
                            .map(|l| {
                                format!("{:>10} {:>10} {:>10}", l.ns_start, l.host_start, l.count)
                            })
                            .collect();
                    ok(lines.join("\n") + "\n")
                }
                ["cat", f] => match s.cts.get(&id).and_then(|c| c.files.get(*f)) {
                    Some(b) => Ok(Output::ok(b.clone())),
                    None => failed(1, &format!("cat: {f}: No such file or directory\n")),
                },
                ["mkdir", "-p", _] | ["mkdir", "-p", "-m", _, _] => ok(""),
                ["rm", "-rf", dir] => {
                    let prefix = format!("{}/", dir.trim_end_matches('/'));
                    s.cts
                        .get_mut(&id)
                        .unwrap()
                        .files
                        .retain(|k, _| !k.starts_with(&prefix));
                    ok("")
                }
                ["rmdir", "--ignore-fail-on-non-empty", _] => ok(""),
                ["timeout", "110", "systemctl", "is-system-running", "--wait"] => ok("running\n"),
                ["env", "-i", rest @ ..] => {
                    // A feature script: its effects, as Debian would have them.
                    let env: BTreeMap<&str, &str> = rest
                        .iter()
                        .take_while(|a| **a != "bash")
                        .filter_map(|a| a.split_once('='))
                        .collect();
                    let script = rest
                        .iter()
                        .skip_while(|a| **a != "bash")
                        .nth(3)
                        .copied()
                        .unwrap_or("");
                    let name = script.rsplit('/').next().unwrap_or("").to_owned();
                    if s.fail_script.as_deref() == Some(name.as_str()) {
                        return Ok(Output::failed(
                            1,
                            b"E: Unable to locate package docker.io\n".to_vec(),
                        )
                        .with_stdout(
                            b"installing docker.io\nReading package lists...\n".to_vec(),
                        ));
                    }
                    let ct = s.cts.get_mut(&id).unwrap();
                    ct.scripts.push(name.clone());
                    match name.as_str() {
                        "base_setup.sh" => {
                            ct.files.insert(
                                "/etc/timezone".into(),
                                format!("{}\n", env["PHOENIX_TIMEZONE"]).into_bytes(),
                            );
                            for p in env["PHOENIX_PACKAGES"].split(' ') {
                                ct.packages.insert(p.to_owned());
                            }
                            ok("installing base packages\n")
                        }
                        "docker.sh" => {
                            ct.packages.insert(env["PHOENIX_DOCKER_ENGINE"].to_owned());
                            ct.docker_active = true;
                            ok("installing docker.io\n")
                        }
                        "docker-image.sh" => ok("phoenix-image-ok\n"),
                        "nvidia.sh" => {
                            ct.packages
                                .insert(format!("nvidia-driver={}", env["PHOENIX_NVIDIA_VERSION"]));
                            ok("installing the NVIDIA user-space driver\n")
                        }
                        "gateway.sh" => {
                            ct.packages.insert("nginx".into());
                            ok("nginx -t: ok; reloaded\n")
                        }
                        "vllm.sh" | "ollama.sh" | "portainer.sh" => {
                            // The rendered files land where the script installs them.
                            let dir = script.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                            let installs: &[(&str, &str)] = match name.as_str() {
                                "vllm.sh" => &[
                                    ("vllm.service", "/etc/systemd/system/vllm.service"),
                                    ("vllm.env", "/etc/phoenix/vllm.env"),
                                ],
                                "ollama.sh" => &[
                                    ("ollama.service", "/etc/systemd/system/ollama.service"),
                                    (
                                        "phoenix.conf",
                                        "/etc/systemd/system/ollama.service.d/phoenix.conf",
                                    ),
                                ],
                                _ => &[],
                            };
                            for (staged, dest) in installs {
                                if let Some(b) = ct.files.get(&format!("{dir}/{staged}")).cloned() {
                                    ct.files.insert((*dest).to_owned(), b);
                                }
                            }
                            match name.as_str() {
                                "vllm.sh" => {
                                    ct.files.insert(
                                        "/opt/phoenix/vllm/.version".into(),
                                        env["PHOENIX_VLLM_VERSION"].as_bytes().to_vec(),
                                    );
                                    if ct.files.contains_key("/etc/systemd/system/vllm.service") {
                                        ct.packages.insert("service:vllm".into());
                                    }
                                }
                                "ollama.sh" => {
                                    ct.packages.insert("ollama".into());
                                    ct.packages.insert("service:ollama".into());
                                }
                                _ => {
                                    let role = env["PHOENIX_PORTAINER_ROLE"];
                                    let cname = if role == "server" {
                                        "portainer"
                                    } else {
                                        "portainer_agent"
                                    };
                                    ct.files.insert(
                                        format!("/docker/{cname}"),
                                        format!("{} true", env["PHOENIX_PORTAINER_IMAGE"])
                                            .into_bytes(),
                                    );
                                }
                            }
                            ok(format!("{name}: done\n"))
                        }
                        "vllm-ready.sh" | "ollama-ready.sh" => ok("GET lists the model\n"),
                        "application.sh" => {
                            ok(format!("ran with {}\n", rest.last().unwrap_or(&"")))
                        }
                        other => failed(127, &format!("unknown script {other}\n")),
                    }
                }
                [
                    "nvidia-smi",
                    "--query-gpu=driver_version",
                    "--format=csv,noheader",
                ] => {
                    // One line per GPU once nvidia.sh installed the driver (two GPUs).
                    match s.cts[&id]
                        .packages
                        .iter()
                        .find_map(|p| p.strip_prefix("nvidia-driver="))
                    {
                        Some(v) => ok(format!("{v}\n{v}\n")),
                        None => failed(127, "nvidia-smi: command not found\n"),
                    }
                }
                ["nvidia-smi"] => match s.cts[&id]
                    .packages
                    .iter()
                    .any(|p| p.starts_with("nvidia-driver="))
                {
                    true => ok("| NVIDIA-SMI |\n"),
                    false => failed(127, "nvidia-smi: command not found\n"),
                },
                ["dpkg-query", "-W", fmt, pkgs @ ..] => {
                    let ct = &s.cts[&id];
                    let lines: Vec<&str> = pkgs
                        .iter()
                        .map(|p| {
                            if ct.packages.contains(*p) {
                                "install ok installed"
                            } else {
                                "unknown ok not-installed"
                            }
                        })
                        .collect();
                    let all = pkgs.iter().all(|p| ct.packages.contains(*p));
                    let text = if fmt.ends_with("\n") {
                        lines.join("\n") + "\n"
                    } else {
                        lines.join("")
                    };
                    if all {
                        ok(text)
                    } else {
                        Ok(Output::failed(1, Vec::new()).with_stdout(text.into_bytes()))
                    }
                }
                ["systemctl", "is-active", "docker"] => {
                    if s.cts[&id].docker_active {
                        ok("active\n")
                    } else {
                        Ok(Output::failed(3, Vec::new()).with_stdout(b"inactive\n".to_vec()))
                    }
                }
                ["systemctl", "restart" | "start", "docker"] => {
                    let ct = s.cts.get_mut(&id).unwrap();
                    ct.docker_active = true;
                    ct.docker_restarts += 1;
                    ok("")
                }
                ["docker", "info", "--format", "{{.Driver}}"] => {
                    let ct = &s.cts[&id];
                    if !ct.docker_active {
                        return failed(1, "Cannot connect to the Docker daemon\n");
                    }
                    let driver = ct
                        .files
                        .get("/etc/docker/daemon.json")
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                        .and_then(|v| v["storage-driver"].as_str().map(str::to_owned))
                        .unwrap_or_else(|| "overlay2".into());
                    ok(format!("{driver}\n"))
                }
                ["stat", "-c", "%u %g", p] => {
                    let host = host_of(p).unwrap();
                    let m = fs.stat(&host).unwrap().unwrap();
                    ok(format!(
                        "{} {}\n",
                        to_ct(&map, IdKind::Uid, m.uid),
                        to_ct(&map, IdKind::Gid, m.gid)
                    ))
                }
                ["touch", p] => {
                    let host = host_of(p).unwrap();
                    let root_ids = (map.root_host_uid(), map.root_host_gid());
                    fs.files.lock().unwrap().insert(host, root_ids);
                    ok("")
                }
                ["chown", owner, p] => {
                    let host = host_of(p).unwrap();
                    let (u, g) = owner.split_once(':').unwrap();
                    let (u, g): (u32, u32) = (u.parse().unwrap(), g.parse().unwrap());
                    let ids = if map.is_user_namespaced() {
                        (map.host_uid_of(u).unwrap(), map.host_gid_of(g).unwrap())
                    } else {
                        (u, g)
                    };
                    fs.files.lock().unwrap().insert(host, ids);
                    ok("")
                }
                ["rm", "-f", p] => {
                    let host = host_of(p).unwrap();
                    fs.files.lock().unwrap().remove(&host);
                    ok("")
                }
                [py, "-c", _] if py.ends_with("/bin/python") => {
                    match s.cts[&id].files.get("/opt/phoenix/vllm/.version") {
                        Some(v) => Ok(Output::ok([v.as_slice(), b"\n"].concat())),
                        None => failed(127, &format!("{py}: not found\n")),
                    }
                }
                ["/usr/bin/ollama", "--version"] => {
                    if s.cts[&id].packages.contains("ollama") {
                        ok("ollama version is 0.12.3\n")
                    } else {
                        failed(127, "/usr/bin/ollama: not found\n")
                    }
                }
                ["systemctl", "is-active", svc @ ("vllm" | "ollama")] => {
                    if s.cts[&id].packages.contains(&format!("service:{svc}")) {
                        ok("active\n")
                    } else {
                        Ok(Output::failed(3, Vec::new()).with_stdout(b"inactive\n".to_vec()))
                    }
                }
                ["docker", "inspect", "-f", _, name] => {
                    match s.cts[&id].files.get(&format!("/docker/{name}")) {
                        Some(b) => Ok(Output::ok([b.as_slice(), b"\n"].concat())),
                        None => failed(1, &format!("Error: No such object: {name}\n")),
                    }
                }
                ["curl", .., url] if url.ends_with("/api/system/status") => {
                    ok(r#"{"InstanceID":"fake","Version":"2.33.0"}"#)
                }
                ["timeout", "60", "bash", "-c", _, _port] => ok(""),
                other => failed(127, &format!("unscripted command inside: {other:?}\n")),
            };
            match cmd.as_slice() {
                ["sh", "-c", _, "phoenix-proof", steps @ ..] => proof(steps, &mut run),
                other => run(other),
            }
        }
        other => failed(255, &format!("fake pct: unknown subcommand {other}\n")),
    }
}

/// The one-exec proof (the orchestrator's `prove.sh`): each step run as its own
/// command, its output between the script's markers, stopping at the first failure.
fn proof(
    steps: &[&str],
    run: &mut dyn FnMut(&[&str]) -> Result<Output, phoenix_orchestrator::pct::RunError>,
) -> Result<Output, phoenix_orchestrator::pct::RunError> {
    let (mut out, mut err) = (String::new(), String::new());
    let mut rest = steps;
    let mut n = 0;
    while !rest.is_empty() {
        n += 1;
        let (cmd, tail): (Vec<&str>, &[&str]) = match rest {
            ["cat", f, tail @ ..] => (vec!["cat", f], tail),
            ["stat", p, tail @ ..] => (vec!["stat", "-c", "%u %g", p], tail),
            ["touch", p, tail @ ..] => (vec!["touch", p], tail),
            ["chown", o, p, tail @ ..] => (vec!["chown", o, p], tail),
            other => return failed(2, &format!("unknown proof step {other:?}\n")),
        };
        rest = tail;
        let o = run(&cmd)?;
        let rc = o.status.code().unwrap_or(-1);
        out.push_str(&format!(
            "@@phoenix-proof {n}\n{}\n@@phoenix-proof-exit {n} {rc}\n",
            o.stdout_lossy()
        ));
        err.push_str(&format!("@@phoenix-proof {n}\n{}", o.stderr_lossy()));
        if rc != 0 {
            break;
        }
    }
    Ok(Output::ok(out.into_bytes()).with_stderr(err.into_bytes()))
}

/// The node's in-memory owners, shared with the orchestrator.
pub struct SharedFs(pub Arc<FakeFs>);

impl HostFs for SharedFs {
    fn stat(&self, p: &Utf8Path) -> io::Result<Option<PathMeta>> {
        self.0.stat(p)
    }
    fn create_dir(&self, p: &Utf8Path, mode: u32) -> io::Result<()> {
        self.0.create_dir(p, mode)
    }
    fn chmod(&self, p: &Utf8Path, mode: u32) -> io::Result<()> {
        self.0.chmod(p, mode)
    }
    fn chown(&self, p: &Utf8Path, uid: u32, gid: u32) -> io::Result<()> {
        self.0.chown(p, uid, gid)
    }
    fn remove_file(&self, p: &Utf8Path) -> io::Result<()> {
        self.0.remove_file(p)
    }
}

/// Insta filters for a transcript of pct calls: pushed temp files and the body of the
/// proof script (`sh -c $'...'`, pinned by its own test) are redacted.
#[allow(dead_code)]
pub const TRANSCRIPT_FILTERS: &[(&str, &str)] = &[
    (r"/tmp/\.phoenix-push-\w+", "[tmpfile]"),
    (r"sh -c \$'(?:[^'\\]|\\.)*'", "sh -c [prove.sh]"),
];

/// The orchestrator every scripted-node test uses: the node's root and files, pct and
/// pvesm by name, the example's scripts directory, run id `run`, commands through
/// `runner` (the node's own, or a wrapper that answers some commands first).
#[allow(dead_code)]
pub fn orchestrator<'a>(
    node: &Node,
    fleet: &'a phoenix_orchestrator::config::Fleet,
    runner: &'a dyn phoenix_orchestrator::pct::CommandRunner,
) -> phoenix_orchestrator::Orchestrator<'a> {
    phoenix_orchestrator::Orchestrator::new(fleet, node.root.clone(), runner)
        .with_pct(Some("pct".into()))
        .with_pvesm(Some("pvesm".into()))
        .with_fs(Box::new(SharedFs(node.fs.clone())))
        .with_scripts_dir(Some(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bin").into(),
        ))
        .with_run_id("run")
}

/// Run options of the scripted-node tests: one job, `reprove` as given.
#[allow(dead_code)]
pub fn one_job(reprove: bool) -> phoenix_orchestrator::RunOptions {
    phoenix_orchestrator::RunOptions {
        jobs: 1,
        reprove,
        ..phoenix_orchestrator::RunOptions::default()
    }
}
