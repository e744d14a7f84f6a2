//! AppArmor profiles for phoenix containers and the nesting tunable.
//!
//! A typed profile model ([`model`]), a renderer ([`render`]), the profiles phoenix
//! ships ([`shipped`]), per-container extra rules ([`extra`]), the
//! `tunables/nesting` file ([`tunable`]), installing under a root with reloads
//! through an injected [`ProfileLoader`] ([`install`]), and setting the profile in a
//! container's conf ([`conf`]).
//!
//! A rendered profile looks like this (abridged):
//!
//! ```text
//! # lxc-phoenix-v2: phoenix's base profile for unprivileged containers.
//! #include <tunables/global>
//!
//! profile lxc-phoenix-v2 flags=(attach_disconnected,mediate_deleted) {
//!   # lxc's rules for every container: ...
//!   #include <abstractions/lxc/container-base>
//!
//!   # Loading or replacing AppArmor policy would let the container rewrite ...
//!   audit deny capability mac_admin,
//! }
//! ```
//!
//! ```
//! use phoenix_apparmor::{render::render_profile, ShippedProfile};
//! let text = render_profile(&ShippedProfile::DockerSecure.profile());
//! assert!(text.contains("change_profile -> @{apparmor_nesting_profiles},"));
//! ```

pub mod conf;
pub mod error;
pub mod extra;
pub mod install;
pub mod model;
pub mod names;
pub mod render;
pub mod shipped;
pub mod tunable;
pub mod vocab;

pub use error::ModelError;
pub use extra::ExtraRule;
pub use install::{InstallError, InstallPlan, InstallReport, LoadError, ProfileLoader};
pub use model::{FilePerms, Profile};
pub use names::{FsType, IncludePath, PathPattern, ProfileName, VariableName};
pub use shipped::ShippedProfile;
pub use vocab::{Capability, MountOption, NetworkDomain, NetworkType, ProfileFlag};
