//! DHX `sendDocument` over SOAP 1.1: request parsing (SOAP with attachments,
//! `multipart/related` with a swaRef `cid:` reference, or the capsule inline in
//! `documentAttachment`), X-Road v6 headers, responses and faults.
//!
//! Parsing is lenient where real senders are sloppy (element order inside
//! `sendDocument`, empty `recipient`, line breaks in base64, `\n` instead of
//! `\r\n` in MIME) and strict where it matters (the SOAP envelope and the DHX
//! namespace, a complete multipart body, valid base64).

use serde::{Deserialize, Serialize};

use super::capsule::{self, ReadLimits};
use super::xml::{self, Element};
use super::{Fault, FaultCode};

pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const DHX_NS: &str = "http://dhx.x-road.eu/producer";
pub const XROAD_NS: &str = "http://x-road.eu/xsd/xroad.xsd";
pub const ID_NS: &str = "http://x-road.eu/xsd/identifiers";
pub const REPR_NS: &str = "http://x-road.eu/xsd/representation.xsd";

/// An X-Road identifier (client or service).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct XRoadId {
    pub object_type: String,
    pub instance: String,
    pub member_class: String,
    pub member_code: String,
    pub subsystem_code: Option<String>,
    pub service_code: Option<String>,
    pub service_version: Option<String>,
}

impl XRoadId {
    pub fn subsystem(instance: &str, class: &str, code: &str, subsystem: &str) -> XRoadId {
        XRoadId {
            object_type: "SUBSYSTEM".into(),
            instance: instance.into(),
            member_class: class.into(),
            member_code: code.into(),
            subsystem_code: Some(subsystem.into()).filter(|s: &String| !s.is_empty()),
            service_code: None,
            service_version: None,
        }
    }

    /// `INSTANCE/CLASS/CODE[/SUBSYSTEM]`: the client key of duplicate detection.
    pub fn key(&self) -> String {
        let mut s = format!(
            "{}/{}/{}",
            self.instance, self.member_class, self.member_code
        );
        if let Some(sub) = &self.subsystem_code {
            s.push('/');
            s.push_str(sub);
        }
        s
    }

    fn parse(e: &Element) -> XRoadId {
        let t = |n: &str| e.child_text(n).filter(|s| !s.is_empty());
        XRoadId {
            object_type: e.attr("objectType").unwrap_or_default().to_string(),
            instance: t("xRoadInstance").unwrap_or_default(),
            member_class: t("memberClass").unwrap_or_default(),
            member_code: t("memberCode").unwrap_or_default(),
            subsystem_code: t("subsystemCode"),
            service_code: t("serviceCode"),
            service_version: t("serviceVersion"),
        }
    }

    fn write(&self, name: &str, out: &mut String) {
        out.push_str(&format!("<xro:{name} iden:objectType=\""));
        xml::escape_attr(&self.object_type, out);
        out.push_str("\">");
        let mut leaf = |n: &str, v: &str| {
            out.push_str(&format!("<iden:{n}>"));
            xml::escape_text(v, out);
            out.push_str(&format!("</iden:{n}>"));
        };
        leaf("xRoadInstance", &self.instance);
        leaf("memberClass", &self.member_class);
        leaf("memberCode", &self.member_code);
        if let Some(s) = &self.subsystem_code {
            leaf("subsystemCode", s);
        }
        if let Some(s) = &self.service_code {
            leaf("serviceCode", s);
        }
        if let Some(s) = &self.service_version {
            leaf("serviceVersion", s);
        }
        out.push_str(&format!("</xro:{name}>"));
    }
}

/// The X-Road v6 (message protocol 4.0) headers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct XRoadHeader {
    pub client: Option<XRoadId>,
    pub service: Option<XRoadId>,
    pub id: Option<String>,
    pub user_id: Option<String>,
    pub protocol_version: Option<String>,
    /// Third-party representation extension: (partyClass, partyCode).
    pub represented_party: Option<(Option<String>, String)>,
}

