//! `pct set` on a running CT hot-plugs or defers exactly the keys pve-container's
//! `vmconfig_hotplug_pending` does. Real LXC, id 9112 (pct-emulator's range).

mod common;

use std::process::Command;

use common::{Env, PCT, need_lxc, vmid};
use phoenix_pct::CtOptions;

fn pct(env: &Env, args: &[&str]) -> (i32, String) {
    let out = Command::new(PCT)
        .args(args)
        .env("PHOENIX_ROOT", env.root())
        .env_remove("PCT_EMU_FAIL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `[pve:pending]` section of the conf, or "" when there is none.
fn pending(conf: &str) -> &str {
    conf.split_once("[pve:pending]\n").map_or("", |(_, p)| p)
}

#[test]
fn running_ct_takes_hot_keys_now_and_defers_the_rest() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9112], &[]);
    env.create(9112, CtOptions::default());
    std::fs::create_dir_all(env.path("/srv/a")).unwrap();
    assert_eq!(
        pct(
            &env,
            &["set", "9112", "--features", "nesting=1", "--cpulimit", "2"]
        )
        .0,
        0
    );
    env.pct.start(vmid(9112)).unwrap();

    let (code, err) = pct(
        &env,
        &[
            "set",
            "9112",
            "--cpuunits",
            "500",
            "--swap",
            "128",
            "--onboot",
            "1",
            "--mp0",
            "/srv/a,mp=/a",
            "--nameserver",
            "1.1.1.1",
            "--features",
            "keyctl=1",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    let conf = env.conf(9112);
    let (current, pend) = (conf.split("[pve:pending]").next().unwrap(), pending(&conf));
    for now in [
        "cpuunits: 500\n",
        "swap: 128\n",
        "onboot: 1\n",
        "mp0: /srv/a,mp=/a\n",
    ] {
        assert!(current.contains(now), "{now} applied now: {conf}");
    }
    for later in ["nameserver: 1.1.1.1\n", "features: keyctl=1\n"] {
        assert!(pend.contains(later), "{later} pending: {conf}");
    }
    // an existing mount point is not hot-plugged over
    assert_eq!(pct(&env, &["set", "9112", "--mp0", "/srv/a,mp=/b"]).0, 0);
    assert!(pending(&env.conf(9112)).contains("mp0: /srv/a,mp=/b\n"));

    // deletes: cpulimit at once; mp0 and features wait, and config hides them
    assert_eq!(
        pct(&env, &["set", "9112", "--delete", "cpulimit,mp0,features"]).0,
        0
    );
    let conf = env.conf(9112);
    assert!(!conf.contains("cpulimit"), "{conf}");
    assert!(pending(&conf).contains("delete: features,mp0\n"), "{conf}");
    let (_, out) = {
        let o = Command::new(PCT)
            .args(["config", "9112"])
            .env("PHOENIX_ROOT", env.root())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    assert!(!out.contains("features:") && !out.contains("mp0:"), "{out}");

    // the stop applies what was pending
    env.pct.stop(vmid(9112)).unwrap();
    let conf = env.conf(9112);
    assert!(!conf.contains("[pve:pending]"), "{conf}");
    assert!(conf.contains("nameserver: 1.1.1.1\n"), "{conf}");
    assert!(
        !conf.contains("features") && !conf.contains("mp0"),
        "{conf}"
    );
}
