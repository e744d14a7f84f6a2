//! The rewrites, each on the raw JSON of one file. Every rule only moves or
//! reshapes values phoenix already reads, so the rewritten file means the same; a
//! rule that would have to choose between two different values leaves both alone.

use serde_json::{Map, Value, json};

use crate::schema::ConfigFile;

/// Applies every rule of `file` to `root`; returns one line per change.
pub(super) fn apply(file: ConfigFile, root: &mut Value) -> Vec<String> {
    let mut changes = Vec::new();
    match file {
        ConfigFile::Lxc => {
            let Some(cts) = root.get_mut("lxc_configs").and_then(Value::as_object_mut) else {
                return changes;
            };
            for (id, ct) in cts.iter_mut() {
                let Some(ct) = ct.as_object_mut() else {
                    continue;
                };
                let base = format!("/lxc_configs/{id}");
                id_maps(ct, &base, &mut changes);
                nameservers(ct, &base, &mut changes);
                empty_mac(ct, &base, &mut changes);
                vllm(ct, &base, &mut changes);
                old_tests(ct, &base, &mut changes);
            }
        }
        ConfigFile::Hypervisor => hypervisor(root, &mut changes),
        ConfigFile::Vm => vms(root, &mut changes),
    }
    changes
}

/// `{type, container_id, host_id, size}` to `{kind, container_start, host_start, count}`.
fn id_maps(ct: &mut Map<String, Value>, base: &str, changes: &mut Vec<String>) {
    let Some(maps) = ct.get_mut("id_maps").and_then(Value::as_array_mut) else {
        return;
    };
    for (i, m) in maps.iter_mut().enumerate() {
        let Some(o) = m.as_object() else { continue };
        let kind = match o.get("type").and_then(Value::as_str) {
            Some("uid" | "u") => "u",
            Some("gid" | "g") => "g",
            _ => continue,
        };
        let (Some(c), Some(h), Some(n)) = (o.get("container_id"), o.get("host_id"), o.get("size"))
        else {
            continue;
        };
        if o.len() != 4 {
            continue;
        }
        // The old system mapped host ids below the first subordinate range without
        // asking; phoenix asks for `allow_host_ids`, so the rewrite states it and the
        // entry keeps its meaning.
        let low = h
            .as_u64()
            .is_some_and(|h| h < u64::from(phoenix_idmap::SUBID_FLOOR));
        *m = if low {
            json!({"kind": kind, "container_start": c, "host_start": h, "count": n, "allow_host_ids": true})
        } else {
            json!({"kind": kind, "container_start": c, "host_start": h, "count": n})
        };
        let note = if low {
            " (with allow_host_ids: true, as the old system mapped host ids below 100000)"
        } else {
            ""
        };
        changes.push(format!(
            "{base}/id_maps/{i}: old id map shape rewritten as kind/container_start/host_start/count{note}"
        ));
    }
}

/// A string of addresses to an array.
fn split_addresses(v: &Value) -> Option<Value> {
    let text = v.as_str()?;
    let list: Vec<Value> = text
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_owned()))
        .collect();
    Some(Value::Array(list))
}

fn nameservers(ct: &mut Map<String, Value>, base: &str, changes: &mut Vec<String>) {
    let Some(net) = ct.get_mut("network_config").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(list) = net.get("nameservers").and_then(split_addresses) {
        net.insert("nameservers".into(), list);
        changes.push(format!(
            "{base}/network_config/nameservers: string rewritten as an array"
        ));
    }
}

fn empty_mac(ct: &mut Map<String, Value>, base: &str, changes: &mut Vec<String>) {
    if ct.get("mac_address").and_then(Value::as_str) == Some("") {
        ct.shift_remove("mac_address");
        changes.push(format!(
            "{base}/mac_address: \"\" removed (absent means the same: Proxmox chooses one)"
        ));
    }
}

/// Puts `value` at `section.key` of `engine`; false (and nothing changed) when a
/// different value is already there.
fn put(engine: &mut Map<String, Value>, section: &str, key: &str, value: Value) -> bool {
    let s = engine
        .entry(section)
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(s) = s.as_object_mut() else {
        return false;
    };
    match s.get(key) {
        Some(existing) if *existing != value => false,
        _ => {
            s.insert(key.to_owned(), value);
            true
        }
    }
}

