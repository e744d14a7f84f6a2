//! Every CT conf fixture under `fixtures/conf/`: lossless round trip, Proxmox's canonical
//! rewrite against hand-checked expected files, and snapshots of what phoenix reads from it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use phoenix_pveconf::conf::{CtConf, Section};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conf")
}

/// `(name, text)` of every `fixtures/conf/*.conf`, sorted by name.
fn fixtures() -> Vec<(String, String)> {
    let mut out: Vec<_> = fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 9, "fixtures missing: {out:?}");
    out
}

#[test]
fn render_of_parse_is_byte_for_byte_identical() {
    for (name, src) in fixtures() {
        assert_eq!(CtConf::parse(&src).conf.render(), src, "{name}");
    }
}

#[test]
fn canonical_rendering_matches_the_hand_checked_files() {
    for (name, src) in fixtures() {
        let expected_path = fixture_dir().join("canonical").join(format!("{name}.conf"));
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let canonical = CtConf::parse(&src).conf.render_canonical();
        assert_eq!(canonical, expected, "{name}");
        // Proxmox reading its own output writes the same bytes again.
        let again = CtConf::parse(&canonical);
        assert_eq!(
            again.conf.render_canonical(),
            canonical,
            "{name}: second round"
        );
        let dropping: Vec<_> = again
            .warnings
            .iter()
            .filter(|w| w.kind.drops_line())
            .collect();
        assert!(
            dropping.is_empty(),
            "{name}: canonical output still has dropped lines: {dropping:?}"
        );
    }
}

fn describe_section(out: &mut String, section: &Section) {
    let _ = writeln!(out, "[{}]", section.name().unwrap_or("main"));
    if let Some(d) = section.description() {
        let _ = writeln!(out, "  description: {d:?}");
    }
    for (k, v) in section.entries() {
        let _ = writeln!(out, "  {k} = {v:?}");
    }
    for (k, v) in section.lxc() {
        let _ = writeln!(out, "  raw {k} = {v:?}");
    }
    let typed = |r: Result<String, String>| r.unwrap_or_else(|e| format!("error: {e}"));
    let _ = writeln!(
        out,
        "  typed: unprivileged={} template={} memory={} swap={} cores={}",
        typed(
            section
                .unprivileged()
                .map(|v| v.to_string())
                .map_err(|e| e.to_string())
        ),
        typed(
            section
                .template()
                .map(|v| v.to_string())
                .map_err(|e| e.to_string())
        ),
        typed(
            section
                .memory()
                .map(|v| format!("{v:?}"))
                .map_err(|e| e.to_string())
        ),
        typed(
            section
                .swap()
                .map(|v| format!("{v:?}"))
                .map_err(|e| e.to_string())
        ),
        typed(
            section
                .cores()
                .map(|v| format!("{v:?}"))
                .map_err(|e| e.to_string())
        ),
    );
    match section.nets() {
        Ok(nets) => {
            for (n, net) in nets {
                let _ = writeln!(out, "  typed net{n}: {net}");
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  typed nets: error: {e}: {}", e.source);
        }
    }
    if let Ok(Some(rootfs)) = section.rootfs() {
        let _ = writeln!(out, "  typed rootfs: {rootfs} ({:?})", rootfs.kind());
    }
    match section.mount_points() {
        Ok(mps) => {
            for (n, mp) in mps {
                let _ = writeln!(out, "  typed mp{n}: {mp} ({:?})", mp.kind());
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  typed mount points: error: {e}: {}", e.source);
        }
    }
    if let Ok(Some(f)) = section.features() {
        let _ = writeln!(out, "  typed features: {f}");
    }
    if let Ok(Some(s)) = section.startup() {
        let _ = writeln!(out, "  typed startup: {s}");
    }
    if !section.deletes().is_empty() {
        let _ = writeln!(out, "  typed deletes: {:?}", section.deletes());
    }
}

#[test]
fn snapshots_of_what_phoenix_reads() {
    for (name, src) in fixtures() {
        let parsed = CtConf::parse(&src);
        let mut out = String::new();
        let _ = writeln!(out, "warnings:");
        for w in &parsed.warnings {
            let _ = writeln!(out, "  {w}");
        }
        for section in parsed.conf.sections() {
            describe_section(&mut out, section);
        }
        insta::assert_snapshot!(format!("conf_{name}"), out);
    }
}

/// The lines that differ between two texts: what is left after the common prefix and suffix.
fn changed_region(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let a: Vec<&str> = before.split_inclusive('\n').collect();
    let b: Vec<&str> = after.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    (
        own(&a[prefix..a.len() - suffix]),
        own(&b[prefix..b.len() - suffix]),
    )
}

#[test]
fn one_edit_changes_only_the_edited_lines() {
    let read = |name: &str| fs::read_to_string(fixture_dir().join(name)).unwrap();

    let src = read("snapshots-with-parent.conf");
    let mut conf = CtConf::parse(&src).conf;
    conf.set("memory", "8192").unwrap();
    assert_eq!(
        changed_region(&src, &conf.render()),
        (vec!["memory: 4096\n".into()], vec!["memory: 8192\n".into()])
    );

    let src = read("custom-idmap-colon-and-equals.conf");
    let mut conf = CtConf::parse(&src).conf;
    conf.remove_lxc("lxc.apparmor.allow_nesting");
    assert_eq!(
        changed_region(&src, &conf.render()),
        (vec!["lxc.apparmor.allow_nesting: 1\n".into()], vec![])
    );

    let src = read("bind-mounts.conf");
    let mut conf = CtConf::parse(&src).conf;
    conf.add_lxc(
        "lxc.mount.entry",
        "/srv/more srv/more none bind,create=dir 0 0",
    )
    .unwrap();
    assert_eq!(
        changed_region(&src, &conf.render()),
        (
            vec![],
            vec!["lxc.mount.entry: /srv/more srv/more none bind,create=dir 0 0\n".into()]
        )
    );

    let src = read("pending-with-delete.conf");
    let mut conf = CtConf::parse(&src).conf;
    conf.pending_mut().set("delete", "onboot").unwrap();
    assert_eq!(
        changed_region(&src, &conf.render()),
        (
            vec!["delete: onboot,!startup\n".into()],
            vec!["delete: onboot\n".into()]
        )
    );

    let src = read("template.conf");
    let mut conf = CtConf::parse(&src).conf;
    conf.set("onboot", "1").unwrap();
    assert_eq!(
        changed_region(&src, &conf.render()),
        (vec![], vec!["onboot: 1\n".into()])
    );

    let src = read("crlf-no-final-newline.conf");
    let mut conf = CtConf::parse(&src).conf;
    conf.snapshot_mut("snap1")
        .unwrap()
        .set("memory", "128")
        .unwrap();
    assert_eq!(
        changed_region(&src, &conf.render()),
        (vec!["memory: 256".into()], vec!["memory: 128".into()])
    );
}

#[test]
fn idmap_equals_line_keeps_its_form_when_edited() {
    let src = fs::read_to_string(fixture_dir().join("custom-idmap-colon-and-equals.conf")).unwrap();
    let mut conf = CtConf::parse(&src).conf;
    let mut values: Vec<String> = conf.idmap_values().iter().map(|s| s.to_string()).collect();
    values[1] = "g 0 200000 1000".into();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    conf.replace_lxc("lxc.idmap", &refs).unwrap();
    assert_eq!(
        changed_region(&src, &conf.render()),
        (
            vec!["lxc.idmap = g 0 100000 1000\n".into()],
            vec!["lxc.idmap = g 0 200000 1000\n".into()]
        )
    );
}
