//! Snapshots of every rendered profile and of the tunable: a reviewer sees each
//! rule change as a diff.

use phoenix_apparmor::extra::{ExtraRule, derive_profile};
use phoenix_apparmor::model::*;
use phoenix_apparmor::render::render_profile;
use phoenix_apparmor::tunable::{edit_tunable, nesting_definition, render_hook};
use phoenix_apparmor::{Capability, MountOption, ShippedProfile};

#[test]
fn shipped_profiles() {
    for p in ShippedProfile::ALL {
        insta::assert_snapshot!(p.name_str(), render_profile(&p.profile()));
    }
}

#[test]
fn tunable_fresh() {
    insta::assert_snapshot!(edit_tunable(None, &nesting_definition()));
}

#[test]
fn tunable_hook() {
    insta::assert_snapshot!(render_hook());
}

#[test]
fn tunable_edited_in_place() {
    let before = "# Local site tunables\n@{my_var} = /srv\n@{apparmor_nesting_profiles} = lxc-old\n@{apparmor_nesting_profiles} += unconfined\n# end\n";
    insta::assert_snapshot!(edit_tunable(Some(before), &nesting_definition()));
}

#[test]
fn per_container_profile_with_extras() {
    let extras = vec![
        ExtraRule::File(FileRule {
            qualifier: Qualifier::DENY,
            path: "/srv/secrets/**".parse().unwrap(),
            perms: "rwklx".parse().unwrap(),
        }),
        ExtraRule::Capability(CapabilityRule {
            qualifier: Qualifier::DENY,
            capabilities: vec![Capability::NetRaw],
        }),
        ExtraRule::Mount(MountRule {
            qualifier: Qualifier::ALLOW,
            fstypes: vec!["nfs4".parse().unwrap()],
            options: vec![MountOption::Rw, MountOption::Nosuid],
            source: None,
            target: Some("/mnt/nfs/**".parse().unwrap()),
        }),
    ];
    let p = derive_profile(&ShippedProfile::DockerSecure.profile(), 950, &extras).unwrap();
    insta::assert_snapshot!(render_profile(&p));
}
