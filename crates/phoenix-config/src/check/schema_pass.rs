//! Pass (a): the raw JSON against the generated schema, every error, each turned
//! into a precise message (the newtype's own reason for a pattern, a did-you-mean
//! for an unknown field).

use std::collections::BTreeMap;

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::{Finding, suggest};
use crate::diagnostic::{escape_segment, show_pointer};
use crate::schema::{ConfigFile, schema_value, validator};

/// Every schema error of one file.
pub(crate) fn check(file: ConfigFile, value: &Value) -> Vec<Finding> {
    let errors: Vec<ValidationError<'_>> = validator(file).iter_errors(value).collect();
    convert(file, &errors)
}

/// Unknown and missing fields of one object, collected to report them together.
#[derive(Default)]
struct ObjectProblems {
    unknown: Vec<String>,
    missing: Vec<String>,
    schema_path: String,
}

fn convert(file: ConfigFile, errors: &[ValidationError<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut objects: BTreeMap<String, ObjectProblems> = BTreeMap::new();
    for error in errors {
        let pointer = error.instance_path().as_str().to_owned();
        let schema_path = error.schema_path().as_str().to_owned();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let o = objects.entry(pointer).or_default();
                o.unknown.extend(unexpected.iter().cloned());
                o.schema_path = parent(&schema_path).to_owned();
            }
            ValidationErrorKind::Required { property } => {
                let o = objects.entry(pointer).or_default();
                o.missing
                    .push(property.as_str().unwrap_or_default().to_owned());
                o.schema_path = parent(&schema_path).to_owned();
            }
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                out.extend(one_of(file, error, context, &pointer, &schema_path));
            }
            _ => out.push(simple(file, error, &pointer, &schema_path)),
        }
    }
    for (pointer, o) in objects {
        out.extend(object_problems(file, &pointer, o));
    }
    out
}

fn parent(schema_path: &str) -> &str {
    schema_path.rsplit_once('/').map_or("", |(p, _)| p)
}

fn schema_at(file: ConfigFile, schema_path: &str) -> Option<&'static Value> {
    schema_value(file).pointer(schema_path)
}

