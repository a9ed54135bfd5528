//! Rights-protection cases: an unlicensed use of a work on one site, from the hit that found it to a
//! licence paid or an offline proceeding.
//!
//! A case is one work on one site (a host): every black hit of that work there joins it, and settling
//! buys one retroactive licence scoped to that site, which turns all of them white. The life of a case
//! is a small state machine, kept here, pure, so the web, the scheduler and the simulation all move a
//! case by the same rules and a case can settle only once:
//!
//! ```text
//!  open ──► review ──approve──► invited ──pay──► settled
//!            │  ▲  ╲              │ │ └─claim licence / dispute─► review
//!            │  │   ╲ask more     │ └─deadline passes─► expired ──escalate──► offline ──close──► closed
//!            │  └─answer─ needs_info                                  (mediation, arbitration, litigation)
//!            └─reject──► rejected          any open state ──withdraw──► withdrawn
//! ```
//!
//! The retroactive fee is the work's published offer price times a multiplier the rights holder set
//! beforehand and the invitation discloses ([`settlement_fee`]).

use crate::ids::LicenceId;
use crate::money::{Amount, Money, MoneyError};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Waiting for a platform reviewer.
    Review,
    /// The reviewer asked the rights holder for more.
    NeedsInfo,
    /// The reviewer refused it (the reason is on the timeline).
    Rejected,
    /// Approved: the infringer was invited to settle by the deadline.
    Invited,
    /// The infringer paid for a licence.
    Settled,
    /// The deadline passed without settlement.
    Expired,
    /// Taken offline: mediation, arbitration or litigation.
    Offline,
    /// The offline proceeding ended (the outcome is on the timeline).
    Closed,
    /// The rights holder withdrew it.
    Withdrawn,
}

impl CaseState {
    /// Every state, in the order of a case's life.
    pub const ALL: [CaseState; 9] = [
        CaseState::Review,
        CaseState::NeedsInfo,
        CaseState::Rejected,
        CaseState::Invited,
        CaseState::Settled,
        CaseState::Expired,
        CaseState::Offline,
        CaseState::Closed,
        CaseState::Withdrawn,
    ];

    /// The stable code stored and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Review => "review",
            CaseState::NeedsInfo => "needs_info",
            CaseState::Rejected => "rejected",
            CaseState::Invited => "invited",
            CaseState::Settled => "settled",
            CaseState::Expired => "expired",
            CaseState::Offline => "offline",
            CaseState::Closed => "closed",
            CaseState::Withdrawn => "withdrawn",
        }
    }

    /// The state named by a stored code.
    pub fn parse(code: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|s| s.as_str() == code)
    }

    /// Whether the case is still running: new hits of its work on its site join it rather than open
    /// another.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            CaseState::Review | CaseState::NeedsInfo | CaseState::Invited | CaseState::Expired | CaseState::Offline
        )
    }

    /// The bilingual label for pages.
    pub fn label(self) -> &'static str {
        match self {
            CaseState::Review => "待审核 In review",
            CaseState::NeedsInfo => "待补充 More information needed",
            CaseState::Rejected => "已驳回 Rejected",
            CaseState::Invited => "已邀请和解 Invited to settle",
            CaseState::Settled => "已和解 Settled",
            CaseState::Expired => "已逾期 Expired",
            CaseState::Offline => "线下维权 Offline",
            CaseState::Closed => "已结案 Closed",
            CaseState::Withdrawn => "已撤回 Withdrawn",
        }
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The offline route a reviewer chooses for an expired case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Track {
    /// A mediator.
    Mediation,
    /// An arbitration commission.
    Arbitration,
    /// A court.
    Litigation,
}

impl Track {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Track::Mediation => "mediation",
            Track::Arbitration => "arbitration",
            Track::Litigation => "litigation",
        }
    }

    /// The track named by a code.
    pub fn parse(code: &str) -> Option<Track> {
        [Track::Mediation, Track::Arbitration, Track::Litigation].into_iter().find(|t| t.as_str() == code)
    }

    /// The bilingual label.
    pub fn label(self) -> &'static str {
        match self {
            Track::Mediation => "调解 Mediation",
            Track::Arbitration => "仲裁 Arbitration",
            Track::Litigation => "诉讼 Litigation",
        }
    }
}

/// Something that happens to a case. Each is one entry on its timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CaseAction {
    /// A reviewer approves; the infringer is invited to settle by `deadline`.
    Approve {
        /// The last moment to settle.
        deadline: Timestamp,
    },
    /// A reviewer refuses the case.
    Reject {
        /// Why, for the rights holder.
        reason: String,
    },
    /// A reviewer asks the rights holder for more.
    AskMore {
        /// The question.
        question: String,
    },
    /// The rights holder answers a question.
    Answer {
        /// The answer.
        text: String,
    },
    /// The infringer paid: a licence was granted.
    Pay {
        /// The licence.
        licence: LicenceId,
    },
    /// The infringer says they hold a licence already.
    ClaimLicence {
        /// Their reference.
        reference: String,
    },
    /// The infringer disputes the claim.
    Dispute {
        /// Their statement.
        statement: String,
    },
    /// The deadline passed.
    Expire,
    /// A reviewer takes an expired case offline.
    Escalate {
        /// The route.
        track: Track,
    },
    /// A step of the offline proceeding (a filing, a hearing, a document).
    RecordStep {
        /// What happened.
        note: String,
    },
    /// The offline proceeding ended.
    Close {
        /// Its outcome.
        outcome: String,
    },
    /// The rights holder withdraws the case.
    Withdraw,
}

