//! The deadline scheduler of `docgate serve`:
//!
//! - keeps the `deadlines` table up to date with the audit chain;
//! - e-mails the responsible official N working days before a due date
//!   (`deadlines.reminder_working_days`), once per document and due date;
//! - e-mails the lead a daily digest of what is overdue and due soon, on working
//!   days from `deadlines.digest_hour` (Europe/Tallinn), once per day;
//! - lifts each AK restriction whose end date has passed (AvTS § 42), through the
//!   register, so the lifting is in the audit chain.
//!
//! Each reminder and digest is recorded in `deadline_notices` under a unique key in
//! the same transaction as its outbox row: a restart repeats none and, since every
//! round looks at everything still due, skips none.

use jiff::civil::Date;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::deadline::state::{self, DueLine, Engine};
use crate::error::{Error, Result};
use crate::outbox::smtp::{from_address, new_message_id, MailPayload};
use crate::outbox::{self, NewOutboxItem};

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Round {
    pub recomputed: usize,
    pub reminders: usize,
    pub digests: usize,
    pub lifted: usize,
}

/// Runs the scheduler until `shutdown`.
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    let eng = Engine::from_app(&app)?;
    let interval = app.config.deadlines.scheduler_interval;
    let mut every = crate::periodic::Every::new("deadline scheduler", interval);
    while every.tick(&shutdown).await {
        let r = round(&app, &eng, jiff::Timestamp::now()).await;
        every.done(r.map(|_| crate::periodic::Next::Wait));
    }
    Ok(())
}

/// One scheduler round at `now`.
pub async fn round(app: &App, eng: &Engine, now: jiff::Timestamp) -> Result<Round> {
    let mut r = Round {
        recomputed: state::sync(app, eng).await?,
        ..Default::default()
    };
    let local = now.to_zoned(app.config.timezone());
    let today = local.date();
    r.reminders = reminders(app, eng, today).await?;
    if eng.calendar.is_working_day(today)
        && local.hour() >= i8::try_from(app.config.deadlines.digest_hour).unwrap_or(8)
        && !app.config.deadlines.digest_to.trim().is_empty()
    {
        r.digests = digest(app, eng, today).await?;
    }
    r.lifted = lift_restrictions(app, today).await?;
    Ok(r)
}

/// A reminder or digest to queue once.
struct Notice<'a> {
    key: &'a str,
    doc_id: Option<i64>,
    kind: &'a str,
    day: Date,
    to: &'a str,
    subject: String,
    body: String,
}

