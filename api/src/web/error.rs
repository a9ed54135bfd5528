//! Errors at the HTTP boundary. Every failure leaves as `{"code": "...", "message": "..."}` with a
//! status that says whose fault it was (4xx: the caller's, 5xx: ours); `code` is stable and documented
//! in the OpenAPI document, `message` is for people. Pages meant for browsers render the same error as
//! an HTML page in the site's layout instead (`templates/error.html`).

use crate::store::StoreError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use seal_licensing::book::BookError;
use std::fmt;

/// The HTML form of an error: the site's layout (header and navigation, so the visitor is still on the
/// site), the status, the message (escaped by askama: messages can echo ids from the URL) and a way back.
#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    /// The page language.
    l: crate::i18n::Lang,
    status: StatusCode,
    code: &'a str,
    message: &'a str,
    /// The English message when the catalogue has no words for it yet.
    detail: Option<&'a str>,
    /// 5xx: our fault, which the heading says rather than blaming the visitor.
    server_fault: bool,
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `not_found`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Render as an HTML page (for browser forms) rather than JSON.
    pub html: bool,
    /// The message's key in the catalogue and its arguments, for pages in either language.
    pub key: Option<(&'static str, Vec<(&'static str, String)>)>,
}

impl ApiError {
    /// A new JSON error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), html: false, key: None }
    }

    /// 404 `not_found`. Also what a user gets for someone else's record, so ids cannot be probed.
    pub fn not_found(what: impl fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    /// 400 `invalid_input`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 500 `internal`; the detail goes to the log, not to the caller.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; it has been logged")
    }

    /// The same error, rendered as an HTML page.
    pub fn page(mut self) -> Self {
        self.html = true;
        self
    }
}

impl ApiError {
    /// The message in `lang`, and a detail still in English when it has none there yet: the words of
    /// its message key when it has one; else, in English, the message as made; else the words of its
    /// code (`error-<code>`) with the English message as the detail.
    pub fn message_in(&self, lang: crate::i18n::Lang) -> (String, Option<String>) {
        if let Some((key, args)) = &self.key {
            let args: Vec<(&str, crate::i18n::Arg)> = args.iter().map(|(n, v)| (*n, v.as_str().into())).collect();
            return (lang.args(key, &args), None);
        }
        if lang == crate::i18n::Lang::En {
            return (self.message.clone(), None);
        }
        let by_code = format!("error-{}", self.code);
        let generic = if lang.has(&by_code) { lang.t(&by_code) } else { lang.t("error-other") };
        (generic, Some(self.message.clone()))
    }

    /// The error as an HTML page in `lang`.
    pub fn page_in(&self, lang: crate::i18n::Lang) -> HttpResponse {
        let (message, detail) = self.message_in(lang);
        let page = ErrorPage {
            detail: detail.as_deref(),
            l: lang,
            status: self.status,
            code: self.code,
            message: &message,
            server_fault: self.status.is_server_error(),
        };
        // Rendering cannot fail for this template short of running out of memory; should it ever,
        // the status still reaches the browser, with the message as plain text.
        match askama::Template::render(&page) {
            Ok(body) => HttpResponse::build(self.status).content_type("text/html; charset=utf-8").body(body),
            Err(e) => {
                tracing::error!(error = %e, "error page did not render");
                HttpResponse::build(self.status).content_type("text/plain; charset=utf-8").body(self.to_string())
            }
        }
    }

    /// The same error with its words in the catalogue: `key` with `args` (pages show those; the JSON
    /// form keeps the English message for machines and logs).
    pub fn keyed(mut self, key: &'static str, args: &[(&'static str, &str)]) -> Self {
        self.key = Some((key, args.iter().map(|(n, v)| (*n, (*v).to_owned())).collect()));
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.html {
            // The default language; the `localize_errors` middleware renders it again in the visitor's.
            return self.page_in(crate::i18n::Lang::default());
        }
        HttpResponse::build(self.status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "code": self.code, "message": self.message }))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Book(b) => b.into(),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            other => ApiError::internal(other),
        }
    }
}

impl From<BookError> for ApiError {
    fn from(e: BookError) -> Self {
        match e {
            BookError::Store(s) => ApiError::internal(s),
            BookError::Ledger(l) => ApiError::internal(l),
            e @ BookError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            e @ (BookError::Invalid(_) | BookError::Money(_)) => ApiError::invalid(e.to_string()),
            e @ BookError::IdConflict { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::services::checkout::CheckoutError> for ApiError {
    fn from(e: crate::services::checkout::CheckoutError) -> Self {
        use crate::services::checkout::CheckoutError;
        match e {
            CheckoutError::NotFound(what) => ApiError::not_found(what),
            CheckoutError::Invalid(message) => ApiError::invalid(message),
            CheckoutError::Store(e) => e.into(),
            CheckoutError::Internal(detail) => ApiError::internal(detail),
        }
    }
}

impl From<crate::services::jobs::JobError> for ApiError {
    fn from(e: crate::services::jobs::JobError) -> Self {
        use crate::services::jobs::JobError;
        match e {
            e @ JobError::Invalid { .. } => ApiError::invalid(e.to_string()),
            JobError::NotFound => ApiError::not_found("monitoring job"),
            JobError::Store(e) => e.into(),
        }
    }
}
