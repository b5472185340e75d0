//! 2. A resealed saved plan only narrows: it cannot remove what a fresh plan keeps.

use super::*;
use crate::support::unindent;

const BREAK_GLASS: &str = "auth0|breakglass01";

pub(super) const SAVED_CONFIG: &str = r#"version: 1
defaults:
  protect: ["auth0|breakglass01"]
  max_removals: 100%
organizations:
  - name: alpha
    members: ["auth0|a0000", "auth0|a0001", "auth0|a0002", "auth0|a0003", "auth0|a0004"]
  - name: guarded
    max_removals: 3
    members: ["auth0|g0000", "auth0|g0001"]
"#;

pub(super) fn saved_plan_emulator() -> Emulator {
    let mut alpha = org_with_members("org_alphaalphaalpha1", "alpha", "a", 10);
    alpha
        .members
        .push(member(BREAK_GLASS, "bg@example.com", "Break Glass"));
    background(
        emu_tenant(vec![
            alpha,
            org_with_members("org_guardedguarded2", "guarded", "g", 10),
            org_with_members("org_otherotherothe3", "other", "o", 3),
        ]),
        Options::default(),
    )
}

/// Makes `plan.json` in `dir` (config `orgsync.yaml` there), edits and reseals it.
pub(super) fn resealed_plan(
    emu: &Emulator,
    dir: &TempDir,
    edit: impl FnOnce(&mut orgsync::plan::Plan),
) {
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let r = run_in(
        &emu.url(),
        dir.path(),
        ["plan", "-c", "orgsync.yaml", "--out", "plan.json"],
    );
    r.success();
    let path = dir.path().join("plan.json");
    let mut p: orgsync::plan::Plan =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut p);
    p.plan_sha256 = Some(p.digest());
    std::fs::write(&path, serde_json::to_string_pretty(&p).unwrap()).unwrap();
}

fn org_mut<'a>(p: &'a mut orgsync::plan::Plan, name: &str) -> &'a mut orgsync::plan::OrgPlan {
    p.organizations.iter_mut().find(|o| o.name == name).unwrap()
}

/// The output says something was skipped, and the plan's legitimate removals in alpha happened.
fn assert_skipped_and_alpha_removals_done(emu: &Emulator, r: &Run) {
    assert!(
        r.all().contains("skipped"),
        "no `skipped` in the output:\n{}",
        r.show()
    );
    let alpha = emu_members(emu, "alpha");
    for i in 5..10 {
        assert!(
            !alpha.contains(&format!("auth0|a{i:04}")),
            "the plan's own removal auth0|a{i:04} did not happen: {alpha:?}\n{}",
            r.show()
        );
    }
}

/// `apply plan.json -c orgsync.yaml --auto-approve`.
const APPLY_WITH_CONFIG: [&str; 5] = ["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"];

/// A plan made, edited by `edit` and resealed in a fresh dir (tagged `tag`), then applied with
/// `args`: the emulator and the run, which did not panic.
fn apply_resealed(
    tag: &str,
    args: &[&str],
    edit: impl FnOnce(&mut orgsync::plan::Plan),
) -> (Emulator, Run) {
    let emu = saved_plan_emulator();
    let dir = TempDir::new(tag);
    resealed_plan(&emu, &dir, edit);
    let r = run_in(&emu.url(), dir.path(), args);
    r.assert_no_panic();
    (emu, r)
}

#[test]
fn a_resealed_plan_cannot_remove_a_declared_member() {
    let (emu, r) = apply_resealed("reseal-declared", &APPLY_WITH_CONFIG, |p| {
        let declared = orgsync::plan::Member::id("auth0|a0000");
        org_mut(p, "alpha").remove.insert(0, declared.into());
    });
    let kept = emu_members(&emu, "alpha").contains(&"auth0|a0000".to_string());
    assert!(
        kept,
        "a declared member was removed by a resealed plan:\n{}",
        r.show()
    );
    assert_skipped_and_alpha_removals_done(&emu, &r);
}

#[test]
fn a_resealed_plan_cannot_unblock_a_guarded_organization() {
    let (emu, r) = apply_resealed("reseal-blocked", &APPLY_WITH_CONFIG, |p| {
        let blocked = org_mut(p, "guarded").blocked.take();
        assert!(blocked.is_some(), "the guard blocks it in the real plan");
    });
    let guarded = emu_members(&emu, "guarded").len();
    assert_eq!(guarded, 10, "a blocked org lost members:\n{}", r.show());
    let spared = emu_deletes(&emu)
        .iter()
        .all(|d| !d.path.contains("org_guardedguarded2"));
    assert!(spared, "{}", r.show());
    r.code_for(1, "the organization stays blocked");
    assert_skipped_and_alpha_removals_done(&emu, &r);
}

