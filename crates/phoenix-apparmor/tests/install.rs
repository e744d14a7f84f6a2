//! Installing under a temp root: writes only what changed, reloads only what
//! changed, and a second run does nothing.

use std::cell::RefCell;

use camino::{Utf8Path, Utf8PathBuf};
use phoenix_apparmor::extra::derive_profile;
use phoenix_apparmor::install::{
    Change, InstallError, LoadError, PROFILE_DIR, ProfileLoader, Reload, TUNABLE_FILE, apply, plan,
};
use phoenix_apparmor::{Profile, ShippedProfile, shipped};

/// Records every call; `available` and failures are scripted.
struct RecordingLoader {
    available: bool,
    fail: Option<&'static str>,
    calls: RefCell<Vec<String>>,
}

impl RecordingLoader {
    fn new(available: bool) -> Self {
        RecordingLoader {
            available,
            fail: None,
            calls: RefCell::new(Vec::new()),
        }
    }

    fn replaced(&self) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .filter_map(|c| c.strip_prefix("replace ").map(str::to_owned))
            .collect()
    }
}

impl ProfileLoader for RecordingLoader {
    fn available(&self) -> Result<bool, LoadError> {
        self.calls.borrow_mut().push("available".to_owned());
        Ok(self.available)
    }

    fn replace(&self, path: &Utf8Path) -> Result<(), LoadError> {
        let name = path.file_name().unwrap().to_owned();
        self.calls.borrow_mut().push(format!("replace {name}"));
        if self.fail == Some(path.file_name().unwrap()) {
            return Err(LoadError::Failed {
                argv: format!("apparmor_parser -r {path}"),
                status: "exit code 1".to_owned(),
                stderr: "syntax error".to_owned(),
            });
        }
        Ok(())
    }
}

fn temp_root() -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = Utf8Path::from_path(dir.path()).unwrap().to_owned();
    (dir, path)
}

/// Every file under the root with its content, for before/after comparisons.
fn tree(root: &Utf8Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in dir.read_dir_utf8().unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path().to_owned());
            } else {
                let rel = e.path().strip_prefix(root).unwrap().to_string();
                out.push((rel, std::fs::read_to_string(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn installing_twice_writes_once_and_reloads_once() {
    let (_d, root) = temp_root();
    let profiles = shipped::all();
    let loader = RecordingLoader::new(true);

    let first = apply(&plan(&root, &profiles).unwrap(), &loader).unwrap();
    assert_eq!(first.written.len(), 5);
    assert_eq!(
        loader.replaced(),
        ["lxc-phoenix-v2", "lxc-docker-secure", "lxc-phoenix-gpu"]
    );
    let after_first = tree(&root);
    let names: Vec<&str> = after_first.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "etc/apparmor.d/lxc/lxc-docker-secure",
            "etc/apparmor.d/lxc/lxc-phoenix-gpu",
            "etc/apparmor.d/lxc/lxc-phoenix-v2",
            "etc/apparmor.d/tunables/home.d/phoenix-nesting",
            "etc/apparmor.d/tunables/nesting",
        ]
    );

    let second_plan = plan(&root, &profiles).unwrap();
    assert!(
        second_plan
            .files
            .iter()
            .all(|f| f.change == Change::Unchanged)
    );
    let second = apply(&second_plan, &loader).unwrap();
    assert!(second.written.is_empty());
    assert!(matches!(second.reload, Reload::NotNeeded));
    assert_eq!(
        loader.replaced().len(),
        3,
        "the second run reloaded something"
    );
    assert_eq!(tree(&root), after_first);
}

#[test]
fn written_files_are_world_readable_and_leave_no_temp_files() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, root) = temp_root();
    apply(
        &plan(&root, &shipped::all()).unwrap(),
        &RecordingLoader::new(true),
    )
    .unwrap();
    let file = root.join(PROFILE_DIR).join("lxc-phoenix-v2");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    assert!(tree(&root).iter().all(|(p, _)| !p.contains(".phoenix-")));
}

#[test]
fn a_changed_profile_alone_is_rewritten_and_reloaded() {
    let (_d, root) = temp_root();
    let loader = RecordingLoader::new(true);
    apply(&plan(&root, &shipped::all()).unwrap(), &loader).unwrap();
    let gpu = root.join(PROFILE_DIR).join("lxc-phoenix-gpu");
    std::fs::write(&gpu, "# edited by hand\n").unwrap();

    let p = plan(&root, &shipped::all()).unwrap();
    let changed: Vec<&str> = p.changed().map(|f| f.path.file_name().unwrap()).collect();
    assert_eq!(changed, ["lxc-phoenix-gpu"]);
    let report = apply(&p, &loader).unwrap();
    assert_eq!(report.written, [gpu]);
    assert_eq!(
        loader.replaced(),
        [
            "lxc-phoenix-v2",
            "lxc-docker-secure",
            "lxc-phoenix-gpu",
            "lxc-phoenix-gpu"
        ]
    );
}

