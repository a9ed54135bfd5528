//! The invariants every store must keep, checked over a [`Snapshot`]. The simulation calls [`check`]
//! after every step; the SQLite tests and the crash test call it on what is on disk.
//!
//! 1. Debits equal credits per currency, for pending and posted balances.
//! 2. Account balances equal what their transfers add up to (nothing lost or counted twice).
//! 3. No credit-normal account (escrow above all) is overdrawn, counting pending debits.
//! 4. Every licence's ledger legs agree with its status: held and frozen licences have all holds
//!    pending, settled ones have them posted no earlier than the end of the publicity period, refunded
//!    ones have them voided and a refund posted.
//! 5. Each settled licence has exactly one invoice; its total equals its lines and the posting transfers
//!    behind them; invoice numbers run 1..=n in each series.
//! 6. Each licence is in at most one payout, and only if settled; a payout's amount is the sum of its
//!    licences' net amounts, backed by its transfer; each payable holds exactly its unpaid net amounts.
//! 7. Escrow holds exactly the price of every held or frozen licence.

use crate::ledger::{AccountId, AccountKind, Balances, PendingState, TransferAction};
use crate::licence::{HoldLeg, Leg, Licence, LicenceStatus};
use crate::memory::Snapshot;
use crate::money::Currency;
use std::collections::BTreeMap;

/// Checks every invariant; returns one message per violation (empty when all hold).
pub fn check(s: &Snapshot) -> Vec<String> {
    let mut v = Vec::new();
    check_ledger(s, &mut v);
    for l in s.licences.values() {
        check_licence(s, l, &mut v);
    }
    check_invoices(s, &mut v);
    check_payouts(s, &mut v);
    v
}

fn check_ledger(s: &Snapshot, v: &mut Vec<String>) {
    let mut sums: BTreeMap<Currency, [i128; 4]> = BTreeMap::new();
    for a in s.accounts.values() {
        let b = a.balances;
        let e = sums.entry(a.id.currency).or_default();
        for (i, x) in [b.debits_pending, b.credits_pending, b.debits_posted, b.credits_posted].into_iter().enumerate() {
            e[i] += i128::from(x);
            if x < 0 {
                v.push(format!("{}: negative balance field", a.id));
            }
        }
        if a.id.debits_must_not_exceed_credits() && a.available() < 0 {
            v.push(format!("{} overdrawn: available {}", a.id, a.available()));
        }
    }
    for (cur, [dp, cp, dd, cd]) in sums {
        if dp != cp {
            v.push(format!("{cur}: pending debits {dp} != pending credits {cp}"));
        }
        if dd != cd {
            v.push(format!("{cur}: posted debits {dd} != posted credits {cd}"));
        }
    }
    // Recompute every balance from the transfers alone.
    let mut re: BTreeMap<AccountId, Balances> = BTreeMap::new();
    for t in s.transfers.values() {
        let a = t.amount.minor();
        let (dp, dd, cp, cd) = match &t.request.action {
            TransferAction::Posted { .. } => (0, a, 0, a),
            TransferAction::Pending { .. } => match s.pending.get(t.id()) {
                Some(PendingState::Pending) => (a, 0, a, 0),
                Some(_) => (0, 0, 0, 0),
                None => {
                    v.push(format!("pending transfer {} has no state", t.id()));
                    (0, 0, 0, 0)
                }
            },
            TransferAction::Post { .. } => (0, a, 0, a),
            TransferAction::Void { .. } => (0, 0, 0, 0),
        };
        let d = re.entry(t.debit.clone()).or_default();
        d.debits_pending += dp;
        d.debits_posted += dd;
        let c = re.entry(t.credit.clone()).or_default();
        c.credits_pending += cp;
        c.credits_posted += cd;
    }
    for a in s.accounts.values() {
        let want = re.remove(&a.id).unwrap_or_default();
        if want != a.balances {
            v.push(format!("{}: balances {:?} but transfers add up to {want:?}", a.id, a.balances));
        }
    }
    for (id, b) in re {
        if b != Balances::default() {
            v.push(format!("{id}: transfers exist but the account does not"));
        }
    }
    // Every resolution points at a transfer that resolves this pending transfer, and no transfer
    // resolves a pending transfer twice.
    let mut resolvers: BTreeMap<&crate::ids::TransferId, usize> = BTreeMap::new();
    for t in s.transfers.values() {
        if let TransferAction::Post { pending_id, .. } | TransferAction::Void { pending_id } = &t.request.action {
            *resolvers.entry(pending_id).or_default() += 1;
        }
    }
    for (id, n) in resolvers {
        if n > 1 {
            v.push(format!("pending transfer {id} resolved {n} times"));
        }
    }
}

