//! `GET /staff/submissions`: the review queue, filtered by status and searched.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::session::StaffUser;
use crate::db;
use crate::db::submissions::{PAGE_SIZE, QueueRow};
use crate::domain::status::{ProposalState, Status};
use crate::error::{AppError, BadAddress, render};
// The `utc` filter of the templates below.
use crate::routes::staff::StaffNav;
use crate::state::AppState;
use crate::views::filters;

#[derive(Deserialize)]
pub struct QueueQuery {
    status: Option<String>,
    q: Option<String>,
    before: Option<i64>,
}

/// One filter link: its value, label, count and whether it is the current one.
pub struct Filter {
    pub value: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "staff/queue.html")]
struct QueuePage {
    staff: StaffNav,
    filters: Vec<Filter>,
    status_value: &'static str,
    q: String,
    rows: Vec<QueueRow>,
    next_before: Option<i64>,
    is_first_page: bool,
}

impl QueuePage {
    fn status_label(&self, row: &QueueRow) -> &'static str {
        row.status.label()
    }

    /// A live client's proposal waiting for review: listed under *Pending review*, and marked
    /// so it is not mistaken for a new registration.
    fn is_pending_change(&self, row: &QueueRow) -> bool {
        row.proposal_state == Some(ProposalState::Pending)
    }

    /// The query string that keeps the current filter and search.
    fn query_for_next(&self, before: &i64) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("status", self.status_value);
        if !self.q.is_empty() {
            url.append_pair("q", &self.q);
        }
        url.append_pair("before", &before.to_string());
        url.finish()
    }

    fn first_page_query(&self) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("status", self.status_value);
        if !self.q.is_empty() {
            url.append_pair("q", &self.q);
        }
        url.finish()
    }
}

pub async fn list(
    staff: StaffUser,
    state: web::Data<AppState>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (status, status_value) = match query.status.as_deref().unwrap_or("pending") {
        "all" => (None, "all"),
        other => {
            let status = Status::parse(other).ok_or_else(|| {
                AppError::from(BadAddress::UnknownStatus(other.chars().take(40).collect()))
            })?;
            (Some(status), status.as_str())
        }
    };
    let q: String = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect();
    let mut conn = state.db.read.acquire().await?;
    let mut rows = db::submissions::queue(
        &mut conn,
        status,
        (!q.is_empty()).then_some(q.as_str()),
        query.before,
    )
    .await?;
    let counts = db::submissions::counts(&mut conn).await?;
    let pending_changes = db::submissions::pending_proposals(&mut conn).await?;
    drop(conn);

    let next_before = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let count_of = |s: Status| counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
    let mut filters: Vec<Filter> = Status::ALL
        .iter()
        .map(|s| Filter {
            value: s.as_str(),
            label: s.label(),
            // Proposals wait in *Pending review* too; "All" counts each submission once.
            count: count_of(*s)
                + if *s == Status::Pending {
                    pending_changes
                } else {
                    0
                },
            current: status == Some(*s),
        })
        .collect();
    filters.push(Filter {
        value: "all",
        label: "All",
        count: counts.iter().map(|(_, n)| n).sum(),
        current: status.is_none(),
    });
    let page = QueuePage {
        staff: StaffNav::new(&staff, &state),
        filters,
        status_value,
        q,
        rows,
        next_before,
        is_first_page: query.before.is_none(),
    };
    render(StatusCode::OK, &page)
}
