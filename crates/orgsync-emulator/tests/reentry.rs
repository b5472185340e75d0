//! The ways back into an organization, over real HTTP: enabled connections, invitations (list
//! in its shapes, revoke), users by id with identities, roles on members, the admin routes that
//! act as a person does; and rate-limit headers on every answer by default.

mod support;

use orgsync_emulator::{Emulator, Options, ScriptedFault, Tenant};
use serde_json::{Value, json};
use support::*;

const TENANT: &str = r#"
clients:
  - client_id: all
    client_secret: s
    scopes: [read:organizations, read:organization_members, read:organization_member_roles, read:organization_connections, read:organization_invitations, delete:organization_invitations, read:users]
  - client_id: members-only
    client_secret: s
    scopes: [read:organizations, read:organization_members]
organizations:
  - id: org_doors00000000001
    name: acme
    enabled_connections:
      - connection: corp
        assign_membership_on_login: true
      - connection: Username-Password-Authentication
        assign_membership_on_login: true
        is_signup_enabled: true
        show_as_button: false
      - connection: google-oauth2
    invitations:
      - invitee_email: old@example.com
        id: uinv_old0000000000001
        created_at: "2026-01-01T00:00:00.000Z"
        expires_at: "2026-01-08T00:00:00.000Z"
      - invitee_email: new@example.com
        id: uinv_new0000000000001
        roles: [admin]
        created_at: "2026-11-30T12:00:00.000Z"
        expires_at: "2036-12-07T12:00:00.000Z"
        inviter: Grace
      - invitee_email: ada@example.com
        created_at: "2026-11-29T12:00:00.000Z"
        expires_at: "2036-12-06T12:00:00.000Z"
    members:
      - user_id: "samlp|corp|ada"
        email: ada@example.com
        roles: [admin, billing]
      - user_id: "auth0|bob"
        connection: legacy-db
"#;

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(emu: &Emulator, client: &str) -> Api {
        let http = reqwest::Client::new();
        let token = fetch_token(&http, emu, client, "s").await;
        Api {
            http,
            base: emu.url(),
            token,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        answer(self.call(reqwest::Method::GET, path).await).await
    }
}

async fn emulator() -> Emulator {
    start(Tenant::from_yaml(TENANT).unwrap(), Options::default()).await
}

async fn post(emu: &Emulator, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", emu.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    answer(r).await
}

