//! The smallest Rust worker: the baseline for ingest's latency and size.

use worker::{event, Context, Env, Request, Response, Result};

/// Answers every request with a short text.
#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("hello")
}
