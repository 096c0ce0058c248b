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
    let mut body = Capped::new(limit);
    let Ok(mut stream) = req.stream() else { return Ok(body.finish()) };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| PlatformError::binding("request body", e))?;
        if !body.push(&chunk) {
            break;
        }
    }
    Ok(body.finish())
}

/// A streamed body kept up to `limit` bytes, and counted past it.
struct Capped {
    limit: usize,
    seen: usize,
    body: Vec<u8>,
}

impl Capped {
    fn new(limit: usize) -> Self {
        Capped { limit, seen: 0, body: Vec::new() }
    }

    /// Takes one chunk; `false` once enough is read to stop draining.
    fn push(&mut self, chunk: &[u8]) -> bool {
        self.seen = self.seen.saturating_add(chunk.len());
        if self.seen <= self.limit {
            self.body.extend_from_slice(chunk);
            return true;
        }
        self.seen <= DRAIN_MAX
    }

    /// The body, or `None` if it was over the limit.
    fn finish(self) -> Option<Vec<u8>> {
        (self.seen <= self.limit).then_some(self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_body_is_kept_up_to_its_limit_and_drained_to_a_bound() {
        let mut b = Capped::new(5);
        assert!(b.push(b"abc") && b.push(b"de"));
        assert_eq!(b.finish(), Some(b"abcde".to_vec()));
        let mut b = Capped::new(5);
        assert!(b.push(b"abc") && b.push(b"def"));
        assert_eq!((b.body.len(), b.finish()), (3, None));
        assert_eq!(Capped::new(5).finish(), Some(vec![]));
        // Past the limit, reading goes on (a keep-alive connection stays
        // usable) until the drain bound, and stops past it.
        let mut b = Capped::new(5);
        assert!(b.push(&vec![0; DRAIN_MAX]));
        assert!(!b.push(b"x"));
        assert_eq!(b.finish(), None);
        // A limit above the drain bound is still read whole.
        let mut b = Capped::new(DRAIN_MAX + 2);
        assert!(b.push(&vec![0; DRAIN_MAX + 1]) && b.push(b"x"));
        assert_eq!(b.finish().map(|v| v.len()), Some(DRAIN_MAX + 2));
    }
}
