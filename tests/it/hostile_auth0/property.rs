//! 6. A property test over random hostile scripts.

use super::audit::{OUTCOMES, ids_of};
use super::*;

/// xorshift64*: small, seeded, good enough for test scripts.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

#[derive(Debug, Clone)]
enum Max {
    None,
    Count(usize),
    Percent(usize),
}

#[derive(Debug, Clone)]
struct CaseOrg {
    id: String,
    name: String,
    members: Vec<String>,
    configured: bool,
    /// Declared user_ids, and whether each is written by email.
    declared: Vec<(String, bool)>,
    /// Members declared through a typo of their user_id (no such user): never removed, and
    /// their organization is blocked.
    typos: Vec<String>,
    protect: Vec<String>,
    max: Max,
    allow_empty: bool,
}

#[derive(Debug, Clone)]
struct Case {
    orgs: Vec<CaseOrg>,
    default_protect: Vec<String>,
}

fn pool_user(k: u64) -> String {
    format!("auth0|pu{k:02}")
}

/// A user_id one letter off `user_id`, of no user.
fn typo_of(user_id: &str) -> String {
    user_id.replacen("|pu", "|pv", 1)
}

fn pool_email(user_id: &str) -> String {
    format!("{}@example.com", user_id.trim_start_matches("auth0|"))
}

fn random_case(rng: &mut Rng, seed: u64) -> Case {
    let n_orgs = 1 + rng.below(4) as usize;
    let default_protect: Vec<String> = if rng.chance(0.5) {
        vec![pool_user(rng.below(30))]
    } else {
        vec![]
    };
    let mut orgs = Vec::new();
    for i in 0..n_orgs {
        let n = rng.below(26) as usize;
        let mut members: Vec<String> = Vec::new();
        while members.len() < n {
            let u = pool_user(rng.below(30));
            if !members.contains(&u) {
                members.push(u);
            }
        }
        let mut declared = Vec::new();
        for u in &members {
            if default_protect.contains(u) {
                continue;
            }
            if rng.chance(0.5) {
                declared.push((u.clone(), rng.chance(0.3)));
            }
        }
        // A member declared with a typo: `auth0|pu07` as `auth0|pv07`, a user that does not
        // exist. The member it meant must never be removed.
        let mut typos = Vec::new();
        if rng.chance(0.2)
            && let Some(u) = members
                .iter()
                .find(|u| !declared.iter().any(|(d, _)| d == *u) && !default_protect.contains(u))
        {
            typos.push(u.clone());
            declared.push((typo_of(u), false));
        }
        // A missing member or two.
        if rng.chance(0.3) {
            let u = pool_user(30 + rng.below(5));
            declared.push((u, false));
        }
        let mut protect = Vec::new();
        if rng.chance(0.3) {
            let u = pool_user(rng.below(30));
            if !declared.iter().any(|(d, _)| *d == u) && !default_protect.contains(&u) {
                protect.push(u);
            }
        }
        let max = match rng.below(3) {
            0 => Max::None,
            1 => Max::Count(rng.below(12) as usize),
            _ => Max::Percent(10 * (1 + rng.below(10) as usize)),
        };
        orgs.push(CaseOrg {
            id: format!("org_p{}o{i}", seed % 1_000_000),
            name: format!("p{}", (b'a' + i as u8) as char),
            members,
            configured: true,
            declared,
            typos,
            protect,
            max,
            allow_empty: rng.chance(0.5),
        });
    }
    // Sometimes an organization of the tenant is not in the config.
    if n_orgs > 1 && rng.chance(0.3) {
        orgs.last_mut().unwrap().configured = false;
    }
    Case {
        orgs,
        default_protect,
    }
}

