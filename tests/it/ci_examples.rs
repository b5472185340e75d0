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

/// Where the docs say each workflow goes.
fn installed_paths() -> Vec<String> {
    let installed = workflow_names().into_iter().map(|n| match n.as_str() {
        "orgsync.yml" => ".github/workflows/orgsync.yml".to_string(),
        n => format!(".github/workflows/orgsync-{n}"),
    });
    installed.collect()
}

#[test]
fn the_docs_name_where_each_workflow_goes() {
    let docs = crate::docs::all_text();
    for path in installed_paths() {
        assert!(docs.contains(path.as_str()), "the docs do not say `{path}`");
    }
}

/// A workflow's path filter on workflow files matches the names the docs give them.
#[test]
fn a_workflows_path_filter_matches_where_the_docs_put_it() {
    let installed = installed_paths();
    for name in workflow_names() {
        let wf = yaml(&github_dir().join(&name));
        for trigger in ["pull_request", "push"] {
            let paths = wf["on"][trigger]["paths"].as_array().into_iter().flatten();
            for p in paths
                .map(|p| p.as_str().unwrap())
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

/// Every recipe (examples/gitlab-ci.yml and examples/github-actions/*) as (path, text).
fn recipes() -> Vec<(String, String)> {
    let mut names = vec!["examples/gitlab-ci.yml".to_string()];
    names.extend(
        workflow_names()
            .iter()
            .map(|n| format!("examples/github-actions/{n}")),
    );
    let read = |n: String| {
        (
            std::fs::read_to_string(root().join(&n)).unwrap_or_else(|e| panic!("{n}: {e}")),
            n,
        )
    };
    names.into_iter().map(read).map(|(t, n)| (n, t)).collect()
}

/// Downloads are checked against the release's SHA256SUMS before they are used.
#[test]
fn the_recipes_that_download_check_the_sha256sums() {
    for name in [
        "examples/gitlab-ci.yml",
        "examples/github-actions/shell.yml",
    ] {
        let text = std::fs::read_to_string(root().join(name)).unwrap();
        assert!(
            text.contains("SHA256SUMS") && text.contains("sha256sum -c"),
            "{name}"
        );
    }
}

/// Nothing is published on crates.io: `cargo install orgsync` cannot work.
#[test]
fn no_recipe_or_page_builds_orgsync_from_a_registry() {
    for (name, text) in crate::docs::pages().iter().chain(&recipes()) {
        for bad in ["cargo install --locked orgsync", "cargo install orgsync"] {
            assert!(!text.contains(bad), "{name}: `{bad}`");
        }
    }
}

fn gitlab() -> Value {
    yaml(&root().join("examples/gitlab-ci.yml"))
}

const GITLAB_JOBS: [&str; 3] = ["orgsync-plan", "orgsync-apply", "orgsync-drift"];

/// The orgsync commands in a GitLab job's `script`.
fn gitlab_commands(job: &Value) -> Vec<Vec<String>> {
    let mut scripts = Vec::new();
    strings(&job["script"], &mut scripts);
    scripts.iter().flat_map(|s| commands_in(s)).collect()
}

#[test]
fn the_gitlab_example_is_valid_and_its_commands_parse() {
    let ci = gitlab();
    let stages: Vec<&str> = ci["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(stages, ["plan", "apply", "drift"]);
    let mut all = Vec::new();
    for job in GITLAB_JOBS {
        assert!(
            stages.contains(&ci[job]["stage"].as_str().unwrap()),
            "{job}: stage"
        );
        let mut scripts = Vec::new();
        strings(&ci[job]["script"], &mut scripts);
        assert!(!scripts.is_empty(), "{job}: script");
        all.extend(gitlab_commands(&ci[job]));
    }
    check_parses(&all, "gitlab-ci.yml");
    assert!(all.iter().any(|c| c[1] == "apply"));
}

/// The code blocks of a Markdown page, one text.
fn code_blocks(text: &str) -> String {
    let (mut in_block, mut block) = (false, String::new());
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if in_block {
            block.push_str(line);
            block.push('\n');
        }
    }
    block
}

#[test]
fn every_command_in_the_docs_parses() {
    let mut total = 0;
    for (page, text) in crate::docs::pages() {
        let cmds = commands_in(&code_blocks(&text));
        total += cmds.len();
        check_parses(&cmds, &page);
    }
    assert!(total >= 20, "{total} commands in the docs");
}

/// The first lines of the README's first code block are the demo, then the tests.
#[test]
fn the_readme_opens_with_the_demo() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let first_block: Vec<&str> = readme
        .split("```")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .collect();
    let demo =
        "cargo run --release -- plan -c examples/orgsync.yaml --sandbox examples/tenant.yaml";
    assert!(first_block[0].starts_with(demo));
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

/// Every GitHub workflow here (the examples and this repository's own), as (path, text, YAML).
fn all_workflows() -> Vec<(String, String, Value)> {
    let mut files = Vec::new();
    for dir in ["examples/github-actions", ".github/workflows"] {
        files.extend(
            std::fs::read_dir(root().join(dir))
                .unwrap()
                .map(|e| e.unwrap().path()),
        );
    }
    files.sort();
    let read = |p: &PathBuf| {
        (
            p.display().to_string(),
            std::fs::read_to_string(p).unwrap(),
            yaml(p),
        )
    };
    files.iter().map(read).collect()
}

/// pull_request_target runs with the base repository's secrets and a write token on a pull
/// request anyone may open: never (docs/security-model.md); and no secret is set for a whole
/// workflow.
#[test]
fn no_workflow_runs_on_pull_request_target_or_sets_a_secret_for_every_job() {
    for (name, text, wf) in all_workflows() {
        let target =
            text.contains("pull_request_target") || wf["on"].get("pull_request_target").is_some();
        assert!(!target, "{name}: pull_request_target");
        let everywhere = wf["env"].to_string().contains("secrets.");
        assert!(
            !everywhere,
            "{name}: a secret in the workflow's env reaches every job"
        );
    }
}

/// Least privilege, in every GitHub workflow here: the delete-capable client's secrets
/// (`AUTH0_APPLY_*`) appear only in jobs that run in the protected environment, whose
/// environment secrets they are; every job that applies runs in it, with that client; every
/// other job that talks to Auth0 has the read-only client.
#[test]
fn only_the_apply_job_in_the_protected_environment_gets_the_delete_capable_client() {
    let (mut apply_jobs, mut read_jobs) = (0, 0);
    for (name, _, wf) in all_workflows() {
        for (job, j) in wf["jobs"].as_object().unwrap() {
            let (at, body, env) = (format!("{name}/{job}"), j.to_string(), environment_of(j));
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
                let apply_client = body.contains("secrets.AUTH0_APPLY_CLIENT_ID")
                    && body.contains("secrets.AUTH0_APPLY_CLIENT_SECRET");
                assert!(apply_client, "{at}: apply with the apply client");
                assert!(!body.contains("AUTH0_READ_"), "{at}: one client per job");
            } else if body.contains("AUTH0_CLIENT_") {
                read_jobs += 1;
                let read_client = body.contains("secrets.AUTH0_READ_CLIENT_ID")
                    && body.contains("secrets.AUTH0_READ_CLIENT_SECRET");
                assert!(
                    read_client,
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

/// The same for GitLab: nothing global carries a client.
#[test]
fn gitlab_sets_no_client_for_every_job() {
    let ci = gitlab();
    for global in ["variables", "default"] {
        let text = ci[global].to_string();
        let client = text.contains("AUTH0_READ_") || text.contains("AUTH0_APPLY_");
        assert!(!client, "{global}: a client for every job");
    }
}

/// The apply job alone runs in the protected environment and maps the apply client's
/// (protected, environment-scoped) variables; by hand, from the default branch only.
#[test]
fn gitlabs_apply_job_alone_gets_the_delete_capable_client() {
    let ci = gitlab();
    let applies = |job: &&str| gitlab_commands(&ci[*job]).iter().any(|c| c[1] == "apply");
    for job in GITLAB_JOBS.into_iter().filter(applies) {
        let (j, vars) = (&ci[job], &ci[job]["variables"]);
        assert_eq!(j["environment"]["name"], PROTECTED, "{job}");
        assert_eq!(vars["AUTH0_CLIENT_ID"], "$AUTH0_APPLY_CLIENT_ID", "{job}");
        assert_eq!(
            vars["AUTH0_CLIENT_SECRET"], "$AUTH0_APPLY_CLIENT_SECRET",
            "{job}"
        );
        let rules = j["rules"].as_array().unwrap();
        assert!(!rules.is_empty());
        for r in rules {
            assert_eq!(r["when"], "manual", "{job}");
            let default_branch = r["if"]
                .as_str()
                .unwrap()
                .contains("$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH");
            assert!(default_branch, "{job}");
        }
    }
}

/// The jobs that do not apply map the read-only client's variables, outside any environment.
#[test]
fn gitlabs_other_jobs_get_the_read_only_client() {
    let ci = gitlab();
    let reads = |job: &&str| !gitlab_commands(&ci[*job]).iter().any(|c| c[1] == "apply");
    for job in GITLAB_JOBS.into_iter().filter(reads) {
        let (j, vars) = (&ci[job], &ci[job]["variables"]);
        assert!(
            !j.to_string().contains("AUTH0_APPLY_"),
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

/// The docs say which client goes where, and never to run on pull_request_target.
#[test]
fn the_docs_name_the_two_clients() {
    for page in [
        "README.md",
        "docs/ci.md",
        "docs/security-model.md",
        "docs/action.md",
    ] {
        let text =
            std::fs::read_to_string(root().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        let wants = [
            "AUTH0_READ_CLIENT_ID",
            "AUTH0_APPLY_CLIENT_ID",
            PROTECTED,
            "delete:organization_members",
            "pull_request_target",
        ];
        for want in wants {
            assert!(text.contains(want), "{page}: no `{want}`");
        }
    }
}

/// Every recipe and the action say which client goes where, and the pages they point to exist.
#[test]
fn the_recipes_and_the_action_name_the_two_clients() {
    let action = (
        "action.yml".to_string(),
        std::fs::read_to_string(root().join("action.yml")).unwrap(),
    );
    for (recipe, text) in recipes().into_iter().chain([action]) {
        assert!(
            text.contains("docs/security-model.md"),
            "{recipe}: no pointer to docs/security-model.md"
        );
        assert!(text.contains("read-only"), "{recipe}: the read-only client");
        if text.contains("AUTH0_APPLY_") {
            let said = text.contains("environment secrets") || text.contains("protected");
            assert!(said, "{recipe}: where the apply client's credentials live");
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
