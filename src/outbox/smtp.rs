//! The e-mail sender of the outbox: claims queued `email` items, sends each with
//! lettre over SMTP, and records the server's answer.
//!
//! - 2xx: `sent` (the server's answer kept as the result; `outbox_sent` in the audit chain).
//! - 5xx (permanent) or a message that cannot be built: `failed` with the answer
//!   (`outbox_failed` in the audit chain).
//! - 4xx, connection refused, timeouts: back in the queue with exponential back-off,
//!   never dropped.
//!
//! Claims are leased (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so several processes
//! never send one item at the same time. The Message-ID is fixed when the item is
//! queued, so a resend after a crash between the server's 250 and `mark_sent` is
//! recognisable downstream.

use std::time::Duration;

use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::OutboxItem;
use crate::app::App;
use crate::error::{Error, Result};

/// `[outbox.smtp]` in docgate.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// SMTP server (plain SMTP on a trusted relay; this build has no TLS).
    pub host: String,
    pub port: u16,
    /// Login, if the relay wants one (empty: none).
    pub username: String,
    pub password: String,
    /// Sender address; empty: the agency's first own address.
    pub from: String,
    /// Time limit of one SMTP conversation ("30s").
    #[serde(with = "crate::config::duration")]
    pub timeout: Duration,
    /// Messages claimed per round.
    pub batch: i64,
    /// How long a claim is held before another worker may take the message ("5m").
    #[serde(with = "crate::config::duration")]
    pub lease: Duration,
    /// Time between rounds when the queue is empty ("5s").
    #[serde(with = "crate::config::duration")]
    pub poll: Duration,
    /// First retry delay after a temporary failure, doubled each attempt ("30s").
    #[serde(with = "crate::config::duration")]
    pub backoff_initial: Duration,
    /// Longest retry delay ("1h").
    #[serde(with = "crate::config::duration")]
    pub backoff_max: Duration,
}

impl SmtpConfig {
    /// Checks `[outbox.smtp]` at start (called by `Config::validate`): a
    /// sender that every message would fail on, and the durations.
    pub fn validate(&self) -> Result<()> {
        if self.host.trim().is_empty() {
            return Err(Error::invalid(
                "invalid outbox.smtp.host: empty (the SMTP server's name or address)",
            ));
        }
        if !self.from.is_empty() {
            self.from.parse::<Mailbox>().map_err(|e| {
                Error::invalid(format!("invalid outbox.smtp.from {:?}: {e}", self.from))
            })?;
        }
        if self.batch < 1 {
            return Err(Error::invalid(format!(
                "invalid outbox.smtp.batch {}: must be at least 1",
                self.batch
            )));
        }
        let check = crate::config::check_duration;
        let (second, hour, day) = (
            Duration::from_secs(1),
            Duration::from_secs(3600),
            Duration::from_secs(86_400),
        );
        check("outbox.smtp.timeout", self.timeout, second, hour)?;
        check("outbox.smtp.lease", self.lease, second, day)?;
        check(
            "outbox.smtp.poll",
            self.poll,
            Duration::from_millis(10),
            hour,
        )?;
        check(
            "outbox.smtp.backoff_initial",
            self.backoff_initial,
            second,
            day,
        )?;
        check(
            "outbox.smtp.backoff_max",
            self.backoff_max,
            self.backoff_initial,
            7 * day,
        )?;
        if self.lease <= self.timeout {
            return Err(Error::invalid(format!(
                "invalid outbox.smtp.lease {}: must be longer than outbox.smtp.timeout ({})",
                crate::config::duration::format(self.lease),
                crate::config::duration::format(self.timeout)
            )));
        }
        Ok(())
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: 25,
            username: String::new(),
            password: String::new(),
            from: String::new(),
            timeout: Duration::from_secs(30),
            batch: 20,
            lease: Duration::from_secs(300),
            poll: Duration::from_secs(5),
            backoff_initial: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

/// An attachment of a queued e-mail: the bytes live in the file store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailAttachment {
    pub name: String,
    pub media_type: String,
    pub sha256: String,
}

/// The payload of an `email` outbox item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailPayload {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// Without angle brackets.
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<MailAttachment>,
}