fn case_yaml(c: &Case) -> String {
    let mut y = String::from("version: 1\n");
    if !c.default_protect.is_empty() {
        y.push_str(&format!(
            "defaults:\n  protect: [{}]\n",
            c.default_protect
                .iter()
                .map(|u| format!("\"{u}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    y.push_str("organizations:\n");
    for o in c.orgs.iter().filter(|o| o.configured) {
        y.push_str(&format!("  - name: {}\n", o.name));
        if o.declared.is_empty() {
            y.push_str("    members: []\n");
        } else {
            y.push_str("    members:\n");
            for (u, by_email) in &o.declared {
                if *by_email {
                    y.push_str(&format!("      - {{email: {}}}\n", pool_email(u)));
                } else {
                    y.push_str(&format!("      - \"{u}\"\n"));
                }
            }
        }
        if !o.protect.is_empty() {
            y.push_str(&format!("    protect: [\"{}\"]\n", o.protect[0]));
        }
        match o.max {
            Max::None => {}
            Max::Count(n) => y.push_str(&format!("    max_removals: {n}\n")),
            Max::Percent(p) => y.push_str(&format!("    max_removals: {p}%\n")),
        }
        if o.allow_empty {
            y.push_str("    allow_empty: true\n");
        }
    }
    y
}

/// The removals a correct plan may make, from the config and the initial tenant.
fn allowed_removals(c: &Case) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for o in c.orgs.iter().filter(|o| o.configured) {
        let declared: HashSet<&str> = o.declared.iter().map(|(u, _)| u.as_str()).collect();
        let remove: Vec<&String> = o
            .members
            .iter()
            .filter(|u| {
                !declared.contains(u.as_str())
                    && !o.protect.contains(u)
                    && !c.default_protect.contains(u)
            })
            .collect();
        let current = o.members.len();
        // A declared user_id of no user blocks the organization.
        let blocked = !o.typos.is_empty()
            || !remove.is_empty()
                && ((remove.len() == current && !o.allow_empty)
                    || match o.max {
                        // No max_removals: the default guard, a quarter of the members.
                        Max::None => remove.len() > current * 25 / 100,
                        Max::Count(n) => remove.len() > n,
                        Max::Percent(p) => remove.len() > current * p / 100,
                    });
        if !blocked {
            for u in remove {
                out.insert((o.id.clone(), u.clone()));
            }
        }
    }
    out
}

fn hostile_headers(rng: &mut Rng) -> Vec<(String, String)> {
    let values = [
        "NaN".to_string(),
        "inf".to_string(),
        "-inf".to_string(),
        "1e30".to_string(),
        "-5".to_string(),
        "0".to_string(),
        "4102444800".to_string(),
        (epoch_now() + 600).to_string(),
        "abc".to_string(),
        "1".to_string(),
    ];
    let mut h = Vec::new();
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "Retry-After",
    ] {
        if rng.chance(0.6) {
            h.push((name.to_string(), rng.pick(&values).clone()));
        }
    }
    h
}

fn hostile_script(seed: u64) -> Script {
    let mut rng = Rng::new(seed ^ 0x5eed);
    Box::new(move |method: &str, _path: &str| {
        let roll = rng.below(1000);
        let delay = if rng.chance(0.03) {
            Duration::from_millis(rng.below(31))
        } else {
            Duration::ZERO
        };
        let mut act = if roll < 60 {
            Act {
                status: Some(*rng.pick(&[500u16, 503, 429])),
                headers: hostile_headers(&mut rng),
                ..Act::default()
            }
        } else if roll < 85 {
            Act {
                drop: true,
                ..Act::default()
            }
        } else if roll < 185 && method == "DELETE" {
            Act {
                act_first: true,
                drop: rng.chance(0.5),
                status: Some(500),
                ..Act::default()
            }
        } else if roll < 235 {
            Act {
                headers: hostile_headers(&mut rng),
                ..Act::default()
            }
        } else if delay.is_zero() {
            return None;
        } else {
            Act::default()
        };
        act.delay = delay;
        Some(act)
    })
}

#[derive(Default)]
struct Figures {
    cases: usize,
    deletes: usize,
    longest: Duration,
}

fn check_case(seed: u64, figures: &mut Figures) {
    let mut rng = Rng::new(seed);
    let case = random_case(&mut rng, seed);
    let fake = Fake::start(
        case.orgs
            .iter()
            .map(|o| FakeOrg {
                id: o.id.clone(),
                name: o.name.clone(),
                listed: true,
                members: o
                    .members
                    .iter()
                    .map(|u| FakeUser {
                        user_id: u.clone(),
                        email: Some(pool_email(u)),
                        name: Some(format!("Pool {u}")),
                    })
                    .collect(),
            })
            .collect(),
        (0..35)
            .map(|k| {
                let u = pool_user(k);
                FakeUser {
                    email: Some(pool_email(&u)),
                    name: None,
                    user_id: u,
                }
            })
            .collect(),
    );
    fake.set_script(hostile_script(seed));
    let dir = TempDir::new("prop");
    let yaml = case_yaml(&case);
    dir.write("orgsync.yaml", &yaml);
    let audit = dir.path().join("audit.jsonl");
    let r = run_in(
        &fake.url(),
        dir.path(),
        [
            "apply",
            "--auto-approve",
            "--audit-log",
            audit.to_str().unwrap(),
            "--timeout",
            "2",
        ],
    );
    let ctx = || {
        format!(
            "seed {seed} (rerun: ORGSYNC_PROPERTY_SEED={seed} ORGSYNC_PROPERTY_CASES=1)\nconfig:\n{yaml}\ntenant: {:?}\n{}",
            case.orgs
                .iter()
                .map(|o| (&o.id, &o.name, &o.members))
                .collect::<Vec<_>>(),
            r.show()
        )
    };
    figures.cases += 1;
    figures.longest = figures.longest.max(r.took);
    assert!(!r.stderr.contains("panicked"), "a panic\n{}", ctx());
    let log_text = std::fs::read_to_string(&audit).unwrap_or_default();
    // (4) No secret anywhere.
    for s in [SECRET, TOKEN] {
        assert!(
            !r.all().contains(s) && !log_text.contains(s),
            "{s} leaked\n{}",
            ctx()
        );
    }
    // (3) is the bound of `run_with`.
    let lines: Vec<Value> = log_text
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}\n{}", ctx()))
        })
        .collect();
    // (1) Only planned removals.
    let allowed = allowed_removals(&case);
    let deletes = fake.deletes();
    for d in &deletes {
        let org = d
            .path
            .trim_start_matches("/api/v2/organizations/")
            .trim_end_matches("/members")
            .to_string();
        for u in d.user_ids.clone().unwrap_or_default() {
            assert!(
                allowed.contains(&(org.clone(), u.clone())),
                "DELETE of {u} from {org} is not in the plan derived from the config\n{}",
                ctx()
            );
        }
    }
    // (1b) No member a typo'd entry meant to keep is removed.
    for o in &case.orgs {
        for u in &o.typos {
            assert!(
                !deletes.iter().any(|d| d.path.contains(&o.id)
                    && d.user_ids.as_ref().is_some_and(|ids| ids.contains(u))),
                "{u}, declared as {}, was removed from {}\n{}",
                typo_of(u),
                o.id,
                ctx()
            );
        }
    }
    // (2) Every DELETE received has an intent and an outcome.
    for d in &deletes {
        figures.deletes += 1;
        let ids = d.user_ids.clone().unwrap_or_default();
        let org = d
            .path
            .trim_start_matches("/api/v2/organizations/")
            .trim_end_matches("/members")
            .to_string();
        let intent = lines
            .iter()
            .find(|l| {
                l["event"] == "intent"
                    && ids_of(l) == ids
                    && l["organization_id"].as_str() == Some(org.as_str())
            })
            .unwrap_or_else(|| panic!("no intent line for DELETE {ids:?}\n{}", ctx()));
        assert!(
            lines.iter().any(|l| l["event"] == "delete"
                && l["call"] == intent["call"]
                && ids_of(l) == ids
                && OUTCOMES.contains(&l["outcome"].as_str().unwrap_or(""))),
            "no outcome line for DELETE {ids:?}\n{}",
            ctx()
        );
    }
    // (5) A read that never succeeded is never reported as success.
    let mut reads: BTreeMap<String, bool> = BTreeMap::new();
    for q in fake.requests().iter().filter(|q| q.method != "DELETE") {
        let ok = reads.entry(q.path.clone()).or_insert(false);
        *ok |= (200..300).contains(&q.status);
    }
    let failed: Vec<&String> = reads
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(p, _)| p)
        .collect();
    if !failed.is_empty() {
        assert_ne!(
            r.code,
            Some(0),
            "reads failed ({failed:?}) yet the run exited 0\n{}",
            ctx()
        );
        if let Some(s) = lines.iter().rfind(|l| l["event"] == "summary") {
            assert_eq!(s["success"], false, "{}", ctx());
        }
    }
}

/// Cases run side by side: each has its own fake server and mostly waits on loopback.
const WORKERS: usize = 4;

#[test]
fn property_random_hostile_scripts_keep_every_promise() {
    let cases = crate::support::property_cases("ORGSYNC_PROPERTY_CASES", 200);
    let seed = crate::support::property_seed();
    eprintln!("property: {cases} cases from seed {seed}");
    let mut figures = Figures::default();
    for part in crate::support::each_case(seed, cases, WORKERS, check_case) {
        figures.cases += part.cases;
        figures.deletes += part.deletes;
        figures.longest = figures.longest.max(part.longest);
    }
    eprintln!(
        "property: {} cases, {} DELETEs checked, longest run {:.2} s",
        figures.cases,
        figures.deletes,
        figures.longest.as_secs_f64()
    );
}
