//! The hostile-input corpus (`fixtures/hostile/cases.json`) through the real binary.
//!
//! Every case starts from a copy of `fixtures/example` in a fresh temporary directory
//! that holds the root, the config directory, stub `pct`/`pvesm` (an empty host with
//! the example's storage) and a sentinel tree outside the root that symlinks in the
//! root point into. Each case must exit with its code, print its message, never
//! panic, print no raw control character, and leave the sentinel and the config
//! directory exactly as they were (and the root too, unless it installs files). The
//! whole output is an insta snapshot per case (`snapshots/hostile/`).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const FILES: [(&str, &str); 3] = [
    ("lxc", "phoenix_lxc_configs.json"),
    ("hyp", "phoenix_hypervisor_config.json"),
    ("vm", "phoenix_vm_configs.json"),
];

fn file_name(key: &str) -> &'static str {
    FILES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("unknown file key {key}"))
}

/// The temporary world of one case.
struct World {
    _tmp: tempfile::TempDir,
    tmp: PathBuf,
    root: PathBuf,
    config: PathBuf,
    outside: PathBuf,
    bin: PathBuf,
}

impl World {
    fn new() -> World {
        let tmp_dir = tempfile::tempdir().unwrap();
        let tmp = tmp_dir.path().canonicalize().unwrap();
        let (root, config, outside, bin) = (
            tmp.join("root"),
            tmp.join("config"),
            tmp.join("outside"),
            tmp.join("stubs"),
        );
        for d in [&root, &config, &bin] {
            std::fs::create_dir_all(d).unwrap();
        }
        // The sentinel: what a link out of the root would reach.
        for d in ["srv", "apparmor", "etc"] {
            std::fs::create_dir_all(outside.join(d)).unwrap();
        }
        std::fs::write(outside.join("srv/keep"), "sentinel\n").unwrap();
        std::fs::write(outside.join("apparmor/keep"), "sentinel\n").unwrap();
        std::fs::write(outside.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        for (_, f) in FILES {
            std::fs::copy(repo().join("fixtures/example").join(f), config.join(f)).unwrap();
        }
        // An empty Proxmox host with the example's storage.
        let script = |name: &str, body: &str| {
            let p = bin.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
            let mut perm = std::fs::metadata(&p).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
            std::fs::set_permissions(&p, perm).unwrap();
        };
        script("pct", "exit 0\n");
        script(
            "pvesm",
            "echo 'Name             Type     Status           Total            Used       Available        %'\n\
             echo 'local-zfs      zfspool     active        98497780        12345678        81234567   12.53%'\n\
             echo 'local             dir     active        98497780        12345678        81234567   12.53%'\n",
        );
        World {
            _tmp: tmp_dir,
            tmp,
            root,
            config,
            outside,
            bin,
        }
    }

    fn subst(&self, s: &str) -> String {
        s.replace("{TMP}", self.tmp.to_str().unwrap())
            .replace("{ROOT}", self.root.to_str().unwrap())
            .replace("{CONFIG}", self.config.to_str().unwrap())
            .replace("{OUTSIDE}", self.outside.to_str().unwrap())
    }
}

/// Sets `pointer` in `doc` (the parent must exist; `-` appends to an array).
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').expect("a pointer");
    let target = doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no parent {parent}"));
    match target {
        Value::Object(map) => {
            map.insert(last.to_owned(), value);
        }
        Value::Array(items) if last == "-" => items.push(value),
        Value::Array(items) => items[last.parse::<usize>().unwrap()] = value,
        _ => panic!("{parent} is not a container"),
    }
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success(), "mkfifo {}", path.display());
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Applies a case's edits to the config directory and builds its root.
fn prepare(w: &World, case: &Value) {
    let path = |key: &str| w.config.join(file_name(key));
    if let Some(body) = case["pct_script"].as_str() {
        std::fs::write(w.bin.join("pct"), format!("#!/bin/sh\n{body}")).unwrap();
    }
    if let Some(edits) = case["edits"].as_array() {
        let mut docs: BTreeMap<String, Value> = BTreeMap::new();
        for e in edits {
            let key = e["file"].as_str().unwrap().to_owned();
            let doc = docs.entry(key.clone()).or_insert_with(|| {
                serde_json::from_str(&std::fs::read_to_string(path(&key)).unwrap()).unwrap()
            });
            set(doc, e["pointer"].as_str().unwrap(), e["value"].clone());
        }
        for (key, doc) in docs {
            std::fs::write(path(&key), serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        }
    }
    if let Some(n) = case["many_bad_names"].as_u64() {
        let mut cts = serde_json::Map::new();
        for i in 0..n {
            let id = 1000 + i;
            cts.insert(
                id.to_string(),
                serde_json::json!({"name": "bad_name", "memory_mb": 64, "cores": 1,
                    "template": "local:vztmpl/x.tar.gz", "storage_pool": "local", "storage_size_gb": 1,
                    "network_config": {"name": "eth0", "bridge": "vmbr0",
                        "ip": format!("10.{}.{}.5/24", id / 256 % 256, id % 256)}}),
            );
        }
        let doc = serde_json::json!({ "lxc_configs": cts });
        std::fs::write(path("lxc"), serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        std::fs::write(path("hyp"), "{}").unwrap();
        std::fs::remove_file(path("vm")).unwrap();
    }
    if let Some(t) = case.get("text") {
        std::fs::write(
            path(t["file"].as_str().unwrap()),
            t["content"].as_str().unwrap(),
        )
        .unwrap();
    }
    if let Some(h) = case.get("hex") {
        std::fs::write(
            path(h["file"].as_str().unwrap()),
            unhex(h["bytes"].as_str().unwrap()),
        )
        .unwrap();
    }
    if let Some(h) = case.get("prepend_hex") {
        let p = path(h["file"].as_str().unwrap());
        let mut bytes = unhex(h["bytes"].as_str().unwrap());
        bytes.extend(std::fs::read(&p).unwrap());
        std::fs::write(&p, bytes).unwrap();
    }
    if let Some(s) = case.get("special") {
        let p = path(s["file"].as_str().unwrap());
        std::fs::remove_file(&p).unwrap();
        match s["kind"].as_str().unwrap() {
            "fifo" => mkfifo(&p),
            "devzero" => std::os::unix::fs::symlink("/dev/zero", &p).unwrap(),
            "dir" => std::fs::create_dir(&p).unwrap(),
            // Sparse: 65 MiB of length, nothing on disk.
            "big" => std::fs::File::create(&p)
                .unwrap()
                .set_len(65 * 1024 * 1024)
                .unwrap(),
            other => panic!("unknown special {other}"),
        }
    }
    for op in case["root"].as_array().into_iter().flatten() {
        let at = |k: &str| w.root.join(op[k].as_str().unwrap());
        if op.get("dir").is_some() {
            std::fs::create_dir_all(at("dir")).unwrap();
        } else if op.get("symlink").is_some() {
            std::os::unix::fs::symlink(w.subst(op["to"].as_str().unwrap()), at("symlink")).unwrap();
        } else if op.get("fifo").is_some() {
            mkfifo(&at("fifo"));
        } else if op.get("write").is_some() {
            let bytes = match (op.get("text"), op.get("hex")) {
                (Some(t), _) => t.as_str().unwrap().as_bytes().to_vec(),
                (_, Some(h)) => unhex(h.as_str().unwrap()),
                _ => panic!("write needs text or hex"),
            };
            std::fs::write(at("write"), bytes).unwrap();
        } else {
            panic!("unknown root op {op}");
        }
    }
}

/// Everything observable about a tree: paths, types, modes, owners, link targets and
/// contents (lengths only for files over 1 MiB). Links are not followed.
fn digest(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let what = if ft.is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if ft.is_dir() {
                stack.push(p.clone());
                "dir".to_owned()
            } else if ft.is_file() && m.len() <= 1024 * 1024 {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&p).unwrap().hash(&mut h);
                format!("file {:x}", h.finish())
            } else {
                format!("other len {}", m.len())
            };
            let key = p.strip_prefix(dir).unwrap().display().to_string();
            out.insert(
                key,
                format!("{what} {:o} {}:{}", m.mode(), m.uid(), m.gid()),
            );
        }
    }
    out
}

