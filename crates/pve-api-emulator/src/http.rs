//! HTTP/1.1 framing: request heads parsed by `httparse`, bodies by `Content-Length`,
//! parameters from the query string, a form body or a JSON object body; responses in
//! Proxmox's shape (`{"data": ...}`, the reason phrase set to the error message).

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::{Value, json};

/// The most a request head may take.
const MAX_HEAD: usize = 64 * 1024;
/// The most a request body may take.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, percent-decoded, without the query.
    pub path: String,
    /// Query and body parameters (a body value wins over a query one).
    pub params: BTreeMap<String, String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// False when the client asked to close the connection after this request.
    pub keep_alive: bool,
}

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The connection ended (cleanly, between requests, or in the middle of one).
    #[error("connection closed")]
    Closed,
    /// An I/O error (a timeout included).
    #[error("read: {0}")]
    Io(#[from] std::io::Error),
    /// Not HTTP we understand: answered with this status and message, then closed.
    #[error("{1}")]
    Bad(u16, String),
}

/// Reads one request from `stream`; `buf` keeps bytes of a pipelined next request.
pub fn read_request(stream: &mut impl Read, buf: &mut Vec<u8>) -> Result<Request, ReadError> {
    let mut chunk = [0u8; 8192];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = req.method.unwrap_or("").to_owned();
                let target = req.path.unwrap_or("/").to_owned();
                let http10 = req.version == Some(0);
                let mut length = 0usize;
                let mut authorization = None;
                let mut content_type = String::new();
                let mut connection = String::new();
                for h in req.headers.iter() {
                    let value = String::from_utf8_lossy(h.value).trim().to_owned();
                    match h.name.to_ascii_lowercase().as_str() {
                        "content-length" => {
                            length = value
                                .parse()
                                .map_err(|_| ReadError::Bad(400, "invalid content-length".into()))?
                        }
                        "transfer-encoding" => {
                            return Err(ReadError::Bad(
                                411,
                                "chunked bodies are not supported".into(),
                            ));
                        }
                        "authorization" => authorization = Some(value),
                        "content-type" => content_type = value.to_ascii_lowercase(),
                        "connection" => connection = value.to_ascii_lowercase(),
                        _ => {}
                    }
                }
                if length > MAX_BODY {
                    return Err(ReadError::Bad(413, "request body too large".into()));
                }
                while buf.len() < head_len + length {
                    let n = stream.read(&mut chunk)?;
                    if n == 0 {
                        return Err(ReadError::Closed);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body: Vec<u8> = buf[head_len..head_len + length].to_vec();
                buf.drain(..head_len + length);
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let mut params = parse_form(query);
                if !body.is_empty() {
                    let from_body = if content_type.starts_with("application/json") {
                        parse_json_object(&body)?
                    } else {
                        parse_form(&String::from_utf8_lossy(&body))
                    };
                    params.extend(from_body);
                }
                let keep_alive = if http10 {
                    connection.contains("keep-alive")
                } else {
                    !connection.contains("close")
                };
                return Ok(Request {
                    method,
                    path: percent_decode(path, false),
                    params,
                    authorization,
                    keep_alive,
                });
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err(ReadError::Bad(431, "request head too large".into()));
                }
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(ReadError::Closed);
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Err(e) => return Err(ReadError::Bad(400, format!("bad request: {e}"))),
        }
    }
}

fn parse_json_object(body: &[u8]) -> Result<BTreeMap<String, String>, ReadError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ReadError::Bad(400, format!("invalid JSON body: {e}")))?;
    let Value::Object(map) = v else {
        return Err(ReadError::Bad(400, "the JSON body is not an object".into()));
    };
    Ok(map
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s,
                Value::Bool(b) => if b { "1" } else { "0" }.to_owned(),
                other => other.to_string(),
            };
            (k, s)
        })
        .collect())
}

