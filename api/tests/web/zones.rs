//! Times in the user's time zone (issue 14): Beijing time by default; a zone chosen in the account
//! bar moves every time on the pages, follows the account to another browser, and leaves documents
//! (PDFs, case deadlines) in Beijing time.

use super::*;

#[actix_web::test]
async fn a_chosen_time_zone_moves_the_times_and_follows_the_account() -> Result<()> {
    let w = world()?;
    let mut a = sign_in(&w, "holder-a@demo.test", "demo-password").await;
    let before = a.get(&w, "/dashboard/licences").await.text();
    assert!(before.contains("时间均为北京时间"), "Beijing time by default");
    let bad = a.form(&w, "/account/time-zone", &[("minutes", "17")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let r = a.form(&w, "/account/time-zone", &[("minutes", "540")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let after = a.get(&w, "/dashboard/licences").await.text();
    assert!(after.contains("时间均按 UTC+9 显示"), "{after}");
    // Every time on the page is one hour later than in Beijing (UTC+8 → UTC+9).
    let times = |page: &str| -> Vec<String> {
        let shape = |s: &[u8]| {
            s.len() >= 16
                && s.iter().take(16).enumerate().all(|(i, c)| match i {
                    4 | 7 => *c == b'-',
                    10 => *c == b' ',
                    13 => *c == b':',
                    _ => c.is_ascii_digit(),
                })
        };
        page.char_indices()
            .filter(|(i, _)| shape(&page.as_bytes()[*i..]))
            .map(|(i, _)| page[i..i + 16].to_owned())
            .collect()
    };
    let (t0, t1) = (times(&before), times(&after));
    assert!(!t0.is_empty() && t0.len() == t1.len(), "{t0:?} {t1:?}");
    for (b, a) in t0.iter().zip(&t1) {
        let shift = |t: &str| Timestamp::parse(&format!("{}T{}:00Z", &t[..10], &t[11..16])).map(|x| x.unix_ms());
        assert_eq!(shift(a)? - shift(b)?, 3_600_000, "{b} → {a}");
    }
    // Another browser of the same account gets the zone at sign-in.
    let mut other = sign_in(&w, "holder-a@demo.test", "demo-password").await;
    assert!(other.get(&w, "/dashboard").await.text().contains("UTC+9"));
    // A visitor who chose nothing stays in Beijing time.
    assert!(Browser::default().get(&w, "/").await.text().contains("时间均为北京时间"));
    Ok(())
}
