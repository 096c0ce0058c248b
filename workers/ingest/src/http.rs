//! HTTP plumbing: the error type and its one mapping to status codes,
//! CORS, and the bounded body read.

use beacon_ingest::IngestError;
use beacon_platform::PlatformError;
use worker::{Headers, Request, Response};

/// Everything that ends a request early.
#[derive(Debug)]
pub enum ApiError {
    /// 404: unknown hostname or path.
    NotFound(&'static str),
    /// 405, with the allowed methods.
    MethodNotAllowed(&'static str),
    /// 413: body over the limit.
    TooLarge(usize),
    /// 400: invalid input, naming the field.
    Invalid(IngestError),
    /// 503: a binding failed; the client may retry.
    Platform(PlatformError),
    /// 500 would be a bug: building a response failed.
    Runtime(worker::Error),
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::Runtime(e)
    }
}

impl ApiError {
    /// The one place errors become statuses.
    pub fn into_response(self) -> worker::Result<Response> {
        let (status, message) = match &self {
            ApiError::NotFound(m) => (404, (*m).to_owned()),
            ApiError::MethodNotAllowed(_) => (405, "method not allowed".to_owned()),
            ApiError::TooLarge(n) | ApiError::Invalid(IngestError::TooLarge(n)) => (413, format!("request body exceeds {n} bytes")),
            ApiError::Invalid(e) => (400, e.to_string()),
            ApiError::Platform(e) => {
                worker::console_error!("ingest: {e}");
                (503, "temporarily unavailable, retry later".to_owned())
            }
            ApiError::Runtime(e) => {
                worker::console_error!("ingest: {e}");
                (500, "internal error".to_owned())
            }
        };
        let resp = Response::ok(serde_json::json!({ "error": message }).to_string())?.with_status(status);
        resp.headers().set("content-type", "application/json")?;
        if let ApiError::MethodNotAllowed(allow) = self {
            resp.headers().set("allow", allow)?;
        }
        Ok(resp)
    }
}

/// A plain-text response.
pub fn text(status: u16, body: &str) -> Result<Response, ApiError> {
    let headers = Headers::new();
    headers.set("content-type", "text/plain; charset=utf-8")?;
    Ok(Response::ok(body)?.with_status(status).with_headers(headers))
}

/// 202 for a deliberately dropped event, saying why.
pub fn dropped(reason: &str) -> Result<Response, ApiError> {
    let resp = text(202, "ok")?;
    resp.headers().set("x-beacon-dropped", reason)?;
    Ok(resp)
}

/// 204 answer to a CORS preflight.
pub fn preflight() -> Result<Response, ApiError> {
    let resp = Response::empty()?.with_status(204);
    resp.headers().set("access-control-max-age", "86400")?;
    Ok(resp)
}

/// Adds the CORS headers every response carries: beacons come from any page.
pub fn with_cors(resp: Response) -> worker::Result<Response> {
    let h = resp.headers();
    h.set("access-control-allow-origin", "*")?;
    h.set("access-control-allow-methods", "GET, POST, OPTIONS")?;
    h.set("access-control-allow-headers", "content-type")?;
    h.set("access-control-expose-headers", "x-beacon-dropped")?;
    Ok(resp)
}

/// Reads at most `limit` bytes of body; more is a 413.
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    beacon_platform::body::read(req, limit).await.map_err(ApiError::Platform)?.ok_or(ApiError::TooLarge(limit))
}
