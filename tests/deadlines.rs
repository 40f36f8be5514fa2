//! Deadlines, the e-mail outbox and the scheduler, against real databases and a
//! real SMTP server (OpenSMTPD from `.ci/setup/smtp.sh` on 127.0.0.1:2525,
//! delivering into a Maildir; override with DOCGATE_TEST_SMTP=host:port and
//! DOCGATE_TEST_MAILDIR). PostgreSQL tests run when DOCGATE_TEST_POSTGRES_URL is set.

#![allow(clippy::field_reassign_with_default)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use docgate::deadline::state::{self, Engine};
use docgate::deadline::{ClockState, DeadlineEvent};
use docgate::model::*;
use docgate::{App, Config};
use jiff::civil::{date, Date};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

static SMTP_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn smtp_addr() -> (String, u16) {
    let s = std::env::var("DOCGATE_TEST_SMTP").unwrap_or_else(|_| "127.0.0.1:2525".into());
    let (h, p) = s.rsplit_once(':').expect("DOCGATE_TEST_SMTP is host:port");
    (h.to_string(), p.parse().expect("port"))
}

fn maildir() -> PathBuf {
    PathBuf::from(
        std::env::var("DOCGATE_TEST_MAILDIR")
            .unwrap_or_else(|_| "/var/lib/docgate-mail/Maildir".into()),
    )
}

fn base_config(dir: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.data_dir = dir.to_path_buf();
    let (host, port) = smtp_addr();
    cfg.outbox.smtp.host = host;
    cfg.outbox.smtp.port = port;
    cfg.outbox.smtp.backoff_initial = std::time::Duration::from_secs(1);
    cfg.outbox.smtp.backoff_max = std::time::Duration::from_secs(1);
    cfg.outbox.smtp.timeout = std::time::Duration::from_secs(5);
    cfg
}

async fn sqlite_app(dir: &Path, tweak: impl FnOnce(&mut Config)) -> App {
    let mut cfg = base_config(dir);
    tweak(&mut cfg);
    App::open(cfg).await.expect("open sqlite app")
}

