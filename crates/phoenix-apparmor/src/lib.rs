//! AppArmor profiles for phoenix containers and the nesting tunable.
