//! What Proxmox's `PVE::LXC::Setup` does to a guest at create and at every start, on
//! real LXC: OS detection over `--ostype`, `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf`. Id 9114 (pct-emulator's range).

mod common;

use std::process::Command;

use common::{Env, PCT, TEMPLATE, exec_out, need_lxc, vmid};

fn pct(env: &Env, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(PCT)
        .args(args)
        .env("PHOENIX_ROOT", env.root())
        .env_remove("PCT_EMU_FAIL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn create_and_start_set_up_the_guest_as_proxmox_does() {
    if !need_lxc() {
        return;
    }
    let env = Env::new(&[9114], &[]);
    std::fs::create_dir_all(env.path("/etc")).unwrap();
    std::fs::write(
        env.path("/etc/resolv.conf"),
        "search host.lan\nnameserver 10.9.9.9\n",
    )
    .unwrap();
    let (code, out, err) = pct(
        &env,
        &[
            "create",
            "9114",
            TEMPLATE,
            "--rootfs",
            "local-zfs:1",
            "--ostype",
            "alpine",
            "--hostname",
            "web1.example.com",
            "--net0",
            "name=eth0,bridge=vmbr9114,ip=10.0.0.5/24",
            "--start",
            "0",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    // the busybox template says debian: the detected type wins, with Proxmox's warning
    assert!(
        out.contains("got unexpected ostype (debian != alpine)\n"),
        "{out}"
    );
    assert!(env.conf(9114).contains("ostype: debian\n"));
    let rootfs = env.path("/rpool/data/subvol-9114-disk-0");
    let read = |p: &str| std::fs::read_to_string(rootfs.join(p)).unwrap();
    assert_eq!(read("etc/hostname"), "web1\n");
    let hosts = read("etc/hosts");
    assert!(
        hosts.contains("# --- BEGIN PVE ---\n")
            && hosts.contains("10.0.0.5 web1.example.com web1\n# --- END PVE ---\n"),
        "{hosts}"
    );
    // no nameserver in the conf: the host's
    assert_eq!(
        read("etc/resolv.conf"),
        "# --- BEGIN PVE ---\nsearch host.lan\nnameserver 10.9.9.9\n# --- END PVE ---\n"
    );
    // every start writes them again from the conf
    let (code, _, err) = pct(
        &env,
        &[
            "set",
            "9114",
            "--nameserver",
            "1.1.1.1",
            "--searchdomain",
            "corp",
            "--hostname",
            "db1",
            "--delete",
            "net0",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    env.pct.start(vmid(9114)).unwrap();
    assert_eq!(
        exec_out(&env, 9114, &["cat", "/etc/resolv.conf", "/etc/hostname"]),
        (
            0,
            "# --- BEGIN PVE ---\nsearch corp\nnameserver 1.1.1.1\n# --- END PVE ---\ndb1\n".into()
        )
    );
    let hosts = exec_out(&env, 9114, &["cat", "/etc/hosts"]).1;
    assert!(
        hosts.contains("127.0.1.1 db1.corp db1\n# --- END PVE ---\n"),
        "{hosts}"
    );
    assert_eq!(hosts.matches("# --- BEGIN PVE ---").count(), 1, "{hosts}");
}
