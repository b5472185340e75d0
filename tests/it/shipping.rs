//! What ships beside the binary: shell completions and man pages generated from the CLI, the
//! pre-commit hook, and the GitHub Action (`action.yml`), checked against the real binary and
//! the clap definitions so none of them can name a command or flag that does not exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use clap::CommandFactory;
use orgsync::cli::Cli;
use serde_json::Value;

use crate::support::http::{Answer, serve};
use crate::support::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `PREFIX.NAME` in `text` (names as GitHub expressions spell them).
fn references(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

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

/// `orgsync completions SHELL`, checked: a success, nothing on stderr, the shell's `marker`,
/// every visible subcommand and the main flags; returns the script.
#[track_caller]
fn completions(shell: &str, marker: &str) -> String {
    let run = OrgSync::bare().args(["completions", shell]).run();
    run.success().stdout_has(marker);
    assert!(run.stderr().is_empty(), "{shell}: {}", run.show());
    let script = run.stdout().to_string();
    for sub in visible_subcommands() {
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
    script
}

#[test]
fn bash_completions_name_everything_complete_format_values_and_parse() {
    let script = completions("bash", "complete -F _orgsync");
    assert_has(&script, "markdown");
    let dir = TempDir::new("completions");
    let file = dir.write("orgsync.bash", &script);
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "bash -n: {err}");
}

#[test]
fn zsh_completions_name_everything_and_complete_format_values() {
    assert_has(&completions("zsh", "#compdef orgsync"), "markdown");
}

#[test]
fn fish_completions_name_everything_and_complete_format_values() {
    assert_has(&completions("fish", "complete -c orgsync"), "markdown");
}

/// PowerShell's script completes flags only, not the values of `--format`.
#[test]
fn powershell_completions_name_every_subcommand_and_flag() {
    completions("powershell", "Register-ArgumentCompleter");
}

#[test]
fn an_unknown_shell_is_refused_naming_the_ones_there_are() {
    let run = OrgSync::bare().args(["completions", "tcsh"]).run();
    run.code(1);
    assert!(run.stdout().is_empty(), "{}", run.show());
    for shell in ["bash", "zsh", "fish", "powershell"] {
        run.stderr_has(shell);
    }
    assert_run!(run, @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
    error: invalid value 'tcsh' for '<SHELL>'
      [possible values: bash, elvish, fish, powershell, zsh]

      tip: a similar value exists: 'zsh'

    For more information, try '--help'.
    ");
}

/// `orgsync man`'s page (a success).
fn man_page() -> String {
    let run = OrgSync::bare().args(["man"]).run();
    run.success();
    run.stdout().to_string()
}

#[test]
fn the_man_page_is_roff_naming_every_subcommand() {
    let page = man_page();
    assert_has(&page, ".TH orgsync 1");
    assert_has(&page, format!("\"orgsync {}\"", env!("CARGO_PKG_VERSION")));
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "no {section}");
    }
    // roff escapes `-` as `\-`.
    for sub in visible_subcommands() {
        assert!(page.contains(&format!("orgsync\\-{sub}(1)")), "no {sub}");
    }
}

#[test]
fn groff_reads_the_man_page_without_a_warning() {
    if !have("groff") {
        eprintln!("no groff here: the man page is not rendered");
        return;
    }
    let dir = TempDir::new("man");
    let file = dir.write("orgsync.1", &man_page());
    // -k: the page is UTF-8, as man(1) reads it (through preconv).
    let mut groff = Command::new("groff");
    let out = groff
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.is_empty(), "groff: {err}");
}

/// `orgsync man --dir DIR/man/man1` in a fresh dir (a success, nothing on stdout): the dir and
/// the pages' directory.
fn man_dir(tag: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(tag);
    let out = dir.path().join("man/man1");
    let run = OrgSync::bare().arg("man").arg("--dir").arg(&out).run();
    run.success();
    assert!(run.stdout().is_empty(), "{}", run.show());
    (dir, out)
}

#[test]
fn man_dir_writes_a_page_per_subcommand() {
    let (_dir, out) = man_dir("mandir");
    let entries = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name());
    let pages: BTreeSet<String> = entries.map(|n| n.to_string_lossy().into_owned()).collect();
    let subs = visible_subcommands()
        .into_iter()
        .map(|s| format!("orgsync-{s}.1"));
    let want: BTreeSet<String> = subs.chain(["orgsync.1".to_string()]).collect();
    assert_eq!(pages, want);
}

