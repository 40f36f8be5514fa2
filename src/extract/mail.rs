//! A raw RFC 5322 message to the structure the register needs (pure, no IO).
//!
//! mail-parser (pinned 0.11.9) does the MIME work and the charset decoding
//! (windows-1257, ISO-8859-4/-13/-15, KOI8-R, windows-1251, UTF-8 ...). Here we
//! apply the limits, choose the letter's text (text/plain, or HTML converted to
//! text: raw HTML is never shown), and take the attachments with their original
//! bytes (a nested message/rfc822 becomes an `.eml` file).

use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Limits past which a message is quarantined rather than registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_message_size: u64,
    pub max_attachments: usize,
    pub max_mime_depth: usize,
    pub max_decoded_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 150 * 1024 * 1024,
            max_attachments: 200,
            max_mime_depth: 20,
            max_decoded_size: 300 * 1024 * 1024,
        }
    }
}

/// Why a message cannot be registered; the text is the quarantine reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("message too large: {size} bytes, the limit is {limit} (ingest.max_message_size)")]
    TooLarge { size: u64, limit: u64 },
    #[error("not a mail message: {0}")]
    NotMail(String),
    #[error("too many attachments: {count}, the limit is {limit} (ingest.max_attachments)")]
    TooManyAttachments { count: usize, limit: usize },
    /// `depth` is counted no further than `limit + 1`.
    #[error("mime nesting too deep: more than {limit} levels (ingest.max_mime_depth)")]
    TooDeep { depth: usize, limit: usize },
    #[error(
        "decoded content too large: {size} bytes, the limit is {limit} (ingest.max_decoded_size)"
    )]
    DecodedTooLarge { size: u64, limit: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailAddr {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    /// A nested message (message/rfc822), kept whole as a file.
    pub is_message: bool,
    /// The charset a text part declares (its bytes are kept undecoded).
    #[serde(skip)]
    pub charset: Option<String>,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// The media type with the declared charset, for text extraction.
    pub fn media_type_for_text(&self) -> String {
        match &self.charset {
            Some(c) => format!("{}; charset={c}", self.media_type),
            None => self.media_type.clone(),
        }
    }
}

/// What a message says, ready to become a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedMail {
    pub from: Vec<MailAddr>,
    pub to: Vec<MailAddr>,
    pub cc: Vec<MailAddr>,
    pub bcc: Vec<MailAddr>,
    /// RFC 3339 UTC, when the Date header is valid (the sender's claim).
    pub date: Option<String>,
    /// RFC 3339 UTC: the date of the topmost `Received:` header, the one our
    /// own MTA added when it accepted the message (the arrival time).
    pub received_at: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub subject: String,
    /// The letter's text.
    pub body: String,
    /// "text" (text/plain), "html" (converted from text/html) or "none".
    pub body_kind: String,
    pub attachments: Vec<Attachment>,
    /// Things the parser had to repair (kept for the clerk).
    pub warnings: Vec<String>,
    /// SHA-256 of the raw message.
    pub sha256: String,
    pub size: u64,
}

