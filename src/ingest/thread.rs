//! Threading: which registered document a message continues.
//!
//! Rules, in order: (1) one of our Message-IDs in In-Reply-To or References;
//! (2) one of our registration numbers in the subject or the body ("Teie
//! 9-13/1610", "nr 9-13/1610-1"); (3) the other party's reference that we
//! recorded. Nothing found: a new thread. Candidates that point at more than one
//! thread: a new thread plus an entry in the clerk's triage list. Never a guess.

use serde::Serialize;

use crate::app::App;
use crate::error::Result;
use crate::register::Register;
use crate::store::Tx;

/// What a message offers for threading.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// In-Reply-To first, then References from the newest.
    pub message_ids: Vec<String>,
    pub subject: String,
    /// The numbers in the subject, then those in the body's first 20,000
    /// characters, at most 30 (found when the message is prepared, not while
    /// the registering loop waits).
    pub numbers: Vec<String>,
}

impl Hints {
    pub fn new(message_ids: Vec<String>, subject: String, body: &str) -> Hints {
        let body = body
            .char_indices()
            .nth(20_000)
            .map_or(body, |(end, _)| &body[..end]);
        let mut nums = numbers(&subject);
        for n in numbers(body) {
            if !nums.contains(&n) {
                nums.push(n);
            }
        }
        nums.truncate(30);
        Hints {
            message_ids,
            subject,
            numbers: nums,
        }
    }
}

/// A registered document a rule points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// "message_id", "reg_no" or "their_ref".
    pub rule: &'static str,
    /// What matched (the Message-ID or the number).
    pub key: String,
    pub doc_id: i64,
    pub reg_no: String,
    pub thread_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    New,
    Continue { reg_no: String, rule: &'static str },
    Triage { candidates: Vec<Candidate> },
}

const RULES: [&str; 3] = ["message_id", "reg_no", "their_ref"];

/// Candidates looked at per reference (plus one in another thread, if any):
/// a reference shared by many documents must not make every message that cites
/// it cost more as the register grows (issue 19 point 10).
pub const REF_CANDIDATES: i64 = 20;

/// The decision from the candidates (pure). All candidates must agree on one
/// thread; the document continued is the first candidate of the highest rule.
pub fn decide(cands: &[Candidate]) -> Decision {
    if cands.is_empty() {
        return Decision::New;
    }
    let first_thread = cands[0].thread_id;
    if cands.iter().any(|c| c.thread_id != first_thread) {
        return Decision::Triage {
            candidates: cands.to_vec(),
        };
    }
    for rule in RULES {
        if let Some(c) = cands.iter().find(|c| c.rule == rule) {
            return Decision::Continue {
                reg_no: c.reg_no.clone(),
                rule,
            };
        }
    }
    Decision::New
}

/// Numbers in a text with the word before each ("Teie", "nr", "Meie", ...).
fn numbers(text: &str) -> Vec<String> {
    crate::numbering::find_candidates(text)
}

/// Looks the hints up in the register.
pub async fn candidates(reg: &Register, h: &Hints) -> Result<Vec<Candidate>> {
    let mut out: Vec<Candidate> = Vec::new();
    let push = |c: Candidate, out: &mut Vec<Candidate>| {
        if !out.iter().any(|o| o.doc_id == c.doc_id && o.rule == c.rule) {
            out.push(c);
        }
    };
    for id in h.message_ids.iter().take(30) {
        let mut docs = reg.find_by_message_id(id).await?;
        if docs.is_empty() {
            docs = reg.find_by_message_id(&format!("<{id}>")).await?;
        }
        for d in docs {
            push(
                Candidate {
                    rule: "message_id",
                    key: id.clone(),
                    doc_id: d.id,
                    reg_no: d.reg_no,
                    thread_id: d.thread_id,
                },
                &mut out,
            );
        }
    }
    let nums = &h.numbers;
    for n in nums {
        if let Some(d) = reg.find_by_reg_no(n).await? {
            push(
                Candidate {
                    rule: "reg_no",
                    key: n.clone(),
                    doc_id: d.id,
                    reg_no: d.reg_no,
                    thread_id: d.thread_id,
                },
                &mut out,
            );
        }
    }
    for n in nums {
        for (doc_id, reg_no, thread_id) in reg.their_ref_candidates(n, REF_CANDIDATES).await? {
            push(
                Candidate {
                    rule: "their_ref",
                    key: n.clone(),
                    doc_id,
                    reg_no,
                    thread_id,
                },
                &mut out,
            );
        }
    }
    Ok(out)
}

pub async fn resolve(reg: &Register, h: &Hints) -> Result<Decision> {
    Ok(decide(&candidates(reg, h).await?))
}

