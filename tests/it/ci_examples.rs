//! The CI recipes in examples/ parse as YAML with the keys their CI needs, use the orgsync
//! action (built from its source until a release is published, with inputs it has) or the checked
//! release binary, never `cargo install` from a registry, give the delete-capable client only to
//! the apply job in the protected environment, and every orgsync command in them and in the
//! docs (README.md, docs/*.md, CONTRIBUTING.md) parses with the current CLI.

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

fn github_dir() -> PathBuf {
    root().join("examples/github-actions")
}

/// The file names of examples/github-actions/, sorted.
fn workflow_names() -> Vec<String> {
    let entries = std::fs::read_dir(github_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name());
    let mut names: Vec<String> = entries.map(|n| n.to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Every step of every job of the example workflow `name`, as (`NAME/JOB`, step).
fn steps_of(name: &str) -> Vec<(String, Value)> {
    let wf = yaml(&github_dir().join(name));
    let jobs = wf["jobs"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: jobs"));
    let mut out = Vec::new();
    for (job, j) in jobs {
        let steps = j["steps"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}/{job}: steps"));
        out.extend(steps.iter().map(|s| (format!("{name}/{job}"), s.clone())));
    }
    out
}

/// Whether a step uses the orgsync action.
fn uses_action(step: &Value) -> bool {
    step["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("orgsync/"))
}

/// The orgsync commands the example workflow `name` runs: in its scripts, and through the
/// action (as the action's script builds them).
fn commands_of(name: &str) -> Vec<Vec<String>> {
    let action = yaml(&root().join("action.yml"));
    let mut all = Vec::new();
    for (at, s) in steps_of(name) {
        all.extend(s["run"].as_str().map(commands_in).unwrap_or_default());
        if uses_action(&s) {
            all.push(action_command(&action, &s["with"], &at));
        }
    }
    all
}

#[test]
fn the_github_recipes_are_the_five_workflows() {
    let names = workflow_names();
    let want = [
        "apply.yml",
        "drift.yml",
        "orgsync.yml",
        "plan.yml",
        "shell.yml",
    ];
    assert_eq!(names, want);
}

#[test]
fn github_workflows_have_the_keys_github_needs() {
    for name in workflow_names() {
        let wf = yaml(&github_dir().join(&name));
        assert!(wf["name"].is_string(), "{name}: name");
        assert!(wf["on"].is_object(), "{name}: on");
        let jobs = wf["jobs"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: jobs"));
        assert!(!jobs.is_empty());
        for (job, j) in jobs {
            assert!(j["runs-on"].is_string(), "{name}/{job}: runs-on");
        }
        for (at, s) in steps_of(&name) {
            let uses_or_run = s.get("uses").is_some() || s.get("run").is_some();
            assert!(uses_or_run, "{at}: a step needs uses or run");
        }
    }
}

/// Nothing is released yet: the recipes use the action at a commit (`main` stands for the one a
/// team pins), built from that commit's source.
#[test]
fn github_workflows_use_the_action_at_a_commit_built_from_source() {
    let mut action_steps = 0;
    for name in workflow_names() {
        for (at, s) in steps_of(&name).into_iter().filter(|(_, s)| uses_action(s)) {
            assert_eq!(
                s["uses"], "orgsync/orgsync@main",
                "{at}: the action at a commit"
            );
            let why = "no release is published, so the action builds its source";
            assert_eq!(s["with"]["version"], "source", "{at}: {why}");
            action_steps += 1;
        }
    }
    assert!(
        action_steps >= 6,
        "the examples use the action ({action_steps} steps)"
    );
}

/// Credentials only ever come from secrets, into the documented variables: the client's from
/// the read-only or the apply client's secrets.
#[test]
fn github_workflows_take_credentials_from_secrets_only() {
    for name in workflow_names() {
        for (_, s) in steps_of(&name) {
            for (k, v) in s["env"].as_object().into_iter().flatten() {
                if !k.starts_with("AUTH0_") {
                    assert!(!v.to_string().contains("secrets."), "{name}: {k}");
                    continue;
                }
                let v = v.as_str().unwrap_or_default();
                let allowed: Vec<String> = match k.strip_prefix("AUTH0_CLIENT_") {
                    Some(rest) => ["READ", "APPLY"]
                        .iter()
                        .map(|c| format!("${{{{ secrets.AUTH0_{c}_CLIENT_{rest} }}}}"))
                        .collect(),
                    None => vec![format!("${{{{ secrets.{k} }}}}")],
                };
                assert!(allowed.iter().any(|a| a == v), "{name}: {k}: {v}");
            }
        }
    }
}

/// Every orgsync command of a workflow parses, and README.md with the pages of docs/ documents
/// its subcommand and flags.
#[test]
fn github_workflows_commands_parse_and_are_documented() {
    let docs = crate::docs::all_text();
    for name in workflow_names() {
        let all = commands_of(&name);
        assert!(!all.is_empty(), "{name} runs orgsync");
        check_parses(&all, &name);
        for c in &all {
            let sub = &c[1];
            assert!(
                docs.contains(&format!("orgsync {sub}")),
                "{name}: the docs do not document `orgsync {sub}`"
            );
            for flag in c.iter().filter(|a| a.starts_with("--")) {
                assert!(
                    docs.contains(flag.as_str()),
                    "{name}: the docs do not document `{flag}`"
                );
            }
        }
    }
}

/// The docs name where each workflow goes, and a workflow's path filter on workflow files
/// matches the names the docs give them.
#[test]
fn the_docs_name_where_each_workflow_goes_and_path_filters_match_it() {
    let docs = crate::docs::all_text();
    let installed: Vec<String> = workflow_names()
        .iter()
        .map(|n| match n.as_str() {
            "orgsync.yml" => ".github/workflows/orgsync.yml".to_string(),
            n => format!(".github/workflows/orgsync-{n}"),
        })
        .collect();
    for path in &installed {
        assert!(docs.contains(path.as_str()), "the docs do not say `{path}`");
    }
    for name in workflow_names() {
        let wf = yaml(&github_dir().join(&name));
        for trigger in ["pull_request", "push"] {
            let paths = wf["on"][trigger]["paths"].as_array().into_iter().flatten();
            for p in paths
                .filter_map(Value::as_str)
                .filter(|p| p.starts_with(".github/workflows/"))
            {
                let matched = installed.iter().any(|i| glob_matches(p, i));
                assert!(
                    matched,
                    "{name}: the path filter `{p}` matches none of {installed:?}"
                );
            }
        }
    }
}

/// The plan workflows comment on pull requests through the action (its `comment: auto`), which
/// needs to write to pull requests.
#[test]
fn the_plan_workflows_may_write_the_pull_requests_they_comment_on() {
    let action = yaml(&root().join("action.yml"));
    assert_eq!(action["inputs"]["comment"]["default"], "auto");
    for name in ["plan.yml", "orgsync.yml"] {
        let wf = yaml(&github_dir().join(name));
        assert!(wf["on"]["pull_request"].is_object(), "{name}");
        let plan = &wf["jobs"]["plan"];
        let perms = if plan["permissions"].is_object() {
            &plan["permissions"]
        } else {
            &wf["permissions"]
        };
        assert_eq!(perms["pull-requests"], "write", "{name}");
        let steps = plan["steps"].as_array().unwrap();
        let step = steps.iter().find(|s| s["with"]["command"] == "plan");
        let step = step.unwrap_or_else(|| panic!("{name}: a plan step"));
        let posted = step["with"].get("comment").is_none() || step["with"]["comment"] == "github";
        assert!(posted, "{name}: the plan is posted");
    }
}

/// The one workflow the docs show plans on pull requests and applies on merge.
#[test]
fn the_one_workflow_the_docs_show_applies_on_merge_in_the_protected_environment() {
    let one = yaml(&github_dir().join("orgsync.yml"));
    assert_eq!(one["on"]["push"]["branches"][0], "main");
    assert_eq!(one["jobs"]["apply"]["environment"], "auth0-production");
    let one_text = std::fs::read_to_string(github_dir().join("orgsync.yml")).unwrap();
    let verbatim = crate::docs::all_text().contains(&one_text);
    assert!(
        verbatim,
        "the docs show examples/github-actions/orgsync.yml verbatim"
    );
}

/// Apply runs on merge only when the plan removes someone: the action's output, read back.
#[test]
fn the_apply_workflow_applies_only_when_the_plan_removes_someone() {
    let apply = yaml(&github_dir().join("apply.yml"));
    assert_eq!(apply["on"]["push"]["branches"][0], "main");
    assert_eq!(
        apply["jobs"]["apply"]["if"],
        "needs.plan.outputs.to_remove != '0'"
    );
    let to_remove = &apply["jobs"]["plan"]["outputs"]["to_remove"];
    assert_eq!(to_remove, "${{ steps.plan.outputs.to_remove }}");
}

#[test]
fn the_drift_workflow_runs_on_a_schedule() {
    let drift = yaml(&github_dir().join("drift.yml"));
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
    let mut texts = crate::docs::pages();
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
fn every_command_in_the_docs_parses() {
    let mut total = 0;
    for (page, text) in crate::docs::pages() {
        let mut in_block = false;
        let mut block = String::new();
        for line in text.lines() {
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
        total += cmds.len();
        check_parses(&cmds, &page);
    }
    assert!(total >= 20, "{total} commands in the docs");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
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

/// The protected environment the delete-capable client's secrets belong to.
const PROTECTED: &str = "auth0-production";

/// A GitHub job's environment name (`environment: NAME` or `environment: {name: NAME}`).
fn environment_of(job: &Value) -> Option<&str> {
    job["environment"]
        .as_str()
        .or_else(|| job["environment"]["name"].as_str())
}

/// Whether a GitHub job runs `orgsync apply` (through the action or in a script).
fn runs_apply(job: &Value) -> bool {
    job["steps"].as_array().into_iter().flatten().any(|s| {
        let by_action = s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("orgsync/"))
            && s["with"]["command"] == "apply";
        let in_script = s["run"]
            .as_str()
            .is_some_and(|r| commands_in(r).iter().any(|c| c[1] == "apply"));
        by_action || in_script
    })
}

/// Least privilege, in every GitHub workflow here (the examples and this repository's own): the
/// delete-capable client's secrets (`AUTH0_APPLY_*`) appear only in jobs that run in the
/// protected environment, whose environment secrets they are; every job that applies runs in
/// it, with that client; every other job that talks to Auth0 has the read-only client; nothing
/// runs on `pull_request_target`; no secret is set for a whole workflow.
#[test]
fn only_the_apply_job_in_the_protected_environment_gets_the_delete_capable_client() {
    let mut files = Vec::new();
    for dir in ["examples/github-actions", ".github/workflows"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.sort();
    let (mut apply_jobs, mut read_jobs) = (0, 0);
    for path in &files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let wf = yaml(path);
        // pull_request_target runs with the base repository's secrets and a write token on a
        // pull request anyone may open: never (docs/security-model.md).
        assert!(
            !text.contains("pull_request_target") && wf["on"].get("pull_request_target").is_none(),
            "{name}: pull_request_target"
        );
        assert!(
            !wf["env"].to_string().contains("secrets."),
            "{name}: a secret in the workflow's env reaches every job"
        );
        for (job, j) in wf["jobs"].as_object().unwrap() {
            let at = format!("{name}/{job}");
            let body = j.to_string();
            let env = environment_of(j);
            if body.contains("AUTH0_APPLY_") {
                assert_eq!(
                    env,
                    Some(PROTECTED),
                    "{at}: the delete-capable client outside {PROTECTED}"
                );
            }
            if runs_apply(j) {
                apply_jobs += 1;
                assert_eq!(env, Some(PROTECTED), "{at}: apply outside {PROTECTED}");
                assert!(
                    body.contains("secrets.AUTH0_APPLY_CLIENT_ID")
                        && body.contains("secrets.AUTH0_APPLY_CLIENT_SECRET"),
                    "{at}: apply with the apply client"
                );
                assert!(!body.contains("AUTH0_READ_"), "{at}: one client per job");
            } else if body.contains("AUTH0_CLIENT_") {
                read_jobs += 1;
                assert!(
                    body.contains("secrets.AUTH0_READ_CLIENT_ID")
                        && body.contains("secrets.AUTH0_READ_CLIENT_SECRET"),
                    "{at}: plan and drift with the read-only client"
                );
                assert_eq!(
                    env, None,
                    "{at}: only apply needs the protected environment"
                );
            }
        }
    }
    // apply.yml and orgsync.yml apply; plan.yml, drift.yml, shell.yml and the two plan jobs read.
    assert_eq!(apply_jobs, 2, "apply jobs");
    assert_eq!(read_jobs, 5, "read-only jobs");
}

/// The same for GitLab: the apply job alone runs in the protected environment and alone maps the
/// apply client's (protected, environment-scoped) variables; the others map the read-only ones;
/// nothing global carries a client.
#[test]
fn gitlab_gives_the_delete_capable_client_only_to_the_apply_job() {
    let ci = yaml(&root().join("examples/gitlab-ci.yml"));
    for global in ["variables", "default"] {
        let text = ci[global].to_string();
        assert!(
            !text.contains("AUTH0_READ_") && !text.contains("AUTH0_APPLY_"),
            "{global}: a client for every job"
        );
    }
    for job in ["orgsync-plan", "orgsync-apply", "orgsync-drift"] {
        let j = &ci[job];
        let mut scripts = Vec::new();
        strings(&j["script"], &mut scripts);
        let applies = scripts
            .iter()
            .any(|s| commands_in(s).iter().any(|c| c[1] == "apply"));
        let vars = &j["variables"];
        let body = j.to_string();
        if applies {
            assert_eq!(j["environment"]["name"], PROTECTED, "{job}");
            assert_eq!(vars["AUTH0_CLIENT_ID"], "$AUTH0_APPLY_CLIENT_ID", "{job}");
            assert_eq!(
                vars["AUTH0_CLIENT_SECRET"], "$AUTH0_APPLY_CLIENT_SECRET",
                "{job}"
            );
            // By hand, from the default branch only.
            let rules = j["rules"].as_array().unwrap();
            assert!(!rules.is_empty());
            for r in rules {
                assert_eq!(r["when"], "manual", "{job}");
                assert!(
                    r["if"]
                        .as_str()
                        .unwrap()
                        .contains("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"),
                    "{job}"
                );
            }
        } else {
            assert!(
                !body.contains("AUTH0_APPLY_"),
                "{job}: the delete-capable client"
            );
            assert!(j.get("environment").is_none(), "{job}");
            assert_eq!(vars["AUTH0_CLIENT_ID"], "$AUTH0_READ_CLIENT_ID", "{job}");
            assert_eq!(
                vars["AUTH0_CLIENT_SECRET"], "$AUTH0_READ_CLIENT_SECRET",
                "{job}"
            );
        }
    }
}

/// Every recipe, the action and the docs say which client goes where, and the pages they point
/// to exist.
#[test]
fn the_recipes_and_the_docs_name_the_two_clients() {
    let read =
        |p: &str| std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    for page in [
        "README.md",
        "docs/ci.md",
        "docs/security-model.md",
        "docs/action.md",
    ] {
        let text = read(page);
        for want in [
            "AUTH0_READ_CLIENT_ID",
            "AUTH0_APPLY_CLIENT_ID",
            PROTECTED,
            "delete:organization_members",
            "pull_request_target",
        ] {
            assert!(text.contains(want), "{page}: no `{want}`");
        }
    }
    let mut recipes = vec!["examples/gitlab-ci.yml".to_string()];
    for entry in std::fs::read_dir(root().join("examples/github-actions")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        recipes.push(format!("examples/github-actions/{name}"));
    }
    for recipe in recipes.iter().map(String::as_str).chain(["action.yml"]) {
        let text = read(recipe);
        assert!(
            text.contains("docs/security-model.md"),
            "{recipe}: no pointer to docs/security-model.md"
        );
        assert!(text.contains("read-only"), "{recipe}: the read-only client");
        if text.contains("AUTH0_APPLY_") {
            assert!(
                text.contains("environment secrets") || text.contains("protected"),
                "{recipe}: where the apply client's credentials live"
            );
        }
    }
    assert!(root().join("docs/security-model.md").is_file());
    assert!(root().join("docs/ci.md").is_file());
}

/// README's Install leads with what works from a clone, and offers what a release brings (the
/// downloads, the image, the action's release install) only as available from the first
/// published release, never as a release that exists.
#[test]
fn install_leads_with_what_works_without_a_release() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("\n## Install\n").expect("an Install section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let first_block = section.split("```").nth(1).expect("a code block");
    assert!(
        first_block.contains("cargo install --locked --path ."),
        "{first_block}"
    );
    assert!(first_block.contains("docker build"), "{first_block}");
    let promise = section
        .find("available from the first published release")
        .expect("the release downloads marked as such");
    for released in ["releases/download", "ghcr.io/", "orgsync/orgsync@v"] {
        if let Some(at) = section.find(released) {
            assert!(at > promise, "`{released}` before the release is promised");
        }
    }
    for claim in ["The current release is", "cargo install --locked --git"] {
        assert!(!readme.contains(claim), "README: `{claim}`");
    }
}