impl CaseAction {
    /// The stable code of the action.
    pub fn code(&self) -> &'static str {
        match self {
            CaseAction::Approve { .. } => "approve",
            CaseAction::Reject { .. } => "reject",
            CaseAction::AskMore { .. } => "ask_more",
            CaseAction::Answer { .. } => "answer",
            CaseAction::Pay { .. } => "pay",
            CaseAction::ClaimLicence { .. } => "claim_licence",
            CaseAction::Dispute { .. } => "dispute",
            CaseAction::Expire => "expire",
            CaseAction::Escalate { .. } => "escalate",
            CaseAction::RecordStep { .. } => "record_step",
            CaseAction::Close { .. } => "close",
            CaseAction::Withdraw => "withdraw",
        }
    }
}

/// Why an action does not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// The action is not allowed in the case's state.
    #[error("a case that is {state} cannot {action}")]
    NotNow {
        /// The state.
        state: CaseState,
        /// The action's code.
        action: &'static str,
    },
    /// A text field is empty or too long.
    #[error("{0} must be 1 to 2000 characters")]
    Text(&'static str),
    /// The deadline is not in the future.
    #[error("the deadline must be in the future")]
    Deadline,
}

/// The part of a case the rules look at and change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStatus {
    /// Where it stands.
    pub state: CaseState,
    /// The settlement deadline, once invited.
    pub deadline: Option<Timestamp>,
    /// The offline route, once escalated.
    pub track: Option<Track>,
    /// The licence that settled it.
    pub licence: Option<LicenceId>,
}

impl CaseStatus {
    /// A case just opened: waiting for review.
    pub fn opened() -> CaseStatus {
        CaseStatus { state: CaseState::Review, deadline: None, track: None, licence: None }
    }
}

fn text(field: &'static str, value: &str) -> Result<(), CaseError> {
    let n = value.trim().chars().count();
    if n == 0 || n > 2000 {
        return Err(CaseError::Text(field));
    }
    Ok(())
}

/// The case after `action` at `now`, or why the action does not apply. Pure: the caller stores the new
/// status and the timeline entry together.
pub fn apply(status: &CaseStatus, action: &CaseAction, now: Timestamp) -> Result<CaseStatus, CaseError> {
    use CaseAction as A;
    use CaseState as S;
    let not_now = || CaseError::NotNow { state: status.state, action: action.code() };
    let mut next = status.clone();
    match (status.state, action) {
        (S::Review, A::Approve { deadline }) => {
            if *deadline <= now {
                return Err(CaseError::Deadline);
            }
            next.state = S::Invited;
            next.deadline = Some(*deadline);
        }
        (S::Review, A::Reject { reason }) => {
            text("reason", reason)?;
            next.state = S::Rejected;
        }
        (S::Review, A::AskMore { question }) => {
            text("question", question)?;
            next.state = S::NeedsInfo;
        }
        (S::NeedsInfo, A::Answer { text: answer }) => {
            text("answer", answer)?;
            next.state = S::Review;
        }
        // Paying after the deadline still settles an expired case: the point is a licence, not a suit.
        (S::Invited | S::Expired, A::Pay { licence }) => {
            next.state = S::Settled;
            next.licence = Some(licence.clone());
        }
        (S::Invited, A::ClaimLicence { reference }) => {
            text("reference", reference)?;
            next.state = S::Review;
            next.deadline = None;
        }
        (S::Invited, A::Dispute { statement }) => {
            text("statement", statement)?;
            next.state = S::Review;
            next.deadline = None;
        }
        (S::Invited, A::Expire) => {
            if status.deadline.is_some_and(|d| d > now) {
                return Err(not_now());
            }
            next.state = S::Expired;
        }
        (S::Expired, A::Escalate { track }) => {
            next.state = S::Offline;
            next.track = Some(*track);
        }
        (S::Offline, A::RecordStep { note }) => text("note", note)?,
        (S::Offline, A::Close { outcome }) => {
            text("outcome", outcome)?;
            next.state = S::Closed;
        }
        (S::Review | S::NeedsInfo | S::Invited, A::Withdraw) => next.state = S::Withdrawn,
        _ => return Err(not_now()),
    }
    Ok(next)
}

/// The retroactive licence fee: the offer's price times `multiplier_bps / 10_000`, rounded down to the
/// minor unit. A multiplier below 1× is refused: settling must not be cheaper than licensing first.
pub fn settlement_fee(price: Money, multiplier_bps: u32) -> Result<Money, MoneyError> {
    if !(crate::money::BPS_WHOLE..=MAX_MULTIPLIER_BPS).contains(&multiplier_bps) {
        return Err(MoneyError::BadBasisPoints(multiplier_bps));
    }
    let scaled = i128::from(price.amount.minor()) * i128::from(multiplier_bps) / i128::from(crate::money::BPS_WHOLE);
    let minor = i64::try_from(scaled).map_err(|_| MoneyError::Overflow)?;
    Ok(Money { amount: Amount::new(minor)?, currency: price.currency })
}