/// The other party's own number in the subject: a number that is not ours (not
/// the one we continue, not after "Teie"/"your"). None when unsure.
pub fn their_ref_in(subject: &str, d: &Decision) -> Option<String> {
    let ours: Vec<&str> = match d {
        Decision::Continue { reg_no, .. } => vec![reg_no.as_str()],
        Decision::Triage { candidates } => candidates.iter().map(|c| c.key.as_str()).collect(),
        Decision::New => Vec::new(),
    };
    let lower = subject.to_lowercase();
    for n in numbers(subject) {
        if ours
            .iter()
            .any(|o| *o == n || n.starts_with(&format!("{o}-")))
        {
            continue;
        }
        let Some(pos) = lower.find(&n.to_lowercase()) else {
            continue;
        };
        let before = lower[..pos].trim_end();
        if before.ends_with("teie") || before.ends_with("your") || before.ends_with("teie nr") {
            continue;
        }
        return Some(n);
    }
    None
}

pub fn describe(c: &[Candidate]) -> String {
    let parts: Vec<String> = c
        .iter()
        .map(|c| format!("{} {} -> {}", c.rule, c.key, c.reg_no))
        .collect();
    format!("threading candidates disagree: {}", parts.join("; "))
}

/// Puts a document on the clerk's triage list (inside the registering transaction).
pub async fn record_triage_in(
    app: &App,
    tx: &mut Tx,
    doc_id: i64,
    cands: &[Candidate],
) -> Result<()> {
    let json = serde_json::to_string(cands).unwrap_or_else(|_| "[]".into());
    sqlx::query("INSERT INTO ingest_triage (doc_id, candidates, created_at) VALUES ($1, $2, $3)")
        .bind(doc_id)
        .bind(&json)
        .bind(crate::store::now_text())
        .execute(&mut **tx)
        .await?;
    app.register
        .record_event_in(
            tx,
            Some(doc_id),
            "thread_triage",
            serde_json::json!({"candidates": cands}),
            super::mail::ACTOR,
        )
        .await?;
    Ok(())
}

/// An open entry of the triage list.
#[derive(Debug, Clone, Serialize)]
pub struct TriageEntry {
    pub doc_id: i64,
    pub candidates: serde_json::Value,
    pub created_at: String,
}

/// The clerk's triage list: documents whose thread could not be decided.
pub async fn triage_list(app: &App) -> Result<Vec<TriageEntry>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT doc_id, candidates, created_at FROM ingest_triage WHERE resolved_at IS NULL ORDER BY id",
    )
    .fetch_all(&app.store.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(doc_id, c, created_at)| TriageEntry {
            doc_id,
            candidates: serde_json::from_str(&c).unwrap_or(serde_json::Value::Null),
            created_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(rule: &'static str, doc: i64, thread: i64, reg: &str) -> Candidate {
        Candidate {
            rule,
            key: reg.into(),
            doc_id: doc,
            reg_no: reg.into(),
            thread_id: thread,
        }
    }

    #[test]
    fn decision_table() {
        assert_eq!(decide(&[]), Decision::New);
        // One rule, one thread.
        assert_eq!(
            decide(&[c("reg_no", 5, 1, "9-13/1610-1")]),
            Decision::Continue {
                reg_no: "9-13/1610-1".into(),
                rule: "reg_no"
            }
        );
        // Message-ID outranks a number of the same thread.
        assert_eq!(
            decide(&[
                c("reg_no", 1, 1, "9-13/1610"),
                c("message_id", 7, 1, "9-13/1610-2")
            ]),
            Decision::Continue {
                reg_no: "9-13/1610-2".into(),
                rule: "message_id"
            }
        );
        // Disagreeing candidates: triage, never a guess.
        assert!(matches!(
            decide(&[
                c("message_id", 1, 1, "9-13/1610"),
                c("reg_no", 9, 9, "9-13/1700")
            ]),
            Decision::Triage { .. }
        ));
        assert!(matches!(
            decide(&[c("reg_no", 1, 1, "a/1"), c("reg_no", 2, 2, "a/2")]),
            Decision::Triage { .. }
        ));
    }

    #[test]
    fn their_ref_is_not_our_number() {
        let d = Decision::Continue {
            reg_no: "9-13/1610".into(),
            rule: "reg_no",
        };
        assert_eq!(
            their_ref_in("Teie 9-13/1610, meie nr 7.1-2/55", &d),
            Some("7.1-2/55".into())
        );
        assert_eq!(their_ref_in("Teie 9-13/1610", &d), None);
        assert_eq!(their_ref_in("Teie 9-13/2000", &Decision::New), None);
        assert_eq!(
            their_ref_in("Avaldus nr 3-1/77", &Decision::New),
            Some("3-1/77".into())
        );
    }
}
