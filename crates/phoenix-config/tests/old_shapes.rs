//! The loose shapes of the old files get precise messages, and a secret is never
//! quoted in one.

use phoenix_config::validate_texts;

#[test]
fn loose_old_shapes_get_precise_messages_and_secrets_stay_hidden() {
    let lxc = r#"{"lxc_configs": {"101": {"name": "a", "memory_mb": 64, "cores": 1,
      "template": "local:vztmpl/x.tar.gz", "storage_pool": "local", "storage_size_gb": 1,
      "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5/24", "nameservers": "10.0.0.1 dns"},
      "firewall": {"enabled": true, "rules": [{"type": "in", "action": "ACCEPT", "port": "80,70000"}]}}}}"#;
    let hyp = r#"{"portainer_api": {"admin_user": "a", "admin_password": 31337, "portainer_hostname": "p"}}"#;
    let vm = r#"{"vms": [{"vmid": 9000, "name": "t", "network_config": {"ip": "10.0.0.5"}}]}"#;
    let r = validate_texts(lxc, hyp, Some(vm));
    let messages: Vec<&str> = r.errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "invalid IPv4 address \"dns\" at /lxc_configs/101/network_config/nameservers: expected four decimal numbers 0-255 joined by dots, like 10.0.0.1",
            "invalid port list \"80,70000\" at /lxc_configs/101/firewall/rules/0/port: port 70000 is outside 1-65535",
            "invalid secret at /portainer_api/admin_password: expected a string, {\"file\": \"/path\"} or {\"env\": \"VAR\"}",
            "invalid IPv4 address/prefix \"10.0.0.5\" at /vms/0/network_config/ip: expected an IPv4 address and a prefix length 0-32, like 10.0.0.5/24",
        ]
    );
    assert!(!format!("{r:?}").contains("31337"));
}

#[test]
fn old_features_warn_and_unknown_ones_stay_errors() {
    let lxc = r#"{"lxc_configs": {"101": {"name": "a", "memory_mb": 64, "cores": 1,
      "template": "local:vztmpl/x.tar.gz", "storage_pool": "local", "storage_size_gb": 1,
      "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5/24"},
      "features": ["base_setup", "traefik", "traefk"]}}}"#;
    let r = validate_texts(lxc, "{}", None);
    let errors: Vec<&str> = r.errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        errors,
        vec![
            "unknown feature \"traefk\" at /lxc_configs/101/features/2: known features are base_setup, nvidia, docker, vllm, ollama, portainer; did you mean \"traefik\"?"
        ]
    );
    let warnings: Vec<&str> = r.warnings.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        warnings,
        vec![
            "feature \"traefik\" at /lxc_configs/101/features/1: an old system's feature this phoenix version has no installer for; it is not installed"
        ]
    );
}

#[test]
fn ai_settings_validate_and_a_plaintext_hf_token_is_a_warning() {
    let lxc = r#"{"lxc_configs": {"101": {"name": "a", "memory_mb": 64, "cores": 1,
      "template": "local:vztmpl/x.tar.gz", "storage_pool": "local", "storage_size_gb": 1,
      "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5/24"},
      "features": ["vllm", "ollama"], "vllm_version": "0.33", "vllm_hf_token": "hf_written_here",
      "ollama": {"keep_alive": "24h", "kv_cache_type": "q8_0", "port": 11434}}}}"#;
    let r = validate_texts(lxc, "{}", None);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let warnings: Vec<&str> = r.warnings.iter().map(|d| d.message.as_str()).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "plaintext secret at /lxc_configs/101/vllm_hf_token: anyone who can read phoenix_lxc_configs.json can read this vllm_hf_token"
        )),
        "{warnings:?}"
    );
    assert!(!format!("{r:?}").contains("hf_written_here"));
    let bad = lxc
        .replace("\"0.33\"", "\"latest\"")
        .replace("\"24h\"", "\"forever\"")
        .replace("\"q8_0\"", "\"q2\"");
    let r = validate_texts(&bad, "{}", None);
    let errors: Vec<&str> = r.errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].contains("/lxc_configs/101/vllm_version"),
        "{errors:?}"
    );
}
