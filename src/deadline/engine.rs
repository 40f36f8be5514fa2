//! The pure deadline engine: (base date, rule, events) -> due date + trace.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::rules::{Rule, RuleSet, Unit};
use crate::calendar::Calendar;
use crate::error::{Error, Result};

/// How a clock was ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    /// A reply registered against the document.
    Reply,
    /// Forwarded to the competent body (AvTS § 21; MSVS § 5(3)).
    Forwarding,
    /// A refusal (AvTS § 23).
    Refusal,
}

impl EndKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndKind::Reply => "reply",
            EndKind::Forwarding => "forwarding",
            EndKind::Refusal => "refusal",
        }
    }
    fn basis(self) -> &'static str {
        match self {
            EndKind::Reply => "AvTS § 18(1); HMS § 35(4) (reply registered against the document)",
            EndKind::Forwarding => "AvTS § 21(1); MSVS § 5(3)",
            EndKind::Refusal => "AvTS § 23(3)",
        }
    }
}

impl std::str::FromStr for EndKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "reply" => Ok(EndKind::Reply),
            "forwarding" | "forward" => Ok(EndKind::Forwarding),
            "refusal" | "refuse" => Ok(EndKind::Refusal),
            _ => Err(Error::invalid(format!(
                "invalid end kind {s:?}: expected reply, forwarding or refusal"
            ))),
        }
    }
}

/// Something that happened to a document's deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeadlineEvent {
    /// The term was extended; the requester was told by the outgoing `notice`.
    Extended {
        on: Date,
        reason: String,
        #[serde(default)]
        notice: Option<String>,
    },
    /// The clock stopped (OAS § 48 deferral).
    ClockStopped { on: Date, reason: String },
    /// The clock runs again.
    ClockResumed { on: Date },
    /// The document now follows another rule; the base date is kept.
    Reclassified {
        on: Date,
        to_rule: String,
        #[serde(default)]
        reason: String,
    },
    /// A reply, forwarding or refusal ended the clock.
    Ended {
        on: Date,
        how: EndKind,
        #[serde(default)]
        reg_no: Option<String>,
    },
}

impl DeadlineEvent {
    pub fn on(&self) -> Date {
        match self {
            DeadlineEvent::Extended { on, .. }
            | DeadlineEvent::ClockStopped { on, .. }
            | DeadlineEvent::ClockResumed { on }
            | DeadlineEvent::Reclassified { on, .. }
            | DeadlineEvent::Ended { on, .. } => *on,
        }
    }
}

/// One step of the explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    pub basis: String,
}

/// Where the clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    Open,
    Stopped,
    Ended,
}

impl ClockState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockState::Open => "open",
            ClockState::Stopped => "stopped",
            ClockState::Ended => "ended",
        }
    }
}

/// The computed deadline of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub rule: String,
    pub base: Date,
    /// None while the clock is stopped.
    pub due: Option<Date>,
    pub state: ClockState,
    pub extended: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_on: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_time: Option<bool>,
    pub trace: Vec<Step>,
    /// Events that could not apply, with why (also in the trace).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

fn add_days(d: Date, n: i64) -> Result<Date> {
    d.checked_add(jiff::Span::new().days(n))
        .map_err(|_| out_of_range(d))
}

fn out_of_range(d: Date) -> Error {
    Error::invalid(format!(
        "invalid date {d}: tähtaeg jääks väljapoole kuupäevade vahemikku (the deadline would fall outside the dates docgate can count)"
    ))
}

