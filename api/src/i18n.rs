//! Two complete locales, zh-CN and English, from Project Fluent catalogues (`api/locales/<lang>/*.ftl`,
//! compiled into the binary). Pages, emails and PDFs ask a [`Lang`] for their words (`l.t("key")`)
//! and for the locale's way of writing money and times, so a page in one language never carries the
//! other's text, and English counts plurals right ("1 licence", "3 licences").
//!
//! Times are shown in Beijing time (UTC+8), the market's zone, and say so; stored times stay UTC.
//! A key missing from a catalogue renders as the key itself and is logged: the catalogue tests
//! (`tests` below) fail first, and the page tests refuse any page that shows a key.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use seal_licensing::money::Currency;
use seal_licensing::Timestamp;
use std::borrow::Borrow;
use std::sync::OnceLock;

/// A user interface language, with the time zone its times are written in.
///
/// `Lang::Zh` and `Lang::En` are the two languages in Beijing time; [`Lang::in_zone`] moves one to the
/// user's zone. Code that chooses words by language matches on [`Lang::tongue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Lang {
    tongue: Tongue,
    zone: Zone,
}

/// The language alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Tongue {
    /// Simplified Chinese, the default: the market is Chinese media first.
    #[default]
    Zh,
    /// English.
    En,
}

/// A time zone as a fixed offset from UTC in minutes; Beijing time (UTC+8, no daylight saving) by
/// default. Fixed offsets are what the platform offers: its market's zones keep no daylight saving,
/// and a user elsewhere picks the offset they are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Zone(i16);

impl Default for Zone {
    fn default() -> Self {
        Zone::BEIJING
    }
}

impl Zone {
    /// Beijing time, UTC+8.
    pub const BEIJING: Zone = Zone(480);
    /// The offsets a user can choose, in minutes.
    pub const CHOICES: [i16; 29] = [
        -720, -660, -600, -540, -480, -420, -360, -300, -240, -180, -120, -60, 0, 60, 120, 180, 240, 270, 300, 330,
        345, 360, 420, 480, 540, 570, 600, 660, 720,
    ];

    /// The zone `minutes` east of UTC, if it is one of [`Zone::CHOICES`].
    pub fn from_minutes(minutes: i64) -> Option<Zone> {
        let m = i16::try_from(minutes).ok()?;
        Zone::CHOICES.contains(&m).then_some(Zone(m))
    }

    /// Minutes east of UTC.
    pub fn minutes(self) -> i16 {
        self.0
    }

    /// `UTC+8`, `UTC-3:30`, `UTC`.
    pub fn label(self) -> String {
        let (sign, m) = if self.0 < 0 { ('-', -self.0) } else { ('+', self.0) };
        match (m / 60, m % 60) {
            (0, 0) => "UTC".to_owned(),
            (h, 0) => format!("UTC{sign}{h}"),
            (h, mm) => format!("UTC{sign}{h}:{mm:02}"),
        }
    }
}

/// The catalogue files, one per area of the product, in the same order for both languages.
macro_rules! catalogue {
    ($lang:literal) => {
        &[
            include_str!(concat!("../locales/", $lang, "/common.ftl")),
            include_str!(concat!("../locales/", $lang, "/errors.ftl")),
            include_str!(concat!("../locales/", $lang, "/account.ftl")),
            include_str!(concat!("../locales/", $lang, "/dashboard.ftl")),
            include_str!(concat!("../locales/", $lang, "/checkout.ftl")),
            include_str!(concat!("../locales/", $lang, "/monitoring.ftl")),
            include_str!(concat!("../locales/", $lang, "/cases.ftl")),
            include_str!(concat!("../locales/", $lang, "/team.ftl")),
            include_str!(concat!("../locales/", $lang, "/proof.ftl")),
            include_str!(concat!("../locales/", $lang, "/mail.ftl")),
            include_str!(concat!("../locales/", $lang, "/documents.ftl")),
            include_str!(concat!("../locales/", $lang, "/notifications.ftl")),
        ]
    };
}

