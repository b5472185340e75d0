//! Issue 21, parts 3-5: mistakes whose messages lead to the fix, an apply that checks before it
//! acts, and a plan a person can read. The real binary against the emulator over loopback.

use crate::support::*;
use orgsync_emulator::Options;

/// The demo's plan, as text and as Markdown.
fn example_plans(emu: &orgsync_emulator::Emulator, dir: &TempDir) -> (String, String) {
    let config = example_config();
    let plan = |format: &str| {
        let out = OrgSync::new(emu)
            .args(["plan", "-c", config.to_str().unwrap(), "--format", format])
            .cwd(dir.path())
            .run();
        out.success();
        out.stdout
    };
    (plan("text"), plan("markdown"))
}

#[test]
fn the_plan_has_a_legend_no_hunk_headers_and_names_the_limit_as_a_limit() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("readable");
    let (text, markdown) = example_plans(&emu, &dir);
    for (what, out) in [("text", &text), ("markdown", &markdown)] {
        assert!(
            !out.lines().any(|l| l.starts_with("@@")),
            "{what}: a hunk header says nothing about a membership:\n{out}"
        );
        assert!(
            out.contains(" … 8 unchanged members not shown\n"),
            "{what}: what the diff leaves out is said in words:\n{out}"
        );
        // initech: 6 removals, 11 members, 25%: the limit is 2, and it reads as the limit.
        assert!(
            out.contains("6 removals exceed the limit of 2 (max_removals: 25% of 11 current members, rounded down)"),
            "{what}:\n{out}"
        );
        assert!(!out.contains("exceed max_removals"), "{what}:\n{out}");
        let legends: Vec<&str> = out.lines().filter(|l| l.contains("Legend: ")).collect();
        assert_eq!(legends.len(), 1, "{what}: one legend line:\n{out}");
        for marker in [
            "`!` declared but not a member",
            "`^` how the removed member",
        ] {
            assert!(legends[0].contains(marker), "{what}: {}", legends[0]);
        }
    }
    // The text marks undeclared invitations `?`, and says so; Markdown lists them in words.
    let legend = text.lines().find(|l| l.starts_with("Legend: ")).unwrap();
    assert!(legend.contains("`?` pending invitation"), "{legend}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("? invitation"))
    );
}

#[test]
fn a_plan_without_markers_has_no_legend() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("readable-none");
    // umbrella minus Albert: one removal, nothing missing, no invitations, no open doors.
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: umbrella\n    max_removals: 100%\n    members:\n      - \"auth0|64b0c0ffee0000000000001e\"\n      - \"auth0|64b0c0ffee0000000000001f\"\n      - \"auth0|64b0c0ffee00000000000021\"\n",
    );
    let out = OrgSync::new(&emu).args(["plan"]).cwd(dir.path()).run();
    out.success();
    assert!(
        out.stdout().contains("-auth0|64b0c0ffee00000000000020"),
        "{}",
        out.show()
    );
    assert!(!out.stdout().contains("Legend"), "{}", out.show());
}

#[test]
fn plan_help_says_what_exit_2_counts() {
    let out = OrgSync::bare().args(["plan", "--help"]).run();
    out.success();
    let help = out
        .stdout()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("Exit 2 when the plan has drift: removals (blocked ones too), missing members, or undeclared pending invitations"),
        "{help}"
    );
}
