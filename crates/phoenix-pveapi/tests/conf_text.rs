//! `LxcConfig::to_conf_text` against the conf fixtures: the config a node's API answers
//! for a conf renders back to the conf Proxmox itself writes, and `CtConf::parse` reads it.

use std::path::Path;
use std::sync::Arc;

use phoenix_pveapi::fake::ScriptedTransport;
use phoenix_pveapi::{Client, Method, RawResponse, RetryPolicy};
use phoenix_pveconf::conf::{CtConf, Digest, KeyType, key_type};
use serde_json::{Map, Value, json};

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conf");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 9, "fixtures missing: {out:?}");
    out
}

/// The main section of Proxmox's rewrite of a conf (what the file holds after any API
/// change): the text before the first section header.
fn canonical_main(src: &str) -> String {
    let canonical = CtConf::parse(src).conf.render_canonical();
    match canonical.find("\n[") {
        Some(i) => canonical[..=i].trim_end_matches('\n').to_owned() + "\n",
        None => canonical,
    }
}

/// The `GET .../config` answer for a conf, as Proxmox sends it: integers and booleans as
/// JSON numbers, everything else as strings, the description decoded, raw lines as pairs.
fn api_answer(conf_text: &str) -> Value {
    let conf = CtConf::parse(conf_text).conf;
    let mut data = Map::new();
    for (key, value) in conf.entries() {
        let number = matches!(key_type(key), Some(KeyType::Integer | KeyType::Boolean))
            .then(|| value.parse::<i64>().ok())
            .flatten();
        let v = number.map_or_else(|| json!(value), |n| json!(n));
        data.insert(key.to_owned(), v);
    }
    if let Some(d) = conf.description() {
        data.insert("description".into(), json!(d));
    }
    let lxc: Vec<Value> = conf.lxc().map(|(k, v)| json!([k, v])).collect();
    if !lxc.is_empty() {
        data.insert("lxc".into(), Value::Array(lxc));
    }
    let digest = Digest::of(conf_text.as_bytes()).to_string();
    data.insert("digest".into(), json!(digest));
    Value::Object(data)
}

#[test]
fn every_fixture_round_trips_through_the_api_shape() {
    for (name, src) in fixtures() {
        let main = canonical_main(&src);
        let t = Arc::new(ScriptedTransport::new());
        t.reply(
            Method::Get,
            "/nodes/pve1/lxc/101/config",
            RawResponse::data(api_answer(&main)),
        );
        let client = Client::with_transport(t, RetryPolicy::none());
        let cfg = client.lxc_config("pve1", 101).unwrap();
        assert_eq!(
            cfg.digest,
            Digest::of(main.as_bytes()).to_string(),
            "{name}"
        );

        let text = cfg.to_conf_text();
        assert_eq!(
            text, main,
            "{name}: to_conf_text is not Proxmox's own rewrite"
        );

        // And the parser reads back exactly the API's values.
        let back = CtConf::parse(&text).conf;
        let mut options: std::collections::BTreeMap<String, String> = back
            .entries()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if let Some(d) = back.description() {
            options.insert("description".into(), d);
        }
        assert_eq!(options, cfg.options, "{name}");
        let raw: Vec<(String, String)> = back
            .lxc()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(raw, cfg.raw, "{name}");
    }
}

#[test]
fn raw_lines_keep_their_order_after_the_keys() {
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/conf/custom-idmap-colon-and-equals.conf"),
    )
    .unwrap();
    let t = Arc::new(ScriptedTransport::new());
    t.reply(
        Method::Get,
        "/nodes/pve1/lxc/104/config",
        RawResponse::data(api_answer(&src)),
    );
    let cfg = Client::with_transport(t, RetryPolicy::none())
        .lxc_config("pve1", 104)
        .unwrap();
    insta::assert_snapshot!(cfg.to_conf_text());
}
