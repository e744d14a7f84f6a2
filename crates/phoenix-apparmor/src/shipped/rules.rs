//! The rules of the shipped profiles, each with the reason it is there.

use crate::model::{
    CapabilityRule, ChangeTarget, Entry, FilePerms, FileRule, MountRule, PivotRootRule, Qualifier,
    Rule, entry,
};
use crate::names::{PathPattern, ProfileName};
use crate::tunable::nesting_variable;
use crate::vocab::{Capability, MountOption};

/// Where nested container runtimes keep container roots: Docker's storage, and
/// containerd's snapshots and task bundles.
const RUNTIME_ROOTS: &str = "/{var/lib/docker,var/lib/containerd,run/containerd}/**";

pub(super) fn v2_entries() -> Vec<Entry> {
    let mut e = vec![
        entry(
            "lxc's rules for every container: file, network and capability access inside\n\
             the container's namespaces, the tmpfs, mqueue, fuse, proc and sysfs mounts a\n\
             boot makes, and denies for host-wide /proc/sys, /proc/bus and /sys paths.",
            Rule::Include(
                "abstractions/lxc/container-base"
                    .parse()
                    .expect("valid include"),
            ),
        ),
        entry(
            "As lxc-container-default-with-mounting: block filesystems of the standard\n\
             types on devices the container was given. Their superblock parsers are the\n\
             best tested; other types stay refused.",
            mount(&["ext*"], &[], None, None),
        ),
        entry("Same as ext*: XFS.", mount(&["xfs"], &[], None, None)),
        entry("Same as ext*: btrfs.", mount(&["btrfs"], &[], None, None)),
        entry(
            "systemd mounts its cgroup2 hierarchy inside the container's cgroup namespace\n\
             (as lxc-container-default-cgns, Proxmox's default), at /sys/fs/cgroup/\n\
             itself or below.",
            mount(&["cgroup2"], &[], None, Some("/sys/fs/cgroup/{,**}")),
        ),
        entry(
            "Docker's fuse-overlayfs storage driver mounts container layers under\n\
             /var/lib/docker. container-base allows fuse.* anywhere; this rule keeps\n\
             Docker storage working if that ever narrows.",
            mount(
                &["fuse.fuse-overlayfs"],
                &[],
                None,
                Some("/var/lib/docker/**"),
            ),
        ),
        entry(
            "fuse-overlayfs talks to the kernel through /dev/fuse (bound in by an\n\
             lxc.mount.entry and allowed by the cgroup device policy).",
            file(Qualifier::ALLOW, "/dev/fuse", "rw"),
        ),
        entry(
            "With lxc.apparmor.allow_nesting, LXC mounts proc and sysfs without the\n\
             lxcfs overlays at /dev/.lxc/proc and /dev/.lxc/sys for nested containers;\n\
             as lxc-container-default-with-nesting, refuse using them directly.",
            file(Qualifier::DENY, "/dev/.lxc/proc/**", "rw"),
        ),
        entry(
            "Same for the unfiltered sysfs.",
            file(Qualifier::DENY, "/dev/.lxc/sys/**", "rw"),
        ),
        entry(
            "Kernel symbol addresses defeat KASLR for an exploit.",
            file(Qualifier::DENY, "@{PROC}/kallsyms", "rwklx"),
        ),
        entry(
            "The scheduler debug and timer lists name every task on the host.",
            file(Qualifier::DENY, "@{PROC}/{sched_debug,timer_list}", "rwklx"),
        ),
        entry(
            "Physical memory and I/O ports. The cgroup device policy already refuses\n\
             them; this is the second line.",
            file(Qualifier::DENY, "/dev/{mem,kmem,port}", "rwklx"),
        ),
        entry(
            "Host firmware tables (ACPI, DMI, EFI variables) belong to the host.",
            file(Qualifier::DENY, "/sys/firmware/**", "rwklx"),
        ),
    ];
    e.extend(hardening_entries());
    e
}

