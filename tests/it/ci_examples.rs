//! The CI recipes in examples/ parse as YAML with the keys their CI needs, use the orgsync
//! action (pinned to this release, with inputs it has) or the checked release binary, never
//! `cargo install`, and every orgsync command in them and in the README parses with the
//! current CLI.

use std::path::{Path, PathBuf};

use clap::Parser;
use orgsync::cli::Cli;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `orgsync …` invocations in a shell snippet, cut at redirections, pipes and `||`.
fn commands_in(script: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in script.lines() {
        let line = line.trim().trim_start_matches("- ");
        let rest = if let Some(r) = line.strip_prefix("orgsync ") {
            r
        } else if let Some(r) = line.strip_prefix("cargo run --release -- ") {
            r
        } else {
            continue;
        };
        let mut args = vec!["orgsync".to_string()];
        for tok in rest.split_whitespace() {
            if tok.starts_with('>')
                || tok.starts_with('|')
                || tok == "&&"
                || tok == ";"
                || tok.starts_with('#')
            {
                break;
            }
            args.push(tok.to_string());
        }
        out.push(args);
    }
    out
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn check_parses(cmds: &[Vec<String>], from: &str) {
    for c in cmds {
        if let Err(e) = Cli::try_parse_from(c) {
            panic!("{from}: `{}` does not parse:\n{e}", c.join(" "));
        }
    }
}

/// A GitHub path filter with `*` (any characters but `/`) against a path.
fn glob_matches(glob: &str, path: &str) -> bool {
    match glob.split_once('*') {
        None => glob == path,
        Some((head, rest)) => {
            let Some(tail) = path.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .take_while(|&i| !tail[..i].contains('/'))
                .any(|i| tail.is_char_boundary(i) && glob_matches(rest, &tail[i..]))
        }
    }
}

#[test]
fn github_workflows_are_valid_and_their_commands_parse() {
    let dir = root().join("examples/github-actions");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "apply.yml",
            "drift.yml",
            "orgsync.yml",
            "plan.yml",
            "shell.yml"
        ]
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let action = yaml(&root().join("action.yml"));
    let action_ref = format!("orgsync/orgsync@v{}", env!("CARGO_PKG_VERSION"));
    let mut action_steps = 0;
    for name in &names {
        let wf = yaml(&dir.join(name));
        assert!(wf["name"].is_string(), "{name}: name");
        assert!(wf["on"].is_object(), "{name}: on");
        let jobs = wf["jobs"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: jobs"));
        assert!(!jobs.is_empty());
        let mut all = Vec::new();
        for (job, j) in jobs {
            assert!(j["runs-on"].is_string(), "{name}/{job}: runs-on");
            let steps = j["steps"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}/{job}: steps"));
            for s in steps {
                assert!(
                    s.get("uses").is_some() || s.get("run").is_some(),
                    "{name}/{job}: a step needs uses or run"
                );
                if let Some(run) = s["run"].as_str() {
                    all.extend(commands_in(run));
                }
                if let Some(uses) = s["uses"].as_str()
                    && uses.starts_with("orgsync/")
                {
                    assert_eq!(uses, action_ref, "{name}/{job}: the action at this release");
                    all.push(action_command(
                        &action,
                        &s["with"],
                        &format!("{name}/{job}"),
                    ));
                    action_steps += 1;
                }
                // Credentials only ever come from secrets, into the documented variables.
                if let Some(env) = s["env"].as_object() {
                    for (k, v) in env {
                        if k.starts_with("AUTH0_") {
                            assert_eq!(
                                v.as_str(),
                                Some(format!("${{{{ secrets.{k} }}}}").as_str()),
                                "{name}: {k}"
                            );
                        } else {
                            assert!(!v.to_string().contains("secrets."), "{name}: {k}");
                        }
                    }
                }
            }
        }
        assert!(!all.is_empty(), "{name} runs orgsync");
        check_parses(&all, name);
        for c in &all {
            assert!(
                readme.contains(&format!("orgsync {}", c[1])),
                "{name}: the README does not document `orgsync {}`",
                c[1]
            );
            for flag in c.iter().filter(|a| a.starts_with("--")) {
                assert!(
                    readme.contains(flag.as_str()),
                    "{name}: the README does not document `{flag}`"
                );
            }
        }
    }
    assert!(
        action_steps >= 6,
        "the examples use the action ({action_steps} steps)"
    );
    // The README names where each workflow goes, and a workflow's path filter on workflow files
    // matches the names the README gives them.
    let installed: Vec<String> = names
        .iter()
        .map(|n| match n.as_str() {
            "orgsync.yml" => ".github/workflows/orgsync.yml".to_string(),
            n => format!(".github/workflows/orgsync-{n}"),
        })
        .collect();
    for path in &installed {
        assert!(
            readme.contains(path.as_str()),
            "the README does not say `{path}`"
        );
    }
    for name in &names {
        let wf = yaml(&dir.join(name));
        for trigger in ["pull_request", "push"] {
            for p in wf["on"][trigger]["paths"].as_array().into_iter().flatten() {
                let p = p.as_str().unwrap();
                if p.starts_with(".github/workflows/") {
                    assert!(
                        installed.iter().any(|i| glob_matches(p, i)),
                        "{name}: the path filter `{p}` matches none of {installed:?}"
                    );
                }
            }
        }
    }
    // The plan workflows comment on pull requests through the action (its `comment: auto`),
    // which needs to write to pull requests.
    for name in ["plan.yml", "orgsync.yml"] {
        let wf = yaml(&dir.join(name));
        assert!(wf["on"]["pull_request"].is_object(), "{name}");
        let plan = &wf["jobs"]["plan"];
        let perms = if plan["permissions"].is_object() {
            &plan["permissions"]
        } else {
            &wf["permissions"]
        };
        assert_eq!(perms["pull-requests"], "write", "{name}");
        let step = plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["with"]["command"] == "plan")
            .unwrap_or_else(|| panic!("{name}: a plan step"));
        assert!(
            step["with"].get("comment").is_none() || step["with"]["comment"] == "github",
            "{name}: the plan is posted"
        );
        assert_eq!(action["inputs"]["comment"]["default"], "auto");
    }
    // The one workflow of the README plans on pull requests and applies on merge.
    let one = yaml(&dir.join("orgsync.yml"));
    assert_eq!(one["on"]["push"]["branches"][0], "main");
    assert_eq!(one["jobs"]["apply"]["environment"], "auth0-production");
    let one_text = std::fs::read_to_string(dir.join("orgsync.yml")).unwrap();
    assert!(
        readme.contains(&one_text),
        "the README shows examples/github-actions/orgsync.yml verbatim"
    );
    let apply = yaml(&dir.join("apply.yml"));
    assert_eq!(apply["on"]["push"]["branches"][0], "main");
    // Apply runs only when the plan removes someone: the action's output, read back.
    assert_eq!(
        apply["jobs"]["apply"]["if"],
        "needs.plan.outputs.to_remove != '0'"
    );
    assert_eq!(
        apply["jobs"]["plan"]["outputs"]["to_remove"],
        "${{ steps.plan.outputs.to_remove }}"
    );
    let drift = yaml(&dir.join("drift.yml"));
    assert!(drift["on"]["schedule"][0]["cron"].is_string());
}

