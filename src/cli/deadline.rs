//! Deadline commands: holidays, deadline, due, overdue, report, reply, deadline-event.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::app::App;
use crate::config::Config;
use crate::deadline::state::{self, Engine};
use crate::deadline::{self, DeadlineEvent, EndKind};
use crate::error::Error;
use crate::model::parse_date;

use super::{print_json, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum DeadlineCommand {
    /// Estonian public holidays (and configured extra days off) of a year.
    Holidays(HolidaysArgs),
    /// Compute a due date from a rule and a base date, with its explanation.
    Deadline(DeadlineArgs),
    /// Explain one document's deadline.
    Due(DueArgs),
    /// What is overdue and due soon, per responsible official.
    Overdue(OverdueArgs),
    /// Statistics per series, document type and month.
    Report(ReportArgs),
    /// Register an outgoing reply by e-mail and queue it in the outbox.
    Reply(ReplyArgs),
    /// Record a deadline event: extend, stop, resume, reclassify, end, complete.
    DeadlineEvent(EventArgs),
}

#[derive(Debug, Args)]
pub struct HolidaysArgs {
    pub year: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeadlineArgs {
    /// Rule id from config/deadlines.toml.
    #[arg(long)]
    pub rule: String,
    /// Base date (registration date), YYYY-MM-DD.
    #[arg(long)]
    pub base: String,
    /// Apply the rule's extension (the new total term).
    #[arg(long)]
    pub extended: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DueArgs {
    pub reg_no: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OverdueArgs {
    /// Day to look from (default: today, Europe/Tallinn).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    #[arg(long, value_name = "WHO")]
    pub responsible: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, value_name = "DATE")]
    pub from: String,
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// csv or json.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Invoice spend per provider, service and month against the referrals,
    /// instead of the deadline statistics (the JSON report carries both).
    #[arg(long)]
    pub spend: bool,
    /// Day "open and overdue" is counted on (default: today).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReplyArgs {
    pub reg_no: String,
    /// File with the reply text.
    #[arg(long, value_name = "FILE")]
    pub body: PathBuf,
    #[arg(long = "attach", value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    /// Recipient (default: the document's party).
    #[arg(long, value_name = "ADDRESS")]
    pub to: Option<String>,
    /// final, interim, forwarding, clarification or refusal. Only final,
    /// forwarding and refusal end the deadline; without it nothing ends.
    #[arg(long, value_name = "KIND")]
    pub reply_kind: Option<crate::model::ReplyKind>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EventArgs {
    pub reg_no: String,
    /// extend, stop, resume, reclassify, end or complete (the application is
    /// complete with its documents: a rule with base "complete" counts from --on).
    pub kind: String,
    /// Day it happened (default: today).
    #[arg(long, value_name = "DATE")]
    pub on: Option<String>,
    #[arg(long)]
    pub reason: Option<String>,
    /// extend: the outgoing notice that told the requester (registration number).
    #[arg(long, value_name = "REG_NO")]
    pub notice: Option<String>,
    /// reclassify: the new rule.
    #[arg(long = "to", value_name = "RULE")]
    pub to_rule: Option<String>,
    /// end: reply, forwarding or refusal.
    #[arg(long, default_value = "reply")]
    pub how: String,
    /// end: the document that ended the clock.
    #[arg(long = "by", value_name = "REG_NO")]
    pub by: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cmd: DeadlineCommand, cfg: Config) -> anyhow::Result<i32> {
    match cmd {
        DeadlineCommand::Holidays(a) => holidays(cfg, a),
        DeadlineCommand::Deadline(a) => deadline_cmd(cfg, a),
        DeadlineCommand::Due(a) => due(cfg, a).await,
        DeadlineCommand::Overdue(a) => overdue(cfg, a).await,
        DeadlineCommand::Report(a) => report(cfg, a).await,
        DeadlineCommand::Reply(a) => reply(cfg, a).await,
        DeadlineCommand::DeadlineEvent(a) => event(cfg, a).await,
    }
}

async fn open(cfg: Config) -> anyhow::Result<(App, std::sync::Arc<Engine>)> {
    let app = App::open(cfg).await.context("cannot open the register")?;
    let eng = Engine::from_app(&app)?;
    state::sync(&app, &eng).await?;
    Ok((app, eng))
}

#[derive(Serialize)]
struct HolidayOut {
    date: String,
    name: String,
}

fn holidays(cfg: Config, a: HolidaysArgs) -> anyhow::Result<i32> {
    let year: i32 = a.year.trim().parse().map_err(|_| {
        Error::invalid(format!(
            "invalid year {:?}: expected a year such as 2025",
            a.year
        ))
    })?;
    let cal = cfg.deadlines.calendar()?;
    let hs = cal.holidays(year)?;
    if a.json {
        let out: Vec<HolidayOut> = hs
            .iter()
            .map(|h| HolidayOut {
                date: h.date.to_string(),
                name: h.name.clone(),
            })
            .collect();
        print_json(&out)?;
    } else {
        for h in hs {
            let wd = format!("{:?}", h.date.weekday());
            println!("{}  {:<9}  {}", h.date, wd, h.name);
        }
    }
    Ok(EXIT_OK)
}

#[derive(Serialize)]
struct DeadlineOut {
    rule: String,
    base: String,
    due: Option<String>,
    trace: Vec<deadline::Step>,
}

fn print_trace(trace: &[deadline::Step]) {
    for s in trace {
        match s.date {
            Some(d) => println!("  {d}  {}", s.step),
            None => println!("              {}", s.step),
        }
        if !s.basis.is_empty() {
            println!("              [{}]", s.basis);
        }
    }
}

fn deadline_cmd(cfg: Config, a: DeadlineArgs) -> anyhow::Result<i32> {
    let cal = cfg.deadlines.calendar()?;
    let rules = cfg.deadlines.rules()?;
    let base = crate::calendar::check_covered("base", parse_date("base", &a.base)?)?;
    let rule = rules.require(&a.rule).map_err(|_| {
        let known: Vec<&str> = rules.all().iter().map(|r| r.id.as_str()).collect();
        Error::invalid(format!(
            "unknown --rule {:?}: expected one of {}",
            a.rule,
            known.join(", ")
        ))
    })?;
    let (due, trace) = if rule.id == "registration" {
        let (due, _, trace) = deadline::registration_due(&cal, &rules, base, base)?;
        (Some(due), trace[..trace.len() - 1].to_vec())
    } else {
        let mut evs = Vec::new();
        if a.extended {
            if rule.extension().is_none() {
                return Err(Error::invalid(format!(
                    "invalid --extended: rule {} has no extension",
                    rule.id
                ))
                .into());
            }
            evs.push(DeadlineEvent::Extended {
                on: base,
                reason: "--extended".into(),
                notice: None,
            });
        }
        let o = deadline::compute(&cal, &rules, &rule.id, base, &evs)?;
        (o.due, o.trace)
    };
    let out = DeadlineOut {
        rule: rule.id.clone(),
        base: base.to_string(),
        due: due.map(|d| d.to_string()),
        trace,
    };
    if a.json {
        print_json(&out)?;
    } else {
        println!(
            "{} from {}: due {}",
            out.rule,
            out.base,
            out.due.as_deref().unwrap_or("-")
        );
        print_trace(&out.trace);
    }
    Ok(EXIT_OK)
}

/// The registration-lateness line of `due` and `show`.
pub fn registration_line(x: &state::DocDeadline) -> String {
    x.registration_line()
}

async fn due(cfg: Config, a: DueArgs) -> anyhow::Result<i32> {
    let (app, eng) = open(cfg).await?;
    let x = state::explain_reg_no(&app, &eng, &a.reg_no).await?;
    let doc = app.register.get_by_reg_no(&a.reg_no).await?;
    let outbox = crate::outbox::for_document(&app.store, doc.id).await?;
    if a.json {
        let mut v = serde_json::to_value(&x)?;
        if let Some(o) = &x.deadline {
            v["rule"] = serde_json::json!(o.rule);
            v["base"] = serde_json::json!(o.base);
            v["due"] = serde_json::json!(o.due);
            v["state"] = serde_json::json!(o.state);
            v["trace"] = serde_json::json!(o.trace);
        }
        v["outbox"] = serde_json::to_value(
            outbox
                .iter()
                .map(|o| serde_json::json!({"id": o.id, "to": o.recipient, "state": o.state, "attempts": o.attempts, "last_error": o.last_error, "result": o.result, "sent_at": o.sent_at}))
                .collect::<Vec<_>>(),
        )?;
        print_json(&v)?;
    } else {
        println!("{}  {}", x.reg_no, x.title);
        println!("{}", registration_line(&x));
        match &x.deadline {
            None => println!("no reply deadline"),
            Some(o) => {
                println!(
                    "rule {} from {}: {} {}",
                    o.rule,
                    o.base,
                    o.state.as_str(),
                    o.due.map(|d| format!("due {d}")).unwrap_or_default()
                );
                print_trace(&o.trace);
            }
        }
        for o in outbox {
            println!(
                "e-mail to {}: {} (attempts {}){}",
                o.recipient,
                o.state,
                o.attempts,
                o.last_error
                    .map(|e| format!(", last error: {e}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(EXIT_OK)
}

async fn overdue(cfg: Config, a: OverdueArgs) -> anyhow::Result<i32> {
    let as_of = a
        .as_of
        .as_deref()
        .map(|s| parse_date("as_of", s))
        .transpose()?;
    let (app, eng) = open(cfg).await?;
    let as_of = as_of.unwrap_or_else(|| app.register.today());
    let (over, soon) = state::overdue(&app, &eng, as_of, a.responsible.as_deref()).await?;
    if a.json {
        print_json(&serde_json::json!({"as_of": as_of, "overdue": over, "due_soon": soon}))?;
    } else {
        for (head, lines) in [("overdue", &over), ("due soon", &soon)] {
            println!("{head} as of {as_of}: {}", lines.len());
            let mut last: Option<&Option<String>> = None;
            for l in lines.iter() {
                if last != Some(&l.responsible) {
                    println!("  {}", l.responsible.as_deref().unwrap_or("(unassigned)"));
                    last = Some(&l.responsible);
                }
                println!(
                    "    {}  {:<16} {}{}",
                    l.due,
                    l.reg_no,
                    l.title,
                    if l.working_days_overdue > 0 {
                        format!("  (+{} working days)", l.working_days_overdue)
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
    Ok(EXIT_OK)
}

async fn report(cfg: Config, a: ReportArgs) -> anyhow::Result<i32> {
    let from = parse_date("from", &a.from)?;
    let to = parse_date("to", &a.to)?;
    if to < from {
        return Err(
            Error::invalid(format!("invalid --to {to}: it is before --from {from}")).into(),
        );
    }
    let as_of = a
        .as_of
        .as_deref()
        .map(|s| parse_date("as_of", s))
        .transpose()?;
    if !matches!(a.format.as_str(), "csv" | "json") {
        return Err(Error::invalid(format!(
            "invalid --format {:?}: expected csv or json",
            a.format
        ))
        .into());
    }
    let (app, _eng) = open(cfg).await?;
    let as_of = as_of.unwrap_or_else(|| app.register.today());
    let r = crate::report::build(&app, from, to, as_of).await?;
    match (a.format.as_str(), a.spend) {
        ("json", false) => print_json(&r)?,
        ("json", true) => print_json(&r.spend)?,
        (_, true) => print!("{}", crate::report::spend_csv(&r.spend)),
        _ => print!("{}", crate::report::to_csv(&r)),
    }
    Ok(EXIT_OK)
}

async fn reply(cfg: Config, a: ReplyArgs) -> anyhow::Result<i32> {
    let body = std::fs::read_to_string(&a.body)
        .map_err(|e| Error::invalid(format!("cannot read --body {}: {e}", a.body.display())))?;
    let mut files = Vec::new();
    for p in &a.attach {
        let bytes = std::fs::read(p)
            .map_err(|e| Error::invalid(format!("cannot read --attach {}: {e}", p.display())))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        files.push(crate::outbox::reply::ReplyFile {
            media_type: crate::mime::media_type_of(&name, &bytes).into_owned(),
            name,
            bytes,
        });
    }
    let (app, eng) = open(cfg).await?;
    let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let out =
        crate::outbox::reply::reply_as(&app, &a.reg_no, a.reply_kind, body, files, a.to, &actor)
            .await?;
    state::sync(&app, &eng).await?;
    if a.json {
        print_json(&out)?;
    } else {
        println!(
            "registered {} (reply to {}), e-mail to {} queued (outbox {})",
            out.reg_no, out.reply_to, out.to, out.outbox_id
        );
    }
    Ok(EXIT_OK)
}

async fn event(cfg: Config, a: EventArgs) -> anyhow::Result<i32> {
    let on = a.on.as_deref().map(|s| parse_date("on", s)).transpose()?;
    let (app, eng) = open(cfg).await?;
    let on = on.unwrap_or_else(|| app.register.today());
    let reason = a.reason.clone().unwrap_or_default();
    let ev = match a.kind.as_str() {
        "extend" => DeadlineEvent::Extended {
            on,
            reason,
            notice: a.notice.clone(),
        },
        "stop" => DeadlineEvent::ClockStopped { on, reason },
        "resume" => DeadlineEvent::ClockResumed { on },
        "complete" => DeadlineEvent::Completed { on },
        "reclassify" => DeadlineEvent::Reclassified {
            on,
            to_rule: a
                .to_rule
                .clone()
                .ok_or_else(|| Error::invalid("missing --to RULE for reclassify"))?,
            reason,
        },
        "end" => DeadlineEvent::Ended {
            on,
            how: a.how.parse::<EndKind>()?,
            reg_no: a.by.clone(),
        },
        k => {
            return Err(Error::invalid(format!(
                "invalid event {k:?}: expected extend, stop, resume, reclassify, end or complete"
            ))
            .into())
        }
    };
    let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let x = state::record(&app, &eng, &a.reg_no, ev, &actor).await?;
    if a.json {
        print_json(&x)?;
    } else if let Some(o) = &x.deadline {
        println!(
            "{}: rule {} {} {}",
            x.reg_no,
            o.rule,
            o.state.as_str(),
            o.due.map(|d| format!("due {d}")).unwrap_or_default()
        );
        print_trace(&o.trace);
    }
    Ok(EXIT_OK)
}
