//! The JSON Schemas of the three config files, generated from the model with
//! schemars: one source of truth. The committed copies in `schemas/` are produced
//! by `phoenix schema <file>`; a test fails when they are stale.

use std::sync::LazyLock;

use serde_json::Value;

use crate::model::{HypervisorFile, LxcFile, VmFile};

/// The files of a config directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigFile {
    /// `phoenix_lxc_configs.json` (required).
    Lxc,
    /// `phoenix_hypervisor_config.json` (required).
    Hypervisor,
    /// `phoenix_vm_configs.json` (optional).
    Vm,
}

impl ConfigFile {
    /// Every file, in report order.
    pub const ALL: [ConfigFile; 3] = [ConfigFile::Lxc, ConfigFile::Hypervisor, ConfigFile::Vm];

    /// The file's name in a config directory.
    pub fn file_name(self) -> &'static str {
        match self {
            ConfigFile::Lxc => "phoenix_lxc_configs.json",
            ConfigFile::Hypervisor => "phoenix_hypervisor_config.json",
            ConfigFile::Vm => "phoenix_vm_configs.json",
        }
    }

    /// The name of its committed schema in `schemas/`.
    pub fn schema_file_name(self) -> &'static str {
        match self {
            ConfigFile::Lxc => "phoenix_lxc_configs.schema.json",
            ConfigFile::Hypervisor => "phoenix_hypervisor_config.schema.json",
            ConfigFile::Vm => "phoenix_vm_configs.schema.json",
        }
    }

    /// The short name `phoenix schema` takes: `lxc`, `hypervisor`, `vm`.
    pub fn short_name(self) -> &'static str {
        match self {
            ConfigFile::Lxc => "lxc",
            ConfigFile::Hypervisor => "hypervisor",
            ConfigFile::Vm => "vm",
        }
    }
}

/// The JSON Schema (draft 2020-12) of one config file.
///
/// ```
/// use phoenix_config::schema::{schema, ConfigFile};
/// let s = schema(ConfigFile::Lxc);
/// assert_eq!(s["title"], "LxcFile");
/// assert!(s["$defs"]["Container"]["properties"]["memory_mb"].is_object());
/// ```
pub fn schema(file: ConfigFile) -> Value {
    let schema = match file {
        ConfigFile::Lxc => schemars::schema_for!(LxcFile),
        ConfigFile::Hypervisor => schemars::schema_for!(HypervisorFile),
        ConfigFile::Vm => schemars::schema_for!(VmFile),
    };
    let mut value = schema.to_value();
    strip_null(&mut value);
    add_property_names(&mut value);
    add_integer_maxima(&mut value);
    value
}

/// schemars marks `u32` as `"format": "uint32"` with a minimum but no maximum, and
/// formats are not asserted: `4294967296` or `1e23` would pass the schema and only fail
/// typing, with no position. The maximum of each unsigned format makes the schema
/// pass name the pointer, line and column of an out-of-range integer.
fn add_integer_maxima(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let max: Option<u64> = match map.get("format").and_then(Value::as_str) {
                Some("uint8") => Some(u8::MAX.into()),
                Some("uint16") => Some(u16::MAX.into()),
                Some("uint32") => Some(u32::MAX.into()),
                Some("uint64") => Some(u64::MAX),
                _ => None,
            };
            if let Some(max) = max
                && !map.contains_key("maximum")
            {
                map.insert("maximum".into(), max.into());
            }
            map.values_mut().for_each(add_integer_maxima);
        }
        Value::Array(items) => items.iter_mut().for_each(add_integer_maxima),
        _ => {}
    }
}

/// Optional fields are simply absent in phoenix files; `null` is not a value they
/// take. schemars writes `Option<T>` as "T or null"; this keeps only T, so the
/// schema is stricter and its errors name T's own rule instead of "not any of".
fn strip_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            let null = serde_json::json!({"type": "null"});
            if let Some(Value::Array(branches)) = map.get("anyOf")
                && branches.len() == 2
                && branches.contains(&null)
            {
                let keep = branches.iter().find(|b| **b != null).cloned();
                map.remove("anyOf");
                if let Some(Value::Object(keep)) = keep {
                    for (k, v) in keep {
                        map.entry(k).or_insert(v);
                    }
                }
            }
            map.values_mut().for_each(strip_null);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// The schema as the committed file holds it: pretty JSON and a final newline.
