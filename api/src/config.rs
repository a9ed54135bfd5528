//! Server settings. Each setting comes from, in rising precedence: its default, the config file
//! (TOML, `--config FILE` or `SEAL_CONFIG`), an environment variable, and a command-line flag. Every
//! setting is listed in [`SETTINGS`] with its variable and meaning; `seal serve --help` and the README
//! print the same table.

use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// One documented setting: TOML key, environment variable, default, meaning.
pub type SettingDoc = (&'static str, &'static str, &'static str, &'static str);

/// Every setting, for `--help` and the README.
pub const SETTINGS: &[SettingDoc] = &[
    ("bind", "SEAL_BIND", "127.0.0.1:8080", "address and port to listen on"),
    ("data", "SEAL_DATA", "./seal-data", "data directory: seal.db (SQLite), platform key, index folder"),
    ("public_url", "SEAL_PUBLIC_URL", "http://BIND", "the URL readers reach the server at; used in embed codes"),
    ("demo", "SEAL_DEMO", "false", "load demo rights holders, works, offers and licences on start"),
    ("workers", "SEAL_WORKERS", "number of cores", "HTTP worker threads"),
    ("log_format", "SEAL_LOG_FORMAT", "pretty", "`pretty` or `json` (one JSON object per line)"),
    ("session_days", "SEAL_SESSION_DAYS", "14", "days a sign-in lasts"),
    ("secure_cookies", "SEAL_SECURE_COOKIES", "true when public_url is https", "mark cookies Secure"),
    ("max_body_kb", "SEAL_MAX_BODY_KB", "64", "largest accepted request body, KiB"),
    ("webhook_tolerance_s", "SEAL_WEBHOOK_TOLERANCE_S", "300", "oldest payment webhook accepted, seconds"),
    (
        "smtp_url",
        "SEAL_SMTP_URL",
        "unset",
        "SMTP relay for licence emails, smtp://HOST:PORT (unset: mail waits in the outbox)",
    ),
    ("mail_from", "SEAL_MAIL_FROM", "Copyright Seal <no-reply@localhost>", "sender of licence emails"),
    (
        "fetch_private",
        "SEAL_FETCH_PRIVATE",
        "false",
        "let ownership checks and first-view fetches reach loopback, private and link-local addresses (tests, intranets only)",
    ),
    (
        "tsa_url",
        "SEAL_TSA_URL",
        "unset",
        "an external RFC 3161 time-stamp authority (http or https URL) asked to stamp every registration as well as ours",
    ),
    ("fetch_ports", "SEAL_FETCH_PORTS", "80,443", "ports outbound fetches may connect to (TOML: a list)"),
    (
        "page_retention",
        "SEAL_PAGE_RETENTION",
        "1000000",
        "pages kept for retroactive matching, about 1 to 3 KB of memory each (also read by seal crawl, ingest, include)",
    ),
    (
        "trusted_proxies",
        "SEAL_TRUSTED_PROXIES",
        "none",
        "reverse proxies (IP addresses, comma-separated; TOML: a list) whose X-Forwarded-For names the client for rate limits",
    ),
];

/// The default of `page_retention`: the last million pages.
pub const PAGE_RETENTION: usize = 1_000_000;

/// A partial configuration: one layer (file, environment or flags).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    /// See [`SETTINGS`].
    pub bind: Option<SocketAddr>,
    /// See [`SETTINGS`].
    pub data: Option<PathBuf>,
    /// See [`SETTINGS`].
    pub public_url: Option<String>,
    /// See [`SETTINGS`].
    pub demo: Option<bool>,
    /// See [`SETTINGS`].
    pub workers: Option<usize>,
    /// See [`SETTINGS`].
    pub log_format: Option<String>,
    /// See [`SETTINGS`].
    pub session_days: Option<u32>,
    /// See [`SETTINGS`].
    pub secure_cookies: Option<bool>,
    /// See [`SETTINGS`].
    pub max_body_kb: Option<usize>,
    /// See [`SETTINGS`].
    pub webhook_tolerance_s: Option<i64>,
    /// See [`SETTINGS`].
    pub settle_every_s: Option<u64>,
    /// See [`SETTINGS`].
    pub smtp_url: Option<String>,
    /// See [`SETTINGS`].
    pub mail_from: Option<String>,
    /// See [`SETTINGS`].
    pub fetch_private: Option<bool>,
    /// See [`SETTINGS`].
    pub fetch_ports: Option<Vec<u16>>,
    /// See [`SETTINGS`].
    pub tsa_url: Option<String>,
    /// See [`SETTINGS`].
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// See [`SETTINGS`].
    pub page_retention: Option<usize>,
}