impl XRoadHeader {
    fn parse(header: Option<&Element>) -> XRoadHeader {
        let mut h = XRoadHeader::default();
        let Some(header) = header else { return h };
        for e in header.elements() {
            let in_xroad = e.ns.as_deref() == Some(XROAD_NS);
            match (in_xroad, e.name.as_str()) {
                (true, "client") => h.client = Some(XRoadId::parse(e)),
                (true, "service") => h.service = Some(XRoadId::parse(e)),
                (true, "id") => h.id = Some(e.text().trim().to_string()),
                (true, "userId") => h.user_id = Some(e.text().trim().to_string()),
                (true, "protocolVersion") => h.protocol_version = Some(e.text().trim().to_string()),
                (_, "representedParty") if e.ns.as_deref() == Some(REPR_NS) => {
                    if let Some(code) = e.child_text("partyCode") {
                        h.represented_party = Some((e.child_text("partyClass"), code));
                    }
                }
                _ => {}
            }
        }
        h
    }

    fn write(&self, out: &mut String) {
        out.push_str("<SOAP-ENV:Header>");
        if let Some(c) = &self.client {
            c.write("client", out);
        }
        if let Some(s) = &self.service {
            s.write("service", out);
        }
        for (n, v) in [
            ("id", &self.id),
            ("userId", &self.user_id),
            ("protocolVersion", &self.protocol_version),
        ] {
            if let Some(v) = v {
                out.push_str(&format!("<xro:{n}>"));
                xml::escape_text(v, out);
                out.push_str(&format!("</xro:{n}>"));
            }
        }
        out.push_str("</SOAP-ENV:Header>");
    }
}

/// A parsed `sendDocument` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendDocument {
    pub header: XRoadHeader,
    pub dhx_version: Option<String>,
    pub consignment_id: String,
    pub recipient: Option<String>,
    pub recipient_system: Option<String>,
    /// The capsule XML (decoded from the attachment).
    pub capsule: Vec<u8>,
}

impl SendDocument {
    /// The sender's identity for duplicate detection.
    pub fn client_key(&self) -> Option<String> {
        self.header.client.as_ref().map(XRoadId::key)
    }
}

/// What can be salvaged from a request that failed to parse (for the response
/// headers and the quarantine record).
#[derive(Debug, Clone, Default)]
pub struct Partial {
    pub header: Box<XRoadHeader>,
    pub consignment_id: Option<String>,
}

// ---------------------------------------------------------------------------
// MIME multipart/related
// ---------------------------------------------------------------------------

/// One MIME part: lowercase header names, and the decoded body.
#[derive(Debug, Clone)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn content_id(&self) -> Option<String> {
        self.header("content-id").map(|v| {
            v.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    }
}

/// Media type (lowercase) and parameters of a Content-Type value.
pub fn parse_content_type(v: &str) -> (String, Vec<(String, String)>) {
    let mut parts = split_params(v);
    let media = parts.remove(0).trim().to_ascii_lowercase();
    let params = parts
        .into_iter()
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_ascii_lowercase(), v.to_string()))
        })
        .collect();
    (media, params)
}

fn split_params(v: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.last_mut().unwrap().push(c);
            }
            ';' if !quoted => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Splits a multipart body. A body without its closing delimiter is truncated
/// and refused.
pub fn parse_multipart(boundary: &str, body: &[u8]) -> Result<Vec<Part>, Fault> {
    if boundary.is_empty() || boundary.len() > 200 {
        return Err(Fault::validation(
            "multipart request without a usable boundary parameter",
        ));
    }
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    // the first delimiter: at the start or after a line break
    let mut pos = if body.starts_with(d) {
        0
    } else {
        find(body, &[b"\n", d].concat(), 0)
            .map(|p| p + 1)
            .ok_or_else(|| {
                Fault::validation(format!(
                    "multipart body does not contain the boundary {boundary:?}"
                ))
            })?
    };
    let mut parts = Vec::new();
    loop {
        let after = pos + d.len();
        if body[after..].starts_with(b"--") {
            return Ok(parts); // closing delimiter
        }
        // skip transport padding and the line break after the delimiter
        let line_end = find(body, b"\n", after)
            .ok_or_else(|| Fault::validation("multipart body is truncated after a boundary"))?;
        let start = line_end + 1;
        let next = find(body, &[b"\n", d].concat(), start).ok_or_else(|| {
            Fault::validation(format!(
                "multipart body is truncated: part {} has no closing boundary {delim:?}--",
                parts.len() + 1
            ))
        })?;
        let mut end = next;
        if end > start && body[end - 1] == b'\r' {
            end -= 1;
        }
        parts.push(parse_part(&body[start..end.max(start)], parts.len() + 1)?);
        pos = next + 1;
    }
}

