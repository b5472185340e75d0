//! The config file exactly as it is written: the serde types that serde-saphyr reads it into,
//! keeping the position of every value ([`Spanned`]), the parser's limits ([`options`]), and the
//! JSON Schema that schemars generates from the same types ([`schema`], [`schema_json`]), so the
//! schema and the parser cannot drift apart. Nothing here judges a value: `parse` and `checks` do.
//!
//! The type names, doc comments and `schemars` attributes are the schema's text
//! (`schemas/orgsync.schema.json`, compared by a test): a change here is a change of the schema.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Drift, Invitations, MAX_FILE_BYTES, Rejoin};

/// Reads config text into its raw form, within the parser's limits.
pub(super) fn read(text: &str) -> Result<RawFile, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, options())
}

/// Parser options: budgets large enough for 1,000,000 members in a 64 MiB file, small enough
/// that an alias bomb is refused at once.
fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // `allow_empty: yes` (or "yes") must not quietly mean true: only true/false are booleans.
    options.strict_booleans = true;
    if let Some(b) = options.budget.as_mut() {
        b.max_nodes = 5_000_000;
        b.max_events = 20_000_000;
        b.max_aliases = 1_000;
        b.max_anchors = 1_000;
        b.max_total_scalar_bytes = MAX_FILE_BYTES as usize;
        b.max_depth = 32;
    }
    options
}

/// orgsync.yaml: the desired members of Auth0 organizations.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "orgsync.yaml")]
pub(super) struct RawFile {
    /// Format version of this file. Must be 1.
    #[schemars(with = "Version")]
    pub(super) version: Option<Spanned<serde_json::Value>>,
    /// Settings that apply to every organization of the config. With a directory (`-c DIR`),
    /// they are written only in its `_defaults.yaml` (which holds nothing but `version` and
    /// `defaults`) and apply to every file of the directory; `defaults` in any other file of a
    /// directory is an error.
    #[serde(default)]
    #[schemars(with = "Option<RawDefaults>")]
    pub(super) defaults: Option<Spanned<RawDefaults>>,
    /// The organizations orgsync manages. Organizations not listed are never read or touched.
    /// Required, except in a directory's `_defaults.yaml`, where it is not allowed.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Vec<RawOrg>")]
    pub(super) organizations: Option<Spanned<Option<Vec<Spanned<RawOrg>>>>>,
}

/// Format version 1.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Version(#[schemars(range(min = 1, max = 1))] u32);

/// Settings for every organization of the config (a single file, or with a directory, every
/// file of it).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    /// Users never removed from any organization of the config (with a directory: from any
    /// organization of any of its files): user_ids, or `{email: …}` as in `members`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<MemberSchema>>")]
    pub(super) protect: Option<Vec<Spanned<RawMember>>>,
    /// Most removals per organization: a count (`5`) or a share of its current members (`25%`).
    /// An organization over it is blocked: none of its members are removed. Default `25%` when
    /// neither the organization nor `defaults` sets one; `100%` turns the guard off.
    #[serde(default)]
    #[schemars(with = "Option<MaxRemovalsSchema>")]
    pub(super) max_removals: Option<Spanned<serde_json::Value>>,
    /// What to do when a removed member could rejoin on their own (an enabled connection with
    /// auto-membership, or organization signup): `warn` (default) says so in the plan; `block`
    /// blocks the organization's removals like a guard.
    #[serde(default)]
    #[schemars(with = "Option<Rejoin>")]
    pub(super) rejoin: Option<Spanned<Rejoin>>,
    /// Pending invitations for anyone not declared: `keep` (default) reports them as drift and
    /// never touches them; `revoke` makes apply revoke them.
    #[serde(default)]
    #[schemars(with = "Option<Invitations>")]
    pub(super) invitations: Option<Spanned<Invitations>>,
    /// What counts as drift (the exit code 2 of `plan --detailed-exitcode`, `summary.drift`):
    /// `apply` (what apply would change: removals and invitations it revokes), `members` (also
    /// declared members who are not members and not invited), or `all` (default; also
    /// undeclared invitations that are kept).
    #[serde(default)]
    #[schemars(with = "Option<Drift>")]
    pub(super) drift: Option<Spanned<Drift>>,
}

