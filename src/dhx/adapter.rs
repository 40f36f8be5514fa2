//! DVK-style client of a DHX adapter server (for agencies without their own DHX
//! endpoint): `sendDocuments` (v4), `receiveDocuments` (v4, polled),
//! `markDocumentsReceived` (v3) and `getSendStatus` (v2). Attachments are
//! base64(gzip(XML)) on one line; responses are read by local names, whatever
//! namespace prefixes the server uses.

use std::time::Duration;

use super::capsule::{self, ReadLimits};
use super::soap::{XRoadHeader, XRoadId};
use super::xml::{self, Element};
use super::Fault;

/// Namespace of the DVK-style interface.
pub const DHL_NS: &str = "http://producers.dhl.xrd.riik.ee/producer/dhl";

fn envelope(header: &XRoadHeader, body: &str) -> String {
    // the X-Road header as the DHX responses write it
    let full = super::soap::response_ok(header, "");
    let start = full.find("<SOAP-ENV:Header>").unwrap_or(0);
    let end = full
        .find("</SOAP-ENV:Header>")
        .map(|e| e + 18)
        .unwrap_or(start);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{}\" xmlns:xro=\"{}\" xmlns:iden=\"{}\" xmlns:dhl=\"{DHL_NS}\">{}<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>",
        super::soap::SOAP_ENV_NS,
        super::soap::XROAD_NS,
        super::soap::ID_NS,
        &full[start..end]
    )
}

/// The X-Road header of a call to the adapter server's service `op` (version `v`).
pub fn header(client: &XRoadId, server: &XRoadId, op: &str, v: &str) -> XRoadHeader {
    XRoadHeader {
        client: Some(client.clone()),
        service: Some(XRoadId {
            object_type: "SERVICE".into(),
            service_code: Some(op.into()),
            service_version: Some(v.into()),
            ..server.clone()
        }),
        id: Some(uuid::Uuid::new_v4().to_string()),
        protocol_version: Some("4.0".into()),
        ..Default::default()
    }
}

/// `sendDocuments` v4: the capsules, concatenated, as base64(gzip(XML)) on one line.
pub fn send_documents_request(h: &XRoadHeader, capsules: &[&[u8]]) -> String {
    let mut all = Vec::new();
    for c in capsules {
        all.extend_from_slice(strip_decl(c));
    }
    envelope(
        h,
        &format!(
            "<dhl:sendDocuments><keha><dokumendid>{}</dokumendid></keha></dhl:sendDocuments>",
            capsule::encode_zip_base64(&all)
        ),
    )
}

/// `receiveDocuments` v4 asking for at most `count` documents.
pub fn receive_documents_request(h: &XRoadHeader, count: u32) -> String {
    envelope(
        h,
        &format!("<dhl:receiveDocuments><keha><arv>{count}</arv></keha></dhl:receiveDocuments>"),
    )
}

/// `markDocumentsReceived` v3 for the given DVK ids.
pub fn mark_documents_received_request(h: &XRoadHeader, ids: &[String]) -> String {
    let mut items = String::new();
    for id in ids {
        items.push_str("<item><dhl_id>");
        xml::escape_text(id, &mut items);
        items.push_str("</dhl_id><staatuse_id>1</staatuse_id></item>");
    }
    envelope(h, &format!("<dhl:markDocumentsReceived><keha><dokumendid>{items}</dokumendid></keha></dhl:markDocumentsReceived>"))
}

/// `getSendStatus` v2 for the given DVK ids (the id list as base64(gzip(XML))).
pub fn get_send_status_request(h: &XRoadHeader, ids: &[String]) -> String {
    let mut list = String::new();
    for id in ids {
        list.push_str("<dhl_id>");
        xml::escape_text(id, &mut list);
        list.push_str("</dhl_id>");
    }
    envelope(
        h,
        &format!("<dhl:getSendStatus><keha><dokumendid>{}</dokumendid><staatuse_ajalugu>false</staatuse_ajalugu></keha></dhl:getSendStatus>", capsule::encode_zip_base64(list.as_bytes())),
    )
}

