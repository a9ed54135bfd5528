//! Usage reports: how far an organisation's works travel and how much of that use is licensed, over a
//! date range, and the weekly summary mailed to members who asked for it.
//!
//! Every figure comes from the records store's plain-column queries ([`crate::store::usage`]); buckets
//! of weeks and months are folded from days here, so no database date function is needed.

use crate::domain::Mail;
use crate::store::prelude::*;
use crate::store::usage::{GroupBy, Sites, Split, UsagePoint, UsageScope};
use crate::store::{SqliteStore, StoreError};
use seal_licensing::ids::{PartyId, WorkId};
use seal_licensing::time::MS_PER_DAY;
use seal_licensing::Timestamp;

/// How uses over time are bucketed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// Per day (ranges up to 400 days).
    Day,
    /// Per week from Monday (ranges up to 10 years).
    Week,
    /// Per calendar month (ranges up to 50 years).
    Month,
}

impl Bucket {
    /// Parses `day`, `week` or `month`.
    pub fn parse(text: &str) -> Option<Bucket> {
        Some(match text {
            "day" => Bucket::Day,
            "week" => Bucket::Week,
            "month" => Bucket::Month,
            _ => return None,
        })
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
        }
    }

    /// The most buckets a report draws.
    fn max_days(self) -> i64 {
        match self {
            Bucket::Day => 400,
            Bucket::Week => 3_660,
            Bucket::Month => 18_300,
        }
    }

    /// The first day of the bucket holding `day` (days since the epoch).
    pub fn start(self, day: i64) -> i64 {
        match self {
            Bucket::Day => day,
            // 1970-01-01 was a Thursday: Monday is three days earlier.
            Bucket::Week => day - (day + 3).rem_euclid(7),
            Bucket::Month => {
                let (y, m, _) = Timestamp::from_unix_ms(day * MS_PER_DAY).date();
                Timestamp::from_date(y, m, 1).map_or(day, |t| t.unix_ms() / MS_PER_DAY)
            }
        }
    }

    /// The first day of the bucket after the one starting on `start`.
    fn next(self, start: i64) -> i64 {
        match self {
            Bucket::Day => start + 1,
            Bucket::Week => start + 7,
            Bucket::Month => {
                let (y, m, _) = Timestamp::from_unix_ms(start * MS_PER_DAY).date();
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                Timestamp::from_date(y, m, 1).map_or(start + 31, |t| t.unix_ms() / MS_PER_DAY)
            }
        }
    }
}

/// Why a report was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The range or the bucket (a 400).
    #[error("{0}")]
    Invalid(String),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A usage report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct UsageReport {
    /// Start, inclusive (RFC 3339).
    pub from: String,
    /// End, exclusive.
    pub to: String,
    /// Bucket of the series.
    pub bucket: Bucket,
    /// Uses first seen per bucket, every bucket of the range (zero where none); `day` is the bucket's
    /// first day since the epoch, `label` its date.
    pub series: Vec<SeriesPoint>,
    /// Uses seen in the range, licensed and not.
    pub share: Split,
    /// Hosts with the most uses.
    pub top_domains: Vec<Split>,
    /// The most used works, with titles.
    pub top_works: Vec<WorkUse>,
    /// New and recurring copying sites.
    pub sites: Sites,
    /// Text versus image.
    pub kinds: Vec<Split>,
}

/// One bucket of the series.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SeriesPoint {
    /// `YYYY-MM-DD` of the bucket's first day.
    pub label: String,
    /// Licensed uses first seen in it.
    pub white: i64,
    /// Unlicensed uses first seen in it.
    pub black: i64,
}

/// A work's uses.
#[derive(Clone, Debug, serde::Serialize)]
pub struct WorkUse {
    /// The work.
    pub work: String,
    /// Its title.
    pub title: String,
    /// Licensed uses.
    pub white: i64,
    /// Unlicensed uses.
    pub black: i64,
}

/// Rows in each top list.
pub const TOP: usize = 10;

/// Checks a range and bucket: `from < to`, no more buckets than the bucket allows.
pub fn check_range(from: Timestamp, to: Timestamp, bucket: Bucket) -> Result<(), ReportError> {
    if from >= to {
        return Err(ReportError::Invalid("`from` must be before `to`".into()));
    }
    let days = (to.unix_ms() - from.unix_ms()) / MS_PER_DAY;
    if days > bucket.max_days() {
        return Err(ReportError::Invalid(format!(
            "a report by {} covers at most {} days; choose a larger bucket or a shorter range",
            bucket.as_str(),
            bucket.max_days()
        )));
    }
    Ok(())
}