/// The orgsync command an action step runs, as the action's script builds it: `command`,
/// `-c config` for plan/apply/validate, `--out plan-file` (plan) or the saved plan (apply),
/// then `args`. (`--comment`, which the action adds on pull requests, is left out.)
fn action_command(action: &Value, with: &Value, at: &str) -> Vec<String> {
    let inputs = action["inputs"].as_object().unwrap();
    for key in with.as_object().into_iter().flatten().map(|(k, _)| k) {
        assert!(
            inputs.contains_key(key),
            "{at}: the action has no input `{key}`"
        );
    }
    let get = |k: &str| {
        with[k]
            .as_str()
            .or_else(|| inputs[k]["default"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let command = get("command");
    let mut args = vec!["orgsync".to_string(), command.clone()];
    if ["plan", "apply", "validate"].contains(&command.as_str()) {
        args.extend(["-c".to_string(), get("config")]);
    }
    let plan_file = get("plan-file");
    match command.as_str() {
        "plan" => args.extend(["--out".to_string(), "plan.json".to_string()]),
        "apply" if !plan_file.is_empty() => args.push(plan_file),
        _ => {}
    }
    args.extend(get("args").split_whitespace().map(str::to_string));
    args
}

#[test]
fn no_recipe_builds_orgsync_from_a_registry_and_each_checks_what_it_downloads() {
    let mut texts = vec![(
        "README.md".to_string(),
        std::fs::read_to_string(root().join("README.md")).unwrap(),
    )];
    for name in [
        "examples/gitlab-ci.yml",
        "examples/github-actions/shell.yml",
    ] {
        let text = std::fs::read_to_string(root().join(name)).unwrap();
        // Downloads are checked against the release's SHA256SUMS before they are used.
        assert!(
            text.contains("SHA256SUMS") && text.contains("sha256sum -c"),
            "{name}"
        );
        texts.push((name.to_string(), text));
    }
    for entry in std::fs::read_dir(root().join("examples/github-actions")).unwrap() {
        let path = entry.unwrap().path();
        texts.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    for (name, text) in &texts {
        // Nothing is published on crates.io: `cargo install orgsync` cannot work.
        for bad in ["cargo install --locked orgsync", "cargo install orgsync"] {
            assert!(!text.contains(bad), "{name}: `{bad}`");
        }
    }
}

#[test]
fn the_gitlab_example_is_valid_and_its_commands_parse() {
    let ci = yaml(&root().join("examples/gitlab-ci.yml"));
    let stages: Vec<&str> = ci["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(stages, ["plan", "apply", "drift"]);
    let mut all = Vec::new();
    for job in ["orgsync-plan", "orgsync-apply", "orgsync-drift"] {
        let j = &ci[job];
        assert!(
            stages.contains(&j["stage"].as_str().unwrap()),
            "{job}: stage"
        );
        let mut scripts = Vec::new();
        strings(&j["script"], &mut scripts);
        assert!(!scripts.is_empty(), "{job}: script");
        for s in scripts {
            all.extend(commands_in(&s));
        }
    }
    check_parses(&all, "gitlab-ci.yml");
    assert!(all.iter().any(|c| c[1] == "apply"));
}

#[test]
fn every_command_in_the_readme_parses() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut in_block = false;
    let mut block = String::new();
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            block.push_str(line);
            block.push('\n');
        }
    }
    let cmds = commands_in(&block);
    assert!(cmds.len() >= 5, "{cmds:?}");
    check_parses(&cmds, "README.md");
    // The first line of the README is the demo.
    let first_block: Vec<&str> = readme
        .split("```")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .collect();
    assert!(first_block[0].starts_with(
        "cargo run --release -- plan -c examples/orgsync.yaml --sandbox examples/tenant.yaml"
    ));
    assert!(first_block[1].starts_with("cargo test --locked"));
}
