//! Each document's deadline state in the database: the table `deadlines`, a
//! projection of the documents and the audit chain, recomputed whenever a
//! relevant event happens (see [`sync`]) and rebuildable from scratch.

use std::collections::{BTreeSet, HashMap};

use jiff::civil::Date;
use serde::Serialize;
use sqlx::Row;

use super::engine::{self, ClockState, DeadlineEvent, EndKind, Outcome, Step};
use super::rules::RuleSet;
use crate::app::App;
use crate::calendar::Calendar;
use crate::error::{Error, Result};
use crate::store::{self, Tx};

/// Audit-chain kinds the deadline engine reads.
pub const KIND_EXTENDED: &str = "deadline_extended";
pub const KIND_STOPPED: &str = "clock_stopped";
pub const KIND_RESUMED: &str = "clock_resumed";
pub const KIND_RECLASSIFIED: &str = "reclassified";
pub const KIND_ENDED: &str = "deadline_ended";
pub const KIND_COMPLETED: &str = "application_complete";
/// An invoice's payment term (src/invoice/ledger.rs).
pub const KIND_PAYMENT_TERM: &str = "payment_term";
const DEADLINE_KINDS: &str =
    "'deadline_extended','clock_stopped','clock_resumed','reclassified','deadline_ended','application_complete','payment_term'";
/// Kinds after which a document's deadline is recomputed.
const RELEVANT: &[&str] = &[
    "registered",
    "edited",
    KIND_EXTENDED,
    KIND_STOPPED,
    KIND_RESUMED,
    KIND_RECLASSIFIED,
    KIND_ENDED,
    KIND_COMPLETED,
    KIND_PAYMENT_TERM,
];

/// The calendar and rules of an app (from its configuration).
#[derive(Clone)]
pub struct Engine {
    pub calendar: Calendar,
    pub rules: RuleSet,
}

impl Engine {
    /// The calendar and the rules of a configuration: the rules file read and
    /// the holiday years built. `App::open` does this once; everything else
    /// takes the app's ([`Engine::from_app`]).
    pub fn load(config: &crate::config::Config) -> Result<Engine> {
        Ok(Engine {
            calendar: config.deadlines.calendar()?,
            rules: config.deadlines.rules()?,
        })
    }

    /// The app's engine, loaded once when the app opened (not re-read per request).
    pub fn from_app(app: &App) -> Result<std::sync::Arc<Engine>> {
        Ok(app.engine.clone())
    }
}

/// What the deadline computation needs of a document.
#[derive(Debug, Clone)]
pub struct DocFacts {
    pub id: i64,
    pub reg_no: String,
    pub title: String,
    pub series: String,
    pub doc_type: Option<String>,
    pub direction: String,
    pub responsible: Option<String>,
    pub thread_id: i64,
    pub registered_at: String,
    pub registered: Date,
    pub received: Option<Date>,
    pub parent_id: Option<i64>,
    pub reply_kind: Option<crate::model::ReplyKind>,
}

const FACT_COLS: &str = "id, reg_no, title, series, doc_type, direction, responsible, thread_id, registered_at, registered, received, parent_id, reply_kind";

fn facts_from_row(r: &sqlx::any::AnyRow) -> Result<DocFacts> {
    let registered: String = r.try_get("registered")?;
    let received: Option<String> = r.try_get("received")?;
    Ok(DocFacts {
        id: r.try_get("id")?,
        reg_no: r.try_get("reg_no")?,
        title: r.try_get("title")?,
        series: r.try_get("series")?,
        doc_type: r.try_get("doc_type")?,
        direction: r.try_get("direction")?,
        responsible: r.try_get("responsible")?,
        thread_id: r.try_get("thread_id")?,
        registered_at: r.try_get("registered_at")?,
        registered: parse_stored_date(&registered)?,
        received: received.as_deref().map(parse_stored_date).transpose()?,
        parent_id: r.try_get("parent_id")?,
        reply_kind: r
            .try_get::<Option<String>, _>("reply_kind")?
            .and_then(|k| k.parse().ok()),
    })
}

fn parse_stored_date(s: &str) -> Result<Date> {
    s.parse()
        .map_err(|_| Error::internal(format!("bad stored date {s:?}")))
}