impl ParsedMail {
    pub fn date_timestamp(&self) -> Option<jiff::Timestamp> {
        self.date.as_deref().and_then(|d| d.parse().ok())
    }
    /// The arrival time from the topmost `Received:` header, if it has a valid date.
    pub fn received_timestamp(&self) -> Option<jiff::Timestamp> {
        self.received_at.as_deref().and_then(|d| d.parse().ok())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses a raw message, applying the limits.
pub fn parse_mail(raw: &[u8], limits: &Limits) -> Result<ParsedMail, Rejection> {
    parse_mail_hashed(raw, limits, None)
}

/// [`parse_mail`] of a message whose SHA-256 (hex) the caller computed already
/// from the same bytes (it is not computed again).
pub fn parse_mail_hashed(
    raw: &[u8],
    limits: &Limits,
    sha256: Option<String>,
) -> Result<ParsedMail, Rejection> {
    let size = raw.len() as u64;
    if size > limits.max_message_size {
        return Err(Rejection::TooLarge {
            size,
            limit: limits.max_message_size,
        });
    }
    if raw.iter().take(4096).all(|b| b.is_ascii_whitespace()) {
        return Err(Rejection::NotMail("the input is empty".into()));
    }
    let mut msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| Rejection::NotMail("no header fields found".into()))?;
    if msg.parts.is_empty() {
        return Err(Rejection::NotMail("no header fields found".into()));
    }

    let depth = mime_depth(&msg, limits.max_mime_depth);
    if depth > limits.max_mime_depth {
        return Err(Rejection::TooDeep {
            depth,
            limit: limits.max_mime_depth,
        });
    }
    let (leaves, decoded) = count_parts(&msg);
    if decoded > limits.max_decoded_size {
        return Err(Rejection::DecodedTooLarge {
            size: decoded,
            limit: limits.max_decoded_size,
        });
    }
    let count = msg.attachments.len();
    if count > limits.max_attachments || leaves > limits.max_attachments.saturating_mul(4) + 8 {
        return Err(Rejection::TooManyAttachments {
            count: count.max(leaves),
            limit: limits.max_attachments,
        });
    }

    let mut warnings = Vec::new();
    let from = addrs(msg.from());
    let to = addrs(msg.to());
    let cc = addrs(msg.cc());
    let bcc = addrs(msg.bcc());
    let date = msg.date().filter(|d| d.is_valid()).and_then(|d| {
        jiff::Timestamp::from_second(d.to_timestamp())
            .ok()
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    });
    // The topmost Received: is the last hop, our own MTA's (the header order of
    // the message, not the parser's "last wins" lookup).
    let received_at = msg
        .received_all()
        .next()
        .and_then(|r| r.date.as_ref())
        .filter(|d| d.is_valid())
        .and_then(|d| jiff::Timestamp::from_second(d.to_timestamp()).ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    if msg.header(HeaderName::Date).is_some() && date.is_none() {
        warnings.push("the Date header could not be read".into());
    }
    let message_id = msg.message_id().map(clean_id).filter(|s| !s.is_empty());
    let in_reply_to = ids(msg.in_reply_to());
    let references = ids(msg.references());
    let subject = subject_of(&msg, raw);

    let has_any = !from.is_empty()
        || !to.is_empty()
        || date.is_some()
        || message_id.is_some()
        || msg.header(HeaderName::Subject).is_some();
    if !has_any {
        return Err(Rejection::NotMail(
            "none of From, To, Date, Subject or Message-ID is present".into(),
        ));
    }

    let (body, body_kind) = body_of(&msg, &mut warnings);

    // Attachments, with their original (transfer-decoded) bytes.
    let mut attachments = Vec::new();
    let ids_: Vec<u32> = msg.attachments.clone();
    for (n, id) in ids_.into_iter().enumerate() {
        let raw_msg: &[u8] = raw;
        let Some(part) = msg.parts.get_mut(id as usize) else {
            continue;
        };
        if part.is_encoding_problem {
            warnings.push(format!("attachment {} had an encoding problem", n + 1));
        }
        let ctype = part.content_type().map(|c| match c.subtype() {
            Some(s) => format!("{}/{}", c.ctype(), s).to_ascii_lowercase(),
            None => c.ctype().to_ascii_lowercase(),
        });
        let charset = part
            .content_type()
            .and_then(|c| c.attribute("charset"))
            .map(|c| c.trim().to_ascii_lowercase());
        let declared_name = part.attachment_name().map(sanitize_name);
        let encoding = part.encoding;
        let (start, end) = (part.offset_body as usize, part.offset_end as usize);
        let body = std::mem::replace(&mut part.body, PartType::Multipart(Vec::new()));
        let (bytes, is_message, media_type, default_name) = match body {
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                let mt = ctype
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into());
                (b.into_owned(), false, mt, None)
            }
            PartType::Text(t) | PartType::Html(t) => {
                // The original bytes, before charset conversion.
                let bytes = original_bytes(raw_msg, start, end, encoding)
                    .unwrap_or_else(|| t.into_owned().into_bytes());
                let mt = ctype.clone().unwrap_or_else(|| "text/plain".into());
                (bytes, false, mt, None)
            }
            PartType::Message(m) => {
                let subj = m.subject().map(sanitize_name).filter(|s| !s.is_empty());
                let bytes = if encoding == mail_parser::Encoding::None && end > start {
                    raw_msg
                        .get(start..end)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default()
                } else {
                    m.raw_message.into_owned()
                };
                (
                    bytes,
                    true,
                    "message/rfc822".to_string(),
                    subj.map(|s| format!("{s}.eml")),
                )
            }
            PartType::Multipart(_) => continue,
        };
        let name = declared_name
            .filter(|s| !s.is_empty())
            .or(default_name)
            .unwrap_or_else(|| format!("attachment-{}.{}", n + 1, extension_for(&media_type)));
        attachments.push(Attachment {
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            name,
            media_type,
            is_message,
            charset,
            bytes,
        });
    }
    drop(msg);