/// The resolved configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeConfig {
    /// Listen address.
    pub bind: SocketAddr,
    /// Data directory.
    pub data: PathBuf,
    /// Public base URL without a trailing slash.
    pub public_url: String,
    /// Load demo data.
    pub demo: bool,
    /// Worker threads.
    pub workers: usize,
    /// Log as JSON lines.
    pub log_json: bool,
    /// Session lifetime in days.
    pub session_days: u32,
    /// Secure cookies.
    pub secure_cookies: bool,
    /// Body limit in bytes.
    pub max_body_bytes: usize,
    /// Oldest webhook timestamp accepted, seconds.
    pub webhook_tolerance_s: i64,
    /// Seconds between automatic settlement passes; 0 turns them off.
    pub settle_every_s: u64,
    /// SMTP relay as (host, port), if mail is to be sent.
    pub smtp: Option<(String, u16)>,
    /// Sender of licence emails.
    pub mail_from: String,
    /// Whether outbound fetches may reach private addresses.
    pub fetch_private: bool,
    /// Ports outbound fetches may connect to.
    pub fetch_ports: Vec<u16>,
    /// An external RFC 3161 TSA that stamps every registration too, reached through the guarded fetcher.
    pub tsa_url: Option<url::Url>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Pages the retroactive-matching index keeps.
    pub page_retention: usize,
}

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for these settings.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// The parser's message (names the line and the key).
        message: String,
    },
    /// An environment variable has a value of the wrong form.
    #[error("{var}={value:?}: {reason}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl ConfigLayer {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<ConfigLayer, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::File { path: path.to_owned(), message: e.to_string() })
    }

    /// Reads the `SEAL_*` variables through `get` (so tests need not touch the process environment).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<ConfigLayer, ConfigError> {
        fn parse<T: std::str::FromStr>(
            get: &impl Fn(&str) -> Option<String>,
            var: &'static str,
            reason: &'static str,
        ) -> Result<Option<T>, ConfigError> {
            match get(var) {
                None => Ok(None),
                Some(v) if v.is_empty() => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| ConfigError::Env { var, value: v, reason }),
            }
        }
        fn list<T: std::str::FromStr>(
            get: &impl Fn(&str) -> Option<String>,
            var: &'static str,
            reason: &'static str,
        ) -> Result<Option<Vec<T>>, ConfigError> {
            match get(var) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v
                    .split(',')
                    .map(|item| item.trim().parse())
                    .collect::<Result<Vec<T>, _>>()
                    .map(Some)
                    .map_err(|_| ConfigError::Env { var, value: v.clone(), reason }),
            }
        }
        Ok(ConfigLayer {
            bind: parse(&get, "SEAL_BIND", "expected HOST:PORT, e.g. 127.0.0.1:8080")?,
            data: get("SEAL_DATA").filter(|v| !v.is_empty()).map(PathBuf::from),
            public_url: get("SEAL_PUBLIC_URL").filter(|v| !v.is_empty()),
            demo: parse(&get, "SEAL_DEMO", "expected true or false")?,
            workers: parse(&get, "SEAL_WORKERS", "expected a whole number")?,
            log_format: get("SEAL_LOG_FORMAT").filter(|v| !v.is_empty()),
            session_days: parse(&get, "SEAL_SESSION_DAYS", "expected a whole number of days")?,
            secure_cookies: parse(&get, "SEAL_SECURE_COOKIES", "expected true or false")?,
            max_body_kb: parse(&get, "SEAL_MAX_BODY_KB", "expected a whole number of KiB")?,
            webhook_tolerance_s: parse(&get, "SEAL_WEBHOOK_TOLERANCE_S", "expected seconds")?,
            settle_every_s: parse(&get, "SEAL_SETTLE_EVERY_S", "expected seconds")?,
            smtp_url: get("SEAL_SMTP_URL").filter(|v| !v.is_empty()),
            mail_from: get("SEAL_MAIL_FROM").filter(|v| !v.is_empty()),
            fetch_private: parse(&get, "SEAL_FETCH_PRIVATE", "expected true or false")?,
            fetch_ports: list(&get, "SEAL_FETCH_PORTS", "expected port numbers separated by commas")?,
            tsa_url: get("SEAL_TSA_URL").filter(|v| !v.trim().is_empty()),
            trusted_proxies: list(&get, "SEAL_TRUSTED_PROXIES", "expected IP addresses separated by commas")?,
            page_retention: parse(&get, "SEAL_PAGE_RETENTION", "expected a whole number of pages")?,
        })
    }

    /// This layer with `over`'s set values on top.
    pub fn overlay(self, over: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            bind: over.bind.or(self.bind),
            data: over.data.or(self.data),
            public_url: over.public_url.or(self.public_url),
            demo: over.demo.or(self.demo),
            workers: over.workers.or(self.workers),
            log_format: over.log_format.or(self.log_format),
            session_days: over.session_days.or(self.session_days),
            secure_cookies: over.secure_cookies.or(self.secure_cookies),
            max_body_kb: over.max_body_kb.or(self.max_body_kb),
            webhook_tolerance_s: over.webhook_tolerance_s.or(self.webhook_tolerance_s),
            settle_every_s: over.settle_every_s.or(self.settle_every_s),
            smtp_url: over.smtp_url.or(self.smtp_url),
            mail_from: over.mail_from.or(self.mail_from),
            fetch_private: over.fetch_private.or(self.fetch_private),
            fetch_ports: over.fetch_ports.or(self.fetch_ports),
            tsa_url: over.tsa_url.or(self.tsa_url),
            trusted_proxies: over.trusted_proxies.or(self.trusted_proxies),
            page_retention: over.page_retention.or(self.page_retention),
        }
    }

    /// Fills defaults and checks ranges.
    pub fn resolve(self) -> Result<ServeConfig, ConfigError> {
        let bind = self.bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let public_url = self.public_url.unwrap_or_else(|| format!("http://{bind}")).trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!("public_url {public_url:?} must start with http:// or https://")));
        }
        let log_json = match self.log_format.as_deref().unwrap_or("pretty") {
            "pretty" => false,
            "json" => true,
            other => return Err(ConfigError::Invalid(format!("log_format {other:?} must be pretty or json"))),
        };
        let workers = self.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        if !(1..=256).contains(&workers) {
            return Err(ConfigError::Invalid(format!("workers {workers} must be 1..=256")));
        }
        let session_days = self.session_days.unwrap_or(14);
        if !(1..=365).contains(&session_days) {
            return Err(ConfigError::Invalid(format!("session_days {session_days} must be 1..=365")));
        }
        let max_body_kb = self.max_body_kb.unwrap_or(64);
        if !(1..=16 * 1024).contains(&max_body_kb) {
            return Err(ConfigError::Invalid(format!("max_body_kb {max_body_kb} must be 1..=16384")));
        }
        let smtp = match self.smtp_url.as_deref() {
            None => None,
            Some(url) => {
                let rest = url
                    .strip_prefix("smtp://")
                    .ok_or_else(|| ConfigError::Invalid(format!("smtp_url {url:?} must look like smtp://HOST:PORT")))?;
                let (host, port) = rest.trim_end_matches('/').rsplit_once(':').unwrap_or((rest, "25"));
                let port =
                    port.parse().map_err(|_| ConfigError::Invalid(format!("smtp_url {url:?} has a bad port")))?;
                Some((host.to_owned(), port))
            }
        };
        let mail_from = self.mail_from.unwrap_or_else(|| "Copyright Seal <no-reply@localhost>".to_owned());
        if mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid(format!("mail_from {mail_from:?} is not an address")));
        }
        let fetch_ports = self.fetch_ports.unwrap_or_else(|| vec![80, 443]);
        if fetch_ports.is_empty() || fetch_ports.contains(&0) {
            return Err(ConfigError::Invalid("fetch_ports must list at least one port, none of them 0".into()));
        }
        let tsa_url = match self.tsa_url.as_deref().map(str::trim) {
            None => None,
            Some(text) => match url::Url::parse(text) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                _ => return Err(ConfigError::Invalid(format!("tsa_url {text:?} must be an http:// or https:// URL"))),
            },
        };
        Ok(ServeConfig {
            tsa_url,
            fetch_private: self.fetch_private.unwrap_or(false),
            fetch_ports,
            trusted_proxies: self.trusted_proxies.unwrap_or_default(),
            page_retention: self.page_retention.unwrap_or(PAGE_RETENTION),
            settle_every_s: self.settle_every_s.unwrap_or(3600),
            smtp,
            mail_from,
            bind,
            data: self.data.unwrap_or_else(|| PathBuf::from("./seal-data")),
            secure_cookies: self.secure_cookies.unwrap_or(public_url.starts_with("https://")),
            public_url,
            demo: self.demo.unwrap_or(false),
            workers,
            log_json,
            session_days,
            max_body_bytes: max_body_kb * 1024,
            webhook_tolerance_s: self.webhook_tolerance_s.unwrap_or(300).clamp(1, 86_400),
        })
    }
}