/// A fresh PostgreSQL database per test (`testing::fresh_postgres_database`), or
/// None without a server (a failure when services are required).
async fn pg_app(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Option<App> {
    let url = docgate::testing::fresh_postgres_database().await?;
    let mut cfg = base_config(dir);
    cfg.database_url = url;
    tweak(&mut cfg);
    Some(App::open(cfg).await.expect("open postgres app"))
}

fn at(d: Date) -> jiff::Timestamp {
    // 10:00 UTC is 12:00/13:00 in Tallinn: the same calendar date.
    d.at(10, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
}

fn incoming(title: &str, rule: &str, registered: Date, responsible: &str) -> NewDocument {
    let mut n = NewDocument::new(Direction::Incoming, Channel::Email, title);
    n.doc_type = Some(rule.into());
    n.registered_at = Some(at(registered));
    // Arrived the day it was registered (without an arrival date it would not
    // count as registered on time).
    n.received = Some(registered);
    n.responsible = Some(responsible.into());
    n.parties = vec![Party {
        kind: PartyKind::Person,
        role: PartyRole::Sender,
        name: "Mari Kask".into(),
        code: None,
        email: Some("mari.kask@example.ee".into()),
    }];
    n
}

fn outgoing_reply(parent: &str, registered: Date) -> NewDocument {
    let mut n = NewDocument::new(Direction::Outgoing, Channel::Email, "Vastus");
    n.reply_to = Some(parent.into());
    n.reply_kind = Some(ReplyKind::Final);
    n.registered_at = Some(at(registered));
    n
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_docgate"))
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = bin().args(args).output().expect("run docgate");
    assert!(
        out.status.success(),
        "docgate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

// ---------------------------------------------------------------- commands

#[test]
fn holidays_command_prints_the_contract() {
    let v = run_json(&["holidays", "2025", "--json"]);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 12);
    assert_eq!(arr[2]["date"], "2025-04-18");
    assert_eq!(arr[2]["name"], "suur reede");
    assert!(arr.iter().all(|h| h.as_object().unwrap().len() == 2));
    let v = run_json(&["holidays", "2004", "--json"]);
    assert_eq!(
        v.as_array().unwrap().len(),
        11,
        "no 24 December before 2005"
    );
    let out = bin().args(["holidays", "1997"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid year 1997"), "{err}");
    let out = bin().args(["holidays", "next"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid year \"next\""));
}

/// Issue 19 point 7: an unbounded date used to panic in the day arithmetic.
#[test]
fn deadline_with_base_9999_12_31_is_refused_not_a_panic() {
    for (base, says) in [
        ("9999-12-31", "1900-01-01"),
        // Parseable, but outside the years the holiday calendar covers.
        ("1950-06-01", "1998"),
        ("2300-12-31", "2100"),
    ] {
        let out = bin()
            .args(["deadline", "--rule", "avts-teabenoue", "--base", base])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{base}: {err}");
        assert!(!err.contains("panicked"), "{base}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(base) && err.contains(says), "{base}: {err}");
    }
}

#[test]
fn deadline_command_prints_due_date_and_trace() {
    let v = run_json(&[
        "deadline",
        "--rule",
        "avts-teabenoue",
        "--base",
        "2025-12-19",
        "--json",
    ]);
    assert_eq!(v["rule"], "avts-teabenoue");
    assert_eq!(v["base"], "2025-12-19");
    assert_eq!(v["due"], "2025-12-31");
    let trace = v["trace"].as_array().unwrap();
    assert!(trace
        .iter()
        .any(|s| s["basis"].as_str().unwrap().contains("AvTS § 18")));
    let v = run_json(&[
        "deadline",
        "--rule",
        "avts-teabenoue",
        "--base",
        "2025-12-19",
        "--extended",
        "--json",
    ]);
    assert_eq!(v["due"], "2026-01-15");
    let v = run_json(&[
        "deadline",
        "--rule",
        "registration",
        "--base",
        "2025-12-23",
        "--json",
    ]);
    assert_eq!(v["due"], "2025-12-29");
    let out = bin()
        .args(["deadline", "--rule", "nope", "--base", "2025-01-01"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown --rule \"nope\""));
    let out = bin()
        .args(["deadline", "--rule", "sus-otsus", "--base", "2025-13-01"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid --base: \"2025-13-01\""));
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let out = bin()
        .args([
            "deadline",
            "--rule",
            "sus-otsus",
            "--base",
            "2025-01-02",
            "--extended",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no extension"));
}

// ------------------------------------------------ overdue and report scenario

/// March 2025: A open and overdue (mari), B answered on time (jaan), C registered
/// late and answered late (jaan), E due soon (mari).
async fn scenario(app: &App) {
    let r = &app.register;
    let a = r
        .register(
            incoming("A teabenõue", "avts-teabenoue", date(2025, 3, 3), "mari"),
            "t",
        )
        .await
        .unwrap();
    let b = r
        .register(
            incoming("B teabenõue", "avts-teabenoue", date(2025, 3, 3), "jaan"),
            "t",
        )
        .await
        .unwrap();
    r.register(outgoing_reply(&b.reg_no, date(2025, 3, 5)), "t")
        .await
        .unwrap();
    let mut c = incoming("C hüvitis", "sus-otsus", date(2025, 3, 3), "jaan");
    c.received = Some(date(2025, 2, 27));
    let c = r.register(c, "t").await.unwrap();
    r.register(outgoing_reply(&c.reg_no, date(2025, 3, 20)), "t")
        .await
        .unwrap();
    r.register(
        incoming("E teabenõue", "avts-teabenoue", date(2025, 3, 7), "mari"),
        "t",
    )
    .await
    .unwrap();
    assert_ne!(a.reg_no, b.reg_no);
}

async fn check_overdue_and_report(app: &App) {
    let eng = Engine::from_app(app).unwrap();
    scenario(app).await;
    let n = state::sync(app, &eng).await.unwrap();
    assert!(n >= 6, "recomputed {n}");
    let (over, soon) = state::overdue(app, &eng, date(2025, 3, 12), None)
        .await
        .unwrap();
    assert_eq!(over.len(), 1, "{over:?}");
    assert_eq!(over[0].title, "A teabenõue");
    assert_eq!(over[0].due, date(2025, 3, 10));
    assert_eq!(over[0].working_days_overdue, 2);
    assert_eq!(over[0].responsible.as_deref(), Some("mari"));
    assert_eq!(soon.len(), 1);
    assert_eq!(soon[0].title, "E teabenõue");
    let (over, _) = state::overdue(app, &eng, date(2025, 3, 12), Some("jaan"))
        .await
        .unwrap();
    assert!(over.is_empty());
    check_due_counts_and_pages(app, &eng, date(2025, 3, 12)).await;

    let rep = docgate::report::build(app, date(2025, 3, 1), date(2025, 3, 31), date(2025, 3, 12))
        .await
        .unwrap();
    let avts = rep
        .lines
        .iter()
        .find(|l| l.doc_type == "avts-teabenoue")
        .expect("avts line");
    assert_eq!(avts.month, "2025-03");
    assert_eq!(avts.received, 3);
    assert_eq!(avts.answered_on_time, 1);
    assert_eq!(avts.answered_late, 0);
    assert_eq!(avts.open_overdue, 1);
    assert_eq!(avts.median_working_days_to_reply, Some(2.0));
    let sus = rep
        .lines
        .iter()
        .find(|l| l.doc_type == "sus-otsus")
        .unwrap();
    assert_eq!(sus.received, 1);
    assert_eq!(sus.answered_late, 1);
    assert_eq!(sus.registered_late, 1);
    // sus-otsus counts from the complete application (base "complete"; arrived
    // 27 February, no `complete` event): 15 working days to the reply on 20 March.
    assert_eq!(sus.median_working_days_to_reply, Some(15.0));
    let out = rep.lines.iter().find(|l| l.doc_type.is_empty()).unwrap();
    assert_eq!(out.received, 0, "replies are not received documents");
    // A reply registered later still ends the clock: A answered now.
    let a = app
        .register
        .list(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.title == "A teabenõue")
        .unwrap();
    app.register
        .register(outgoing_reply(&a.reg_no, date(2025, 3, 13)), "t")
        .await
        .unwrap();
    state::sync(app, &eng).await.unwrap();
    let (over, _) = state::overdue(app, &eng, date(2025, 3, 14), None)
        .await
        .unwrap();
    assert!(over.is_empty(), "{over:?}");
    let x = state::explain_reg_no(app, &eng, &a.reg_no).await.unwrap();
    let o = x.deadline.unwrap();
    assert_eq!(o.state, ClockState::Ended);
    assert_eq!(o.on_time, Some(false));
}

/// The dashboard's counts per official and its pages in due order agree with
/// the whole list `state::overdue` gives, for everyone, one official and the
/// unassigned.
async fn check_due_counts_and_pages(app: &App, eng: &Engine, on: Date) {
    use state::DueOf;
    let (over, soon) = state::overdue(app, eng, on, None).await.unwrap();
    let mut all: Vec<_> = over.iter().chain(&soon).collect();
    assert!(all.len() >= 2, "{all:?}");
    all.sort_by(|a, b| a.due.cmp(&b.due).then(a.reg_no.cmp(&b.reg_no)));
    // Pages of one: every line once, in due order, the total each time.
    let mut paged = Vec::new();
    for offset in 0..=all.len() as i64 {
        let (page, total) = state::due_page(app, eng, on, &DueOf::Anyone, 1, offset, true)
            .await
            .unwrap();
        assert_eq!(total, Some(all.len() as i64));
        paged.extend(page);
    }
    // In due order, ties by document id.
    assert!(
        paged
            .windows(2)
            .all(|w| (w[0].1.due, w[0].0) < (w[1].1.due, w[1].0)),
        "{paged:?}"
    );
    let mut got: Vec<_> = paged.iter().map(|(_, l)| (l.due, &l.reg_no)).collect();
    got.sort();
    let want: Vec<_> = all.iter().map(|l| (l.due, &l.reg_no)).collect();
    assert_eq!(got, want);
    let counts = state::due_counts(app, eng, on, &DueOf::Anyone)
        .await
        .unwrap();
    let mut tally: std::collections::BTreeMap<Option<String>, (i64, i64)> = Default::default();
    for l in &over {
        tally.entry(l.responsible.clone()).or_default().0 += 1;
    }
    for l in &soon {
        tally.entry(l.responsible.clone()).or_default().1 += 1;
    }
    let mut got: Vec<_> = counts.clone();
    got.sort();
    let want: Vec<_> = tally.into_iter().map(|(k, (a, b))| (k, a, b)).collect();
    assert_eq!(got, want);
    // Most overdue first.
    assert!(counts.windows(2).all(|w| w[0].1 >= w[1].1), "{counts:?}");
    // One official's.
    let (page, total) = state::due_page(app, eng, on, &DueOf::Official("mari".into()), 10, 0, true)
        .await
        .unwrap();
    let total = total.unwrap();
    assert_eq!(total, page.len() as i64);
    assert!(
        total >= 1
            && page
                .iter()
                .all(|(_, l)| l.responsible.as_deref() == Some("mari"))
    );
    let only = state::due_counts(app, eng, on, &DueOf::Official("mari".into()))
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].1 + only[0].2, total);
    let (none, n) = state::due_page(app, eng, on, &DueOf::Unassigned, 10, 0, true)
        .await
        .unwrap();
    assert_eq!(
        (none.len(), n),
        (0, Some(0)),
        "every document here has an official"
    );
}

#[tokio::test]
async fn overdue_and_report_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let app = sqlite_app(dir.path(), |_| {}).await;
    check_overdue_and_report(&app).await;
}

#[tokio::test]
async fn overdue_and_report_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let Some(app) = pg_app(dir.path(), |_| {}).await else {
        return;
    };
    check_overdue_and_report(&app).await;
}

#[tokio::test]
async fn overdue_report_and_due_commands_keep_their_contract() {
    let dir = tempfile::tempdir().unwrap();
    let app = sqlite_app(dir.path(), |_| {}).await;
    scenario(&app).await;
    drop(app);
    let d = dir.path().to_str().unwrap();
    let v = run_json(&[
        "--data-dir",
        d,
        "overdue",
        "--as-of",
        "2025-03-12",
        "--json",
    ]);
    assert_eq!(v["as_of"], "2025-03-12");
    let o = &v["overdue"].as_array().unwrap()[0];
    for k in [
        "reg_no",
        "title",
        "due",
        "responsible",
        "working_days_overdue",
    ] {
        assert!(o.get(k).is_some(), "field {k} in {o}");
    }
    assert_eq!(o["working_days_overdue"], 2);
    assert_eq!(v["due_soon"].as_array().unwrap().len(), 1);
    let reg_no = o["reg_no"].as_str().unwrap().to_string();
    let v = run_json(&["--data-dir", d, "due", &reg_no, "--json"]);
    assert_eq!(v["rule"], "avts-teabenoue");
    assert_eq!(v["due"], "2025-03-10");
    assert_eq!(v["state"], "open");
    assert!(!v["trace"].as_array().unwrap().is_empty());
    let out = bin()
        .args([
            "--data-dir",
            d,
            "report",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--as-of",
            "2025-03-12",
        ])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("series,doc_type,month,received,answered_on_time,answered_late,open_overdue,median_working_days_to_reply,registered_late\n"), "{csv}");
    assert!(
        csv.contains("9-13,avts-teabenoue,2025-03,3,1,0,1,2,0"),
        "{csv}"
    );
    let v = run_json(&[
        "--data-dir",
        d,
        "report",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        "--format",
        "json",
    ]);
    assert!(v["lines"].as_array().unwrap().len() >= 3);
    let out = bin()
        .args([
            "--data-dir",
            d,
            "report",
            "--from",
            "2025-03-31",
            "--to",
            "2025-03-01",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("before --from"));
    let out = bin()
        .args(["--data-dir", d, "due", "9-13/999999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "not found");
    assert!(String::from_utf8_lossy(&out.stderr).contains("9-13/999999"));
}

// ------------------------------------------------------- deadline events

#[tokio::test]
async fn deadline_events_are_checked_recorded_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let app = sqlite_app(dir.path(), |_| {}).await;
    let eng = Engine::from_app(&app).unwrap();
    let r = &app.register;
    let req = r
        .register(
            incoming("teabenõue", "avts-teabenoue", date(2025, 3, 3), "mari"),
            "t",
        )
        .await
        .unwrap();
    // Extension without a notice, with an incoming "notice": refused.
    let ext = |notice: Option<&str>| DeadlineEvent::Extended {
        on: date(2025, 3, 6),
        reason: "lengthy search".into(),
        notice: notice.map(str::to_string),
    };
    let err = state::record(&app, &eng, &req.reg_no, ext(None), "t")
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("notice"), "{err}");
    assert!(
        !err.to_string().contains("--"),
        "the library names no flag: {err}"
    );
    let err = state::record(&app, &eng, &req.reg_no, ext(Some(&req.reg_no)), "t")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("outgoing"), "{err}");
    // The notice is an outgoing document of the thread but not a reply.
    let mut notice = outgoing_reply(&req.reg_no, date(2025, 3, 6));
    notice.title = "Pikendamise teade".into();
    let notice = r.register(notice, "t").await.unwrap();
    let x = state::record(&app, &eng, &req.reg_no, ext(Some(&notice.reg_no)), "t")
        .await
        .unwrap();
    let o = x.deadline.unwrap();
    assert_eq!(o.state, ClockState::Open, "{:#?}", o.trace);
    assert_eq!(o.due, Some(date(2025, 3, 24)));
    assert!(o.extended);
    let kinds: Vec<String> = r
        .events(req.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&"deadline_extended".to_string()),
        "{kinds:?}"
    );
    // A second extension is refused.
    let err = state::record(&app, &eng, &req.reg_no, ext(Some(&notice.reg_no)), "t")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already extended"), "{err}");

    // Reclassification keeps the base date.
    let req2 = r
        .register(
            incoming("analüüs", "avts-teabenoue", date(2025, 3, 3), "mari"),
            "t",
        )
        .await
        .unwrap();
    let x = state::record(
        &app,
        &eng,
        &req2.reg_no,
        DeadlineEvent::Reclassified {
            on: date(2025, 3, 5),
            to_rule: "msvs-selgitustaotlus".into(),
            reason: "needs analysis".into(),
        },
        "t",
    )
    .await
    .unwrap();
    let o = x.deadline.unwrap();
    assert_eq!(o.rule, "msvs-selgitustaotlus");
    assert_eq!(o.due, Some(date(2025, 3, 18)));
    assert_eq!(
        r.get(req2.id).await.unwrap().doc_type.as_deref(),
        Some("msvs-selgitustaotlus")
    );

    // OAS § 48: a stopped clock is not overdue.
    let comp = r
        .register(
            incoming("hüvitis", "oas-huvitis", date(2025, 3, 3), "jaan"),
            "t",
        )
        .await
        .unwrap();
    state::record(
        &app,
        &eng,
        &comp.reg_no,
        DeadlineEvent::ClockStopped {
            on: date(2025, 3, 10),
            reason: "court case pending".into(),
        },
        "t",
    )
    .await
    .unwrap();
    let (over, _) = state::overdue(&app, &eng, date(2025, 6, 1), Some("jaan"))
        .await
        .unwrap();
    assert!(over.is_empty(), "{over:?}");
    let x = state::record(
        &app,
        &eng,
        &comp.reg_no,
        DeadlineEvent::ClockResumed {
            on: date(2025, 5, 8),
        },
        "t",
    )
    .await
    .unwrap();
    assert_eq!(x.deadline.unwrap().due, Some(date(2025, 5, 19)));
    let (over, _) = state::overdue(&app, &eng, date(2025, 6, 1), Some("jaan"))
        .await
        .unwrap();
    assert_eq!(over.len(), 1);
    // A clock stop on a rule without one is refused.
    let err = state::record(
        &app,
        &eng,
        &req.reg_no,
        DeadlineEvent::ClockStopped {
            on: date(2025, 3, 7),
            reason: "x".into(),
        },
        "t",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no clock stop"), "{err}");
    // The CLI form of an event, with a clear error for a bad kind.
    let d = dir.path().to_str().unwrap();
    let out = bin()
        .args(["--data-dir", d, "deadline-event", &req2.reg_no, "postpone"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid event \"postpone\""));
}

// ------------------------------------------------------------ SMTP + outbox

/// Messages in the Maildir whose text contains `needle`.
fn delivered(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(maildir().join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                if t.contains(needle) {
                    out.push(t);
                }
            }
        }
    }
    out
}

async fn wait_delivered(needle: &str, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let d = delivered(needle);
        if d.len() >= n {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    delivered(needle)
}

fn smtp_up() -> bool {
    let (h, p) = smtp_addr();
    std::net::TcpStream::connect_timeout(
        &format!("{h}:{p}").parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok()
}

fn require_smtp() {
    assert!(
        smtp_up(),
        "no SMTP server on {:?}: run .ci/setup/smtp.sh (as root)",
        smtp_addr()
    );
}

async fn send_until_idle(app: &App) -> usize {
    let mut sent = 0;
    for _ in 0..5 {
        let (s, r, f) = docgate::outbox::smtp::send_due(app, "test").await.unwrap();
        assert_eq!(f, 0, "a message failed");
        sent += s;
        if s + r == 0 {
            break;
        }
    }
    sent
}

async fn check_reply_sent_and_delivered(app: &App) {
    let eng = Engine::from_app(app).unwrap();
    let r = &app.register;
    let mut orig = NewDocument::new(Direction::Incoming, Channel::Email, "Taotlus");
    orig.doc_type = Some("oas-vaimne-tervis".into());
    orig.responsible = Some("mari".into());
    let orig_mid = format!("orig-{}@example.ee", uuid::Uuid::new_v4().simple());
    orig.message_id = Some(orig_mid.clone());
    orig.their_ref = Some("T-77".into());
    orig.parties = vec![Party {
        kind: PartyKind::Person,
        role: PartyRole::Sender,
        name: "Ohver".into(),
        code: None,
        email: Some("ohver@example.ee".into()),
    }];
    orig.restriction = Some(NewRestriction {
        end_by: Default::default(),
        ground: "AvTS § 35 lg 1 p 11".into(),
        ends: r.today().checked_add(jiff::Span::new().years(5)).unwrap(),
        holder: None,
        begins: None,
    });
    let orig = r.register(orig, "t").await.unwrap();
    state::sync(app, &eng).await.unwrap();

    // A restricted document: a reply goes only to its party.
    let err = docgate::outbox::reply::reply(
        app,
        &orig.reg_no,
        "Tere".into(),
        vec![],
        Some("someone.else@example.ee".into()),
        "t",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, docgate::Error::Forbidden(_)), "{err}");
    assert!(docgate::outbox::for_document(&app.store, orig.id)
        .await
        .unwrap()
        .is_empty());

    let out = docgate::outbox::reply::reply_as(
        app,
        &orig.reg_no,
        Some(ReplyKind::Final),
        "Tere, teie taotlus on rahuldatud.".into(),
        vec![docgate::outbox::reply::ReplyFile {
            name: "otsus.txt".into(),
            media_type: "text/plain".into(),
            bytes: b"OTSUS nr 1".to_vec(),
        }],
        None,
        "clerk",
    )
    .await
    .unwrap();
    assert_eq!(out.reg_no, format!("{}-1", orig.reg_no));
    assert_eq!(out.to, "ohver@example.ee");
    assert!(out.restricted);
    let reply_doc = r.get_by_reg_no(&out.reg_no).await.unwrap();
    assert_eq!(
        reply_doc.message_id.as_deref(),
        Some(out.message_id.as_str())
    );
    assert_eq!(reply_doc.direction, Direction::Outgoing);
    assert!(
        reply_doc.restriction.is_some(),
        "the reply stays restricted"
    );
    let items = docgate::outbox::for_document(&app.store, reply_doc.id)
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].state, "queued");
    // The release is in the audit chain.
    let ev = r.events(reply_doc.id).await.unwrap();
    let rel = ev
        .iter()
        .find(|e| e.kind == "released")
        .expect("release recorded");
    assert_eq!(rel.detail["to"], "ohver@example.ee");
    // The reply ends the original's clock.
    state::sync(app, &eng).await.unwrap();
    let x = state::explain_reg_no(app, &eng, &orig.reg_no)
        .await
        .unwrap();
    let o = x.deadline.unwrap();
    assert_eq!(o.state, ClockState::Ended);
    assert_eq!(o.ended_by.as_deref(), Some(out.reg_no.as_str()));

    let sent = send_until_idle(app).await;
    assert!(sent >= 1);
    let items = docgate::outbox::for_document(&app.store, reply_doc.id)
        .await
        .unwrap();
    assert_eq!(items[0].state, "sent", "{items:?}");
    assert!(
        items[0].result.as_deref().unwrap_or("").starts_with("250"),
        "{items:?}"
    );
    let got = wait_delivered(&out.message_id, 1).await;
    assert_eq!(got.len(), 1, "delivered exactly once");
    let m = &got[0];
    assert!(m.contains(&format!("In-Reply-To: <{orig_mid}>")), "{m}");
    assert!(m.contains(&format!("References: <{orig_mid}>")), "{m}");
    assert!(
        m.contains(&out.reg_no) && m.contains("T-77"),
        "subject: {m}"
    );
    assert!(m.contains("otsus.txt"), "attachment: {m}");
    assert!(m.contains("Delivered-To: ohver@example.ee"), "{m}");
    assert!(r
        .events(reply_doc.id)
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == "outbox_sent"));
    round_trip_through_ingest(app, &orig, &out, m).await;
}