/// Applies a term to a date, pushing the steps. Returns the due date.
pub fn apply_term(
    cal: &Calendar,
    from: Date,
    count: u32,
    unit: Unit,
    basis: &str,
    what: &str,
    trace: &mut Vec<Step>,
) -> Result<Date> {
    Ok(match unit {
        Unit::WorkingDays => {
            let due = cal.add_working_days(from, count);
            trace.push(Step {
                step: format!("{what}: the {count}th working day after {from}"),
                date: Some(due),
                basis: format!("{basis}; working days: TsÜS § 136(8)"),
            });
            due
        }
        Unit::CalendarDays => {
            let raw = add_days(from, i64::from(count))?;
            trace.push(Step {
                step: format!("{what}: {from} + {count} calendar days"),
                date: Some(raw),
                basis: basis.to_string(),
            });
            move_to_working_day(cal, raw, "HMS § 33(2)-(3); TsÜS § 136(8)", trace)
        }
        Unit::Months => {
            let raw = from
                .checked_add(jiff::Span::new().months(i64::from(count)))
                .map_err(|_| out_of_range(from))?;
            let clamped = raw.day() != from.day();
            trace.push(Step {
                step: if clamped {
                    format!("{what}: {from} + {count} months (no such day: the month's last day)")
                } else {
                    format!("{what}: {from} + {count} months, the same day of the month")
                },
                date: Some(raw),
                basis: format!("{basis}; TsÜS § 136"),
            });
            move_to_working_day(cal, raw, "(reading) TsÜS § 136; HMS § 33(3)", trace)
        }
    })
}

fn move_to_working_day(cal: &Calendar, raw: Date, basis: &str, trace: &mut Vec<Step>) -> Date {
    let due = cal.working_day_on_or_after(raw);
    if due != raw {
        let why = cal
            .holiday_name(raw)
            .unwrap_or_else(|| format!("{:?}", raw.weekday()).to_lowercase());
        trace.push(Step {
            step: format!("{raw} is not a working day ({why}): moved to the next working day"),
            date: Some(due),
            basis: basis.to_string(),
        });
    }
    due
}

/// The due date of rule `registration`: the next working day after `received`,
/// and whether `registered` was later than that.
pub fn registration_due(
    cal: &Calendar,
    rules: &RuleSet,
    received: Date,
    registered: Date,
) -> Result<(Date, bool, Vec<Step>)> {
    let rule = rules.get("registration");
    let (count, unit, basis) = rule.map(|r| (r.count, r.unit, r.basis.clone())).unwrap_or((
        1,
        Unit::WorkingDays,
        "AvTS § 12(1)".into(),
    ));
    let mut trace = vec![Step {
        step: format!("received or sent on {received}"),
        date: Some(received),
        basis: basis.clone(),
    }];
    let due = apply_term(
        cal,
        received,
        count,
        unit,
        &basis,
        "to be registered by",
        &mut trace,
    )?;
    let late = registered > due;
    trace.push(Step {
        step: if late {
            format!(
                "registered on {registered}: late by {} working days",
                cal.working_days_between(due, registered)
            )
        } else {
            format!("registered on {registered}: in time")
        },
        date: Some(registered),
        basis,
    });
    Ok((due, late, trace))
}

fn base_step(rule: &Rule, base: Date) -> Step {
    let what = if rule.base.is_empty() {
        "registration date"
    } else {
        rule.base.as_str()
    };
    Step {
        step: format!(
            "base date ({what}), Europe/Tallinn: {base}; rule {} ({})",
            rule.id, rule.name_en
        ),
        date: Some(base),
        basis: "HMS § 35(4); AvTS § 18(3); a term starts the day after (TsÜS § 136(1))".into(),
    }
}

fn initial_due(cal: &Calendar, rule: &Rule, base: Date, trace: &mut Vec<Step>) -> Result<Date> {
    let (count, unit, basis, transitional) = rule.term_for(base);
    if transitional {
        trace.push(Step {
            step: format!(
                "registered before the change of law: the older term of {count} {} applies",
                unit.as_str()
            ),
            date: None,
            basis: basis.clone(),
        });
    }
    apply_term(cal, base, count, unit, &basis, "term", trace)
}

