//! The CI recipes in examples/ parse as YAML with the keys their CI needs, and every orgsync
//! command in them and in the README parses with the current CLI.

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
    assert_eq!(names, ["apply.yml", "drift.yml", "plan.yml"]);
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
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
                // Credentials only ever come from secrets, into the documented variables.
                if let Some(env) = s["env"].as_object() {
                    for (k, v) in env {
                        assert!(k.starts_with("AUTH0_"), "{name}: {k}");
                        assert_eq!(
                            v.as_str(),
                            Some(format!("${{{{ secrets.{k} }}}}").as_str()),
                            "{name}: {k}"
                        );
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
    // The README names where each workflow goes, and a workflow's path filter on workflow files
    // matches the names the README gives them.
    let installed: Vec<String> = names
        .iter()
        .map(|n| format!(".github/workflows/orgsync-{n}"))
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
    // The plan workflow updates its comment in place, found by the Markdown plan's marker.
    let plan = std::fs::read_to_string(dir.join("plan.yml")).unwrap();
    assert!(plan.contains(orgsync::render::MARKDOWN_MARKER) && plan.contains("updateComment"));
    let apply = yaml(&dir.join("apply.yml"));
    assert_eq!(apply["on"]["push"]["branches"][0], "main");
    let drift = yaml(&dir.join("drift.yml"));
    assert!(drift["on"]["schedule"][0]["cron"].is_string());
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
