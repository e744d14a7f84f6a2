//! Each typed operation over a scripted runner: the one call it makes, how it
//! reads pct's answer, and how pct's real failure texts (reference §3) surface.

use std::path::Path;

use phoenix_pct::{
    CloneOptions, CreateOptions, CtStatus, DestroyOptions, DryRunRunner, Effect, ExitStatus,
    FileOptions, Lock, Output, Pattern, Pct, PctError, Pvesm, RecordingRunner, SetOptions,
    ShutdownOptions,
};
use phoenix_pveconf::Vmid;

fn id(n: u32) -> Vmid {
    Vmid::new(n).unwrap()
}

fn pct(runner: &RecordingRunner) -> Pct<&RecordingRunner> {
    Pct::with_binary("pct", runner)
}

fn answering(words: &[&str], out: Output) -> RecordingRunner {
    RecordingRunner::new().answer(Pattern::prefix(words), out)
}

const LIST: &str = "\
VMID       Status     Lock         Name                
100        running                 web1                
101        stopped    create       CT101               
";

#[test]
fn status_reads_running_and_stopped() {
    let r = RecordingRunner::new()
        .answer_once(
            Pattern::exact(["pct", "status", "100"]),
            Output::ok("status: running\n"),
        )
        .answer(
            Pattern::exact(["pct", "status", "100"]),
            Output::ok("status: stopped\n"),
        );
    assert_eq!(pct(&r).status(id(100)).unwrap(), CtStatus::Running);
    assert_eq!(pct(&r).status(id(100)).unwrap(), CtStatus::Stopped);
    assert!(r.invocations().iter().all(|i| i.effect() == Effect::Read));
}

#[test]
fn status_of_a_missing_ct_is_not_found() {
    let r = answering(
        &["pct", "status"],
        Output::failed(
            2,
            "Configuration file 'nodes/pve/lxc/123.conf' does not exist\n",
        ),
    );
    let err = pct(&r).status(id(123)).unwrap_err();
    assert!(
        matches!(err, PctError::NotFound { vmid } if vmid == id(123)),
        "{err:?}"
    );
}

#[test]
fn optional_reads_turn_a_missing_ct_into_none() {
    let missing = Output::failed(
        2,
        "Configuration file 'nodes/pve/lxc/123.conf' does not exist\n",
    );
    let r = RecordingRunner::new()
        .answer(Pattern::prefix(["pct", "status", "123"]), missing.clone())
        .answer(Pattern::prefix(["pct", "config", "123"]), missing)
        .answer(
            Pattern::prefix(["pct", "status", "100"]),
            Output::ok("status: stopped\n"),
        )
        .answer(
            Pattern::prefix(["pct", "config", "100"]),
            Output::ok("hostname: a\n"),
        )
        .answer(
            Pattern::prefix(["pct", "status", "105"]),
            Output::failed(255, "CT is locked (disk)\n"),
        );
    let p = pct(&r);
    assert_eq!(p.status_optional(id(123)).unwrap(), None);
    assert!(p.config_optional(id(123)).unwrap().is_none());
    assert_eq!(p.status_optional(id(100)).unwrap(), Some(CtStatus::Stopped));
    assert_eq!(
        p.config_optional(id(100))
            .unwrap()
            .unwrap()
            .main()
            .get("hostname"),
        Some("a")
    );
    // other failures stay errors
    assert!(p.status_optional(id(105)).is_err());
}

#[test]
fn garbled_status_output_is_an_output_error_naming_the_command() {
    let r = answering(&["pct", "status"], Output::ok("hello\n"));
    let err = pct(&r).status(id(100)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read the output of `pct status 100`"
    );
    assert!(matches!(err, PctError::Output { .. }));
}

#[test]
fn list_parses_rows_and_an_empty_list() {
    let r = answering(&["pct", "list"], Output::ok(LIST));
    let rows = pct(&r).list().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].lock, Some(Lock::Create));
    assert_eq!(rows[1].status, CtStatus::Stopped);
    let r = answering(&["pct", "list"], Output::ok(""));
    assert!(pct(&r).list().unwrap().is_empty());
}