    Ok(ParsedMail {
        from,
        to,
        cc,
        bcc,
        date,
        received_at,
        message_id,
        in_reply_to,
        references,
        subject,
        body,
        body_kind,
        attachments,
        warnings,
        sha256: sha256.unwrap_or_else(|| sha256_hex(raw)),
        size,
    })
}

/// The readable text of a message (for the text of an attached .eml).
pub fn parse_body_only(raw: &[u8]) -> Option<String> {
    let msg = MessageParser::default().parse(raw)?;
    let mut w = Vec::new();
    let (body, _) = body_of(&msg, &mut w);
    let subject = msg.subject().unwrap_or_default();
    let from = addrs(msg.from())
        .into_iter()
        .map(|a| a.email)
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!("From: {from}\nSubject: {subject}\n\n{body}"))
}

fn original_bytes(
    raw: &[u8],
    start: usize,
    end: usize,
    enc: mail_parser::Encoding,
) -> Option<Vec<u8>> {
    if end <= start {
        return None;
    }
    let slice = raw.get(start..end)?;
    match enc {
        mail_parser::Encoding::None => Some(slice.to_vec()),
        mail_parser::Encoding::Base64 => mail_parser::decoders::base64::base64_decode(slice),
        mail_parser::Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(slice)
        }
    }
}

/// The body: text/plain parts, or the HTML ones converted to text.
fn body_of(msg: &Message<'_>, warnings: &mut Vec<String>) -> (String, String) {
    let mut texts = Vec::new();
    let mut kind = "none";
    for &id in &msg.text_body {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(t) => {
                texts.push(fix_charset(msg, part, t, warnings));
                kind = "text";
            }
            PartType::Html(h) => {
                texts.push(super::html::html_to_text(h));
                if kind == "none" {
                    kind = "html";
                }
            }
            _ => {}
        }
    }
    if texts.is_empty() {
        for &id in &msg.html_body {
            if let Some(PartType::Html(h)) = msg.parts.get(id as usize).map(|p| &p.body) {
                texts.push(super::html::html_to_text(h));
                kind = "html";
            }
        }
    }
    let body = texts
        .iter()
        .map(|t| t.trim_end())
        .collect::<Vec<_>>()
        .join("\n\n")
        .replace("\r\n", "\n");
    (body.trim().to_string(), kind.to_string())
}

