//! The emulator's rules, checked over real HTTP on loopback.

mod support;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orgsync_emulator::jwt::Claims;
use orgsync_emulator::tenant::{Organization, Role, User};
use orgsync_emulator::{
    BucketConfig, Emulator, FaultKind, Options, RateLimits, ScriptedFault, Tenant,
};
use serde_json::{Value, json};
use support::*;

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(emu: &Emulator) -> Api {
        let http = reqwest::Client::new();
        let token = fetch_token(&http, emu, "test", "test-secret").await;
        Api {
            http,
            base: emu.url(),
            token,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> (u16, String, Option<String>) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        (status, r.text().await.unwrap(), ct)
    }
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn token_endpoint_takes_json_and_form_and_refuses_bad_credentials() {
    let emu = start(small_tenant(), Options::default()).await;
    let http = reqwest::Client::new();
    let token = fetch_token(&http, &emu, "test", "test-secret").await;
    let claims = claims_of(&token);
    assert_eq!(claims["aud"], json!(emu.audience()));
    assert_eq!(claims["azp"], "test");
    assert!(
        claims["scope"]
            .as_str()
            .unwrap()
            .contains("delete:organization_members")
    );
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());

    let form = format!(
        "grant_type=client_credentials&client_id=test&client_secret=test-secret&audience={}",
        urlencode(&emu.audience())
    );
    let r = http
        .post(format!("{}/oauth/token", emu.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 86_400);

    let r = http
        .post(format!("{}/oauth/token", emu.url()))
        .json(&json!({"grant_type": "client_credentials", "client_id": "test", "client_secret": "wrong", "audience": emu.audience()}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer(r).await,
        (
            401,
            json!({"error": "access_denied", "error_description": "Unauthorized"})
        )
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn bearer_checks_answer_with_auth0_bodies() {
    let mut tenant = small_tenant();
    tenant
        .clients
        .push(client("reader", "r", &["read:organizations"]));
    let mut local = client("local", "l", ALL_SCOPES);
    local.global = false;
    tenant.clients.push(local);
    let emu = start(tenant.clone(), Options::default()).await;
    let other = start(tenant, Options::default()).await;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members",
        emu.url()
    );

    let unauthorized = |m: &str| json!({"statusCode": 401, "error": "Unauthorized", "message": m, "attributes": {"error": m}});
    // Missing, then undecodable.
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(answer(r).await, (401, unauthorized("Invalid token")));
    let r = http.get(&url).bearer_auth("garbage").send().await.unwrap();
    assert_eq!(answer(r).await, (401, unauthorized("Invalid token")));
    // Signed by another tenant.
    let foreign = fetch_token(&http, &other, "test", "test-secret").await;
    let r = http.get(&url).bearer_auth(&foreign).send().await.unwrap();
    assert_eq!(
        answer(r).await,
        (
            401,
            unauthorized("Invalid signature received for JSON Web Token validation")
        )
    );
    // Expired.
    let now = now_secs();
    let expired = emu.sign(&Claims {
        iss: format!("{}/", emu.url()),
        sub: "test@clients".into(),
        aud: emu.audience(),
        iat: now - 100,
        exp: now - 10,
        azp: "test".into(),
        scope: ALL_SCOPES.join(" "),
        gty: "client-credentials".into(),
    });
    let r = http.get(&url).bearer_auth(&expired).send().await.unwrap();
    assert_eq!(
        answer(r).await,
        (
            401,
            unauthorized("Expired token received for JSON Web Token validation")
        )
    );
    // A client that is not global.
    let local = fetch_token(&http, &emu, "local", "l").await;
    let r = http.get(&url).bearer_auth(&local).send().await.unwrap();
    assert_eq!(answer(r).await, (401, unauthorized("Client is not global")));
    // Missing scope: the live server's comma format.
    let reader = fetch_token(&http, &emu, "reader", "r").await;
    let r = http.get(&url).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(
        answer(r).await,
        (
            403,
            json!({"statusCode": 403, "error": "Forbidden", "message": "Insufficient scope, expected any of: read:organization_members", "errorCode": "insufficient_scope"})
        )
    );
    let r = http
        .delete(&url)
        .bearer_auth(&reader)
        .json(&json!({"members": ["auth0|a0000"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("expected any of: delete:organization_members")
    );
    // Nothing was removed by any refused call.
    assert_eq!(emu.state().organizations[0].members.len(), 3);
}

#[tokio::test]
async fn organizations_in_all_shapes_and_lookups() {
    let emu = start(small_tenant(), Options::default()).await;
    let api = Api::new(&emu).await;

    let (s, bare) = api.get("/api/v2/organizations").await;
    assert_eq!(s, 200);
    assert_eq!(bare.as_array().unwrap().len(), 3);
    assert_eq!(
        bare[0],
        json!({"id": "org_aaaaaaaaaaaaaaa1", "name": "acme", "display_name": "acme display"})
    );

    let (_, totals) = api
        .get("/api/v2/organizations?include_totals=true&per_page=2&page=1")
        .await;
    assert_eq!(totals["start"], 2);
    assert_eq!(totals["limit"], 2);
    assert_eq!(totals["total"], 3);
    assert_eq!(totals["organizations"].as_array().unwrap().len(), 1);

    // Checkpoint: a full first page has `next`; the short last page has none [real].
    let (_, p1) = api
        .get("/api/v2/organizations?include_totals=true&per_page=50&take=2")
        .await;
    assert_eq!(p1["organizations"].as_array().unwrap().len(), 2);
    let next = p1["next"].as_str().unwrap();
    let (_, p2) = api
        .get(&format!("/api/v2/organizations?take=2&from={next}"))
        .await;
    assert_eq!(p2["organizations"].as_array().unwrap().len(), 1);
    assert_eq!(p2["organizations"][0]["name"], "initech");
    assert!(p2.get("next").is_none());

    let (s, by_id) = api.get("/api/v2/organizations/org_bbbbbbbbbbbbbbb2").await;
    assert_eq!(s, 200);
    assert_eq!(by_id["name"], "globex");
    let (s, by_name) = api.get("/api/v2/organizations/name/globex").await;
    assert_eq!(s, 200);
    assert_eq!(by_name["id"], "org_bbbbbbbbbbbbbbb2");

    let not_found = json!({"statusCode": 404, "error": "Not Found", "message": "No organization found by that id or name"});
    assert_eq!(
        api.get("/api/v2/organizations/org_XXXXXXXXXXXXXXXX").await,
        (404, not_found.clone())
    );
    assert_eq!(
        api.get("/api/v2/organizations/name/nope").await,
        (404, not_found.clone())
    );
    assert_eq!(
        api.get("/api/v2/organizations/org_XXXXXXXXXXXXXXXX/members")
            .await,
        (404, not_found)
    );
}

fn big_tenant(n: usize) -> Tenant {
    Tenant {
        clients: vec![client("test", "test-secret", ALL_SCOPES)],
        organizations: vec![org_with_members("org_bigbigbigbigbig1", "big", "m", n)],
        users: vec![],
    }
}

#[tokio::test]
async fn checkpoint_paging_reads_2500_members_and_offset_paging_stops_at_1000() {
    let emu = start(big_tenant(2500), Options::default()).await;
    let api = Api::new(&emu).await;
    let base = "/api/v2/organizations/org_bigbigbigbigbig1/members";
    let mut seen = Vec::new();
    let mut from: Option<String> = None;
    let mut requests = 0;
    loop {
        let path = match &from {
            Some(c) => format!("{base}?take=100&from={c}"),
            None => format!("{base}?take=100"),
        };
        let (s, page) = api.get(&path).await;
        requests += 1;
        assert_eq!(s, 200);
        let members = page["members"].as_array().unwrap();
        if members.is_empty() {
            // The trailing empty page carries no `next` [real].
            assert_eq!(page, json!({"members": []}));
            break;
        }
        // `next` on every non-empty page, including the last one.
        from = Some(page["next"].as_str().unwrap().to_string());
        seen.extend(
            members
                .iter()
                .map(|m| m["user_id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(requests, 26);
    let expected: Vec<String> = (0..2500).map(|i| format!("auth0|m{i:04}")).collect();
    assert_eq!(seen, expected, "every member once, in join order");

    // per_page is ignored once take is present.
    let (_, p) = api
        .get(&format!("{base}?per_page=5&take=7&include_totals=true"))
        .await;
    assert_eq!(p["members"].as_array().unwrap().len(), 7);
    assert!(p.get("total").is_none());
    assert!(p.get("next").is_some());

    // Offset paging: page 9 of 100 is fine, page 10 is refused with the real body.
    let (s, p) = api
        .get(&format!("{base}?include_totals=true&per_page=100&page=9"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            p["start"].as_u64(),
            p["limit"].as_u64(),
            p["total"].as_u64()
        ),
        (Some(900), Some(100), Some(2500))
    );
    let (s, err) = api.get(&format!("{base}?page=10&per_page=100")).await;
    assert_eq!(s, 400);
    assert_eq!(
        err,
        json!({"statusCode": 400, "error": "Bad Request", "message": "Requesting page 10 exceeds the allowed maximum of 1000 records. To fetch results beyond 1000, use the checkpoint pagination method.", "errorCode": "invalid_paging"})
    );
    // Bare array without paging parameters: the default page of 50.
    let (_, bare) = api.get(base).await;
    assert_eq!(bare.as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn query_validation_answers_invalid_query_string() {
    let emu = start(small_tenant(), Options::default()).await;
    let api = Api::new(&emu).await;
    for q in [
        "take=0",
        "take=101",
        "per_page=0",
        "per_page=101",
        "page=1001",
        "page=x",
        "include_totals=maybe",
        "colour=red",
        "from=!!!",
    ] {
        let (s, body) = api
            .get(&format!(
                "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members?{q}"
            ))
            .await;
        assert_eq!(s, 400, "{q}");
        assert_eq!(body["errorCode"], "invalid_query_string", "{q}");
        assert_eq!(body["error"], "Bad Request");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Query validation error"),
            "{q}: {body}"
        );
    }
}

#[tokio::test]
async fn fields_projection_and_roles_only_when_asked() {
    let mut tenant = small_tenant();
    tenant.organizations[0].members[0].roles = vec![Role {
        id: "rol_1".into(),
        name: "admin".into(),
    }];
    let emu = start(tenant, Options::default()).await;
    let api = Api::new(&emu).await;
    let base = "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members";

    let (_, all) = api.get(base).await;
    let keys: Vec<&str> = all[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    for k in ["user_id", "email", "picture", "name"] {
        assert!(keys.contains(&k), "{k} missing");
    }
    assert!(all[0].get("roles").is_none());

    let (_, ids) = api
        .get(&format!(
            "{base}?fields=user_id&include_fields=true&take=100"
        ))
        .await;
    assert_eq!(ids["members"][0], json!({"user_id": "auth0|a0000"}));

    let (_, roles) = api
        .get(&format!(
            "{base}?fields=user_id%2Croles&include_fields=true&include_totals=true&per_page=50"
        ))
        .await;
    assert_eq!(
        roles["members"][0],
        json!({"user_id": "auth0|a0000", "roles": [{"id": "rol_1", "name": "admin"}]})
    );
    assert_eq!(
        roles["members"][1],
        json!({"user_id": "auth0|a0001", "roles": []})
    );

    let (_, excluded) = api
        .get(&format!("{base}?fields=email,picture&include_fields=false"))
        .await;
    assert_eq!(
        excluded[0],
        json!({"user_id": "auth0|a0000", "name": "User a0"})
    );
}

#[tokio::test]
async fn add_and_remove_members_with_auth0s_body_rules() {
    let emu = start(small_tenant(), Options::default()).await;
    let api = Api::new(&emu).await;
    let path = "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members";
    use reqwest::Method;

    let (s, body, ct) = api
        .send(Method::DELETE, path, r#"{"members":["auth0|a0001"]}"#)
        .await;
    assert_eq!((s, body.as_str()), (204, ""));
    assert_eq!(ct.as_deref(), Some("application/json; charset=utf-8"));
    assert_eq!(
        emu.state().organizations[0].members,
        ["auth0|a0000", "auth0|a0002"]
    );

    // A non-member: 204 and nothing changes.
    let (s, _, _) = api
        .send(Method::DELETE, path, r#"{"members":["auth0|nobody"]}"#)
        .await;
    assert_eq!(s, 204);
    assert_eq!(emu.state().organizations[0].members.len(), 2);

    let (s, _, _) = api
        .send(Method::POST, path, r#"{"members":["auth0|loner"]}"#)
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        emu.state().organizations[0].members,
        ["auth0|a0000", "auth0|a0002", "auth0|loner"]
    );

    let eleven: Vec<String> = (0..11).map(|i| format!("auth0|a{i:04}")).collect();
    for (body, fragment) in [
        (String::new(), "Invalid request payload JSON format"),
        ("{".to_string(), "Invalid request payload JSON format"),
        ("{}".to_string(), "Missing required property: members"),
        (
            r#"{"members":[]}"#.to_string(),
            "Too few items (0), minimum 1",
        ),
        (
            r#"{"members":"auth0|a0000"}"#.to_string(),
            "Expected type array",
        ),
        (
            json!({ "members": eleven }).to_string(),
            "Too many items (11), maximum 10",
        ),
    ] {
        for method in [Method::DELETE, Method::POST] {
            let (s, text, _) = api.send(method.clone(), path, &body).await;
            assert_eq!(s, 400, "{method} {body}");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["errorCode"], "invalid_body", "{body}");
            assert!(
                v["message"].as_str().unwrap().contains(fragment),
                "{body}: {text}"
            );
        }
    }
    // Exactly ten is fine.
    let ten = json!({ "members": &eleven[..10] }).to_string();
    assert_eq!(api.send(Method::DELETE, path, &ten).await.0, 204);
    assert_eq!(emu.state().organizations[0].members, ["auth0|loner"]);
}

#[tokio::test]
async fn users_by_email_is_case_sensitive_and_lists_every_match() {
    let mut tenant = small_tenant();
    tenant.users.push(User {
        user_id: "google-oauth2|1234".into(),
        email: Some("a0@example.com".into()),
        name: None,
    });
    let emu = start(tenant, Options::default()).await;
    let api = Api::new(&emu).await;
    let (s, two) = api
        .get("/api/v2/users-by-email?email=a0%40example.com")
        .await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = two
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_str().unwrap())
        .collect();
    // Users listed in the tenant come first, then members in the order they were seen.
    assert_eq!(ids, ["google-oauth2|1234", "auth0|a0000"]);
    assert_eq!(two.as_array().unwrap().len(), 2);
    assert_eq!(two[0]["identities"][0]["provider"], "google-oauth2");
    assert_eq!(
        two[1]["identities"][0]["connection"],
        "Username-Password-Authentication"
    );
    let (_, none) = api
        .get("/api/v2/users-by-email?email=A0%40example.com")
        .await;
    assert_eq!(none, json!([]));
    let (s, missing) = api.get("/api/v2/users-by-email").await;
    assert_eq!(s, 400);
    assert_eq!(missing["errorCode"], "invalid_query_string");
}

#[tokio::test]
async fn rate_limit_answers_429_with_headers_and_refills() {
    let options = Options {
        rate_limits: RateLimits {
            global: Some(BucketConfig {
                size: 3,
                refill_per_sec: 20.0,
                every_second: false,
            }),
            ..RateLimits::default()
        },
        ..Options::default()
    };
    let emu = start(small_tenant(), options).await;
    let http = reqwest::Client::new();
    let token = fetch_token(&http, &emu, "test", "test-secret").await;
    let url = format!("{}/api/v2/organizations", emu.url());
    let header = |r: &reqwest::Response, name: &str| -> u64 {
        r.headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut remaining = Vec::new();
    let mut limited = None;
    for _ in 0..10 {
        let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(header(&r, "x-ratelimit-limit"), 3);
        let rem = header(&r, "x-ratelimit-remaining");
        let reset = header(&r, "x-ratelimit-reset");
        let now = now_secs();
        assert!(reset >= now && reset <= now + 2, "reset {reset} now {now}");
        if r.status() == 429 {
            limited = Some(r.json::<Value>().await.unwrap());
            break;
        }
        remaining.push(rem);
    }
    assert_eq!(&remaining[..3], [2, 1, 0], "the burst of 3 counts down");
    assert_eq!(
        limited.expect("a 429 once the bucket is empty"),
        json!({"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"})
    );
    // 20 tokens a second: after 100 ms at least one is back.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(emu.requests().iter().any(|r| r.status == 429));
}

#[tokio::test]
async fn members_write_bucket_is_separate_from_reads() {
    let options = Options {
        rate_limits: RateLimits {
            members_write: Some(BucketConfig {
                size: 1,
                refill_per_sec: 0.0,
                every_second: false,
            }),
            ..RateLimits::default()
        },
        ..Options::default()
    };
    let emu = start(small_tenant(), options).await;
    let api = Api::new(&emu).await;
    let path = "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members";
    assert_eq!(
        api.send(
            reqwest::Method::DELETE,
            path,
            r#"{"members":["auth0|a0000"]}"#
        )
        .await
        .0,
        204
    );
    let (s, body, _) = api
        .send(
            reqwest::Method::DELETE,
            path,
            r#"{"members":["auth0|a0001"]}"#,
        )
        .await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(
        api.get(path).await.0,
        200,
        "reads are not limited by the write bucket"
    );
    assert_eq!(
        emu.state().organizations[0].members,
        ["auth0|a0001", "auth0|a0002"]
    );
}

#[tokio::test]
async fn removals_stay_listed_for_the_configured_delay() {
    let options = Options {
        removal_delay: Duration::from_millis(400),
        ..Options::default()
    };
    let emu = start(small_tenant(), options).await;
    let api = Api::new(&emu).await;
    let path = "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members";
    let removed_at = Instant::now();
    assert_eq!(
        api.send(
            reqwest::Method::DELETE,
            path,
            r#"{"members":["auth0|a0000"]}"#
        )
        .await
        .0,
        204
    );
    let (_, listed) = api.get(path).await;
    if removed_at.elapsed() < Duration::from_millis(400) {
        assert_eq!(
            listed.as_array().unwrap().len(),
            3,
            "still listed right after the DELETE"
        );
    }
    let state = emu.state();
    assert_eq!(
        state.organizations[0].members,
        ["auth0|a0001", "auth0|a0002"]
    );
    assert_eq!(state.organizations[0].pending_removal, ["auth0|a0000"]);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let (_, listed) = api.get(path).await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["auth0|a0001", "auth0|a0002"]);
    assert!(emu.state().organizations[0].pending_removal.is_empty());
}

#[tokio::test]
async fn request_log_and_state_view_over_http() {
    let emu = start(small_tenant(), Options::default()).await;
    let api = Api::new(&emu).await;
    let path = "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members";
    api.get(&format!("{path}?take=2")).await;
    api.send(
        reqwest::Method::DELETE,
        path,
        r#"{"members":["auth0|a0000","auth0|a0002"]}"#,
    )
    .await;
    let http = reqwest::Client::new();
    let log: Value = http
        .get(format!("{}/__emulator/requests", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3, "token, list, delete: {log:?}");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/oauth/token");
    assert_eq!(log[1]["path"], format!("{path}?take=2"));
    assert_eq!(log[1]["status"], 200);
    assert_eq!(log[2]["method"], "DELETE");
    assert_eq!(log[2]["status"], 204);
    assert_eq!(log[2]["members"], json!(["auth0|a0000", "auth0|a0002"]));
    assert_eq!(log[2]["client_id"], "test");
    assert!(log[2]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        log.iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(&api.token), "the log never holds a token");

    let state: Value = http
        .get(format!("{}/__emulator/state", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["organizations"][0]["members"], json!(["auth0|a0001"]));
    assert_eq!(
        state["organizations"][1]["members"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// The statuses a fixed sequence of requests gets from an emulator with faults, and how
/// many of them the client saw as broken connections.
async fn fault_run(seed: u64) -> (Vec<u16>, usize) {
    let options = Options {
        fault_rate: 0.3,
        seed,
        ..Options::default()
    };
    let emu = start(small_tenant(), options).await;
    let api = Api::new(&emu).await;
    let mut broken = 0;
    for _ in 0..40 {
        let r = api
            .http
            .get(format!(
                "{}/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members",
                api.base
            ))
            .bearer_auth(&api.token)
            .send()
            .await;
        let ok = match r {
            Ok(r) => r.bytes().await.is_ok(),
            Err(_) => false,
        };
        broken += usize::from(!ok);
    }
    let recorded: Vec<u16> = emu.requests().iter().skip(1).map(|r| r.status).collect();
    (recorded, broken)
}

#[tokio::test]
async fn faults_are_seeded_and_repeatable() {
    let (a, dropped_a) = fault_run(42).await;
    let (b, _) = fault_run(42).await;
    let (c, _) = fault_run(7).await;
    assert_eq!(a, b, "same seed, same faults");
    assert_ne!(a, c, "another seed, other faults");
    let faults = a.iter().filter(|s| **s != 200).count();
    assert!(
        (4..=24).contains(&faults),
        "about 30% of 40 requests fail: {faults}"
    );
    assert!(a.iter().all(|s| [0, 200, 500, 503].contains(s)), "{a:?}");
    // Every dropped connection is seen by the client as a transport error.
    assert_eq!(dropped_a, a.iter().filter(|s| **s == 0).count());
}

#[tokio::test]
async fn a_dropped_delete_is_carried_out_and_scripted_faults_target_one_path() {
    let emu = start(small_tenant(), Options::default()).await;
    let api = Api::new(&emu).await;
    let path = "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members";
    emu.script_fault(ScriptedFault {
        method: "DELETE".into(),
        path: path.into(),
        status: 0,
        times: 1,
    });
    let r = api
        .http
        .delete(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .json(&json!({"members": ["auth0|a0000"]}))
        .send()
        .await;
    let broken = match r {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(broken, "the client sees a broken connection");
    assert_eq!(
        emu.state().organizations[0].members,
        ["auth0|a0001", "auth0|a0002"],
        "yet the removal happened"
    );

    emu.script_fault(ScriptedFault {
        method: "DELETE".into(),
        path: path.into(),
        status: 500,
        times: 2,
    });
    for expected in [500, 500, 204] {
        let (s, _, _) = api
            .send(
                reqwest::Method::DELETE,
                path,
                r#"{"members":["auth0|a0001"]}"#,
            )
            .await;
        assert_eq!(s, expected);
    }
    assert_eq!(api.get(path).await.0, 200, "other requests are untouched");
    let log = emu.requests();
    let faults: Vec<Option<&str>> = log.iter().map(|r| r.fault.as_deref()).collect();
    assert_eq!(faults.iter().filter(|f| **f == Some("scripted")).count(), 2);
    assert_eq!(faults.iter().filter(|f| **f == Some("drop")).count(), 1);
}

#[tokio::test]
async fn latency_is_added_to_api_requests() {
    let options = Options {
        latency: Duration::from_millis(60),
        ..Options::default()
    };
    let emu = start(small_tenant(), options).await;
    let api = Api::new(&emu).await;
    let t = Instant::now();
    api.get("/api/v2/organizations").await;
    assert!(t.elapsed() >= Duration::from_millis(60));
}

#[tokio::test]
async fn tenant_organizations_pass_branding_through() {
    let mut tenant = small_tenant();
    tenant.organizations.push(Organization {
        id: "org_ddddddddddddddd4".into(),
        name: "branded".into(),
        branding: Some(json!({"logo_url": "https://example.com/logo.gif"})),
        ..Organization::default()
    });
    let emu = start(tenant, Options::default()).await;
    let api = Api::new(&emu).await;
    let (_, o) = api.get("/api/v2/organizations/name/branded").await;
    assert_eq!(
        o,
        json!({"id": "org_ddddddddddddddd4", "name": "branded", "branding": {"logo_url": "https://example.com/logo.gif"}})
    );
}

#[test]
fn fault_kind_names_parse() {
    assert_eq!(FaultKind::parse("500"), Some(FaultKind::Status500));
    assert_eq!(FaultKind::parse("drop"), Some(FaultKind::Drop));
    assert_eq!(FaultKind::parse("404"), None);
}

/// The member-roles endpoints restore needs: a member's direct roles (list, assign), effective
/// roles with their sources, a role by id; a deleted role and a deleted user; every answer's
/// keys are properties of the schema Auth0's OpenAPI description gives for it.
#[tokio::test]
async fn member_roles_effective_roles_and_deleted_roles_and_users() {
    let mut tenant = small_tenant();
    tenant.clients.push(client(
        "roles",
        "roles-secret",
        &[
            "read:organization_member_roles",
            "create:organization_member_roles",
            "read:organization_member_effective_roles",
            "read:roles",
            "read:users",
            "create:organization_members",
        ],
    ));
    let emu = start(tenant, Options::default()).await;
    let http = reqwest::Client::new();
    let token = fetch_token(&http, &emu, "roles", "roles-secret").await;
    let api = Api {
        http,
        base: emu.url(),
        token,
    };
    let org = "org_aaaaaaaaaaaaaaa1";
    let (admin, viewer) = (Role::named("admin"), Role::named("viewer"));
    assert!(emu.set_roles(org, "auth0|a0000", vec![admin.clone()]));
    assert!(emu.set_group_roles(org, "auth0|a0000", vec![admin.clone(), viewer.clone()]));
    let base = "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members/auth0%7Ca0000";
    // Direct roles only; the bare array and the offset page.
    let (s, v) = api.get(&format!("{base}/roles")).await;
    assert_eq!((s, v), (200, json!([{"id": admin.id, "name": "admin"}])));
    let (s, v) = api.get(&format!("{base}/roles?include_totals=true")).await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 1);
    // Effective roles: each once, with where it comes from.
    let (s, v) = api.get(&format!("{base}/effective-roles")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["roles"][0]["sources"], json!(["direct", "groups"]));
    assert_eq!(v["roles"][1]["id"], json!(viewer.id));
    assert_eq!(v["roles"][1]["sources"], json!(["groups"]));
    assert!(v.get("next").is_none());
    let (_, page) = api.get(&format!("{base}/effective-roles?take=1")).await;
    let next = page["next"].as_str().expect("a next cursor").to_string();
    let (_, rest) = api
        .get(&format!("{base}/effective-roles?take=1&from={next}"))
        .await;
    assert_eq!(rest["roles"][0]["id"], json!(viewer.id));
    // Shapes against the OpenAPI description.
    let oas: Value = serde_json::from_str(include_str!(
        "fixtures/auth0-oas/management-api-subset.json"
    ))
    .unwrap();
    let schema = |name: &str| oas["components"]["schemas"][name].clone();
    // A key is allowed when the schema lists it as a property or a required key: the subset
    // lost the `description` property of a role with the prose, and still requires it.
    let allowed = |schema: &Value, obj: &Value| {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        for k in schema["required"].as_array().into_iter().flatten() {
            assert!(
                obj.get(k.as_str().unwrap()).is_some(),
                "`{k}` is required: {obj}"
            );
        }
        for k in obj.as_object().unwrap().keys() {
            assert!(
                schema["properties"].get(k).is_some() || required.contains(&json!(k)),
                "`{k}` is not in the schema: {obj}"
            );
        }
    };
    allowed(
        &schema("ListOrganizationMemberEffectiveRolesResponseContent"),
        &v,
    );
    let role_schema = schema("OrganizationMemberEffectiveRole");
    for r in v["roles"].as_array().unwrap() {
        allowed(&role_schema, r);
        for s in r["sources"].as_array().unwrap() {
            let kinds =
                &oas["components"]["schemas"]["OrganizationMemberEffectiveRoleSource"]["enum"];
            assert!(kinds.as_array().unwrap().contains(s), "{s} not in {kinds}");
        }
    }
    // Assign: kept once, unknown roles refused, non-members a 404.
    let (s, body, _) = api
        .send(
            reqwest::Method::POST,
            &format!("{base}/roles"),
            &format!(r#"{{"roles":["{}","{}"]}}"#, admin.id, viewer.id),
        )
        .await;
    assert_eq!(s, 204, "{body}");
    assert_eq!(
        emu.roles_of(org, "auth0|a0000").unwrap(),
        [admin.clone(), viewer.clone()]
    );
    let (s, _, _) = api
        .send(
            reqwest::Method::POST,
            &format!("{base}/roles"),
            r#"{"roles":["rol_nope"]}"#,
        )
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = api
        .send(
            reqwest::Method::POST,
            "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members/auth0%7Cloner/roles",
            &format!(r#"{{"roles":["{}"]}}"#, admin.id),
        )
        .await;
    assert_eq!(s, 404);
    // A role by id; deleted, it is gone by id and from every member.
    let (s, v) = api.get(&format!("/api/v2/roles/{}", viewer.id)).await;
    assert_eq!((s, v), (200, json!({"id": viewer.id, "name": "viewer"})));
    assert!(emu.delete_role(&viewer.id));
    let (s, _) = api.get(&format!("/api/v2/roles/{}", viewer.id)).await;
    assert_eq!(s, 404);
    assert_eq!(
        emu.roles_of(org, "auth0|a0000").unwrap(),
        vec![admin.clone()]
    );
    // A deleted user: 404, and cannot be added back.
    emu.delete_user("auth0|a0001");
    let (s, _) = api.get("/api/v2/users/auth0%7Ca0001").await;
    assert_eq!(s, 404);
    let (s, _, _) = api
        .send(
            reqwest::Method::POST,
            "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members",
            r#"{"members":["auth0|a0001"]}"#,
        )
        .await;
    assert_eq!(s, 400);
    // Scopes as usual: the test client lacks the effective-roles one.
    let plain = Api::new(&emu).await;
    let (s, v) = plain.get(&format!("{base}/effective-roles")).await;
    assert_eq!(s, 403, "{v}");
}
