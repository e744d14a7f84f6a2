//! Real TLS on 127.0.0.1: a rustls server with a self-signed certificate (as a Proxmox
//! node has) answers one request per test. Pinning its fingerprint works, a wrong pin is
//! refused naming both fingerprints, and the certificate as CA file works with the host
//! name `localhost` (and fails for a name it does not hold).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use camino::Utf8PathBuf;
use phoenix_pveapi::{
    ApiError, ApiToken, Client, ClientConfig, Fingerprint, RetryPolicy, Secret, TlsProblem, Trust,
    fingerprint_of,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const SECRET: &str = "d9b7c0aa-1f2e-4d3c-8b9a-0123456789ab";
const BODY: &str = r#"{"data":{"version":"8.2.4","release":"8.2","repoid":"faa83925"}}"#;

struct Server {
    port: u16,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    /// The request head the server read, if the handshake got that far.
    head: mpsc::Receiver<String>,
    thread: JoinHandle<()>,
}

/// Serves `connections` connections one after the other: reads a request (head and
/// `Content-Length` body), answers `{"data": ...}` for `GET /version` (`null` otherwise),
/// closes.
fn serve(connections: usize) -> Server {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_der = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, head) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        for _ in 0..connections {
            let (sock, _) = listener.accept().unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            sock.set_write_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, sock);
            // A refused handshake ends with an error here: nothing to answer.
            let Some(request) = read_request(&mut tls) else {
                continue;
            };
            let body = if request.starts_with("GET /api2/json/version ") {
                BODY
            } else {
                r#"{"data":null}"#
            };
            let _ = tx.send(request);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    Server {
        port,
        cert_pem: ck.cert.pem(),
        cert_der,
        head,
        thread,
    }
}

/// The request's head and body as text, or `None` when the connection failed first.
fn read_request(tls: &mut impl Read) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match tls.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < head_end + length {
        match tls.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn client(url: String, trust: Trust) -> Client {
    let token = ApiToken {
        id: "phoenix@pve!converge".parse().unwrap(),
        secret: Secret::new(SECRET).unwrap(),
    };
    let cfg = ClientConfig {
        retry: RetryPolicy::none(),
        timeout: Duration::from_secs(10),
        ..ClientConfig::new(url, token, trust)
    };
    Client::new(cfg).unwrap()
}

#[test]
fn pinned_fingerprint_is_accepted_and_the_token_sent() {
    let server = serve(2);
    let pin = fingerprint_of(&server.cert_der);
    // Pinning does not check the name: an address the certificate does not name is fine.
    let c = client(
        format!("https://127.0.0.1:{}", server.port),
        Trust::Fingerprint(
            pin.to_string()
                .to_lowercase()
                .replace(':', "")
                .parse()
                .unwrap(),
        ),
    );
    let v = c.version().unwrap();
    assert_eq!(
        (v.version.as_str(), v.release.as_deref()),
        ("8.2.4", Some("8.2"))
    );
    let head = server.head.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        head.starts_with("GET /api2/json/version HTTP/1.1\r\n"),
        "{head}"
    );
    let auth = format!("authorization: PVEAPIToken=phoenix@pve!converge={SECRET}\r\n");
    assert!(head.to_lowercase().contains(&auth.to_lowercase()), "{head}");

    // A POST carries its parameters form-encoded.
    let form = [
        ("vmid".to_owned(), "101".to_owned()),
        (
            "ostemplate".to_owned(),
            "local:vztmpl/debian-12.tar.zst".to_owned(),
        ),
        ("description".to_owned(), "a & b\nc".to_owned()),
    ];
    assert_eq!(
        c.post("/nodes/pve1/lxc", &form).unwrap(),
        serde_json::Value::Null
    );
    let request = server.head.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        request.starts_with("POST /api2/json/nodes/pve1/lxc HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .to_lowercase()
            .contains("content-type: application/x-www-form-urlencoded\r\n"),
        "{request}"
    );
    assert!(
        request.ends_with(
            "\r\n\r\nvmid=101&ostemplate=local%3Avztmpl%2Fdebian-12.tar.zst&description=a+%26+b%0Ac"
        ),
        "{request}"
    );
    server.thread.join().unwrap();
}

#[test]
fn a_wrong_fingerprint_is_refused_naming_both() {
    let server = serve(1);
    let presented = fingerprint_of(&server.cert_der);
    let mut wrong = *presented.as_bytes();
    wrong[0] ^= 0xFF;
    let expected = Fingerprint::from_bytes(wrong);
    let c = client(
        format!("https://127.0.0.1:{}", server.port),
        Trust::Fingerprint(expected),
    );
    let e = c.version().unwrap_err();
    assert_eq!(
        e,
        ApiError::Tls {
            url: format!("https://127.0.0.1:{}", server.port),
            problem: TlsProblem::FingerprintMismatch {
                expected,
                presented
            },
        }
    );
    let text = e.to_string();
    assert!(text.contains(&expected.to_string()) && text.contains(&presented.to_string()));
    assert!(!text.contains(SECRET));
    // The request never left the client.
    server.thread.join().unwrap();
    assert!(server.head.try_recv().is_err());
}

#[test]
fn the_certificate_as_ca_file_with_host_name_localhost() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Utf8PathBuf::from_path_buf(dir.path().join("pve-root-ca.pem")).unwrap();

    let server = serve(1);
    std::fs::write(&ca, &server.cert_pem).unwrap();
    let c = client(
        format!("https://localhost:{}", server.port),
        Trust::CaFile(ca.clone()),
    );
    assert_eq!(c.version().unwrap().version, "8.2.4");
    server.thread.join().unwrap();

    // Same trust, a name the certificate does not hold: webpki refuses it.
    let server = serve(1);
    std::fs::write(&ca, &server.cert_pem).unwrap();
    let c = client(
        format!("https://127.0.0.1:{}", server.port),
        Trust::CaFile(ca),
    );
    let e = c.version().unwrap_err();
    assert!(
        matches!(&e, ApiError::Tls { problem: TlsProblem::Handshake(m), .. } if m.contains("not valid for name")),
        "{e}"
    );
    server.thread.join().unwrap();
}
