//! Beacon's shared vocabulary: site ids, the event schema and the Analytics
//! Engine slot layout. Pure data and pure functions, no I/O.

pub mod event;
pub mod site;
pub mod slots;
pub mod tracker;

pub use event::{Device, Engagement, Event, Geo, Props, Revenue, Utm};
pub use site::{Site, SiteId, SiteStatus};
pub use slots::{DataPoint, RowKind, SessionRow};

/// A visitor is current (live view, realtime API) this long after their
/// last event, ms: Plausible's five minutes.
pub const LIVE_WINDOW_MS: u64 = 5 * 60 * 1000;

/// A daily salt for visitor ids: 16 random bytes.
pub type Salt = [u8; 16];

/// Errors from constructing the shared types out of untrusted text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TypesError {
    /// A site id that is empty, too long or has characters outside `[a-z0-9_-]`.
    #[error("invalid site id")]
    InvalidSiteId,
    /// A site status other than `active` or `inactive`.
    #[error("invalid site status {0:?}")]
    InvalidSiteStatus(String),
}
