//! Shared by the emulator's integration tests: the emulator started on a free port in a
//! temporary root (killed on drop), and a small rustls client that pins its fingerprint.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const EMULATOR: &str = env!("CARGO_BIN_EXE_pve-api-emulator");
pub const SSH: &str = env!("CARGO_BIN_EXE_pve-emu-ssh");
pub const TEMPLATE: &str = "local:vztmpl/phoenix-busybox_amd64.tar.gz";

/// The pct emulator in the same target dir (built by `cargo test --workspace`, or
/// `cargo build -p pct-emulator`).
pub fn pct() -> PathBuf {
    let p = Path::new(EMULATOR).parent().unwrap().join("pct");
    assert!(
        p.exists(),
        "{} is missing: build the pct emulator first (cargo build -p pct-emulator, or scripts/test.sh)",
        p.display()
    );
    p
}

/// A running emulator.
pub struct Emu {
    pub dir: tempfile::TempDir,
    child: Child,
    pub addr: String,
    pub fingerprint: String,
    pub token: String,
    pub log: PathBuf,
    pub cert: PathBuf,
}

impl Emu {
    /// Starts `pve-api-emulator --nodes pve1,pve2` with `env` added.
    pub fn start(env: &[(&str, &str)]) -> Emu {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        let token_file = dir.path().join("token");
        let cert = dir.path().join("cert.pem");
        let log = dir.path().join("requests.log");
        let mut cmd = Command::new(EMULATOR);
        cmd.args([
            "--listen",
            "127.0.0.1:0",
            "--nodes",
            "pve1,pve2",
            "--token-file",
        ])
        .arg(&token_file)
        .arg("--cert-out")
        .arg(&cert)
        .arg("--pct")
        .arg(pct())
        .env("PHOENIX_ROOT", &root)
        .env("PVE_API_EMU_LOG", &log)
        .env_remove("PCT_EMU_FAIL")
        .env_remove("PCT_EMU_LATENCY_MS")
        .env_remove("PVE_API_EMU_LOCK_FAIL")
        .env_remove("PVE_API_EMU_TASK_LOCKED")
        .env_remove("PVE_API_EMU_FAIL_TASK")
        .env_remove("PVE_API_EMU_LATENCY_MS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.is_empty() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("the emulator did not start: {err}");
        }
        let rest = line
            .trim()
            .strip_prefix("listening https://")
            .unwrap_or_else(|| panic!("ready line: {line:?}"));
        let (addr, fingerprint) = rest.split_once(" fingerprint ").unwrap();
        let token = std::fs::read_to_string(&token_file)
            .unwrap()
            .trim()
            .to_owned();
        Emu {
            dir,
            child,
            addr: addr.to_owned(),
            fingerprint: fingerprint.to_owned(),
            token,
            log,
            cert,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn node_root(&self, node: &str) -> PathBuf {
        self.root().join("node").join(node)
    }

    /// A request with the emulator's token.
    pub fn call(&self, method: &str, path: &str, form: &[(&str, &str)]) -> Response {
        request(&self.addr, method, path, form, Some(&self.token))
    }

    /// `data` of a 200 answer (panics on anything else).
    pub fn ok(&self, method: &str, path: &str, form: &[(&str, &str)]) -> Value {
        let r = self.call(method, path, form);
        assert_eq!(r.status, 200, "{method} {path}: {} {}", r.reason, r.body);
        r.body["data"].clone()
    }

    /// Waits for a task to stop and returns (exitstatus, log lines).
    pub fn wait(&self, node: &str, upid: &str) -> (String, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let enc = encode(upid);
        loop {
            let s = self.ok(
                "GET",
                &format!("/api2/json/nodes/{node}/tasks/{enc}/status"),
                &[],
            );
            if s["status"] == "stopped" {
                let log = self.ok(
                    "GET",
                    &format!("/api2/json/nodes/{node}/tasks/{enc}/log?start=0&limit=500"),
                    &[],
                );
                let lines = log
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["t"].as_str().unwrap().to_owned())
                    .collect();
                return (s["exitstatus"].as_str().unwrap().to_owned(), lines);
            }
            assert_eq!(s["status"], "running");
            assert!(Instant::now() < deadline, "task {upid} did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a task endpoint and waits for it.
    pub fn task(
        &self,
        node: &str,
        method: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> (String, Vec<String>) {
        let upid = self.ok(method, path, form);
        let upid = upid
            .as_str()
            .unwrap_or_else(|| panic!("{path}: no UPID: {upid}"))
            .to_owned();
        self.wait(node, &upid)
    }

    pub fn request_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub body: Value,
    /// The DER of the certificate the server presented.
    pub cert: Vec<u8>,
}

/// Accepts any certificate and records it (the tests compare its fingerprint).
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<u8>>);

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.0.lock().unwrap() = end_entity.to_vec();
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTPS request over a fresh connection (`Connection: close`), form-encoded.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
    token: Option<&str>,
) -> Response {
    let recorder = Arc::new(Recorder::default());
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(recorder.clone())
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), ServerName::try_from("127.0.0.1").unwrap())
            .unwrap();
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: PVEAPIToken={t}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes()).unwrap();
    tls.write_all(body.as_bytes()).unwrap();
    tls.flush().unwrap();
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // A server that closes without close_notify still gave the whole answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => panic!("reading the answer: {e}"),
    }
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status_line = head.lines().next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status: u16 = parts.next().unwrap().parse().unwrap();
    let reason = parts.next().unwrap_or("").to_owned();
    let cert = recorder.0.lock().unwrap().clone();
    Response {
        status,
        reason,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
        cert,
    }
}

/// `AB:CD:...` of `der`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
