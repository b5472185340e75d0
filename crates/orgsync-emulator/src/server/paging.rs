//! Query strings and paging, shared by the list endpoints: parsing and range-checking the
//! parameters with Auth0's validation messages, choosing offset or checkpoint paging (with
//! the 1000-record offset cap), the offset page's two answer shapes, and the checkpoint
//! cursors (base64 of `"<joined-at>UTC,<id>"`, as live tenants send them).

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{
    STANDARD_NO_PAD_INDIFFERENT, URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT,
};
use serde::Serialize;
use serde_json::json;

use super::errors::ApiError;
use super::json_response;
use orgsync_common::timefmt;

/// Auth0 refuses offset paging past this many records.
const OFFSET_CAP: u64 = 1000;
/// Checkpoint cursors encode a join time; the emulator's clock for joins starts here
/// (2026-01-01T00:00:00Z) and advances one millisecond per join.
const JOIN_EPOCH_MICROS: u64 = 1_767_225_600_000_000;

/// Parsed and range-checked paging parameters.
#[derive(Debug, Default)]
pub(super) struct Paging {
    pub(super) page: Option<u64>,
    pub(super) per_page: Option<u64>,
    pub(super) include_totals: bool,
    pub(super) from: Option<String>,
    pub(super) take: Option<u64>,
    pub(super) fields: Option<String>,
    pub(super) include_fields: bool,
}

const PARAM_DOCS: &[(&str, &str)] = &[
    (
        "page",
        "Page index of the results to return. First page is 0.",
    ),
    ("per_page", "Number of results per page. Defaults to 50."),
    (
        "include_totals",
        "When true, return results inside an object that also contains the start and limit.  When false (default), a direct array of results is returned.",
    ),
    ("from", "Optional Id from which to start selection."),
    ("take", "Number of results per page. Defaults to 50."),
    (
        "fields",
        "Comma-separated list of fields to include or exclude (based on value provided for include_fields) in the result. Leave empty to retrieve all fields.",
    ),
    (
        "include_fields",
        "Whether specified fields are to be included (true) or excluded (false). Defaults to true.",
    ),
];

fn query_error(param: &str, what: &str) -> ApiError {
    let doc = PARAM_DOCS
        .iter()
        .find(|(p, _)| *p == param)
        .map(|(_, d)| *d)
        .unwrap_or("");
    ApiError::bad_query(format!(
        "Query validation error: '{what}' on property {param} ({doc})."
    ))
}

/// Auth0's 400 for a query parameter the endpoint does not take.
pub(super) fn unknown_param(name: &str) -> ApiError {
    ApiError::bad_query(format!(
        "Query validation error: 'Additional properties not allowed: {name}'."
    ))
}

/// Splits a raw query string into its decoded pairs, in order.
pub(super) fn parse_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    match raw {
        None | Some("") => Ok(Vec::new()),
        Some(q) => serde_urlencoded::from_str::<Vec<(String, String)>>(q).map_err(|_| {
            ApiError::bad_query("Query validation error: 'Invalid query string'.".into())
        }),
    }
}

fn int_param(name: &str, value: &str, min: u64, max: u64) -> Result<u64, ApiError> {
    let n: i64 = value
        .parse()
        .map_err(|_| query_error(name, "Expected type integer but found type string"))?;
    if n < min as i64 {
        return Err(query_error(
            name,
            &format!("Value {n} is less than minimum of {min}"),
        ));
    }
    if n > max as i64 {
        return Err(query_error(
            name,
            &format!("Value {n} exceeds maximum of {max}"),
        ));
    }
    Ok(n as u64)
}

fn bool_param(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(query_error(
            name,
            "Expected type boolean but found type string",
        )),
    }
}

/// Parses the paging parameters that list endpoints share; `allow_fields` for members.
pub(super) fn parse_paging(raw: Option<&str>, allow_fields: bool) -> Result<Paging, ApiError> {
    let mut p = Paging {
        include_fields: true,
        ..Paging::default()
    };
    for (k, v) in parse_pairs(raw)? {
        match k.as_str() {
            "page" => p.page = Some(int_param("page", &v, 0, 1000)?),
            "per_page" => p.per_page = Some(int_param("per_page", &v, 1, 100)?),
            "take" => p.take = Some(int_param("take", &v, 1, 100)?),
            "include_totals" => p.include_totals = bool_param("include_totals", &v)?,
            "from" => p.from = Some(v),
            "fields" if allow_fields => p.fields = Some(v),
            "include_fields" if allow_fields => {
                p.include_fields = bool_param("include_fields", &v)?
            }
            other => return Err(unknown_param(other)),
        }
    }
    Ok(p)
}

/// How an Auth0 list endpoint answers: offset pages (a bare array, or with `include_totals`
/// an object with `start`, `limit` and `total`), or checkpoint pages.
pub(super) enum Shape {
    /// No `from`/`take`: `limit` records from `start`; `totals` for `include_totals=true`.
    Offset {
        start: u64,
        limit: u64,
        totals: bool,
    },
    /// `from` or `take` present: checkpoint paging; `per_page` is ignored.
    Checkpoint { after: Option<u64>, take: u64 },
}