const ZH_SOURCES: &[&str] = catalogue!("zh-CN");
const EN_SOURCES: &[&str] = catalogue!("en");

fn build(lang: &str, sources: &[&str]) -> FluentBundle<FluentResource> {
    let id = lang.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks around arguments would end up inside attribute values and CSV cells.
    bundle.set_use_isolating(false);
    for source in sources {
        // The catalogues are part of the binary and checked by the tests below; a syntax error or a
        // key defined twice is a build defect, reported loudly and skipped rather than served half.
        match FluentResource::try_new((*source).to_owned()) {
            Ok(resource) => {
                if let Err(errors) = bundle.add_resource(resource) {
                    tracing::error!(lang, ?errors, "catalogue entries refused");
                }
            }
            Err((resource, errors)) => {
                tracing::error!(lang, ?errors, "catalogue has syntax errors");
                let _ = bundle.add_resource(resource);
            }
        }
    }
    bundle
}

fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    static ZH: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    static EN: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    match lang.tongue {
        Tongue::Zh => ZH.get_or_init(|| build("zh-CN", ZH_SOURCES)),
        Tongue::En => EN.get_or_init(|| build("en", EN_SOURCES)),
    }
}

#[allow(non_upper_case_globals)] // named like the variants they were, so call sites read `Lang::Zh`
impl Lang {
    /// Simplified Chinese in Beijing time.
    pub const Zh: Lang = Lang { tongue: Tongue::Zh, zone: Zone::BEIJING };
    /// English in Beijing time.
    pub const En: Lang = Lang { tongue: Tongue::En, zone: Zone::BEIJING };
    /// Both languages, the default first.
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The language without its zone, for choosing words.
    pub fn tongue(self) -> Tongue {
        self.tongue
    }

    /// The time zone times are written in.
    pub fn zone(self) -> Zone {
        self.zone
    }

    /// The same language writing times in `zone`.
    pub fn in_zone(self, zone: Zone) -> Lang {
        Lang { zone, ..self }
    }