#[test]
fn config_is_parsed_by_the_conf_parser() {
    let conf =
        "arch: amd64\nhostname: web1\nmemory: 512\nunprivileged: 1\nlxc.idmap: u 0 100000 65536\n";
    let r = answering(&["pct", "config", "100"], Output::ok(conf));
    let parsed = pct(&r).config(id(100)).unwrap();
    assert_eq!(parsed.main().get("hostname"), Some("web1"));
    assert_eq!(
        parsed.main().lxc_values("lxc.idmap"),
        vec!["u 0 100000 65536"]
    );
    assert_eq!(r.transcript(), "pct config 100\n");
}

#[test]
fn listsnapshot_parses_the_tree() {
    let out = "`-> before                     2024-05-01 10:00:00     no-description\n \
               `-> current                                        You are here!\n";
    let r = answering(&["pct", "listsnapshot"], Output::ok(out));
    let snaps = pct(&r).listsnapshot(id(100)).unwrap();
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[1].parent.as_deref(), Some("before"));
}

#[test]
fn create_is_one_call_and_already_exists_is_classified() {
    let r = answering(
        &["pct", "create"],
        Output::failed(255, "CT 100 already exists on node 'pve'\n"),
    );
    let err = pct(&r)
        .create(id(100), "local:vztmpl/t.tar.gz", &CreateOptions::default())
        .unwrap_err();
    assert!(matches!(err, PctError::AlreadyExists { vmid } if vmid == id(100)));
    assert_eq!(r.invocations().len(), 1);
    assert_eq!(r.invocations()[0].effect(), Effect::Mutation);
}

