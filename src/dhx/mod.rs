//! State document exchange (DHX): capsule 2.1, the `sendDocument` endpoint and
//! client, the outbox worker, the address book and the DVK-style adapter client.
//!
//! - [`capsule`]: capsule 2.1 (`DecContainer`) reader, schema validator and writer;
//! - [`mapping`]: capsule <-> register document;
//! - [`soap`]: SOAP 1.1 (with attachments) `sendDocument` parsing and responses;
//! - [`listen`]: the DHX listener (`dhx.listen`): allowed peers, mutual TLS;
//! - [`endpoint`]: `POST /dhx` (axum) registering incoming documents;
//! - [`budget`]: the global byte budget of requests in progress;
//! - [`client`]: `sendDocument` over HTTP (reqwest) through the X-Road security server;
//! - [`send`]: enqueueing and the outbox worker for channel "dhx";
//! - [`addressbook`]: X-Road global configuration, DHX members and representees;
//! - [`adapter`]: DVK-style adapter server client (sendDocuments, receiveDocuments ...).
//! - [`poll`]: the poller of `serve` that receives through an adapter server.

pub mod adapter;
pub mod addressbook;
pub mod budget;
pub mod capsule;
pub mod client;
pub mod endpoint;
pub mod fault;
pub mod incoming;
pub mod listen;
pub mod mapping;
pub mod poll;
pub mod send;
pub mod soap;
pub mod xml;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// The wait before each retry of a failed delivery (`["30s", "2m", "20m"]`);
    /// after the last one the item fails for good.
    #[serde(with = "crate::config::durations")]
    pub retry_schedule: Vec<Duration>,
    /// Timeout of one `sendDocument` call ("1m").
    #[serde(with = "crate::config::duration")]
    pub request_timeout: Duration,
    /// How often the outbox worker looks for work ("1s").
    #[serde(with = "crate::config::duration")]
    pub poll_interval: Duration,
    /// X-Road global configuration (shared-params.xml): a path or an http(s) URL.
    /// Empty: the address book is off.
    pub global_conf: String,
    /// Name of the global group of DHX intermediaries.
    pub intermediaries_group: String,
    /// How long the address book is cached before it is refreshed ("1d").
    #[serde(with = "crate::config::duration")]
    pub addressbook_refresh: Duration,
    /// URL of a DHX adapter server's DVK-style interface (for agencies without
    /// their own endpoint). Empty: not used.
    pub adapter_url: String,
    /// The adapter server's X-Road identifier, INSTANCE/CLASS/CODE[/SUBSYSTEM].
    pub adapter_server: String,
    /// How often `docgate serve` polls the adapter's receiveDocuments ("1m").
    #[serde(with = "crate::config::duration")]
    pub adapter_poll: Duration,
    /// Address of the DHX listener (`POST /dhx`), apart from the web port.
    /// None (the default, and always in `serve --demo`): no DHX endpoint.
    pub listen: Option<SocketAddr>,
    /// Peers allowed to call the DHX endpoint: addresses or CIDR blocks of the
    /// X-Road security server. Anyone else needs a client certificate (`tls`).
    pub allowed_clients: Vec<String>,
    /// TLS on the DHX listener, with client certificates verified against
    /// `client_ca` (mutual TLS, as the security server calls). None: plain HTTP.
    pub tls: Option<DhxTls>,
    /// Global budget of bytes held by DHX requests in progress (bodies, parsed
    /// trees, decompressed files), over all concurrent requests; a request that
    /// does not fit is answered 503 with a server fault. At least max_request_bytes.
    pub max_inflight_bytes: u64,
    /// Bytes of a rejected request's body kept in the quarantine (its true size
    /// is recorded too).
    pub quarantine_keep_bytes: u64,
    /// Disk-use limit of all quarantined bodies; past it, rejects are recorded
    /// by hash, size, reason and time only.
    pub quarantine_max_bytes: u64,
}

/// `[dhx.tls]`: the DHX listener's certificate and the client CA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhxTls {
    /// Our certificate chain (PEM).
    pub cert: PathBuf,
    /// Our private key (PEM).
    pub key: PathBuf,
    /// The CA(s) (PEM) a client certificate must chain to.
    pub client_ca: PathBuf,
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
            retry_schedule: vec![
                Duration::from_secs(30),
                Duration::from_secs(120),
                Duration::from_secs(1200),
            ],
            request_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            global_conf: String::new(),
            intermediaries_group: "DHX vahendajad".into(),
            addressbook_refresh: Duration::from_secs(86_400),
            adapter_url: String::new(),
            adapter_server: "EE/GOV/70006317/dhx-adapter".into(),
            adapter_poll: Duration::from_secs(60),
            listen: None,
            allowed_clients: Vec::new(),
            tls: None,
            max_inflight_bytes: 256 * 1024 * 1024,
            quarantine_keep_bytes: 1024 * 1024,
            quarantine_max_bytes: 1024 * 1024 * 1024,
        }
    }
}

impl DhxConfig {
    /// The capsule reading limits of this configuration.
    pub fn read_limits(&self) -> capsule::ReadLimits {
        capsule::ReadLimits {
            max_xml_bytes: self.max_request_bytes,
            max_decompressed_bytes: self.max_decompressed_bytes,
            budget: None,
        }
    }

