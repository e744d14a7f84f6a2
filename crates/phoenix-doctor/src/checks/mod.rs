//! The checks, each a pure function of [`crate::HostFacts`] (and the fleet's needs).

pub mod fleet;
pub mod host;
