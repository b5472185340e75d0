//! `orgsync emulator`, the subcommand: the real binary serving a tenant file.

use crate::support::*;
use orgsync_emulator::Tenant;
use serde_json::{Value, json};

/// Starts `orgsync emulator --tenant T ARGS` on a tenant with one organization; its URL from
/// the ready line, the child, and then `requests` GETs of the organization by name: each
/// answer's status and `x-ratelimit-limit`.
fn serve_and_get(dir: &TempDir, args: &[&str], requests: usize) -> Vec<(u16, Option<String>)> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let tenant = dir.write(
        "tenant.yaml",
        "clients:\n  - {client_id: demo, client_secret: s, scopes: [read:organizations]}\norganizations:\n  - id: org_3hbVAMF8F3wVIcEJ\n    name: acme\n    members:\n      - {user_id: 'auth0|1', email: a@example.com}\n",
    );
    let mut child = Command::new(bin())
        .args(["emulator", "--tenant", tenant.to_str().unwrap()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("orgsync emulator listening on ")
        .unwrap_or_else(|| panic!("ready line: {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answers = rt.block_on(async {
        let http = reqwest::Client::new();
        let tok: Value = http
            .post(format!("{url}/oauth/token"))
            .json(&json!({"grant_type": "client_credentials", "client_id": "demo", "client_secret": "s", "audience": format!("{url}/api/v2/")}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut answers = Vec::new();
        for _ in 0..requests {
            let r = http
                .get(format!("{url}/api/v2/organizations/name/acme"))
                .bearer_auth(tok["access_token"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            answers.push((
                r.status().as_u16(),
                r.headers()
                    .get("x-ratelimit-limit")
                    .map(|v| v.to_str().unwrap().to_string()),
            ));
        }
        answers
    });
    child.kill().unwrap();
    let _ = child.wait();
    answers
}

#[test]
fn the_subcommand_prints_one_ready_line_and_serves() {
    let dir = TempDir::new("emu-cli");
    let answers = serve_and_get(&dir, &["--rate-limit", "10/5"], 1);
    assert_eq!(answers, [(200, Some("10".to_string()))]);
}

#[test]
fn by_default_a_real_tenants_limits_are_enforced_and_no_rate_limit_only_announces_them() {
    let dir = TempDir::new("emu-cli-limits");
    let enforced = serve_and_get(&dir, &[], 70);
    assert!(enforced.iter().all(|(_, l)| l.as_deref() == Some("50")));
    assert!(
        enforced.iter().any(|(s, _)| *s == 429),
        "a burst of 70 over a bucket of 50"
    );
    let announced = serve_and_get(&dir, &["--no-rate-limit"], 70);
    assert!(
        announced
            .iter()
            .all(|a| *a == (200, Some("50".to_string()))),
        "{announced:?}"
    );
}

#[test]
fn a_bad_tenant_file_is_reported_with_line_and_column() {
    let dir = TempDir::new("emu-bad");
    let tenant = dir.write(
        "tenant.yaml",
        "organizations:\n  - id: org_1\n    name: acme\n    members: {user_id: 'auth0|1'}\n",
    );
    let out = OrgSync::bare()
        .args(["emulator", "--tenant", tenant.to_str().unwrap()])
        .cwd(dir.path())
        .run();
    out.failure();
    let err = out.stderr();
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("tenant.yaml"), "{err}");
    assert!(err.contains("tenant.yaml:4:"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn the_example_tenant_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.yaml");
    let tenant = Tenant::load(&path).unwrap();
    assert_eq!(tenant.organizations.len(), 4);
    assert!(tenant.clients.iter().any(|c| c.client_id == "demo"));
}

#[test]
fn tenant_file_errors_have_the_shape_of_config_errors() {
    let dir = TempDir::new("emulator-bad-tenant");
    let bad = dir.write(
        "tenant.yaml",
        "clients:\n  - client_id: a\n    client_secret: b\norganizations: [\n",
    );
    let shown = bad.display().to_string();
    for args in [
        vec!["emulator".to_string(), "--tenant".into(), shown.clone()],
        vec![
            "plan".to_string(),
            "-c".into(),
            example_config().display().to_string(),
            "--sandbox".into(),
            shown.clone(),
        ],
    ] {
        let out = OrgSync::bare().args(&args).run();
        out.failure();
        let lines: Vec<&str> = out.stderr().lines().collect();
        assert_eq!(
            lines.first().copied(),
            Some(format!("error: {shown}:4:16: unclosed bracket '['").as_str()),
            "{}",
            out.show()
        );
        assert!(
            lines.iter().any(|l| l.starts_with("hint: ")),
            "{}",
            out.show()
        );
        assert!(!out.stderr().contains("-->"), "{}", out.show());
    }
}