/// One stored deadline event.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub doc_id: i64,
    pub kind: String,
    pub detail: serde_json::Value,
}

/// Converts an audit-chain event into an engine event (None for unknown shapes).
pub fn to_engine_event(kind: &str, d: &serde_json::Value) -> Option<DeadlineEvent> {
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let on: Date = s("on")?.parse().ok()?;
    Some(match kind {
        KIND_EXTENDED => DeadlineEvent::Extended {
            on,
            reason: s("reason").unwrap_or_default(),
            notice: s("notice"),
        },
        KIND_STOPPED => DeadlineEvent::ClockStopped {
            on,
            reason: s("reason").unwrap_or_default(),
        },
        KIND_RESUMED => DeadlineEvent::ClockResumed { on },
        KIND_COMPLETED => DeadlineEvent::Completed { on },
        KIND_PAYMENT_TERM => DeadlineEvent::DueSet {
            on,
            due: s("due")?.parse().ok()?,
            reason: s("reason").unwrap_or_default(),
        },
        KIND_RECLASSIFIED => DeadlineEvent::Reclassified {
            on,
            to_rule: s("to")?,
            reason: s("reason").unwrap_or_default(),
        },
        KIND_ENDED => DeadlineEvent::Ended {
            on,
            how: s("how")?.parse().ok()?,
            reg_no: s("reg_no"),
        },
        _ => return None,
    })
}

/// The full deadline picture of one document.
#[derive(Debug, Clone, Serialize)]
pub struct DocDeadline {
    pub reg_no: String,
    pub title: String,
    pub responsible: Option<String>,
    pub registered: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<Date>,
    pub registration_due: Date,
    /// Registered after the next working day, or with no arrival time (incoming).
    pub registered_late: bool,
    /// An incoming document whose arrival time is unknown ("saabumisaeg teadmata").
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub arrival_unknown: bool,
    pub registration_trace: Vec<Step>,
    /// The reply deadline, when the document has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Outcome>,
    #[serde(skip)]
    pub days_to_reply: Option<i64>,
}

impl DocDeadline {
    /// The registration-lateness line (AvTS § 12(1)) of `due`, `show` and the
    /// document page, Estonian first.
    pub fn registration_line(&self) -> String {
        let x = self;
        if x.arrival_unknown {
            format!(
            "registreeritud {}: saabumisaeg teadmata, ei loeta õigeaegseks (registered {}: arrival time unknown, not on time)",
            x.registered, x.registered
        )
        } else if x.registered_late {
            format!(
                "registreeritud {} (tähtaeg {}): HILINENUD / REGISTERED LATE",
                x.registered, x.registration_due
            )
        } else {
            format!(
                "registreeritud {} (tähtaeg {}): õigeaegselt / in time",
                x.registered, x.registration_due
            )
        }
    }
}

