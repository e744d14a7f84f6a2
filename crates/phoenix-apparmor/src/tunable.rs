//! The nesting tunable, `/etc/apparmor.d/tunables/nesting`:
//!
//! ```text
//! @{apparmor_nesting_profiles} = lxc-phoenix-v2 lxc-docker-secure lxc-phoenix-gpu
//! ```
//!
//! `lxc-docker-secure` includes it and allows `change_profile -> @{apparmor_nesting_profiles}`.
//! Editing an existing file rewrites only the lines that define or extend that variable
//! and keeps everything else byte for byte.
//!
//! AppArmor accepts variable definitions only before the first profile of a compile
//! unit. Proxmox loads every container profile at once through `lxc-containers`
//! (`#include <tunables/global>` then `#include <lxc>`), and the files of `lxc/` come in
//! directory order, so a profile of another file may precede phoenix's include of the
//! tunable and the whole unit fails to compile (`unexpected TOK_SET_VAR`). The
//! [hook](render_hook) in `tunables/home.d/`, which `tunables/global` includes through
//! `tunables/home`, defines the variable before any profile; the profiles' own include
//! of `tunables/nesting` is then skipped as a duplicate.

use crate::model::VariableDef;
use crate::names::{ProfileName, VariableName};
use crate::render::push_comment;
use crate::shipped::ShippedProfile;

/// The include path of the tunable, relative to the AppArmor base directory.
pub const NESTING_TUNABLE_INCLUDE: &str = "tunables/nesting";

/// The variable the tunable defines.
pub const NESTING_VARIABLE: &str = "apparmor_nesting_profiles";

/// [`NESTING_VARIABLE`] as a typed name.
pub fn nesting_variable() -> VariableName {
    NESTING_VARIABLE.parse().expect("valid variable name")
}

/// The definition phoenix wants: every shipped profile, in list order.
pub fn nesting_definition() -> VariableDef {
    VariableDef {
        name: nesting_variable(),
        values: ShippedProfile::ALL.iter().map(|p| p.name()).collect(),
    }
}

/// Renders one definition line (without a line ending).
///
/// ```
/// let line = phoenix_apparmor::tunable::render_definition(&phoenix_apparmor::tunable::nesting_definition());
/// assert_eq!(line, "@{apparmor_nesting_profiles} = lxc-phoenix-v2 lxc-docker-secure lxc-phoenix-gpu");
/// ```
pub fn render_definition(def: &VariableDef) -> String {
    let values: Vec<&str> = def.values.iter().map(ProfileName::as_str).collect();
    format!("{} = {}", def.name.reference(), values.join(" "))
}

const HEADER: &str = "@{apparmor_nesting_profiles}: the profiles a nesting container may switch\n\
its nested containers to (change_profile in lxc-docker-secure).\n\
Managed by phoenix: `phoenix apparmor install` rewrites the lines that define\n\
this variable and keeps every other line of this file.";

/// The tunable as phoenix writes it when the file does not exist yet.
pub fn render_tunable(def: &VariableDef) -> String {
    let mut out = String::new();
    push_comment(&mut out, "", HEADER);
    out.push('\n');
    out.push_str(&render_definition(def));
    out.push('\n');
    out
}

/// The hook file's content. `include if exists` keeps every profile on the host
/// compiling should the tunable itself be removed.
///
/// ```
/// assert!(phoenix_apparmor::tunable::render_hook().ends_with("include if exists <tunables/nesting>\n"));
/// ```
pub fn render_hook() -> String {
    let mut out = String::new();
    push_comment(
        &mut out,
        "",
        "Managed by phoenix. Defines @{apparmor_nesting_profiles} (tunables/nesting)\n\
         before the first profile of every policy that includes tunables/global:\n\
         AppArmor refuses variable definitions after a profile, and Proxmox's\n\
         lxc-containers includes the files of lxc/ in directory order.",
    );
    out.push_str("include if exists <tunables/nesting>\n");
    out
}