/// A text part without a declared charset whose bytes are not UTF-8 is read as
/// windows-1257 (what Estonian mail clients wrote) instead of being garbled.
fn fix_charset(
    msg: &Message<'_>,
    part: &mail_parser::MessagePart<'_>,
    text: &str,
    warnings: &mut Vec<String>,
) -> String {
    let declared = part
        .content_type()
        .and_then(|c| c.attribute("charset"))
        .is_some();
    if declared || !text.contains('\u{FFFD}') {
        return text.to_string();
    }
    let raw = msg.raw_message.as_ref();
    match original_bytes(
        raw,
        part.offset_body as usize,
        part.offset_end as usize,
        part.encoding,
    ) {
        Some(b) if std::str::from_utf8(&b).is_err() => {
            warnings.push("text without a charset read as windows-1257".into());
            encoding_rs::WINDOWS_1257.decode(&b).0.into_owned()
        }
        _ => text.to_string(),
    }
}

fn subject_of(msg: &Message<'_>, raw: &[u8]) -> String {
    let s = msg.subject().unwrap_or_default();
    if !s.contains('\u{FFFD}') {
        return s.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    // Raw 8-bit subject: decode its original bytes as windows-1257.
    let header = msg
        .root_part()
        .headers
        .iter()
        .find(|h| h.name == HeaderName::Subject);
    if let Some(h) = header {
        if let Some(b) = raw.get(h.offset_start as usize..h.offset_end as usize) {
            if std::str::from_utf8(b).is_err() {
                let t = encoding_rs::WINDOWS_1257.decode(b).0;
                return t.split_whitespace().collect::<Vec<_>>().join(" ");
            }
        }
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn addrs(a: Option<&Address<'_>>) -> Vec<MailAddr> {
    let Some(a) = a else {
        return Vec::new();
    };
    a.iter()
        .filter_map(|x| {
            let email = x.address()?.trim().to_string();
            if email.is_empty() {
                return None;
            }
            let name = x
                .name()
                .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|n| !n.is_empty() && *n != email);
            Some(MailAddr { name, email })
        })
        .collect()
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        for part in s.split_whitespace() {
            let c = clean_id(part);
            if !c.is_empty() && !out.contains(&c) {
                out.push(c);
            }
        }
    };
    match v {
        HeaderValue::Text(t) => push(t),
        HeaderValue::TextList(l) => l.iter().for_each(|t| push(t)),
        _ => {}
    }
    out
}

/// A Message-ID without angle brackets or whitespace.
pub fn clean_id(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// A file name safe to show and store: no path, no control characters.
pub fn sanitize_name(s: &str) -> String {
    let base = s.rsplit(['/', '\\']).next().unwrap_or(s);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    cleaned.chars().take(200).collect()
}

fn extension_for(mt: &str) -> &'static str {
    match mt {
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "application/xml" | "text/xml" => "xml",
        "message/rfc822" => "eml",
        "application/zip" => "zip",
        _ => "bin",
    }
}

/// Deepest nesting of multiparts and nested messages (the root is depth 1),
/// counted no further than `limit + 1`: all the caller asks is whether it is
/// over the limit. mail-parser's part table is a graph, not a tree — a hostile
/// message can make a multipart list its own ancestor or share children —
/// so each part is measured once (memo) and a part that is its own ancestor
/// counts as nesting without end. Linear in the parts and their child lists.
fn mime_depth(msg: &Message<'_>, limit: usize) -> usize {
    fn walk(
        msg: &Message<'_>,
        part: u32,
        limit: usize,
        memo: &mut std::collections::HashMap<u32, usize>,
        path: &mut Vec<u32>,
    ) -> usize {
        if let Some(&d) = memo.get(&part) {
            return d;
        }
        if path.contains(&part) || path.len() > limit {
            return limit + 1;
        }
        let Some(p) = msg.parts.get(part as usize) else {
            return 0;
        };
        path.push(part);
        let d = match &p.body {
            PartType::Multipart(children) => {
                let mut deepest = 0;
                for &c in children {
                    deepest = deepest.max(walk(msg, c, limit, memo, path));
                    if deepest > limit {
                        break;
                    }
                }
                1 + deepest
            }
            PartType::Message(m) => 1 + mime_depth(m, limit.saturating_sub(path.len())),
            _ => 1,
        };
        path.pop();
        let d = d.min(limit + 1);
        memo.insert(part, d);
        d
    }
    walk(msg, 0, limit, &mut Default::default(), &mut Vec::new())
}

/// Leaf parts and their decoded size, nested messages included.
fn count_parts(msg: &Message<'_>) -> (usize, u64) {
    let mut leaves = 0usize;
    let mut size = 0u64;
    for p in &msg.parts {
        match &p.body {
            PartType::Multipart(_) => {}
            PartType::Message(m) => {
                let (l, s) = count_parts(m);
                leaves += l + 1;
                size += s;
            }
            PartType::Text(t) | PartType::Html(t) => {
                leaves += 1;
                size += t.len() as u64;
            }
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                leaves += 1;
                size += b.len() as u64;
            }
        }
    }
    (leaves, size)
}

