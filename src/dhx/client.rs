//! The sending side of `sendDocument`: an HTTP POST through the X-Road security
//! server (reqwest).

use std::time::Duration;

use super::soap::{self, SendOutcome, XRoadHeader, XRoadId};
use super::DhxConfig;

/// Builds the X-Road headers of a `sendDocument` call from us to `recipient_code`.
pub fn header_for(
    cfg: &DhxConfig,
    our_code: &str,
    recipient_code: &str,
    recipient_class: &str,
    recipient_subsystem: &str,
) -> XRoadHeader {
    XRoadHeader {
        client: Some(XRoadId::subsystem(
            &cfg.xroad_instance,
            &cfg.member_class,
            our_code,
            &cfg.subsystem_code,
        )),
        service: Some(XRoadId {
            object_type: "SERVICE".into(),
            service_code: Some("sendDocument".into()),
            service_version: Some("v1".into()),
            ..XRoadId::subsystem(
                &cfg.xroad_instance,
                recipient_class,
                recipient_code,
                recipient_subsystem,
            )
        }),
        id: Some(uuid::Uuid::new_v4().to_string()),
        user_id: None,
        protocol_version: Some("4.0".into()),
        represented_party: None,
    }
}

/// A `sendDocument` client.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    pub fn new(url: &str, timeout: Duration) -> Result<Client, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            url: url.to_string(),
        })
    }

    /// Calls `sendDocument`. `Err` is a transport problem (retryable).
    pub async fn send_document(
        &self,
        header: &XRoadHeader,
        consignment_id: &str,
        recipient: Option<&str>,
        capsule_xml: &[u8],
    ) -> Result<SendOutcome, String> {
        let (ct, body) = soap::build_send_document(header, consignment_id, recipient, capsule_xml);
        let resp = self
            .http
            .post(&self.url)
            .header("Content-Type", ct)
            .header("SOAPAction", "\"\"")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {}: {e}", self.url))?;
        let status = resp.status();
        let rct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = super::read_body(resp, super::MAX_ANSWER_BYTES)
            .await
            .map_err(|e| format!("cannot read the response of {}: {e}", self.url))?;
        match soap::parse_send_response(rct.as_deref(), &bytes) {
            Ok(o) => Ok(o),
            Err(e) if status.is_success() => {
                Err(format!("unreadable response from {}: {e}", self.url))
            }
            Err(_) => Err(format!("{} answered HTTP {status}", self.url)),
        }
    }
}