/// The highest multiplier a rights holder may set: 10×.
pub const MAX_MULTIPLIER_BPS: u32 = 100_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_unix_ms(ms)
    }

    fn licence() -> LicenceId {
        LicenceId::new("lic-1").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_happy_path_and_the_offline_path() {
        let open = CaseStatus::opened();
        let invited = apply(&open, &CaseAction::Approve { deadline: t(100) }, t(10)).expect("approve");
        assert_eq!(invited.state, CaseState::Invited);
        let settled = apply(&invited, &CaseAction::Pay { licence: licence() }, t(20)).expect("pay");
        assert_eq!((settled.state, settled.licence.clone()), (CaseState::Settled, Some(licence())));
        assert!(apply(&settled, &CaseAction::Pay { licence: licence() }, t(21)).is_err(), "settles once");

        assert!(apply(&invited, &CaseAction::Expire, t(99)).is_err(), "not before the deadline");
        let expired = apply(&invited, &CaseAction::Expire, t(100)).expect("expire");
        let offline = apply(&expired, &CaseAction::Escalate { track: Track::Arbitration }, t(101)).expect("escalate");
        assert_eq!(offline.track, Some(Track::Arbitration));
        let step = apply(&offline, &CaseAction::RecordStep { note: "filed".into() }, t(102)).expect("step");
        assert_eq!(step, offline);
        let closed = apply(&offline, &CaseAction::Close { outcome: "award".into() }, t(103)).expect("close");
        assert_eq!(closed.state, CaseState::Closed);
    }

    #[test]
    fn responses_send_the_case_back_to_review() {
        let invited = apply(&CaseStatus::opened(), &CaseAction::Approve { deadline: t(100) }, t(1)).expect("approve");
        for action in
            [CaseAction::ClaimLicence { reference: "LIC-9".into() }, CaseAction::Dispute { statement: "mine".into() }]
        {
            let back = apply(&invited, &action, t(2)).expect("respond");
            assert_eq!((back.state, back.deadline), (CaseState::Review, None));
        }
        assert_eq!(
            apply(&invited, &CaseAction::Dispute { statement: "  ".into() }, t(2)),
            Err(CaseError::Text("statement"))
        );
        assert_eq!(
            apply(&CaseStatus::opened(), &CaseAction::Approve { deadline: t(5) }, t(5)),
            Err(CaseError::Deadline)
        );
    }

    #[test]
    fn the_fee_is_the_price_times_the_multiplier() {
        let price =
            Money { amount: Amount::new(10_000).expect("amount"), currency: Currency::parse("CNY").expect("cur") };
        assert_eq!(settlement_fee(price, 30_000).map(|m| m.amount.minor()), Ok(30_000));
        assert_eq!(settlement_fee(price, 15_050).map(|m| m.amount.minor()), Ok(15_050));
        assert!(settlement_fee(price, 9_999).is_err(), "below 1x");
        assert!(settlement_fee(price, MAX_MULTIPLIER_BPS + 1).is_err());
    }

    fn any_action() -> impl Strategy<Value = CaseAction> {
        prop_oneof![
            (0_i64..200).prop_map(|d| CaseAction::Approve { deadline: t(d) }),
            Just(CaseAction::Reject { reason: "no".into() }),
            Just(CaseAction::AskMore { question: "which?".into() }),
            Just(CaseAction::Answer { text: "this".into() }),
            Just(CaseAction::Pay { licence: licence() }),
            Just(CaseAction::ClaimLicence { reference: "r".into() }),
            Just(CaseAction::Dispute { statement: "s".into() }),
            Just(CaseAction::Expire),
            Just(CaseAction::Escalate { track: Track::Litigation }),
            Just(CaseAction::RecordStep { note: "n".into() }),
            Just(CaseAction::Close { outcome: "o".into() }),
            Just(CaseAction::Withdraw),
        ]
    }

    proptest! {
        /// Whatever happens, a case settles at most once, ends states stay ended, and a refused action
        /// changes nothing.
        #[test]
        fn a_case_settles_at_most_once(actions in proptest::collection::vec((any_action(), 0_i64..200), 0..40)) {
            let mut status = CaseStatus::opened();
            let mut settled = 0;
            for (action, now) in actions {
                let before = status.clone();
                match apply(&status, &action, t(now)) {
                    Ok(next) => {
                        if next.state == CaseState::Settled && before.state != CaseState::Settled {
                            settled += 1;
                        }
                        prop_assert!(!matches!(before.state, CaseState::Settled | CaseState::Rejected | CaseState::Closed | CaseState::Withdrawn));
                        status = next;
                    }
                    Err(_) => prop_assert_eq!(&status, &before),
                }
            }
            prop_assert!(settled <= 1);
        }
    }
}
