//! Managing staff (admins only): the accounts page, invitations, disabling, roles, resetting a
//! lost second factor; and the invitation link where a new member chooses a password.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::accounts::{check_name_and_email, checked};
use crate::auth::csrf::SmallFormError;
use crate::auth::csrf::{CsrfForm, TokenOnly};
use crate::auth::mfa::Role;
use crate::auth::session::{self, Admin};
use crate::auth::{is_token_shaped, random_token, sha256_hex};
use crate::client_addr::ClientAddr;
use crate::db;
use crate::db::accounts::AccountRow;
use crate::db::audit::{Actor, Kind};
use crate::error::{AppError, Busy, Conflict, render};
// The `utc` filter of the templates below.
use crate::mail::messages::StaffInvitation;
use crate::routes::staff::{StaffNav, see_other};
use crate::state::AppState;
use crate::views::filters;
use crate::web::page::respond_with_form;

/// An invitation link works once, for this long (SPEC §9: 72 hours).
pub const INVITATION_LIFETIME_SECONDS: i64 = 72 * 60 * 60;

#[derive(Template)]
#[template(path = "staff/accounts.html")]
struct AccountsPage {
    staff: StaffNav,
    csrf_token: String,
    accounts: Vec<AccountRow>,
    errors: Vec<String>,
    invite_email: String,
    invite_name: String,
    invite_role: String,
    notice: Option<String>,
}

impl AccountsPage {
    fn role_label(&self, row: &AccountRow) -> &'static str {
        Role::parse(&row.role).unwrap_or(Role::Reviewer).label()
    }
}

#[derive(Deserialize)]
pub struct AccountsQuery {
    #[serde(default)]
    invited: String,
}

async fn page(state: &AppState, admin: &Admin) -> Result<AccountsPage, AppError> {
    let mut conn = state.db.read.acquire().await?;
    let accounts = db::accounts::list(&mut conn).await?;
    Ok(AccountsPage {
        staff: StaffNav::new(&admin.0, state),
        csrf_token: admin.0.csrf_token(state),
        accounts,
        errors: vec![],
        invite_email: String::new(),
        invite_name: String::new(),
        invite_role: Role::Reviewer.as_str().to_owned(),
        notice: None,
    })
}

