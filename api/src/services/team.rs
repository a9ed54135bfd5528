//! Team use cases: inviting people into an organisation by email, taking an invitation up, and the
//! weekly-summary subscription. Rules live in [`crate::domain::team`]; this is the order of steps.

use super::tokens::{random_token, token_hash};
use crate::domain::team::OrgRole;
use crate::domain::Mail;
use crate::store::prelude::*;
use crate::store::team::{Invite, Member};
use crate::store::{SqliteStore, StoreError};
use seal_licensing::ids::PartyId;
use seal_licensing::Timestamp;

/// How long an invitation stays valid.
pub const INVITE_VALID_MS: i64 = 7 * 86_400_000;

/// Why an invitation was refused.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// Bad input, said in words a form can show.
    #[error("{0}")]
    Invalid(String),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Invites `email` into `org` with `role`, mailing the link through the outbox in the same
/// transaction. Returns the invitation (its token goes only into the mail).
pub fn invite(
    store: &mut SqliteStore,
    org: &PartyId,
    by: &PartyId,
    email: &str,
    role: OrgRole,
    public_url: &str,
    now: Timestamp,
) -> Result<Invite, TeamError> {
    let email = email.trim().to_owned();
    if !email.contains('@') || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TeamError::Invalid("enter a valid email address".into()));
    }
    if let Some(user) = store.user_by_email(&email)? {
        if &user.id == org {
            return Err(TeamError::Invalid("that is the organisation's own account".into()));
        }
        if user.role == crate::store::platform::Role::Holder || user.role == crate::store::platform::Role::Admin {
            return Err(TeamError::Invalid("that account is a rights holder or an administrator of its own".into()));
        }
        if let Some(m) = store.membership(&user.id)? {
            let why = if &m.org == org { "already a member" } else { "already a member of another organisation" };
            return Err(TeamError::Invalid(why.into()));
        }
    }
    let org_name = store.user(org)?.map(|u| u.name).unwrap_or_else(|| org.to_string());
    let token = random_token(32);
    let invite = Invite {
        token_hash: token_hash(&token),
        org: org.clone(),
        email: email.clone(),
        role,
        invited_by: by.clone(),
        created_at: now,
        expires_at: now.saturating_add_ms(INVITE_VALID_MS),
        accepted_at: None,
    };
    let link = format!("{public_url}/invite/{token}");
    let mail = Mail {
        to: email,
        subject: format!("加入 {org_name} · Join {org_name} on Copyright Seal"),
        // The invitee's language is unknown until they open the link: Chinese first, then English,
        // each line in one language only.
        body: format!(
            "{org_name} 邀请您以「{zh}」身份加入其版权印团队。\n\
             {org_name} invites you to its Copyright Seal team as {en}.\n\n\
             接受邀请 Accept (valid 7 days): {link}\n\n\
             如果您不认识对方，请忽略此邮件。 If you do not know them, ignore this message.\n",
            zh = crate::i18n::Lang::Zh.t(role.key()),
            en = crate::i18n::Lang::En.t(role.key()),
        ),
        attachment: None,
    };
    store.atomically(|s| -> Result<(), StoreError> {
        s.put_invite(&invite)?;
        s.enqueue_mail(&mail, now)
    })?;
    Ok(invite)
}

/// Subscribes `user` of `org` to the weekly summary, or ends it. The organisation's own account gets an
/// owner row for it.
pub fn set_weekly_summary(
    store: &mut SqliteStore,
    org: &PartyId,
    user: &PartyId,
    on: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    let member = match store.membership(user)? {
        Some(m) if &m.org == org => Member { weekly_summary: on, ..m },
        Some(_) => return Err(StoreError::Conflict("a member of another organisation".into())),
        None if user == org => Member {
            org: org.clone(),
            user: user.clone(),
            role: OrgRole::Owner,
            weekly_summary: on,
            last_summary_at: None,
        },
        None => return Err(StoreError::Conflict("not a member".into())),
    };
    store.put_member(&member, now)
}
