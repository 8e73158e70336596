//! `GET /staff/audit` (admins): every staff action, newest first, 50 a page (keyset), by
//! person and by kind.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::Admin;
use crate::db;
use crate::db::audit::{EntryRow, Kind};
use crate::error::{AppError, BadAddress, render};
// The `utc` filter of the templates below.
use crate::routes::staff::StaffNav;
use crate::state::AppState;
use crate::views::filters;

pub const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    person: String,
    #[serde(default)]
    kind: String,
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage {
    staff: StaffNav,
    entries: Vec<EntryRow>,
    people: Vec<String>,
    person: String,
    kind: String,
    kinds: Vec<(&'static str, &'static str)>,
    next_before: Option<i64>,
    is_first_page: bool,
}

impl AuditPage {
    fn kind_label(&self, entry: &EntryRow) -> &'static str {
        Kind::parse(&entry.kind).map_or("Other", Kind::label)
    }

    /// The next page's query, when there is one.
    fn older_query(&self) -> Option<String> {
        self.next_before.map(|before| self.query(Some(before)))
    }

    /// The filters as a query string, with `before` when given.
    fn query(&self, before: Option<i64>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if !self.person.is_empty() {
            q.append_pair("person", &self.person);
        }
        if !self.kind.is_empty() {
            q.append_pair("kind", &self.kind);
        }
        if let Some(before) = before {
            q.append_pair("before", &before.to_string());
        }
        q.finish()
    }
}

pub async fn list(
    admin: Admin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let person = query.person.trim();
    let kind = match query.kind.trim() {
        "" => None,
        raw => Some(Kind::parse(raw).ok_or_else(|| BadAddress::UnknownAuditKind(raw.to_owned()))?),
    };
    let mut conn = state.db.read.acquire().await?;
    let mut entries = db::audit::page(
        &mut conn,
        query.before,
        (!person.is_empty()).then_some(person),
        kind,
        PAGE_SIZE + 1,
    )
    .await?;
    let next_before = if entries.len() as i64 > PAGE_SIZE {
        entries.truncate(PAGE_SIZE as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    let people = db::accounts::list(&mut conn)
        .await?
        .into_iter()
        .map(|a| a.email)
        .collect();
    let page = AuditPage {
        staff: StaffNav::new(&admin.0, &state),
        entries,
        people,
        person: person.to_owned(),
        kind: kind.map(Kind::as_str).unwrap_or_default().to_owned(),
        kinds: Kind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        next_before,
        is_first_page: query.before.is_none(),
    };
    render(StatusCode::OK, &page)
}