#[test]
fn a_task_error_with_exit_255_keeps_everything_it_printed() {
    let out = Output::failed(255, "unable to create CT 100 - no such template\n")
        .with_stdout("extracting archive '/x'\n");
    let r = answering(&["pct", "create"], out);
    let err = pct(&r)
        .create(id(100), "/x", &CreateOptions::default())
        .unwrap_err();
    let PctError::CommandFailed {
        argv,
        status,
        stdout,
        stderr,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(argv[..3], ["pct", "create", "100"]);
    assert_eq!(*status, ExitStatus::Code(255));
    assert_eq!(stdout, "extracting archive '/x'\n");
    assert_eq!(stderr, "unable to create CT 100 - no such template\n");
    assert_eq!(
        err.to_string(),
        "`pct create 100 /x --unprivileged 1` failed (exit code 255): unable to create CT 100 - no such template"
    );
}

#[test]
fn set_read_only_unprivileged() {
    let r = answering(
        &["pct", "set"],
        Output::failed(25, "unable to modify read-only option: 'unprivileged'\n"),
    );
    let opts = SetOptions {
        changes: phoenix_pct::CtOptions {
            other: [("unprivileged".to_owned(), "1".to_owned())].into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = pct(&r).set(id(100), &opts).unwrap_err();
    assert!(matches!(&err, PctError::ReadOnlyOption { option, .. } if option == "unprivileged"));
}

#[test]
fn set_with_nothing_to_change_runs_nothing() {
    let r = RecordingRunner::new();
    pct(&r).set(id(100), &SetOptions::default()).unwrap();
    assert_eq!(r.transcript(), "");
}

#[test]
fn locked_and_power_state_errors() {
    type Check = fn(&PctError) -> bool;
    let cases: [(&str, &str, Check); 4] = [
        ("start", "CT is locked (snapshot)\n", |e| {
            matches!(
                e,
                PctError::Locked {
                    lock: Lock::Snapshot,
                    ..
                }
            )
        }),
        ("start", "CT 100 already running\n", |e| {
            matches!(e, PctError::AlreadyRunning { .. })
        }),
        ("stop", "CT 100 not running\n", |e| {
            matches!(e, PctError::NotRunning { .. })
        }),
        ("shutdown", "CT 100 not running\n", |e| {
            matches!(e, PctError::NotRunning { .. })
        }),
    ];
    for (sub, stderr, is_expected) in cases {
        let r = answering(&["pct", sub], Output::failed(255, stderr));
        let p = pct(&r);
        let err = match sub {
            "start" => p.start(id(100)),
            "stop" => p.stop(id(100)),
            _ => p.shutdown(id(100), &ShutdownOptions::default()),
        }
        .unwrap_err();
        assert!(is_expected(&err), "{sub}: {err:?}");
    }
}

#[test]
fn snapshot_name_already_used() {
    let r = answering(
        &["pct", "snapshot"],
        Output::failed(255, "snapshot name 'before' already used\n"),
    );
    let err = pct(&r)
        .snapshot(id(100), &"before".parse().unwrap(), None)
        .unwrap_err();
    assert!(matches!(&err, PctError::SnapshotExists { name, .. } if name == "before"));
}

#[test]
fn clone_of_a_bind_mount_fails_with_pct_s_text() {
    let r = answering(
        &["pct", "clone"],
        Output::failed(
            255,
            "clone failed: unable to clone mountpoint 'mp0' (type bind)\n",
        ),
    );
    let err = pct(&r)
        .clone_ct(id(100), id(200), &CloneOptions::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("clone failed: unable to clone mountpoint 'mp0' (type bind)")
    );
}

#[test]
fn exec_returns_the_command_s_exit_code_as_a_value() {
    let r = answering(
        &["pct", "exec"],
        Output::failed(3, "grep: no match\n").with_stdout(""),
    );
    let out = pct(&r)
        .exec(id(100), &["grep", "x", "/etc/hostname"])
        .unwrap();
    assert_eq!(out.status, ExitStatus::Code(3));
    assert_eq!(out.stderr, b"grep: no match\n");
    assert_eq!(r.transcript(), "pct exec 100 -- grep x /etc/hostname\n");
}

#[test]
fn exec_on_a_stopped_ct_is_not_running() {
    let r = answering(
        &["pct", "exec"],
        Output::failed(255, "container '100' not running!\n"),
    );
    let err = pct(&r).exec(id(100), &["id", "-u"]).unwrap_err();
    assert!(matches!(err, PctError::NotRunning { vmid } if vmid == id(100)));
}

#[test]
fn exec_output_that_merely_looks_like_a_pct_error_is_the_command_s() {
    let out = Output::failed(1, "container '100' not running!\nsecond line\n");
    let r = answering(&["pct", "exec"], out);
    let out = pct(&r).exec(id(100), &["sh", "-c", "..."]).unwrap();
    assert_eq!(out.status, ExitStatus::Code(1));
}

/// What load_config prints on stderr for a hand-edited conf, before pct does its work
/// (pve-container `PVE/LXC/Config.pm`; the same texts on PVE 8 and 9).
const CONF_WARNINGS: &str = "\
vm 100 - unable to parse value of 'foo' - unknown setting 'foo'
vm 100 - lxc.id_map is deprecated and was renamed to lxc.idmap
";

#[test]
fn exec_reads_pct_s_refusal_and_the_command_s_output_past_conf_warnings() {
    let r = answering(
        &["pct", "exec"],
        Output::failed(
            255,
            format!("{CONF_WARNINGS}container '100' not running!\n"),
        ),
    );
    let err = pct(&r).exec(id(100), &["true"]).unwrap_err();
    assert!(matches!(err, PctError::NotRunning { .. }), "{err:?}");

    let r = answering(
        &["pct", "exec"],
        Output::failed(3, format!("{CONF_WARNINGS}grep: /x: No such file\n")),
    );
    let out = pct(&r).exec(id(100), &["grep", "y", "/x"]).unwrap();
    assert_eq!(out.status, ExitStatus::Code(3));
    assert_eq!(out.stderr, b"grep: /x: No such file\n");
}

#[test]
fn push_pull_template_and_resize_succeed_past_conf_warnings() {
    let warned = || Output::ok("").with_stderr(CONF_WARNINGS);
    let r = RecordingRunner::new().answer(Pattern::prefix(["pct"]), warned());
    let p = pct(&r);
    p.push(
        id(100),
        Path::new("/tmp/a"),
        "/root/a",
        &FileOptions::default(),
    )
    .unwrap();
    p.pull(
        id(100),
        "/root/a",
        Path::new("/tmp/b"),
        &FileOptions::default(),
    )
    .unwrap();
    p.template(id(100)).unwrap();
    p.resize(id(100), "rootfs", "+1G").unwrap();
    // a task error after the warnings still fails the call
    let r = answering(
        &["pct", "push"],
        Output::ok("").with_stderr(format!(
            "{CONF_WARNINGS}failed to open /tmp/a for reading\n"
        )),
    );
    let err = pct(&r)
        .push(
            id(100),
            Path::new("/tmp/a"),
            "/root/a",
            &FileOptions::default(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with(": failed to open /tmp/a for reading"),
        "{err}"
    );
}

#[test]
fn exec_with_stdin_passes_the_bytes() {
    let r = answering(&["pct", "exec"], Output::ok("3\n"));
    pct(&r)
        .exec_with_stdin(id(100), &["wc", "-c"], b"abc".to_vec())
        .unwrap();
    assert_eq!(r.invocations()[0].stdin_bytes(), Some(&b"abc"[..]));
}

#[test]
fn push_pull_template_and_resize_fail_on_exit_0_with_a_task_error() {
    let hidden = |msg: &str| Output::ok("").with_stderr(format!("{msg}\n"));
    let r = answering(
        &["pct", "template"],
        hidden("Template feature is not available for '/srv/share'"),
    );
    let err = pct(&r).template(id(100)).unwrap_err();
    assert!(
        matches!(&err, PctError::CommandFailed { status, .. } if status.success()),
        "{err:?}"
    );

    // a stopped CT is refused before the worker, so with a non-zero exit
    let r = answering(
        &["pct", "push"],
        Output::failed(255, "can only push files to a running CT\n"),
    );
    let err = pct(&r)
        .push(id(100), Path::new("/tmp/a"), "/a", &FileOptions::default())
        .unwrap_err();
    assert!(matches!(err, PctError::NotRunning { .. }));

    let r = answering(
        &["pct", "pull"],
        Output::failed(
            255,
            "can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 397.\n",
        ),
    );
    let err = pct(&r)
        .pull(
            id(100),
            "/etc/hostname",
            Path::new("/tmp/h"),
            &FileOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, PctError::NotRunning { .. }));

    let r = answering(&["pct", "resize"], hidden("unable to shrink disk size"));
    assert!(pct(&r).resize(id(100), "rootfs", "2G").is_err());
}

#[test]
fn a_task_with_warnings_is_a_success() {
    let r = answering(
        &["pct", "template"],
        Output::ok("").with_stderr("Task finished with 1 warning(s)!\n"),
    );
    pct(&r).template(id(100)).unwrap();
    let r = answering(
        &["pct", "destroy"],
        Output::ok("").with_stderr("Task finished with 2 warning(s)!\n"),
    );
    pct(&r)
        .destroy(id(100), &DestroyOptions::default())
        .unwrap();
}

#[test]
fn every_operation_succeeds_on_exit_0() {
    let r = answering(&["pct"], Output::ok(""));
    let p = pct(&r);
    let s1 = "s1".parse().unwrap();
    p.create(id(100), "/t.tar.gz", &CreateOptions::default())
        .unwrap();
    p.clone_ct(id(100), id(101), &CloneOptions::default())
        .unwrap();
    p.start(id(100)).unwrap();
    p.stop(id(100)).unwrap();
    p.shutdown(id(100), &ShutdownOptions::default()).unwrap();
    p.push(id(100), Path::new("/a"), "/b", &FileOptions::default())
        .unwrap();
    p.pull(id(100), "/b", Path::new("/a"), &FileOptions::default())
        .unwrap();
    p.snapshot(id(100), &s1, Some("d")).unwrap();
    p.delsnapshot(id(100), &s1, false).unwrap();
    p.rollback(id(100), &s1, true).unwrap();
    p.template(id(100)).unwrap();
    p.unlock(id(100)).unwrap();
    p.resize(id(100), "rootfs", "+1G").unwrap();
    p.destroy(
        id(100),
        &DestroyOptions {
            purge: true,
            force: false,
        },
    )
    .unwrap();
    insta::assert_snapshot!("every_operation_transcript", r.transcript());
}

#[test]
fn a_dry_run_executes_reads_and_only_records_mutations() {
    let inner = RecordingRunner::new().answer(
        Pattern::prefix(["pct", "status"]),
        Output::ok("status: stopped\n"),
    );
    let dry = DryRunRunner::new(&inner);
    let p = Pct::with_binary("pct", &dry);
    assert_eq!(p.status(id(100)).unwrap(), CtStatus::Stopped);
    p.start(id(100)).unwrap();
    p.exec(id(100), &["touch", "/x"]).unwrap();
    assert_eq!(inner.transcript(), "pct status 100\n");
    assert_eq!(
        dry.transcript(),
        "pct start 100\npct exec 100 -- touch /x\n"
    );
}

#[test]
fn an_unscripted_call_is_a_run_error_not_a_panic() {
    let r = RecordingRunner::new();
    let err = pct(&r).start(id(100)).unwrap_err();
    assert!(matches!(err, PctError::Run(_)));
    assert_eq!(err.to_string(), "no scripted answer for `pct start 100`");
}

#[test]
fn pvesm_status_and_its_failure() {
    let table = "Name             Type     Status           Total            Used       Available        %\n\
                 local             dir     active        98497780        10365212        83083020   10.52%\n\
                 local-zfs     zfspool     active       436907564        93421120       343486444   21.38%\n";
    let r = answering(&["pvesm", "status"], Output::ok(table));
    let pools = Pvesm::with_binary("/usr/sbin/pvesm", &r).status().unwrap();
    assert_eq!(
        pools.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["local", "local-zfs"]
    );
    assert_eq!(r.invocations()[0].effect(), Effect::Read);
    let pvesm = Pvesm::with_binary("pvesm", &r);
    assert_eq!(
        pvesm
            .storage_optional("local-zfs")
            .unwrap()
            .unwrap()
            .storage_type,
        "zfspool"
    );
    assert_eq!(pvesm.storage_optional("nope").unwrap(), None);
    let r = answering(
        &["pvesm", "status"],
        Output::failed(255, "ipcc_send_rec[1] failed: Connection refused\n"),
    );
    let err = Pvesm::with_binary("pvesm", &r).status().unwrap_err();
    assert_eq!(
        err.to_string(),
        "`pvesm status` failed (exit code 255): ipcc_send_rec[1] failed: Connection refused"
    );
}

#[test]
fn wrappers_and_runners_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Pct<phoenix_pct::ProcessRunner>>();
    shareable::<Pct<RecordingRunner>>();
    shareable::<Pct<DryRunRunner<phoenix_pct::ProcessRunner>>>();
    shareable::<Pct<std::sync::Arc<dyn phoenix_pct::CommandRunner>>>();
    shareable::<Pvesm<phoenix_pct::ProcessRunner>>();

    let r = answering(&["pct", "status"], Output::ok("status: running\n"));
    let p = pct(&r);
    std::thread::scope(|s| {
        for n in 100..110 {
            let p = &p;
            s.spawn(move || assert_eq!(p.status(id(n)).unwrap(), CtStatus::Running));
        }
    });
    assert_eq!(r.invocations().len(), 10);
}