pub fn schema_text(file: ConfigFile) -> String {
    let mut text = serde_json::to_string_pretty(&schema(file)).expect("a schema serializes");
    text.push('\n');
    text
}

/// schemars describes `BTreeMap<Ctid, _>` keys only as strings; constrain guest-id
/// keys (`lxc_configs`, `mounts`) with the id pattern so editors and the schema pass
/// reject `"99"` or `"abc"` as keys.
fn add_property_names(schema: &mut Value) {
    let pattern = crate::ids::Ctid::PATTERN;
    let fix = |obj: Option<&mut Value>| {
        if let Some(Value::Object(map)) = obj {
            map.insert(
                "propertyNames".into(),
                serde_json::json!({ "pattern": pattern }),
            );
        }
    };
    fix(schema.pointer_mut("/properties/lxc_configs"));
    fix(schema.pointer_mut("/$defs/SharedVolume/properties/mounts"));
    // A map keyed by a patterned newtype comes out as `patternProperties` with
    // `additionalProperties: false`, so a bad key reads as an unknown field; say it as
    // a key pattern instead, like the id maps.
    if let Some(Value::Object(map)) = schema.pointer_mut("/$defs/Cluster/properties/nodes")
        && let Some(Value::Object(by_pattern)) = map.remove("patternProperties")
        && let Some((pattern, value)) = by_pattern.into_iter().next()
    {
        map.insert("additionalProperties".into(), value);
        map.insert(
            "propertyNames".into(),
            serde_json::json!({ "pattern": pattern }),
        );
    }
}

/// Compiled validators, built once per process.
pub(crate) fn validator(file: ConfigFile) -> &'static jsonschema::Validator {
    static LXC: LazyLock<jsonschema::Validator> = LazyLock::new(|| build(ConfigFile::Lxc));
    static HYPERVISOR: LazyLock<jsonschema::Validator> =
        LazyLock::new(|| build(ConfigFile::Hypervisor));
    static VM: LazyLock<jsonschema::Validator> = LazyLock::new(|| build(ConfigFile::Vm));
    match file {
        ConfigFile::Lxc => &LXC,
        ConfigFile::Hypervisor => &HYPERVISOR,
        ConfigFile::Vm => &VM,
    }
}

/// The generated schemas as values, built once per process (for error messages
/// that need the schema, like did-you-mean suggestions).
pub(crate) fn schema_value(file: ConfigFile) -> &'static Value {
    static LXC: LazyLock<Value> = LazyLock::new(|| schema(ConfigFile::Lxc));
    static HYPERVISOR: LazyLock<Value> = LazyLock::new(|| schema(ConfigFile::Hypervisor));
    static VM: LazyLock<Value> = LazyLock::new(|| schema(ConfigFile::Vm));
    match file {
        ConfigFile::Lxc => &LXC,
        ConfigFile::Hypervisor => &HYPERVISOR,
        ConfigFile::Vm => &VM,
    }
}

/// True when `value` fits the schema of `file`.
pub(crate) fn is_valid(file: ConfigFile, value: &Value) -> bool {
    validator(file).is_valid(value)
}

fn build(file: ConfigFile) -> jsonschema::Validator {
    jsonschema::validator_for(schema_value(file)).expect("the generated schema compiles")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles_and_accepts_its_smallest_file() {
        let smallest = |file| match file {
            ConfigFile::Lxc => serde_json::json!({"lxc_configs": {}}),
            ConfigFile::Hypervisor | ConfigFile::Vm => serde_json::json!({}),
        };
        for file in ConfigFile::ALL {
            assert!(validator(file).is_valid(&smallest(file)), "{file:?}");
            assert!(
                !validator(file).is_valid(&serde_json::json!([])),
                "{file:?}"
            );
        }
        assert!(!validator(ConfigFile::Lxc).is_valid(&serde_json::json!({})));
    }

    #[test]
    fn optional_fields_do_not_take_null() {
        let v = serde_json::json!({"lxc_configs": {}, "nvidia_driver_version": null});
        assert!(!validator(ConfigFile::Lxc).is_valid(&v));
    }

    #[test]
    fn id_keys_are_constrained() {
        let s = schema(ConfigFile::Lxc);
        assert_eq!(
            s["properties"]["lxc_configs"]["propertyNames"]["pattern"],
            crate::ids::Ctid::PATTERN
        );
        let h = schema(ConfigFile::Hypervisor);
        assert!(h["$defs"]["SharedVolume"]["properties"]["mounts"]["propertyNames"].is_object());
    }
}
