//! The fetcher against real HTTP servers on 127.0.0.1.
//!
//! Each test starts tiny servers (a std `TcpListener` in a thread, writing raw HTTP) that count the
//! connections they accept, so a refusal is proven to happen *before* anything reaches the network,
//! not merely to end in an error. Only 127.0.0.1 is ever contacted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use seal_crawler::{FetchError, FetchPolicy, Fetcher};
use url::Url;

type Handler = dyn Fn(&mut TcpStream, &Stats) + Send + Sync;

/// What a test server saw: connections accepted, and the most handled at the same time.
#[derive(Default)]
struct Stats {
    accepted: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

struct Server {
    addr: SocketAddr,
    stats: Arc<Stats>,
}

impl Server {
    /// Starts a server that runs `handler` for every connection, each on its own thread. The accept
    /// loop is detached; it ends with the test process.
    fn start(handler: impl Fn(&mut TcpStream, &Stats) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let stats = Arc::new(Stats::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let accept_stats = Arc::clone(&stats);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                accept_stats.accepted.fetch_add(1, Ordering::SeqCst);
                let stats = Arc::clone(&accept_stats);
                let handler = Arc::clone(&handler);
                thread::spawn(move || handler(&mut stream, &stats));
            }
        });
        Server { addr, stats }
    }

    /// A server that answers every request with `status`, extra header lines and `body`.
    fn respond(status: &'static str, headers: &'static str, body: &'static [u8]) -> Server {
        Server::start(move |stream, _| {
            read_request(stream);
            let head =
                format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n", body.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body);
        })
    }

    /// A server that redirects every request to `location`.
    fn redirect(location: String) -> Server {
        Server::start(move |stream, _| {
            read_request(stream);
            let head =
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
        })
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).expect("server URL")
    }

    fn accepted(&self) -> usize {
        // Give a connection that might be racing in a moment to be counted, so "no connection" means it.
        thread::sleep(Duration::from_millis(50));
        self.stats.accepted.load(Ordering::SeqCst)
    }
}