/// Computes a document's deadline.
///
/// `events` are applied in date order (stable for equal dates). An event that
/// cannot apply (an extension of a rule without one, a notice given after the
/// original term, a resume without a stop, anything after the clock ended) is
/// recorded in the trace and in `ignored`, and changes nothing.
pub fn compute(
    cal: &Calendar,
    rules: &RuleSet,
    rule_id: &str,
    base: Date,
    events: &[DeadlineEvent],
) -> Result<Outcome> {
    let mut rule = rules.require(rule_id)?.clone();
    let mut trace = vec![base_step(&rule, base)];
    let mut ignored = Vec::new();
    let mut original_due = initial_due(cal, &rule, base, &mut trace)?;
    let mut due = Some(original_due);
    let mut extended = false;
    let mut state = ClockState::Open;
    let mut stopped_on: Option<Date> = None;
    let mut ended_on = None;
    let mut ended_by = None;
    let mut on_time = None;

    let mut evs: Vec<&DeadlineEvent> = events.iter().collect();
    evs.sort_by_key(|e| e.on());
    let ignore = |msg: String, on: Date, trace: &mut Vec<Step>, ignored: &mut Vec<String>| {
        trace.push(Step {
            step: format!("ignored: {msg}"),
            date: Some(on),
            basis: String::new(),
        });
        ignored.push(msg);
    };
    for ev in evs {
        let on = ev.on();
        if state == ClockState::Ended {
            ignore(
                format!("event on {on} after the clock ended"),
                on,
                &mut trace,
                &mut ignored,
            );
            continue;
        }
        if on < base {
            ignore(
                format!("event on {on} is before the base date {base}"),
                on,
                &mut trace,
                &mut ignored,
            );
            continue;
        }
        match ev {
            DeadlineEvent::Extended { reason, notice, .. } => {
                let Some((count, unit, basis)) = rule.extension() else {
                    ignore(
                        format!("rule {} cannot be extended", rule.id),
                        on,
                        &mut trace,
                        &mut ignored,
                    );
                    continue;
                };
                if extended {
                    ignore(
                        "the term was already extended (the extension sets the total term)".into(),
                        on,
                        &mut trace,
                        &mut ignored,
                    );
                    continue;
                }
                if on > original_due {
                    ignore(
                        format!(
                            "extension notice on {on} came after the original term ended on {original_due}: the requester must be told within it"
                        ),
                        on,
                        &mut trace,
                        &mut ignored,
                    );
                    continue;
                }
                if state == ClockState::Stopped {
                    ignore(
                        "extension while the clock is stopped".into(),
                        on,
                        &mut trace,
                        &mut ignored,
                    );
                    continue;
                }
                let notice_txt = notice
                    .as_deref()
                    .map(|n| format!(", requester told by {n}"))
                    .unwrap_or_default();
                trace.push(Step {
                    step: format!("extended on {on} (reason: {reason}{notice_txt}); the new total term counts from the same base date"),
                    date: Some(on),
                    basis: format!("{basis} (reading: a new total limit from the base date)"),
                });
                let d = apply_term(cal, base, count, unit, &basis, "extended term", &mut trace)?;
                // An extension never shortens.
                let d = d.max(due.unwrap_or(d));
                due = Some(d);
                extended = true;
            }
            DeadlineEvent::ClockStopped { reason, .. } => {
                if !rule.stoppable {
                    ignore(
                        format!("rule {} has no clock stop", rule.id),
                        on,
                        &mut trace,
                        &mut ignored,
                    );
                    continue;
                }
                if state == ClockState::Stopped {
                    ignore(
                        "the clock is already stopped".into(),
                        on,
                        &mut trace,
                        &mut ignored,
                    );
                    continue;
                }
                trace.push(Step {
                    step: format!(
                        "clock stopped on {on} (reason: {reason}): no due date while stopped"
                    ),
                    date: Some(on),
                    basis: rule
                        .resume_basis
                        .clone()
                        .unwrap_or_else(|| "(reading) deferral".into()),
                });
                stopped_on = Some(on);
                state = ClockState::Stopped;
                due = None;
            }
            DeadlineEvent::ClockResumed { .. } => {
                let Some(stop) = stopped_on.take() else {
                    ignore("resume without a stop".into(), on, &mut trace, &mut ignored);
                    continue;
                };
                state = ClockState::Open;
                let basis = rule
                    .resume_basis
                    .clone()
                    .unwrap_or_else(|| "(reading) deferral".into());
                trace.push(Step {
                    step: format!("clock resumed on {on} (stopped since {stop})"),
                    date: Some(on),
                    basis: basis.clone(),
                });
                let d = match (rule.resume_count, rule.resume_unit) {
                    (Some(c), u) => apply_term(
                        cal,
                        on,
                        c,
                        u.unwrap_or(Unit::CalendarDays),
                        &basis,
                        "term after the deferral",
                        &mut trace,
                    )?,
                    (None, _) => {
                        // (reading) the stopped days are added to the term.
                        let prev = original_due;
                        let d = match rule.unit {
                            Unit::WorkingDays => cal.add_working_days(
                                prev,
                                cal.working_days_between(stop, on).max(0) as u32,
                            ),
                            _ => cal.working_day_on_or_after(add_days(
                                prev,
                                stop.until(on).map_err(|_| out_of_range(on))?.get_days() as i64,
                            )?),
                        };
                        trace.push(Step {
                            step: format!(
                                "the days stopped ({stop} to {on}) are added to the term"
                            ),
                            date: Some(d),
                            basis: "(reading) suspension of a term".into(),
                        });
                        d
                    }
                };
                original_due = d;
                due = Some(if extended { d.max(due.unwrap_or(d)) } else { d });
            }
            DeadlineEvent::Reclassified {
                to_rule, reason, ..
            } => {
                let Some(new_rule) = rules.get(to_rule) else {
                    ignore(
                        format!("reclassified to unknown rule {to_rule:?}"),
                        on,
                        &mut trace,
                        &mut ignored,
                    );
                    continue;
                };
                trace.push(Step {
                    step: format!(
                        "reclassified on {on} from {} to {} ({}){}: the base date {base} is kept",
                        rule.id,
                        new_rule.id,
                        new_rule.name_en,
                        if reason.is_empty() { String::new() } else { format!(", reason: {reason}") }
                    ),
                    date: Some(on),
                    basis: "AvTS § 23(2) p 5; (reading) the procedure started on the base date (HMS § 5(5))".into(),
                });
                rule = new_rule.clone();
                extended = false;
                stopped_on = None;
                state = ClockState::Open;
                original_due = initial_due(cal, &rule, base, &mut trace)?;
                due = Some(original_due);
            }
            DeadlineEvent::Ended { how, reg_no, .. } => {
                let by = reg_no
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                let (txt, ot) = match due {
                    Some(d) if on <= d => (format!("on time (due {d})"), Some(true)),
                    Some(d) => (
                        format!(
                            "late by {} working days (due {d})",
                            cal.working_days_between(d, on)
                        ),
                        Some(false),
                    ),
                    None => ("while the clock was stopped".to_string(), Some(true)),
                };
                trace.push(Step {
                    step: format!(
                        "{} registered on {on}{by} ends the clock: {txt}",
                        how.as_str()
                    ),
                    date: Some(on),
                    basis: how.basis().into(),
                });
                state = ClockState::Ended;
                ended_on = Some(on);
                ended_by = reg_no.clone();
                on_time = ot;
            }
        }
    }
    if let Some(d) = due {
        if state == ClockState::Open {
            trace.push(Step {
                step: format!("due {d}, until 24:00 Europe/Tallinn: a reply registered or sent that day is on time"),
                date: Some(d),
                basis: "TsÜS § 136; HMS § 33".into(),
            });
        }
    }
    Ok(Outcome {
        rule: rule.id.clone(),
        base,
        due,
        state,
        extended,
        ended_on,
        ended_by,
        on_time,
        trace,
        ignored,
    })
}
