//! `/dashboard/notifications`: what happened to a rights holder's works (sales, objections,
//! settlements, payouts, new unlicensed copies), newest first with keyset paging (`?before=ID`),
//! unread ones marked, and "mark all as read". The subscriber that writes them is
//! [`crate::services::notifications`].
//!
//! Who sees what: the rights holder's own account every kind; a member of its organisation the kinds
//! of the areas their role covers (analysts the copies found, finance the money), whatever the path's
//! area says, so the page is reached by every role. Every query is scoped to the viewer's holder: no
//! id of another holder's notification is ever read, so none can be probed.

use super::auth::{check_csrf, csrf_page, current_user, membership};
use super::error::ApiError;
use super::{db, see_other, State};
use crate::i18n::Lang;
use crate::services::notifications::{kinds_for, words};
use crate::store::platform::{Role, User};
use crate::store::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use seal_licensing::ids::PartyId;
use serde::Deserialize;

/// Notifications per page.
const PAGE: usize = 30;

/// A notification as the page shows it.
pub struct Item {
    /// Row id (the page's anchor).
    pub id: i64,
    /// Not read yet by anyone of the organisation.
    pub unread: bool,
    /// One line.
    pub title: String,
    /// The sentence.
    pub text: String,
    /// A path of this site.
    pub link: String,
    /// When, in Beijing time.
    pub time: String,
}

#[derive(askama::Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    /// The page language.
    l: Lang,
    user: User,
    csrf: String,
    items: Vec<Item>,
    unread: i64,
    /// The id to page on from, when there are older ones.
    older: Option<i64>,
}

/// The signed-in person, the holder whose notifications they see, and the kinds they may see.
struct Viewer {
    user: User,
    holder: PartyId,
    kinds: Vec<&'static str>,
}

async fn viewer(state: &State, req: &HttpRequest) -> Result<Viewer, ApiError> {
    let user = current_user(state, req).await?.ok_or_else(ApiError::unauthenticated)?;
    if user.role == Role::Holder {
        return Ok(Viewer { holder: user.id.clone(), kinds: kinds_for(None), user });
    }
    if user.role != Role::Admin {
        if let Some((m, org_name)) = membership(state, user.id.clone()).await? {
            let kinds = kinds_for(Some(m.role));
            let user = super::auth::acting_for(user, &m, org_name);
            return Ok(Viewer { holder: m.org, kinds, user });
        }
    }
    Err(ApiError::forbidden("this needs one of the roles holder").keyed("error-role-missing", &[("roles", "holder")]))
}

/// How many notifications of `holder` are unread, for the badge on the holder's dashboard (whose
/// viewers are the holder or an owner, who see every kind).
pub(crate) async fn unread_badge(state: &State, holder: PartyId) -> Result<i64, ApiError> {
    db(state, move |s| Ok(s.unread_count(&holder, &kinds_for(None))?)).await
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    before: Option<i64>,
}

async fn page(state: State, req: HttpRequest, q: web::Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let v = viewer(&state, &req).await.map_err(ApiError::page)?;
    let (holder, kinds, before) = (v.holder.clone(), v.kinds.clone(), q.before);
    let (mut rows, unread) =
        db(&state, move |s| Ok((s.list_for(&holder, &kinds, before, PAGE + 1)?, s.unread_count(&holder, &kinds)?)))
            .await
            .map_err(ApiError::page)?;
    let older = (rows.len() > PAGE).then(|| rows.truncate(PAGE)).and_then(|()| rows.last().map(|n| n.id));
    let l = super::lang_of(&req);
    let items = rows
        .into_iter()
        .map(|n| {
            let (title, text) = words(l, &n.kind, &n.args);
            Item { id: n.id, unread: n.read_at.is_none(), title, text, link: n.link, time: l.time(n.created_at) }
        })
        .collect();
    csrf_page(&req, &state, |csrf| NotificationsPage { l, user: v.user, csrf, items, unread, older })
}

#[derive(Debug, Deserialize)]
struct ReadForm {
    csrf: String,
}

async fn mark_all_read(state: State, req: HttpRequest, form: web::Form<ReadForm>) -> Result<HttpResponse, ApiError> {
    check_csrf(&req, Some(&form.csrf)).map_err(ApiError::page)?;
    let v = viewer(&state, &req).await.map_err(ApiError::page)?;
    let now = state.now();
    db(&state, move |s| Ok(s.mark_all_read(&v.holder, &v.kinds, now)?)).await.map_err(ApiError::page)?;
    Ok(see_other("/dashboard/notifications"))
}

/// The notification routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard/notifications", web::get().to(page))
        .route("/dashboard/notifications/read", web::post().to(mark_all_read));
}