/// The round trip: the reply as the real MTA delivered it is ingested back and
/// recognised as the document it is (not registered twice); the citizen's
/// answer to it, sent through the same real MTA, is ingested and threads onto
/// the original as its next follow-up.
async fn round_trip_through_ingest(
    app: &App,
    orig: &Document,
    out: &docgate::outbox::reply::ReplyOutcome,
    delivered_reply: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let opts = docgate::ingest::ImportOptions::default();
    let copy = dir.path().join("delivered-reply.eml");
    std::fs::write(&copy, delivered_reply).unwrap();
    let item = docgate::ingest::register_path(app, &copy, &opts)
        .await
        .unwrap();
    assert_eq!(item.status, "duplicate", "{item:?}");
    assert_eq!(
        item.reg_no.as_deref(),
        Some(out.reg_no.as_str()),
        "{item:?}"
    );

    // The citizen presses "reply" in their mail client.
    let subject = delivered_reply
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .expect("the delivered reply has a subject")
        .to_string();
    let answer_mid = format!("answer-{}@example.ee", uuid::Uuid::new_v4().simple());
    let orig_mid = orig.message_id.clone().unwrap();
    let raw = format!(
        "From: Ohver <ohver@example.ee>\r\nTo: dokumendid@sotsiaalkindlustusamet.ee\r\n\
         Subject: Re: {subject}\r\nMessage-ID: <{answer_mid}>\r\n\
         In-Reply-To: <{reply_mid}>\r\nReferences: <{orig_mid}> <{reply_mid}>\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0200\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nAitäh, sain otsuse kätte.\r\n",
        reply_mid = out.message_id
    );
    let (h, p) = smtp_addr();
    let tr = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(h)
        .port(p)
        .build();
    let env = lettre::address::Envelope::new(
        Some("ohver@example.ee".parse().unwrap()),
        vec!["dokumendid@sotsiaalkindlustusamet.ee".parse().unwrap()],
    )
    .unwrap();
    tr.send_raw(&env, raw.as_bytes()).await.unwrap();
    let got = wait_delivered(&answer_mid, 1).await;
    assert_eq!(got.len(), 1, "the answer was delivered once");
    let path = dir.path().join("answer.eml");
    std::fs::write(&path, &got[0]).unwrap();
    let item = docgate::ingest::register_path(app, &path, &opts)
        .await
        .unwrap();
    assert_eq!(item.status, "registered", "{item:?}");
    let doc = app
        .register
        .get_by_reg_no(item.reg_no.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(doc.thread_id, orig.thread_id, "threads onto the original");
    assert_eq!(doc.reg_no, format!("{}-2", orig.reg_no));
    assert_eq!(doc.direction, Direction::Incoming);
    assert_eq!(doc.message_id.as_deref(), Some(answer_mid.as_str()));
    // ingesting the same delivery again registers nothing
    let again = docgate::ingest::register_path(app, &path, &opts)
        .await
        .unwrap();
    assert_eq!(again.status, "duplicate", "{again:?}");
}

#[tokio::test]
async fn reply_is_registered_queued_sent_and_delivered_sqlite() {
    let _g = SMTP_LOCK.lock().await;
    require_smtp();
    let dir = tempfile::tempdir().unwrap();
    let app = sqlite_app(dir.path(), |_| {}).await;
    check_reply_sent_and_delivered(&app).await;
}

#[tokio::test]
async fn reply_is_registered_queued_sent_and_delivered_postgres() {
    let _g = SMTP_LOCK.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let Some(app) = pg_app(dir.path(), |_| {}).await else {
        return;
    };
    require_smtp();
    check_reply_sent_and_delivered(&app).await;
}

#[tokio::test]
async fn reply_errors_name_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let app = sqlite_app(dir.path(), |_| {}).await;
    let err = docgate::outbox::reply::reply(&app, "9-13/404", "x".into(), vec![], None, "t")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("9-13/404"), "{err}");
    let mut n = NewDocument::new(Direction::Incoming, Channel::Post, "paberkiri");
    n.doc_type = Some("avts-teabenoue".into());
    let d = app.register.register(n, "t").await.unwrap();
    let err = docgate::outbox::reply::reply(&app, &d.reg_no, "x".into(), vec![], None, "t")
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("to"), "{err}");
    assert!(err.to_string().contains("give the recipient"), "{err}");
    let err = docgate::outbox::reply::reply(
        &app,
        &d.reg_no,
        "x".into(),
        vec![],
        Some("nobody".into()),
        "t",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("invalid to: \"nobody\""), "{err}");
    // Nothing was registered by the failed attempts.
    assert_eq!(app.register.count(&Default::default()).await.unwrap(), 1);
}