/// Rules every shipped profile carries, so switching between them never widens access.
fn hardening_entries() -> Vec<Entry> {
    vec![
        entry(
            "Loading or replacing AppArmor policy would let the container rewrite its own\n\
             confinement (the old phoenix profiles granted it). Audited: an attempt is news.",
            cap(Capability::MacAdmin),
        ),
        entry(
            "Overriding the LSM's decisions.",
            cap(Capability::MacOverride),
        ),
        entry("Loading kernel modules.", cap(Capability::SysModule)),
        entry(
            "Raw I/O ports and device memory.",
            cap(Capability::SysRawio),
        ),
        entry(
            "No kernel.* sysctl writes at all. container-base leaves the namespaced ones\n\
             (hostname, domainname, shm*, msg*, sem*) writable; sethostname(2) is not a\n\
             file write and keeps working, and IPC limits are set on the host.",
            file(Qualifier::AUDIT_DENY, "@{PROC}/sys/kernel/**", "wklx"),
        ),
        entry(
            "securityfs holds the AppArmor policy interface (.load, .replace, .remove).\n\
             container-base denies it silently; this also logs attempts.",
            file(Qualifier::AUDIT_DENY, "/sys/kernel/security/**", "wklx"),
        ),
        entry(
            "binfmt_misc registers interpreters for the whole host on most kernels: a\n\
             container could make every host process run its code. container-base allows\n\
             the mount at /proc/sys/fs/binfmt_misc; this deny overrides it.",
            Rule::Mount(MountRule {
                qualifier: Qualifier::AUDIT_DENY,
                fstypes: vec!["binfmt_misc".parse().expect("valid fstype")],
                options: vec![],
                source: None,
                target: None,
            }),
        ),
        entry(
            "And no registrations through an already mounted binfmt_misc.",
            file(
                Qualifier::AUDIT_DENY,
                "@{PROC}/sys/fs/binfmt_misc/**",
                "wklx",
            ),
        ),
    ]
}

pub(super) fn docker_entries() -> Vec<Entry> {
    vec![
        entry(
            "Docker's overlay2 storage driver (overlayfs works in user namespaces since\n\
             Linux 5.11); only in the runtimes' storage.",
            mount(&["overlay"], &[], None, Some(RUNTIME_ROOTS)),
        ),
        entry(
            "runc mounts a fresh proc in each new container root.",
            mount(&["proc"], &[], None, Some(RUNTIME_ROOTS)),
        ),
        entry(
            "runc mounts sysfs in each new container root.",
            mount(&["sysfs"], &[], None, Some(RUNTIME_ROOTS)),
        ),
        entry(
            "runc mounts a new devpts instance in each container root.",
            mount(&["devpts"], &[], None, Some(RUNTIME_ROOTS)),
        ),
        entry(
            "runc mounts the container's cgroup2 view (cgroup namespace) in its root.",
            mount(&["cgroup2"], &[], None, Some(RUNTIME_ROOTS)),
        ),
        entry(
            "Volumes, /etc/hosts, /etc/resolv.conf and /dev/null binds into container\n\
             roots; the target is confined to the runtimes' storage. A bind can show a\n\
             /proc or /sys subtree under a path the denies here do not name; in an\n\
             unprivileged container the kernel still refuses writes to host-wide\n\
             sysctls and sysfs (they belong to the host's root), so for those the\n\
             denies are the second line, not the only one.",
            mount(
                &[],
                &[MountOption::Rw, MountOption::Bind],
                None,
                Some(RUNTIME_ROOTS),
            ),
        ),
        entry(
            "Same, recursive (Docker binds volumes with rbind by default).",
            mount(
                &[],
                &[MountOption::Rw, MountOption::Rbind],
                None,
                Some(RUNTIME_ROOTS),
            ),
        ),
        entry(
            "runc makes these /proc paths read-only by binding each onto itself and\n\
             remounting it read-only (container-base allows the read-only remount).\n\
             Directories are matched with their trailing slash, hence `{,/}`.",
            mount(
                &[],
                &[MountOption::Rw, MountOption::Rbind],
                Some("@{PROC}/{bus,fs,irq,sys,sysrq-trigger}{,/}"),
                Some("@{PROC}/{bus,fs,irq,sys,sysrq-trigger}{,/}"),
            ),
        ),
        entry(
            "Those binds could place /proc/sys under /proc/fs or /proc/irq, out of reach\n\
             of the /proc/sys denies; nothing in a container writes there.",
            file(Qualifier::AUDIT_DENY, "@{PROC}/{fs,irq}/**", "wklx"),
        ),
        entry(
            "Mount propagation: runc makes the new root a slave (or private) of the\n\
             parent; dockerd makes its storage private and volumes may ask for shared.\n\
             The same rules lxc's start-container grants a nesting container.\n\
             `/{,**}` is `/` itself and everything below: a `**` right after a `/`\n\
             never matches the empty string, and runc changes `/` itself.",
            mount(
                &[],
                &[MountOption::Rw, MountOption::MakeSlave],
                None,
                Some("/{,**}"),
            ),
        ),
        entry(
            "Recursive slave.",
            mount(
                &[],
                &[MountOption::Rw, MountOption::MakeRslave],
                None,
                Some("/{,**}"),
            ),
        ),
        entry(
            "Private.",
            mount(
                &[],
                &[MountOption::Rw, MountOption::MakePrivate],
                None,
                Some("/{,**}"),
            ),
        ),
        entry(
            "Recursive private.",
            mount(
                &[],
                &[MountOption::Rw, MountOption::MakeRprivate],
                None,
                Some("/{,**}"),
            ),
        ),
        entry(
            "Shared.",
            mount(
                &[],
                &[MountOption::Rw, MountOption::MakeShared],
                None,
                Some("/{,**}"),
            ),
        ),
        entry(
            "Recursive shared.",
            mount(
                &[],
                &[MountOption::Rw, MountOption::MakeRshared],
                None,
                Some("/{,**}"),
            ),
        ),
        entry(
            "runc enters the new container root with pivot_root(2).",
            Rule::PivotRoot(PivotRootRule {
                new_root: Some(path(RUNTIME_ROOTS)),
            }),
        ),
        entry(
            "Nested runtimes may confine their containers with one of phoenix's profiles;\n\
             the list lives in tunables/nesting. All of them carry this profile's\n\
             hardening, so the switch never widens access. Never unconfined, and not\n\
             docker-default: it allows mac_admin and writes to kernel.shm*. Docker in an\n\
             unprivileged container sees no securityfs and does not switch profiles.",
            Rule::ChangeProfile(ChangeTarget::Variable(nesting_variable())),
        ),
    ]
}

