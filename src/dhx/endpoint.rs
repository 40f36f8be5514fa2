//! `POST /dhx`: the DHX `sendDocument` service, served by [`super::listen`] on
//! its own listener and only to allowed peers ([`super::listen::check_access`]).
//!
//! Business faults go back as `sendDocumentResponse/fault` with HTTP 200; a
//! failure on our side as a SOAP-ENV:Server fault with HTTP 500 (the sender
//! retries), and a spent global budget ([`super::budget`]) as a server fault
//! with HTTP 503 and `Retry-After`. Every rejected request except a duplicate
//! (and except a busy answer: the budget is ours) is quarantined, deduplicated by its
//! SHA-256.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use sha2::Digest;

use super::budget::{Budget, Reservation};
use super::listen::{check_access, Access};
use super::soap::{self, XRoadHeader};
use super::{incoming, Fault, FaultCode};
use crate::app::App;

#[derive(Clone)]
struct DhxState {
    app: App,
    budget: Budget,
}

/// The DHX routes of a DHX listener: `POST /dhx` behind the access check, with
/// one global byte budget (`dhx.max_inflight_bytes`) shared by all its requests.
/// Never merged into the public web router.
pub fn routes(app: App) -> axum::Router {
    let access = Access::from_config(&app.config.dhx).unwrap_or_else(|e| {
        // The configuration was validated at start; refuse everyone if not.
        tracing::error!("dhx: {e}; every request will be refused");
        Access::default()
    });
    let budget = Budget::new(app.config.dhx.max_inflight_bytes);
    axum::Router::new()
        .route("/dhx", axum::routing::post(send_document))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(DhxState { app, budget })
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(access),
            check_access,
        ))
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn fault_response(h: &XRoadHeader, f: &Fault) -> Response {
    let status = match f.code {
        FaultCode::Server => StatusCode::INTERNAL_SERVER_ERROR,
        FaultCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    let mut r = xml_response(status, soap::response_fault(h, f));
    if f.code == FaultCode::Busy {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    r
}

/// A request body that could not be taken whole.
enum BodyError {
    /// Larger than the limit: the size seen and the SHA-256 of what was read.
    TooLarge(u64, String),
    /// The connection failed while reading (an unfinished request: answered,
    /// not quarantined, so aborted uploads cannot fill the quarantine).
    Broken(String),
    /// The global budget is spent.
    Busy(Fault),
}

/// Reads the body up to `limit` bytes, taking each chunk from the request's
/// share of the budget before keeping it; past the limit, or once the budget
/// is spent, drains (up to a hard cap, keeping nothing) so the sender can read
/// our answer. The SHA-256 covers every byte read.
async fn read_bounded(
    body: Body,
    limit: u64,
    res: &Reservation,
) -> Result<(Vec<u8>, String), BodyError> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut sha = sha2::Sha256::new();
    let mut seen: u64 = 0;
    let mut busy: Option<Fault> = None;
    let cap = limit.saturating_mul(4).saturating_add(16 << 20);
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                return Err(BodyError::Broken(format!(
                    "request body could not be read: {e}"
                )))
            }
        };
        seen += chunk.len() as u64;
        sha.update(&chunk);
        if seen <= limit && busy.is_none() {
            if buf.len() + chunk.len() > buf.capacity() {
                let want = (buf.capacity() * 2)
                    .max(buf.len() + chunk.len())
                    .min(limit as usize);
                match res.take((want - buf.capacity()) as u64) {
                    Ok(()) => buf.reserve_exact(want - buf.len()),
                    Err(f) => {
                        busy = Some(f);
                        buf = Vec::new();
                        continue;
                    }
                }
            }
            buf.extend_from_slice(&chunk);
        } else {
            buf = Vec::new();
            if seen > cap {
                break;
            }
        }
    }
    if let Some(f) = busy {
        return Err(BodyError::Busy(f));
    }
    let sha = hex::encode(sha.finalize());
    if seen > limit {
        Err(BodyError::TooLarge(seen, sha))
    } else {
        Ok((buf, sha))
    }
}

async fn send_document(State(st): State<DhxState>, headers: HeaderMap, body: Body) -> Response {
    let app = &st.app;
    let limit = app.config.dhx.max_request_bytes;
    // The request's share of the global budget, given back when it ends.
    let res = st.budget.reservation();
    let (raw, sha) = match read_bounded(body, limit, &res).await {
        Ok(b) => b,
        Err(BodyError::Busy(f)) => {
            tracing::warn!("dhx: {f}");
            return fault_response(&XRoadHeader::default(), &f);
        }
        Err(BodyError::Broken(m)) => {
            return fault_response(&XRoadHeader::default(), &Fault::validation(m));
        }
        Err(BodyError::TooLarge(seen, sha)) => {
            let f = Fault::too_large(format!(
                "request is larger than the limit of {limit} bytes ({seen} bytes or more)"
            ));
            if let Err(e) = incoming::quarantine(app, None, None, &f, None, seen, Some(&sha)).await
            {
                tracing::error!("dhx: cannot quarantine a rejected request: {e}");
            }
            return fault_response(&XRoadHeader::default(), &f);
        }
    };
    let raw = Arc::new(raw);
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut limits = app.config.dhx.read_limits();
    limits.budget = Some(res.clone());
    // The envelope's tree costs about as much as its text.
    let parsed = match res.take(raw.len() as u64) {
        Err(f) => Ok(Err((f, soap::Partial::default()))),
        Ok(()) => {
            let (raw, limits) = (raw.clone(), limits.clone());
            tokio::task::spawn_blocking(move || {
                soap::parse_send_document(ct.as_deref(), &raw, &limits)
            })
            .await
        }
    };
    let quarantine = |client: Option<String>, consignment: Option<String>, f: Fault| {
        let raw = raw.clone();
        let sha = sha.clone();
        async move {
            if matches!(f.code, FaultCode::Busy | FaultCode::Duplicate) {
                return;
            }
            if let Err(e) = incoming::quarantine(
                app,
                client.as_deref(),
                consignment.as_deref(),
                &f,
                Some(&raw),
                raw.len() as u64,
                Some(&sha),
            )
            .await
            {
                tracing::error!("dhx: cannot quarantine a rejected request: {e}");
            }
        }
    };
    let req = match parsed {
        Ok(Ok(r)) => r,
        Ok(Err((f, partial))) => {
            let client = partial.header.client.as_ref().map(|c| c.key());
            quarantine(client, partial.consignment_id.clone(), f.clone()).await;
            return fault_response(&partial.header, &f);
        }
        Err(e) => {
            return fault_response(
                &XRoadHeader::default(),
                &Fault::new(FaultCode::Server, format!("parser failed: {e}")),
            )
        }
    };
    let client = req.client_key();
    match incoming::receive_with(
        app,
        client.as_deref(),
        &req.consignment_id,
        &req.capsule,
        "dhx",
        limits,
    )
    .await
    {
        Ok(r) => {
            tracing::info!(
                "dhx: registered {} from {:?} consignment {}",
                r.reg_no,
                client,
                req.consignment_id
            );
            xml_response(
                StatusCode::OK,
                soap::response_ok(&req.header, &r.receipt_id),
            )
        }
        Err(f) => {
            quarantine(client.clone(), Some(req.consignment_id.clone()), f.clone()).await;
            fault_response(&req.header, &f)
        }
    }
}