/// One organization: exactly one of `name` or `id`, and its members.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["name"]}, {"required": ["id"]}]))]
pub(super) struct RawOrg {
    /// Organization name: lowercase letters, digits, `_` and `-`, 1 to 50 characters.
    #[serde(default)]
    #[schemars(with = "Option<OrgName>")]
    pub(super) name: Option<Spanned<String>>,
    /// Organization id: `org_` followed by letters and digits.
    #[serde(default)]
    #[schemars(with = "Option<OrgId>")]
    pub(super) id: Option<Spanned<String>>,
    /// The user_ids that should be members. Authoritative: current members that are neither
    /// listed nor protected are planned for removal. `[]` for none.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Vec<MemberSchema>")]
    pub(super) members: Option<Spanned<Option<Vec<Spanned<RawMember>>>>>,
    /// Required (true) to remove every member of the organization.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub(super) allow_empty: Option<Spanned<bool>>,
    /// Users never removed from this organization, in addition to `defaults.protect`:
    /// user_ids, or `{email: …}` as in `members`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<MemberSchema>>")]
    pub(super) protect: Option<Vec<Spanned<RawMember>>>,
    /// Overrides `defaults.max_removals` (default `25%`) for this organization; `100%` turns the
    /// guard off.
    #[serde(default)]
    #[schemars(with = "Option<MaxRemovalsSchema>")]
    pub(super) max_removals: Option<Spanned<serde_json::Value>>,
    /// Overrides `defaults.rejoin` (default `warn`) for this organization.
    #[serde(default)]
    #[schemars(with = "Option<Rejoin>")]
    pub(super) rejoin: Option<Spanned<Rejoin>>,
    /// Overrides `defaults.invitations` (default `keep`) for this organization.
    #[serde(default)]
    #[schemars(with = "Option<Invitations>")]
    pub(super) invitations: Option<Spanned<Invitations>>,
    /// Overrides `defaults.drift` (default `all`) for this organization.
    #[serde(default)]
    #[schemars(with = "Option<Drift>")]
    pub(super) drift: Option<Spanned<Drift>>,
}

/// A key that is present, even with a null value (`members: null`), is `Some`; only a missing
/// key is `None` (through `#[serde(default)]`), so the two get different messages.
fn present<'de, D, T>(d: D) -> Result<Option<Spanned<Option<T>>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Spanned::<Option<T>>::deserialize(d).map(Some)
}

/// A list under a key read with [`present`] (`organizations`, `members`): missing, written as
/// null (where), or a list. The first two get different messages.
pub(super) enum Listed<'a, T> {
    Missing,
    Null(&'a serde_saphyr::Location),
    List(&'a [T]),
}

pub(super) fn listed<T>(key: &Option<Spanned<Option<Vec<T>>>>) -> Listed<'_, T> {
    match key {
        None => Listed::Missing,
        Some(Spanned {
            value: None,
            referenced,
            ..
        }) => Listed::Null(referenced),
        Some(Spanned {
            value: Some(list), ..
        }) => Listed::List(list),
    }
}

/// A member entry: a user_id string, or `{email: …}`.
#[derive(Debug)]
pub(super) enum RawMember {
    UserId(String),
    Email(String),
}

