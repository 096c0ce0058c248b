//! The ingest pipeline: a Plausible Events API body and its request context
//! in, an enriched [`beacon_types::Event`] or a [`Rejection`] out.
//!
//! Steps run in the order of [`pipeline::STEPS`]; each returns the draft
//! event or a rejection. All of it is pure: the worker supplies the site
//! (from the Host header), the user agent, the geo data and the clock, and
//! adds the visitor id (which needs the day's salt) with [`visitor`].

pub mod bot;
pub mod channel;
pub mod error;
pub mod geo;
pub mod location;
pub mod payload;
pub mod pipeline;
pub mod source;
pub mod spam;
pub mod user_agent;
pub mod visitor;

pub use error::{DropReason, IngestError, Rejection};
pub use pipeline::{run, Context};