/// Computes a document's deadline from its facts, its thread and its events. Pure.
pub fn explain(
    eng: &Engine,
    doc: &DocFacts,
    thread: &[DocFacts],
    events: &[StoredEvent],
) -> Result<DocDeadline> {
    // An incoming document without an arrival time is not registered "in time".
    let (registration_due, registered_late, registration_trace) =
        match (doc.received, doc.direction.as_str()) {
            (Some(received), _) => {
                engine::registration_due(&eng.calendar, &eng.rules, received, doc.registered)?
            }
            (None, "incoming") => engine::registration_arrival_unknown(&eng.rules, doc.registered),
            (None, _) => {
                engine::registration_due(&eng.calendar, &eng.rules, doc.registered, doc.registered)?
            }
        };
    let mut out = DocDeadline {
        reg_no: doc.reg_no.clone(),
        title: doc.title.clone(),
        responsible: doc.responsible.clone(),
        registered: doc.registered,
        received: doc.received,
        registration_due,
        registered_late,
        arrival_unknown: doc.received.is_none() && doc.direction == "incoming",
        registration_trace,
        deadline: None,
        days_to_reply: None,
    };
    // The rule the document started with: a reclassification names it.
    let first_reclass = events
        .iter()
        .find(|e| e.kind == KIND_RECLASSIFIED)
        .and_then(|e| {
            e.detail
                .get("from")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        });
    let start_rule = first_reclass.or_else(|| doc.doc_type.clone());
    let Some(rule) = start_rule.filter(|r| r != "registration" && eng.rules.get(r).is_some())
    else {
        return Ok(out);
    };
    if doc.direction != "incoming" {
        return Ok(out);
    }
    let mut evs: Vec<DeadlineEvent> = events
        .iter()
        .filter_map(|e| to_engine_event(&e.kind, &e.detail))
        .collect();
    // Outgoing documents named as extension notices are not replies.
    let notices: BTreeSet<String> = events
        .iter()
        .filter(|e| e.kind == KIND_EXTENDED)
        .filter_map(|e| {
            e.detail
                .get("notice")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect();
    evs.extend(reply_events(doc, thread, &notices));
    let o = engine::compute_with(
        &eng.calendar,
        &eng.rules,
        &rule,
        doc.registered,
        doc.received,
        &evs,
    )?;
    out.days_to_reply = o
        .ended_on
        .map(|e| eng.calendar.working_days_between(o.base, e));
    out.deadline = Some(o);
    Ok(out)
}

/// The deadline events the later documents of a thread make for `doc`, by
/// their reply kind (pure): a final reply, a forwarding or a refusal ends the
/// clock; a clarification stops it until an incoming document registered as
/// the reply to that clarification arrives; an interim reply changes nothing;
/// an outgoing document without a kind ends nothing (its kind must be given).
pub fn reply_events(
    doc: &DocFacts,
    thread: &[DocFacts],
    notices: &BTreeSet<String>,
) -> Vec<DeadlineEvent> {
    use crate::model::ReplyKind;
    let mut later: Vec<&DocFacts> = thread
        .iter()
        .filter(|t| {
            t.id != doc.id
                && (t.registered_at.as_str(), t.id) > (doc.registered_at.as_str(), doc.id)
                && !notices.contains(&t.reg_no)
        })
        .collect();
    later.sort_by(|a, b| (a.registered_at.as_str(), a.id).cmp(&(b.registered_at.as_str(), b.id)));
    let mut out = Vec::new();
    for t in &later {
        if t.direction != "outgoing" {
            continue;
        }
        let reg_no = Some(t.reg_no.clone());
        match t.reply_kind {
            Some(k @ (ReplyKind::Final | ReplyKind::Forwarding | ReplyKind::Refusal)) => {
                out.push(DeadlineEvent::Ended {
                    on: t.registered,
                    how: match k {
                        ReplyKind::Forwarding => EndKind::Forwarding,
                        ReplyKind::Refusal => EndKind::Refusal,
                        _ => EndKind::Reply,
                    },
                    reg_no,
                });
            }
            Some(ReplyKind::Interim) => out.push(DeadlineEvent::Interim {
                on: t.registered,
                reg_no,
                unspecified: false,
            }),
            None => out.push(DeadlineEvent::Interim {
                on: t.registered,
                reg_no,
                unspecified: true,
            }),
            Some(ReplyKind::Clarification) => {
                out.push(DeadlineEvent::ClarificationAsked {
                    on: t.registered,
                    reg_no,
                });
                // The answer: the first incoming document registered as its reply.
                if let Some(a) = later
                    .iter()
                    .find(|a| a.direction == "incoming" && a.parent_id == Some(t.id))
                {
                    out.push(DeadlineEvent::ClarificationAnswered {
                        on: a.received.unwrap_or(a.registered).max(t.registered),
                        reg_no: Some(a.reg_no.clone()),
                    });
                }
            }
        }
    }
    out
}

async fn load_facts_where(
    conn: &mut sqlx::AnyConnection,
    where_sql: &str,
) -> Result<Vec<DocFacts>> {
    let rows = sqlx::query(&format!(
        "SELECT {FACT_COLS} FROM documents WHERE {where_sql}"
    ))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(facts_from_row).collect()
}

fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Recomputes and stores the deadline rows of `doc_ids` inside `tx`.
pub async fn recompute_in(tx: &mut Tx, eng: &Engine, doc_ids: &[i64], seq: i64) -> Result<()> {
    if doc_ids.is_empty() {
        return Ok(());
    }
    let docs = load_facts_where(
        &mut *tx,
        &format!("id IN ({})", id_list(doc_ids.iter().copied())),
    )
    .await?;
    let threads: BTreeSet<i64> = docs.iter().map(|d| d.thread_id).collect();
    let thread_docs = load_facts_where(
        &mut *tx,
        &format!("thread_id IN ({})", id_list(threads.iter().copied())),
    )
    .await?;
    let mut by_thread: HashMap<i64, Vec<DocFacts>> = HashMap::new();
    for d in thread_docs {
        by_thread.entry(d.thread_id).or_default().push(d);
    }
    let rows = sqlx::query(&format!(
        "SELECT doc_id, kind, detail FROM events WHERE doc_id IN ({}) AND kind IN ({DEADLINE_KINDS}) ORDER BY seq",
        id_list(doc_ids.iter().copied())
    ))
    .fetch_all(&mut **tx)
    .await?;
    let mut evs: HashMap<i64, Vec<StoredEvent>> = HashMap::new();
    for r in rows {
        let detail: String = r.try_get("detail")?;
        let doc_id: i64 = r.try_get("doc_id")?;
        evs.entry(doc_id).or_default().push(StoredEvent {
            doc_id,
            kind: r.try_get("kind")?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        });
    }
    for d in &docs {
        let thread = by_thread
            .get(&d.thread_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let e = evs.get(&d.id).map(Vec::as_slice).unwrap_or(&[]);
        let x = explain(eng, d, thread, e)?;
        upsert_in(tx, d, &x, seq).await?;
    }
    Ok(())
}

async fn upsert_in(tx: &mut Tx, d: &DocFacts, x: &DocDeadline, seq: i64) -> Result<()> {
    let o = x.deadline.as_ref();
    let state = o.map(|o| o.state.as_str()).unwrap_or("none");
    sqlx::query(
        "INSERT INTO deadlines (doc_id, reg_no, title, series, doc_type, direction, responsible, registered, received, registration_due, registered_late, rule, base, due, state, extended, ended_on, ended_by, on_time, days_to_reply, updated_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT (doc_id) DO UPDATE SET reg_no = excluded.reg_no, title = excluded.title, series = excluded.series, doc_type = excluded.doc_type, direction = excluded.direction, responsible = excluded.responsible, registered = excluded.registered, received = excluded.received, registration_due = excluded.registration_due, registered_late = excluded.registered_late, rule = excluded.rule, base = excluded.base, due = excluded.due, state = excluded.state, extended = excluded.extended, ended_on = excluded.ended_on, ended_by = excluded.ended_by, on_time = excluded.on_time, days_to_reply = excluded.days_to_reply, updated_seq = excluded.updated_seq",
    )
    .bind(d.id)
    .bind(&d.reg_no)
    .bind(&d.title)
    .bind(&d.series)
    .bind(&d.doc_type)
    .bind(&d.direction)
    .bind(&d.responsible)
    .bind(d.registered.to_string())
    .bind(d.received.map(|r| r.to_string()))
    .bind(x.registration_due.to_string())
    .bind(i64::from(x.registered_late))
    .bind(o.map(|o| o.rule.clone()))
    .bind(o.map(|o| o.base.to_string()))
    .bind(o.and_then(|o| o.due).map(|d| d.to_string()))
    .bind(state)
    .bind(i64::from(o.is_some_and(|o| o.extended)))
    .bind(o.and_then(|o| o.ended_on).map(|d| d.to_string()))
    .bind(o.and_then(|o| o.ended_by.clone()))
    .bind(o.and_then(|o| o.on_time).map(i64::from))
    .bind(x.days_to_reply)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Brings the `deadlines` table up to date with the audit chain. Safe to run from
/// several processes at once (the cursor row serializes them). Returns the number
/// of documents recomputed.
pub async fn sync(app: &App, eng: &Engine) -> Result<usize> {
    let mut total = 0;
    loop {
        let mut tx = app.store.begin_write().await?;
        let lock = if app.store.is_postgres() {
            "SELECT seq FROM deadline_cursor WHERE id = 1 FOR UPDATE"
        } else {
            "SELECT seq FROM deadline_cursor WHERE id = 1"
        };
        let (cursor,): (i64,) = sqlx::query_as(lock).fetch_one(&mut *tx).await?;
        let rows = sqlx::query(
            "SELECT seq, doc_id, kind FROM events WHERE seq > $1 ORDER BY seq LIMIT 5000",
        )
        .bind(cursor)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(total);
        }
        let mut last = cursor;
        let mut ids = BTreeSet::new();
        for r in &rows {
            last = r.try_get("seq")?;
            let kind: String = r.try_get("kind")?;
            if let Some(id) = r.try_get::<Option<i64>, _>("doc_id")? {
                if RELEVANT.contains(&kind.as_str()) {
                    ids.insert(id);
                }
            }
        }
        // A new document can end, stop or restart the clock of earlier documents of its thread.
        if !ids.is_empty() {
            let extra: Vec<(i64,)> = sqlx::query_as(&format!(
                "SELECT id FROM documents WHERE direction = 'incoming' AND doc_type IS NOT NULL AND thread_id IN (SELECT thread_id FROM documents WHERE id IN ({}))",
                id_list(ids.iter().copied())
            ))
            .fetch_all(&mut *tx)
            .await?;
            ids.extend(extra.into_iter().map(|r| r.0));
        }
        let ids: Vec<i64> = ids.into_iter().collect();
        for chunk in ids.chunks(500) {
            recompute_in(&mut tx, eng, chunk, last).await?;
        }
        sqlx::query("UPDATE deadline_cursor SET seq = $1 WHERE id = 1")
            .bind(last)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        total += ids.len();
    }
}

/// A document's facts, its thread and its deadline events, read live.
pub async fn load_one(
    app: &App,
    reg_no: &str,
) -> Result<(DocFacts, Vec<DocFacts>, Vec<StoredEvent>)> {
    let mut conn = app.store.pool.acquire().await?;
    let doc = sqlx::query(&format!(
        "SELECT {FACT_COLS} FROM documents WHERE reg_no = $1"
    ))
    .bind(reg_no)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found(format!("unknown registration number {reg_no:?}")))?;
    let doc = facts_from_row(&doc)?;
    let thread = load_facts_where(&mut conn, &format!("thread_id = {}", doc.thread_id)).await?;
    let rows = sqlx::query(&format!(
        "SELECT doc_id, kind, detail FROM events WHERE doc_id = $1 AND kind IN ({DEADLINE_KINDS}) ORDER BY seq"
    ))
    .bind(doc.id)
    .fetch_all(&mut *conn)
    .await?;
    let mut evs = Vec::new();
    for r in rows {
        let detail: String = r.try_get("detail")?;
        evs.push(StoredEvent {
            doc_id: r.try_get("doc_id")?,
            kind: r.try_get("kind")?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        });
    }
    Ok((doc, thread, evs))
}

/// Explains one document's deadline live from the register (not from the table).
pub async fn explain_reg_no(app: &App, eng: &Engine, reg_no: &str) -> Result<DocDeadline> {
    let (doc, thread, evs) = load_one(app, reg_no).await?;
    explain(eng, &doc, &thread, &evs)
}

/// One line of `overdue`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DueLine {
    pub reg_no: String,
    pub title: String,
    pub due: Date,
    pub responsible: Option<String>,
    pub working_days_overdue: i64,
}

/// `overdue`: open deadlines past `as_of`, and those due within the configured
/// number of working days, ordered by responsible official then due date.
pub async fn overdue(
    app: &App,
    eng: &Engine,
    as_of: Date,
    responsible: Option<&str>,
) -> Result<(Vec<DueLine>, Vec<DueLine>)> {
    let soon_to = soon_until(app, eng, as_of);
    let mut sql = String::from(
        "SELECT reg_no, title, due, responsible FROM deadlines WHERE state = 'open' AND due <= $1",
    );
    if responsible.is_some() {
        sql.push_str(" AND responsible = $2");
    }
    sql.push_str(" ORDER BY responsible, due, reg_no");
    let mut q = sqlx::query(&sql).bind(soon_to.to_string());
    if let Some(r) = responsible {
        q = q.bind(r.to_string());
    }
    let rows = q.fetch_all(&app.store.pool).await?;
    let mut over = Vec::new();
    let mut soon = Vec::new();
    for r in rows {
        let due: String = r.try_get("due")?;
        let due = parse_stored_date(&due)?;
        let line = DueLine {
            reg_no: r.try_get("reg_no")?,
            title: r.try_get("title")?,
            due,
            responsible: r.try_get("responsible")?,
            working_days_overdue: eng.calendar.working_days_between(due, as_of).max(0),
        };
        if due < as_of {
            over.push(line);
        } else {
            soon.push(line);
        }
    }
    Ok((over, soon))
}

/// Whose open deadlines a dashboard list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueOf {
    Anyone,
    Official(String),
    /// Documents with no responsible official.
    Unassigned,
}