#[test]
fn a_resealed_plan_cannot_add_an_organization_the_config_does_not_name() {
    let (emu, r) = apply_resealed("reseal-other", &APPLY_WITH_CONFIG, |p| {
        let remove = (0..3).map(|i| orgsync::plan::Member::id(format!("auth0|o{i:04}")).into());
        p.organizations.push(orgsync::plan::OrgPlan {
            id: "org_otherotherothe3".into(),
            name: "other".into(),
            current_count: 3,
            desired_count: 0,
            remove: remove.collect(),
            drift: true,
            ..Default::default()
        });
    });
    let other = emu_members(&emu, "other").len();
    assert_eq!(other, 3, "an unnamed org lost members:\n{}", r.show());
    assert_skipped_and_alpha_removals_done(&emu, &r);
}

/// No `-c`: the config is the default `orgsync.yaml` of the working directory.
#[test]
fn a_resealed_plan_cannot_remove_the_break_glass_account_even_without_dash_c() {
    let args = ["apply", "plan.json", "--auto-approve"];
    let (emu, r) = apply_resealed("reseal-protect", &args, |p| {
        let a = org_mut(p, "alpha");
        a.protected_kept.retain(|m| m.user_id != BREAK_GLASS);
        a.remove.push(orgsync::plan::Member::id(BREAK_GLASS).into());
    });
    let kept = emu_members(&emu, "alpha").contains(&BREAK_GLASS.to_string());
    assert!(
        kept,
        "the protected break-glass account was removed:\n{}",
        r.show()
    );
    assert_skipped_and_alpha_removals_done(&emu, &r);
}

#[test]
fn a_saved_plan_without_any_config_is_refused() {
    let emu = saved_plan_emulator();
    let made = TempDir::new("reseal-noconfig-a");
    resealed_plan(&emu, &made, |_| {});
    let elsewhere = TempDir::new("reseal-noconfig-b");
    let copied = std::fs::copy(
        made.path().join("plan.json"),
        elsewhere.path().join("plan.json"),
    );
    copied.unwrap();
    let before = emu.state();
    let r = run_in(
        &emu.url(),
        elsewhere.path(),
        ["apply", "plan.json", "--auto-approve"],
    );
    r.assert_no_panic();
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
    assert_eq!(emu.state(), before);
    r.failure();
    crate::support::assert_run!(r, @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
    error: orgsync.yaml: cannot read the config: No such file or directory (os error 2)
    hint: pass the config with `-c FILE` (default `orgsync.yaml`), or a directory of YAML files
    hint: a saved plan is applied with the config it was made from: pass it with `-c FILE`
    ");
}

/// `apply <(…)`: a saved plan read from a pipe is bounded by the bytes that arrive, not by the
/// size the pipe reports (0). An endless pipe fails the run, naming the cap, with nothing sent.
#[test]
fn an_endless_plan_pipe_fails_at_the_cap_and_removes_nobody() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("plan-pipe");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let fifo = dir.path().join("plan.pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    let writer_path = fifo.clone();
    // Writes until the reader goes away (a broken pipe ends the loop).
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut pipe = std::fs::OpenOptions::new()
            .write(true)
            .open(&writer_path)
            .unwrap();
        let chunk = vec![b' '; 1 << 20];
        let mut sent = 0usize;
        while pipe.write_all(&chunk).is_ok() {
            sent += chunk.len();
            if sent > 512 << 20 {
                break;
            }
        }
        sent
    });
    let apply = ["apply", "plan.pipe", "-c", "orgsync.yaml", "--auto-approve"];
    let r = run_in(&emu.url(), dir.path(), apply);
    let sent = writer.join().unwrap();
    r.assert_no_panic();
    r.failure().stderr_has("plan.pipe` is larger than 64 MiB");
    assert!(
        sent < 128 << 20,
        "the reader went on past the cap: {sent} bytes"
    );
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
}

/// A config directory whose `_defaults.yaml` (the `protect` list) is a dangling link: the load
/// fails, naming the entry, and nobody is removed (it was once a warning, and apply removed the
/// break-glass account with exit 0).
#[cfg(unix)]
#[test]
fn a_dangling_defaults_file_fails_the_load_and_removes_nobody() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("dangling-defaults");
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    dir.write(
        "conf/orgs.yaml",
        &unindent(
            r#"
        version: 1
        organizations:
          - name: alpha
            max_removals: 100%
            members: ["auth0|a0000"]
    "#,
        ),
    );
    std::os::unix::fs::symlink(
        dir.path().join("moved/_defaults.yaml"),
        dir.path().join("conf/_defaults.yaml"),
    )
    .unwrap();
    let before = emu.state();
    let r = run_in(
        &emu.url(),
        dir.path(),
        ["apply", "-c", "conf", "--auto-approve"],
    );
    r.assert_no_panic();
    r.code(1)
        .stderr_has("conf/_defaults.yaml: cannot read this config entry");
    crate::support::assert_run!(r, @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
    error: conf/_defaults.yaml: cannot read this config entry (a link whose target cannot be read): No such file or directory (os error 2)
    hint: every config file of a directory is read, or none is: fix or remove the entry, then run again
    ");
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
    assert_eq!(emu.state(), before);
}