    /// Checks the `[dhx]` keys (called by `Config::validate` at start): the
    /// listener's, the adapter server's identifier, the URLs and the durations.
    pub fn validate(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        listen::Access::from_config(self)?;
        poll::adapter_server_id(&self.adapter_server)?;
        for (key, url) in [
            ("dhx.security_server_url", &self.security_server_url),
            ("dhx.adapter_url", &self.adapter_url),
        ] {
            let url = url.trim();
            if url.is_empty() {
                continue;
            }
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                Ok(_) => {
                    return Err(Error::invalid(format!(
                        "invalid {key} {url:?}: expected an http:// or https:// URL"
                    )))
                }
                Err(e) => return Err(Error::invalid(format!("invalid {key} {url:?}: {e}"))),
            }
        }
        let check = crate::config::check_duration;
        let (ms, second, day) = (
            Duration::from_millis(1),
            Duration::from_secs(1),
            Duration::from_secs(86_400),
        );
        for (i, d) in self.retry_schedule.iter().enumerate() {
            check(&format!("dhx.retry_schedule[{i}]"), *d, second, 30 * day)?;
        }
        check(
            "dhx.request_timeout",
            self.request_timeout,
            second,
            Duration::from_secs(3600),
        )?;
        check(
            "dhx.poll_interval",
            self.poll_interval,
            10 * ms,
            Duration::from_secs(3600),
        )?;
        check(
            "dhx.addressbook_refresh",
            self.addressbook_refresh,
            second,
            30 * day,
        )?;
        check("dhx.adapter_poll", self.adapter_poll, second, day)?;
        if self.max_inflight_bytes < self.max_request_bytes {
            return Err(Error::invalid(format!(
                "invalid dhx.max_inflight_bytes {}: at least dhx.max_request_bytes ({})",
                self.max_inflight_bytes, self.max_request_bytes
            )));
        }
        if self.quarantine_keep_bytes > self.quarantine_max_bytes {
            return Err(Error::invalid(format!(
                "invalid dhx.quarantine_keep_bytes {}: at most dhx.quarantine_max_bytes ({})",
                self.quarantine_keep_bytes, self.quarantine_max_bytes
            )));
        }
        if let Some(t) = &self.tls {
            for (k, p) in [
                ("cert", &t.cert),
                ("key", &t.key),
                ("client_ca", &t.client_ca),
            ] {
                if p.as_os_str().is_empty() {
                    return Err(Error::invalid(format!(
                        "invalid dhx.tls.{k}: a PEM file path is required"
                    )));
                }
            }
        }
        if self.listen.is_some() {
            self.validate_listener()?;
        }
        Ok(())
    }

    /// A DHX listener needs someone allowed to call it.
    pub fn validate_listener(&self) -> crate::error::Result<()> {
        if self.allowed_clients.is_empty() && self.tls.is_none() {
            return Err(crate::error::Error::invalid(
                "invalid dhx.listen: set dhx.allowed_clients (the X-Road security server's addresses) or dhx.tls with a client_ca, or nobody may send",
            ));
        }
        Ok(())
    }
}

impl From<Fault> for crate::error::Error {
    fn from(f: Fault) -> Self {
        match f.code {
            FaultCode::SizeLimitExceeded => crate::error::Error::TooLarge(f.to_string()),
            FaultCode::Duplicate => crate::error::Error::Conflict(f.to_string()),
            FaultCode::Server | FaultCode::Busy => crate::error::Error::Internal(f.to_string()),
            _ => crate::error::Error::invalid(f.to_string()),
        }
    }
}

/// The largest answer read from the security server (a `sendDocument` or
/// `representationList` answer) or a global configuration, in bytes.
pub const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;
/// The largest answer read from the adapter server (`receiveDocuments` carries
/// several capsules), in bytes.
pub const MAX_ADAPTER_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// Reads an HTTP answer's body, at most `max` bytes: refused before reading when
/// its Content-Length says more, and as soon as the streamed body grows past
/// `max` (a server that does not say its length is read in chunks, not whole).
pub(crate) async fn read_body(mut r: reqwest::Response, max: u64) -> Result<Vec<u8>, String> {
    if let Some(n) = r.content_length().filter(|n| *n > max) {
        return Err(format!("the answer has {n} bytes, more than {max}"));
    }
    let mut out = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| e.to_string())? {
        if (out.len() + chunk.len()) as u64 > max {
            return Err(format!("the answer has more than {max} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A file of `fixtures/dhx` (unit tests).
#[cfg(test)]
pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/dhx")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot HTTP server answering `head` and then `body_len` bytes of 'x'.
    async fn serve_once(head: String, body_len: usize) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = body_len;
            while left > 0 {
                let n = left.min(chunk.len());
                if s.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                left -= n;
            }
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn outbound_answers_are_read_no_further_than_the_limit() {
        let http = reqwest::Client::new();
        // Within the limit: read whole.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n".into(),
            1000,
        )
        .await;
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(super::read_body(r, 1000).await.unwrap().len(), 1000);
        // A Content-Length over the limit: refused before the body is read.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n".into(),
            0,
        )
        .await;
        let r = http.get(&url).send().await.unwrap();
        let e = super::read_body(r, 1_000_000).await.unwrap_err();
        assert!(e.contains("5000000"), "{e}");
        // No length said: the stream is cut off once it passes the limit.
        let url = serve_once(
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".into(),
            3_000_000,
        )
        .await;
        let r = http.get(&url).send().await.unwrap();
        let e = super::read_body(r, 1_000_000).await.unwrap_err();
        assert!(e.contains("more than 1000000"), "{e}");
    }
}