fn check_licence(s: &Snapshot, l: &Licence, v: &mut Vec<String>) {
    let legs = l.hold_legs();
    let state = |leg: HoldLeg| s.pending.get(&l.hold_id(leg));
    let has = |leg: Leg| s.transfers.get(&l.transfer_id(leg));
    let split_sum =
        l.split.net.minor() + l.split.fee_platform.minor() + l.split.app.as_ref().map_or(0, |(_, a)| a.minor());
    if split_sum != l.price.amount.minor() {
        v.push(format!("licence {}: split {split_sum} != price {}", l.id, l.price.amount.minor()));
    }
    match l.status {
        LicenceStatus::Free => {
            if has(Leg::Capture).is_some() || l.price.amount.minor() != 0 {
                v.push(format!("free licence {} has money", l.id));
            }
        }
        LicenceStatus::Held | LicenceStatus::Frozen => {
            if has(Leg::Capture).is_none_or(|t| t.amount != l.price.amount) {
                v.push(format!("licence {}: capture missing or wrong", l.id));
            }
            for (leg, _) in &legs {
                if state(*leg) != Some(&PendingState::Pending) {
                    v.push(format!("licence {} is {:?} but hold {leg:?} is {:?}", l.id, l.status, state(*leg)));
                }
            }
            if l.invoice.is_some() || l.payout.is_some() || l.settled_at.is_some() {
                v.push(format!("unsettled licence {} has an invoice, payout or settle time", l.id));
            }
        }
        LicenceStatus::Settled => {
            for (leg, amount) in &legs {
                match (state(*leg), has(Leg::Post(*leg))) {
                    (Some(PendingState::Posted { amount: a, .. }), Some(post)) if a == amount => {
                        if post.timestamp < l.hold_until {
                            v.push(format!("licence {} settled before its publicity period ended", l.id));
                        }
                    }
                    other => v.push(format!("settled licence {}: leg {leg:?} is {other:?}", l.id)),
                }
            }
            if l.settled_at.is_none_or(|t| t < l.hold_until) {
                v.push(format!("licence {} settled before its publicity period ended", l.id));
            }
            match &l.invoice {
                Some(n) if s.invoices.get(&(n.series.clone(), n.number)).is_some_and(|i| i.licence == l.id) => {}
                other => v.push(format!("settled licence {} has invoice {other:?} that does not point back", l.id)),
            }
        }
        LicenceStatus::Refunded => {
            for (leg, _) in &legs {
                if !matches!(state(*leg), Some(PendingState::Voided { .. })) {
                    v.push(format!("refunded licence {}: hold {leg:?} is {:?}", l.id, state(*leg)));
                }
            }
            if has(Leg::Refund).is_none_or(|t| t.amount != l.price.amount) {
                v.push(format!("refunded licence {}: refund missing or wrong", l.id));
            }
            if l.invoice.is_some() || l.payout.is_some() {
                v.push(format!("refunded licence {} was invoiced or paid out", l.id));
            }
        }
    }
    if l.payout.is_some() && l.status != LicenceStatus::Settled {
        v.push(format!("licence {} paid out but not settled", l.id));
    }
}

