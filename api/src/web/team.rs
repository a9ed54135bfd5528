//! The organisation's team: members and invitations (`/dashboard/team`, owners only) and taking an
//! invitation up (`/invite/{token}`), either signed in with the invited address or by creating an
//! account for it. What each role may do is [`crate::domain::team`].

use super::auth::{csrf_page, current_user, form_user, require};
use super::error::ApiError;
use super::{db, render, see_other, State};
use crate::domain::team::OrgRole;
use crate::services::team::{invite, TeamError};
use crate::services::tokens::token_hash;
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use crate::store::team::Invite;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::PartyId;
use serde::Deserialize;

impl From<TeamError> for ApiError {
    fn from(e: TeamError) -> Self {
        match e {
            TeamError::Invalid(why) => {
                // The service says why in English; the known reasons get their catalogue words here, so
                // the team page speaks the visitor's language (anything new shows the generic words).
                let key = match why.as_str() {
                    "enter a valid email address" => Some("acct-error-email"),
                    "that is the organisation's own account" => Some("team-error-own-account"),
                    "that account is a rights holder or an administrator of its own" => {
                        Some("team-error-holder-account")
                    }
                    "already a member" => Some("team-error-already-member"),
                    "already a member of another organisation" => Some("team-error-other-org"),
                    _ => None,
                };
                let e = ApiError::invalid(why);
                match key {
                    Some(key) => e.keyed(key, &[]),
                    None => e,
                }
            }
            TeamError::Store(s) => s.into(),
        }
    }
}

/// A member as the page lists them.
pub struct MemberView {
    /// Account id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// The catalogue key of the role's name.
    pub role_key: &'static str,
    /// Role name (`owner`, `analyst`, `finance`).
    pub role_code: &'static str,
    /// Whether they get the weekly summary.
    pub weekly: bool,
    /// Whether the row is the organisation's own account (not removable).
    pub own: bool,
}

/// An organisation's members, its own account first.
pub fn members_view(s: &crate::store::SqliteStore, org: &PartyId) -> Result<Vec<MemberView>, ApiError> {
    let mut out = Vec::new();
    let members = s.members_of(org)?;
    if let Some(own) = s.user(org)? {
        let weekly = members.iter().any(|m| &m.user == org && m.weekly_summary);
        out.push(MemberView {
            id: own.id.to_string(),
            name: own.name,
            email: own.email,
            role_key: OrgRole::Owner.key(),
            role_code: OrgRole::Owner.as_str(),
            weekly,
            own: true,
        });
    }
    for m in members.into_iter().filter(|m| &m.user != org) {
        if let Some(u) = s.user(&m.user)? {
            out.push(MemberView {
                id: u.id.to_string(),
                name: u.name,
                email: u.email,
                role_key: m.role.key(),
                role_code: m.role.as_str(),
                weekly: m.weekly_summary,
                own: false,
            });
        }
    }
    Ok(out)
}