#[test]
fn man_dir_pages_carry_their_commands_flags_and_the_main_page_is_orgsync_man() {
    let (_dir, out) = man_dir("mandir-pages");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let plan = read("orgsync-plan.1");
    assert_has(&plan, ".TH orgsync-plan 1");
    assert_has(&plan, "\\-\\-detailed\\-exitcode");
    assert_has(&read("orgsync-apply.1"), "\\-\\-auto\\-approve");
    assert_eq!(read("orgsync.1"), man_page());
}

#[test]
fn a_man_dir_that_cannot_be_made_is_an_error_naming_it() {
    let dir = TempDir::new("mandir-bad");
    let file = dir.write("plain", "x");
    let run = OrgSync::bare()
        .arg("man")
        .arg("--dir")
        .arg(file.join("sub"))
        .run();
    run.code(1).stderr_has("could not create the directory");
    assert_run!(run, @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
    error: could not create the directory `[TEMP]/plain/sub`: Not a directory (os error 20)
    ");
}

fn action() -> Value {
    yaml(&root().join("action.yml"))
}

/// The step of action.yml with id `id`.
fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    let steps = action["runs"]["steps"].as_array().expect("steps");
    steps
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step `{id}`"))
}

#[test]
fn the_action_declares_its_inputs_described_with_the_defaults_users_need() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_object().expect("inputs");
    for want in ["command", "config", "version", "args", "comment"] {
        assert!(inputs.contains_key(want), "input {want}");
    }
    for (name, input) in inputs {
        let described = input["description"].as_str().is_some_and(|d| d.len() > 20);
        assert!(described, "input {name} needs a description");
    }
    // The defaults a user gets: the config the README uses, this crate's own release.
    assert_eq!(inputs["config"]["default"], "orgsync.yaml");
    assert_eq!(inputs["version"]["default"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_action_uses_the_inputs_it_declares_and_no_other() {
    let action = action();
    let inputs = action["inputs"].as_object().expect("inputs");
    let declared: BTreeSet<String> = inputs.keys().cloned().collect();
    let used = references(&serde_json::to_string(&action["runs"]).unwrap(), "inputs.");
    assert_eq!(used, declared, "inputs used in `runs` vs declared");
}

#[test]
fn the_actions_scripts_are_strict_bash_with_no_expression_inside() {
    for step in action()["runs"]["steps"].as_array().expect("steps") {
        // The one step that is not a script: the cache of `version: source`'s build, which
        // runs only for that version.
        if let Some(uses) = step["uses"].as_str() {
            assert!(uses.starts_with("actions/cache@v"), "{step}");
            assert_eq!(step["if"], "inputs.version == 'source'", "{step}");
            continue;
        }
        let run = step["run"]
            .as_str()
            .expect("a composite step here runs a script or restores the cache");
        assert_eq!(step["shell"], "bash", "{step}");
        // Inputs reach scripts through `env:` only: an expression inside a script would be
        // pasted into it as code (script injection).
        assert!(!run.contains("${{"), "an expression in a script: {run}");
        assert!(run.starts_with("set -euo pipefail"), "{run}");
    }
}

#[test]
fn each_action_output_is_written_by_the_step_it_names() {
    let action = action();
    let outputs = action["outputs"].as_object().expect("outputs");
    for want in ["drift", "to_remove"] {
        assert!(outputs.contains_key(want), "output {want}");
    }
    for (name, out) in outputs {
        let value = out["value"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: value"));
        let refs = references(value, "steps.");
        assert_eq!(refs.len(), 1, "{name}: {value}");
        let id = refs.first().unwrap();
        assert_eq!(value, format!("${{{{ steps.{id}.outputs.{name} }}}}"));
        let script = step(&action, id)["run"].as_str().unwrap();
        assert!(
            script.contains(&format!("echo \"{name}=")),
            "{name}: step {id} never writes it"
        );
    }
}

/// The flags the action passes exist on the commands it passes them to, and the outputs read
/// the JSON plan's fields that exist.
#[test]
fn the_flags_and_plan_fields_the_action_uses_exist() {
    let action = action();
    let run_script = step(&action, "run")["run"].as_str().unwrap();
    let cli = Cli::command();
    for (sub, flag) in [
        ("plan", "config"),
        ("plan", "out"),
        ("apply", "config"),
        ("validate", "config"),
    ] {
        let c = cli.find_subcommand(sub).unwrap();
        assert!(
            c.get_arguments().any(|a| a.get_long() == Some(flag)),
            "{sub} --{flag}"
        );
    }
    assert!(run_script.contains("--out \"$plan_file\""));
    assert!(run_script.contains("'.summary.drift'") && run_script.contains("'.summary.remove'"));
}

/// One step of action.yml run as GitHub would: its `env:` with `inputs.*` (given, else the
/// declared default) and `github.*` (given) filled in, plus `extra` (the runner's variables).
fn run_step(
    id: &str,
    inputs: &[(&str, &str)],
    github: &[(&str, &str)],
    extra: &[(&str, &OsStrOrPath)],
    cwd: &Path,
) -> std::process::Output {
    let action = action();
    let steps = action["runs"]["steps"].as_array().unwrap();
    let step = steps.iter().find(|s| s["id"] == id).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(step["run"].as_str().unwrap())
        .current_dir(cwd);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in step["env"].as_object().into_iter().flatten() {
        let expr = v.as_str().unwrap();
        let inner = expr
            .strip_prefix("${{ ")
            .and_then(|e| e.strip_suffix(" }}"))
            .unwrap_or_else(|| panic!("{k}: {expr}"));
        let value = if let Some(name) = inner.strip_prefix("inputs.") {
            inputs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| {
                    action["inputs"][name]["default"]
                        .as_str()
                        .map(str::to_string)
                })
                .unwrap_or_default()
        } else if let Some(name) = inner.strip_prefix("github.") {
            github
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        } else {
            panic!("{k}: {expr}");
        };
        cmd.env(k, value);
    }
    for (k, v) in extra {
        cmd.env(k, v.0.as_os_str());
    }
    let out = cmd.output().unwrap();
    eprintln!(
        "step {id}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A path for [`run_step`]'s environment.
struct OsStrOrPath(PathBuf);

fn key_values(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The runner's names for this machine, and the release target built for it.
fn runner_platform() -> Option<(&'static str, &'static str, &'static str)> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some(("Linux", "X64", "x86_64-unknown-linux-musl")),
        ("linux", "aarch64") => Some(("Linux", "ARM64", "aarch64-unknown-linux-musl")),
        _ => None,
    }
}

/// A release of the binary under test as the release workflow lays it out, served on loopback
/// as `acme/orgsync-fork`'s v0.1.0 with the SHA256SUMS a test publishes; the action's install
/// step runs against it.
struct Release {
    dir: TempDir,
    name: String,
    /// The archive's sha256.
    good: String,
    bytes: Vec<u8>,
    url: String,
    files: Arc<std::sync::Mutex<BTreeMap<String, Vec<u8>>>>,
    os: &'static str,
    arch: &'static str,
}

const BASE: &str = "/acme/orgsync-fork/releases/download/v0.1.0";

impl Release {
    /// None off Linux (the install drill runs on Linux only).
    fn new(tag: &str) -> Option<Release> {
        let Some((os, arch, target)) = runner_platform() else {
            eprintln!("the install drill runs on Linux only");
            return None;
        };
        let dir = TempDir::new(tag);
        let name = format!("orgsync-v0.1.0-{target}");
        let stage = dir.path().join("stage").join(&name);
        std::fs::create_dir_all(&stage).unwrap();
        std::fs::copy(bin(), stage.join("orgsync")).unwrap();
        let archive = dir.path().join(format!("{name}.tar.gz"));
        let tar = Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .arg("-C")
            .arg(dir.path().join("stage"))
            .arg(&name)
            .status()
            .unwrap();
        assert!(tar.success());
        let sum = Command::new("sha256sum").arg(&archive).output().unwrap();
        let good = String::from_utf8(sum.stdout).unwrap()[..64].to_string();
        let files: Arc<std::sync::Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
        let served = files.clone();
        let url = serve(
            "127.0.0.1",
            Arc::new(move |req| match served.lock().unwrap().get(&req.path) {
                Some(body) => Answer::Http(200, vec![], body.clone()),
                None => Answer::Http(404, vec![], b"not found".to_vec()),
            }),
        );
        let bytes = std::fs::read(&archive).unwrap();
        Some(Release {
            dir,
            name,
            good,
            bytes,
            url,
            files,
            os,
            arch,
        })
    }

    /// Serves the archive and `sums` as SHA256SUMS.
    fn publish(&self, sums: &str) {
        let mut f = self.files.lock().unwrap();
        f.insert(format!("{BASE}/{}.tar.gz", self.name), self.bytes.clone());
        f.insert(format!("{BASE}/SHA256SUMS"), sums.as_bytes().to_vec());
    }

    /// The install step for `version`, on a runner of its own (`tag`): its output and what it
    /// added to PATH.
    fn install(&self, version: &str, tag: &str) -> (std::process::Output, String) {
        let temp = self.dir.path().join(format!("runner-{tag}"));
        std::fs::create_dir_all(&temp).unwrap();
        let (path_file, out_file) = (temp.join("path"), temp.join("output"));
        let out = run_step(
            "install",
            &[("version", version)],
            &[
                ("action_repository", "acme/orgsync-fork"),
                ("server_url", &self.url),
            ],
            &[
                ("RUNNER_OS", &OsStrOrPath(self.os.into())),
                ("RUNNER_ARCH", &OsStrOrPath(self.arch.into())),
                ("RUNNER_TEMP", &OsStrOrPath(temp.clone())),
                ("GITHUB_PATH", &OsStrOrPath(path_file.clone())),
                ("GITHUB_OUTPUT", &OsStrOrPath(out_file)),
            ],
            self.dir.path(),
        );
        (out, std::fs::read_to_string(&path_file).unwrap_or_default())
    }

    /// SHA256SUMS with a line for another archive only.
    fn unlisted(&self) -> String {
        format!("{}  orgsync-v0.1.0-other.tar.gz\n", self.good)
    }
}

/// `orgsync --version` of the binary in `bin_dir`.
fn version_in(bin_dir: &Path) -> String {
    let out = Command::new(bin_dir.join("orgsync"))
        .arg("--version")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The right checksum (among others' lines): installed, and the binary on PATH runs.
#[test]
fn the_action_installs_a_release_whose_sha256_matches() {
    let Some(r) = Release::new("action-install") else {
        return;
    };
    let other = format!("{}  orgsync-v0.1.0-other.tar.gz\n", "0".repeat(64));
    r.publish(&format!("{other}{}  {}.tar.gz\n", r.good, r.name));
    let (out, added) = r.install("0.1.0", "good");
    assert!(out.status.success());
    let want = format!("orgsync {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(version_in(&PathBuf::from(added.trim())), want);
    assert_has(&String::from_utf8_lossy(&out.stdout), &r.good);
}

/// A checksum that does not match: refused, nothing put on PATH.
#[test]
fn the_action_refuses_a_release_whose_sha256_differs() {
    let Some(r) = Release::new("action-install-tampered") else {
        return;
    };
    let mut bad = r.good.clone().into_bytes();
    bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
    r.publish(&format!(
        "{}  {}.tar.gz\n",
        String::from_utf8(bad).unwrap(),
        r.name
    ));
    let (out, added) = r.install("0.1.0", "tampered");
    assert!(!out.status.success());
    assert!(added.is_empty(), "{added}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("::error") && said.contains("checksum mismatch"),
        "{said}"
    );
}

#[test]
fn the_action_refuses_a_release_with_no_checksum_line() {
    let Some(r) = Release::new("action-install-unlisted") else {
        return;
    };
    r.publish(&r.unlisted());
    let (out, added) = r.install("0.1.0", "unlisted");
    assert!(!out.status.success() && added.is_empty());
    assert_has(&String::from_utf8_lossy(&out.stdout), "has no entry for");
}

#[test]
fn the_action_refuses_version_latest() {
    let Some(r) = Release::new("action-install-latest") else {
        return;
    };
    r.publish(&r.unlisted());
    let (out, added) = r.install("latest", "latest");
    assert!(!out.status.success() && added.is_empty());
    assert_has(
        &String::from_utf8_lossy(&out.stdout),
        "`latest` is not accepted",
    );
}

#[test]
fn a_version_that_is_no_release_points_to_version_source() {
    let Some(r) = Release::new("action-install-missing") else {
        return;
    };
    r.publish(&r.unlisted());
    let (out, _) = r.install("0.2.0", "missing");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert_has(&said, "could not download");
    assert_has(&said, "`version: source`");
}

/// Which steps run for `version: source` and which for a release; the cache restores the
/// directory the build step builds in, under the key the source step computes (and, when the
/// sources moved, the newest cache of the same dependencies), between the two.
#[test]
fn the_source_steps_run_only_for_version_source_around_the_cache() {
    let action = action();
    let steps = action["runs"]["steps"].as_array().unwrap();
    assert_eq!(step(&action, "install")["if"], "inputs.version != 'source'");
    for id in ["source", "build"] {
        assert_eq!(
            step(&action, id)["if"],
            "inputs.version == 'source'",
            "{id}"
        );
    }
    let is_cache = |s: &&Value| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/cache@"))
    };
    let cache = steps.iter().find(is_cache).expect("a cache step");
    let cache_paths: Vec<&str> = cache["with"]["path"].as_str().unwrap().lines().collect();
    assert!(
        cache_paths.contains(&"~/.cache/orgsync-source/target"),
        "{cache_paths:?}"
    );
    assert!(
        cache_paths.contains(&"~/.cargo/registry/cache"),
        "{cache_paths:?}"
    );
    assert_eq!(
        cache["with"]["key"],
        "${{ steps.source.outputs.cache-key }}"
    );
    assert_eq!(
        cache["with"]["restore-keys"],
        "${{ steps.source.outputs.cache-prefix }}"
    );
    let position = |id: &str| steps.iter().position(|s| s["id"] == id).unwrap();
    let cache_at = steps.iter().position(|s| s == cache).unwrap();
    assert!(position("source") < cache_at && cache_at < position("build"));
    assert!(position("build") < position("run"));
}

/// `version: source`: the action builds its own checkout (`GITHUB_ACTION_PATH`) with cargo. A
/// stub `cargo` (and `rustc`) on PATH records its arguments and leaves the binary under test
/// where cargo would, so nothing is compiled or downloaded.
struct Source {
    dir: TempDir,
    /// The action's checkout, as GitHub unpacks it under _actions/OWNER/REPO/REF.
    checkout: PathBuf,
    home: PathBuf,
    /// Where the stub cargo writes its working directory and arguments, one a line.
    recorded: PathBuf,
    /// While this file exists, the stub cargo fails.
    fail_flag: PathBuf,
    /// PATH with the stubs first.
    path: std::ffi::OsString,
    os: &'static str,
    arch: &'static str,
}

impl Source {
    /// None off Linux (the install drill runs on Linux only).
    fn new(tag: &str) -> Option<Source> {
        let Some((os, arch, _)) = runner_platform() else {
            eprintln!("the install drill runs on Linux only");
            return None;
        };
        let dir = TempDir::new(tag);
        let checkout = dir.path().join("_actions/acme/orgsync/0123abc");
        std::fs::create_dir_all(checkout.join("src")).unwrap();
        std::fs::write(
            checkout.join("Cargo.toml"),
            "[package]\nname = \"orgsync\"\n",
        )
        .unwrap();
        std::fs::write(checkout.join("Cargo.lock"), "version = 4\n").unwrap();
        std::fs::write(checkout.join("src/main.rs"), "fn main() {}\n").unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        // The stubs: cargo records its arguments, then puts the binary under test in
        // TARGET_DIR/release, or fails when told to.
        let stubs = dir.path().join("stubs");
        std::fs::create_dir_all(&stubs).unwrap();
        let recorded = dir.path().join("cargo-args");
        let fail_flag = dir.path().join("cargo-fails");
        let stub = |name: &str, body: String| {
            let path = stubs.join(name);
            std::fs::write(&path, body).unwrap();
            let status = Command::new("chmod").arg("+x").arg(&path).status().unwrap();
            assert!(status.success());
        };
        stub(
            "cargo",
            format!(
                "#!/usr/bin/env bash\nset -eu\n{{ pwd; printf '%s\\n' \"$@\"; }} > '{}'\n\
                 if [ -e '{}' ]; then echo 'error: could not compile `orgsync`' >&2; exit 101; fi\n\
                 t=''\nwhile [ $# -gt 0 ]; do if [ \"$1\" = --target-dir ]; then t=$2; fi; shift; done\n\
                 mkdir -p \"$t/release\"\ncp '{}' \"$t/release/orgsync\"\n",
                recorded.display(),
                fail_flag.display(),
                bin().display()
            ),
        );
        stub(
            "rustc",
            "#!/usr/bin/env bash\necho 'rustc 1.89.0 (stub)'\n".to_string(),
        );
        let path = std::env::join_paths(std::iter::once(stubs.clone()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        Some(Source {
            dir,
            checkout,
            home,
            recorded,
            fail_flag,
            path,
            os,
            arch,
        })
    }

    /// Step `id` with `version: source` on a runner of its own (`tag`), PATH `path`: its output,
    /// what it added to PATH, and the outputs it set.
    fn run_with_path(
        &self,
        id: &str,
        tag: &str,
        path: &std::ffi::OsStr,
    ) -> (std::process::Output, String, BTreeMap<String, String>) {
        let temp = self.dir.path().join(format!("runner-{tag}"));
        std::fs::create_dir_all(&temp).unwrap();
        let (path_file, out_file) = (temp.join("path"), temp.join("output"));
        let out = run_step(
            id,
            &[("version", "source")],
            &[],
            &[
                ("PATH", &OsStrOrPath(PathBuf::from(path))),
                ("HOME", &OsStrOrPath(self.home.clone())),
                ("RUNNER_OS", &OsStrOrPath(self.os.into())),
                ("RUNNER_ARCH", &OsStrOrPath(self.arch.into())),
                ("RUNNER_TEMP", &OsStrOrPath(temp.clone())),
                ("GITHUB_ACTION_PATH", &OsStrOrPath(self.checkout.clone())),
                ("GITHUB_PATH", &OsStrOrPath(path_file.clone())),
                ("GITHUB_OUTPUT", &OsStrOrPath(out_file.clone())),
            ],
            self.dir.path(),
        );
        let added = std::fs::read_to_string(&path_file).unwrap_or_default();
        (out, added, key_values(&out_file))
    }

    /// [`run_with_path`](Source::run_with_path) with the stubs first on PATH.
    fn run(&self, id: &str, tag: &str) -> (std::process::Output, String, BTreeMap<String, String>) {
        self.run_with_path(id, tag, &self.path)
    }
}

/// The cache key: runner, toolchain and Cargo.lock in the prefix, the sources after it; the
/// same checkout, the same key.
#[test]
fn the_source_cache_key_is_stable_and_prefixed_by_the_dependencies() {
    let Some(src) = Source::new("action-source-key") else {
        return;
    };
    let (out, _, first) = src.run("source", "key-1");
    assert!(out.status.success());
    let prefix = &first["cache-prefix"];
    let (os, arch) = (src.os, src.arch);
    let prefixed =
        prefix.starts_with(&format!("orgsync-source-{os}-{arch}-")) && prefix.ends_with('-');
    assert!(prefixed, "{first:?}");
    assert!(first["cache-key"].starts_with(prefix.as_str()), "{first:?}");
    assert!(first["cache-key"].len() > prefix.len(), "{first:?}");
    let (_, _, again) = src.run("source", "key-2");
    assert_eq!(again, first, "the same checkout, the same key");
}

#[test]
fn a_changed_source_changes_the_cache_key_and_a_changed_lock_its_prefix() {
    let Some(src) = Source::new("action-source-key-moves") else {
        return;
    };
    let (_, _, first) = src.run("source", "key-1");
    std::fs::write(src.checkout.join("src/main.rs"), "fn main() { }\n").unwrap();
    let (_, _, edited) = src.run("source", "key-3");
    assert_eq!(
        edited["cache-prefix"], first["cache-prefix"],
        "the dependencies did not change"
    );
    assert_ne!(edited["cache-key"], first["cache-key"], "a source changed");
    std::fs::write(src.checkout.join("Cargo.lock"), "version = 4\n# bumped\n").unwrap();
    let (_, _, bumped) = src.run("source", "key-4");
    assert_ne!(
        bumped["cache-prefix"], first["cache-prefix"],
        "Cargo.lock changed"
    );
}

/// The build: cargo as the step runs it, in the action's checkout (cargo reads
/// .cargo/config.toml from where it runs, and the workspace, a pull request's files, must not
/// configure the build), and the binary it built on PATH.
#[test]
fn the_build_step_runs_cargo_in_the_actions_checkout_and_puts_the_binary_on_path() {
    let Some(src) = Source::new("action-source-build") else {
        return;
    };
    let (out, added, _) = src.run("build", "build");
    assert!(out.status.success());
    let recorded = std::fs::read_to_string(&src.recorded).unwrap();
    let mut args: Vec<String> = recorded.lines().map(str::to_string).collect();
    assert_eq!(PathBuf::from(args.remove(0)), src.checkout);
    let manifest = src.checkout.join("Cargo.toml").display().to_string();
    let target_dir = src
        .home
        .join(".cache/orgsync-source/target")
        .display()
        .to_string();
    let want = [
        "build",
        "--locked",
        "--release",
        "--bin",
        "orgsync",
        "--manifest-path",
        &manifest,
        "--target-dir",
        &target_dir,
    ];
    assert_eq!(args, want);
    let bin_dir = PathBuf::from(added.trim());
    assert!(
        bin_dir.starts_with(src.dir.path().join("runner-build")),
        "{added}"
    );
    let want = format!("orgsync {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(version_in(&bin_dir), want);
    assert_has(&String::from_utf8_lossy(&out.stdout), &want);
}

/// A build that fails: the step fails saying so, nothing on PATH.
#[test]
fn a_failed_source_build_fails_the_step_with_nothing_on_path() {
    let Some(src) = Source::new("action-source-fails") else {
        return;
    };
    std::fs::write(&src.fail_flag, "").unwrap();
    let (out, added, _) = src.run("build", "build-fails");
    assert!(!out.status.success());
    assert!(added.is_empty(), "{added}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("::error") && said.contains("cargo build of"),
        "{said}"
    );
}

#[test]
fn version_source_without_cargo_on_the_runner_is_refused() {
    let Some(src) = Source::new("action-source-no-cargo") else {
        return;
    };
    let bare = src.dir.path().join("bare-path");
    std::fs::create_dir_all(&bare).unwrap();
    let bash = Command::new("bash")
        .args(["-c", "command -v bash"])
        .output()
        .unwrap();
    let bash = PathBuf::from(String::from_utf8_lossy(&bash.stdout).trim());
    std::os::unix::fs::symlink(&bash, bare.join("bash")).unwrap();
    let (out, _, outputs) = src.run_with_path("source", "no-cargo", bare.as_os_str());
    assert!(!out.status.success() && outputs.is_empty(), "{outputs:?}");
    assert_has(
        &String::from_utf8_lossy(&out.stdout),
        "needs cargo on the runner",
    );
}

#[test]
fn version_source_with_a_checkout_without_cargo_lock_is_refused() {
    let Some(src) = Source::new("action-source-no-lock") else {
        return;
    };
    std::fs::remove_file(src.checkout.join("Cargo.lock")).unwrap();
    let (out, _, outputs) = src.run("source", "no-lock");
    assert!(!out.status.success() && outputs.is_empty(), "{outputs:?}");
    assert_has(
        &String::from_utf8_lossy(&out.stdout),
        "holds no Cargo.toml and Cargo.lock",
    );
}

/// The action's `run` step with the binary under test first on PATH, in a dir of its own; the
/// demo's config and `--sandbox` tenant at hand.
struct ActionRun {
    dir: TempDir,
    path: std::ffi::OsString,
    config: String,
    sandbox: String,
}

impl ActionRun {
    fn new(tag: &str) -> ActionRun {
        let bin_dir = bin().parent().unwrap().to_path_buf();
        let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .unwrap();
        let config = root()
            .join("examples/orgsync.yaml")
            .to_string_lossy()
            .into_owned();
        let sandbox = format!(
            "--sandbox {}",
            root().join("examples/tenant.yaml").display()
        );
        ActionRun {
            dir: TempDir::new(tag),
            path,
            config,
            sandbox,
        }
    }

    /// The step with `inputs` on a `event` event: its output and the outputs it set.
    fn run(
        &self,
        tag: &str,
        inputs: &[(&str, &str)],
        event: &str,
    ) -> (std::process::Output, BTreeMap<String, String>) {
        let out_file = self.dir.path().join(format!("output-{tag}"));
        let out = run_step(
            "run",
            inputs,
            &[("event_name", event)],
            &[
                ("PATH", &OsStrOrPath(PathBuf::from(&self.path))),
                ("RUNNER_TEMP", &OsStrOrPath(self.dir.path().to_path_buf())),
                ("GITHUB_OUTPUT", &OsStrOrPath(out_file.clone())),
            ],
            self.dir.path(),
        );
        (out, key_values(&out_file))
    }

    /// The demo plan on a push, with `args` after `--sandbox TENANT`.
    fn plan(&self, tag: &str, args: &str) -> (std::process::Output, BTreeMap<String, String>) {
        let args = format!("{} {args}", self.sandbox).trim_end().to_string();
        let inputs = [
            ("config", self.config.as_str()),
            ("args", &args),
            ("comment", "none"),
        ];
        self.run(tag, &inputs, "push")
    }
}

/// The demo plan: 3 to remove (drift), exit 0, the JSON plan where the output says.
#[test]
fn the_action_runs_a_plan_and_sets_its_outputs() {
    let action = ActionRun::new("action-run");
    let (out, outputs) = action.plan("plan", "");
    assert!(out.status.success());
    assert_eq!(outputs["exit-code"], "0");
    assert_eq!(outputs["drift"], "true");
    assert_eq!(outputs["to_remove"], "3");
    let plan = std::fs::read_to_string(&outputs["plan-file"]).unwrap();
    let plan: Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan["summary"]["remove"], 3);
    assert_has(&String::from_utf8_lossy(&out.stdout), "Plan: 3 to remove");
}

/// --detailed-exitcode: the step fails with 2, and the outputs are still set.
#[test]
fn with_detailed_exitcode_the_step_fails_with_2_and_sets_its_outputs() {
    let (out, outputs) =
        ActionRun::new("action-run-detailed").plan("detailed", "--detailed-exitcode");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(outputs["exit-code"], "2");
    assert_eq!(outputs["to_remove"], "3");
}

/// The saved plan applied: the outputs describe it, and apply removes what it lists.
#[test]
fn the_action_applies_a_saved_plan() {
    let action = ActionRun::new("action-run-apply");
    let (_, outputs) = action.plan("plan", "--detailed-exitcode");
    let saved = action.dir.path().join("saved.json");
    std::fs::copy(&outputs["plan-file"], &saved).unwrap();
    let args = format!("{} --auto-approve", action.sandbox);
    let inputs = [
        ("command", "apply"),
        ("config", &action.config),
        ("plan-file", saved.to_str().unwrap()),
        ("args", &args),
        ("comment", "auto"),
    ];
    let (out, outputs) = action.run("apply", &inputs, "push");
    // The demo's blocked organization makes apply exit 1 after its 3 removals.
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(outputs["exit-code"], "1");
    assert_eq!(outputs["to_remove"], "3");
    assert_has(&String::from_utf8_lossy(&out.stdout), "auth0|");
}

/// A config that does not validate: exit 1, no plan, so no drift output.
#[test]
fn a_config_that_does_not_validate_exits_1_with_no_drift_output() {
    let action = ActionRun::new("action-run-bad");
    let bad = action.dir.write("bad.yaml", "version: 2\n");
    let inputs = [
        ("config", bad.to_str().unwrap()),
        ("args", &action.sandbox),
        ("comment", "none"),
    ];
    let (out, outputs) = action.run("bad", &inputs, "push");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(outputs["exit-code"], "1");
    assert!(!outputs.contains_key("drift"), "{outputs:?}");
}

/// Wrong inputs are refused before orgsync runs.
#[test]
fn wrong_comment_inputs_are_refused_before_orgsync_runs() {
    let action = ActionRun::new("action-run-inputs");
    let (out, _) = action.run("badcomment", &[("comment", "slack")], "push");
    assert_eq!(out.status.code(), Some(1));
    assert_has(
        &String::from_utf8_lossy(&out.stdout),
        "not one of auto, github, gitlab, none",
    );
    let inputs = [("command", "validate"), ("comment", "github")];
    let (out, _) = action.run("comment-validate", &inputs, "pull_request");
    assert_eq!(out.status.code(), Some(1));
    assert_has(
        &String::from_utf8_lossy(&out.stdout),
        "is for plan and apply",
    );
}

/// `auto` on a pull request asks for the comment: `--comment github` reaches orgsync, which
/// (with no GitHub environment here) says what it needs, after printing the plan.
#[test]
fn comment_auto_on_a_pull_request_passes_comment_github() {
    let action = ActionRun::new("action-run-auto");
    let inputs = [
        ("config", action.config.as_str()),
        ("args", &action.sandbox),
        ("comment", "auto"),
    ];
    let (out, _) = action.run("auto-pr", &inputs, "pull_request");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = Cli::command().find_subcommand("plan").unwrap().clone();
    assert!(
        plan.get_arguments()
            .any(|a| a.get_long() == Some("comment"))
    );
    assert_has(&all, "Plan: 3 to remove");
    assert_has(&all, "error: `--comment github` needs GITHUB_REPOSITORY");
}

/// Whether `pattern` (a pre-commit `files:` regex, here in the syntax grep -E shares with
/// Python's `re`) finds a match in `path`.
fn regex_finds(pattern: &str, path: &str) -> bool {
    let out = Command::new("grep")
        .args(["-qE", pattern])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{path}\n").as_bytes())?;
            child.wait()
        })
        .unwrap();
    out.success()
}

/// The `orgsync-validate` hook of .pre-commit-hooks.yaml.
fn hook() -> Value {
    let hooks = yaml(&root().join(".pre-commit-hooks.yaml"));
    let hooks = hooks.as_array().expect("a list of hooks");
    let hook = hooks.iter().find(|h| h["id"] == "orgsync-validate");
    hook.expect("hook orgsync-validate").clone()
}

#[test]
fn the_pre_commit_hook_is_declared_whole_and_runs_orgsync() {
    let hook = hook();
    for key in ["name", "description", "entry", "language", "files"] {
        assert!(hook[key].is_string(), "{key}");
    }
    assert!(
        ["rust", "system"].contains(&hook["language"].as_str().unwrap()),
        "{hook}"
    );
    // `validate -c` takes one config, so filenames are not appended.
    assert_eq!(hook["pass_filenames"], false);
    let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
    assert_eq!(entry[0], "orgsync");
}

#[test]
fn the_pre_commit_hook_matches_orgsync_configs_only() {
    let hook = hook();
    let files = hook["files"].as_str().unwrap();
    for (path, want) in [
        ("orgsync.yaml", true),
        ("orgsync.yml", true),
        ("config/orgsync.yaml", true),
        ("orgsync.d/_defaults.yaml", true),
        ("README.md", false),
        ("my-orgsync.yaml", false),
        ("orgsync.yaml.bak", false),
    ] {
        assert_eq!(regex_finds(files, path), want, "files: {files} on {path}");
    }
}

/// The entry as pre-commit runs it, in a config repository: the subcommand exists, a good
/// config passes, a bad one fails naming its place.
#[test]
fn the_pre_commit_hooks_entry_passes_a_good_config_and_fails_a_bad_one() {
    let hook = hook();
    let entry: Vec<&str> = hook["entry"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .collect();
    OrgSync::bare().args(&entry).arg("--help").run().success();
    let dir = example_dir("pre-commit");
    OrgSync::bare().args(&entry).cwd(dir.path()).run().success();
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: Acme\n    members: []\n",
    );
    let run = OrgSync::bare().args(&entry).cwd(dir.path()).run();
    run.code(1).stderr_has("orgsync.yaml:3:");
}
