//! Proxmox property strings (`net0`, `mp0`, `rootfs`, `features`, `startup`, `dev0`,
//! sizes, MAC addresses, mount idmaps): no input may panic, and what a parser accepts
//! prints as a string it reads back to the same value.
//!
//! Input: the first byte picks the property type, the rest is the value.
//!
//! Run: `bash scripts/fuzz.sh 600 props`

#![no_main]

use std::fmt::Debug;
use std::fmt::Display;
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use phoenix_pveconf::props::{
    Device, DiskSize, Features, Ipv4Config, Ipv6Config, MacAddr, MountIdmap, MountPoint, NetConfig,
    RootFs, Startup,
};

/// Parses `s`; when it parses, its printed form must parse back to an equal value.
fn round_trip<T>(s: &str)
where
    T: FromStr + Display + PartialEq + Debug,
{
    if let Ok(value) = s.parse::<T>() {
        let shown = value.to_string();
        match shown.parse::<T>() {
            Ok(back) => assert_eq!(back, value, "{s:?} printed as {shown:?}"),
            Err(_) => panic!("{s:?} printed as {shown:?}, which does not parse"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    match pick % 11 {
        0 => round_trip::<NetConfig>(s),
        1 => round_trip::<MountPoint>(s),
        2 => round_trip::<RootFs>(s),
        3 => round_trip::<Features>(s),
        4 => round_trip::<Startup>(s),
        5 => round_trip::<Device>(s),
        6 => round_trip::<DiskSize>(s),
        7 => round_trip::<MacAddr>(s),
        8 => round_trip::<MountIdmap>(s),
        9 => round_trip::<Ipv4Config>(s),
        _ => round_trip::<Ipv6Config>(s),
    }
});