pub async fn list(
    admin: Admin,
    state: web::Data<AppState>,
    query: web::Query<AccountsQuery>,
) -> Result<HttpResponse, AppError> {
    let mut page = page(&state, &admin).await?;
    if !query.invited.is_empty() && query.invited.len() <= 254 {
        page.notice = Some(format!("An invitation was emailed to {}.", query.invited));
    }
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    state: web::Data<AppState>,
    CsrfForm {
        sender: admin,
        form,
    }: CsrfForm<InviteForm, Admin>,
) -> Result<HttpResponse, AppError> {
    let role = Role::parse(form.role.trim());
    let checked = check_name_and_email(&form.name, &form.email);
    let mut errors = checked.as_ref().err().cloned().unwrap_or_default();
    if role.is_none() {
        errors.push("Choose a role: admin or reviewer.".to_owned());
    }
    let (name, email, role) = match (checked, role) {
        (Ok((name, email)), Some(role)) => (name, email, role),
        _ => return invite_refused(&state, &admin, &form, errors).await,
    };
    let now = db::now();
    let token = random_token(32);
    let mut tx = state.db.begin().await?;
    if db::staff::find_by_email(&mut tx, email).await?.is_some() {
        drop(tx);
        let errors = vec![format!("{email} already has a staff account.")];
        return invite_refused(&state, &admin, &form, errors).await;
    }
    db::invitations::insert(
        &mut tx,
        &sha256_hex(&token),
        email,
        name,
        role.as_str(),
        admin.0.id,
        now,
        now + INVITATION_LIFETIME_SECONDS,
    )
    .await?;
    let message = StaffInvitation {
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        invited_by: admin.0.name.clone(),
        invite_url: state
            .public_url
            .join(&format!("staff/invite/{token}"))
            .expect("a relative path")
            .to_string(),
    }
    .render()?;
    state
        .outbox
        .queue_to_staff(&mut tx, &message, email, now)
        .await?;
    let detail = format!("as {}", role.as_str());
    db::audit::record(
        &mut tx,
        &admin.0.actor(),
        Kind::Invited,
        Some(email),
        Some(&detail),
        now,
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake_worker();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("invited", email)
        .finish();
    Ok(see_other(&format!("/staff/accounts?{query}")))
}

async fn invite_refused(
    state: &AppState,
    admin: &Admin,
    form: &InviteForm,
    errors: Vec<String>,
) -> Result<HttpResponse, AppError> {
    let mut page = page(state, admin).await?;
    page.errors = errors;
    page.invite_email = form.email.clone();
    page.invite_name = form.name.clone();
    page.invite_role = form.role.clone();
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// An account change an admin makes from the accounts page.
enum Change {
    Disable,
    Enable,
    Role(Role),
    ResetMfa,
}

async fn change(
    state: &AppState,
    admin: &Admin,
    public_id: &str,
    change: Change,
) -> Result<HttpResponse, AppError> {
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let account = db::accounts::find(&mut tx, public_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let is_active_admin = account.role == Role::Admin.as_str() && account.disabled_at.is_none();
    let removes_an_admin = match change {
        Change::Disable => is_active_admin,
        Change::Role(role) => is_active_admin && role != Role::Admin,
        Change::Enable | Change::ResetMfa => false,
    };
    // Checked under the write lock, so two admins demoting each other cannot both succeed.
    if removes_an_admin && db::accounts::other_active_admins(&mut tx, account.id).await? == 0 {
        drop(tx);
        return Err(Conflict::LastAdmin(account.email).into());
    }
    let (kind, detail) = match change {
        Change::Disable => {
            db::accounts::set_disabled(&mut tx, account.id, Some(now)).await?;
            // Disabling ends the account's sessions at once.
            db::staff::delete_sessions_of(&mut tx, account.id, None).await?;
            (Kind::Disabled, None)
        }
        Change::Enable => {
            db::accounts::set_disabled(&mut tx, account.id, None).await?;
            (Kind::Enabled, None)
        }
        Change::Role(role) => {
            db::accounts::set_role(&mut tx, account.id, role.as_str()).await?;
            (
                Kind::RoleChanged,
                Some(format!("{} to {}", account.role, role.as_str())),
            )
        }
        Change::ResetMfa => {
            db::mfa::clear(&mut tx, account.id).await?;
            (Kind::MfaReset, None)
        }
    };
    db::audit::record(
        &mut tx,
        &admin.0.actor(),
        kind,
        Some(&account.email),
        detail.as_deref(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/staff/accounts"))
}

pub async fn disable(
    state: web::Data<AppState>,
    id: web::Path<String>,
    CsrfForm { sender, .. }: CsrfForm<TokenOnly, Admin>,
) -> Result<HttpResponse, AppError> {
    change(&state, &sender, &id, Change::Disable).await
}

pub async fn enable(
    state: web::Data<AppState>,
    id: web::Path<String>,
    CsrfForm { sender, .. }: CsrfForm<TokenOnly, Admin>,
) -> Result<HttpResponse, AppError> {
    change(&state, &sender, &id, Change::Enable).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn set_role(
    state: web::Data<AppState>,
    id: web::Path<String>,
    CsrfForm { sender, form }: CsrfForm<RoleForm, Admin>,
) -> Result<HttpResponse, AppError> {
    let role = Role::parse(form.role.trim())
        .ok_or_else(|| SmallFormError::Unreadable("the role must be admin or reviewer".into()))?;
    change(&state, &sender, &id, Change::Role(role)).await
}

pub async fn reset_mfa(
    state: web::Data<AppState>,
    id: web::Path<String>,
    CsrfForm { sender, .. }: CsrfForm<TokenOnly, Admin>,
) -> Result<HttpResponse, AppError> {
    change(&state, &sender, &id, Change::ResetMfa).await
}

#[derive(Template)]
#[template(path = "staff/invite.html")]
struct InvitePage<'a> {
    csrf_token: &'a str,
    token: &'a str,
    email: &'a str,
    name: &'a str,
    errors: Vec<String>,
}

/// The invitation behind a link, while it can still be used; 404 otherwise.
async fn open_invitation(
    state: &AppState,
    token: &str,
) -> Result<db::invitations::InvitationRow, AppError> {
    if !is_token_shaped(token) {
        return Err(AppError::NotFound);
    }
    let mut conn = state.db.read.acquire().await?;
    db::invitations::find(&mut conn, &sha256_hex(token))
        .await?
        .filter(|i| i.used_at.is_none() && i.expires_at > db::now())
        .ok_or(AppError::NotFound)
}

pub async fn invitation_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let invitation = open_invitation(&state, &token).await?;
    respond_with_form(&req, &state, StatusCode::OK, |csrf_token| {
        InvitePage {
            csrf_token,
            token: &token,
            email: &invitation.email,
            name: &invitation.name,
            errors: vec![],
        }
        .render()
    })
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// The new member chooses a password: the account is made, the link used up and the member
/// signed in, in one transaction.
pub async fn accept_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    CsrfForm { form, .. }: CsrfForm<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let invitation = open_invitation(&state, &token).await?;
    let password = SecretString::from(form.password.clone());
    let (name, email, hash) =
        match checked(Some(&state.hasher), &form.name, &invitation.email, password).await {
            Ok(done) => done,
            Err(crate::auth::accounts::NewStaffError::Invalid(errors)) => {
                return respond_with_form(
                    &req,
                    &state,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    |csrf_token| {
                        InvitePage {
                            csrf_token,
                            token: &token,
                            email: &invitation.email,
                            name: &form.name,
                            errors,
                        }
                        .render()
                    },
                );
            }
            Err(crate::auth::accounts::NewStaffError::Busy) => {
                return Err(Busy::SignIns.into());
            }
            Err(e) => return Err(AppError::Internal(e.into())),
        };
    let role = Role::parse(&invitation.role).unwrap_or(Role::Reviewer);
    let now = db::now();
    let mut tx = state.db.begin().await?;
    // Once, and only before it expires, even for two uses at once.
    if !db::invitations::consume(&mut tx, &sha256_hex(&token), now).await? {
        return Err(AppError::NotFound);
    }
    let Some(id) = db::staff::insert(&mut tx, email, name, &hash, role, now).await? else {
        return Err(Conflict::AlreadyStaff(email.to_owned()).into());
    };
    let cookie = session::start_in(
        &mut tx,
        state.secure_cookies,
        id,
        session::STAGE_SIGNED_IN,
        now,
    )
    .await?;
    db::accounts::set_last_login(&mut tx, id, now).await?;
    let by = Actor {
        staff_id: Some(id),
        email: email.to_owned(),
        name: name.to_owned(),
        client: ClientAddr::of(&req, &state.trusted_proxies).to_string(),
    };
    db::audit::record(
        &mut tx,
        &by,
        Kind::InvitationAccepted,
        Some(email),
        Some(&format!("as {}", role.as_str())),
        now,
    )
    .await?;
    tx.commit().await?;
    // A new member sets up a second factor first.
    let mut response = see_other("/staff/account");
    response
        .add_cookie(&cookie)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(response)
}
