//! The committed schemas in `schemas/` are the generated ones.
//!
//! Regenerate them with `UPDATE_SCHEMAS=1 cargo test -p phoenix-config --test schemas`.

use std::path::PathBuf;

use phoenix_config::schema::{ConfigFile, schema_text};

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

#[test]
fn committed_schemas_are_current() {
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    for file in ConfigFile::ALL {
        let path = schemas_dir().join(file.schema_file_name());
        let want = schema_text(file);
        if update {
            // Write next to the target and rename, so a reader never sees half a file.
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, &want).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
            continue;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "schemas/{} is stale: run UPDATE_SCHEMAS=1 cargo test -p phoenix-config --test schemas",
            file.schema_file_name()
        );
    }
}

#[test]
fn schemas_are_valid_draft_2020_12() {
    for file in ConfigFile::ALL {
        let schema: serde_json::Value = serde_json::from_str(&schema_text(file)).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(jsonschema::meta::is_valid(&schema), "{file:?}");
    }
}

#[test]
fn every_field_has_a_description() {
    fn walk(path: &str, v: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            // An enum variant `{"file": {...}}` carries its description on the variant.
            let variant = props.len() == 1 && v.get("description").is_some();
            for (name, prop) in props {
                if name != "$schema" && !variant && prop.get("description").is_none() {
                    missing.push(format!("{path}/{name}"));
                }
            }
        }
        match v {
            serde_json::Value::Object(obj) => {
                for (k, child) in obj {
                    if k == "properties" {
                        // A map of field names to schemas, not a schema itself.
                        for (name, prop) in child.as_object().into_iter().flatten() {
                            walk(&format!("{path}/properties/{name}"), prop, missing);
                        }
                    } else {
                        walk(&format!("{path}/{k}"), child, missing);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{path}/{i}"), item, missing);
                }
            }
            _ => {}
        }
    }
    for file in ConfigFile::ALL {
        let mut missing = Vec::new();
        walk("", &phoenix_config::schema::schema(file), &mut missing);
        assert!(
            missing.is_empty(),
            "fields without a doc comment: {missing:?}"
        );
    }
}