/// Queues a notice unless its key was queued before. True when queued now.
async fn queue_once(app: &App, n: Notice<'_>) -> Result<bool> {
    let Notice {
        key,
        doc_id,
        kind,
        day,
        to,
        subject,
        body,
    } = n;
    let mut tx = app.store.begin_write().await?;
    let ins = sqlx::query(
        "INSERT INTO deadline_notices (key, doc_id, kind, day, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(doc_id)
    .bind(kind)
    .bind(day.to_string())
    .bind(state::now_text())
    .execute(&mut *tx)
    .await?;
    if ins.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    let from = from_address(app);
    let payload = MailPayload {
        message_id: new_message_id(&from),
        from,
        to: vec![to.to_string()],
        subject,
        body,
        in_reply_to: None,
        references: Vec::new(),
        attachments: Vec::new(),
    };
    let id = outbox::enqueue_in(
        &mut tx,
        NewOutboxItem {
            doc_id,
            channel: "email".into(),
            recipient: to.to_string(),
            payload: serde_json::to_value(&payload)
                .map_err(|e| Error::internal(format!("payload: {e}")))?,
            dedup_key: Some(key.to_string()),
            not_before: None,
        },
    )
    .await?;
    sqlx::query("UPDATE deadline_notices SET outbox_id = $1 WHERE key = $2")
        .bind(id)
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Reminds each responsible official of what falls due within N working days.
pub async fn reminders(app: &App, eng: &Engine, today: Date) -> Result<usize> {
    let n = app.config.deadlines.reminder_working_days;
    let until = eng.calendar.add_working_days(today, n);
    let rows = sqlx::query(
        "SELECT doc_id, reg_no, title, due, responsible FROM deadlines WHERE state = 'open' AND due >= $1 AND due <= $2 AND responsible IS NOT NULL ORDER BY due, doc_id",
    )
    .bind(today.to_string())
    .bind(until.to_string())
    .fetch_all(&app.store.pool)
    .await?;
    let mut queued = 0;
    for row in rows {
        let doc_id: i64 = row.try_get("doc_id")?;
        let reg_no: String = row.try_get("reg_no")?;
        let title: String = row.try_get("title")?;
        let due: String = row.try_get("due")?;
        let responsible: String = row.try_get("responsible")?;
        let Some(addr) = app.config.deadlines.official_address(&responsible) else {
            tracing::warn!("no e-mail address for responsible {responsible:?} (deadlines.officials): no reminder for {reg_no}");
            continue;
        };
        let left = eng
            .calendar
            .working_days_between(today, due.parse().unwrap_or(today));
        let subject = format!("Tähtaeg {due}: {reg_no}");
        let body = format!(
            "Dokumendi {reg_no} \"{title}\" vastamise tähtaeg on {due} ({left} tööpäeva).\n\
             The reply to {reg_no} is due on {due} ({left} working days left).\n\n\
             docgate due {reg_no}\n"
        );
        let key = format!("reminder:{doc_id}:{due}");
        let notice = Notice {
            key: &key,
            doc_id: Some(doc_id),
            kind: "reminder",
            day: today,
            to: &addr,
            subject,
            body,
        };
        if queue_once(app, notice).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

fn digest_text(as_of: Date, over: &[DueLine], soon: &[DueLine]) -> String {
    let mut s = format!("Tähtajad seisuga {as_of} / Deadlines as of {as_of}\n");
    for (head, lines) in [
        ("Üle tähtaja / Overdue", over),
        ("Peagi tähtaeg / Due soon", soon),
    ] {
        s.push_str(&format!("\n{head}: {}\n", lines.len()));
        let mut last: Option<&Option<String>> = None;
        for l in lines {
            if last != Some(&l.responsible) {
                s.push_str(&format!(
                    "  {}\n",
                    l.responsible
                        .as_deref()
                        .unwrap_or("(määramata / unassigned)")
                ));
                last = Some(&l.responsible);
            }
            s.push_str(&format!(
                "    {}  {}  {}{}\n",
                l.due,
                l.reg_no,
                l.title,
                if l.working_days_overdue > 0 {
                    format!("  (+{} tp)", l.working_days_overdue)
                } else {
                    String::new()
                }
            ));
        }
    }
    s
}

/// The lead's digest of `today` (once per day).
pub async fn digest(app: &App, eng: &Engine, today: Date) -> Result<usize> {
    let (over, soon) = state::overdue(app, eng, today, None).await?;
    let body = digest_text(today, &over, &soon);
    let subject = format!(
        "Tähtajad {today}: {} üle tähtaja, {} peagi",
        over.len(),
        soon.len()
    );
    let to = app.config.deadlines.digest_to.clone();
    let key = format!("digest:{today}");
    let notice = Notice {
        key: &key,
        doc_id: None,
        kind: "digest",
        day: today,
        to: &to,
        subject,
        body,
    };
    Ok(usize::from(queue_once(app, notice).await?))
}

/// Lifts every restriction whose end date is before `today` (AvTS § 42).
pub async fn lift_restrictions(app: &App, today: Date) -> Result<usize> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, reg_no, r_ends FROM documents WHERE r_ground IS NOT NULL AND r_ends < $1 ORDER BY id",
    )
    .bind(today.to_string())
    .fetch_all(&app.store.pool)
    .await?;
    let mut n = 0;
    for (id, reg_no, ends) in rows {
        match app
            .register
            .lift_restriction(
                id,
                &format!("the restriction ended on {ends} (AvTS § 42)"),
                "scheduler",
            )
            .await
        {
            Ok(_) => n += 1,
            // Another process lifted it first.
            Err(Error::Invalid { .. }) => {}
            Err(e) => tracing::error!("cannot lift the restriction of {reg_no}: {e}"),
        }
    }
    Ok(n)
}
