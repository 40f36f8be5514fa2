//! State document exchange (DHX): capsule 2.1, the `sendDocument` endpoint and
//! client, the outbox worker, the address book and the DVK-style adapter client.
//!
//! - [`capsule`]: capsule 2.1 (`DecContainer`) reader, schema validator and writer;
//! - [`mapping`]: capsule <-> register document;
//! - [`soap`]: SOAP 1.1 (with attachments) `sendDocument` parsing and responses;
//! - [`endpoint`]: `POST /dhx` (axum) registering incoming documents;
//! - [`client`]: `sendDocument` over HTTP (reqwest) through the X-Road security server;
//! - [`send`]: enqueueing and the outbox worker for channel "dhx";
//! - [`addressbook`]: X-Road global configuration, DHX members and representees;
//! - [`adapter`]: DVK-style adapter server client (sendDocuments, receiveDocuments ...).
//! - [`poll`]: the poller of `serve` that receives through an adapter server.

pub mod adapter;
pub mod addressbook;
pub mod capsule;
pub mod client;
pub mod endpoint;
pub mod fault;
pub mod incoming;
pub mod mapping;
pub mod poll;
pub mod send;
pub mod soap;
pub mod xml;

use serde::{Deserialize, Serialize};

pub use endpoint::routes;
pub use fault::{Fault, FaultCode};

/// The outbox channel of DHX items.
pub const CHANNEL: &str = "dhx";

/// DHX configuration (`[dhx]` in docgate.toml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DhxConfig {
    /// URL of the X-Road security server that outgoing `sendDocument` calls go to
    /// (e.g. `http://xroad-ss.example/`). Empty: sending is off (items stay queued).
    pub security_server_url: String,
    /// X-Road instance of this agency's client identifier.
    pub xroad_instance: String,
    /// X-Road member class of this agency.
    pub member_class: String,
    /// X-Road subsystem of this agency (DHX subsystems start with "DHX").
    pub subsystem_code: String,
    /// Member class assumed for addressees not found in the address book.
    pub default_recipient_class: String,
    /// Largest accepted `sendDocument` request (and capsule), in bytes: above it,
    /// `DHX.SizeLimitExceeded`.
    pub max_request_bytes: u64,
    /// Largest total decompressed size of a capsule's files, in bytes.
    pub max_decompressed_bytes: u64,
    /// Seconds to wait before each retry of a failed delivery; after the last one
    /// the item fails for good.
    pub retry_schedule_secs: Vec<u64>,
    /// Timeout of one `sendDocument` call, in seconds.
    pub request_timeout_secs: u64,
    /// How often the outbox worker looks for work, in milliseconds.
    pub poll_interval_ms: u64,
    /// X-Road global configuration (shared-params.xml): a path or an http(s) URL.
    /// Empty: the address book is off.
    pub global_conf: String,
    /// Name of the global group of DHX intermediaries.
    pub intermediaries_group: String,
    /// How long the address book is cached before it is refreshed, in seconds.
    pub addressbook_refresh_secs: u64,
    /// URL of a DHX adapter server's DVK-style interface (for agencies without
    /// their own endpoint). Empty: not used.
    pub adapter_url: String,
    /// The adapter server's X-Road identifier, INSTANCE/CLASS/CODE[/SUBSYSTEM].
    pub adapter_server: String,
    /// How often `docgate serve` polls the adapter's receiveDocuments, in seconds.
    pub adapter_poll_secs: u64,
}

impl Default for DhxConfig {
    fn default() -> Self {
        DhxConfig {
            security_server_url: String::new(),
            xroad_instance: "EE".into(),
            member_class: "GOV".into(),
            subsystem_code: "DHX".into(),
            default_recipient_class: "GOV".into(),
            max_request_bytes: 50 * 1024 * 1024,
            max_decompressed_bytes: 200 * 1024 * 1024,
            retry_schedule_secs: vec![30, 120, 1200],
            request_timeout_secs: 60,
            poll_interval_ms: 1000,
            global_conf: String::new(),
            intermediaries_group: "DHX vahendajad".into(),
            addressbook_refresh_secs: 86400,
            adapter_url: String::new(),
            adapter_server: "EE/GOV/70006317/dhx-adapter".into(),
            adapter_poll_secs: 60,
        }
    }
}

impl DhxConfig {
    /// The capsule reading limits of this configuration.
    pub fn read_limits(&self) -> capsule::ReadLimits {
        capsule::ReadLimits {
            max_xml_bytes: self.max_request_bytes,
            max_decompressed_bytes: self.max_decompressed_bytes,
        }
    }
}

impl From<Fault> for crate::error::Error {
    fn from(f: Fault) -> Self {
        match f.code {
            FaultCode::SizeLimitExceeded => crate::error::Error::TooLarge(f.to_string()),
            FaultCode::Duplicate => crate::error::Error::Conflict(f.to_string()),
            FaultCode::Server => crate::error::Error::Internal(f.to_string()),
            _ => crate::error::Error::Invalid(f.to_string()),
        }
    }
}