pub(super) fn gpu_entries() -> Vec<Entry> {
    vec![
        entry(
            "One node per GPU (/dev/nvidia0, /dev/nvidia1, ...).",
            file(Qualifier::ALLOW, "/dev/nvidia[0-9]*", "rw"),
        ),
        entry(
            "The driver's control node, opened by every CUDA and NVML client.",
            file(Qualifier::ALLOW, "/dev/nvidiactl", "rw"),
        ),
        entry(
            "Unified memory, used by CUDA for managed allocations.",
            file(Qualifier::ALLOW, "/dev/nvidia-uvm{,-tools}", "rw"),
        ),
        entry(
            "The modesetting node, opened by the driver's user space at init.",
            file(Qualifier::ALLOW, "/dev/nvidia-modeset", "rw"),
        ),
        entry(
            "Capability nodes for MIG partitions.",
            file(Qualifier::ALLOW, "/dev/nvidia-caps/*", "rw"),
        ),
        entry(
            "nvidia-smi reads the driver's version and GPU list here.",
            file(Qualifier::ALLOW, "@{PROC}/driver/nvidia/**", "r"),
        ),
    ]
}
pub(super) fn name(s: &str) -> ProfileName {
    s.parse().expect("shipped profile name is valid")
}

fn path(s: &str) -> PathPattern {
    s.parse().expect("shipped path pattern is valid")
}

fn file(qualifier: Qualifier, p: &str, perms: &str) -> Rule {
    Rule::File(FileRule {
        qualifier,
        path: path(p),
        perms: FilePerms::parse(perms).expect("shipped permissions are valid"),
    })
}

fn cap(c: Capability) -> Rule {
    Rule::Capability(CapabilityRule {
        qualifier: Qualifier::AUDIT_DENY,
        capabilities: vec![c],
    })
}

fn mount(
    fstypes: &[&str],
    options: &[MountOption],
    source: Option<&str>,
    target: Option<&str>,
) -> Rule {
    Rule::Mount(MountRule {
        qualifier: Qualifier::ALLOW,
        fstypes: fstypes
            .iter()
            .map(|f| f.parse().expect("shipped fstype is valid"))
            .collect(),
        options: options.to_vec(),
        source: source.map(path),
        target: target.map(path),
    })
}
