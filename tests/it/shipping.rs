//! What ships beside the binary: shell completions and man pages generated from the CLI, the
//! pre-commit hook, and the GitHub Action (`action.yml`), checked against the real binary and
//! the clap definitions so none of them can name a command or flag that does not exist.

use std::process::Command;

use clap::CommandFactory;
use orgsync::cli::Cli;

use crate::support::*;

/// The subcommands a user can see (not `help`, not hidden ones).
fn visible_subcommands() -> Vec<String> {
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    for must in [
        "validate",
        "plan",
        "apply",
        "export",
        "schema",
        "completions",
        "man",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} in {names:?}");
    }
    names
}

/// Whether `tool` runs here (shells and groff are optional extras of the checks below).
fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn completions_are_a_script_for_each_shell_naming_every_subcommand_and_flag() {
    let subcommands = visible_subcommands();
    for (shell, marker) in [
        ("bash", "complete -F _orgsync"),
        ("zsh", "#compdef orgsync"),
        ("fish", "complete -c orgsync"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = OrgSync::bare().args(["completions", shell]).run();
        run.success();
        let script = run.stdout();
        assert!(
            script.contains(marker),
            "{shell}: no `{marker}`\n{}",
            run.show()
        );
        assert!(run.stderr().is_empty(), "{shell}: {}", run.show());
        for sub in &subcommands {
            assert!(
                script.contains(sub.as_str()),
                "{shell}: no subcommand {sub}"
            );
        }
        for flag in [
            "detailed-exitcode",
            "auto-approve",
            "audit-log",
            "sandbox",
            "format",
        ] {
            assert!(script.contains(flag), "{shell}: no --{flag}");
        }
        // The values of `--format` are completed too (PowerShell's script completes flags only).
        if shell != "powershell" {
            assert!(script.contains("markdown"), "{shell}: no format values");
        }
        if shell == "bash" {
            let dir = TempDir::new("completions");
            let file = dir.write("orgsync.bash", script);
            let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
}

#[test]
fn an_unknown_shell_is_refused_naming_the_ones_there_are() {
    let run = OrgSync::bare().args(["completions", "tcsh"]).run();
    run.code(1);
    assert!(run.stdout().is_empty(), "{}", run.show());
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(run.stderr().contains(shell), "{}", run.show());
    }
}

#[test]
fn the_man_page_is_roff_naming_every_subcommand() {
    let run = OrgSync::bare().args(["man"]).run();
    run.success();
    let page = run.stdout();
    assert!(page.contains(".TH orgsync 1"), "{page}");
    assert!(
        page.contains(&format!("\"orgsync {}\"", env!("CARGO_PKG_VERSION"))),
        "{page}"
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "no {section}");
    }
    // roff escapes `-` as `\-`.
    for sub in visible_subcommands() {
        assert!(page.contains(&format!("orgsync\\-{sub}(1)")), "no {sub}");
    }
    if have("groff") {
        let dir = TempDir::new("man");
        let file = dir.write("orgsync.1", page);
        let out = Command::new("groff")
            // -k: the page is UTF-8, as man(1) reads it (through preconv).
            .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "groff: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn man_dir_writes_a_page_per_subcommand_with_its_flags() {
    let dir = TempDir::new("mandir");
    let out = dir.path().join("man/man1");
    let run = OrgSync::bare().arg("man").arg("--dir").arg(&out).run();
    run.success();
    assert!(run.stdout().is_empty(), "{}", run.show());
    let mut pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut want: Vec<String> = visible_subcommands()
        .iter()
        .map(|s| format!("orgsync-{s}.1"))
        .collect();
    want.push("orgsync.1".into());
    want.sort();
    assert_eq!(pages, want);
    let plan = std::fs::read_to_string(out.join("orgsync-plan.1")).unwrap();
    assert!(plan.contains(".TH orgsync-plan 1"), "{plan}");
    assert!(plan.contains("\\-\\-detailed\\-exitcode"), "{plan}");
    let apply = std::fs::read_to_string(out.join("orgsync-apply.1")).unwrap();
    assert!(apply.contains("\\-\\-auto\\-approve"), "{apply}");
    // The main page is the one `orgsync man` prints.
    let main = std::fs::read_to_string(out.join("orgsync.1")).unwrap();
    assert_eq!(main, OrgSync::bare().arg("man").run().stdout());
    // A directory that cannot be made is an error naming it.
    let file = dir.write("plain", "x");
    let run = OrgSync::bare()
        .arg("man")
        .arg("--dir")
        .arg(file.join("sub"))
        .run();
    run.code(1);
    assert!(
        run.stderr().contains("could not create the directory"),
        "{}",
        run.show()
    );
}