#[test]
fn a_changed_tunable_reloads_the_profiles_that_include_it() {
    let (_d, root) = temp_root();
    let loader = RecordingLoader::new(true);
    apply(&plan(&root, &shipped::all()).unwrap(), &loader).unwrap();
    let tunable = root.join(TUNABLE_FILE);
    std::fs::write(
        &tunable,
        "# site note\n@{apparmor_nesting_profiles} = unconfined\n",
    )
    .unwrap();

    apply(&plan(&root, &shipped::all()).unwrap(), &loader).unwrap();
    assert_eq!(loader.replaced()[3..], ["lxc-docker-secure"]);
    assert_eq!(
        std::fs::read_to_string(&tunable).unwrap(),
        "# site note\n@{apparmor_nesting_profiles} = lxc-phoenix-v2 lxc-docker-secure lxc-phoenix-gpu\n"
    );
}

#[test]
fn planning_writes_nothing() {
    let (_d, root) = temp_root();
    let p = plan(&root, &shipped::all()).unwrap();
    assert_eq!(p.changed().count(), 5);
    assert!(p.files.iter().all(|f| f.change == Change::Create));
    assert!(tree(&root).is_empty());
}

#[test]
fn a_host_without_apparmor_gets_the_files_and_a_skipped_reload() {
    let (_d, root) = temp_root();
    let loader = RecordingLoader::new(false);
    let report = apply(&plan(&root, &shipped::all()).unwrap(), &loader).unwrap();
    assert_eq!(report.written.len(), 5);
    match report.reload {
        Reload::Skipped { reason, pending } => {
            assert_eq!(
                reason,
                "apparmor is not enabled on this host or apparmor_parser is missing"
            );
            assert_eq!(pending.len(), 3);
        }
        other => panic!("expected a skipped reload, got {other:?}"),
    }
    assert_eq!(*loader.calls.borrow(), ["available"]);
}

#[test]
fn a_failed_reload_is_reported_and_the_others_still_load() {
    let (_d, root) = temp_root();
    let mut loader = RecordingLoader::new(true);
    loader.fail = Some("lxc-docker-secure");
    let report = apply(&plan(&root, &shipped::all()).unwrap(), &loader).unwrap();
    assert!(report.has_failures());
    let Reload::Done { reloaded, failed } = &report.reload else {
        panic!("expected a reload");
    };
    assert_eq!(reloaded.len(), 2);
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .error
            .ends_with("/lxc-docker-secure` failed with exit code 1: syntax error"),
        "{}",
        failed[0].error
    );
}

#[test]
fn a_file_changed_after_planning_stops_every_write() {
    let (_d, root) = temp_root();
    let p = plan(&root, &shipped::all()).unwrap();
    let gpu = root.join(PROFILE_DIR).join("lxc-phoenix-gpu");
    std::fs::create_dir_all(gpu.parent().unwrap()).unwrap();
    std::fs::write(&gpu, "# someone else\n").unwrap();
    let err = apply(&p, &RecordingLoader::new(true)).unwrap_err();
    assert!(matches!(err, InstallError::ChangedSinceRead { ref path } if *path == gpu));
    assert_eq!(tree(&root).len(), 1, "something was written");
}

#[test]
fn per_container_profiles_install_next_to_the_shipped_ones() {
    let (_d, root) = temp_root();
    let mut profiles: Vec<Profile> = shipped::all();
    profiles.push(derive_profile(&ShippedProfile::DockerSecure.profile(), 950, &[]).unwrap());
    let loader = RecordingLoader::new(true);
    apply(&plan(&root, &profiles).unwrap(), &loader).unwrap();
    assert!(
        root.join(PROFILE_DIR)
            .join("lxc-docker-secure-ct950")
            .is_file()
    );
    profiles.push(profiles[0].clone());
    assert_eq!(
        plan(&root, &profiles).unwrap_err().to_string(),
        "profile lxc-phoenix-v2 is listed twice"
    );
}

#[test]
fn a_symlinked_profile_directory_leading_out_of_the_root_is_refused() {
    let (_d, root) = temp_root();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.join("etc/apparmor.d")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join(PROFILE_DIR)).unwrap();
    let err = plan(&root, &shipped::all()).unwrap_err();
    assert!(matches!(err, InstallError::Escape(_)), "{err}");
    let root_c = root.canonicalize_utf8().unwrap();
    assert_eq!(err.to_string(), "refusing to install");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        format!(
            "host path etc/apparmor.d/lxc/lxc-phoenix-v2 escapes the root {root} at {root_c}/etc/apparmor.d/lxc: a symlink to the absolute path {}",
            outside.path().display()
        )
    );
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
}

#[test]
fn a_fifo_in_place_of_a_profile_is_refused_without_blocking() {
    let (_d, root) = temp_root();
    std::fs::create_dir_all(root.join(PROFILE_DIR)).unwrap();
    let fifo = root.join(PROFILE_DIR).join("lxc-phoenix-v2");
    let ok = std::process::Command::new("mkfifo")
        .arg(fifo.as_str())
        .status()
        .unwrap();
    assert!(ok.success());
    let err = plan(&root, &shipped::all()).unwrap_err();
    assert!(matches!(err, InstallError::Read { .. }), "{err}");
}