const SMTPD_PIDFILE: &str = "/run/docgate-smtpd.pid";
const SMTPD_CONF: &str = "/etc/smtpd-docgate.conf";

fn start_smtpd() {
    let st = Command::new("/usr/sbin/smtpd")
        .args(["-f", SMTPD_CONF])
        .status()
        .expect("start smtpd");
    assert!(st.success(), "smtpd did not start");
    for _ in 0..100 {
        if smtp_up() {
            let out = Command::new("pgrep")
                .args(["-o", "-f", &format!("^/usr/sbin/smtpd -f {SMTPD_CONF}")])
                .output()
                .expect("pgrep");
            std::fs::write(SMTPD_PIDFILE, &out.stdout).expect("write the smtpd pid file");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("smtpd did not come back");
}

/// Stops the test MTA (the pid .ci/setup/smtp.sh recorded); restarts it when
/// dropped, also when the test fails.
struct SmtpOutage;

impl SmtpOutage {
    fn begin() -> SmtpOutage {
        let pid: i32 = std::fs::read_to_string(SMTPD_PIDFILE)
            .expect("the smtpd pid file of .ci/setup/smtp.sh")
            .trim()
            .parse()
            .expect("a pid");
        // SAFETY: kill(2) with a pid we started (recorded by the setup script).
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "cannot stop smtpd {pid} (the test needs root)");
        for _ in 0..100 {
            if !smtp_up() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!smtp_up(), "smtpd still answering");
        // Let the old master finish exiting before a new one starts.
        for _ in 0..50 {
            // SAFETY: signal 0 only checks that the process exists.
            if unsafe { libc::kill(pid, 0) } != 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        SmtpOutage
    }
    fn end(&self) {
        if !smtp_up() {
            start_smtpd();
        }
    }
}

impl Drop for SmtpOutage {
    fn drop(&mut self) {
        if !smtp_up() {
            start_smtpd();
        }
    }
}

#[tokio::test]
async fn server_down_then_up_the_message_arrives_exactly_once() {
    let _g = SMTP_LOCK.lock().await;
    require_smtp();
    let dir = tempfile::tempdir().unwrap();
    let app = sqlite_app(dir.path(), |_| {}).await;
    let mut n = incoming("katkestus", "avts-teabenoue", app.register.today(), "mari");
    n.registered_at = None;
    let d = app.register.register(n, "t").await.unwrap();

    let outage = SmtpOutage::begin();
    let out = docgate::outbox::reply::reply(&app, &d.reg_no, "Vastus".into(), vec![], None, "t")
        .await
        .unwrap();
    let (s, r, f) = docgate::outbox::smtp::send_due(&app, "w1").await.unwrap();
    assert_eq!((s, r, f), (0, 1, 0), "server down: delayed, not failed");
    let item = docgate::outbox::get(&app.store, out.outbox_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state, "queued");
    assert_eq!(item.attempts, 1);
    assert!(
        item.last_error.as_deref().unwrap_or("").contains("smtp"),
        "{item:?}"
    );
    // Not claimable before its back-off has passed.
    let (s, r, _) = docgate::outbox::smtp::send_due(&app, "w1").await.unwrap();
    assert_eq!(s + r, 0);
    outage.end();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, _, _) = docgate::outbox::smtp::send_due(&app, "w1").await.unwrap();
    assert_eq!(s, 1);
    let (s, r, _) = docgate::outbox::smtp::send_due(&app, "w1").await.unwrap();
    assert_eq!(s + r, 0, "nothing left to send");
    let got = wait_delivered(&out.message_id, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(delivered(&out.message_id).len(), 1, "arrived exactly once");
    drop(outage);
}

#[tokio::test]
async fn two_workers_on_postgres_send_each_message_once() {
    let _g = SMTP_LOCK.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let Some(app) = pg_app(dir.path(), |c| c.outbox.smtp.batch = 3).await else {
        return;
    };
    require_smtp();
    let mut mids = Vec::new();
    for i in 0..8 {
        let mut n = incoming(
            &format!("kiri {i}"),
            "avts-teabenoue",
            app.register.today(),
            "mari",
        );
        n.registered_at = None;
        let d = app.register.register(n, "t").await.unwrap();
        let out =
            docgate::outbox::reply::reply(&app, &d.reg_no, "Vastus".into(), vec![], None, "t")
                .await
                .unwrap();
        mids.push(out.message_id);
    }
    let a = app.clone();
    let b = app.clone();
    let w = |app: App, name: &'static str| async move {
        let mut s = 0;
        for _ in 0..10 {
            s += docgate::outbox::smtp::send_due(&app, name).await.unwrap().0;
        }
        s
    };
    let (sa, sb) = tokio::join!(w(a, "wa"), w(b, "wb"));
    assert_eq!(sa + sb, 8, "{sa} + {sb}");
    for mid in &mids {
        assert_eq!(wait_delivered(mid, 1).await.len(), 1, "{mid}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for mid in &mids {
        assert_eq!(delivered(mid).len(), 1, "{mid} exactly once");
    }
}

// --------------------------------------------------------------- scheduler

/// The scheduler's settings of these tests: reminders 10 working days ahead to
/// the official `mari`, the lead's digest from 9 o'clock.
fn scheduled(c: &mut Config, lead: &str, official: &str) {
    c.deadlines.reminder_working_days = 10;
    c.deadlines.digest_to = lead.to_string();
    c.deadlines.digest_hour = 9;
    c.deadlines
        .officials
        .insert("mari".into(), official.to_string());
}

/// A working-day moment after the digest hour (noon in Tallinn), on or after
/// `today`: the day and the moment.
fn working_noon(app: &App, eng: &Engine, today: Date) -> (Date, jiff::Timestamp) {
    let mut day = eng.calendar.working_day_on_or_after(today);
    if day < today {
        day = today;
    }
    let now = day
        .at(12, 0, 0, 0)
        .to_zoned(app.config.timezone())
        .unwrap()
        .timestamp();
    (day, now)
}

#[tokio::test]
async fn reminder_digest_and_restriction_lifting() {
    let _g = SMTP_LOCK.lock().await;
    require_smtp();
    let dir = tempfile::tempdir().unwrap();
    let lead = format!("juht-{}@example.ee", uuid::Uuid::new_v4().simple());
    let official = format!("mari-{}@example.ee", uuid::Uuid::new_v4().simple());
    let app = sqlite_app(dir.path(), |c| scheduled(c, &lead, &official)).await;
    let eng = Engine::from_app(&app).unwrap();
    let today = app.register.today();
    let mut n = incoming("meeldetuletus", "avts-teabenoue", today, "mari");
    n.registered_at = None;
    let d = app.register.register(n, "t").await.unwrap();
    // A restriction that ended in the past (registered as history).
    let mut old = incoming("vana AK", "avts-teabenoue", date(2025, 1, 10), "jaan");
    old.restriction = Some(NewRestriction {
        end_by: Default::default(),
        ground: "AvTS § 35 lg 1 p 12".into(),
        ends: date(2025, 2, 1),
        holder: None,
        begins: None,
    });
    let old = app.register.register(old, "t").await.unwrap();

    let (day, now) = working_noon(&app, &eng, today);
    let r1 = docgate::reminder::round(&app, &eng, now).await.unwrap();
    assert_eq!(r1.reminders, 1, "{r1:?}");
    assert_eq!(r1.digests, 1, "{r1:?}");
    assert_eq!(r1.lifted, 1, "{r1:?}");
    // A restart (a second round) repeats nothing.
    let r2 = docgate::reminder::round(&app, &eng, now).await.unwrap();
    assert_eq!((r2.reminders, r2.digests, r2.lifted), (0, 0, 0), "{r2:?}");
    // Before the digest hour, and on a Saturday, no digest.
    let sat = {
        let mut s = day;
        while s.weekday() != jiff::civil::Weekday::Saturday {
            s = s.tomorrow().unwrap();
        }
        s
    };
    let sat_now = sat
        .at(12, 0, 0, 0)
        .to_zoned(app.config.timezone())
        .unwrap()
        .timestamp();
    assert_eq!(
        docgate::reminder::round(&app, &eng, sat_now)
            .await
            .unwrap()
            .digests,
        0
    );

    let lifted = app.register.get(old.id).await.unwrap();
    assert!(lifted.restriction.is_none());
    assert!(app
        .register
        .events(old.id)
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == "restriction_lifted"));

    send_until_idle(&app).await;
    let rem = wait_delivered(&format!("Delivered-To: {official}"), 1).await;
    assert_eq!(rem.len(), 1, "reminder delivered once");
    assert!(rem[0].contains(&d.reg_no), "{}", rem[0]);
    let dig = wait_delivered(&format!("Delivered-To: {lead}"), 1).await;
    assert_eq!(dig.len(), 1, "digest delivered once");
    assert!(
        dig[0].contains("jaan") && dig[0].contains(&old.reg_no),
        "{}",
        dig[0]
    );
}

/// Scale-out (issue 19 point 11): two schedulers, each with its own pool (as
/// two `serve` processes have), run their rounds at the same moment on one
/// PostgreSQL database; the reminder and the digest are queued once between
/// them and arrive once.
#[tokio::test]
async fn two_schedulers_on_one_postgres_queue_each_reminder_and_digest_once() {
    let _g = SMTP_LOCK.lock().await;
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let lead = format!("juht-{}@example.ee", uuid::Uuid::new_v4().simple());
    let official = format!("mari-{}@example.ee", uuid::Uuid::new_v4().simple());
    let tweak = |c: &mut Config| scheduled(c, &lead, &official);
    let Some(a) = pg_app(dir_a.path(), tweak).await else {
        return;
    };
    require_smtp();
    let mut cfg_b = base_config(dir_b.path());
    cfg_b.database_url = a.config.database_url.clone();
    tweak(&mut cfg_b);
    let b = App::open(cfg_b).await.expect("open the second app");
    let eng_a = Engine::from_app(&a).unwrap();
    let eng_b = Engine::from_app(&b).unwrap();
    let today = a.register.today();
    let mut n = incoming("meeldetuletus kahele", "avts-teabenoue", today, "mari");
    n.registered_at = None;
    let d = a.register.register(n, "t").await.unwrap();
    let (_, now) = working_noon(&a, &eng_a, today);
    let rounds = |app: App, eng: std::sync::Arc<Engine>| async move {
        let (mut reminders, mut digests) = (0, 0);
        for _ in 0..5 {
            let r = docgate::reminder::round(&app, &eng, now).await.unwrap();
            reminders += r.reminders;
            digests += r.digests;
        }
        (reminders, digests)
    };
    let (ra, rb) = tokio::join!(rounds(a.clone(), eng_a), rounds(b.clone(), eng_b));
    assert_eq!(ra.0 + rb.0, 1, "one reminder between them: {ra:?} {rb:?}");
    assert_eq!(ra.1 + rb.1, 1, "one digest between them: {ra:?} {rb:?}");

    send_until_idle(&a).await;
    send_until_idle(&b).await;
    let rem = wait_delivered(&format!("Delivered-To: {official}"), 1).await;
    wait_delivered(&format!("Delivered-To: {lead}"), 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        delivered(&format!("Delivered-To: {official}")).len(),
        1,
        "reminder delivered once"
    );
    assert_eq!(
        delivered(&format!("Delivered-To: {lead}")).len(),
        1,
        "digest delivered once"
    );
    assert!(rem[0].contains(&d.reg_no), "{}", rem[0]);
}

#[test]
fn shipped_rules_and_config_parse() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/docgate.toml"))
        .unwrap();
    let cfg = Config::from_toml(&text).unwrap();
    assert_eq!(cfg.deadlines, docgate::deadline::DeadlineConfig::default());
    assert_eq!(cfg.outbox, docgate::outbox::OutboxConfig::default());
    // The eleven rules of deadline-rules.csv and docgate's own invoice payment term.
    let rules = cfg.deadlines.rules().unwrap();
    assert_eq!(rules.all().len(), 12);
    assert!(rules.get("arve-maksetahtaeg").is_some());
}

