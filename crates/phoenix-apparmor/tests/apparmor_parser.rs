//! Every shipped profile, and profiles with per-container extra rules, compile with
//! the real `apparmor_parser -Q -K` (parse and compile, no kernel, no cache).
//!
//! Files are written under a temp root laid out like the host; `-I <root>/etc/apparmor.d`
//! puts it first on the include path so `tunables/nesting` resolves there, while
//! `tunables/global` and `abstractions/lxc/*` come from the installed packages.

use std::process::Command;

use camino::Utf8Path;
use phoenix_apparmor::extra::{ExtraRule, derive_profile};
use phoenix_apparmor::install::{LoadError, PROFILE_DIR, ProfileLoader, apply, plan};
use phoenix_apparmor::model::*;
use phoenix_apparmor::render::render_profile;
use phoenix_apparmor::{
    Capability, MountOption, NetworkDomain, NetworkType, ShippedProfile, shipped,
};
use phoenix_testkit::{Need, require};

const NEEDS: &[Need] = &[Need::Command("apparmor_parser")];

struct Root {
    _dir: tempfile::TempDir,
    path: camino::Utf8PathBuf,
}

struct NoLoader;

impl ProfileLoader for NoLoader {
    fn available(&self) -> Result<bool, LoadError> {
        Ok(false)
    }

    fn replace(&self, _: &Utf8Path) -> Result<(), LoadError> {
        unreachable!("not available")
    }
}

/// A root laid out by the real installer: the shipped profiles, the tunable and its hook.
fn root() -> Root {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    apply(&plan(&path, &shipped::all()).unwrap(), &NoLoader).unwrap();
    Root { _dir: dir, path }
}

/// Writes the profile and compiles it; returns the parser's result and stderr.
fn compile(root: &Root, profile: &Profile) -> (bool, String) {
    let file = root.path.join(PROFILE_DIR).join(profile.name.as_str());
    std::fs::write(&file, render_profile(profile)).unwrap();
    compile_file(root, &file)
}

fn compile_file(root: &Root, file: &Utf8Path) -> (bool, String) {
    let out = Command::new("apparmor_parser")
        .args(["-Q", "-K", "-I"])
        .arg(root.path.join("etc/apparmor.d"))
        .arg(file)
        .output()
        .expect("apparmor_parser runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_shipped_profile_compiles() {
    if !require(NEEDS) {
        return;
    }
    let root = root();
    for p in ShippedProfile::ALL {
        let (ok, stderr) = compile(&root, &p.profile());
        assert!(ok, "{p} does not compile:\n{stderr}");
    }
}

#[test]
fn all_profiles_load_together_through_lxc_containers() {
    if !require(NEEDS) {
        return;
    }
    // Proxmox loads /etc/apparmor.d/lxc-containers, which includes the whole lxc/
    // directory in directory order next to lxc's own profiles. A variable defined
    // after any profile fails the whole unit, so the hook must define it first.
    let root = root();
    for host in std::fs::read_dir("/etc/apparmor.d/lxc")
        .into_iter()
        .flatten()
    {
        let host = host.unwrap();
        std::fs::copy(
            host.path(),
            root.path
                .join(PROFILE_DIR)
                .join(host.file_name().to_str().unwrap()),
        )
        .unwrap();
    }
    let extra = derive_profile(&ShippedProfile::DockerSecure.profile(), 950, &[]).unwrap();
    std::fs::write(
        root.path.join(PROFILE_DIR).join(extra.name.as_str()),
        render_profile(&extra),
    )
    .unwrap();
    let top = root.path.join("etc/apparmor.d/lxc-containers");
    std::fs::write(&top, "#include <tunables/global>\n\n#include <lxc>\n").unwrap();
    let (ok, stderr) = compile_file(&root, &top);
    assert!(ok, "lxc-containers does not compile:\n{stderr}");
}

fn every_kind_of_extra() -> Vec<ExtraRule> {
    vec![
        ExtraRule::File(FileRule {
            qualifier: Qualifier::ALLOW,
            path: "/srv/shared data/**".parse().unwrap(),
            perms: "rwk".parse().unwrap(),
        }),
        ExtraRule::File(FileRule {
            qualifier: Qualifier::AUDIT_DENY,
            path: "/srv/secrets/{a,b}/**".parse().unwrap(),
            perms: "rwklx".parse().unwrap(),
        }),
        ExtraRule::Capability(CapabilityRule {
            qualifier: Qualifier::DENY,
            capabilities: vec![Capability::NetRaw, Capability::SysTime],
        }),
        ExtraRule::Network(NetworkRule {
            qualifier: Qualifier::DENY,
            domain: Some(NetworkDomain::Packet),
            kind: Some(NetworkType::Raw),
        }),
        ExtraRule::Mount(MountRule {
            qualifier: Qualifier::ALLOW,
            fstypes: vec!["nfs4".parse().unwrap()],
            options: vec![MountOption::Rw, MountOption::Nosuid],
            source: None,
            target: Some("/mnt/nfs/**".parse().unwrap()),
        }),
    ]
}

#[test]
fn profiles_with_per_container_extra_rules_compile() {
    if !require(NEEDS) {
        return;
    }
    let root = root();
    for (i, base) in ShippedProfile::ALL.iter().enumerate() {
        let vmid = 950 + i as u32;
        let derived = derive_profile(&base.profile(), vmid, &every_kind_of_extra()).unwrap();
        let (ok, stderr) = compile(&root, &derived);
        assert!(ok, "{} does not compile:\n{stderr}", derived.name);
        let allow_only: Vec<ExtraRule> = every_kind_of_extra()
            .into_iter()
            .filter(|e| !e.is_deny())
            .collect();
        let derived = derive_profile(&base.profile(), vmid + 100, &allow_only).unwrap();
        let (ok, stderr) = compile(&root, &derived);
        assert!(ok, "{} does not compile:\n{stderr}", derived.name);
    }
}

#[test]
fn the_harness_fails_a_profile_the_parser_rejects() {
    if !require(NEEDS) {
        return;
    }
    // Without this, a parser that silently accepted everything would pass the tests
    // above. An undefined variable is a compile error.
    let root = root();
    let mut p = ShippedProfile::PhoenixV2.profile();
    p.entries.push(Entry {
        why: "broken on purpose".into(),
        rule: Rule::ChangeProfile(ChangeTarget::Variable("no_such_variable".parse().unwrap())),
    });
    let (ok, stderr) = compile(&root, &p);
    assert!(!ok);
    assert!(stderr.contains("no_such_variable"), "{stderr}");
}
