//! `devN` entries a container's features need ([`phoenix_features::Requirements::devices`]),
//! compared with the conf: a device keeps the slot it already has (so a re-run changes
//! nothing), a new one takes the lowest free slot, and an NVIDIA node the features no
//! longer need is deleted; `devN` entries of other devices are the user's and stay.

use std::collections::BTreeSet;

use phoenix_features::host_facts::is_nvidia_node;
use phoenix_pveconf::conf::Section;

/// The `devN` keys of a conf section, with their values, by slot.
fn dev_entries(main: &Section) -> Vec<(u32, String, String)> {
    main.entries()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("dev")?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Some((n.parse().ok()?, k.to_owned(), v.to_owned())))?
        })
        .collect()
}

/// The path of a `devN` value (its default key, or `path=`).
fn path_of(value: &str) -> &str {
    value
        .split(',')
        .find_map(|p| match p.split_once('=') {
            None => Some(p),
            Some(("path", v)) => Some(v),
            _ => None,
        })
        .unwrap_or("")
}

/// Every `devN` value of a conf section (for `phoenix test`'s conf-line checks).
pub fn dev_values(main: &Section) -> Vec<&str> {
    main.entries()
        .filter(|(k, _)| {
            k.strip_prefix("dev")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|(_, v)| v)
        .collect()
}

/// What brings the section's `devN` entries to `wanted`: (key, value) to set, keys to
/// delete, one line per difference.
pub fn device_changes(
    wanted: &[String],
    main: &Section,
) -> (Vec<(String, String)>, Vec<String>, Vec<String>) {
    let seen = dev_entries(main);
    let mut taken: BTreeSet<u32> = seen.iter().map(|(n, _, _)| *n).collect();
    let (mut set, mut delete, mut why) = (Vec::new(), Vec::new(), Vec::new());
    let mut fresh = Vec::new();
    for w in wanted {
        match seen.iter().find(|(_, _, v)| path_of(v) == path_of(w)) {
            Some((_, _, v)) if v == w => {}
            Some((_, k, v)) => {
                why.push(format!("{k}: {v} -> {w}"));
                set.push((k.clone(), w.clone()));
            }
            None => fresh.push(w),
        }
    }
    for (n, k, v) in &seen {
        let p = path_of(v);
        if is_nvidia_node(p) && !wanted.iter().any(|w| path_of(w) == p) {
            why.push(format!("{k}: {v} -> (removed: no feature needs it)"));
            delete.push(k.clone());
            taken.remove(n);
        }
    }
    let mut next = 0u32;
    for w in fresh {
        while taken.contains(&next) {
            next += 1;
        }
        taken.insert(next);
        let k = format!("dev{next}");
        why.push(format!("{k}: (unset) -> {w}"));
        set.push((k, w.clone()));
    }
    // A freed slot taken by a new device is set, not deleted.
    delete.retain(|d| !set.iter().any(|(k, _)| k == d));
    (set, delete, why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_pveconf::conf::CtConf;

    #[test]
    fn devices_keep_their_slot_take_free_ones_and_stale_gpus_go() {
        let conf = CtConf::parse(
            "dev0: /dev/ttyUSB0\ndev1: /dev/nvidia1,gid=44\ndev2: /dev/nvidiactl\ndev3: path=/dev/nvidia-uvm\n",
        )
        .conf;
        let wanted = vec![
            "/dev/nvidia0,gid=44".to_owned(),
            "/dev/nvidiactl,gid=44".to_owned(),
            "/dev/nvidia-uvm".to_owned(),
        ];
        let (set, delete, why) = device_changes(&wanted, conf.main());
        assert_eq!(
            set,
            [
                ("dev2".to_owned(), "/dev/nvidiactl,gid=44".to_owned()),
                ("dev3".to_owned(), "/dev/nvidia-uvm".to_owned()),
                ("dev1".to_owned(), "/dev/nvidia0,gid=44".to_owned()),
            ]
        );
        // dev1's stale GPU makes room for the new one: set, not deleted.
        assert!(delete.is_empty(), "{delete:?}");
        assert_eq!(why.len(), 4, "{why:?}");
        // The user's /dev/ttyUSB0 stays; a second round changes nothing.
        let after = CtConf::parse(
            "dev0: /dev/ttyUSB0\ndev1: /dev/nvidia0,gid=44\ndev2: /dev/nvidiactl,gid=44\ndev3: /dev/nvidia-uvm\n",
        )
        .conf;
        let (set, delete, _) = device_changes(&wanted, after.main());
        assert!(set.is_empty() && delete.is_empty(), "{set:?} {delete:?}");
        assert_eq!(dev_values(after.main()).len(), 4);
    }
}