/// Flat bash-era `vllm_*` keys (and `vllm_parameters`) into `vllm_engine_config`.
fn vllm(ct: &mut Map<String, Value>, base: &str, changes: &mut Vec<String>) {
    const FLAT: &[(&str, &str, &str)] = &[
        ("vllm_model", "ModelConfig", "model"),
        ("vllm_model_type", "ModelConfig", "model_type"),
        ("vllm_trust_remote_code", "ModelConfig", "trust_remote_code"),
        ("vllm_max_model_len", "ModelConfig", "max_model_len"),
        ("vllm_quantization", "CacheConfig", "quantization"),
        (
            "vllm_gpu_memory_utilization",
            "CacheConfig",
            "gpu_memory_utilization",
        ),
        (
            "vllm_tensor_parallel_size",
            "ParallelConfig",
            "tensor_parallel_size",
        ),
        ("vllm_port", "ServerConfig", "port"),
        (
            "vllm_served_model_name",
            "ServerConfig",
            "served_model_name",
        ),
        ("vllm_args", "ServerConfig", "extra_args"),
    ];
    const PARAMETERS: &[(&str, &str)] = &[
        ("dtype", "ModelConfig"),
        ("max_model_len", "ModelConfig"),
        ("gpu_memory_utilization", "CacheConfig"),
        ("kv_cache_dtype", "CacheConfig"),
        ("max_num_batched_tokens", "SchedulerConfig"),
        ("max_num_seqs", "SchedulerConfig"),
    ];
    let present =
        FLAT.iter().any(|(k, ..)| ct.contains_key(*k)) || ct.contains_key("vllm_parameters");
    if !present {
        return;
    }
    let mut engine = match ct.get("vllm_engine_config") {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
        None => Map::new(),
    };
    let mut moved = Vec::new();
    let mut kept = Vec::new();
    for (flat, section, key) in FLAT {
        if let Some(v) = ct.get(*flat).cloned() {
            if put(&mut engine, section, key, v) {
                ct.shift_remove(*flat);
                moved.push(*flat);
            } else {
                kept.push(flat.to_string());
            }
        }
    }
    if let Some(Value::Object(params)) = ct.get("vllm_parameters").cloned() {
        let mut rest = Map::new();
        for (key, v) in params {
            match PARAMETERS.iter().find(|(k, _)| *k == key) {
                Some((_, section)) if put(&mut engine, section, &key, v.clone()) => {}
                _ => {
                    kept.push(format!("vllm_parameters.{key}"));
                    rest.insert(key, v);
                }
            }
        }
        if rest.is_empty() {
            ct.shift_remove("vllm_parameters");
        } else {
            ct.insert("vllm_parameters".into(), Value::Object(rest));
        }
        moved.push("vllm_parameters");
    }
    engine.retain(|_, v| v.as_object().is_none_or(|o| !o.is_empty()));
    ct.insert("vllm_engine_config".into(), Value::Object(engine));
    changes.push(format!(
        "{base}: {} moved into vllm_engine_config",
        moved.join(", ")
    ));
    if !kept.is_empty() {
        changes.push(format!(
            "{base}: {} left in place: vllm_engine_config already holds a different value",
            kept.join(", ")
        ));
    }
}

/// Bash-era test sections into `tests.integration_tests`: the `vllm` test list, and
/// `integration_tests: {script}` when `run_integration_tests` is not false (a
/// disabled test stays where it is, disabled).
fn old_tests(ct: &mut Map<String, Value>, base: &str, changes: &mut Vec<String>) {
    let mut new: Vec<Value> = Vec::new();
    let mut moved = Vec::new();
    if let Some(Value::Array(list)) = ct.get("vllm") {
        new.extend(list.iter().cloned());
        ct.shift_remove("vllm");
        moved.push("vllm");
    }
    let enabled = ct.get("run_integration_tests") != Some(&Value::Bool(false));
    let script = ct
        .get("integration_tests")
        .and_then(|t| t.get("script"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let (Some(script), true) = (script, enabled) {
        if !new
            .iter()
            .any(|t| t.get("path").and_then(Value::as_str) == Some(&script))
        {
            let name = script.rsplit('/').next().unwrap_or(&script);
            let name = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
            new.push(json!({"name": name, "type": "script", "path": script}));
        }
        ct.shift_remove("integration_tests");
        ct.shift_remove("run_integration_tests");
        moved.push("integration_tests, run_integration_tests");
    }
    if moved.is_empty() {
        return;
    }
    let tests = ct
        .entry("tests")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(tests) = tests.as_object_mut() else {
        return;
    };
    let list = tests
        .entry("integration_tests")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        return;
    };
    for t in new {
        let path = t.get("path").cloned();
        if !list.iter().any(|x| x.get("path") == path.as_ref()) {
            list.push(t);
        }
    }
    changes.push(format!(
        "{base}: {} moved into tests.integration_tests",
        moved.join(", ")
    ));
}

fn hypervisor(root: &mut Value, changes: &mut Vec<String>) {
    let Some(top) = root.as_object_mut() else {
        return;
    };
    if let Some(i) = top
        .get_mut("network")
        .and_then(|n| n.get_mut("interfaces"))
        .and_then(Value::as_object_mut)
        && let Some(list) = i.get("dns_nameservers").and_then(split_addresses)
    {
        i.insert("dns_nameservers".into(), list);
        changes.push("/network/interfaces/dns_nameservers: string rewritten as an array".into());
    }
    // The newest bash era read the host firewall from shared_volumes.firewall
    // (hypervisor_feature_setup_firewall.sh); phoenix reads the top-level section.
    let firewall_shaped = top
        .get("shared_volumes")
        .and_then(|s| s.get("firewall"))
        .and_then(Value::as_object)
        .is_some_and(|f| {
            f.contains_key("enabled") && !f.contains_key("host_path") && !f.contains_key("mounts")
        });
    if firewall_shaped && !top.contains_key("firewall") {
        let fw = top
            .get_mut("shared_volumes")
            .and_then(Value::as_object_mut)
            .and_then(|s| s.shift_remove("firewall"))
            .expect("checked");
        top.insert("firewall".into(), fw);
        changes.push(
            "/shared_volumes/firewall: moved to the top-level firewall section phoenix reads"
                .into(),
        );
    }
}

fn vms(root: &mut Value, changes: &mut Vec<String>) {
    let Some(vms) = root.get_mut("vms").and_then(Value::as_array_mut) else {
        return;
    };
    for (n, vm) in vms.iter_mut().enumerate() {
        let Some(net) = vm.get_mut("network_config").and_then(Value::as_object_mut) else {
            continue;
        };
        let Some(one) = net.get("nameserver").cloned() else {
            continue;
        };
        let list = net
            .entry("nameservers")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Some(list) = list.as_array_mut() else {
            continue;
        };
        if !list.contains(&one) {
            list.insert(0, one);
        }
        net.shift_remove("nameserver");
        changes.push(format!(
            "/vms/{n}/network_config/nameserver: moved into nameservers"
        ));
    }
}