/// Search filters by deadline state (resolved from the deadline projection inside
/// the search, on both backends); the public register refuses the filter.
#[tokio::test]
async fn search_filters_by_deadline_state() {
    use docgate::search::query::{Caller, DeadlineFilter, SearchRequest};
    let dir = tempfile::tempdir().unwrap();
    let mut apps = vec![sqlite_app(dir.path(), |_| {}).await];
    let pg_dir = tempfile::tempdir().unwrap();
    if let Some(app) = pg_app(pg_dir.path(), |_| {}).await {
        apps.push(app);
    }
    for app in apps {
        let r = &app.register;
        let overdue = r
            .register(
                incoming(
                    "Taotlus kaebuse kohta",
                    "avts-teabenoue",
                    date(2026, 1, 5),
                    "mari",
                ),
                "t",
            )
            .await
            .unwrap();
        let answered = r
            .register(
                incoming(
                    "Taotlus andmete kohta",
                    "avts-teabenoue",
                    date(2026, 1, 5),
                    "mari",
                ),
                "t",
            )
            .await
            .unwrap();
        r.register(outgoing_reply(&answered.reg_no, date(2026, 1, 7)), "t")
            .await
            .unwrap();
        let no_deadline = r
            .register(
                NewDocument::new(Direction::Internal, Channel::Hand, "Taotlus sisemine"),
                "t",
            )
            .await
            .unwrap();
        let find = |d: Option<DeadlineFilter>| {
            let app = app.clone();
            async move {
                let req = SearchRequest {
                    query: "taotlus".into(),
                    deadline: d,
                    ..Default::default()
                };
                let mut got: Vec<String> = docgate::search::search(&app, &req, &Caller::All)
                    .await
                    .unwrap()
                    .hits
                    .into_iter()
                    .map(|h| h.reg_no)
                    .collect();
                got.sort();
                got
            }
        };
        let mut all = vec![
            overdue.reg_no.clone(),
            answered.reg_no.clone(),
            no_deadline.reg_no.clone(),
        ];
        all.sort();
        assert_eq!(find(None).await, all);
        assert_eq!(
            find(Some(DeadlineFilter::Overdue)).await,
            vec![overdue.reg_no.clone()]
        );
        assert_eq!(
            find(Some(DeadlineFilter::Open)).await,
            vec![overdue.reg_no.clone()]
        );
        assert_eq!(
            find(Some(DeadlineFilter::Answered)).await,
            vec![answered.reg_no.clone()]
        );
        assert!(find(Some(DeadlineFilter::DueSoon)).await.is_empty());
        let public = docgate::search::search(
            &app,
            &SearchRequest {
                query: "taotlus".into(),
                deadline: Some(DeadlineFilter::Overdue),
                ..Default::default()
            },
            &Caller::Public,
        )
        .await
        .unwrap_err();
        assert!(public.to_string().contains("deadline"), "{public}");
    }
}