fn parse_part(raw: &[u8], n: usize) -> Result<Part, Fault> {
    let (head_end, body_start) = match (find(raw, b"\r\n\r\n", 0), find(raw, b"\n\n", 0)) {
        (Some(a), Some(b)) if b < a => (b, b + 2),
        (Some(a), _) => (a, a + 4),
        (None, Some(b)) => (b, b + 2),
        (None, None) => {
            if raw.iter().all(|b| b.is_ascii_whitespace()) {
                (0, raw.len())
            } else {
                return Err(Fault::validation(format!(
                    "multipart part {n} has no header/body separator"
                )));
            }
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let body = &raw[body_start.min(raw.len())..];
    let cte = headers
        .iter()
        .find(|(k, _)| k == "content-transfer-encoding")
        .map(|(_, v)| v.to_ascii_lowercase());
    let body = match cte.as_deref() {
        None | Some("binary") | Some("8bit") | Some("7bit") => body.to_vec(),
        Some("base64") => {
            let s = std::str::from_utf8(body).map_err(|_| {
                Fault::validation(format!(
                    "multipart part {n} is not valid base64 (not ASCII)"
                ))
            })?;
            capsule::b64_decode(s).map_err(|e| {
                Fault::validation(format!("multipart part {n} is not valid base64: {e}"))
            })?
        }
        Some(other) => {
            return Err(Fault::validation(format!(
                "multipart part {n} has an unsupported Content-Transfer-Encoding {other:?}"
            )))
        }
    };
    Ok(Part { headers, body })
}

// ---------------------------------------------------------------------------
// The request
// ---------------------------------------------------------------------------

/// Decodes an attachment into capsule XML: XML as is, gzip decompressed, base64
/// decoded (then XML or gzip).
pub fn attachment_to_capsule(
    bytes: &[u8],
    limits: &ReadLimits,
    what: &str,
) -> Result<Vec<u8>, Fault> {
    fn classify(b: &[u8]) -> Option<&'static str> {
        let t = b
            .iter()
            .position(|c| !c.is_ascii_whitespace())
            .map(|i| &b[i..])
            .unwrap_or(b);
        if t.starts_with(b"<") || t.starts_with(b"\xEF\xBB\xBF<") {
            Some("xml")
        } else if t.starts_with(&[0x1f, 0x8b]) {
            Some("gzip")
        } else {
            None
        }
    }
    let decode_once = |b: &[u8]| -> Result<Option<Vec<u8>>, Fault> {
        match classify(b) {
            Some("xml") => Ok(Some(b.to_vec())),
            Some(_) => Ok(Some(capsule::gunzip_bounded_in(
                b,
                limits.max_xml_bytes,
                what,
                limits.budget.as_ref(),
            )?)),
            None => Ok(None),
        }
    };
    if let Some(x) = decode_once(bytes)? {
        return Ok(x);
    }
    let s = std::str::from_utf8(bytes)
        .map_err(|_| Fault::validation(format!("{what} is neither XML, gzip nor base64")))?;
    if s.trim().is_empty() {
        return Err(Fault::validation(format!("{what} is empty")));
    }
    let decoded = capsule::b64_decode(s)
        .map_err(|e| Fault::validation(format!("{what} is not valid base64: {e}")))?;
    match decode_once(&decoded)? {
        Some(x) => Ok(x),
        None => Err(Fault::validation(format!(
            "{what} decodes to neither XML nor gzip"
        ))),
    }
}

/// Parses a `sendDocument` request (HTTP body and its Content-Type).
pub fn parse_send_document(
    content_type: Option<&str>,
    body: &[u8],
    limits: &ReadLimits,
) -> Result<SendDocument, (Fault, Partial)> {
    let mut partial = Partial::default();
    if body.len() as u64 > limits.max_xml_bytes {
        return Err((
            Fault::too_large(format!(
                "request is {} bytes, above the limit of {}",
                body.len(),
                limits.max_xml_bytes
            )),
            partial,
        ));
    }
    let (media, params) = parse_content_type(content_type.unwrap_or("text/xml"));
    let (envelope_bytes, parts) = if media.starts_with("multipart/") {
        let boundary = params
            .iter()
            .find(|(k, _)| k == "boundary")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let parts = parse_multipart(boundary, body).map_err(|f| (f, partial.clone()))?;
        if parts.is_empty() {
            return Err((Fault::validation("multipart request has no parts"), partial));
        }
        let start = params
            .iter()
            .find(|(k, _)| k == "start")
            .map(|(_, v)| v.trim_matches(['<', '>']).to_string());
        let root = start
            .and_then(|s| {
                parts
                    .iter()
                    .position(|p| p.content_id().as_deref() == Some(s.as_str()))
            })
            .unwrap_or(0);
        (parts[root].body.clone(), parts)
    } else {
        (body.to_vec(), Vec::new())
    };
    let env = xml::parse(&envelope_bytes).map_err(|e| {
        (
            Fault::validation(format!("SOAP envelope is not well-formed XML: {e}")),
            partial.clone(),
        )
    })?;
    if env.name != "Envelope" || env.ns.as_deref() != Some(SOAP_ENV_NS) {
        return Err((
            Fault::validation(format!(
                "expected a SOAP 1.1 Envelope in namespace {SOAP_ENV_NS}, found {}",
                env.qualified()
            )),
            partial,
        ));
    }
    let in_env = |e: &&Element, n: &str| e.name == n && e.ns.as_deref() == Some(SOAP_ENV_NS);
    partial.header = Box::new(XRoadHeader::parse(
        env.elements().find(|e| in_env(e, "Header")),
    ));
    let body_el = env.elements().find(|e| in_env(e, "Body")).ok_or_else(|| {
        (
            Fault::validation("SOAP envelope has no Body"),
            partial.clone(),
        )
    })?;
    let op = body_el
        .elements()
        .next()
        .ok_or_else(|| (Fault::validation("SOAP Body is empty"), partial.clone()))?;
    if op.name != "sendDocument" || op.ns.as_deref() != Some(DHX_NS) {
        return Err((
            Fault::validation(format!(
                "expected {{{DHX_NS}}}sendDocument in the SOAP Body, found {}",
                op.qualified()
            )),
            partial,
        ));
    }
    // children in any order, in the DHX namespace or unqualified
    let get = |n: &str| {
        op.elements()
            .find(|e| e.name == n && (e.ns.as_deref() == Some(DHX_NS) || e.ns.is_none()))
    };
    let text = |n: &str| {
        get(n)
            .map(|e| e.text().trim().to_string())
            .filter(|s| !s.is_empty())
    };
    partial.consignment_id = text("consignmentId");
    let dhx_version = text("DHXVersion");
    if let Some(v) = &dhx_version {
        if v != "1.0" {
            return Err((
                Fault::new(
                    FaultCode::UnsupportedVersion,
                    format!("DHXVersion {v:?} is not supported: only 1.0"),
                ),
                partial,
            ));
        }
    }
    let consignment_id = partial.consignment_id.clone().ok_or_else(|| {
        (
            Fault::validation("sendDocument has no consignmentId"),
            partial.clone(),
        )
    })?;
    if consignment_id.len() > 256 {
        return Err((
            Fault::validation("consignmentId is longer than 256 characters"),
            partial,
        ));
    }
    let att = get("documentAttachment").ok_or_else(|| {
        (
            Fault::validation("sendDocument has no documentAttachment"),
            partial.clone(),
        )
    })?;
    let att_text = att.text();
    let att_ref = att_text.trim();
    let capsule = if let Some(cid) = att_ref.strip_prefix("cid:") {
        let cid = percent_decode(cid);
        let part = parts.iter().find(|p| p.content_id().as_deref() == Some(cid.as_str())).ok_or_else(|| {
            (
                Fault::validation(format!(
                    "documentAttachment refers to cid:{cid} but the request has no such attachment part"
                )),
                partial.clone(),
            )
        })?;
        attachment_to_capsule(&part.body, limits, "the documentAttachment part")
            .map_err(|f| (f, partial.clone()))?
    } else if att.elements().next().is_some() {
        return Err((
            Fault::validation(
                "documentAttachment holds XML elements, expected a cid: reference or base64",
            ),
            partial,
        ));
    } else {
        attachment_to_capsule(att_ref.as_bytes(), limits, "the inline documentAttachment")
            .map_err(|f| (f, partial.clone()))?
    };
    Ok(SendDocument {
        header: (*partial.header).clone(),
        dhx_version,
        consignment_id,
        recipient: text("recipient"),
        recipient_system: text("recipientSystem"),
        capsule,
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (
                (b[i + 1] as char).to_digit(16),
                (b[i + 2] as char).to_digit(16),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// Writing requests and responses
// ---------------------------------------------------------------------------

fn envelope_start(out: &mut String) {
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    out.push_str(&format!(
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{SOAP_ENV_NS}\" xmlns:xro=\"{XROAD_NS}\" xmlns:iden=\"{ID_NS}\" xmlns:dhx=\"{DHX_NS}\">"
    ));
}

/// Builds a `sendDocument` request as SOAP with attachments. Returns the
/// Content-Type header value and the body.
pub fn build_send_document(
    header: &XRoadHeader,
    consignment_id: &str,
    recipient: Option<&str>,
    capsule_xml: &[u8],
) -> (String, Vec<u8>) {
    let boundary = format!("MIMEBoundary_{}", uuid::Uuid::new_v4().simple());
    let mut env = String::new();
    envelope_start(&mut env);
    header.write(&mut env);
    env.push_str("<SOAP-ENV:Body><dhx:sendDocument><dhx:DHXVersion>1.0</dhx:DHXVersion>");
    env.push_str("<dhx:documentAttachment>cid:doc</dhx:documentAttachment>");
    if let Some(r) = recipient {
        env.push_str("<dhx:recipient>");
        xml::escape_text(r, &mut env);
        env.push_str("</dhx:recipient>");
    }
    env.push_str("<dhx:consignmentId>");
    xml::escape_text(consignment_id, &mut env);
    env.push_str("</dhx:consignmentId></dhx:sendDocument></SOAP-ENV:Body></SOAP-ENV:Envelope>");
    let b64 = capsule::b64_encode(capsule_xml);
    let mut body = Vec::with_capacity(env.len() + b64.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\nContent-ID: <envelope>\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(env.as_bytes());
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <doc>\r\n\r\n"
        )
        .as_bytes(),
    );
    for chunk in b64.as_bytes().chunks(76) {
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let ct = format!(
        "multipart/related; type=\"text/xml\"; start=\"<envelope>\"; boundary=\"{boundary}\""
    );
    (ct, body)
}

/// `sendDocumentResponse` with a receiptId.
pub fn response_ok(header: &XRoadHeader, receipt_id: &str) -> String {
    let mut out = String::new();
    envelope_start(&mut out);
    header.write(&mut out);
    out.push_str("<SOAP-ENV:Body><dhx:sendDocumentResponse><dhx:receiptId>");
    xml::escape_text(receipt_id, &mut out);
    out.push_str("</dhx:receiptId></dhx:sendDocumentResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>");
    out
}

/// `sendDocumentResponse` with a DHX fault (no receiptId, as the protocol says).
pub fn response_fault(header: &XRoadHeader, fault: &Fault) -> String {
    if fault.is_server() {
        return soap_fault(header, &fault.message);
    }
    let mut out = String::new();
    envelope_start(&mut out);
    header.write(&mut out);
    out.push_str("<SOAP-ENV:Body><dhx:sendDocumentResponse><dhx:fault><dhx:faultCode>");
    out.push_str(fault.code.as_str());
    out.push_str("</dhx:faultCode><dhx:faultString>");
    xml::escape_text(&fault.message, &mut out);
    out.push_str("</dhx:faultString></dhx:fault></dhx:sendDocumentResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>");
    out
}

/// A technical SOAP fault (our side failed; the sender should retry).
pub fn soap_fault(header: &XRoadHeader, message: &str) -> String {
    let mut out = String::new();
    envelope_start(&mut out);
    header.write(&mut out);
    out.push_str(
        "<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>",
    );
    xml::escape_text(message, &mut out);
    out.push_str("</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>");
    out
}

/// The outcome of a `sendDocument` call, as the sender reads the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SendOutcome {
    Receipt(String),
    Fault(Fault),
    /// A SOAP-ENV:Fault (technical, retryable).
    SoapFault(String),
}

/// Reads a `sendDocumentResponse` (or a SOAP fault), without depending on prefixes.
pub fn parse_send_response(content_type: Option<&str>, body: &[u8]) -> Result<SendOutcome, String> {
    let (media, params) = parse_content_type(content_type.unwrap_or("text/xml"));
    let xml_bytes = if media.starts_with("multipart/") {
        let boundary = params
            .iter()
            .find(|(k, _)| k == "boundary")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let parts = parse_multipart(&boundary, body).map_err(|f| f.message)?;
        parts
            .into_iter()
            .next()
            .map(|p| p.body)
            .ok_or("empty multipart response")?
    } else {
        body.to_vec()
    };
    let env = xml::parse(&xml_bytes).map_err(|e| format!("response is not XML: {e}"))?;
    let body_el = env.child("Body").ok_or("response has no SOAP Body")?;
    if let Some(f) = body_el.child("Fault") {
        let msg = f.child_text("faultstring").unwrap_or_default();
        let code = f.child_text("faultcode").unwrap_or_default();
        return Ok(SendOutcome::SoapFault(format!("{code}: {msg}")));
    }
    let resp = body_el
        .child("sendDocumentResponse")
        .ok_or("response has no sendDocumentResponse")?;
    if let Some(f) = resp.child("fault") {
        let code = f.child_text("faultCode").unwrap_or_default();
        let msg = f.child_text("faultString").unwrap_or_default();
        return Ok(match FaultCode::parse(&code) {
            Some(c) => SendOutcome::Fault(Fault::new(c, msg)),
            None => SendOutcome::SoapFault(format!("{code}: {msg}")),
        });
    }
    match resp.child_text("receiptId").filter(|s| !s.is_empty()) {
        Some(r) => Ok(SendOutcome::Receipt(r)),
        None => Err("sendDocumentResponse has neither receiptId nor fault".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dhx::fixture;

    fn wrap(envelope: &[u8], attachment: &[u8], cte: &str) -> (String, Vec<u8>) {
        let mut b = Vec::new();
        b.extend_from_slice(b"--XX\nContent-Type: text/xml\nContent-ID: <root>\n\n");
        b.extend_from_slice(envelope);
        b.extend_from_slice(format!("\n--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: {cte}\nContent-ID: <doc>\n\n").as_bytes());
        b.extend_from_slice(attachment);
        b.extend_from_slice(b"\n--XX--\n");
        (
            "multipart/related; type=\"text/xml\"; boundary=XX; start=\"<root>\"".into(),
            b,
        )
    }

    #[test]
    fn official_requests_parse_with_their_attachment() {
        let lim = ReadLimits::default();
        let capsule_xml = fixture("capsule/kapsel_21.xml");
        for name in [
            "sendDocument_request.xml",
            "sendDocument_request_representee.xml",
            "sendDocument_request_subsystem.xml",
        ] {
            let env = fixture(&format!("dhx-protocol/{name}"));
            // as is: the cid: reference has no part
            let (f, partial) = parse_send_document(Some("text/xml"), &env, &lim).unwrap_err();
            assert_eq!(f.code, FaultCode::Validation, "{name}");
            assert!(f.message.contains("cid:doc"), "{f}");
            assert_eq!(partial.consignment_id.as_deref(), Some("9999"));
            // wrapped with the capsule as a base64 part
            let (ct, body) = wrap(&env, capsule::b64_encode(&capsule_xml).as_bytes(), "base64");
            let req = parse_send_document(Some(&ct), &body, &lim).unwrap();
            assert_eq!(req.capsule, capsule_xml);
            assert_eq!(req.consignment_id, "9999");
            assert_eq!(
                req.header.client.as_ref().unwrap().key(),
                "ee-dev/GOV/400/DHX"
            );
            assert_eq!(
                req.header.service.as_ref().unwrap().service_code.as_deref(),
                Some("sendDocument")
            );
            assert_eq!(req.header.protocol_version.as_deref(), Some("4.0"));
            // gzip in the part, and binary
            let (ct, body) = wrap(&env, &capsule::gzip(&capsule_xml), "binary");
            assert_eq!(
                parse_send_document(Some(&ct), &body, &lim).unwrap().capsule,
                capsule_xml
            );
        }
        let env = fixture("dhx-protocol/sendDocument_request_representee.xml");
        let (ct, body) = wrap(&env, &capsule_xml, "binary");
        assert_eq!(
            parse_send_document(Some(&ct), &body, &lim)
                .unwrap()
                .recipient
                .as_deref(),
            Some("500")
        );
    }

    #[test]
    fn inline_attachment_and_faults() {
        let lim = ReadLimits::default();
        let capsule_xml = fixture("capsule/kapsel_21.xml");
        let env = String::from_utf8(fixture("dhx-protocol/sendDocument_request.xml")).unwrap();
        let inline = env.replace("cid:doc", &capsule::encode_zip_base64(&capsule_xml));
        assert_eq!(
            parse_send_document(None, inline.as_bytes(), &lim)
                .unwrap()
                .capsule,
            capsule_xml
        );
        let bad = env.replace("cid:doc", "!!!notbase64");
        let (f, _) = parse_send_document(None, bad.as_bytes(), &lim).unwrap_err();
        assert!(f.message.contains("base64"), "{f}");
        let v2 = fixture("dhx-protocol/sendDocument_request_version.xml");
        let (f, _) = parse_send_document(None, &v2, &lim).unwrap_err();
        assert_eq!(f.code, FaultCode::UnsupportedVersion);
        let wrong_ns = env.replace(
            "http://dhx.x-road.eu/producer",
            "http://dhx.x-road.eu/producer2",
        );
        let (f, _) = parse_send_document(None, wrong_ns.as_bytes(), &lim).unwrap_err();
        assert!(f.message.contains("sendDocument"), "{f}");
        let soap12 = env.replace(SOAP_ENV_NS, "http://www.w3.org/2003/05/soap-envelope");
        let (f, _) = parse_send_document(None, soap12.as_bytes(), &lim).unwrap_err();
        assert!(f.message.contains("SOAP 1.1"), "{f}");
        // truncated multipart
        let (ct, body) = wrap(
            env.as_bytes(),
            capsule::b64_encode(&capsule_xml).as_bytes(),
            "base64",
        );
        for cut in [body.len() - 8, body.len() / 2, 10] {
            let (f, _) = parse_send_document(Some(&ct), &body[..cut], &lim).unwrap_err();
            assert_eq!(f.code, FaultCode::Validation);
            assert!(
                f.message.contains("truncated")
                    || f.message.contains("not well-formed")
                    || f.message.contains("boundary"),
                "{cut}: {f}"
            );
        }
        // bad base64 in the part
        let (ct, body) = wrap(env.as_bytes(), b"@@@@", "base64");
        let (f, _) = parse_send_document(Some(&ct), &body, &lim).unwrap_err();
        assert!(f.message.contains("base64"), "{f}");
        // too large
        let (f, _) = parse_send_document(
            Some(&ct),
            &body,
            &ReadLimits {
                max_xml_bytes: 100,
                max_decompressed_bytes: 100,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(f.code, FaultCode::SizeLimitExceeded);
    }

    #[test]
    fn element_order_is_lenient() {
        let capsule_xml = fixture("capsule/kapsel_21.xml");
        let env = format!(
            r#"<e:Envelope xmlns:e="{SOAP_ENV_NS}"><e:Body><d:sendDocument xmlns:d="{DHX_NS}"><consignmentId>c-1</consignmentId><d:recipient/><d:documentAttachment>{}</d:documentAttachment></d:sendDocument></e:Body></e:Envelope>"#,
            capsule::b64_encode(&capsule_xml)
        );
        let r = parse_send_document(None, env.as_bytes(), &ReadLimits::default()).unwrap();
        assert_eq!(r.consignment_id, "c-1");
        assert_eq!(r.recipient, None);
        assert!(r.header.client.is_none());
    }

    #[test]
    fn built_requests_and_responses_parse_back() {
        let capsule_xml = fixture("capsule/kapsel_21.xml");
        let header = XRoadHeader {
            client: Some(XRoadId::subsystem("EE", "GOV", "70001975", "DHX")),
            service: Some(XRoadId {
                object_type: "SERVICE".into(),
                service_code: Some("sendDocument".into()),
                service_version: Some("v1".into()),
                ..XRoadId::subsystem("EE", "GOV", "70000562", "DHX")
            }),
            id: Some("x<&>".into()),
            protocol_version: Some("4.0".into()),
            ..Default::default()
        };
        let (ct, body) = build_send_document(&header, "cons&1", Some("70000562"), &capsule_xml);
        let r = parse_send_document(Some(&ct), &body, &ReadLimits::default()).unwrap();
        assert_eq!(r.header, header);
        assert_eq!(r.consignment_id, "cons&1");
        assert_eq!(r.capsule, capsule_xml);
        assert_eq!(r.dhx_version.as_deref(), Some("1.0"));
        let ok = response_ok(&header, "8-1/5");
        assert_eq!(
            parse_send_response(None, ok.as_bytes()).unwrap(),
            SendOutcome::Receipt("8-1/5".into())
        );
        let f = Fault::new(FaultCode::Duplicate, "already <got> it");
        assert_eq!(
            parse_send_response(None, response_fault(&header, &f).as_bytes()).unwrap(),
            SendOutcome::Fault(f)
        );
        assert!(
            matches!(parse_send_response(None, soap_fault(&header, "db down").as_bytes()).unwrap(), SendOutcome::SoapFault(m) if m.contains("db down"))
        );
        // the official responses, whatever their prefixes
        assert_eq!(
            parse_send_response(None, &fixture("dhx-protocol/sendDocument_response.xml")).unwrap(),
            SendOutcome::Receipt("12423".into())
        );
        assert!(matches!(
            parse_send_response(
                None,
                &fixture("dhx-protocol/sendDocument_response_fault.xml")
            )
            .unwrap(),
            SendOutcome::Fault(Fault {
                code: FaultCode::InvalidAddressee,
                ..
            })
        ));
        assert!(matches!(
            parse_send_response(None, &fixture("dhx-protocol/sendDocument_response_soap_fault.xml")).unwrap(),
            SendOutcome::SoapFault(m) if m.contains("EXCTRACTION_ERROR")
        ));
    }
}

/// The parsers never panic, whatever the bytes (the stable companion of the
/// cargo-fuzz targets in fuzz/).
#[cfg(test)]
mod no_panic {
    use super::*;
    use proptest::prelude::*;

    fn seeds() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dhx");
        [
            "capsule/kapsel_21.xml",
            "capsule/Naide2.xml",
            "dhx-protocol/sendDocument_request.xml",
            "dhx-protocol/sendDocument_response_fault.xml",
        ]
        .iter()
        .map(|p| std::fs::read(dir.join(p)).unwrap())
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn parsers_survive_mutated_input(seed in 0usize..4, cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12), truncate in any::<prop::sample::Index>(), multipart in any::<bool>()) {
            let mut data = seeds()[seed].clone();
            for (i, b) in cuts {
                let n = data.len();
                data[i.index(n)] = b;
            }
            let n = data.len();
            data.truncate(truncate.index(n + 1).max(n / 2));
            let lim = ReadLimits { max_xml_bytes: 1 << 20, max_decompressed_bytes: 1 << 20, ..Default::default() };
            let _ = capsule::read_any(&data, &lim);
            let ct = if multipart { "multipart/related; boundary=XX" } else { "text/xml" };
            let mut body = b"--XX\r\n\r\n".to_vec();
            body.extend_from_slice(&data);
            let _ = parse_send_document(Some(ct), if multipart { &body } else { &data }, &lim);
            let _ = parse_send_response(None, &data);
            let _ = crate::dhx::adapter::split_concatenated(&data);
        }
    }
}