/// `a=1&b=x%20y` -> {a: 1, b: "x y"} (`+` is a space; the last of a repeated key wins).
pub fn parse_form(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Percent-decoding (invalid escapes are kept as written); `plus` turns `+` into a space.
pub fn percent_decode(text: &str, plus: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One answer: the status, the reason phrase and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The reason phrase (Proxmox puts the error message here).
    pub reason: String,
    /// The JSON body.
    pub body: Value,
}

impl Reply {
    /// 200 with `{"data": data}`.
    pub fn data(data: Value) -> Self {
        Reply {
            status: 200,
            reason: "OK".into(),
            body: json!({ "data": data }),
        }
    }

    /// An error: `status`, the message as the reason, body
    /// `{"data":null,"message":"<msg>\n"}`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        let message = message.into();
        Reply {
            status,
            reason: reason_phrase(&message),
            body: json!({ "data": null, "message": format!("{message}\n") }),
        }
    }

    /// 400 `Parameter verification failed.` with the per-parameter errors.
    pub fn params(errors: &BTreeMap<String, String>) -> Self {
        Reply {
            status: 400,
            reason: "Parameter verification failed.".into(),
            body: json!({
                "data": null,
                "errors": errors,
                "message": "Parameter verification failed.\n",
            }),
        }
    }

    /// 403 `Permission check failed (<what>)`.
    pub fn forbidden(what: &str) -> Self {
        Reply::error(403, format!("Permission check failed ({what})"))
    }

    /// Writes the response; `keep_alive` says whether the connection stays open.
    pub fn write_to(&self, out: &mut impl Write, keep_alive: bool) -> std::io::Result<()> {
        let body = serde_json::to_vec(&self.body).expect("json");
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\nCache-Control: max-age=0\r\nConnection: {}\r\n\r\n",
            self.status,
            self.reason,
            body.len(),
            if keep_alive { "Keep-Alive" } else { "close" }
        );
        out.write_all(head.as_bytes())?;
        out.write_all(&body)?;
        out.flush()
    }
}

/// A message as a reason phrase: one line, printable ASCII only.
fn reason_phrase(message: &str) -> String {
    let line = message.trim_end().lines().next().unwrap_or("");
    line.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_form_request_and_a_pipelined_one() {
        let raw = b"POST /api2/json/nodes/pve1/lxc?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 33\r\nAuthorization: PVEAPIToken=a@pve!t=s\r\n\r\nvmid=101&mp0=%2Fsrv%2Fx%2Cmp%3D/xGET /api2/json/version HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut input = &raw[..];
        let mut buf = Vec::new();
        let r = read_request(&mut input, &mut buf).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api2/json/nodes/pve1/lxc");
        assert_eq!(r.params["vmid"], "101");
        assert_eq!(r.params["mp0"], "/srv/x,mp=/x");
        assert_eq!(r.params["x"], "1");
        assert_eq!(r.authorization.as_deref(), Some("PVEAPIToken=a@pve!t=s"));
        assert!(r.keep_alive);
        let r = read_request(&mut input, &mut buf).unwrap();
        assert_eq!(r.path, "/api2/json/version");
        assert!(!r.keep_alive);
        assert!(matches!(
            read_request(&mut input, &mut buf),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn reads_a_json_body() {
        let raw = b"PUT /p HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n{\"onboot\":true,\"memory\":64}  ";
        let r = read_request(&mut &raw[..], &mut Vec::new()).unwrap();
        assert_eq!(r.params["onboot"], "1");
        assert_eq!(r.params["memory"], "64");
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2Cb+c%zz%4", true), "a,b c%zz%4");
        assert_eq!(percent_decode("a+b", false), "a+b");
    }

    #[test]
    fn errors_put_the_message_in_the_reason_and_the_body() {
        let r = Reply::forbidden("mount point type bind is only allowed for root@pam");
        let mut out = Vec::new();
        r.write_to(&mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "HTTP/1.1 403 Permission check failed (mount point type bind is only allowed for root@pam)\r\n"
        ));
        assert!(text.ends_with(
            "{\"data\":null,\"message\":\"Permission check failed (mount point type bind is only allowed for root@pam)\\n\"}"
        ));
        assert!(text.contains("Connection: close\r\n"));
    }
}