impl<'de> Deserialize<'de> for RawMember {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMember;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a user_id like \"auth0|…\" or `{email: …}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawMember, E> {
                Ok(RawMember::UserId(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawMember, E> {
                Ok(RawMember::UserId(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMember, A::Error> {
                let mut email = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "email" if email.is_none() => email = Some(map.next_value::<String>()?),
                        "email" => return Err(de::Error::duplicate_field("email")),
                        other => return Err(de::Error::unknown_field(other, &["email"])),
                    }
                }
                email
                    .map(RawMember::Email)
                    .ok_or_else(|| de::Error::missing_field("email"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A member: a user_id, or a user found by email.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum MemberSchema {
    UserId(UserId),
    Email(EmailMember),
}

/// A member named by email, resolved with `GET /users-by-email` (scope `read:users`); exactly one
/// user must have it.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct EmailMember {
    #[schemars(email)]
    email: String,
}

/// An Auth0 user_id: `provider|id`, e.g. `auth0|64b0c0ffee00000000000002`.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct UserId(#[schemars(regex(pattern = r"^[^|\s]+\|\S+$"), length(max = 512))] String);

/// Lowercase letters, digits, `_` and `-`, 1 to 50 characters.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct OrgName(#[schemars(regex(pattern = r"^[a-z0-9_-]{1,50}$"))] String);

/// `org_` followed by letters and digits, at most 50 characters.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct OrgId(#[schemars(regex(pattern = r"^org_[A-Za-z0-9]{1,46}$"))] String);

/// A count (`5`) or a share of current members (`25%`).
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum MaxRemovalsSchema {
    /// At most this many removals.
    Count(#[schemars(range(min = 0))] u64),
    /// At most this share of current members, `0%` to `100%`.
    Share(#[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?%$"))] String),
}

/// The JSON Schema of orgsync.yaml, generated from the types above. Two keys that serde reads
/// as optional only to give a better message when they are missing (`organizations`,
/// `members`) are marked required (`organizations` unless the file is defaults only, as a
/// directory's `_defaults.yaml` is), and the `null` defaults serde implies are left out.
pub fn schema() -> schemars::Schema {
    let mut schema = schemars::schema_for!(RawFile);
    fn strip_null_defaults(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if map.get("default") == Some(&serde_json::Value::Null) {
                    map.remove("default");
                }
                map.values_mut().for_each(strip_null_defaults);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip_null_defaults),
            _ => {}
        }
    }
    if let Some(root) = schema.as_object_mut() {
        root.insert("required".into(), serde_json::json!(["version"]));
        // A file lists organizations, or is a directory's `_defaults.yaml`: defaults only.
        root.insert(
            "oneOf".into(),
            serde_json::json!([
                {"required": ["organizations"]},
                {"required": ["defaults"], "not": {"required": ["organizations"]}}
            ]),
        );
        if let Some(org) = root
            .get_mut("$defs")
            .and_then(|d| d.get_mut("RawOrg"))
            .and_then(|o| o.as_object_mut())
        {
            org.insert("required".into(), serde_json::json!(["members"]));
        }
        for v in root.values_mut() {
            strip_null_defaults(v);
        }
    }
    schema
}

/// [`schema`] as pretty JSON with a trailing newline, as `orgsync schema` prints it.
pub fn schema_json() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_generated_from_the_types() {
        let v: serde_json::Value = serde_json::from_str(&schema_json()).unwrap();
        assert_eq!(v["title"], "orgsync.yaml");
        assert_eq!(v["additionalProperties"], false);
        let text = schema_json();
        for needle in [
            "max_removals",
            "allow_empty",
            "rejoin",
            "invitations",
            "revoke",
            "protect",
            "^org_[A-Za-z0-9]{1,46}$",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        assert_eq!(v["required"], serde_json::json!(["version"]));
        assert_eq!(
            v["oneOf"][0]["required"],
            serde_json::json!(["organizations"])
        );
        assert!(text.contains("_defaults.yaml"));
        assert!(text.contains("Default `25%`"));
        assert_eq!(
            v["$defs"]["RawOrg"]["required"],
            serde_json::json!(["members"])
        );
        assert!(!text.contains("\"default\": null"));
    }
}