/// Runs phoenix for a case; a run that takes over 60 s is killed (a FIFO that
/// blocked) and reported as exit -9.
fn run(w: &World, case: &Value) -> (i32, String, String) {
    run_args(w, case, None)
}

/// [`run`] with other arguments than the case's.
fn run_args(w: &World, case: &Value, args: Option<&[&str]>) -> (i32, String, String) {
    let root = case["root_arg"]
        .as_str()
        .map_or_else(|| w.root.display().to_string(), |r| w.subst(r));
    let config = case["config_arg"]
        .as_str()
        .map_or_else(|| w.config.display().to_string(), |c| w.subst(c));
    let args: Vec<String> = match (args, case["args"].as_array()) {
        (Some(a), _) => a.iter().map(|s| (*s).to_owned()).collect(),
        (None, Some(a)) => a.iter().map(|s| w.subst(s.as_str().unwrap())).collect(),
        (None, None) => vec!["validate".to_owned()],
    };
    let out_path = w.tmp.join("stdout");
    let err_path = w.tmp.join("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_phoenix"))
        .arg("--root")
        .arg(&root)
        .arg("--config-dir")
        .arg(&config)
        .arg("--pct")
        .arg(w.bin.join("pct"))
        .arg("--pvesm")
        .arg(w.bin.join("pvesm"))
        .args(&args)
        .env_remove("PHOENIX_ROOT")
        .env_remove("PHOENIX_CONFIG_DIR")
        .env_remove("PHOENIX_PCT")
        .env_remove("PHOENIX_PVESM")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            break -9;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    std::fs::remove_file(&out_path).unwrap();
    std::fs::remove_file(&err_path).unwrap();
    (code, stdout, stderr)
}