#[tokio::test]
async fn enabled_connections_in_both_shapes_with_auto_membership_and_signup() {
    let emu = emulator().await;
    let api = Api::new(&emu, "all").await;
    let (status, bare) = api
        .get("/api/v2/organizations/org_doors00000000001/enabled_connections")
        .await;
    assert_eq!(status, 200);
    let list = bare.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(
        list[0]["connection"],
        json!({"name": "corp", "strategy": "samlp"})
    );
    assert_eq!(list[0]["assign_membership_on_login"], true);
    assert_eq!(list[1]["connection"]["strategy"], "auth0");
    assert_eq!(list[1]["is_signup_enabled"], true);
    assert_eq!(list[1]["show_as_button"], false);
    assert_eq!(list[2]["connection"]["strategy"], "google-oauth2");
    assert_eq!(list[2]["assign_membership_on_login"], false);
    let id = list[0]["connection_id"].as_str().unwrap();
    assert!(id.starts_with("con_") && id.len() == 20, "{id}");
    let (_, paged) = api
        .get("/api/v2/organizations/org_doors00000000001/enabled_connections?page=1&per_page=2&include_totals=true")
        .await;
    assert_eq!(paged["start"], 2);
    assert_eq!(paged["limit"], 1, "the entries on the page, as recorded");
    assert_eq!(paged["total"], 3);
    assert_eq!(paged["enabled_connections"].as_array().unwrap().len(), 1);
    // Scope and organization.
    let members_only = Api::new(&emu, "members-only").await;
    let (status, body) = members_only
        .get("/api/v2/organizations/org_doors00000000001/enabled_connections")
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["errorCode"], "insufficient_scope");
    let (status, _) = api
        .get("/api/v2/organizations/org_nosuch0000000001/enabled_connections")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invitations_list_newest_first_without_a_total_and_revoke_once() {
    let emu = emulator().await;
    let api = Api::new(&emu, "all").await;
    let path = "/api/v2/organizations/org_doors00000000001/invitations";
    let (status, bare) = api.get(path).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = bare
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], "uinv_new0000000000001", "newest first");
    assert_eq!(ids[2], "uinv_old0000000000001", "expired ones are listed");
    let derived = ids[1];
    assert!(derived.starts_with("uinv_"), "{derived}");
    let first = &bare[0];
    assert_eq!(first["invitee"]["email"], "new@example.com");
    assert_eq!(first["inviter"]["name"], "Grace");
    assert_eq!(first["created_at"], "2026-11-30T12:00:00.000Z");
    assert_eq!(first["expires_at"], "2036-12-07T12:00:00.000Z");
    assert_eq!(first["organization_id"], "org_doors00000000001");
    assert!(first["roles"][0].as_str().unwrap().starts_with("rol_"));
    assert!(bare[1].get("roles").is_none(), "no roles, no key");
    let (_, paged) = api
        .get(&format!("{path}?page=0&per_page=2&include_totals=true"))
        .await;
    assert_eq!(paged["invitations"].as_array().unwrap().len(), 2);
    assert_eq!(paged["start"], 0);
    assert_eq!(paged["limit"], 2);
    assert!(paged.get("total").is_none(), "Auth0 gives no total here");
    let (status, body) = api.get(&format!("{path}?take=10")).await;
    assert_eq!(status, 400, "{body}");

    let revoke = format!("{path}/uinv_new0000000000001");
    let r = api.call(reqwest::Method::DELETE, &revoke).await;
    assert_eq!(r.status(), 204);
    let r = api.call(reqwest::Method::DELETE, &revoke).await;
    let (status, body) = answer(r).await;
    assert_eq!(status, 404);
    assert_eq!(body["errorCode"], "inexistent_invitation");
    let (_, after) = api.get(path).await;
    assert_eq!(after.as_array().unwrap().len(), 2);
    let members_only = Api::new(&emu, "members-only").await;
    let (status, _) = members_only.get(path).await;
    assert_eq!(status, 403);
    let r = members_only
        .call(
            reqwest::Method::DELETE,
            &format!("{path}/uinv_old0000000000001"),
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn users_by_id_say_which_connection_they_log_in_through() {
    let emu = emulator().await;
    let api = Api::new(&emu, "all").await;
    let (status, ada) = api.get("/api/v2/users/samlp%7Ccorp%7Cada").await;
    assert_eq!(status, 200);
    assert_eq!(ada["identities"][0]["connection"], "corp");
    assert_eq!(ada["identities"][0]["provider"], "samlp");
    assert_eq!(ada["identities"][0]["user_id"], "ada");
    let (_, bob) = api.get("/api/v2/users/auth0%7Cbob").await;
    assert_eq!(bob["identities"][0]["connection"], "legacy-db");
    let (status, body) = api.get("/api/v2/users/auth0%7Cnobody").await;
    assert_eq!(status, 404);
    assert_eq!(body["errorCode"], "inexistent_user");
}

#[tokio::test]
async fn roles_need_their_scope_and_name_only_roles_get_stable_ids() {
    let emu = emulator().await;
    let api = Api::new(&emu, "all").await;
    let path = "/api/v2/organizations/org_doors00000000001/members?fields=user_id,roles&include_fields=true&take=50";
    let (status, page) = api.get(path).await;
    assert_eq!(status, 200);
    let roles = &page["members"][0]["roles"];
    assert_eq!(roles[0]["name"], "admin");
    assert_eq!(roles[1]["name"], "billing");
    assert_eq!(
        roles[0]["id"],
        orgsync_emulator::tenant::Role::named("admin").id
    );
    assert_eq!(page["members"][1]["roles"], json!([]));
    let (status, body) = Api::new(&emu, "members-only").await.get(path).await;
    assert_eq!(status, 403);
    assert_eq!(body["errorCode"], "insufficient_scope");
}

#[tokio::test]
async fn a_login_through_an_auto_membership_connection_makes_a_member_and_says_which_rule() {
    let emu = emulator().await;
    emu.remove_members("org_doors00000000001", &["samlp|corp|ada"]);
    let login = |user: &str, connection: &str| json!({"user_id": user, "organization": "acme", "connection": connection});
    let (status, a) = post(&emu, "/__emulator/login", login("samlp|corp|ada", "corp")).await;
    assert_eq!(status, 200);
    assert_eq!(a["added"], true);
    assert_eq!(a["rule"], "auto_membership");
    let (_, again) = post(&emu, "/__emulator/login", login("samlp|corp|ada", "corp")).await;
    assert_eq!(again["rule"], "already_member");
    let (_, social) = post(
        &emu,
        "/__emulator/login",
        login("google-oauth2|1", "google-oauth2"),
    )
    .await;
    assert_eq!(social["rule"], "no_auto_membership");
    assert_eq!(social["added"], false);
    let (_, elsewhere) = post(&emu, "/__emulator/login", login("okta|x|1", "okta-x")).await;
    assert_eq!(elsewhere["rule"], "connection_not_enabled");
    let members = &emu.state().organizations[0].members;
    assert!(members.contains(&"samlp|corp|ada".to_string()));
    assert!(!members.contains(&"google-oauth2|1".to_string()));
    let (status, _) = post(&emu, "/__emulator/login", json!({"user_id": "x"})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_accepted_invitation_makes_a_member_with_its_roles_once() {
    let emu = emulator().await;
    let (status, a) = post(
        &emu,
        "/__emulator/accept-invitation",
        json!({"invitation": "uinv_new0000000000001"}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["created_user"], true);
    let user = a["user_id"].as_str().unwrap().to_string();
    assert!(user.starts_with("auth0|"), "{user}");
    let api = Api::new(&emu, "all").await;
    let (_, page) = api
        .get("/api/v2/organizations/org_doors00000000001/members?fields=user_id,email,roles&include_fields=true&take=50")
        .await;
    let joined = page["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == user.as_str())
        .unwrap();
    assert_eq!(joined["email"], "new@example.com");
    assert_eq!(joined["roles"][0]["name"], "admin");
    let (status, _) = post(
        &emu,
        "/__emulator/accept-invitation",
        json!({"invitation": "uinv_new0000000000001"}),
    )
    .await;
    assert_eq!(status, 404, "accepted once");
    let (status, _) = post(
        &emu,
        "/__emulator/accept-invitation",
        json!({"invitation": "uinv_old0000000000001"}),
    )
    .await;
    assert_eq!(status, 410, "expired");
}

#[tokio::test]
async fn every_answer_carries_rate_limit_headers_by_default_and_the_limits_are_enforced() {
    let emu = emulator().await;
    let api = Api::new(&emu, "all").await;
    let headers = |r: &reqwest::Response| {
        [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        ]
        .map(|h| r.headers().get(h).map(|v| v.to_str().unwrap().to_string()))
    };
    for (path, status) in [
        ("/api/v2/organizations/org_doors00000000001", 200),
        ("/api/v2/organizations/org_nosuch0000000001", 404),
        ("/api/v2/users/auth0%7Cnobody", 404),
        (
            "/api/v2/organizations/org_doors00000000001/invitations",
            200,
        ),
    ] {
        let r = api.call(reqwest::Method::GET, path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        let h = headers(&r);
        assert!(h.iter().all(Option::is_some), "{path}: {h:?}");
    }
    // 401 and an injected 503 too.
    let r = reqwest::Client::new()
        .get(format!("{}/api/v2/organizations", emu.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(headers(&r).iter().all(Option::is_some));
    emu.script_fault(ScriptedFault {
        method: "GET".into(),
        path: "/api/v2/organizations".into(),
        status: 503,
        times: 1,
    });
    let r = api
        .call(reqwest::Method::GET, "/api/v2/organizations")
        .await;
    assert_eq!(r.status(), 503);
    assert_eq!(headers(&r)[0].as_deref(), Some("50"));
    // The tenant-wide bucket holds 50 at 16 a second: a burst of 80 meets 429s.
    let mut limited = 0;
    for _ in 0..80 {
        let r = api
            .call(reqwest::Method::GET, "/api/v2/users/auth0%7Cbob")
            .await;
        if r.status() == 429 {
            limited += 1;
            assert!(headers(&r).iter().all(Option::is_some));
        }
    }
    assert!(limited > 0, "no 429 in a burst of 80");
}

#[tokio::test]
async fn announced_but_not_enforced_limits_never_refuse() {
    let tenant = Tenant::from_yaml(TENANT).unwrap();
    let emu = start(
        tenant,
        Options {
            enforce_rate_limits: false,
            ..Options::default()
        },
    )
    .await;
    let api = Api::new(&emu, "all").await;
    for _ in 0..120 {
        let r = api
            .call(reqwest::Method::GET, "/api/v2/users/auth0%7Cbob")
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()
                .get("x-ratelimit-limit")
                .unwrap()
                .to_str()
                .unwrap(),
            "50"
        );
    }
}