pub(super) fn shape(p: &Paging) -> Result<Shape, ApiError> {
    if p.from.is_some() || p.take.is_some() {
        let after = match &p.from {
            Some(c) if !c.is_empty() => {
                Some(decode_cursor(c).ok_or_else(|| query_error("from", "Invalid checkpoint"))?)
            }
            _ => None,
        };
        return Ok(Shape::Checkpoint {
            after,
            take: p.take.unwrap_or(50),
        });
    }
    let limit = p.per_page.unwrap_or(50);
    let page = p.page.unwrap_or(0);
    let start = page * limit;
    if start >= OFFSET_CAP {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "Requesting page {page} exceeds the allowed maximum of 1000 records. To fetch results beyond 1000, use the checkpoint pagination method."
            ),
            Some("invalid_paging"),
        ));
    }
    // A page straddling the cap is cut at record 1000 (an assumption).
    let limit_in_cap = limit.min(OFFSET_CAP - start);
    Ok(Shape::Offset {
        start,
        limit: limit_in_cap,
        totals: p.include_totals,
    })
}

/// An offset page's answer: the bare array, or with `include_totals` an object that holds
/// the records under `key` beside `start`, `limit` and `total`.
pub(super) fn offset_page<T: Serialize>(
    key: &str,
    page: &[T],
    start: u64,
    limit: u64,
    totals: bool,
    total: usize,
) -> Response {
    if !totals {
        return json_response(StatusCode::OK, &page);
    }
    json_response(
        StatusCode::OK,
        &json!({ key: page, "start": start, "limit": limit, "total": total }),
    )
}

/// Cursor for the entry joined at `seq` with `id`: base64 of `"<joined-at>UTC,<id>"`, the
/// format live tenants use today.
pub(super) fn encode_cursor(seq: u64, id: &str) -> String {
    let t = timefmt::Utc::from_unix_micros(JOIN_EPOCH_MICROS + seq * 1000);
    let text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}UTC,{id}",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.micros
    );
    URL_SAFE_NO_PAD.encode(text)
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD_INDIFFERENT
        .decode(cursor)
        .or_else(|_| STANDARD_NO_PAD_INDIFFERENT.decode(cursor))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (when, id) = text.split_once("UTC,")?;
    if id.is_empty() {
        return None;
    }
    let micros = timefmt::parse_timestamp_micros(when)?;
    let since = micros.checked_sub(JOIN_EPOCH_MICROS)?;
    Some(since / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_looks_like_auth0s() {
        let c = encode_cursor(42, "auth0|6410784d38b3e02b77fdd660");
        assert_eq!(decode_cursor(&c), Some(42));
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&c).unwrap()).unwrap();
        assert_eq!(
            text,
            "2026-01-01 00:00:00.042000UTC,auth0|6410784d38b3e02b77fdd660"
        );
        // A cursor recorded from a live tenant decodes (it predates every emulator join).
        assert_eq!(
            decode_cursor(
                "MjAyMy0wMy0xNCAxMzozNjoxMy44MjkwMDBVVEMsYXV0aDB8NjQxMDc4NGQzOGIzZTAyYjc3ZmRkNjYw"
            ),
            None
        );
        assert_eq!(decode_cursor("not base64 !"), None);
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("2026-01-01 00:00:00.001000UTC,")),
            None
        );
    }

    #[test]
    fn offset_paging_is_capped_at_1000_records() {
        let p = |q: &str| shape(&parse_paging(Some(q), true).unwrap());
        assert!(matches!(
            p("page=9&per_page=100"),
            Ok(Shape::Offset {
                start: 900,
                limit: 100,
                totals: false
            })
        ));
        let err = p("page=10&per_page=100").err().unwrap();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.error_code, Some("invalid_paging"));
        assert!(
            err.message
                .starts_with("Requesting page 10 exceeds the allowed maximum of 1000 records.")
        );
        // Straddling the cap: cut at 1000.
        assert!(matches!(
            p("page=33&per_page=30&include_totals=true"),
            Ok(Shape::Offset {
                start: 990,
                limit: 10,
                totals: true
            })
        ));
        // per_page is ignored once take/from is present.
        assert!(matches!(
            p("per_page=5&take=7"),
            Ok(Shape::Checkpoint {
                after: None,
                take: 7
            })
        ));
    }

    #[test]
    fn query_ranges_are_checked() {
        for q in [
            "take=0",
            "take=101",
            "per_page=0",
            "per_page=101",
            "page=-1",
            "page=1001",
            "take=abc",
            "include_totals=yes",
            "bogus=1",
        ] {
            let err = parse_paging(Some(q), true)
                .err()
                .unwrap_or_else(|| panic!("{q} accepted"));
            assert_eq!(err.error_code, Some("invalid_query_string"), "{q}");
        }
    }
}
