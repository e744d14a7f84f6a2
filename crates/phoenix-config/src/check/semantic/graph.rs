//! Ids, how guests are created, references between guests, cycles and boot order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Ctx, Guest, ct};
use crate::ids::Ctid;
use crate::schema::ConfigFile::{self, Lxc, Vm};

pub(super) fn unique_ids(ctx: &mut Ctx<'_>) {
    let vms: Vec<_> = ctx.vms().collect();
    for (i, vm) in vms {
        let pointer = format!("/vms/{i}/vmid");
        match ctx.guests.get(&vm.vmid).copied() {
            Some(Guest::Container(_)) => ctx.error(
                Vm,
                pointer,
                format!(
                    "duplicate guest id {} at /vms/{i}/vmid: container {} in {} has the same id",
                    vm.vmid,
                    vm.vmid,
                    Lxc.file_name()
                ),
            ),
            Some(Guest::Vm(j, _)) => ctx.error(
                Vm,
                pointer,
                format!(
                    "duplicate guest id {} at /vms/{i}/vmid: /vms/{j} has the same id",
                    vm.vmid
                ),
            ),
            None => {
                ctx.guests.insert(vm.vmid, Guest::Vm(i, vm));
            }
        }
    }
}

/// A container is created from an OS template or cloned; exactly one of the two.
pub(super) fn creation(ctx: &mut Ctx<'_>) {
    for (id, c) in ctx.containers() {
        match (&c.template, &c.clone_from_ctid) {
            (None, None) => ctx.error(
                Lxc,
                ct(id),
                format!(
                    "container {id} at {}: sets neither template nor clone_from_ctid, so it cannot be created",
                    ct(id)
                ),
            ),
            (Some(_), Some(_)) => ctx.error(
                Lxc,
                format!("{}/template", ct(id)),
                format!(
                    "container {id} at {}/template: sets both template and clone_from_ctid; a container is created from one",
                    ct(id)
                ),
            ),
            _ => {}
        }
    }
}

pub(super) fn references(ctx: &mut Ctx<'_>) {
    let containers: Vec<_> = ctx.containers().collect();
    for (id, c) in containers {
        if let Some(src) = c.clone_from_ctid {
            let pointer = format!("{}/clone_from_ctid", ct(id));
            match ctx.guests.get(&src).copied() {
                None => ctx.error(
                    Lxc,
                    &pointer,
                    format!("unknown clone source {src} at {pointer}: no container or VM has this id"),
                ),
                Some(Guest::Vm(..)) => ctx.error(
                    Lxc,
                    &pointer,
                    format!("clone source {src} at {pointer}: is a VM; a container can only be cloned from a container"),
                ),
                Some(Guest::Container(source)) => {
                    if source.template_snapshot_name.is_none() && src != id {
                        ctx.error(
                            Lxc,
                            &pointer,
                            format!(
                                "clone source {src} at {pointer}: container {src} defines no template_snapshot_name to clone from"
                            ),
                        );
                    }
                    if source.unprivileged != c.unprivileged {
                        let p = format!("{}/unprivileged", ct(id));
                        ctx.error(
                            Lxc,
                            &p,
                            format!(
                                "clone {id} at {p}: unprivileged is {} but its source {src} has {}; Proxmox cannot change it after create",
                                c.unprivileged, source.unprivileged
                            ),
                        );
                    }
                }
            }
        }
        for (i, dep) in c.dependencies.iter().enumerate() {
            if !ctx.guests.contains_key(dep) {
                let pointer = format!("{}/dependencies/{i}", ct(id));
                ctx.error(
                    Lxc,
                    &pointer,
                    format!(
                        "unknown dependency {dep} at {pointer}: no container or VM has this id"
                    ),
                );
            }
        }
    }
    let vms: Vec<_> = ctx.vms().collect();
    for (n, vm) in vms {
        for (i, dep) in vm.dependencies.iter().enumerate() {
            if !ctx.guests.contains_key(dep) {
                let pointer = format!("/vms/{n}/dependencies/{i}");
                ctx.error(
                    Vm,
                    &pointer,
                    format!(
                        "unknown dependency {dep} at {pointer}: no container or VM has this id"
                    ),
                );
            }
        }
    }
    let vms: Vec<_> = ctx.vms().collect();
    for (i, vm) in vms {
        let Some(src) = vm.clone_from_vmid else {
            continue;
        };
        let pointer = format!("/vms/{i}/clone_from_vmid");
        match ctx.guests.get(&src).copied() {
            None => ctx.error(
                Vm,
                &pointer,
                format!("unknown clone source {src} at {pointer}: no container or VM has this id"),
            ),
            Some(Guest::Container(_)) => ctx.error(
                Vm,
                &pointer,
                format!("clone source {src} at {pointer}: is a container; a VM can only be cloned from a VM"),
            ),
            Some(Guest::Vm(_, source)) => {
                if !source.is_template && source.template_snapshot_name.is_none() {
                    ctx.error(
                        Vm,
                        &pointer,
                        format!(
                            "clone source {src} at {pointer}: VM {src} is not a template (is_template) and defines no template_snapshot_name"
                        ),
                    );
                }
            }
        }
    }
}

type Edges = BTreeMap<Ctid, Vec<(Ctid, String)>>;