    /// The BCP 47 tag (`zh-CN`, `en`), as in `<html lang>` and the language cookie.
    pub fn code(self) -> &'static str {
        match self.tongue {
            Tongue::Zh => "zh-CN",
            Tongue::En => "en",
        }
    }

    /// The language's own name, for the switch ("中文", "English").
    pub fn name(self) -> &'static str {
        match self.tongue {
            Tongue::Zh => "中文",
            Tongue::En => "English",
        }
    }

    /// The other language, which the switch offers (in the same zone).
    pub fn other(self) -> Lang {
        let tongue = match self.tongue {
            Tongue::Zh => Tongue::En,
            Tongue::En => Tongue::Zh,
        };
        Lang { tongue, ..self }
    }

    /// The zones a person can choose: offset, label (Beijing time named), and whether it is this one.
    pub fn zone_choices(&self) -> Vec<(i16, String, bool)> {
        Zone::CHOICES
            .iter()
            .map(|&m| {
                let zone = Zone(m);
                let label = if zone == Zone::BEIJING {
                    format!("{} {}", zone.label(), self.t("zone-beijing"))
                } else {
                    zone.label()
                };
                (m, label, zone == self.zone)
            })
            .collect()
    }

    /// The note under every page saying which zone times are in.
    pub fn times_note(&self) -> String {
        if self.zone == Zone::BEIJING {
            self.t("times-note")
        } else {
            self.t1("times-note-zone", "zone", self.zone.label())
        }
    }

    /// A time with its zone named: `2026-12-02 12:34 (Beijing time)` / `(UTC+9)`.
    pub fn time_zoned(&self, ts: impl Borrow<Timestamp>) -> String {
        let time = self.time(ts);
        if self.zone == Zone::BEIJING {
            self.t1("time-beijing", "time", time)
        } else {
            self.t2("time-in-zone", ("time", time), ("zone", self.zone.label()))
        }
    }

    /// Reads a stored or requested tag: any `zh…` is Chinese, any `en…` English.
    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        match primary {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best of our languages for an `Accept-Language` header, by its quality values; Chinese when
    /// the header names neither.
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (position, item) in accept_language.split(',').enumerate() {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else { continue };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            // Equal weights keep the header's order.
            if best.is_none_or(|(bq, bp, _)| q > bq || (q == bq && position < bp)) {
                best = Some((q, position, lang));
            }
        }
        best.map_or_else(Lang::default, |(_, _, lang)| lang)
    }

    fn format(self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundle = bundle(self);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, lang = self.code(), "message missing from the catalogue");
            return key.to_owned();
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, lang = self.code(), ?errors, "message formatted with errors");
        }
        text.into_owned()
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with one text argument `$name`.
    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_string()));
        self.format(key, Some(&args))
    }

    /// The message `key` with two text arguments, each a `(name, value)` pair (by value from Rust, by
    /// reference from templates, which is how askama passes a tuple).
    pub fn t2(&self, key: &str, a: impl NamedArg, b: impl NamedArg) -> String {
        let mut args = FluentArgs::new();
        args.set(a.name().to_owned(), FluentValue::from(a.value()));
        args.set(b.name().to_owned(), FluentValue::from(b.value()));
        self.format(key, Some(&args))
    }

    /// The message `key` counting `$n`, so that plural forms are chosen by the number.
    pub fn n(&self, key: &str, n: impl Borrow<i64>) -> String {
        let n = *n.borrow();
        let mut args = FluentArgs::new();
        args.set("n", FluentValue::from(n));
        self.format(key, Some(&args))
    }

    /// The message `key` counting two numbers, `$<a>` and `$<b>`, each choosing its own plural form.
    pub fn n2(&self, key: &str, a: &str, a_n: impl Borrow<i64>, b: &str, b_n: impl Borrow<i64>) -> String {
        let (a_n, b_n) = (*a_n.borrow(), *b_n.borrow());
        let mut args = FluentArgs::new();
        args.set(a.to_owned(), FluentValue::from(a_n));
        args.set(b.to_owned(), FluentValue::from(b_n));
        self.format(key, Some(&args))
    }

    /// The message `key` with arguments given as pairs; numbers choose plural forms.
    pub fn args(&self, key: &str, args: &[(&str, Arg)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            let value = match value {
                Arg::Text(s) => FluentValue::from(s.clone()),
                Arg::Number(n) => FluentValue::from(*n),
            };
            fluent.set((*name).to_owned(), value);
        }
        self.format(key, Some(&fluent))
    }

    /// `true` when the catalogue has `key` (for codes that may or may not have their own words).
    pub fn has(&self, key: &str) -> bool {
        bundle(*self).has_message(key)
    }

    /// An amount in minor units, written the locale's way: `¥19.99`, `US$5.00` in Chinese, `$5.00` in
    /// English; currencies without a common sign keep their code (`12.00 EUR` → `€12.00`).
    pub fn money(&self, minor: impl Borrow<i64>, currency: &str) -> String {
        let minor = *minor.borrow();
        let Ok(c) = Currency::parse(currency) else {
            return format!("{minor} {currency}");
        };
        let amount = group_thousands(&c.format_minor(minor));
        let (negative, amount) = match amount.strip_prefix('-') {
            Some(rest) => ("-", rest.to_owned()),
            None => ("", amount),
        };
        let sign = match (c.code(), self.tongue) {
            ("CNY", _) => "¥",
            ("USD", Tongue::Zh) => "US$",
            ("USD", Tongue::En) => "$",
            ("EUR", _) => "€",
            ("GBP", _) => "£",
            ("JPY", _) => "JP¥",
            ("HKD", _) => "HK$",
            ("TWD", _) => "NT$",
            _ => return format!("{negative}{amount} {}", c.code()),
        };
        format!("{negative}{sign}{amount}")
    }

    /// A date and time in the zone (Beijing time unless the user chose another), to the minute:
    /// `2026-12-02 12:34`.
    pub fn time(&self, ts: impl Borrow<Timestamp>) -> String {
        let ts = *ts.borrow();
        let local = ts.saturating_add_ms(i64::from(self.zone.0) * 60_000);
        let (y, m, d) = local.date();
        let minutes = local.unix_ms().rem_euclid(seal_licensing::time::MS_PER_DAY) / 60_000;
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// A date in the zone: `2026-12-02`.
    pub fn date(&self, ts: impl Borrow<Timestamp>) -> String {
        let ts = *ts.borrow();
        let (y, m, d) = ts.saturating_add_ms(i64::from(self.zone.0) * 60_000).date();
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// A whole number grouped the locale's way (`12,345` in both).
    pub fn int(&self, n: impl Borrow<i64>) -> String {
        let n = *n.borrow();
        group_thousands(&n.to_string())
    }
}

/// The platform's own words for licensing values, shared by every page, email and PDF.
impl Lang {
    /// A licence's status.
    pub fn licence_status(&self, status: seal_licensing::licence::LicenceStatus) -> String {
        use seal_licensing::licence::LicenceStatus as S;
        self.t(match status {
            S::Free => "licence-status-free",
            S::Held => "licence-status-held",
            S::Frozen => "licence-status-frozen",
            S::Settled => "licence-status-settled",
            S::Refunded => "licence-status-refunded",
        })
    }

    /// An account role's name (`holder`, `licensee`, `developer`, `admin`).
    pub fn role(&self, role: &str) -> String {
        self.t(match role {
            "holder" => "role-holder",
            "licensee" => "role-licensee",
            "developer" => "role-developer",
            "admin" => "role-admin",
            _ => "role-guest",
        })
    }

    /// A channel kind's name (`website` → 网站 / Website).
    pub fn channel_kind(&self, kind: seal_licensing::offer::ChannelKind) -> String {
        self.t(&format!("channel-{}", kind.as_str()))
    }

    /// Where a licence may be used, in words.
    pub fn scope(&self, scope: &seal_licensing::licence::UseScope) -> String {
        use seal_licensing::licence::UseScope;
        match scope {
            UseScope::UrlPrefix(p) => self.t1("scope-url-prefix", "prefix", p),
            UseScope::Domain(d) => self.t1("scope-domain", "domain", d),
            UseScope::WechatAccount { id, name } => self.place("scope-wechat", name, id),
            UseScope::WeiboAccount { id, name } => self.place("scope-weibo", name, id),
            UseScope::App { id, name } => self.place("scope-app", name, id),
        }
    }

    /// A platform place in words: with its display name when it has one (`<key>-named`).
    fn place(&self, key: &str, name: &str, id: &str) -> String {
        if name.is_empty() {
            self.t1(key, "id", id)
        } else {
            self.t2(&format!("{key}-named"), ("name", name), ("id", id))
        }
    }

    /// An offer's price: `¥19.99`, or the word for free.
    pub fn price(&self, offer: &seal_licensing::offer::Offer) -> String {
        if offer.is_free() {
            return self.t("free");
        }
        self.money(offer.price.amount.minor(), offer.price.currency.code())
    }

    /// An offer's terms in plain words, one rule a line.
    pub fn offer_rules(&self, offer: &seal_licensing::offer::Offer) -> Vec<String> {
        use seal_licensing::offer::Action;
        let list = |items: Vec<String>| items.join(&self.t("list-separator"));
        let actions = offer
            .permissions
            .iter()
            .map(|a| {
                self.t(match a {
                    Action::Reproduce => "action-reproduce",
                    Action::Display => "action-display",
                    Action::Distribute => "action-distribute",
                    Action::Modify => "action-modify",
                    Action::CommercialUse => "action-commercial-use",
                })
            })
            .collect();
        let mut rules = vec![self.t1("rule-may", "actions", list(actions))];
        let c = &offer.constraints;
        if !c.channel_kinds.is_empty() {
            let kinds = c.channel_kinds.iter().map(|k| self.channel_kind(*k)).collect();
            rules.push(self.t1("rule-channels-only", "kinds", list(kinds)));
        }
        if !c.territories.is_empty() {
            rules.push(self.t1("rule-territory", "territories", list(c.territories.clone())));
        }
        rules.push(match c.duration_days {
            Some(d) => self.n("rule-valid-days", i64::from(d)),
            None => self.t("rule-no-time-limit"),
        });
        if let Some(n) = c.max_excerpt_chars {
            rules.push(self.n("rule-excerpt", i64::from(n)));
        }
        if c.online_only {
            rules.push(self.t("rule-online-only"));
        }
        rules.push(self.t("rule-credit"));
        rules
    }
}

/// A `(name, value)` argument of [`Lang::t2`].
pub trait NamedArg {
    /// The argument's name in the message.
    fn name(&self) -> &str;
    /// Its value as text.
    fn value(&self) -> String;
}

impl<T: std::fmt::Display> NamedArg for (&str, T) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> String {
        self.1.to_string()
    }
}