/// "SharedVolume" from `/$defs/SharedVolume/...`, as words: "shared volume".
fn type_words(schema_path: &str) -> Option<String> {
    let name = schema_path
        .split('/')
        .skip_while(|s| *s != "$defs")
        .nth(1)?;
    let mut words = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    Some(words)
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn object_problems(file: ConfigFile, pointer: &str, mut o: ObjectProblems) -> Vec<Finding> {
    let shown = show_pointer(pointer);
    let known: Vec<&'static str> = schema_at(file, &format!("{}/properties", o.schema_path))
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    // A misspelt field shows up twice (unknown "memroy_mb", missing "memory_mb"):
    // report the typo with its suggestion, once.
    let mut unknown = Vec::new();
    for name in std::mem::take(&mut o.unknown) {
        let hint = suggest(&name, known.iter().copied());
        let typo = hint.is_some_and(|h| o.missing.iter().any(|m| m == h));
        if typo {
            o.missing.retain(|m| Some(m.as_str()) != hint);
        }
        if typo || o.missing.is_empty() {
            let hint = hint
                .map(|s| format!(": did you mean \"{s}\"?"))
                .unwrap_or_default();
            let finding = Finding::error(
                file,
                format!("{pointer}/{}", escape_segment(&name)),
                format!("unknown field \"{name}\" at {shown}{hint}"),
            )
            .at_key();
            // Cutting out a typo leaves a required field missing; only a plain
            // extra field can be cut out.
            out.push(if typo { finding } else { finding.removable() });
        } else {
            unknown.push(name);
        }
    }
    if !unknown.is_empty() && !o.missing.is_empty() {
        // Both at once usually means the object is something else entirely (a
        // firewall section inside shared_volumes): one diagnostic, not five.
        let what = type_words(&o.schema_path)
            .map_or(String::from("the expected object"), |w| format!("a {w}"));
        let finding = Finding::error(
            file,
            pointer,
            format!(
                "{shown} is not {what}: it lacks {} and has unknown {} {}{}",
                quoted(&o.missing),
                if unknown.len() == 1 {
                    "field"
                } else {
                    "fields"
                },
                quoted(&unknown),
                top_level_hint(file, pointer)
            ),
        )
        .at_key();
        // A container cannot be cut out: other guests may name it.
        let container = pointer.starts_with("/lxc_configs/") && pointer.matches('/').count() == 2;
        out.push(if container {
            finding
        } else {
            finding.removable()
        });
        return out;
    }
    for name in &o.missing {
        out.push(
            Finding::error(
                file,
                pointer,
                format!("missing required field \"{name}\" at {shown}"),
            )
            .at_key(),
        );
    }
    out
}

/// `; did you mean the top-level "firewall" section?` when a misplaced object is
/// named like a section of the file's top level.
fn top_level_hint(file: ConfigFile, pointer: &str) -> String {
    let Some((parent, name)) = pointer.rsplit_once('/') else {
        return String::new();
    };
    let top = schema_value(file)["properties"].get(name);
    if parent.is_empty() || top.is_none() {
        return String::new();
    }
    format!("; did you mean the top-level \"{name}\" section?")
}

/// "expected one of ..." with the options, or their count when there are many,
/// and a did-you-mean for a string close to one of them.
fn expected_one_of(instance: &Value, options: &[String]) -> String {
    let list = if options.len() > 8 {
        format!("{} allowed values", options.len())
    } else {
        options.join(", ")
    };
    let names: Vec<&str> = options.iter().map(|o| o.trim_matches('"')).collect();
    let hint = instance
        .as_str()
        .and_then(|s| suggest(s, names.iter().copied()))
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default();
    format!("expected one of {list}{hint}")
}

fn show_value(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

fn simple(
    file: ConfigFile,
    error: &ValidationError<'_>,
    pointer: &str,
    schema_path: &str,
) -> Finding {
    let shown = show_pointer(pointer);
    let instance: &Value = error.instance();
    if crate::model::secret::is_secret_pointer(pointer) {
        // Whatever is wrong with a secret, its value is never printed.
        return Finding::error(
            file,
            pointer,
            format!(
                "invalid secret at {shown}: expected a string, {{\"file\": \"/path\"}} or {{\"env\": \"VAR\"}}"
            ),
        );
    }
    let value = show_value(instance);
    let message = match error.kind() {
        ValidationErrorKind::Pattern { pattern } => {
            match instance
                .as_str()
                .and_then(|s| crate::value::explain(pattern, s))
            {
                Some(e) => format!(
                    "invalid {} \"{}\" at {shown}: {}",
                    e.what, e.value, e.reason
                ),
                None => format!("invalid value {value} at {shown}: does not match {pattern}"),
            }
        }
        ValidationErrorKind::PropertyNames { error: inner } => {
            let key = inner.instance().as_str().unwrap_or_default().to_owned();
            let key_pointer = format!("{pointer}/{}", escape_segment(&key));
            let message = match inner.kind() {
                ValidationErrorKind::Pattern { pattern } => {
                    match crate::value::explain(pattern, &key) {
                        Some(e) => format!(
                            "invalid {} \"{key}\" at {key_pointer}: {}",
                            e.what, e.reason
                        ),
                        None => format!(
                            "invalid key \"{key}\" at {key_pointer}: does not match {pattern}"
                        ),
                    }
                }
                _ => format!("invalid key \"{key}\" at {key_pointer}: {inner}"),
            };
            return Finding::error(file, key_pointer, message).at_key();
        }
        // A value the pattern allows but the type refuses (a reserved snapshot name):
        // the newtype behind the pattern beside the `not` says why.
        ValidationErrorKind::Not { .. } => {
            let explained = schema_at(file, parent(schema_path))
                .and_then(|s| s.get("pattern"))
                .and_then(Value::as_str)
                .zip(instance.as_str())
                .and_then(|(pattern, s)| crate::value::explain(pattern, s));
            match explained {
                Some(e) => format!(
                    "invalid {} \"{}\" at {shown}: {}",
                    e.what, e.value, e.reason
                ),
                None => format!("invalid value {value} at {shown}: {error}"),
            }
        }
        ValidationErrorKind::Type { .. } => {
            let expected =
                schema_at(file, schema_path).map_or(String::from("another type"), |t| match t {
                    Value::Array(ts) => ts
                        .iter()
                        .map(|t| t.as_str().unwrap_or("?"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    t => t.as_str().unwrap_or("?").to_owned(),
                });
            format!(
                "invalid value {value} at {shown}: expected {}",
                article(&expected)
            )
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(Value::to_string).collect())
                .unwrap_or_default();
            format!(
                "invalid value {value} at {shown}: {}",
                expected_one_of(instance, &options)
            )
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("invalid value {value} at {shown}: must be at least {limit}")
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("invalid value {value} at {shown}: must be at most {limit}")
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("invalid value {value} at {shown}: must be more than {limit}")
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("invalid value {value} at {shown}: must be less than {limit}")
        }
        ValidationErrorKind::MinLength { limit } => {
            format!("invalid value {value} at {shown}: must be at least {limit} characters long")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("invalid value {value} at {shown}: must be at most {limit} characters long")
        }
        _ => format!("invalid value at {shown}: {error}"),
    };
    Finding::error(file, pointer, message)
}

fn article(t: &str) -> String {
    if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {t}")
    } else {
        format!("a {t}")
    }
}

/// An `anyOf`/`oneOf` failure (a typed AppArmor rule, an address-or-subnet):
/// when one branch got further into the value than the others, its errors are the
/// useful ones; otherwise say which forms were expected.
fn one_of(
    file: ConfigFile,
    error: &ValidationError<'_>,
    context: &[Vec<ValidationError<'static>>],
    pointer: &str,
    schema_path: &str,
) -> Vec<Finding> {
    let depth = |errs: &Vec<ValidationError<'static>>| {
        errs.iter()
            .map(|e| e.instance_path().as_str().len())
            .max()
            .unwrap_or(0)
    };
    if crate::model::secret::is_secret_pointer(pointer) {
        return vec![simple(file, error, pointer, schema_path)];
    }
    let deepest = context.iter().map(depth).max().unwrap_or(0);
    let best: Vec<&Vec<ValidationError<'static>>> =
        context.iter().filter(|e| depth(e) == deepest).collect();
    if deepest > pointer.len() && best.len() == 1 {
        return convert(file, best[0]);
    }
    // A value of the right type for only some forms (a string where the forms are an
    // array or a string pattern): those forms' errors say what is wrong. Among them, a
    // pattern error (with its type's own reason) says more than "not one of these words".
    let here = error.instance_path().as_str();
    let fitting: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|errs| {
            !errs.iter().all(|e| {
                matches!(e.kind(), ValidationErrorKind::Type { .. })
                    && e.instance_path().as_str() == here
            })
        })
        .collect();
    let with_pattern: Vec<&&Vec<ValidationError<'static>>> = fitting
        .iter()
        .filter(|errs| {
            errs.iter()
                .any(|e| matches!(e.kind(), ValidationErrorKind::Pattern { .. }))
        })
        .collect();
    match (fitting.len(), with_pattern.len()) {
        (1, _) => return convert(file, fitting[0]),
        (n, 1) if n > 1 => return convert(file, with_pattern[0]),
        _ => {}
    }
    let forms: Vec<String> = schema_at(file, schema_path)
        .and_then(Value::as_array)
        .map(|branches| {
            branches
                .iter()
                .filter_map(|b| {
                    b.get("required")
                        .and_then(|r| r.get(0))
                        .and_then(Value::as_str)
                        .map(|k| format!("{{\"{k}\": ...}}"))
                        .or_else(|| b.get("$ref").and_then(Value::as_str).and_then(type_words))
                        .or_else(|| b.get("const").map(show_value))
                })
                .collect()
        })
        .unwrap_or_default();
    let value = show_value(error.instance());
    vec![Finding::error(
        file,
        pointer,
        format!(
            "invalid value {value} at {}: {}",
            show_pointer(pointer),
            expected_one_of(error.instance(), &forms)
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(file: ConfigFile, v: Value) -> Vec<String> {
        check(file, &v).into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn every_newtype_pattern_has_a_precise_reason() {
        // A `$defs` entry with a pattern is a newtype; its pattern errors must be
        // explained by the newtype, not reported as a bare regular expression.
        for file in ConfigFile::ALL {
            let defs = schema_value(file)["$defs"].as_object().unwrap();
            for (name, def) in defs {
                if let Some(pattern) = def.get("pattern").and_then(Value::as_str) {
                    let explained = crate::value::explain(pattern, "\u{1}not valid\u{1}");
                    assert!(
                        explained.is_some(),
                        "{name} has no explanation for {pattern}"
                    );
                }
            }
        }
    }

    #[test]
    fn type_words_split_camel_case() {
        assert_eq!(
            type_words("/$defs/SharedVolume/required").as_deref(),
            Some("shared volume")
        );
        assert_eq!(type_words("/required"), None);
    }

    #[test]
    fn unknown_top_level_field() {
        let m = messages(ConfigFile::Vm, serde_json::json!({"vmz": []}));
        assert_eq!(m, vec!["unknown field \"vmz\" at /: did you mean \"vms\"?"]);
    }

    #[test]
    fn bad_rule_names_the_deepest_branch() {
        let m = messages(
            ConfigFile::Lxc,
            serde_json::json!({"lxc_configs": {"100": {"name": "a", "memory_mb": 64, "cores": 1,
                "storage_pool": "local", "storage_size_gb": 1,
                "network_config": {"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.2/24"},
                "apparmor_extra_rules": [{"capability": "sys_ptrce"}]}}}),
        );
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("did you mean \"sys_ptrace\"?"), "{m:?}");
    }
}