/// Returns `existing` with the variable set to `def`, or a fresh file when there is
/// none.
///
/// Every line that defines (`=`) or extends (`+=`) the variable is replaced by one `=`
/// line at the position of the first. Extensions are dropped on purpose: the list
/// decides where a hardened profile may `change_profile` to, so an appended
/// `unconfined` would undo the hardening. All other lines are kept as they were.
/// The edit is idempotent.
///
/// ```
/// use phoenix_apparmor::tunable::{edit_tunable, nesting_definition};
/// let before = "# site comment\n@{apparmor_nesting_profiles} = lxc-old\n@{other} = x\n";
/// let after = edit_tunable(Some(before), &nesting_definition());
/// assert_eq!(after, "# site comment\n@{apparmor_nesting_profiles} = lxc-phoenix-v2 lxc-docker-secure lxc-phoenix-gpu\n@{other} = x\n");
/// assert_eq!(edit_tunable(Some(&after), &nesting_definition()), after);
/// ```
pub fn edit_tunable(existing: Option<&str>, def: &VariableDef) -> String {
    let Some(existing) = existing else {
        return render_tunable(def);
    };
    let wanted = render_definition(def);
    let reference = def.name.reference();
    let mut out = String::with_capacity(existing.len() + wanted.len());
    let mut placed = false;
    for line in existing.split_inclusive('\n') {
        if !defines(line, &reference) {
            out.push_str(line);
            continue;
        }
        if !placed {
            placed = true;
            out.push_str(&wanted);
            // Keep the line's own ending (CRLF stays CRLF; a last line without one
            // gets the newline every policy file should end with).
            out.push_str(if line.ends_with("\r\n") { "\r\n" } else { "\n" });
        }
    }
    if !placed {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        push_comment(&mut out, "", HEADER);
        out.push_str(&wanted);
        out.push('\n');
    }
    out
}

/// True when `line` assigns or appends to the variable `reference` (`@{name}`).
fn defines(line: &str, reference: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix(reference) else {
        return false;
    };
    let rest = rest.trim_start();
    rest.starts_with('=') || rest.starts_with("+=")
}

#[cfg(test)]
mod tests {
    use super::*;

    const WANT: &str =
        "@{apparmor_nesting_profiles} = lxc-phoenix-v2 lxc-docker-secure lxc-phoenix-gpu";

    #[test]
    fn a_missing_file_gets_the_header_and_the_definition() {
        let text = edit_tunable(None, &nesting_definition());
        assert!(text.starts_with("# @{apparmor_nesting_profiles}: the profiles"));
        assert!(text.ends_with(&format!("\n{WANT}\n")));
    }

    #[test]
    fn a_file_without_the_variable_keeps_its_text_and_gains_a_block() {
        let before = "@{other} = a\n# note";
        let after = edit_tunable(Some(before), &nesting_definition());
        assert!(after.starts_with("@{other} = a\n# note\n\n# @{apparmor_nesting_profiles}"));
        assert!(after.ends_with(&format!("{WANT}\n")));
        assert_eq!(edit_tunable(Some(&after), &nesting_definition()), after);
    }

    #[test]
    fn duplicate_and_appending_definitions_collapse_into_one_line_in_place() {
        let before = "# a\r\n@{apparmor_nesting_profiles}=lxc-x\r\n# b\r\n  @{apparmor_nesting_profiles} += unconfined\r\n# c\r\n";
        let after = edit_tunable(Some(before), &nesting_definition());
        assert_eq!(after, format!("# a\r\n{WANT}\r\n# b\r\n# c\r\n"));
        assert!(!after.contains("unconfined"));
    }

    #[test]
    fn similar_names_and_comments_are_not_touched() {
        let before = "@{apparmor_nesting_profiles_extra} = x\n# @{apparmor_nesting_profiles} = y\n";
        let after = edit_tunable(Some(before), &nesting_definition());
        assert!(after.starts_with(before));
        assert!(after.ends_with(&format!("{WANT}\n")));
    }
}
