//! Both validation passes on generated fleets of 10, 1,000 and 10,000 containers.
//!
//! Run with `cargo bench -p phoenix-config --bench validate`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use serde_json::{Value, json};

/// A fleet of `n` containers: one template, the rest clones of it, each depending
/// on the previous one, with tests, firewall rules and a shared volume.
fn fleet(n: u32) -> (String, String) {
    let mut containers = serde_json::Map::new();
    for i in 0..n {
        let id = 1000 + i;
        let mut c = json!({
            "name": format!("ct-{id}"),
            "start_at_boot": true,
            "boot_order": i,
            "memory_mb": 256,
            "cores": 1,
            "storage_pool": "local-zfs",
            "storage_size_gb": 2,
            "network_config": {
                "name": "eth0",
                "bridge": "vmbr0",
                "ip": format!("10.{}.{}.{}/8", (i >> 16) & 0xff, (i >> 8) & 0xff, (i & 0xff).max(2)),
                "gw": "10.255.255.254"
            },
            "mac_address": format!("52:54:00:{:02x}:{:02x}:{:02x}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff),
            "unprivileged": true,
            "features": ["base_setup", "docker"],
            "lxc_options": ["lxc.cgroup2.devices.allow=c 10:200 rwm"],
            "pct_options": ["nesting=1", "keyctl=1"],
            "firewall": {"enabled": true, "rules": [
                {"type": "in", "action": "ACCEPT", "source": "10.0.0.0/8", "proto": "tcp", "port": "8080"}
            ]},
            "tests": {"health_checks": [{"name": "up", "type": "script", "path": "docker/check.sh"}]},
            "apparmor_extra_rules": [{"file": {"path": "/dev/fuse", "access": "rw"}}]
        });
        let obj = c.as_object_mut().unwrap();
        if i == 0 {
            obj.insert(
                "template".into(),
                json!("local:vztmpl/phoenix-busybox_amd64.tar.gz"),
            );
            obj.insert("template_snapshot_name".into(), json!("pre-configured"));
        } else {
            obj.insert("clone_from_ctid".into(), json!(1000));
            obj.insert("dependencies".into(), json!([id - 1]));
        }
        containers.insert(id.to_string(), c);
    }
    // Unique IPs even where the low octet was clamped.
    let mut seen = std::collections::HashSet::new();
    for (_, c) in containers.iter_mut() {
        let ip = c["network_config"]["ip"].as_str().unwrap().to_owned();
        if !seen.insert(ip.clone()) {
            let id: u32 = c["name"].as_str().unwrap()[3..].parse().unwrap();
            c["network_config"]["ip"] = json!(format!(
                "10.200.{}.{}/8",
                (id >> 8) & 0xff,
                (id & 0xff).max(2)
            ));
            seen.insert(c["network_config"]["ip"].as_str().unwrap().to_owned());
        }
    }
    let lxc = json!({ "lxc_configs": Value::Object(containers) });
    let mounts: serde_json::Map<String, Value> = (0..n.min(50))
        .map(|i| ((1000 + i).to_string(), json!("/data/shared")))
        .collect();
    let hypervisor = json!({
        "network": {"interfaces": {"name": "vmbr0", "address": "10.255.255.253/8", "gateway": "10.255.255.254"}},
        "shared_volumes": {"shared": {"host_path": "/srv/shared", "mounts": mounts}}
    });
    (
        serde_json::to_string_pretty(&lxc).unwrap(),
        serde_json::to_string_pretty(&hypervisor).unwrap(),
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("validate");
    group.sample_size(10);
    for n in [10u32, 1_000, 10_000] {
        let (lxc, hypervisor) = fleet(n);
        let report = phoenix_config::validate_texts(&lxc, &hypervisor, None);
        assert!(
            report.errors.is_empty(),
            "{:?}",
            &report.errors[..report.errors.len().min(3)]
        );
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(
            BenchmarkId::from_parameter(n),
            &(lxc, hypervisor),
            |b, (l, h)| b.iter(|| phoenix_config::validate_texts(l, h, None)),
        );
    }
    group.finish();
}

// The macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