#[test]
fn every_hostile_case_is_refused_or_warned_and_nothing_outside_the_root_changes() {
    let text = std::fs::read_to_string(repo().join("fixtures/hostile/cases.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 80, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        // A case whose fix lies outside this crate's reach says why; it is listed,
        // not run (it would block until the harness kills it).
        if let Some(why) = case["pending"].as_str() {
            pending.push(format!("{name}: {why}"));
            continue;
        }
        let w = World::new();
        prepare(&w, case);
        let before = (digest(&w.outside), digest(&w.config), digest(&w.root));
        let (code, stdout, stderr) = run(&w, case);
        let tmp = w.tmp.display().to_string();
        let shown =
            format!("exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}").replace(&tmp, "[TMP]");
        let mut fail = |what: String| failures.push(format!("{name}: {what}\n{shown}"));
        let expected = case["exit"].as_i64().unwrap();
        if i64::from(code) != expected {
            fail(format!("exit {code}, expected {expected}"));
        }
        let expect = case["expect"].as_str().unwrap();
        if !shown.contains(expect) {
            fail(format!("output lacks {expect:?}"));
        }
        if let Some(forbid) = case["forbid"].as_str()
            && shown.contains(forbid)
        {
            fail(format!("output contains {forbid:?}"));
        }
        if shown.contains("panicked") {
            fail("panicked".to_owned());
        }
        if let Some(c) = shown.chars().find(|c| c.is_control() && *c != '\n') {
            fail(format!(
                "raw control character U+{:04X} printed",
                u32::from(c)
            ));
        }
        // One gate: a config `validate` accepts is one `plan` accepts too (the stub
        // host has nothing, so every container is planned from scratch).
        if case["args"].is_null() && code == 0 {
            let (plan_code, _, plan_err) = run_args(&w, case, Some(&["plan"]));
            if plan_code != 0 {
                fail(format!(
                    "validate accepts it but plan exits {plan_code}: {}",
                    plan_err.replace(&tmp, "[TMP]")
                ));
            }
        }
        let after = (digest(&w.outside), digest(&w.config), digest(&w.root));
        if before.0 != after.0 {
            fail(format!(
                "the sentinel outside the root changed: {:?} -> {:?}",
                before.0, after.0
            ));
        }
        if before.1 != after.1 {
            fail("the config directory changed".to_owned());
        }
        if before.2 != after.2 && !case["writes_root"].as_bool().unwrap_or(false) {
            fail(format!("the root changed: {:?} -> {:?}", before.2, after.2));
        }
        insta::with_settings!({
            snapshot_path => "snapshots/hostile",
            prepend_module_to_snapshot => false,
            description => case["why"].as_str().unwrap(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, shown);
        });
    }
    if !pending.is_empty() {
        eprintln!("pending cases (not run):\n{}", pending.join("\n"));
    }
    assert!(
        cases.len() - pending.len() >= 80,
        "only {} cases run",
        cases.len() - pending.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