/// Folds per-day points into buckets covering `[from, to)`, zeros included.
pub fn fold(points: &[UsagePoint], bucket: Bucket, from: Timestamp, to: Timestamp) -> Vec<SeriesPoint> {
    let first = bucket.start(from.unix_ms().div_euclid(MS_PER_DAY));
    let last_day = (to.unix_ms() - 1).div_euclid(MS_PER_DAY);
    let mut out = Vec::new();
    let mut start = first;
    let mut p = points.iter().peekable();
    while start <= last_day {
        let next = bucket.next(start);
        let (mut white, mut black) = (0, 0);
        while let Some(point) = p.next_if(|q| q.day < next) {
            if point.day >= start {
                white += point.white;
                black += point.black;
            }
        }
        let label = Timestamp::from_unix_ms(start * MS_PER_DAY).to_string()[..10].to_owned();
        out.push(SeriesPoint { label, white, black });
        start = next;
    }
    out
}

/// The usage report of a scope: one organisation (every one for `None`), optionally one work, over
/// `[from, to)`.
pub fn usage_report(store: &SqliteStore, scope: &UsageScope, bucket: Bucket) -> Result<UsageReport, ReportError> {
    let (from, to) = (scope.from, scope.to);
    check_range(from, to, bucket)?;
    let scope = scope.clone();
    let days = store.usage_by_day(&scope)?;
    let kinds = store.usage_by(&scope, GroupBy::Kind, 10)?;
    let share = kinds.iter().fold(Split { key: "all".into(), ..Split::default() }, |acc, k| Split {
        white: acc.white + k.white,
        black: acc.black + k.black,
        ..acc
    });
    let mut top_works = Vec::new();
    for s in store.usage_by(&scope, GroupBy::Work, TOP)? {
        let title = WorkId::new(s.key.clone()).ok().and_then(|w| store.work(&w).ok().flatten()).map(|w| w.title);
        top_works.push(WorkUse {
            title: title.unwrap_or_else(|| s.key.clone()),
            work: s.key,
            white: s.white,
            black: s.black,
        });
    }
    Ok(UsageReport {
        from: from.to_string(),
        to: to.to_string(),
        bucket,
        series: fold(&days, bucket, from, to),
        share,
        top_domains: store.usage_by(&scope, GroupBy::Domain, TOP)?,
        top_works,
        sites: store.sites(&scope, TOP)?,
        kinds,
    })
}

/// The weekly summary: the last seven days against the seven before.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// The organisation.
    pub org: String,
    /// The week's report (by day).
    pub week: UsageReport,
    /// Uses seen in the week before it, licensed and not.
    pub previous: Split,
}

/// The summary of the seven days up to `now`.
pub fn weekly_summary(store: &SqliteStore, org: &PartyId, now: Timestamp) -> Result<Summary, ReportError> {
    let from = now.saturating_add_ms(-7 * MS_PER_DAY);
    let scope = |from, to| UsageScope { owner: Some(org.clone()), work: None, from, to };
    let week = usage_report(store, &scope(from, now), Bucket::Day)?;
    let before = usage_report(store, &scope(from.saturating_add_ms(-7 * MS_PER_DAY), from), Bucket::Day)?;
    Ok(Summary { org: org.to_string(), week, previous: before.share })
}