/// For golden files: the parsed mail as JSON (bytes as size + sha256).
pub fn to_golden_json(p: &ParsedMail) -> serde_json::Value {
    serde_json::to_value(p).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fuzz timeout-0b4317b6): a 1.5 KB message whose multiparts
    /// list each other made the depth count walk every path of the part graph
    /// (exponential: it ran for more than ten minutes). It is answered at once.
    #[test]
    fn a_message_whose_parts_list_each_other_is_answered_at_once() {
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/ingest/regression/mime-part-graph.eml"
        ))
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let r = parse_mail(&raw, &Limits::default()).map(|_| ());
            let _ = tx.send(r.map_err(|e| e.to_string()));
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("parsed or refused within 20 s, not hanging");
        // Either outcome is an answer; a refusal names the depth.
        if let Err(e) = r {
            assert!(!e.is_empty());
        }
    }

    fn parse(raw: &[u8]) -> ParsedMail {
        parse_mail(raw, &Limits::default()).unwrap()
    }

    /// A message whose body is `body` in `charset`, transfer-encoded as given.
    fn with_charset(charset: &str, body: &[u8], cte: &str) -> Vec<u8> {
        let mut m = format!(
            "From: a@example.ee\r\nTo: b@example.ee\r\nSubject: test\r\nMessage-ID: <x@y>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n\
             Content-Transfer-Encoding: {cte}\r\n\r\n"
        )
        .into_bytes();
        match cte {
            "base64" => {
                use base64::Engine;
                m.extend_from_slice(
                    base64::engine::general_purpose::STANDARD
                        .encode(body)
                        .as_bytes(),
                )
            }
            _ => m.extend_from_slice(body),
        }
        m.extend_from_slice(b"\r\n");
        m
    }

    #[test]
    fn charsets_of_this_correspondence() {
        // (charset, bytes, expected text)
        let cases: &[(&str, &[u8], &str)] = &[
            // windows-1257: Õ=0xD5 õ=0xF5 Š=0xD0 š=0xF0 Ž=0xDE ž=0xFE ä=0xE4 ü=0xFC
            (
                "windows-1257",
                b"\xD5un \xF5ie \xD0\xF0 \xDE\xFE \xE4\xFC",
                "Õun õie Šš Žž äü",
            ),
            // ISO-8859-4: õ=0xF5 š=0xB9 ž=0xBE
            ("iso-8859-4", b"t\xF5de \xB9\xBE", "tõde šž"),
            // ISO-8859-13: õ=0xF5 š=0xF0 ž=0xFE
            ("ISO-8859-13", b"s\xF5na \xF0\xFE", "sõna šž"),
            // ISO-8859-15: õ=0xF5 š=0xA8 ž=0xB8 €=0xA4
            ("iso-8859-15", b"m\xF5te \xA8\xB8 \xA4", "mõte šž €"),
            // KOI8-R: "Привет" = F0 D2 C9 D7 C5 D4
            ("koi8-r", b"\xF0\xD2\xC9\xD7\xC5\xD4", "Привет"),
            // windows-1251: "Привет" = CF F0 E8 E2 E5 F2
            ("windows-1251", b"\xCF\xF0\xE8\xE2\xE5\xF2", "Привет"),
            ("utf-8", "Tõnu Šõžä Привет".as_bytes(), "Tõnu Šõžä Привет"),
        ];
        for (cs, bytes, want) in cases {
            for cte in ["8bit", "base64"] {
                let p = parse(&with_charset(cs, bytes, cte));
                assert_eq!(p.body, *want, "charset {cs} with {cte}");
            }
        }
    }

    #[test]
    fn undeclared_8bit_text_is_read_as_windows_1257() {
        let raw = b"From: a@example.ee\r\nSubject: t\xF5end\r\n\r\nT\xF5nu \xD0\xF5ja\r\n";
        let p = parse(raw);
        assert_eq!(p.body, "Tõnu Šõja");
        assert_eq!(p.subject, "tõend");
    }

    #[test]
    fn rfc2047_subject_and_headers() {
        let raw = b"From: =?utf-8?q?T=C3=B5nu_Tamm?= <tonu@example.ee>\r\n\
To: Mari <mari@example.ee>, jaan@example.ee\r\nCc: <kc@example.ee>\r\n\
Subject: =?windows-1257?Q?Avaldus_h=FCvitise_saamiseks?= =?utf-8?b?IOKAkyBUZWllIDktMTMvMTYxMA==?=\r\n\
Date: Tue, 3 Mar 2026 10:15:00 +0200\r\nMessage-ID: <abc.123@example.ee>\r\n\
In-Reply-To: <out-1@docgate>\r\nReferences: <root@x> <out-1@docgate>\r\n\r\nTere\r\n";
        let p = parse(raw);
        assert_eq!(p.subject, "Avaldus hüvitise saamiseks – Teie 9-13/1610");
        assert_eq!(p.from[0].name.as_deref(), Some("Tõnu Tamm"));
        assert_eq!(p.from[0].email, "tonu@example.ee");
        assert_eq!(p.to.len(), 2);
        assert_eq!(p.cc[0].email, "kc@example.ee");
        assert_eq!(p.date.as_deref(), Some("2026-03-03T08:15:00Z"));
        assert_eq!(p.message_id.as_deref(), Some("abc.123@example.ee"));
        assert_eq!(p.in_reply_to, vec!["out-1@docgate"]);
        assert_eq!(p.references, vec!["root@x", "out-1@docgate"]);
        assert_eq!(p.body, "Tere");
        assert_eq!(p.body_kind, "text");
    }

    #[test]
    fn html_only_body_is_converted_never_raw() {
        let raw = b"From: a@b.ee\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><p>Tere <b>Mari</b></p><script>alert(1)</script></body></html>\r\n";
        let p = parse(raw);
        assert_eq!(p.body_kind, "html");
        assert!(
            p.body.contains("Tere") && p.body.contains("Mari"),
            "{}",
            p.body
        );
        assert!(
            !p.body.contains('<') && !p.body.contains("alert"),
            "{}",
            p.body
        );
    }

    #[test]
    fn attachments_keep_original_bytes_and_nested_message_is_a_file() {
        use base64::Engine;
        let pdf = b"%PDF-1.4 fake \x00\x01\xff bytes";
        let b64 = base64::engine::general_purpose::STANDARD.encode(pdf);
        let raw = format!(
            "From: a@b.ee\r\nTo: c@d.ee\r\nSubject: lisad\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n\
--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVaata lisa\r\n\
--BB\r\nContent-Type: application/pdf; name=\"avaldus.pdf\"\r\nContent-Disposition: attachment; filename=\"avaldus.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n\
--BB\r\nContent-Type: text/plain; charset=windows-1257; name=\"m.txt\"\r\nContent-Disposition: attachment; filename=\"m.txt\"\r\n\r\n\
T\u{00}\r\n\
--BB\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.ee\r\nSubject: Algne kiri\r\n\r\nalgne tekst\r\n\
--BB--\r\n"
        );
        // Put a raw windows-1257 byte into the text attachment.
        let raw = raw.replace("T\u{00}", "T\u{F5}").into_bytes();
        let raw: Vec<u8> = {
            // replace the UTF-8 encoding of õ (C3 B5) by the single byte F5
            let mut out = Vec::new();
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == 0xC3 && raw.get(i + 1) == Some(&0xB5) {
                    out.push(0xF5);
                    i += 2;
                } else {
                    out.push(raw[i]);
                    i += 1;
                }
            }
            out
        };
        let p = parse(&raw);
        assert_eq!(p.body, "Vaata lisa");
        assert_eq!(p.attachments.len(), 3, "{:?}", p.attachments);
        let a = &p.attachments[0];
        assert_eq!(a.name, "avaldus.pdf");
        assert_eq!(a.media_type, "application/pdf");
        assert_eq!(a.bytes, pdf);
        let t = &p.attachments[1];
        assert_eq!(t.name, "m.txt");
        assert_eq!(t.bytes, b"T\xF5", "original bytes, not re-encoded text");
        let m = &p.attachments[2];
        assert!(m.is_message);
        assert_eq!(m.media_type, "message/rfc822");
        assert_eq!(m.name, "Algne kiri.eml");
        assert!(String::from_utf8_lossy(&m.bytes).contains("Subject: Algne kiri"));
    }

    #[test]
    fn limits_quarantine_with_reasons() {
        let small = Limits {
            max_message_size: 50,
            ..Limits::default()
        };
        let raw =
            b"From: a@b.ee\r\nSubject: this message is longer than fifty bytes\r\n\r\nbody\r\n";
        let e = parse_mail(raw, &small).unwrap_err();
        assert!(matches!(e, Rejection::TooLarge { .. }));
        assert!(e.to_string().contains("max_message_size"));

        let mut deep = String::from("From: a@b.ee\r\nSubject: deep\r\n");
        for i in 0..30 {
            deep.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
            ));
        }
        deep.push_str("Content-Type: text/plain\r\n\r\nx\r\n");
        let e = parse_mail(deep.as_bytes(), &Limits::default()).unwrap_err();
        assert!(matches!(e, Rejection::TooDeep { .. }), "{e}");

        let mut many = String::from(
            "From: a@b.ee\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n",
        );
        for i in 0..5 {
            many.push_str(&format!(
                "--q\r\nContent-Type: application/octet-stream; name=\"f{i}.bin\"\r\n\r\nxx\r\n"
            ));
        }
        many.push_str("--q--\r\n");
        let few = Limits {
            max_attachments: 3,
            ..Limits::default()
        };
        let e = parse_mail(many.as_bytes(), &few).unwrap_err();
        assert!(
            matches!(e, Rejection::TooManyAttachments { count: 5, .. }),
            "{e}"
        );

        let tiny = Limits {
            max_decoded_size: 5,
            ..Limits::default()
        };
        let e = parse_mail(many.as_bytes(), &tiny).unwrap_err();
        assert!(matches!(e, Rejection::DecodedTooLarge { .. }), "{e}");
    }

    #[test]
    fn not_mail_is_rejected() {
        assert!(matches!(
            parse_mail(b"", &Limits::default()),
            Err(Rejection::NotMail(_))
        ));
        assert!(matches!(
            parse_mail(b"\x00\x01\x02 random binary \xff\xfe", &Limits::default()),
            Err(Rejection::NotMail(_))
        ));
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_name("C:\\x\\a\u{0}b.pdf"), "ab.pdf");
        assert_eq!(sanitize_name(".hidden"), "hidden");
    }
}