// ------------------------------- issue 16 B: base dates and reply kinds, stored

fn reply_of(parent: &str, kind: Option<ReplyKind>, registered: Date) -> NewDocument {
    let mut n = outgoing_reply(parent, registered);
    n.reply_kind = kind;
    n
}

async fn check_complete_event_and_reply_kinds(app: &App) {
    let eng = Engine::from_app(app).unwrap();
    let r = &app.register;
    let mut a = incoming("hüvitise taotlus", "oas-huvitis", date(2025, 3, 4), "mari");
    a.received = Some(date(2025, 3, 3));
    let a = r.register(a, "t").await.unwrap();
    let due = |x: &state::DocDeadline| x.deadline.as_ref().map(|o| (o.state, o.due));
    // Counted from arrival until the application is marked complete.
    let x = state::explain_reg_no(app, &eng, &a.reg_no).await.unwrap();
    assert_eq!(due(&x), Some((ClockState::Open, Some(date(2025, 4, 2)))));
    // The receipt note ("Otsuse teeme 30 päeva jooksul") is an interim reply: nothing changes.
    r.register(
        reply_of(&a.reg_no, Some(ReplyKind::Interim), date(2025, 3, 5)),
        "t",
    )
    .await
    .unwrap();
    // So does an outgoing letter whose kind was not given.
    r.register(reply_of(&a.reg_no, None, date(2025, 3, 6)), "t")
        .await
        .unwrap();
    state::sync(app, &eng).await.unwrap();
    let x = state::explain_reg_no(app, &eng, &a.reg_no).await.unwrap();
    assert_eq!(
        due(&x),
        Some((ClockState::Open, Some(date(2025, 4, 2)))),
        "{x:#?}"
    );
    // The stored `complete` event restarts the term.
    let x = state::record(
        app,
        &eng,
        &a.reg_no,
        DeadlineEvent::Completed {
            on: date(2025, 3, 10),
        },
        "t",
    )
    .await
    .unwrap();
    assert_eq!(
        due(&x),
        Some((ClockState::Open, Some(date(2025, 4, 9)))),
        "{x:#?}"
    );
    let (_, _, evs) = state::load_one(app, &a.reg_no).await.unwrap();
    assert!(
        evs.iter().any(|e| e.kind == state::KIND_COMPLETED),
        "{evs:?}"
    );
    // We ask for missing documents: the clock stops.
    let cl = r
        .register(
            reply_of(&a.reg_no, Some(ReplyKind::Clarification), date(2025, 3, 12)),
            "t",
        )
        .await
        .unwrap();
    state::sync(app, &eng).await.unwrap();
    let x = state::explain_reg_no(app, &eng, &a.reg_no).await.unwrap();
    assert_eq!(due(&x), Some((ClockState::Stopped, None)), "{x:#?}");
    // The answer (registered as the reply to our clarification) restarts it:
    // 20 March + 30 days = Saturday 19 April 2025 -> Monday 21 April.
    let mut ans = NewDocument::new(Direction::Incoming, Channel::Email, "Lisadokumendid");
    ans.reply_to = Some(cl.reg_no.clone());
    ans.registered_at = Some(at(date(2025, 3, 20)));
    r.register(ans, "t").await.unwrap();
    state::sync(app, &eng).await.unwrap();
    let x = state::explain_reg_no(app, &eng, &a.reg_no).await.unwrap();
    assert_eq!(
        due(&x),
        Some((ClockState::Open, Some(date(2025, 4, 21)))),
        "{x:#?}"
    );
    // The projection agrees with the live explanation.
    let (st, d): (String, Option<String>) =
        sqlx::query_as("SELECT state, due FROM deadlines WHERE reg_no = $1")
            .bind(&a.reg_no)
            .fetch_one(&docgate::testing::raw_pool(app).await)
            .await
            .unwrap();
    assert_eq!((st.as_str(), d.as_deref()), ("open", Some("2025-04-21")));
    // Only the decision (a final reply) ends it.
    r.register(
        reply_of(&a.reg_no, Some(ReplyKind::Final), date(2025, 4, 1)),
        "t",
    )
    .await
    .unwrap();
    state::sync(app, &eng).await.unwrap();
    let x = state::explain_reg_no(app, &eng, &a.reg_no).await.unwrap();
    let o = x.deadline.unwrap();
    assert_eq!(
        (o.state, o.on_time),
        (ClockState::Ended, Some(true)),
        "{:#?}",
        o.trace
    );
    // A refusal and a forwarding close too; the reply kind is stored and read back.
    for k in [ReplyKind::Refusal, ReplyKind::Forwarding] {
        let q = r
            .register(
                incoming("teabenõue", "avts-teabenoue", date(2025, 3, 3), "mari"),
                "t",
            )
            .await
            .unwrap();
        let rep = r
            .register(reply_of(&q.reg_no, Some(k), date(2025, 3, 4)), "t")
            .await
            .unwrap();
        assert_eq!(
            r.get_by_reg_no(&rep.reg_no).await.unwrap().reply_kind,
            Some(k)
        );
        state::sync(app, &eng).await.unwrap();
        let x = state::explain_reg_no(app, &eng, &q.reg_no).await.unwrap();
        assert_eq!(x.deadline.unwrap().state, ClockState::Ended, "{k:?}");
    }
    // A reply kind on an incoming document is refused, naming the field.
    let mut bad = incoming("x", "avts-teabenoue", date(2025, 3, 3), "mari");
    bad.reply_to = Some(a.reg_no.clone());
    bad.reply_kind = Some(ReplyKind::Final);
    let err = r.register(bad, "t").await.unwrap_err();
    assert_eq!(err.field(), Some("reply_kind"), "{err}");
    // The chain still verifies with the new fields.
    let v = docgate::audit::verify(&app.register).await.unwrap();
    assert!(v.ok, "{v:?}");
}