fn check_invoices(s: &Snapshot, v: &mut Vec<String>) {
    let mut per_series: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut per_licence: BTreeMap<&crate::ids::LicenceId, usize> = BTreeMap::new();
    for ((series, number), inv) in &s.invoices {
        per_series.entry(series).or_default().push(*number);
        *per_licence.entry(&inv.licence).or_default() += 1;
        let lines: i64 = inv.lines.iter().map(|l| l.amount.minor()).sum();
        let posted: i64 = inv
            .lines
            .iter()
            .map(|l| match s.transfers.get(&l.transfer) {
                Some(t)
                    if matches!(t.request.action, TransferAction::Post { .. })
                        && t.request.reference == inv.licence.as_str() =>
                {
                    t.amount.minor()
                }
                _ => {
                    v.push(format!(
                        "invoice {}: line transfer {} is not a posting of its licence",
                        inv.number, l.transfer
                    ));
                    0
                }
            })
            .sum();
        if lines != inv.total.minor() || posted != inv.total.minor() {
            v.push(format!("invoice {}: total {} lines {lines} postings {posted}", inv.number, inv.total.minor()));
        }
        if s.licences.get(&inv.licence).is_none_or(|l| l.invoice.as_ref() != Some(&inv.number)) {
            v.push(format!("invoice {} does not match its licence", inv.number));
        }
    }
    for (series, numbers) in per_series {
        // BTreeMap order makes `numbers` ascending; without gaps it is exactly 1..=n.
        if numbers.iter().enumerate().any(|(i, n)| *n != i as u64 + 1) {
            v.push(format!("invoice series {series} has gaps: {numbers:?}"));
        }
    }
    for (licence, n) in per_licence {
        if n > 1 {
            v.push(format!("licence {licence} has {n} invoices"));
        }
    }
}

fn check_payouts(s: &Snapshot, v: &mut Vec<String>) {
    let mut seen: BTreeMap<&crate::ids::LicenceId, usize> = BTreeMap::new();
    for p in s.payouts.values() {
        let mut sum = 0_i64;
        for id in &p.licences {
            *seen.entry(id).or_default() += 1;
            match s.licences.get(id) {
                Some(l) if l.payout.as_ref() == Some(&p.id) && l.holder == p.holder => sum += l.split.net.minor(),
                _ => v.push(format!("payout {} lists licence {id} that does not point back", p.id)),
            }
        }
        if sum != p.amount.minor() {
            v.push(format!("payout {}: amount {} != licences' net {sum}", p.id, p.amount.minor()));
        }
        let backed = p.transfer.as_ref().and_then(|t| s.transfers.get(t)).map_or(0, |t| t.amount.minor());
        if backed != p.amount.minor() {
            v.push(format!("payout {}: transfer moves {backed}, payout says {}", p.id, p.amount.minor()));
        }
    }
    for (id, n) in seen {
        if n > 1 {
            v.push(format!("licence {id} paid out {n} times"));
        }
    }
    for l in s.licences.values() {
        if let Some(p) = &l.payout {
            if !s.payouts.get(p).is_some_and(|p| p.licences.contains(&l.id)) {
                v.push(format!("licence {} points at payout {p} that does not list it", l.id));
            }
        }
    }
    // Each payable holds exactly the net of its settled, unpaid licences; escrow holds exactly the price
    // of every held or frozen licence.
    let mut want: BTreeMap<AccountId, i64> = BTreeMap::new();
    for l in s.licences.values() {
        let cur = l.price.currency;
        match l.status {
            LicenceStatus::Settled if l.payout.is_none() => {
                *want.entry(AccountId::new(AccountKind::Payable(l.holder.clone()), cur)).or_default() +=
                    l.split.net.minor();
            }
            LicenceStatus::Held | LicenceStatus::Frozen => {
                *want.entry(AccountId::new(AccountKind::Escrow, cur)).or_default() += l.price.amount.minor();
            }
            _ => {}
        }
    }
    for a in s.accounts.values() {
        if matches!(a.id.kind, AccountKind::Payable(_) | AccountKind::Escrow) {
            let expected = want.remove(&a.id).unwrap_or(0);
            if a.credit_balance() != expected {
                v.push(format!("{} holds {} but its licences say {expected}", a.id, a.credit_balance()));
            }
        }
    }
    for (id, amount) in want {
        if amount != 0 {
            v.push(format!("{id} should hold {amount} but does not exist"));
        }
    }
}