impl<T: std::fmt::Display> NamedArg for &(&str, T) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> String {
        self.1.to_string()
    }
}

/// An argument for [`Lang::args`].
#[derive(Clone, Debug)]
pub enum Arg {
    /// Text, inserted as is.
    Text(String),
    /// A number, which also picks plural forms.
    Number(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

/// `1234567.89` → `1,234,567.89`.
fn group_thousands(decimal: &str) -> String {
    let (sign, rest) = decimal.strip_prefix('-').map_or(("", decimal), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::with_capacity(decimal.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Every message key a catalogue defines, for the tests that compare the two languages.
pub fn keys(lang: Lang) -> Vec<String> {
    let sources = match lang.tongue {
        Tongue::Zh => ZH_SOURCES,
        Tongue::En => EN_SOURCES,
    };
    let mut keys = Vec::new();
    for source in sources {
        // A message starts a line with its identifier and `=`; continuation lines are indented and
        // comments start with `#`, so neither is mistaken for one.
        for line in source.lines() {
            if let Some((id, _)) = line.split_once('=') {
                let id = id.trim_end();
                if id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    keys.push(id.to_owned());
                }
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_errors(sources: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for source in sources {
            if let Err((_, errors)) = FluentResource::try_new((*source).to_owned()) {
                out.extend(errors.iter().map(|e| format!("{e:?}")));
            }
        }
        out
    }

    #[test]
    fn both_catalogues_parse_and_define_the_same_keys_once() {
        assert_eq!(parse_errors(ZH_SOURCES), Vec::<String>::new());
        assert_eq!(parse_errors(EN_SOURCES), Vec::<String>::new());
        for lang in Lang::ALL {
            let keys = keys(lang);
            let mut seen = std::collections::HashSet::new();
            let twice: Vec<&String> = keys.iter().filter(|k| !seen.insert(*k)).collect();
            assert!(twice.is_empty(), "{} defines these twice: {twice:?}", lang.code());
        }
        let zh: std::collections::BTreeSet<String> = keys(Lang::Zh).into_iter().collect();
        let en: std::collections::BTreeSet<String> = keys(Lang::En).into_iter().collect();
        assert_eq!(zh.difference(&en).collect::<Vec<_>>(), Vec::<&String>::new(), "only in zh-CN");
        assert_eq!(en.difference(&zh).collect::<Vec<_>>(), Vec::<&String>::new(), "only in en");
        assert!(zh.len() > 50);
    }

    /// Every key a template or the web code asks for (`l.t("…")`, `.t1("…"`, `keyed("…"`) is in both
    /// catalogues, so no page can show a bare key.
    #[test]
    fn every_key_used_in_the_code_is_defined() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["templates", "templates/mail", "src", "src/web", "src/services", "src/pdf"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                // This file's own examples and tests name keys that do not exist on purpose.
                if p.is_file() && p.file_name().is_some_and(|n| n != "i18n.rs") {
                    files.push(p);
                }
            }
        }
        let defined: std::collections::HashSet<String> = keys(Lang::Zh).into_iter().collect();
        let pattern = ["t(\"", "t1(\"", "t2(\"", "n(\"", "n2(\"", "args(\"", "keyed(\""];
        let mut missing = Vec::new();
        let mut used = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for p in pattern {
                for (at, _) in text.match_indices(p) {
                    // `l.t("`, `lang.t("`, `.keyed("`: a method call, not some other function ending in t.
                    if !text[..at].ends_with('.') {
                        continue;
                    }
                    let rest = &text[at + p.len()..];
                    let key = &rest[..rest.find('"').unwrap_or(0)];
                    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                        continue;
                    }
                    used += 1;
                    if !defined.contains(key) {
                        missing.push(format!("{}: {key}", file.display()));
                    }
                }
            }
        }
        assert!(used > 20, "the scan found only {used} keys");
        assert!(missing.is_empty(), "keys used but not defined: {missing:#?}");
    }

    #[test]
    fn plurals_follow_the_language() {
        assert_eq!(Lang::En.n("rule-valid-days", 1), "Valid for 1 day");
        assert_eq!(Lang::En.n("rule-valid-days", 30), "Valid for 30 days");
        assert_eq!(Lang::Zh.n("rule-valid-days", 1), "有效期 1 天");
    }

    #[test]
    fn money_and_time_are_written_the_locale_way() {
        assert_eq!(Lang::Zh.money(1999, "CNY"), "¥19.99");
        assert_eq!(Lang::En.money(123_456_789, "CNY"), "¥1,234,567.89");
        assert_eq!(Lang::En.money(-500, "USD"), "-$5.00");
        assert_eq!(Lang::Zh.money(500, "USD"), "US$5.00");
        assert_eq!(Lang::En.money(1200, "JPY"), "JP¥1,200");
        assert_eq!(Lang::En.money(5, "XYZ"), "5 XYZ");
        // 20:30 UTC is 04:30 the next day in Beijing.
        let ts = Timestamp::parse("2026-11-23T20:30:00Z").expect("a valid time");
        assert_eq!(Lang::Zh.time(ts), "2026-11-24 04:30");
        // A chosen zone moves the times, not the words; Beijing stays the default.
        let ny = Lang::En.in_zone(Zone::from_minutes(-300).expect("a listed zone"));
        assert_eq!((ny.time(ts), ny.date(ts)), ("2026-11-23 15:30".to_owned(), "2026-11-23".to_owned()));
        assert_eq!(ny.t("nav-dashboard"), Lang::En.t("nav-dashboard"));
        assert_eq!(ny.other().zone(), ny.zone(), "switching language keeps the zone");
        assert_eq!(ny.time_zoned(ts), "2026-11-23 15:30 (UTC-5)");
        assert_eq!(Lang::Zh.time_zoned(ts), "2026-11-24 04:30（北京时间）");
        assert_eq!(Lang::default(), Lang::Zh);
        let india = Zone::from_minutes(330).expect("a listed zone");
        assert_eq!(
            (india.label(), Zone::from_minutes(0).map(Zone::label)),
            ("UTC+5:30".to_owned(), Some("UTC".to_owned()))
        );
        assert_eq!(Zone::from_minutes(17), None, "only listed zones");
        assert_eq!(Lang::Zh.in_zone(india).times_note(), "时间均按 UTC+5:30 显示");
        assert_eq!(Lang::En.date(ts), "2026-11-24");
    }

    #[test]
    fn the_browser_language_picks_the_page_language() {
        assert_eq!(Lang::negotiate("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::negotiate("fr-FR, en;q=0.5, zh;q=0.7"), Lang::Zh);
        assert_eq!(Lang::negotiate("fr-FR"), Lang::Zh);
        assert_eq!(Lang::negotiate("en;q=0, zh-TW"), Lang::Zh);
        assert_eq!(Lang::negotiate(""), Lang::Zh);
        assert_eq!(Lang::parse("EN_gb"), Some(Lang::En));
        assert_eq!(Lang::parse("de"), None);
    }

    #[test]
    fn a_missing_key_shows_as_itself() {
        assert_eq!(Lang::En.t("no-such-key"), "no-such-key");
    }
}
