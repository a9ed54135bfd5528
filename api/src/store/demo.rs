//! A small, deterministic world of rights holders, channels, works and offers, used by the store's
//! tests, the crash test and the benchmarks (and handy for trying `seal settle` by hand). Each work's
//! body is defined here ([`work_bodies`]); `services::demo` stores and fingerprints it, which this
//! layer cannot do.

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
        (HOLDERS[0], 7, 1000, 1999, Currency::CNY),
        (HOLDERS[1], 1, 500, 500, Currency::USD),
        (HOLDERS[2], 30, 2500, 88_800, Currency::CNY),
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
            withdrawn_at: None,
        };
        for w in 0..2 {
            let (title, author, source_url, body) = work_body(i, w);
            // The registered hash is of the body, which is also the work's one content item
            // (`services::demo` stores and fingerprints it), so the two always agree.
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

/// The holders of the demo world, in the order [`seed`] creates them.
pub const HOLDERS: [&str; 3] = ["rh-a", "rh-b", "rh-c"];

/// The articles of the six demo works (holder `i`, work `w` at `2 * i + w`): short news items, half
/// Chinese and half English, distinct enough that matching one never names another.
const ARTICLES: [&str; 6] = [
    "本报讯 今年秋季，江南多地迎来稻谷丰收。记者在嘉兴市郊的一处合作社看到，收割机在金黄的田野间来回穿梭，\
     农户们忙着把新米装袋入仓。合作社负责人介绍，今年引进的优质品种亩产比去年提高了近一成，\
     部分大米已通过电商平台销往北京、广州等地。当地农业部门表示，将继续推广节水灌溉和绿色防控技术，\
     帮助更多种植户稳产增收。",
    "Residents of the harbour district packed the town hall on Tuesday evening to debate plans for a new \
     ferry terminal. The council says the terminal would cut crossing times to the island by half and \
     bring two hundred jobs, while opponents worry about traffic on the narrow coast road and the loss \
     of the old fish market. A final vote is expected before the end of the year, after an independent \
     review of the environmental report.",
    "近日，市图书馆古籍修复中心完成了一批明清地方志的修复工作。修复师们用传统的托裱和补纸工艺，\
     让虫蛀、霉变的书页重新变得平整可读。中心主任说，这批文献记录了当地数百年来的水利、物产和风俗，\
     对研究区域历史很有价值。修复后的古籍将陆续完成数字化，读者今后可以在线查阅高清影像，\
     而不必再翻动脆弱的原件。",
    "A small bakery on Elm Street has become the unlikely centre of a neighbourhood recycling drive. \
     Every Saturday morning customers bring glass jars, which the owners wash and refill with jam made \
     from fruit donated by local gardeners. In six months the shop says it has kept more than four \
     thousand jars out of the bin, and the idea has spread to a grocer and a café across the river, \
     who now share a weekly collection van.",
    "随着气温回升，高原湖泊迎来了今年第一批越冬候鸟。保护区工作人员在湖边监测点观察到，\
     黑颈鹤、斑头雁和赤麻鸭等鸟类数量明显多于往年。工作人员认为，这与近年来退耕还湿、\
     严格管控游客活动有关。保护区提醒前来观鸟的市民，请在指定区域使用望远镜观察，\
     不要投喂或靠近鸟群，以免惊扰它们休息和觅食。",
    "The regional orchestra opened its winter season with a programme of music written by composers \
     who had never been performed in the city before. The conductor, who spent two years searching \
     archives for forgotten scores, told the audience that several of the pieces had lain in boxes \
     for almost a century. Tickets for the remaining concerts are already scarce, and the orchestra \
     plans to record the series for radio next spring.",
];

/// The `w`-th work of the `i`-th demo holder: `(title, author, source URL, body)`. The body is the
/// title, author and address lines followed by the article; it is what is hashed, stored and
/// fingerprinted.
pub fn work_body(i: usize, w: usize) -> (String, String, String, String) {
    let h = HOLDERS[i % HOLDERS.len()];
    let (title, author) = (format!("示例作品 {i}-{w}"), format!("作者 {h}"));
    let source_url = format!("https://{h}.example.com/articles/{w}");
    let article = ARTICLES[(2 * i + w) % ARTICLES.len()];
    let body = format!("{title}\n\n{author}\n{source_url}\n\n{article}\n");
    (title, author, source_url, body)
}

/// Every demo work's id with its body (see [`work_body`]), in the order [`seed`] registers them.
pub fn work_bodies() -> Vec<(WorkId, String)> {
    let mut out = Vec::with_capacity(2 * HOLDERS.len());
    for (i, h) in HOLDERS.iter().enumerate() {
        for w in 0..2 {
            out.push((id(WorkId::new(format!("{h}-w{w}"))), work_body(i, w).3));
        }
    }
    out
}

/// The `n`-th bulk work for load tests: `(id, owner, channel, title, source URL, body)`. Id `bulk-{n}`,
/// on one of the demo channels (so it inherits that channel's default offer); the body is a short
/// generated news item, different for every `n` (see [`bulk_body`]).
pub fn bulk_work(n: u64) -> (WorkId, PartyId, ChannelId, String, String, String) {
    let h = HOLDERS[(n % 3) as usize];
    let title = format!("批量作品 {n}");
    let source_url = format!("https://{h}.example.com/bulk/{n}");
    (
        id(WorkId::new(format!("bulk-{n}"))),
        id(PartyId::new(h)),
        id(ChannelId::new(format!("{h}-site"))),
        title,
        source_url,
        bulk_body(n),
    )
}

/// A generated news item for bulk work `n`: four Chinese and four English sentences drawn from pools by
/// a PRNG seeded with `n`, and `n` itself, so every body (and hash) differs and two bulk works share
/// few sentences (matching one names it first), while each still reads like an article.
pub fn bulk_body(n: u64) -> String {
    const ZH: [&str; 24] = [
        "市交通部门宣布将在明年春季开通两条夜间公交线路。",
        "社区卫生服务中心新增了儿科和康复门诊。",
        "一座建于上世纪的老粮仓被改造成了城市书房。",
        "今年夏粮收购价格总体平稳，农户售粮积极。",
        "沿江步道的最后一段于上周末正式向市民开放。",
        "多所中学试点延时服务，家长反映接送压力减轻。",
        "博物馆推出青铜器特展，首日预约名额即被抢完。",
        "气象台预计本周后期将有一次明显降温过程。",
        "老旧小区加装电梯工程已完成过半。",
        "本地一家纺织企业的新生产线通过验收投产。",
        "志愿者们在湿地公园清理了数百公斤垃圾。",
        "菜市场改造后增加了冷链柜台和无障碍通道。",
        "高铁站扩建工程进入主体结构施工阶段。",
        "一批返乡青年在山区开办民宿，带动村民就业。",
        "图书馆延长了周末开放时间，自习座位更加紧张。",
        "消防部门提醒居民入冬后注意用电用气安全。",
        "新建的体育公园设有篮球场、足球场和儿童游乐区。",
        "茶农们正在抢摘今年的头茬春茶。",
        "市民热线上月共受理各类诉求一万多件。",
        "跨海大桥的检修工作将在夜间分段进行。",
        "地方戏剧团带着新编剧目走进了乡村舞台。",
        "养老服务中心开设了老年人智能手机课程。",
        "港口集装箱吞吐量连续三个月保持增长。",
        "城郊的樱花园迎来了今年第一波赏花客流。",
    ];
    const EN: [&str; 24] = [
        "The council approved a budget for repairing the old stone bridge.",
        "A local choir will perform carols at the railway station next week.",
        "Volunteers planted two hundred oak saplings along the ring road.",
        "The hospital opened a new wing for outpatient eye care.",
        "Shopkeepers on the high street reported a busy autumn season.",
        "The ferry timetable changes on Monday to add an early crossing.",
        "Students at the technical college built a solar powered boat.",
        "Heavy rain flooded several cellars in the lower part of town.",
        "The museum has acquired a collection of nineteenth century maps.",
        "A farmers market will return to the square every Saturday.",
        "Road works on the northern approach are expected to last a month.",
        "The swimming pool reopens after a year of refurbishment.",
        "Police thanked residents for reporting a string of bicycle thefts.",
        "A new cycle path links the estate to the science park.",
        "The library is lending out telescopes for the meteor shower.",
        "An amateur historian traced the origins of the old mill.",
        "The football club unveiled plans for a larger youth academy.",
        "Fishermen said the mackerel season started unusually early.",
        "A charity run raised money for the children's hospice.",
        "The theatre restored its painted ceiling with public donations.",
        "Bus drivers will receive training in first aid this winter.",
        "A pop-up clinic offered free blood pressure checks in the park.",
        "The harbour authority is dredging the channel for larger ships.",
        "Allotment holders complained about a shortage of water butts.",
    ];
    let mut state = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d;
    let mut pick = |pool: &[&'static str; 24], taken: &mut Vec<usize>| loop {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let i = (state % pool.len() as u64) as usize;
        if !taken.contains(&i) {
            taken.push(i);
            return pool[i];
        }
    };
    let (mut zh, mut en) = (Vec::new(), Vec::new());
    let mut body = format!("第 {n} 号快讯：");
    for _ in 0..4 {
        body.push_str(pick(&ZH, &mut zh));
    }
    body.push('\n');
    for _ in 0..4 {
        body.push_str(pick(&EN, &mut en));
        body.push(' ');
    }
    body.push_str(&format!("(Bulletin {n}.)\n"));
    body
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
        settlement_bps: None,
    }
}
