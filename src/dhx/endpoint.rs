//! `POST /dhx`: the DHX `sendDocument` service.
//!
//! Business faults go back as `sendDocumentResponse/fault` with HTTP 200; a
//! failure on our side as a SOAP-ENV:Server fault with HTTP 500 (the sender
//! retries). Every rejected request except a duplicate is quarantined verbatim.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::soap::{self, XRoadHeader};
use super::{incoming, Fault, FaultCode};
use crate::app::App;

/// The DHX routes, to merge into the HTTP router of `docgate serve`.
pub fn routes(app: App) -> axum::Router {
    axum::Router::new()
        .route("/dhx", axum::routing::post(send_document))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(app)
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
    let status = if f.code == FaultCode::Server {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    xml_response(status, soap::response_fault(h, f))
}

/// Reads the body up to `limit` bytes; past it, drains (up to a hard cap) so the
/// sender can read our fault, and returns the size seen.
async fn read_bounded(body: Body, limit: u64) -> Result<Vec<u8>, (u64, Option<String>)> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    let mut seen: u64 = 0;
    let cap = limit.saturating_mul(4).saturating_add(16 << 20);
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => return Err((seen, Some(format!("request body could not be read: {e}")))),
        };
        seen += chunk.len() as u64;
        if seen <= limit {
            buf.extend_from_slice(&chunk);
        } else {
            buf = Vec::new();
            if seen > cap {
                break;
            }
        }
    }
    if seen > limit {
        Err((seen, None))
    } else {
        Ok(buf)
    }
}

async fn send_document(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let limit = app.config.dhx.max_request_bytes;
    let raw = match read_bounded(body, limit).await {
        Ok(b) => b,
        Err((seen, err)) => {
            let f = match err {
                Some(m) => Fault::validation(m),
                None => Fault::too_large(format!(
                    "request is larger than the limit of {limit} bytes ({seen} bytes or more)"
                )),
            };
            let _ = incoming::quarantine(&app, None, None, &f, None, seen).await;
            return fault_response(&XRoadHeader::default(), &f);
        }
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let limits = app.config.dhx.read_limits();
    let parsed = {
        let raw = raw.clone();
        tokio::task::spawn_blocking(move || soap::parse_send_document(ct.as_deref(), &raw, &limits))
            .await
    };
    let req = match parsed {
        Ok(Ok(r)) => r,
        Ok(Err((f, partial))) => {
            let client = partial.header.client.as_ref().map(|c| c.key());
            if let Err(e) = incoming::quarantine(
                &app,
                client.as_deref(),
                partial.consignment_id.as_deref(),
                &f,
                Some(&raw),
                raw.len() as u64,
            )
            .await
            {
                tracing::error!("dhx: cannot quarantine a rejected request: {e}");
            }
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
    match incoming::receive(
        &app,
        client.as_deref(),
        &req.consignment_id,
        &req.capsule,
        "dhx",
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
            if f.code != FaultCode::Duplicate {
                if let Err(e) = incoming::quarantine(
                    &app,
                    client.as_deref(),
                    Some(&req.consignment_id),
                    &f,
                    Some(&raw),
                    raw.len() as u64,
                )
                .await
                {
                    tracing::error!("dhx: cannot quarantine a rejected request: {e}");
                }
            }
            fault_response(&req.header, &f)
        }
    }
}