impl DueOf {
    /// The condition, the official bound as parameter `$n`.
    fn clause(&self, n: usize) -> String {
        match self {
            DueOf::Anyone => String::new(),
            DueOf::Official(_) => format!(" AND responsible = ${n}"),
            DueOf::Unassigned => " AND responsible IS NULL".into(),
        }
    }

    fn official(&self) -> Option<String> {
        match self {
            DueOf::Official(o) => Some(o.clone()),
            _ => None,
        }
    }
}

/// The last day counted as "due soon" on `as_of`.
fn soon_until(app: &App, eng: &Engine, as_of: Date) -> Date {
    eng.calendar
        .add_working_days(as_of, app.config.deadlines.due_soon_working_days)
}

/// How many officials `due_counts` walks at most (each one step of the
/// index; the dashboard shows them all).
pub const MAX_OFFICIALS: usize = 10_000;

/// The open deadlines overdue or due soon on `as_of`, counted per official
/// (None: unassigned) as (official, overdue, due soon), the most overdue
/// first. The officials are found by stepping through the index on
/// `(responsible, state, due)` one value at a time, and each one's deadlines
/// are counted from the range of that index it owns: no sort, and no more
/// index entries read than there are deadlines to count.
pub async fn due_counts(
    app: &App,
    eng: &Engine,
    as_of: Date,
    who: &DueOf,
) -> Result<Vec<(Option<String>, i64, i64)>> {
    let pool = &app.store.pool;
    let (today, soon) = (as_of.to_string(), soon_until(app, eng, as_of).to_string());
    // Parameters numbered in the order they appear (SQLite numbers `$N` so).
    let count = |official: Option<String>| {
        let (today, soon) = (today.clone(), soon.clone());
        async move {
            let (clause, last) = match official {
                Some(_) => ("responsible = $2", 3),
                None => ("responsible IS NULL", 2),
            };
            let sql = format!(
                "SELECT CAST(COALESCE(SUM(CASE WHEN due < $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS over, \
                 COUNT(*) AS n FROM deadlines WHERE {clause} AND state = 'open' AND due <= ${last}"
            );
            let mut q = sqlx::query(&sql).bind(today);
            if let Some(o) = official {
                q = q.bind(o);
            }
            let r = q.bind(soon).fetch_one(pool).await?;
            let (over, n): (i64, i64) = (r.try_get("over")?, r.try_get("n")?);
            Ok::<_, Error>((over, n - over))
        }
    };
    let officials: Vec<String> = match who {
        DueOf::Official(o) => vec![o.clone()],
        DueOf::Unassigned => vec![],
        DueOf::Anyone => {
            let mut v = Vec::new();
            let mut last: Option<String> = None;
            while v.len() < MAX_OFFICIALS {
                let next: Option<String> =
                    match &last {
                        None => sqlx::query_scalar(
                            "SELECT MIN(responsible) FROM deadlines WHERE responsible IS NOT NULL",
                        )
                        .fetch_one(pool)
                        .await?,
                        Some(l) => {
                            sqlx::query_scalar(
                                "SELECT MIN(responsible) FROM deadlines WHERE responsible > $1",
                            )
                            .bind(l.clone())
                            .fetch_one(pool)
                            .await?
                        }
                    };
                let Some(next) = next else { break };
                v.push(next.clone());
                last = Some(next);
            }
            v
        }
    };
    let mut out = Vec::with_capacity(officials.len() + 1);
    for o in officials {
        let (over, soon) = count(Some(o.clone())).await?;
        if over + soon > 0 {
            out.push((Some(o), over, soon));
        }
    }
    if matches!(who, DueOf::Anyone | DueOf::Unassigned) {
        let (over, soon) = count(None).await?;
        if over + soon > 0 {
            out.push((None, over, soon));
        }
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// A page of the open deadlines overdue or due soon on `as_of`, in due order
/// (the most overdue first, ties by document id), as (document id, line), and
/// how many there are in all (None: not asked, `count` false). The page's
/// ids are read from an index alone (`deadlines_open_due_doc`, in due order:
/// an offset is skipped inside it), then only its rows from the table.
pub async fn due_page(
    app: &App,
    eng: &Engine,
    as_of: Date,
    who: &DueOf,
    limit: i64,
    offset: i64,
    count: bool,
) -> Result<(Vec<(i64, DueLine)>, Option<i64>)> {
    let soon = soon_until(app, eng, as_of);
    let filter = format!(
        "FROM deadlines WHERE state = 'open' AND due <= $1{}",
        who.clause(2)
    );
    let total = if count {
        let count_sql = format!("SELECT COUNT(*) AS n {filter}");
        let mut cq = sqlx::query(&count_sql).bind(soon.to_string());
        if let Some(o) = who.official() {
            cq = cq.bind(o);
        }
        Some(
            cq.fetch_one(&app.store.pool)
                .await?
                .try_get::<i64, _>("n")?,
        )
    } else {
        None
    };
    let page_sql = format!(
        "SELECT t.doc_id, t.reg_no, t.title, t.due, t.responsible FROM \
         (SELECT doc_id {filter} ORDER BY due, doc_id LIMIT {} OFFSET {}) p \
         JOIN deadlines t ON t.doc_id = p.doc_id ORDER BY t.due, t.doc_id",
        limit.max(0),
        offset.max(0)
    );
    let mut pq = sqlx::query(&page_sql).bind(soon.to_string());
    if let Some(o) = who.official() {
        pq = pq.bind(o);
    }
    let mut out = Vec::new();
    for r in pq.fetch_all(&app.store.pool).await? {
        let due = parse_stored_date(&r.try_get::<String, _>("due")?)?;
        out.push((
            r.try_get("doc_id")?,
            DueLine {
                reg_no: r.try_get("reg_no")?,
                title: r.try_get("title")?,
                due,
                responsible: r.try_get("responsible")?,
                working_days_overdue: eng.calendar.working_days_between(due, as_of).max(0),
            },
        ));
    }
    Ok((out, total))
}

/// The documents whose deadline is in state `f` today (for the search filter),
/// the projection brought up to date first.
pub async fn docs_with(app: &App, f: crate::search::query::DeadlineFilter) -> Result<Vec<u64>> {
    use crate::search::query::DeadlineFilter as F;
    let eng = Engine::from_app(app)?;
    sync(app, &eng).await?;
    let today = today(app);
    let soon = eng
        .calendar
        .add_working_days(today, app.config.deadlines.due_soon_working_days);
    let (cond, a, b) = match f {
        F::Open => ("state = 'open'", None, None),
        F::Overdue => ("state = 'open' AND due < $1", Some(today), None),
        F::DueSoon => (
            "state = 'open' AND due >= $1 AND due <= $2",
            Some(today),
            Some(soon),
        ),
        F::Answered => ("state = 'ended'", None, None),
        F::Stopped => ("state = 'stopped'", None, None),
    };
    let sql = format!("SELECT doc_id FROM deadlines WHERE {cond} ORDER BY doc_id");
    let mut q = sqlx::query(&sql);
    for d in [a, b].into_iter().flatten() {
        q = q.bind(d.to_string());
    }
    let rows = q.fetch_all(&app.store.pool).await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<i64, _>("doc_id")? as u64))
        .collect()
}