/// Reads the request head (until the blank line), so the client is not answered before it has sent.
fn read_request(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

fn exact(servers: &[&Server]) -> FetchPolicy {
    FetchPolicy { allow_exact: servers.iter().map(|s| s.addr).collect(), ..FetchPolicy::default() }
}

fn fetcher(policy: FetchPolicy) -> Fetcher {
    Fetcher::new(policy).expect("valid policy")
}

#[tokio::test]
async fn default_policy_refuses_loopback_and_localhost_without_connecting() {
    let server = Server::respond("200 OK", "", b"secret");
    let port = server.addr.port();
    let by_default = fetcher(FetchPolicy::default());
    // Even with the test port allowed, the address rules alone must refuse: the literal by the URL
    // check, `localhost` by the resolver once it resolves to 127.0.0.1.
    let port_open = fetcher(FetchPolicy { allowed_ports: vec![port], ..FetchPolicy::default() });
    for f in [&by_default, &port_open] {
        for url in
            [format!("http://127.0.0.1:{port}/"), format!("http://localhost:{port}/"), format!("http://127.1:{port}/")]
        {
            let url = Url::parse(&url).expect("url");
            let err = f.get(&url, 1024).await.expect_err("must be refused");
            assert!(matches!(err, FetchError::Refused), "{url}: {err:?}");
        }
    }
    assert_eq!(server.accepted(), 0, "a refused fetch must not connect");
}

#[tokio::test]
async fn every_spelling_of_the_local_host_is_refused() {
    // The url crate turns the numeric IPv4 spellings into 127.0.0.1 (and `0` into 0.0.0.0), the URL
    // check refuses the literals, and the resolver refuses `localhost`: all before any connection.
    let f = fetcher(FetchPolicy::default());
    for s in [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://[::ffff:7f00:1]/",
        "http://[::1]/",
        "http://localhost/",
        "https://localhost/",
        "http://0/",
    ] {
        let err = f.get(&Url::parse(s).expect("url"), 16).await.expect_err("must be refused");
        assert!(matches!(err, FetchError::Refused), "{s}: {err:?}");
    }
}

#[tokio::test]
async fn allow_exact_fetches_one_server_and_returns_any_status() {
    let ok = Server::respond("200 OK", "Content-Type: text/html; charset=utf-8\r\n", b"<p>hello</p>");
    let missing = Server::respond("404 Not Found", "", b"gone");
    let f = fetcher(exact(&[&ok, &missing]));

    let got = f.get(&ok.url("/page"), 1024).await.expect("fetch works");
    assert_eq!(got.status, 200);
    assert_eq!(got.body, b"<p>hello</p>");
    assert_eq!(got.content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert_eq!(got.final_url, ok.url("/page"));

    let got = f.get(&missing.url("/"), 1024).await.expect("a 404 is an answer, not an error");
    assert_eq!(got.status, 404);
    assert_eq!(got.body, b"gone");
}

#[tokio::test]
async fn sends_an_honest_user_agent() {
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let record = Arc::clone(&seen);
    let server = Server::start(move |stream, _| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap_or(0);
        if let Ok(mut s) = record.lock() {
            *s = String::from_utf8_lossy(&buf[..n]).into_owned();
        }
        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    });
    let got = fetcher(exact(&[&server])).get(&server.url("/"), 16).await.expect("fetch works");
    assert_eq!(got.status, 204);
    let request = seen.lock().expect("lock").to_ascii_lowercase();
    assert!(request.contains("user-agent: copyrightseal/"), "{request}");
}

#[tokio::test]
async fn redirect_to_another_loopback_port_is_refused_before_connecting() {
    let b = Server::respond("200 OK", "", b"internal");
    for location in [
        format!("http://127.0.0.1:{}/admin", b.addr.port()),
        format!("http://localhost:{}/admin", b.addr.port()),
        format!("http://2130706433:{}/admin", b.addr.port()),
        format!("http://[::1]:{}/admin", b.addr.port()),
        format!("//127.0.0.1:{}/admin", b.addr.port()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        let a = Server::redirect(location.clone());
        let err = fetcher(exact(&[&a])).get(&a.url("/"), 1024).await.expect_err("redirect must be refused");
        assert!(matches!(err, FetchError::Refused | FetchError::BadUrl), "{location}: {err:?}");
        assert_eq!(a.accepted(), 1, "{location}");
    }
    assert_eq!(b.accepted(), 0, "the redirect target must never be contacted");
}

#[tokio::test]
async fn redirect_chains_within_allowed_addresses_work_up_to_the_limit() {
    let c = Server::respond("200 OK", "", b"end of chain");
    let b = Server::redirect(c.url("/c").to_string());
    // A relative Location resolves against the current hop.
    let a = Server::redirect(format!("//{}/b", b.addr));
    let f = fetcher(exact(&[&a, &b, &c]));
    let got = f.get(&a.url("/a"), 1024).await.expect("chain works");
    assert_eq!(got.body, b"end of chain");
    assert_eq!(got.final_url, c.url("/c"));

    let strict = fetcher(FetchPolicy { max_redirects: 1, ..exact(&[&a, &b, &c]) });
    let err = strict.get(&a.url("/a"), 1024).await.expect_err("two redirects exceed one");
    assert!(matches!(err, FetchError::TooManyRedirects), "{err:?}");
    assert_eq!(c.accepted(), 1, "the hop past the limit must not be fetched");

    // A loop ends at max_redirects: the first request plus five redirects.
    let looping = Server::start(|stream, _| {
        read_request(stream);
        let _ = stream.write_all(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    let err = fetcher(exact(&[&looping])).get(&looping.url("/"), 1024).await.expect_err("loop");
    assert!(matches!(err, FetchError::TooManyRedirects), "{err:?}");
    assert_eq!(looping.accepted(), 6);
}

/// A redirect hop that waits its turn (the crawler's politeness hook) longer than the deadline still
/// arrives: the wait is ours, not the server's. A slow server after the wait still times out.
#[tokio::test]
async fn a_hop_waiting_for_politeness_does_not_spend_the_deadline() {
    let end = Server::respond("200 OK", "", b"moved here");
    let start = Server::redirect(end.url("/moved").to_string());
    let f = fetcher(FetchPolicy { deadline: Duration::from_millis(600), ..exact(&[&start, &end]) });
    let waited = std::sync::atomic::AtomicUsize::new(0);
    let hook = |_: Url| -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        waited.fetch_add(1, Ordering::SeqCst);
        Box::pin(tokio::time::sleep(Duration::from_millis(1500)))
    };
    let got = f.get_paced(&start.url("/"), 1024, Some(&hook)).await.expect("the hop arrives after its wait");
    assert_eq!(got.body, b"moved here");
    assert_eq!(waited.load(Ordering::SeqCst), 1);

    let slow = Server::start(|stream, _| {
        read_request(stream);
        thread::sleep(Duration::from_secs(3));
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let via = Server::redirect(slow.url("/").to_string());
    let f = fetcher(FetchPolicy { deadline: Duration::from_millis(600), ..exact(&[&via, &slow]) });
    let started = Instant::now();
    let err = f.get_paced(&via.url("/"), 1024, Some(&hook)).await.expect_err("the slow server still times out");
    assert!(matches!(err, FetchError::TimedOut), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(2800), "held for {:?}", started.elapsed());
}

#[tokio::test]
async fn a_trickling_body_is_cut_off_at_the_deadline() {
    let slow = Server::start(|stream, _| {
        read_request(stream);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n");
        // One byte a second, bounded, until the client hangs up.
        for _ in 0..20 {
            if stream.write_all(b"x").and_then(|()| stream.flush()).is_err() {
                return;
            }
            thread::sleep(Duration::from_secs(1));
        }
    });
    let f = fetcher(FetchPolicy { deadline: Duration::from_secs(1), ..exact(&[&slow]) });
    let started = Instant::now();
    let err = f.get(&slow.url("/"), 1024).await.expect_err("must time out");
    let elapsed = started.elapsed();
    assert!(matches!(err, FetchError::TimedOut), "{err:?}");
    assert!(elapsed < Duration::from_secs(3), "held for {elapsed:?}");
}

#[tokio::test]
async fn a_body_over_the_cap_is_too_large() {
    static BIG: [u8; 10_000] = [b'a'; 10_000];
    // Announced by Content-Length: refused before the body is read.
    let declared = Server::respond("200 OK", "", &BIG);
    // Chunked, no length: refused while streaming.
    let streamed = Server::start(|stream, _| {
        read_request(stream);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        for _ in 0..10 {
            let _ = stream.write_all(b"3e8\r\n");
            let _ = stream.write_all(&BIG[..1000]);
            let _ = stream.write_all(b"\r\n");
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    let f = fetcher(exact(&[&declared, &streamed]));
    for server in [&declared, &streamed] {
        let err = f.get(&server.url("/"), 4096).await.expect_err("over the cap");
        assert!(matches!(err, FetchError::TooLarge), "{err:?}");
    }
    // The same bodies fit under a larger cap.
    assert_eq!(f.get(&streamed.url("/"), 10_000).await.expect("fits").body.len(), 10_000);
    assert_eq!(f.get(&declared.url("/"), 10_000).await.expect("fits").body.len(), 10_000);
}

/// `data` gzipped, as a server would send it with `Content-Encoding: gzip`.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// A server that sends `body` gzipped, announcing the compressed length.
fn gzip_server(body: Vec<u8>) -> Server {
    Server::start(move |stream, _| {
        read_request(stream);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    })
}

#[tokio::test]
async fn gzip_bodies_are_decoded_and_the_cap_counts_decoded_bytes() {
    let page = gzip_server(gzip(b"<p>compressed page</p>"));
    // A gzip bomb in miniature: 1 MiB of zeros is about a kilobyte on the wire.
    let zeros = gzip(&vec![0u8; 1 << 20]);
    assert!(zeros.len() < 8 * 1024);
    let bomb = gzip_server(zeros);
    let f = fetcher(exact(&[&page, &bomb]));

    let got = f.get(&page.url("/"), 1024).await.expect("gzip page");
    assert_eq!(got.body, b"<p>compressed page</p>");

    let err = f.get(&bomb.url("/"), 64 * 1024).await.expect_err("decoded size is over the cap");
    assert!(matches!(err, FetchError::TooLarge), "{err:?}");
}

#[tokio::test]
async fn a_redirect_status_without_location_is_returned_as_is() {
    let server = Server::respond("302 Found", "", b"nowhere to go");
    let got = fetcher(exact(&[&server])).get(&server.url("/"), 1024).await.expect("an answer");
    assert_eq!(got.status, 302);
    assert_eq!(got.body, b"nowhere to go");
}

#[tokio::test]
async fn a_closed_port_and_a_hang_up_look_the_same() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
        // Dropped here: nothing listens on this port any more.
    };
    let hangs_up = Server::start(|stream, _| {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    });
    let f = fetcher(FetchPolicy { allow_exact: vec![closed, hangs_up.addr], ..FetchPolicy::default() });
    let closed_url = Url::parse(&format!("http://{closed}/")).expect("url");
    let a = f.get(&closed_url, 1024).await.expect_err("closed port");
    let b = f.get(&hangs_up.url("/"), 1024).await.expect_err("hang up");
    assert!(matches!(a, FetchError::Unreachable), "{a:?}");
    assert!(matches!(b, FetchError::Unreachable), "{b:?}");
    assert_eq!(a.to_string(), b.to_string());
    // The text gives nothing away about the network.
    let text = a.to_string();
    assert!(!text.contains("127.0.0.1") && !text.contains(&closed.port().to_string()), "{text}");
    assert!(!text.to_lowercase().contains("refused"), "{text}");
}

#[tokio::test]
async fn allow_private_still_refuses_ports_outside_the_list() {
    let server = Server::respond("200 OK", "", b"intranet page");
    let private = fetcher(FetchPolicy { allow_private: true, ..FetchPolicy::default() });
    let err = private.get(&server.url("/"), 1024).await.expect_err("port not allowed");
    assert!(matches!(err, FetchError::Refused), "{err:?}");
    assert_eq!(server.accepted(), 0);

    // With the port listed, allow_private opens loopback, names included (the resolver's allow path).
    let intranet =
        fetcher(FetchPolicy { allow_private: true, allowed_ports: vec![server.addr.port()], ..FetchPolicy::default() });
    let by_name = Url::parse(&format!("http://localhost:{}/", server.addr.port())).expect("url");
    let got = intranet.get(&by_name, 1024).await.expect("intranet fetch");
    assert_eq!(got.body, b"intranet page");
}

#[tokio::test]
async fn the_concurrency_cap_holds_and_waiting_counts_against_the_deadline() {
    let slow = Server::start(|stream, stats| {
        read_request(stream);
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(300));
        // Leave before answering, so the client cannot start its next fetch while this one still counts.
        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    let f = fetcher(FetchPolicy { max_concurrent: 2, ..exact(&[&slow]) });
    let url = slow.url("/");
    let (g1, g2) = (f.clone(), f.clone());
    let started = Instant::now();
    let (a, b, c, d) = tokio::join!(f.get(&url, 16), g1.get(&url, 16), g2.get(&url, 16), f.get(&url, 16));
    for r in [a, b, c, d] {
        assert_eq!(r.expect("every fetch completes").body, b"ok");
    }
    assert!(slow.stats.max_in_flight.load(Ordering::SeqCst) <= 2, "more than 2 fetches in flight");
    assert!(started.elapsed() >= Duration::from_millis(550), "4 fetches of 300 ms two at a time take two rounds");

    // One slot and a deadline between one and two answers (wide margins both ways, for a busy machine):
    // the second fetch times out waiting for the slot.
    let slower = Server::start(|stream, _| {
        read_request(stream);
        thread::sleep(Duration::from_millis(800));
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    let one = fetcher(FetchPolicy { max_concurrent: 1, deadline: Duration::from_millis(1200), ..exact(&[&slower]) });
    let url = slower.url("/");
    let (first, second) = tokio::join!(one.get(&url, 16), one.get(&url, 16));
    let results = [first, second];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().any(|r| matches!(r, Err(FetchError::TimedOut))));
}

#[tokio::test]
async fn bad_urls_and_policies_are_refused_up_front() {
    let f = fetcher(FetchPolicy::default());
    for s in ["ftp://example.com/", "http://user:pw@example.com/", "file:///etc/passwd"] {
        let err = f.get(&Url::parse(s).expect("url"), 16).await.expect_err("bad url");
        assert!(matches!(err, FetchError::BadUrl), "{s}: {err:?}");
    }
    assert!(matches!(
        Fetcher::new(FetchPolicy { max_concurrent: 0, ..FetchPolicy::default() }),
        Err(FetchError::BadPolicy)
    ));
    assert!(matches!(
        Fetcher::new(FetchPolicy { user_agent: "bad\nagent".to_owned(), ..FetchPolicy::default() }),
        Err(FetchError::BadPolicy)
    ));
}

/// Reads a whole request (head and a `Content-Length` body) and returns it.
fn read_whole_request(stream: &mut TcpStream) -> Vec<u8> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + len {
                return seen;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn post_sends_its_body_and_follows_only_redirects_that_keep_it() {
    // An echo server: answers with the request it read, so the test sees method, type and body.
    let echo = Server::start(|stream, _| {
        let request = read_whole_request(stream);
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", request.len());
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&request);
    });
    let to_echo = format!("http://{}/tsa", echo.addr);
    let keeps = Server::start(move |stream, _| {
        read_whole_request(stream);
        let head = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {to_echo}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes());
    });
    let see_other = Server::redirect(format!("http://{}/tsa", echo.addr));
    let f = fetcher(exact(&[&echo, &keeps, &see_other]));

    let body = b"\x30\x03\x02\x01\x01";
    let got = f.post(&echo.url("/tsa"), "application/timestamp-query", body, 4096).await.expect("post works");
    assert_eq!(got.status, 200);
    let text = String::from_utf8_lossy(&got.body).to_ascii_lowercase();
    assert!(text.starts_with("post /tsa http/1.1"), "{text}");
    assert!(text.contains("content-type: application/timestamp-query"), "{text}");
    assert!(got.body.ends_with(body), "the body arrives unchanged");

    let got = f.post(&keeps.url("/"), "application/timestamp-query", body, 4096).await.expect("307 is followed");
    assert_eq!(got.final_url, echo.url("/tsa"));
    assert!(got.body.ends_with(body), "a 307 hop keeps the body");

    // A 302 would turn the POST into a GET: it is the answer, not followed.
    let accepted_before = echo.accepted();
    let got = f.post(&see_other.url("/"), "application/timestamp-query", body, 4096).await.expect("an answer");
    assert_eq!(got.status, 302);
    assert_eq!(echo.accepted(), accepted_before, "the 302 target is not asked");

    // The guard and the cap apply to POST as to GET.
    let guarded = fetcher(FetchPolicy::default());
    let err = guarded.post(&echo.url("/tsa"), "application/timestamp-query", body, 4096).await.expect_err("refused");
    assert!(matches!(err, FetchError::Refused), "{err:?}");
    let err = f.post(&echo.url("/tsa"), "application/timestamp-query", body, 8).await.expect_err("too large");
    assert!(matches!(err, FetchError::TooLarge), "{err:?}");
}

#[tokio::test]
async fn a_post_redirect_to_a_forbidden_address_is_refused() {
    let inside = Server::respond("200 OK", "", b"internal");
    let location = format!("http://127.0.0.1:{}/admin", inside.addr.port());
    let redirect = Server::start(move |stream, _| {
        read_whole_request(stream);
        let head = format!(
            "HTTP/1.1 308 Permanent Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes());
    });
    let err = fetcher(exact(&[&redirect]))
        .post(&redirect.url("/"), "application/timestamp-query", b"x", 1024)
        .await
        .expect_err("must be refused");
    assert!(matches!(err, FetchError::Refused), "{err:?}");
    assert_eq!(inside.accepted(), 0);
}
