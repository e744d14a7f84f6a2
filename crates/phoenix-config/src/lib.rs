//! The phoenix config model: typed serde structs for a config directory
//! (`phoenix_lxc_configs.json`, `phoenix_hypervisor_config.json` and the optional
//! `phoenix_vm_configs.json`), the JSON Schema generated from them, and validation.