#[tokio::test]
async fn complete_event_and_reply_kinds_are_stored_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let app = sqlite_app(dir.path(), |_| {}).await;
    check_complete_event_and_reply_kinds(&app).await;
}

#[tokio::test]
async fn complete_event_and_reply_kinds_are_stored_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let Some(app) = pg_app(dir.path(), |_| {}).await else {
        eprintln!("DOCGATE_TEST_POSTGRES_URL not set: PostgreSQL part not run");
        return;
    };
    check_complete_event_and_reply_kinds(&app).await;
}

#[test]
fn cli_reply_kind_and_complete_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let docgate = |args: &[&str]| {
        bin()
            .env("DOCGATE_DATA_DIR", data)
            .args(args)
            .output()
            .expect("run docgate")
    };
    let ok = |args: &[&str]| {
        let out = docgate(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let f = dir.path().join("taotlus.txt");
    std::fs::write(&f, "Taotlen hüvitist.").unwrap();
    let f = f.to_str().unwrap();
    let a = ok(&[
        "register",
        f,
        "--direction",
        "incoming",
        "--type",
        "oas-huvitis",
        "--title",
        "Taotlus",
        "--received",
        "2025-03-03",
        "--registered",
        "2025-03-04",
        "--public",
        "test",
        "--json",
    ]);
    let reg = a[0]["reg_no"].as_str().unwrap().to_string();
    let x = ok(&[
        "deadline-event",
        &reg,
        "complete",
        "--on",
        "2025-03-10",
        "--json",
    ]);
    assert_eq!(x["deadline"]["due"], "2025-04-09", "{x}");
    assert!(
        x["deadline"]["trace"]
            .to_string()
            .contains("taotlus täielik"),
        "{x}"
    );
    // A receipt note registered as interim leaves the clock open.
    let r = ok(&[
        "register",
        f,
        "--direction",
        "outgoing",
        "--title",
        "Teade",
        "--reply-to",
        &reg,
        "--reply-kind",
        "interim",
        "--registered",
        "2025-03-11",
        "--public",
        "test",
        "--json",
    ]);
    assert!(r[0]["reg_no"].as_str().unwrap().starts_with(&reg));
    let d = ok(&["due", &reg, "--json"]);
    assert_eq!(d["deadline"]["state"], "open", "{d}");
    // A bad kind is refused, naming the flag's values.
    let out = docgate(&[
        "register",
        f,
        "--direction",
        "outgoing",
        "--title",
        "x",
        "--reply-to",
        &reg,
        "--reply-kind",
        "ack",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vastuse liik"));
}