/// Every cycle once, each as its ids (first repeated at the end) and the pointer
/// of the edge that closes it. Iterative, so a long chain cannot overflow the stack.
fn find_cycles(edges: &Edges) -> Vec<(Vec<Ctid>, String)> {
    let mut color: HashMap<Ctid, u8> = HashMap::new();
    let mut seen: BTreeSet<Vec<Ctid>> = BTreeSet::new();
    let mut found = Vec::new();
    for &start in edges.keys() {
        if color.get(&start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(Ctid, usize)> = vec![(start, 0)];
        color.insert(start, 1);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let out = edges.get(&node).map(Vec::as_slice).unwrap_or_default();
            if *next < out.len() {
                let (to, pointer) = &out[*next];
                *next += 1;
                match color.get(to).copied().unwrap_or(0) {
                    0 if edges.contains_key(to) => {
                        color.insert(*to, 1);
                        stack.push((*to, 0));
                    }
                    1 => {
                        let pos = stack
                            .iter()
                            .position(|(n, _)| n == to)
                            .expect("on the stack");
                        let mut cycle: Vec<Ctid> = stack[pos..].iter().map(|(n, _)| *n).collect();
                        let mut key = cycle.clone();
                        key.sort();
                        if seen.insert(key) {
                            cycle.push(*to);
                            found.push((cycle, pointer.clone()));
                        }
                    }
                    _ => {}
                }
            } else {
                color.insert(node, 2);
                stack.pop();
            }
        }
    }
    found
}

fn show_cycle(cycle: &[Ctid]) -> String {
    cycle
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}

pub(super) fn cycles(ctx: &mut Ctx<'_>) {
    let mut clones: Edges = BTreeMap::new();
    let mut deps: Edges = BTreeMap::new();
    for (id, c) in ctx.containers() {
        let e = clones.entry(id).or_default();
        if let Some(src) = c.clone_from_ctid {
            e.push((src, format!("{}/clone_from_ctid", ct(id))));
        }
        let d = deps.entry(id).or_default();
        for (i, dep) in c.dependencies.iter().enumerate() {
            d.push((*dep, format!("{}/dependencies/{i}", ct(id))));
        }
    }
    for (n, vm) in ctx.vms() {
        let d = deps.entry(vm.vmid).or_default();
        for (i, dep) in vm.dependencies.iter().enumerate() {
            d.push((*dep, format!("/vms/{n}/dependencies/{i}")));
        }
    }
    for (cycle, pointer) in find_cycles(&clones) {
        ctx.error(
            Lxc,
            &pointer,
            format!("clone cycle at {pointer}: {}", show_cycle(&cycle)),
        );
    }
    for (cycle, pointer) in find_cycles(&deps) {
        ctx.error(
            if pointer.starts_with("/vms/") {
                Vm
            } else {
                Lxc
            },
            &pointer,
            format!("dependency cycle at {pointer}: {}", show_cycle(&cycle)),
        );
    }
}

/// Whether a guest starts at boot, and its boot order.
fn boot(guest: Guest<'_>) -> (bool, Option<u32>) {
    match guest {
        Guest::Container(c) => (c.start_at_boot, c.boot_order),
        Guest::Vm(_, vm) => (vm.start_at_boot.unwrap_or(false), vm.boot_order),
    }
}

/// A guest that starts at boot must start after the guests it depends on.
/// Proxmox starts guests by ascending `order`; guests without one start last.
pub(super) fn boot_order(ctx: &mut Ctx<'_>) {
    let mut guests: Vec<(ConfigFile, String, Ctid, Guest<'_>, &[Ctid])> = Vec::new();
    for (id, c) in ctx.containers() {
        guests.push((Lxc, ct(id), id, Guest::Container(c), &c.dependencies));
    }
    for (n, vm) in ctx.vms() {
        guests.push((
            Vm,
            format!("/vms/{n}"),
            vm.vmid,
            Guest::Vm(n, vm),
            &vm.dependencies,
        ));
    }
    for (file, base, id, guest, dependencies) in guests {
        let (at_boot, order) = boot(guest);
        if !at_boot {
            continue;
        }
        for (i, dep) in dependencies.iter().enumerate() {
            let Some(d) = ctx.guests.get(dep).copied() else {
                continue;
            };
            if *dep == id {
                continue;
            }
            let (dep_at_boot, dep_order) = boot(d);
            if !dep_at_boot {
                let pointer = format!("{base}/dependencies/{i}");
                ctx.warning(
                    file,
                    &pointer,
                    format!(
                        "dependency {dep} at {pointer}: {id} starts at boot but {dep} does not"
                    ),
                );
                continue;
            }
            let before = match (order, dep_order) {
                (Some(mine), Some(theirs)) => mine < theirs,
                (Some(_), None) => true,
                _ => false,
            };
            if before {
                let pointer = format!("{base}/boot_order");
                let theirs = dep_order
                    .map_or(String::from("no boot_order, so it starts last"), |o| {
                        format!("boot_order {o}")
                    });
                ctx.error(
                    file,
                    &pointer,
                    format!(
                        "boot order at {pointer}: {id} (boot_order {}) starts before its dependency {dep} ({theirs})",
                        order.unwrap_or_default()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> Ctid {
        Ctid::new(n).unwrap()
    }

    #[test]
    fn cycles_are_found_once() {
        let mut e: Edges = BTreeMap::new();
        e.insert(id(101), vec![(id(102), "a".into())]);
        e.insert(id(102), vec![(id(103), "b".into())]);
        e.insert(id(103), vec![(id(101), "c".into()), (id(999), "x".into())]);
        e.insert(id(104), vec![(id(104), "d".into())]);
        let found = find_cycles(&e);
        assert_eq!(found.len(), 2);
        assert_eq!(show_cycle(&found[0].0), "101 -> 102 -> 103 -> 101");
        assert_eq!(found[0].1, "c");
        assert_eq!(show_cycle(&found[1].0), "104 -> 104");
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let mut e: Edges = BTreeMap::new();
        for n in 100..200_100u32 {
            e.insert(id(n), vec![(id(n + 1), String::new())]);
        }
        assert!(find_cycles(&e).is_empty());
    }
}