fn strip_decl(b: &[u8]) -> &[u8] {
    let t = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map_or(b, |i| &b[i..]);
    if t.starts_with(b"<?xml") {
        if let Some(e) = t.windows(2).position(|w| w == b"?>") {
            return &t[e + 2..];
        }
    }
    t
}

/// Removes every XML declaration of a concatenation of documents.
fn strip_all_decls(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"<?xml") {
            match b[i..].windows(2).position(|w| w == b"?>") {
                Some(e) => {
                    i += e + 2;
                    continue;
                }
                None => break,
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Splits several concatenated documents (e.g. DecContainers) into one XML each.
pub fn split_concatenated(b: &[u8]) -> Result<Vec<Vec<u8>>, Fault> {
    let mut wrapped = b"<concatenated>".to_vec();
    wrapped.extend_from_slice(&strip_all_decls(b));
    wrapped.extend_from_slice(b"</concatenated>");
    let root = xml::parse(&wrapped).map_err(|e| {
        Fault::validation(format!("concatenated documents are not well-formed: {e}"))
    })?;
    Ok(root
        .elements()
        .map(|e| {
            let mut s = String::new();
            xml::write_element(e, &mut s);
            s.into_bytes()
        })
        .collect())
}

/// The `keha` of the response body, by local names (prefixes do not matter).
fn keha(response: &[u8]) -> Result<Element, Fault> {
    let root = xml::parse(response)
        .map_err(|e| Fault::validation(format!("adapter response is not XML: {e}")))?;
    if let Some(f) = root.descendant("Fault") {
        return Err(Fault::new(
            super::FaultCode::Server,
            format!(
                "adapter server fault: {}",
                f.child_text("faultstring").unwrap_or_default()
            ),
        ));
    }
    root.descendant("keha")
        .cloned()
        .ok_or_else(|| Fault::validation("adapter response has no keha"))
}

/// The content of an element that is either inline XML or base64(gzip(XML)).
fn inline_or_zipped(e: &Element, limits: &ReadLimits) -> Result<Vec<u8>, Fault> {
    if e.elements().next().is_some() {
        let mut s = String::new();
        for c in e.elements() {
            xml::write_element(c, &mut s);
        }
        return Ok(s.into_bytes());
    }
    let t = e.text();
    if t.trim().is_empty() {
        return Ok(Vec::new());
    }
    capsule::decode_zip_base64(&t, limits.max_xml_bytes, "the adapter attachment")
}

/// `receiveDocuments` response: the capsules (XML each).
pub fn parse_receive_documents_response(
    response: &[u8],
    limits: &ReadLimits,
) -> Result<Vec<Vec<u8>>, Fault> {
    let k = keha(response)?;
    let holder = k.child("dokumendid").unwrap_or(&k);
    let href_or_text = inline_or_zipped(holder, limits)?;
    if href_or_text.is_empty() {
        return Ok(Vec::new());
    }
    split_concatenated(&href_or_text)
}

/// `sendDocuments` response: the DVK ids given to the documents.
pub fn parse_send_documents_response(
    response: &[u8],
    limits: &ReadLimits,
) -> Result<Vec<String>, Fault> {
    let k = keha(response)?;
    let direct: Vec<String> = k
        .children_named("dhl_id")
        .map(|e| e.text().trim().to_string())
        .collect();
    if !direct.is_empty() {
        return Ok(direct);
    }
    let inner = inline_or_zipped(&k, limits)?;
    let mut wrapped = b"<r>".to_vec();
    wrapped.extend_from_slice(&strip_all_decls(&inner));
    wrapped.extend_from_slice(b"</r>");
    let r = xml::parse(&wrapped)
        .map_err(|e| Fault::validation(format!("sendDocuments response: {e}")))?;
    let mut ids = Vec::new();
    collect(&r, "dhl_id", &mut ids);
    Ok(ids)
}

fn collect(e: &Element, name: &str, out: &mut Vec<String>) {
    for c in e.elements() {
        if c.name == name {
            out.push(c.text().trim().to_string());
        }
        collect(c, name, out);
    }
}

/// `getSendStatus` response: (dhl_id, olek) per document.
pub fn parse_get_send_status_response(
    response: &[u8],
    limits: &ReadLimits,
) -> Result<Vec<(String, String)>, Fault> {
    let k = keha(response)?;
    let inner = inline_or_zipped(&k, limits)?;
    let mut wrapped = b"<r>".to_vec();
    wrapped.extend_from_slice(&strip_all_decls(&inner));
    wrapped.extend_from_slice(b"</r>");
    let r = xml::parse(&wrapped)
        .map_err(|e| Fault::validation(format!("getSendStatus response: {e}")))?;
    let mut out = Vec::new();
    fn walk(e: &Element, out: &mut Vec<(String, String)>) {
        for c in e.elements() {
            if c.name == "item" || c.name == "dokument" {
                if let Some(id) = c.child_text("dhl_id") {
                    out.push((id, c.child_text("olek").unwrap_or_default()));
                    continue;
                }
            }
            walk(c, out);
        }
    }
    walk(&r, &mut out);
    Ok(out)
}

/// A DVK-style adapter server client.
pub struct AdapterClient {
    http: reqwest::Client,
    url: String,
    pub limits: ReadLimits,
}

impl AdapterClient {
    pub fn new(url: &str, timeout: Duration, limits: ReadLimits) -> Result<AdapterClient, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(AdapterClient {
            http,
            url: url.to_string(),
            limits,
        })
    }

    async fn call(&self, body: String) -> Result<Vec<u8>, Fault> {
        let r = self
            .http
            .post(&self.url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                Fault::new(
                    super::FaultCode::Server,
                    format!("cannot reach the adapter server {}: {e}", self.url),
                )
            })?;
        super::read_body(r, super::MAX_ADAPTER_ANSWER_BYTES)
            .await
            .map_err(|e| {
                Fault::new(
                    super::FaultCode::Server,
                    format!("adapter server {}: {e}", self.url),
                )
            })
    }

    pub async fn send_documents(
        &self,
        h: &XRoadHeader,
        capsules: &[&[u8]],
    ) -> Result<Vec<String>, Fault> {
        let b = self.call(send_documents_request(h, capsules)).await?;
        parse_send_documents_response(&b, &self.limits)
    }

    pub async fn receive_documents(
        &self,
        h: &XRoadHeader,
        count: u32,
    ) -> Result<Vec<Vec<u8>>, Fault> {
        let b = self.call(receive_documents_request(h, count)).await?;
        parse_receive_documents_response(&b, &self.limits)
    }

    pub async fn mark_documents_received(
        &self,
        h: &XRoadHeader,
        ids: &[String],
    ) -> Result<(), Fault> {
        let b = self.call(mark_documents_received_request(h, ids)).await?;
        keha(&b).map(|_| ())
    }

    pub async fn get_send_status(
        &self,
        h: &XRoadHeader,
        ids: &[String],
    ) -> Result<Vec<(String, String)>, Fault> {
        let b = self.call(get_send_status_request(h, ids)).await?;
        parse_get_send_status_response(&b, &self.limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dhx::fixture;

    fn h() -> XRoadHeader {
        header(
            &XRoadId::subsystem("EE", "GOV", "70001975", "DHX"),
            &XRoadId::subsystem("EE", "GOV", "70006317", "dhl"),
            "receiveDocuments",
            "v4",
        )
    }

    #[test]
    fn receive_documents_splits_concatenated_containers_whatever_the_prefixes() {
        let a = fixture("capsule/kapsel_21.xml");
        let b = capsule::unwrap_any(
            &fixture("capsule/kapsel_21_gzip_base64.txt"),
            &ReadLimits::default(),
        )
        .unwrap();
        // the second with a prefix and an XML declaration
        let b = String::from_utf8(b).unwrap().replace("<DecContainer xmlns=\"http://www.riik.ee/schemas/deccontainer/vers_2_1/\">", "<?xml version=\"1.0\"?><k:DecContainer xmlns:k=\"http://www.riik.ee/schemas/deccontainer/vers_2_1/\" xmlns=\"http://www.riik.ee/schemas/deccontainer/vers_2_1/\">").replace("</DecContainer>", "</k:DecContainer>");
        let mut both = a.clone();
        both.extend_from_slice(b.as_bytes());
        let zipped = capsule::encode_zip_base64(&both);
        assert!(!zipped.contains('\n'), "one line");
        let resp = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:receiveDocumentsResponse xmlns:x="{DHL_NS}"><keha><dokumendid>{zipped}</dokumendid></keha></x:receiveDocumentsResponse></s:Body></s:Envelope>"#
        );
        let caps =
            parse_receive_documents_response(resp.as_bytes(), &ReadLimits::default()).unwrap();
        assert_eq!(caps.len(), 2);
        let c0 = capsule::read(&caps[0], &ReadLimits::default()).unwrap();
        let c1 = capsule::read(&caps[1], &ReadLimits::default()).unwrap();
        assert_eq!(c0, capsule::read(&a, &ReadLimits::default()).unwrap());
        assert_eq!(c1.transport.dec_sender.organisation_code, "400");
        // empty
        let empty = resp.replace(&zipped, "");
        assert!(
            parse_receive_documents_response(empty.as_bytes(), &ReadLimits::default())
                .unwrap()
                .is_empty()
        );
        // a SOAP fault is reported
        let fault = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Fault><faultcode>Server</faultcode><faultstring>boom</faultstring></Fault></Body></Envelope>"#;
        assert!(
            parse_receive_documents_response(fault.as_bytes(), &ReadLimits::default())
                .unwrap_err()
                .message
                .contains("boom")
        );
    }

    #[test]
    fn requests_carry_one_line_base64_gzip_and_parse_back() {
        let a = fixture("capsule/kapsel_21.xml");
        let req = send_documents_request(&h(), &[&a, &a]);
        let root = xml::parse(req.as_bytes()).unwrap();
        let d = root.descendant("dokumendid").unwrap().text();
        assert!(!d.contains('\n') && d.starts_with("H4sI"));
        let back = capsule::decode_zip_base64(&d, 1 << 20, "x").unwrap();
        assert_eq!(split_concatenated(&back).unwrap().len(), 2);
        let resp = format!(
            r#"<a:Envelope xmlns:a="http://schemas.xmlsoap.org/soap/envelope/"><a:Body><b:sendDocumentsResponse xmlns:b="{DHL_NS}"><keha>{}</keha></b:sendDocumentsResponse></a:Body></a:Envelope>"#,
            capsule::encode_zip_base64(b"<dhl_id>11</dhl_id><dhl_id>12</dhl_id>")
        );
        assert_eq!(
            parse_send_documents_response(resp.as_bytes(), &ReadLimits::default()).unwrap(),
            vec!["11", "12"]
        );
        let resp = format!(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><getSendStatusResponse xmlns="{DHL_NS}"><keha>{}</keha></getSendStatusResponse></Body></Envelope>"#,
            capsule::encode_zip_base64(b"<item><dhl_id>11</dhl_id><olek>saadetud</olek></item>")
        );
        assert_eq!(
            parse_get_send_status_response(resp.as_bytes(), &ReadLimits::default()).unwrap(),
            vec![("11".to_string(), "saadetud".to_string())]
        );
        let m = mark_documents_received_request(&h(), &["11".into()]);
        assert_eq!(
            xml::parse(m.as_bytes())
                .unwrap()
                .descendant("dhl_id")
                .unwrap()
                .text(),
            "11"
        );
        let s = get_send_status_request(&h(), &["11".into()]);
        assert!(xml::parse(s.as_bytes())
            .unwrap()
            .descendant("getSendStatus")
            .is_some());
        let r = receive_documents_request(&h(), 10);
        assert_eq!(
            xml::parse(r.as_bytes())
                .unwrap()
                .descendant("arv")
                .unwrap()
                .text(),
            "10"
        );
    }
}