fn bracket(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

/// A new Message-ID (without brackets) in the domain of `from`.
pub fn new_message_id(from: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>'))
        .filter(|d| !d.is_empty())
        .unwrap_or("docgate.invalid");
    format!("{}@{domain}", uuid::Uuid::new_v4().simple())
}

/// The sender address of the configuration.
pub fn from_address(app: &App) -> String {
    let c = &app.config.outbox.smtp;
    if !c.from.is_empty() {
        return c.from.clone();
    }
    app.config
        .agency
        .own_addresses
        .first()
        .cloned()
        .unwrap_or_else(|| "docgate@localhost".into())
}

/// Builds the RFC 5322 message of a payload (errors are permanent).
pub async fn build_message(app: &App, p: &MailPayload) -> Result<Message> {
    let mbox = |a: &str, what: &str| -> Result<Mailbox> {
        a.parse::<Mailbox>()
            .map_err(|e| Error::invalid(format!("invalid {what} address {a:?}: {e}")))
    };
    let mut b = Message::builder()
        .from(mbox(&p.from, "sender")?)
        .subject(p.subject.clone())
        .message_id(Some(bracket(&p.message_id)));
    if p.to.is_empty() {
        return Err(Error::invalid("invalid e-mail: no recipient"));
    }
    for t in &p.to {
        b = b.to(mbox(t, "recipient")?);
    }
    if let Some(irt) = &p.in_reply_to {
        b = b.in_reply_to(bracket(irt));
    }
    if !p.references.is_empty() {
        let refs: Vec<String> = p.references.iter().map(|r| bracket(r)).collect();
        b = b.references(refs.join(" "));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(p.body.clone());
    let msg = if p.attachments.is_empty() {
        b.singlepart(text)
    } else {
        let mut mp = MultiPart::mixed().singlepart(text);
        for a in &p.attachments {
            let bytes = app.store.read_file(&a.sha256).await?;
            let ct = ContentType::parse(&a.media_type)
                .unwrap_or_else(|_| ContentType::parse("application/octet-stream").expect("valid"));
            mp = mp.singlepart(Attachment::new(a.name.clone()).body(bytes, ct));
        }
        b.multipart(mp)
    };
    msg.map_err(|e| Error::invalid(format!("cannot build the e-mail: {e}")))
}

fn transport(cfg: &SmtpConfig) -> AsyncSmtpTransport<Tokio1Executor> {
    let mut t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
        .port(cfg.port)
        .timeout(Some(cfg.timeout.max(Duration::from_secs(1))));
    if !cfg.username.is_empty() {
        t = t.credentials(lettre::transport::smtp::authentication::Credentials::new(
            cfg.username.clone(),
            cfg.password.clone(),
        ));
    }
    t.build()
}

/// The retry delay after `attempts` attempts.
pub fn backoff(cfg: &SmtpConfig, attempts: i64) -> Duration {
    let exp = (attempts.max(1) - 1).min(20) as u32;
    let second = Duration::from_secs(1);
    cfg.backoff_initial
        .max(second)
        .saturating_mul(2u32.saturating_pow(exp))
        .min(cfg.backoff_max.max(second))
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    Sent(String),
    Retry(String),
    Failed(String),
}

async fn send_one(
    app: &App,
    tr: &AsyncSmtpTransport<Tokio1Executor>,
    item: &OutboxItem,
) -> SendOutcome {
    let p: MailPayload = match serde_json::from_value(item.payload.clone()) {
        Ok(p) => p,
        Err(e) => return SendOutcome::Failed(format!("invalid e-mail payload: {e}")),
    };
    let msg = match build_message(app, &p).await {
        Ok(m) => m,
        Err(e) if e.is_user_error() => return SendOutcome::Failed(e.to_string()),
        Err(e) => return SendOutcome::Retry(e.to_string()),
    };
    match tr.send(msg).await {
        Ok(resp) => {
            let text: Vec<&str> = resp.message().collect();
            SendOutcome::Sent(format!("{} {}", resp.code(), text.join(" ")))
        }
        Err(e) if e.is_permanent() => SendOutcome::Failed(format!("smtp server refused: {e}")),
        Err(e) => SendOutcome::Retry(format!("smtp: {e}")),
    }
}

/// One round: claims due e-mails and sends them. Returns (sent, retried, failed).
pub async fn send_due(app: &App, worker: &str) -> Result<(usize, usize, usize)> {
    let cfg = &app.config.outbox.smtp;
    let items = super::claim(
        &app.store,
        "email",
        worker,
        cfg.batch.max(1),
        cfg.lease.max(Duration::from_secs(1)),
    )
    .await?;
    if items.is_empty() {
        return Ok((0, 0, 0));
    }
    let tr = transport(cfg);
    let (mut s, mut r, mut f) = (0, 0, 0);
    // A batch shares one lease: send an item only while the lease outlasts one
    // whole SMTP conversation. Past that, another process may take the item
    // over while we are still sending it, and it would go out twice (found by
    // tests/scale_out.rs); the rest wait to be claimed again.
    let claimed = std::time::Instant::now();
    let lease = cfg.lease.max(Duration::from_secs(1));
    let budget = lease
        .saturating_sub(cfg.timeout.max(Duration::from_secs(1)))
        .max(lease / 2);
    for item in items {
        if claimed.elapsed() > budget {
            tracing::debug!(
                "e-mail {}: left for the next claim (lease running out)",
                item.id
            );
            break;
        }
        match send_one(app, &tr, &item).await {
            SendOutcome::Sent(res) => {
                let event = item.doc_id.map(|_| super::OutboxEvent {
                    kind: "outbox_sent",
                    detail: serde_json::json!({"outbox_id": item.id, "to": item.recipient, "result": res}),
                    actor: "outbox",
                });
                if super::mark_sent(&app.register, &item, &res, event).await? {
                    s += 1;
                }
            }
            SendOutcome::Retry(err) => {
                let next = jiff::Timestamp::now()
                    + jiff::SignedDuration::try_from(backoff(cfg, item.attempts))
                        .unwrap_or_default();
                tracing::warn!("e-mail {} to {} delayed: {err}", item.id, item.recipient);
                if super::mark_retry(&app.register, &item, &err, next).await? {
                    r += 1;
                }
            }
            SendOutcome::Failed(err) => {
                tracing::error!("e-mail {} to {} failed: {err}", item.id, item.recipient);
                let event = item.doc_id.map(|_| super::OutboxEvent {
                    kind: "outbox_failed",
                    detail: serde_json::json!({"outbox_id": item.id, "to": item.recipient, "error": err}),
                    actor: "outbox",
                });
                if super::mark_failed(&app.register, &item, &err, event).await? {
                    f += 1;
                }
            }
        }
    }
    Ok((s, r, f))
}

/// The e-mail worker for `docgate serve`: sends until `shutdown`.
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    let worker = format!(
        "smtp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    use crate::periodic::{Every, Next};
    let mut every = Every::new("outbox e-mail worker", app.config.outbox.smtp.poll);
    while every.tick(&shutdown).await {
        let round = send_due(&app, &worker).await;
        every.done(round.map(|(s, r, f)| {
            if s + r + f == 0 {
                Next::Wait
            } else {
                Next::Again
            }
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let c = SmtpConfig::default();
        assert_eq!(backoff(&c, 1), Duration::from_secs(30));
        assert_eq!(backoff(&c, 2), Duration::from_secs(60));
        assert_eq!(backoff(&c, 3), Duration::from_secs(120));
        assert_eq!(backoff(&c, 100), Duration::from_secs(3600));
    }

    #[test]
    fn message_ids() {
        assert!(new_message_id("Amet <info@amet.ee>").ends_with("@amet.ee"));
        assert_eq!(bracket("a@b"), "<a@b>");
        assert_eq!(bracket("<a@b>"), "<a@b>");
    }
}