/// The summary as a plain-text mail body, in Chinese and English.
pub fn summary_text(name: &str, s: &Summary, public_url: &str) -> String {
    use std::fmt::Write;
    let w = &s.week;
    let mut t = String::new();
    let _ = writeln!(t, "{name}：本周版权使用摘要 · Your week in use ({} – {})\n", &w.from[..10], &w.to[..10]);
    let _ = writeln!(
        t,
        "使用 Uses: {} (授权 licensed {}, 未授权 unlicensed {}); 上周 the week before: {}",
        w.share.total(),
        w.share.white,
        w.share.black,
        s.previous.total()
    );
    let _ = writeln!(
        t,
        "新出现的网站 New copying sites: {}; 再次出现 recurring: {}",
        w.sites.new_count, w.sites.recurring_count
    );
    if !w.top_domains.is_empty() {
        let _ = writeln!(t, "\n使用最多的网站 Top sites:");
        for d in w.top_domains.iter().take(5) {
            let _ = writeln!(t, "  {}  {} (未授权 unlicensed {})", d.key, d.total(), d.black);
        }
    }
    if !w.top_works.is_empty() {
        let _ = writeln!(t, "\n被使用最多的作品 Most used works:");
        for u in w.top_works.iter().take(5) {
            let _ = writeln!(t, "  {}  {}", u.title, u.white + u.black);
        }
    }
    let _ = writeln!(t, "\n完整报告 Full report: {public_url}/dashboard/reports");
    let _ = writeln!(t, "退订 Unsubscribe: {public_url}/dashboard/reports (每周摘要 weekly summary)");
    t
}

/// Mails the weekly summary to every subscribed member whose last one is a week old, through the
/// outbox; each mail and its "sent" mark commit together. Returns how many were queued.
pub fn send_weekly_summaries(store: &mut SqliteStore, public_url: &str, now: Timestamp) -> Result<usize, ReportError> {
    let due = store.summary_due(now.saturating_add_ms(-7 * MS_PER_DAY + 3_600_000))?;
    let mut sent = 0;
    for member in due {
        let Some(user) = store.user(&member.user)? else { continue };
        let summary = weekly_summary(store, &member.org, now)?;
        let org_name = store.user(&member.org)?.map(|u| u.name).unwrap_or_else(|| member.org.to_string());
        let mail = Mail {
            to: user.email.clone(),
            subject: format!("{org_name} 每周版权使用摘要 · Weekly usage summary"),
            body: summary_text(&org_name, &summary, public_url),
            attachment: None,
        };
        store.atomically(|s| -> Result<(), StoreError> {
            s.enqueue_mail(&mail, now)?;
            s.summary_sent(&member.user, now)
        })?;
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Timestamp {
        Timestamp::parse(&format!("{text}T00:00:00Z")).expect("a date")
    }

    #[test]
    fn buckets_start_on_days_mondays_and_firsts() {
        let d = day("2026-12-03").unix_ms() / MS_PER_DAY; // a Thursday
        assert_eq!(Bucket::Week.start(d), day("2026-11-30").unix_ms() / MS_PER_DAY);
        assert_eq!(Bucket::Month.start(d), day("2026-12-01").unix_ms() / MS_PER_DAY);
        assert_eq!(
            Bucket::Month.next(day("2026-12-01").unix_ms() / MS_PER_DAY),
            day("2027-01-01").unix_ms() / MS_PER_DAY
        );
    }

    #[test]
    fn folding_fills_gaps_and_sums_buckets() {
        let d = |s: &str| day(s).unix_ms() / MS_PER_DAY;
        let points = [
            UsagePoint { day: d("2026-11-02"), white: 1, black: 2 },
            UsagePoint { day: d("2026-11-08"), white: 0, black: 1 },
            UsagePoint { day: d("2026-11-10"), white: 5, black: 0 },
        ];
        let weeks = fold(&points, Bucket::Week, day("2026-11-02"), day("2026-11-16"));
        assert_eq!(weeks.len(), 2);
        assert_eq!((weeks[0].label.as_str(), weeks[0].white, weeks[0].black), ("2026-11-02", 1, 3));
        assert_eq!((weeks[1].white, weeks[1].black), (5, 0));
        let days = fold(&points, Bucket::Day, day("2026-11-01"), day("2026-11-11"));
        assert_eq!(days.len(), 10);
        assert_eq!(days.iter().map(|p| p.white + p.black).sum::<i64>(), 9);
        let months = fold(&points, Bucket::Month, day("2026-10-15"), day("2026-12-02"));
        assert_eq!(
            months.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
            ["2026-10-01", "2026-11-01", "2026-12-01"]
        );
    }

    #[test]
    fn ranges_are_bounded() {
        assert!(check_range(day("2026-11-02"), day("2026-11-01"), Bucket::Day).is_err());
        assert!(check_range(day("2020-01-01"), day("2026-01-01"), Bucket::Day).is_err());
        assert!(check_range(day("2020-01-01"), day("2026-01-01"), Bucket::Week).is_ok());
    }
}
