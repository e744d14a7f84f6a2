//! Feature installers, run inside containers (through `pct exec`) and on the host.
//!
//! Not built yet: the orchestrator's customize step is where features plug in.
