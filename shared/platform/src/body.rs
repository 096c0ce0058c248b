//! Request bodies read with a size cap, whether the client sent a
//! Content-Length or streamed chunks (which must not be buffered whole).

use futures_util::StreamExt;
use worker::Request;

use crate::PlatformError;

/// How much of an oversized streamed body is read and discarded before
/// answering 413, so a keep-alive connection stays usable for the client.
const DRAIN_MAX: usize = 1024 * 1024;

/// The body if it is at most `limit` bytes, `None` if it is larger: checked
/// from Content-Length first, then while streaming, never holding more
/// than `limit` bytes.
pub async fn read(req: &mut Request, limit: usize) -> Result<Option<Vec<u8>>, PlatformError> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|l| l.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => return Ok(None),
        // The runtime enforces Content-Length, so one read suffices.
        Some(_) => return req.bytes().await.map(Some).map_err(|e| PlatformError::binding("request body", e)),
        None => {}
    }
    let mut body = Vec::new();
    let Ok(mut stream) = req.stream() else { return Ok(Some(body)) };
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| PlatformError::binding("request body", e))?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            body.extend_from_slice(&chunk);
        } else if seen > DRAIN_MAX {
            break;
        }
    }
    Ok((seen <= limit).then_some(body))
}
