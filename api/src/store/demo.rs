//! A small, deterministic world of rights holders, channels, works and offers, used by the store's
//! tests, the crash test and the benchmarks (and handy for trying `seal settle` by hand).

use super::{Repository, StoreError};
use seal_licensing::book::{PaymentInput, PurchaseCommand};
use seal_licensing::ids::{ChannelId, LicenceId, OfferId, PartyId, WorkId};
use seal_licensing::licence::UseScope;
use seal_licensing::money::{Amount, Currency, Money};
use seal_licensing::offer::{Action, Channel, ChannelKind, Constraints, Offer, OfferTarget, RightsHolder, Work};
use seal_licensing::Timestamp;
use sha2::{Digest, Sha256};

/// What [`seed`] created.
#[derive(Clone, Debug)]
pub struct DemoWorld {
    /// Paid offers with the work each covers and its price.
    pub paid: Vec<(OfferId, WorkId, Money)>,
    /// A free offer and a work it covers.
    pub free: (OfferId, WorkId),
}

fn id<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    // Only called on literal ids below, which are valid by construction.
    r.unwrap_or_else(|e| unreachable!("demo id: {e:?}"))
}

/// Creates three rights holders (publicity periods 7, 1 and 30 days), one website channel each with a
/// default paid offer, two works each, and one free per-work offer. Idempotent.
pub fn seed(repo: &mut impl Repository, now: Timestamp) -> Result<DemoWorld, StoreError> {
    let mut paid = Vec::new();
    let mut free = None;
    for (i, (h, days, fee, price, cur)) in [
        ("rh-a", 7, 1000, 1999, Currency::CNY),
        ("rh-b", 1, 500, 500, Currency::USD),
        ("rh-c", 30, 2500, 88_800, Currency::CNY),
    ]
    .into_iter()
    .enumerate()
    {
        let holder = RightsHolder {
            publicity_days: days,
            fee_bps: fee,
            ..RightsHolder::new(id(PartyId::new(h)), format!("权利人 {h}"))
        };
        repo.register_holder(&holder)?;
        let channel = Channel {
            id: id(ChannelId::new(format!("{h}-site"))),
            owner: holder.id.clone(),
            kind: ChannelKind::Website,
            handle: format!("{h}.example.com"),
            default_offers: Vec::new(),
        };
        repo.register_channel(&channel)?;
        let offer = Offer {
            id: id(OfferId::new(format!("{h}-default"))),
            assigner: holder.id.clone(),
            target: OfferTarget::Channel(channel.id.clone()),
            permissions: vec![Action::Reproduce, Action::Display, Action::Distribute],
            constraints: Constraints {
                channel_kinds: vec![ChannelKind::Website, ChannelKind::WechatOfficialAccount],
                territories: vec!["CN".into()],
                duration_days: Some(365),
                max_excerpt_chars: None,
                online_only: true,
            },
            price: Money { amount: id(Amount::new(price)), currency: cur },
            valid_from: Timestamp::EPOCH,
            valid_until: None,
        };
        for w in 0..2 {
            let (title, author) = (format!("示例作品 {i}-{w}"), format!("作者 {h}"));
            let source_url = format!("https://{h}.example.com/articles/{w}");
            // A demo work's body is its title, author and address; the registered hash is of that body.
            let body = format!("{title}\n\n{author}\n{source_url}\n");
            let content_sha256 = Sha256::digest(body.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            let work = Work {
                id: id(WorkId::new(format!("{h}-w{w}"))),
                owner: holder.id.clone(),
                title,
                author,
                source_url,
                channel: Some(channel.id.clone()),
                content_sha256,
                published_at: now,
                registered_at: now,
            };
            // A work's registration time is part of it; loading the demo again keeps the first one.
            if repo.work(&work.id)?.is_none() {
                repo.register_work(&work)?;
            }
            if w == 0 {
                paid.push((offer.id.clone(), work.id.clone(), offer.price));
            }
            if i == 0 && w == 1 {
                let free_offer = Offer {
                    id: id(OfferId::new("rh-a-w1-free")),
                    target: OfferTarget::Work(work.id.clone()),
                    price: Money { amount: Amount::ZERO, currency: Currency::CNY },
                    constraints: Constraints { max_excerpt_chars: Some(300), ..Constraints::default() },
                    permissions: vec![Action::Reproduce],
                    ..offer.clone()
                };
                repo.publish_offer(&free_offer)?;
                free = Some((free_offer.id, work.id.clone()));
            }
        }
        repo.publish_offer(&offer)?;
    }
    let free = free.unwrap_or_else(|| unreachable!("created above"));
    Ok(DemoWorld { paid, free })
}

/// The `n`-th bulk work for load tests: `bulk-{n}`, on one of the demo channels (so it inherits that
/// channel's default offer), with the SHA-256 of its own defined body.
pub fn bulk_work(n: u64, now: Timestamp) -> Work {
    let h = ["rh-a", "rh-b", "rh-c"][(n % 3) as usize];
    let (title, source_url) = (format!("批量作品 {n}"), format!("https://{h}.example.com/bulk/{n}"));
    let body = format!("{title}\n\n{source_url}\n");
    Work {
        id: id(WorkId::new(format!("bulk-{n}"))),
        owner: id(PartyId::new(h)),
        title,
        author: format!("作者 {h}"),
        source_url,
        channel: Some(id(ChannelId::new(format!("{h}-site")))),
        content_sha256: Sha256::digest(body.as_bytes()).iter().map(|b| format!("{b:02x}")).collect(),
        published_at: now,
        registered_at: now,
    }
}

/// The `n`-th paid purchase in the demo world: cycles through the paid offers, licence id `lic-{n}`.
pub fn purchase(world: &DemoWorld, n: u64) -> PurchaseCommand {
    let (offer, work, price) = &world.paid[(n % world.paid.len() as u64) as usize];
    PurchaseCommand {
        licence_id: id(LicenceId::new(format!("lic-{n}"))),
        offer: offer.clone(),
        work: work.clone(),
        licensee: id(PartyId::new(format!("reader-{}", n % 97))),
        licensee_name: format!("读者 {}", n % 97),
        scope: UseScope::Domain(format!("reader{}.example.org", n % 97)),
        payment: Some(PaymentInput {
            provider: id(PartyId::new(if n.is_multiple_of(2) { "alipay" } else { "wechatpay" })),
            provider_ref: format!("pay-{n}"),
            amount_minor: price.amount.minor(),
            currency: price.currency.code().to_owned(),
        }),
        app: n.is_multiple_of(5).then(|| id(PartyId::new("app-partner"))),
    }
}