#[derive(askama::Template)]
#[template(path = "team.html")]
struct TeamPage {
    /// The page language.
    l: crate::i18n::Lang,
    user: User,
    csrf: String,
    members: Vec<MemberView>,
    /// Open invitations: address, role key, expiry, token hash.
    invites: Vec<(String, &'static str, seal_licensing::Timestamp, String)>,
    /// Every role: its code and the key of its name.
    roles: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    error: Option<String>,
    email: String,
}

#[derive(Debug, Deserialize)]
struct TeamQuery {
    invited: Option<u8>,
    removed: Option<u8>,
}

async fn team_view(
    state: &State,
    lang: crate::i18n::Lang,
    user: User,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    email: String,
) -> Result<HttpResponse, ApiError> {
    let org = user.id.clone();
    let now = state.now();
    let (members, invites) = db(state, move |s| {
        let invites = s
            .open_invites(&org, now)?
            .into_iter()
            .map(|i: Invite| (i.email, i.role.key(), i.expires_at, i.token_hash))
            .collect::<Vec<_>>();
        Ok((members_view(s, &org)?, invites))
    })
    .await
    .map_err(ApiError::page)?;
    let failed = error.is_some();
    let mut resp = render(&TeamPage {
        l: lang,
        user,
        csrf,
        members,
        invites,
        roles: OrgRole::ALL.iter().map(|r| (r.as_str(), r.key())).collect(),
        notice,
        error,
        email,
    })?;
    if failed {
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

async fn team_page(state: State, req: HttpRequest, q: web::Query<TeamQuery>) -> Result<HttpResponse, ApiError> {
    let user = require(&state, &req, &[Role::Holder]).await.map_err(ApiError::page)?;
    let (csrf, _) = super::auth::csrf_token(&req, state.config.secure_cookies);
    let lang = super::lang_of(&req);
    let notice = match (q.invited, q.removed) {
        (Some(_), _) => Some(lang.t("team-notice-invited")),
        (_, Some(_)) => Some(lang.t("team-notice-removed")),
        _ => None,
    };
    team_view(&state, lang, user, csrf, notice, None, String::new()).await
}

#[derive(Debug, Deserialize)]
struct InviteForm {
    csrf: String,
    email: String,
    role: String,
}

/// Whether `org` may send another invitation now: 20 an hour, so the form cannot be used to mail
/// strangers in bulk from the platform's address.
pub(crate) fn invites_allowed(state: &State, org: &PartyId) -> Result<(), ApiError> {
    if state.limiter.allow(&format!("invite:{org}"), state.now().unix_ms(), 20, 3_600_000) {
        Ok(())
    } else {
        Err(super::auth::throttled())
    }
}

async fn invite_member(state: State, req: HttpRequest, form: web::Form<InviteForm>) -> Result<HttpResponse, ApiError> {
    let org = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let me = org.person().clone();
    let f = form.into_inner();
    invites_allowed(&state, &org.id).map_err(ApiError::page)?;
    let result = match OrgRole::parse(&f.role) {
        None => Err(ApiError::invalid("choose a role").keyed("team-error-role", &[])),
        Some(role) => {
            let (o, email, url, now) = (org.id.clone(), f.email.clone(), state.config.public_url.clone(), state.now());
            db(&state, move |s| Ok(invite(s, &o, &me, &email, role, &url, now)?)).await
        }
    };
    match result {
        Ok(_) => Ok(see_other("/dashboard/team?invited=1")),
        Err(e) if e.status.is_client_error() => {
            let (csrf, _) = super::auth::csrf_token(&req, state.config.secure_cookies);
            let lang = super::lang_of(&req);
            team_view(&state, lang, org, csrf, None, Some(super::auth::form_error(&e, lang)), f.email).await
        }
        Err(e) => Err(e.page()),
    }
}

async fn remove_member(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let org = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let target = PartyId::new(path.into_inner()).map_err(|_| ApiError::not_found("member").page())?;
    let removed = db(&state, move |s| Ok(s.remove_member(&org.id, &target)?)).await.map_err(ApiError::page)?;
    if !removed {
        return Err(ApiError::not_found("member").page());
    }
    Ok(see_other("/dashboard/team?removed=1"))
}

#[derive(askama::Template)]
#[template(path = "invite.html")]
struct InvitePage {
    /// The page language.
    l: crate::i18n::Lang,
    csrf: String,
    org_name: String,
    /// The catalogue key of the offered role's name.
    role: &'static str,
    email: String,
    signed_in_as: Option<String>,
    has_account: bool,
    error: Option<String>,
}

/// The invitation behind a token, if it can still be taken up, with its organisation's name.
async fn open_invite(state: &State, token: &str) -> Result<(Invite, String, bool), ApiError> {
    let hash = token_hash(token);
    let now = state.now();
    db(state, move |s| {
        let invite = s.invite(&hash)?.filter(|i| i.accepted_at.is_none() && i.expires_at > now);
        let invite = invite.ok_or_else(|| ApiError::not_found("invitation (it may have been used or expired)"))?;
        let name = s.user(&invite.org)?.map(|u| u.name).unwrap_or_default();
        let has_account = s.user_by_email(&invite.email)?.is_some();
        Ok((invite, name, has_account))
    })
    .await
}

async fn invite_page(state: State, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (invite, org_name, has_account) = open_invite(&state, &path).await.map_err(ApiError::page)?;
    let signed_in_as = current_user(&state, &req).await?.map(|u| u.email);
    csrf_page(&req, &state, |csrf| InvitePage {
        l: super::lang_of(&req),
        csrf,
        org_name,
        role: invite.role.key(),
        email: invite.email,
        signed_in_as,
        has_account,
        error: None,
    })
}

#[derive(Debug, Deserialize)]
struct AcceptForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// Takes an invitation up: the signed-in account when its address is the invited one, else a new
/// account for the invited address (its owner proved it by following the mailed link).
async fn accept(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, ApiError> {
    super::auth::check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let token = path.into_inner();
    let (invite, org_name, has_account) = open_invite(&state, &token).await.map_err(ApiError::page)?;
    let hash = token_hash(&token);
    let now = state.now();
    let signed_in = current_user(&state, &req).await?;
    let was_signed_in = signed_in.is_some();
    let lang = super::lang_of(&req);
    let again = |error: String, signed_in_as: Option<String>| {
        let mut resp = csrf_page(&req, &state, |csrf| InvitePage {
            l: super::lang_of(&req),
            csrf,
            org_name: org_name.clone(),
            role: invite.role.key(),
            email: invite.email.clone(),
            signed_in_as,
            has_account,
            error: Some(error),
        })?;
        *resp.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
        Ok::<_, ApiError>(resp)
    };
    let user = match signed_in {
        Some(u) if matches!(u.role, Role::Holder | Role::Admin) => {
            return again(lang.t("team-error-org-account"), Some(u.email));
        }
        Some(u) if u.email.eq_ignore_ascii_case(&invite.email) => u,
        Some(u) => {
            return again(lang.t("team-error-wrong-address"), Some(u.email));
        }
        None if has_account => {
            return again(lang.t("team-error-has-account"), None);
        }
        None => {
            super::auth::hash_allowed(&state, &req).map_err(ApiError::page)?;
            let f = form.into_inner();
            match super::auth::create_account(&state, invite.email.clone(), f.name, Some(f.password), Role::Licensee)
                .await
            {
                Ok(u) => u,
                Err(e) if e.status.is_client_error() => return again(super::auth::form_error(&e, lang), None),
                Err(e) => return Err(e.page()),
            }
        }
    };
    let id = user.id.clone();
    match db(&state, move |s| Ok(s.accept_invite(&hash, &id, now)?)).await {
        Ok(_) => {}
        Err(e) if e.status.is_client_error() => {
            return again(super::auth::form_error(&e, lang), Some(user.email.clone()))
        }
        Err(e) => return Err(e.page()),
    }
    if was_signed_in {
        Ok(see_other("/dashboard"))
    } else {
        super::auth::start_session(&state, &user).await
    }
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    csrf: String,
    role: String,
}

/// Changes a member's role (owners only; the organisation's own account keeps owner).
async fn change_role(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, ApiError> {
    let org = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let role = OrgRole::parse(&form.role)
        .ok_or_else(|| ApiError::invalid("choose a role").keyed("team-error-role", &[]).page())?;
    let target = PartyId::new(path.into_inner()).map_err(|_| ApiError::not_found("member").page())?;
    let now = state.now();
    db(&state, move |s| {
        let member = s.membership(&target)?.filter(|m| m.org == org.id && m.user != org.id);
        let member = member.ok_or_else(|| ApiError::not_found("member"))?;
        Ok(s.put_member(&crate::store::team::Member { role, ..member }, now)?)
    })
    .await
    .map_err(ApiError::page)?;
    Ok(see_other("/dashboard/team"))
}

/// Withdraws an invitation not yet taken up (owners only).
async fn revoke(
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<super::auth::CsrfForm>,
) -> Result<HttpResponse, ApiError> {
    let org = form_user(&state, &req, &form.csrf, &[Role::Holder]).await?;
    let hash = path.into_inner();
    let revoked = db(&state, move |s| Ok(s.revoke_invite(&org.id, &hash)?)).await.map_err(ApiError::page)?;
    if !revoked {
        return Err(ApiError::not_found("invitation").page());
    }
    Ok(see_other("/dashboard/team"))
}

/// The routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard/team", web::get().to(team_page))
        .route("/dashboard/team/invite", web::post().to(invite_member))
        .route("/dashboard/team/{user}/remove", web::post().to(remove_member))
        .route("/dashboard/team/{user}/role", web::post().to(change_role))
        .route("/dashboard/team/invites/{hash}/revoke", web::post().to(revoke))
        .route("/invite/{token}", web::get().to(invite_page))
        .route("/invite/{token}", web::post().to(accept));
}