impl ServeConfig {
    /// Defaults with a data directory and bind address, for tests and embedding.
    pub fn for_tests(data: &Path, bind: SocketAddr) -> ServeConfig {
        ConfigLayer { data: Some(data.to_owned()), bind: Some(bind), workers: Some(1), ..ConfigLayer::default() }
            .resolve()
            .unwrap_or_else(|e| unreachable!("defaults are valid: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_env_beat_file_beat_defaults() {
        let file: ConfigLayer =
            toml::from_str("bind = \"127.0.0.1:9000\"\nsession_days = 3\ndemo = true").expect("should succeed");
        let env =
            ConfigLayer::from_env(|k| (k == "SEAL_BIND").then(|| "127.0.0.1:9100".to_owned())).expect("should succeed");
        let flags = ConfigLayer { data: Some("/tmp/x".into()), ..ConfigLayer::default() };
        let c = file.overlay(env).overlay(flags).resolve().expect("should succeed");
        assert_eq!(c.bind.port(), 9100);
        assert_eq!(c.session_days, 3);
        assert!(c.demo);
        assert_eq!(c.data, PathBuf::from("/tmp/x"));
        assert_eq!(c.public_url, "http://127.0.0.1:9100");
        assert!(!c.secure_cookies);
    }

    #[test]
    fn bad_values_say_which_setting() {
        let e = ConfigLayer::from_env(|k| (k == "SEAL_WORKERS").then(|| "many".to_owned())).expect_err("should fail");
        assert!(e.to_string().contains("SEAL_WORKERS"), "{e}");
        let e = toml::from_str::<ConfigLayer>("colour = 1").expect_err("should fail");
        assert!(e.to_string().contains("colour"), "{e}");
        let e = ConfigLayer { log_format: Some("xml".into()), ..ConfigLayer::default() }
            .resolve()
            .expect_err("should fail");
        assert!(e.to_string().contains("log_format"), "{e}");
        for bad in ["ftp://tsa.example/", "not a url", "http://"] {
            let e =
                ConfigLayer { tsa_url: Some(bad.into()), ..ConfigLayer::default() }.resolve().expect_err("should fail");
            assert!(e.to_string().contains("tsa_url"), "{bad}: {e}");
        }
        let ok = ConfigLayer::from_env(|k| (k == "SEAL_TSA_URL").then(|| "https://tsa.example/tsr".to_owned()))
            .and_then(ConfigLayer::resolve)
            .expect("should succeed");
        assert_eq!(ok.tsa_url.map(String::from).as_deref(), Some("https://tsa.example/tsr"));
    }
}
