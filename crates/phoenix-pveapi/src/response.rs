//! Reading Proxmox's answers: `{"data": ...}` and its error shapes, and lenient fields
//! (Proxmox sends numbers as strings in some places and strings as numbers in others).

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::transport::{Method, RawResponse};

/// The `data` of a successful answer, or the error the status and body say.
pub(crate) fn interpret(method: Method, path: &str, raw: RawResponse) -> Result<Value, ApiError> {
    let body: Option<Value> = serde_json::from_slice(&raw.body).ok();
    if (200..300).contains(&raw.status) {
        if raw.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        return match body {
            Some(Value::Object(mut o)) => Ok(o.remove("data").unwrap_or(Value::Null)),
            Some(_) => Err(decode(path, "the body is not a JSON object")),
            None => Err(decode(path, "the body is not JSON")),
        };
    }
    let field = |name: &str| body.as_ref().and_then(|b| b.get(name));
    let message = field("message")
        .and_then(Value::as_str)
        .map(|m| m.trim_end().to_owned())
        .filter(|m| !m.is_empty())
        .or_else(|| Some(raw.reason.trim().to_owned()).filter(|r| !r.is_empty()))
        .unwrap_or_else(|| format!("HTTP {}", raw.status));
    let path = path.to_owned();
    match raw.status {
        401 => Err(ApiError::Unauthorized { path }),
        403 => Err(ApiError::Forbidden { path, message }),
        400 if field("errors").is_some_and(Value::is_object) => {
            let errors = field("errors")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let text = scalar(v).unwrap_or_else(|| v.to_string());
                    (k.clone(), text.trim_end().to_owned())
                })
                .collect();
            Err(ApiError::Params { path, errors })
        }
        status => Err(ApiError::Http {
            method,
            path,
            status,
            message,
        }),
    }
}

pub(crate) fn decode(path: &str, reason: impl Into<String>) -> ApiError {
    ApiError::Decode {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// A string, number or boolean as the conf text writes it (booleans as `1`/`0`).
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

/// An object's fields, read leniently, with errors naming the path and the field.
pub(crate) struct Fields<'a> {
    path: &'a str,
    what: &'static str,
    obj: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(path: &'a str, what: &'static str, v: &'a Value) -> Result<Self, ApiError> {
        match v {
            Value::Object(obj) => Ok(Fields { path, what, obj }),
            other => Err(decode(
                path,
                format!("expected {what} as an object, got {}", kind(other)),
            )),
        }
    }

    fn wrong(&self, key: &str, v: &Value, expected: &str) -> ApiError {
        decode(
            self.path,
            format!(
                "`{key}` of {} is {}, expected {expected}",
                self.what,
                short(v)
            ),
        )
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    /// A required string (numbers are written out).
    pub(crate) fn string(&self, key: &str) -> Result<String, ApiError> {
        self.opt_string(key)?
            .ok_or_else(|| decode(self.path, format!("{} has no `{key}`", self.what)))
    }

    pub(crate) fn opt_string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => scalar(v)
                .map(Some)
                .ok_or_else(|| self.wrong(key, v, "a string")),
        }
    }

    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => number_u64(v)
                .map(Some)
                .ok_or_else(|| self.wrong(key, v, "a whole number")),
        }
    }

    pub(crate) fn u32(&self, key: &str) -> Result<u32, ApiError> {
        let v = self
            .get(key)
            .ok_or_else(|| decode(self.path, format!("{} has no `{key}`", self.what)))?;
        number_u64(v)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.wrong(key, v, "a whole number"))
    }

    pub(crate) fn opt_f64(&self, key: &str) -> Result<Option<f64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.wrong(key, &Value::String(s.clone()), "a number")),
            Some(v) => Err(self.wrong(key, v, "a number")),
        }
    }

    /// A Proxmox boolean (`0`/`1`, `"0"`/`"1"`, `true`/`false`); absent is false.
    pub(crate) fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(false),
            Some(v) => match scalar(v).as_deref() {
                Some("1" | "true") => Ok(true),
                Some("0" | "false" | "") => Ok(false),
                _ => Err(self.wrong(key, v, "0 or 1")),
            },
        }
    }
}

/// A whole number sent as a number or a string (`105` or `"105"`).
pub(crate) fn number_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value for an error message, cut short.
pub(crate) fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// `errors` of a Params error as a map (for tests and callers building one).
#[cfg(test)]
pub(crate) fn errors(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        let ok = interpret(
            Method::Get,
            "/version",
            RawResponse::data(json!({"version": "8.2.4"})),
        );
        assert_eq!(ok.unwrap(), json!({"version": "8.2.4"}));
        let null = RawResponse {
            status: 200,
            reason: "OK".into(),
            body: b"{\"data\":null}".to_vec(),
        };
        assert_eq!(interpret(Method::Put, "/x", null).unwrap(), Value::Null);

        let e = interpret(
            Method::Get,
            "/x",
            RawResponse::error(401, "authentication failure"),
        );
        assert_eq!(e.unwrap_err(), ApiError::Unauthorized { path: "/x".into() });

        let e = interpret(
            Method::Post,
            "/nodes/pve1/lxc",
            RawResponse::error(403, "Permission check failed (/vms/101, VM.Config.Disk)"),
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "permission denied on /nodes/pve1/lxc: Permission check failed (/vms/101, VM.Config.Disk)"
        );

        let e = interpret(
            Method::Post,
            "/nodes/pve1/lxc",
            RawResponse::params(&[(
                "lxc.idmap",
                "property is not defined in schema and the schema does not allow additional properties",
            )]),
        );
        assert_eq!(
            e.unwrap_err(),
            ApiError::Params {
                path: "/nodes/pve1/lxc".into(),
                errors: errors(&[(
                    "lxc.idmap",
                    "property is not defined in schema and the schema does not allow additional properties"
                )]),
            }
        );

        // Only a reason phrase, no JSON body (a proxy in between).
        let bare = RawResponse {
            status: 596,
            reason: "Connection timed out".into(),
            body: vec![],
        };
        assert_eq!(
            interpret(Method::Get, "/nodes", bare)
                .unwrap_err()
                .to_string(),
            "GET /nodes failed with HTTP 596: Connection timed out"
        );
        let garbage = RawResponse {
            status: 200,
            reason: "OK".into(),
            body: b"<html>".to_vec(),
        };
        assert_eq!(
            interpret(Method::Get, "/nodes", garbage)
                .unwrap_err()
                .to_string(),
            "cannot read the answer to /nodes: the body is not JSON"
        );
    }

    #[test]
    fn lenient_fields() {
        let v =
            json!({"vmid": "105", "mem": 5, "cpu": "0.5", "template": "1", "name": 7, "bad": [1]});
        let f = Fields::new("/p", "a guest", &v).unwrap();
        assert_eq!(f.u32("vmid").unwrap(), 105);
        assert_eq!(f.opt_u64("mem").unwrap(), Some(5));
        assert_eq!(f.opt_f64("cpu").unwrap(), Some(0.5));
        assert!(f.flag("template").unwrap());
        assert!(!f.flag("absent").unwrap());
        assert_eq!(f.string("name").unwrap(), "7");
        assert_eq!(
            f.opt_string("bad").unwrap_err().to_string(),
            "cannot read the answer to /p: `bad` of a guest is [1], expected a string"
        );
        assert_eq!(
            f.u32("nope").unwrap_err().to_string(),
            "cannot read the answer to /p: a guest has no `nope`"
        );
    }
}
