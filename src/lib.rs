//! docgate: the document register and correspondence gateway of an Estonian public agency.
//!
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod access;
pub mod app;
pub mod audit;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod deadline;
pub mod dhx;
pub mod error;
pub mod extract;
pub mod ingest;
pub mod invoice;
pub mod kinds;
pub mod lifecycle;
pub mod mime;
pub mod model;
pub mod numbering;
pub mod ocr;
pub mod outbox;
pub(crate) mod periodic;
pub mod personal_code;
pub mod personal_data;
pub mod register;
pub mod reminder;
pub mod report;
pub mod restriction;
pub mod restriction_notice;
pub mod search;
pub mod series;
pub mod serve;
pub mod signature;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod web;

pub use app::App;
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
