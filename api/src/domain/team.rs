//! Organisations and their members: who may do what on behalf of a rights holder.
//!
//! A rights holder account is an organisation; its own account is its first owner. It invites people
//! by email with a role, and a member then acts as the organisation in the areas the role covers:
//!
//! | area        | what                                              | owner | analyst | finance |
//! |-------------|---------------------------------------------------|-------|---------|---------|
//! | monitoring  | hits, search, usage reports, reading the allowlist | yes   | yes     | no      |
//! | finance     | earnings, invoices, payouts, licences sold         | yes   | no      | yes     |
//! | manage      | everything else (works, channels, offers, jobs, members, allowlist changes) | yes | no | no |
//!
//! The area of a request is decided here, from its method and path, in one table: a new endpoint is
//! `manage` (owners only) unless it is listed, so forgetting it fails closed. Personal paths (the
//! account, its password, purchases) are never acted on as the organisation.

use serde::{Deserialize, Serialize};

/// A member's role in an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    /// Everything the organisation's own account may do.
    Owner,
    /// Hits, search and reports.
    Analyst,
    /// Earnings, invoices and payouts.
    Finance,
}

impl OrgRole {
    /// Every role, in the order forms list them.
    pub const ALL: [OrgRole; 3] = [OrgRole::Owner, OrgRole::Analyst, OrgRole::Finance];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Analyst => "analyst",
            OrgRole::Finance => "finance",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(text: &str) -> Option<OrgRole> {
        OrgRole::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The catalogue key of the role's name (`org-role-owner`, …), for pages and emails in either
    /// language.
    pub fn key(self) -> &'static str {
        match self {
            OrgRole::Owner => "org-role-owner",
            OrgRole::Analyst => "org-role-analyst",
            OrgRole::Finance => "org-role-finance",
        }
    }

    /// Whether the role may act in `area`.
    pub fn allows(self, area: Area) -> bool {
        match self {
            OrgRole::Owner => true,
            OrgRole::Analyst => area == Area::Monitoring,
            OrgRole::Finance => area == Area::Finance,
        }
    }
}

/// A member acting for their organisation: who they are and in which role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acting {
    /// The member's own account.
    pub member: seal_licensing::ids::PartyId,
    /// Their role in the organisation.
    pub role: OrgRole,
}

/// What a request does on behalf of an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// Hits, search, usage reports; reading the allowlist.
    Monitoring,
    /// Earnings, invoices, payouts, licences sold.
    Finance,
    /// Everything else.
    Manage,
}

/// Whether a path is about the signed-in person's own account (profile, password, sessions, purchases,
/// invitations): there a member is always themselves, never the organisation.
pub fn is_personal(path: &str) -> bool {
    const PERSONAL: &[&str] = &["/account/", "/api/v1/me", "/api/v1/checkout", "/checkout", "/sign-out", "/invite/"];
    PERSONAL.iter().any(|p| path.starts_with(p))
}

/// The area of a request (see the module documentation). `read` is true for GET and HEAD.
pub fn area_of(read: bool, path: &str) -> Area {
    const MONITORING: &[&str] = &[
        "/dashboard/hits",
        "/dashboard/search",
        "/dashboard/reports",
        "/dashboard/usage",
        "/api/v1/hits",
        "/api/v1/search",
        "/api/v1/reports",
    ];
    // Analysts follow cases and download evidence; opening, settings and actions stay with owners.
    const MONITORING_READ: &[&str] = &[
        "/dashboard/allowlist",
        "/api/v1/allowlist",
        "/dashboard/cases",
        "/api/v1/cases",
        "/dashboard/captures",
        "/api/v1/captures",
    ];
    const FINANCE: &[&str] =
        &["/dashboard/earnings", "/dashboard/invoices", "/dashboard/invoices/", "/api/v1/ledger/statement"];
    const FINANCE_READ: &[&str] = &["/api/v1/licences", "/dashboard/licences"];
    let under = |prefixes: &[&str]| {
        prefixes.iter().any(|p| {
            path.strip_prefix(p)
                .is_some_and(|rest| p.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '.', '?']))
        })
    };
    // A work's usage page (`/dashboard/works/{id}/usage`) is monitoring too.
    let work_usage = path.starts_with("/dashboard/works/") && path.ends_with("/usage");
    if under(MONITORING) || work_usage || (read && under(MONITORING_READ)) {
        Area::Monitoring
    } else if under(FINANCE) || (read && under(FINANCE_READ)) {
        Area::Finance
    } else {
        Area::Manage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_fail_closed() {
        assert_eq!(area_of(true, "/api/v1/hits/42"), Area::Monitoring);
        assert_eq!(area_of(true, "/dashboard/reports"), Area::Monitoring);
        assert_eq!(area_of(true, "/dashboard/works/w1/usage"), Area::Monitoring);
        assert_eq!(area_of(true, "/api/v1/allowlist"), Area::Monitoring);
        assert_eq!(area_of(false, "/api/v1/allowlist"), Area::Manage);
        assert_eq!(area_of(true, "/dashboard/invoices/lic-1.pdf"), Area::Finance);
        assert_eq!(area_of(true, "/api/v1/licences/lic-1"), Area::Finance);
        assert_eq!(area_of(false, "/api/v1/licences"), Area::Manage);
        assert_eq!(area_of(true, "/api/v1/hitsx"), Area::Manage, "a prefix is a whole segment");
        assert_eq!(area_of(true, "/dashboard/works"), Area::Manage);
        assert_eq!(area_of(true, "/dashboard/team"), Area::Manage);
        assert!(
            is_personal("/account/password") && is_personal("/api/v1/me") && is_personal("/api/v1/checkout-sessions")
        );
        assert!(!is_personal("/api/v1/works"));
        assert!(OrgRole::Analyst.allows(Area::Monitoring) && !OrgRole::Analyst.allows(Area::Finance));
        assert!(OrgRole::Finance.allows(Area::Finance) && !OrgRole::Finance.allows(Area::Manage));
        assert!(OrgRole::ALL.iter().all(|r| OrgRole::parse(r.as_str()) == Some(*r)));
    }
}
