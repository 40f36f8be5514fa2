//! The adapter poller of `docgate serve`: an agency that receives through a DHX
//! adapter server (`dhx.adapter_url`) instead of its own endpoint polls the
//! DVK-style `receiveDocuments`, registers each capsule as the endpoint would
//! (duplicates recognised, wrong addressees and invalid capsules quarantined
//! verbatim), and only after that acknowledges them with
//! `markDocumentsReceived`. A capsule the server hands out again (its mark got
//! lost) is a duplicate and is acknowledged again, never registered twice.
//! A capsule this side failed on (the database gone, a crash before the
//! commit) is neither quarantined nor acknowledged: the server hands it out
//! again on a later poll.

use tokio_util::sync::CancellationToken;

use super::adapter::{self, AdapterClient};
use super::capsule;
use super::incoming;
use super::soap::XRoadId;
use super::FaultCode;
use crate::app::App;
use crate::error::{Error, Result};
use crate::periodic::{Every, Next};

/// Actor of the audit events of polled documents.
pub const ACTOR: &str = "dhx-adapter";

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Capsules the adapter server handed out.
    pub received: usize,
    /// Registration numbers of the documents registered.
    pub registered: Vec<String>,
    /// Capsules already registered before.
    pub duplicates: usize,
    /// Capsules quarantined with their fault.
    pub quarantined: usize,
    /// Capsules this side failed on (not the capsule's fault): left on the
    /// server, unacknowledged, to be handed out again.
    pub deferred: usize,
    /// DVK ids acknowledged with markDocumentsReceived.
    pub acknowledged: Vec<String>,
}

/// Our X-Road client id and the adapter server's.
fn ids(app: &App) -> Result<(XRoadId, XRoadId)> {
    let c = &app.config.dhx;
    let me = XRoadId::subsystem(
        &c.xroad_instance,
        &c.member_class,
        app.config.agency.registry_code.trim(),
        &c.subsystem_code,
    );
    Ok((me, adapter_server_id(&c.adapter_server)?))
}

/// `dhx.adapter_server` as an X-Road identifier, INSTANCE/CLASS/CODE[/SUBSYSTEM]
/// (checked by `DhxConfig::validate` at start).
pub fn adapter_server_id(s: &str) -> Result<XRoadId> {
    let parts: Vec<&str> = s.split('/').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad_adapter_server(s));
    }
    match parts.as_slice() {
        [inst, class, code] => Ok(XRoadId::subsystem(inst, class, code, "")),
        [inst, class, code, sub] => Ok(XRoadId::subsystem(inst, class, code, sub)),
        _ => Err(bad_adapter_server(s)),
    }
}

fn bad_adapter_server(s: &str) -> Error {
    Error::invalid(format!(
        "invalid dhx.adapter_server {s:?}: expected INSTANCE/CLASS/CODE[/SUBSYSTEM]"
    ))
}

/// A client of the configured adapter server.
pub fn client(app: &App) -> Result<AdapterClient> {
    let c = &app.config.dhx;
    AdapterClient::new(&c.adapter_url, c.request_timeout, c.read_limits())
        .map_err(|e| Error::invalid(format!("invalid dhx.adapter_url {:?}: {e}", c.adapter_url)))
}

/// Receives, registers and acknowledges one batch (at most `batch` capsules).
pub async fn poll_once(app: &App, client: &AdapterClient, batch: u32) -> Result<PollReport> {
    let (me, server) = ids(app)?;
    let h = adapter::header(&me, &server, "receiveDocuments", "v4");
    let capsules = client.receive_documents(&h, batch).await?;
    let source = format!("adapter:{}", app.config.dhx.adapter_url);
    let mut rep = PollReport {
        received: capsules.len(),
        ..Default::default()
    };
    for xml in capsules {
        let limits = client.limits.clone();
        let bytes = xml.clone();
        let dec_id = tokio::task::spawn_blocking(move || {
            capsule::read(&bytes, &limits)
                .ok()
                .and_then(|c| c.dec_metadata)
                .map(|m| m.dec_id)
                .filter(|id| !id.is_empty())
        })
        .await
        .map_err(|e| Error::internal(format!("capsule reader failed: {e}")))?;
        // The consignment key: the DVK id the server gave it, else its bytes.
        let consignment = match &dec_id {
            Some(id) => format!("dvk:{id}"),
            None => format!("sha256:{}", crate::extract::mail::sha256_hex(&xml)),
        };
        match incoming::receive(app, Some(&source), &consignment, &xml, ACTOR).await {
            Ok(r) => rep.registered.push(r.reg_no),
            Err(f) if f.code == FaultCode::Duplicate => rep.duplicates += 1,
            Err(f) if matches!(f.code, FaultCode::Server | FaultCode::Busy) => {
                tracing::warn!(
                    "dhx adapter: capsule {consignment} not received, left on the server: {f}"
                );
                rep.deferred += 1;
                continue;
            }
            Err(f) => {
                tracing::warn!("dhx adapter: capsule {consignment} refused: {f}");
                incoming::quarantine(
                    app,
                    Some(&source),
                    Some(&consignment),
                    &f,
                    Some(&xml),
                    xml.len() as u64,
                    None,
                )
                .await?;
                rep.quarantined += 1;
            }
        }
        if let Some(id) = dec_id {
            rep.acknowledged.push(id);
        }
    }
    // Crash window (tests/faults.rs): registered, the server not yet told.
    fail::fail_point!("dhx-poll-before-mark", |_| Err(Error::internal(
        "failpoint dhx-poll-before-mark"
    )));
    if !rep.acknowledged.is_empty() {
        let h = adapter::header(&me, &server, "markDocumentsReceived", "v3");
        client
            .mark_documents_received(&h, &rep.acknowledged)
            .await?;
    }
    Ok(rep)
}

/// The poller of `docgate serve`; off (waits for shutdown) without an adapter URL.
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    if app.config.dhx.adapter_url.trim().is_empty() {
        shutdown.cancelled().await;
        return Ok(());
    }
    let client = client(&app)?;
    let name = format!("dhx adapter {}", app.config.dhx.adapter_url);
    let mut every = Every::new(name, app.config.dhx.adapter_poll);
    while every.tick(&shutdown).await {
        let round = poll_once(&app, &client, 10).await.map(|r| {
            if r.received == 0 {
                return Next::Wait;
            }
            tracing::info!(
                "dhx adapter: {} received, {} registered, {} duplicates, {} quarantined",
                r.received,
                r.registered.len(),
                r.duplicates,
                r.quarantined
            );
            Next::Again
        });
        every.done(round);
    }
    Ok(())
}
