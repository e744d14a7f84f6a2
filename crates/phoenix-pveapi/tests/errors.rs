//! Every error's text (snapshot), and the token secret in none of them, nor in any
//! `Debug` output, nor in the request records of a real client.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camino::Utf8PathBuf;
use phoenix_pveapi::{
    ApiError, ApiToken, Client, ClientConfig, Fingerprint, Method, RequestRecord, RetryPolicy,
    Secret, SecretProblem, TlsProblem, Trust,
};

const SECRET: &str = "9f0c1d2e-3b4a-5c6d-7e8f-90a1b2c3d4e5";

fn token() -> ApiToken {
    ApiToken {
        id: "phoenix@pve!converge".parse().unwrap(),
        secret: Secret::new(SECRET).unwrap(),
    }
}

fn every_variant() -> Vec<ApiError> {
    let fp = |b| Fingerprint::from_bytes([b; 32]);
    vec![
        ApiError::Tls {
            url: "https://pve1:8006".into(),
            problem: TlsProblem::FingerprintMismatch {
                expected: fp(0xAB),
                presented: fp(0x01),
            },
        },
        ApiError::Tls {
            url: "https://pve1:8006".into(),
            problem: TlsProblem::CaFile {
                path: Utf8PathBuf::from("/etc/phoenix/pve-root-ca.pem"),
                reason: "it holds no PEM certificate".into(),
            },
        },
        ApiError::Tls {
            url: "https://pve1:8006".into(),
            problem: TlsProblem::Handshake(
                "invalid peer certificate: certificate not valid for name \"pve1\"".into(),
            ),
        },
        ApiError::Connect {
            url: "https://pve1:8006/api2/json/version".into(),
            message: "Connection Failed: Connection refused (os error 111)".into(),
        },
        ApiError::Unauthorized {
            path: "/version".into(),
        },
        ApiError::Forbidden {
            path: "/nodes/pve1/lxc".into(),
            message: "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)".into(),
        },
        ApiError::Http {
            method: Method::Post,
            path: "/nodes/pve1/lxc".into(),
            status: 500,
            message: "unable to create CT 101 - CT 101 already exists on node 'pve2'".into(),
        },
        ApiError::Params {
            path: "/nodes/pve1/lxc".into(),
            errors: BTreeMap::from([
                ("lxc.idmap".into(), "property is not defined in schema and the schema does not allow additional properties".into()),
                ("memory".into(), "value must have a minimum value of 16".into()),
            ]),
        },
        ApiError::Task {
            node: "pve1".into(),
            upid: "UPID:pve1:00001234:00005678:6750F00D:vzclone:102:phoenix@pve!converge:".into(),
            exitstatus: "CT is locked (clone)".into(),
            log: vec!["create full clone of mountpoint rootfs".into(), "TASK ERROR: CT is locked (clone)".into()],
        },
        ApiError::Retries {
            attempts: 6,
            last: Box::new(ApiError::Http {
                method: Method::Put,
                path: "/nodes/pve1/lxc/101/config".into(),
                status: 500,
                message: "can't lock file '/run/lock/lxc/pve-config-101.conf' - got timeout".into(),
            }),
        },
        ApiError::Decode {
            path: "/cluster/nextid".into(),
            reason: "expected a guest id, got \"abc\"".into(),
        },
        ApiError::Secret {
            origin: "file /etc/phoenix/pve-token".into(),
            problem: SecretProblem::Empty,
        },
        ApiError::Secret {
            origin: "environment variable PVE_TOKEN".into(),
            problem: SecretProblem::Unset,
        },
        ApiError::Url {
            url: "http://pve1:8006".into(),
            reason: "it must start with https://".into(),
        },
    ]
}

#[test]
fn display_texts() {
    let text: String = every_variant()
        .iter()
        .map(|e| format!("{e}\n---\n"))
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn the_secret_is_in_no_error_and_no_debug_output() {
    let mut outputs: Vec<String> = Vec::new();
    for e in every_variant() {
        outputs.push(e.to_string());
        outputs.push(format!("{e:?}"));
    }

    // Errors made from input that holds the secret.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{SECRET} {SECRET}\n")).unwrap();
    let bad_file = Secret::from_file(&file).unwrap_err();
    std::fs::write(&file, format!("root@pam={SECRET}\n")).unwrap();
    let bad_token = ApiToken::from_file(&file).unwrap_err();
    let bad_parse = ApiToken::parse(SECRET).unwrap_err();
    let bad_value = Secret::new(format!("{SECRET}\nX-Injected: 1")).unwrap_err();
    for e in [bad_file, bad_token, bad_parse, bad_value] {
        outputs.push(e.to_string());
        outputs.push(format!("{e:?}"));
    }

    // A real client: its Debug, its config's, and a failed request's error and records.
    let cfg = ClientConfig {
        retry: RetryPolicy {
            attempts: 2,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        },
        timeout: Duration::from_secs(5),
        ..ClientConfig::new(
            "https://127.0.0.1:1",
            token(),
            Trust::Fingerprint(Fingerprint::from_bytes([7; 32])),
        )
    };
    outputs.push(format!("{cfg:?}"));
    outputs.push(format!("{:?}", token()));
    outputs.push(format!("{:?}", token().secret));
    let records = Arc::new(Mutex::new(Vec::<RequestRecord>::new()));
    let sink = records.clone();
    let client = Client::new(cfg)
        .unwrap()
        .on_request(Arc::new(move |r: &RequestRecord| {
            sink.lock().unwrap().push(r.clone())
        }));
    outputs.push(format!("{client:?}"));
    // Nothing listens on port 1 of this machine: a refused connection, retried once.
    let e = client.version().unwrap_err();
    assert!(matches!(e.innermost(), ApiError::Connect { .. }), "{e:?}");
    outputs.push(e.to_string());
    outputs.push(format!("{e:?}"));
    let records = records.lock().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!((records[0].status, records[1].attempt), (0, 2));
    outputs.extend(records.iter().map(|r| format!("{r:?}")));

    assert!(outputs.len() > 30);
    for out in &outputs {
        assert!(!out.contains(SECRET), "the secret leaked: {out}");
        assert!(
            !out.contains(&SECRET[..8]),
            "part of the secret leaked: {out}"
        );
    }
    assert!(outputs.iter().any(|o| o.contains("phoenix@pve!converge")));
    assert!(outputs.iter().any(|o| o.contains("<redacted>")));
}
