//! `features` and `devN` on real LXC: what the generated config holds, what the CT
//! sees, and Proxmox's refusals at `pct set`. Id 9113 (pct-emulator's range).

mod common;

use std::process::Command;

use common::{Env, PCT, exec_out, need_lxc, vmid};
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

#[test]
fn fuse_nesting_and_passed_through_devices_reach_the_ct() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9113], &[]);
    env.create(9113, CtOptions::default());
    // Proxmox's refusals when the device is not one (before anything changes)
    assert_eq!(
        pct(&env, &["set", "9113", "--dev0", "/dev/nonexistent-9113"]),
        (255, "Device /dev/nonexistent-9113 does not exist\n".into())
    );
    assert_eq!(
        pct(&env, &["set", "9113", "--dev0", "/dev/pts"]),
        (255, "/dev/pts is not a device\n".into())
    );
    let (code, err) = pct(&env, &["set", "9113", "--dev0", "/tmp/x"]);
    assert_eq!(code, 255);
    assert!(
        err.starts_with("400 Parameter verification failed.\ndev0: invalid format - path: /tmp/x is not a valid device path\n"),
        "{err}"
    );
    assert!(!env.conf(9113).contains("dev0"));

    let (code, err) = pct(
        &env,
        &[
            "set",
            "9113",
            "--features",
            "fuse=1,nesting=1,keyctl=1,mount=nfs",
            "--dev0",
            "/dev/tty12,mode=0640,gid=5",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    env.pct.start(vmid(9113)).unwrap();
    let generated = std::fs::read_to_string(env.path("/var/lib/lxc/9113/config")).unwrap();
    for line in [
        "lxc.apparmor.allow_nesting = 1\n",
        "lxc.apparmor.raw = mount fstype=nfs,\n",
        "lxc.apparmor.raw = mount fstype=fuse,\n",
        "dev/fuse none bind,create=file 0 0\n",
        "devices.allow = c 4:12 rw\n",
    ] {
        assert!(generated.contains(line), "{line} in {generated}");
    }
    let rules = std::fs::read_to_string(env.path("/var/lib/lxc/9113/rules.seccomp")).unwrap();
    assert!(
        !rules.contains("keyctl"),
        "keyctl=1 drops the rule: {rules}"
    );

    // fuse: a node the CT's root can open
    assert_eq!(
        exec_out(
            &env,
            9113,
            &[
                "sh",
                "-c",
                "test -c /dev/fuse && exec 3<>/dev/fuse && echo open"
            ]
        ),
        (0, "open\n".into())
    );
    // dev0: the node with its mode and owner inside (gid 5 of the CT)
    assert_eq!(
        exec_out(
            &env,
            9113,
            &["stat", "-c", "%F %a %u %g %t:%T", "/dev/tty12"]
        ),
        (0, "character special file 640 0 5 4:c\n".into())
    );
    // a new devN on the running CT is hot-plugged, not pending (the emulator links the
    // node in; `stat -L` sees the device)
    let (code, err) = pct(
        &env,
        &["set", "9113", "--dev1", "/dev/tty13,mode=0600,uid=7"],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    let conf = env.conf(9113);
    assert!(!conf.contains("[pve:pending]"), "{conf}");
    assert_eq!(
        exec_out(
            &env,
            9113,
            &["stat", "-L", "-c", "%a %u %t:%T", "/dev/tty13"]
        ),
        (0, "600 7 4:d\n".into())
    );
    // changing an existing devN on a running CT waits for the next start
    assert_eq!(
        pct(&env, &["set", "9113", "--dev0", "/dev/tty12,mode=0600"]).0,
        0
    );
    assert!(
        env.conf(9113)
            .contains("[pve:pending]\ndev0: /dev/tty12,mode=0600\n")
    );
}