/// Records a deadline event (audit-chained) after checking that the engine
/// accepts it, then brings the table up to date. Returns the new explanation.
pub async fn record(
    app: &App,
    eng: &Engine,
    reg_no: &str,
    ev: DeadlineEvent,
    actor: &str,
) -> Result<DocDeadline> {
    let (doc, thread, events) = load_one(app, reg_no).await?;
    let before = explain(eng, &doc, &thread, &events)?;
    let Some(o) = &before.deadline else {
        return Err(Error::invalid(format!(
            "document {reg_no} has no reply deadline (only an incoming document with a document type has one)"
        )));
    };
    let (kind, detail) = match &ev {
        DeadlineEvent::Extended { on, reason, notice } => {
            if reason.trim().is_empty() {
                return Err(Error::invalid_field(
                    "reason",
                    "an extension needs a reason",
                ));
            }
            let Some(n) = notice else {
                return Err(Error::invalid_field(
                    "notice",
                    "an extension needs the outgoing notice that told the requester",
                ));
            };
            let nd = app.register.find_by_reg_no(n).await?.ok_or_else(|| {
                Error::invalid_field("notice", format!("{n:?}: no such registration number"))
            })?;
            if nd.direction != crate::model::Direction::Outgoing {
                return Err(Error::invalid_field(
                    "notice",
                    format!("{n:?}: the notice must be an outgoing document"),
                ));
            }
            (
                KIND_EXTENDED,
                serde_json::json!({"on": on, "reason": reason, "notice": n}),
            )
        }
        DeadlineEvent::ClockStopped { on, reason } => {
            if reason.trim().is_empty() {
                return Err(Error::invalid_field("reason", "a clock stop needs a reason"));
            }
            (
                KIND_STOPPED,
                serde_json::json!({"on": on, "reason": reason}),
            )
        }
        DeadlineEvent::ClockResumed { on } => (KIND_RESUMED, serde_json::json!({"on": on})),
        DeadlineEvent::Reclassified {
            on,
            to_rule,
            reason,
        } => {
            eng.rules.require(to_rule)?;
            if to_rule == "registration" {
                return Err(Error::invalid_field(
                    "to",
                    "\"registration\" is not a reply rule",
                ));
            }
            (
                KIND_RECLASSIFIED,
                serde_json::json!({"on": on, "from": o.rule, "to": to_rule, "reason": reason}),
            )
        }
        DeadlineEvent::Ended {
            on,
            how,
            reg_no: by,
        } => (
            KIND_ENDED,
            serde_json::json!({"on": on, "how": how, "reg_no": by}),
        ),
        DeadlineEvent::Completed { on } => (KIND_COMPLETED, serde_json::json!({"on": on})),
        DeadlineEvent::DueSet { .. } => {
            return Err(Error::invalid(
                "invalid event: a payment term is set by the invoice's registration, not by a deadline event",
            ))
        }
        DeadlineEvent::ClarificationAsked { .. }
        | DeadlineEvent::ClarificationAnswered { .. }
        | DeadlineEvent::Interim { .. } => {
            return Err(Error::invalid(
                "invalid event: clarifications and interim replies come from the replies registered (their reply kind), not from a deadline event",
            ))
        }
    };
    // Refuse what the engine would ignore.
    let mut with = events.clone();
    with.push(StoredEvent {
        doc_id: doc.id,
        kind: kind.to_string(),
        detail: detail.clone(),
    });
    let after = explain(eng, &doc, &thread, &with)?;
    let n_before = o.ignored.len();
    if let Some(a) = &after.deadline {
        if a.ignored.len() > n_before {
            return Err(Error::invalid(format!(
                "cannot record this for {reg_no}: {}",
                a.ignored.last().cloned().unwrap_or_default()
            )));
        }
    }
    if let DeadlineEvent::Reclassified { to_rule, .. } = &ev {
        let patch = crate::register::MetadataPatch {
            doc_type: Some(Some(to_rule.clone())),
            ..Default::default()
        };
        app.register.update(doc.id, patch, actor).await?;
    }
    app.register
        .record_event(Some(doc.id), kind, detail, actor)
        .await?;
    sync(app, eng).await?;
    explain_reg_no(app, eng, reg_no).await
}

/// Today in the agency's time zone.
pub fn today(app: &App) -> Date {
    app.register.today()
}

/// The current time as stored.
pub fn now_text() -> String {
    store::now_text()
}

/// Whether the clock of an outcome is still running.
pub fn is_open(o: &Outcome) -> bool {
    o.state == ClockState::Open
}
