//! The pure deadline engine: (base date, rule, events) -> due date + trace.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::rules::{Base, Rule, RuleSet, Unit};
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
    /// An invoice approved or rejected (src/invoice/): its payment term is met.
    Processed,
}

impl EndKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EndKind::Reply => "reply",
            EndKind::Forwarding => "forwarding",
            EndKind::Refusal => "refusal",
            EndKind::Processed => "processed",
        }
    }
    fn basis(self) -> &'static str {
        match self {
            EndKind::Reply => "AvTS § 18(1); HMS § 35(4) (reply registered against the document)",
            EndKind::Forwarding => "AvTS § 21(1); MSVS § 5(3)",
            EndKind::Refusal => "AvTS § 23(3)",
            EndKind::Processed => "arve kinnitatud või tagasi lükatud",
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
            "processed" => Ok(EndKind::Processed),
            _ => Err(Error::invalid(format!(
                "invalid end kind {s:?}: expected reply, forwarding, refusal or processed"
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
    /// The application is complete with its documents: a rule with base
    /// `complete` counts its term from this day again (a later one restarts it).
    Completed { on: Date },
    /// We asked the requester to clarify (AvTS § 18(2)): the clock stops.
    ClarificationAsked {
        on: Date,
        #[serde(default)]
        reg_no: Option<String>,
    },
    /// The requester's answer to our clarification arrived: the term restarts
    /// from that day (reading of AvTS § 18(2)).
    ClarificationAnswered {
        on: Date,
        #[serde(default)]
        reg_no: Option<String>,
    },
    /// The due date set outright: an invoice's payment term (its own due date,
    /// or the agency's term), recorded when the invoice is registered.
    DueSet {
        on: Date,
        due: Date,
        #[serde(default)]
        reason: String,
    },
    /// An interim reply (an acknowledgement), or an outgoing document of the
    /// thread whose reply kind was not given (`unspecified`): changes nothing.
    Interim {
        on: Date,
        #[serde(default)]
        reg_no: Option<String>,
        #[serde(default)]
        unspecified: bool,
    },
}

impl DeadlineEvent {
    pub fn on(&self) -> Date {
        match self {
            DeadlineEvent::Extended { on, .. }
            | DeadlineEvent::ClockStopped { on, .. }
            | DeadlineEvent::ClockResumed { on }
            | DeadlineEvent::Reclassified { on, .. }
            | DeadlineEvent::Ended { on, .. }
            | DeadlineEvent::Completed { on }
            | DeadlineEvent::ClarificationAsked { on, .. }
            | DeadlineEvent::ClarificationAnswered { on, .. }
            | DeadlineEvent::DueSet { on, .. }
            | DeadlineEvent::Interim { on, .. } => *on,
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

/// The citations of the counting rules, checked against the acts' text.
///
/// TsÜS § 135(1): "Tähtaja kulgemine algab järgmisel päeval pärast selle
/// kalendripäeva või sündmuse saabumist, millega määrati kindlaks tähtaja algus".
pub const STARTS_NEXT_DAY: &str = "a term starts the next day: TsÜS § 135(1)";
/// Working days are the days that are not days of rest: PTS § 1 (24 February,
/// "Rahvuspüha ja puhkepäev"), § 2 ("Riigipühad ja puhkepäevad on: …") and
/// § 4(2) ("Rahvuspüha suhtes kohaldatakse teistes õigusaktides riigipühade …
/// kohta sätestatut").
pub const WORKING_DAYS: &str = "working days: PTS §§ 1–2 and § 4(2)";
/// A last day that is not a working day moves to the next working day.
pub const SHIFT_CALENDAR_DAYS: &str = "HMS § 33(2)-(3); TsÜS § 136(8)";
pub const SHIFT_MONTHS: &str = "(reading) TsÜS § 136(8); HMS § 33(3)";
/// TsÜS § 137(1): a term counted in days or longer units ends at 24:00 of its last day.
pub const RUNS_TO_MIDNIGHT: &str = "TsÜS § 137(1); HMS § 33";

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
                basis: format!("{basis}; {WORKING_DAYS}"),
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
            move_to_working_day(cal, raw, SHIFT_CALENDAR_DAYS, trace)
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
            move_to_working_day(cal, raw, SHIFT_MONTHS, trace)
        }
    })
}

/// The basis of a stop for clarification (a reading: see ARCHITECTURE.md).
pub const CLARIFICATION_BASIS: &str =
    "(reading) AvTS § 18(2): the term runs from the clarified request";

/// Restarts the term from `on` (a completed application, an answered clarification).
#[allow(clippy::too_many_arguments)]
fn restart(
    cal: &Calendar,
    rule: &Rule,
    on: Date,
    what: &str,
    basis: &str,
    trace: &mut Vec<Step>,
    base: &mut Date,
    original_due: &mut Date,
    due: &mut Option<Date>,
) -> Result<()> {
    trace.push(Step {
        step: format!("{what}; alguspäev / new base date: {on}"),
        date: Some(on),
        basis: format!("{basis}; {STARTS_NEXT_DAY}"),
    });
    *base = on;
    *original_due = initial_due(cal, rule, on, trace)?;
    *due = Some(*original_due);
    Ok(())
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

/// The registration line of an incoming document whose arrival time is unknown
/// (AvTS § 12(1)): no due date can be shown to have been kept, so it does not
/// count as registered on time. Returns (registration date, late = true, trace).
pub fn registration_arrival_unknown(rules: &RuleSet, registered: Date) -> (Date, bool, Vec<Step>) {
    let basis = rules
        .get("registration")
        .map(|r| r.basis.clone())
        .unwrap_or_else(|| "AvTS § 12(1)".into());
    (
        registered,
        true,
        vec![Step {
            step: format!(
                "saabumisaeg teadmata: registreeritud {registered}, ei loeta õigeaegselt registreerituks / arrival time unknown: registered on {registered}, not counted as on time"
            ),
            date: Some(registered),
            basis,
        }],
    )
}

fn base_step(rule: &Rule, base: Date, why: &str) -> Step {
    let note = if rule.base_note.is_empty() {
        String::new()
    } else {
        format!(" ({})", rule.base_note)
    };
    let basis = match rule.base {
        Base::Registered => format!("HMS § 35(4); AvTS § 18(3); {STARTS_NEXT_DAY}"),
        Base::Received | Base::Complete => format!("{}; {STARTS_NEXT_DAY}", rule.basis),
    };
    Step {
        step: format!(
            "alguspäev: {} {base}{why} / base date: {}{note}, Europe/Tallinn; rule {} ({})",
            rule.base.label_et(),
            rule.base.label_en(),
            rule.id,
            rule.name_en
        ),
        date: Some(base),
        basis,
    }
}

/// The base date of `rule` for a document registered on `registered` that
/// arrived on `received` (None: arrival unknown), and what the trace says of it.
pub fn pick_base(rule: &Rule, registered: Date, received: Option<Date>) -> (Date, String) {
    match (rule.base, received) {
        (Base::Registered, _) => (registered, String::new()),
        (Base::Received, Some(r)) => (r, String::new()),
        (Base::Complete, Some(r)) => (
            r,
            " (täielikkust pole märgitud: loetakse saabumisest / no `complete` event yet: counted from arrival)".into(),
        ),
        (_, None) => (
            registered,
            " (saabumisaeg teadmata: loetakse registreerimisest / arrival unknown: counted from registration)".into(),
        ),
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
    compute_with(cal, rules, rule_id, base, Some(base), events)
}

/// [`compute`] for a document registered on `registered` that arrived on
/// `received`: the base date is the one the rule counts from ([`pick_base`]).
pub fn compute_with(
    cal: &Calendar,
    rules: &RuleSet,
    rule_id: &str,
    registered: Date,
    received: Option<Date>,
    events: &[DeadlineEvent],
) -> Result<Outcome> {
    let mut rule = rules.require(rule_id)?.clone();
    let (mut base, why) = pick_base(&rule, registered, received);
    let first_base = base;
    let mut trace = vec![base_step(&rule, base, &why)];
    // Why the clock is stopped: a clarification restarts the term when answered.
    let mut stopped_for_clarification = false;
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
        // The event is ignored, with its reason in the trace.
        macro_rules! skip {
            ($msg:expr) => {{
                ignore($msg, on, &mut trace, &mut ignored);
                continue;
            }};
        }
        if state == ClockState::Ended {
            skip!(format!("event on {on} after the clock ended"));
        }
        if on < first_base {
            skip!(format!(
                "event on {on} is before the base date {first_base}"
            ));
        }
        match ev {
            DeadlineEvent::Extended { reason, notice, .. } => {
                let Some((count, unit, basis)) = rule.extension() else {
                    skip!(format!("rule {} cannot be extended", rule.id));
                };
                if extended {
                    skip!(
                        "the term was already extended (the extension sets the total term)".into()
                    );
                }
                if on > original_due {
                    skip!(format!(
                            "extension notice on {on} came after the original term ended on {original_due}: the requester must be told within it"
                        ));
                }
                if state == ClockState::Stopped {
                    skip!("extension while the clock is stopped".into());
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
                    skip!(format!("rule {} has no clock stop", rule.id));
                }
                if state == ClockState::Stopped {
                    skip!("the clock is already stopped".into());
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
            DeadlineEvent::ClockResumed { .. } if stopped_for_clarification => {
                restart(
                    cal,
                    &rule,
                    on,
                    &format!(
                        "clock resumed on {on} after the clarification (stopped since {})",
                        stopped_on.unwrap_or(on)
                    ),
                    CLARIFICATION_BASIS,
                    &mut trace,
                    &mut base,
                    &mut original_due,
                    &mut due,
                )?;
                stopped_on = None;
                stopped_for_clarification = false;
                state = ClockState::Open;
                extended = false;
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
                    skip!(format!("reclassified to unknown rule {to_rule:?}"));
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
                stopped_for_clarification = false;
                state = ClockState::Open;
                original_due = initial_due(cal, &rule, base, &mut trace)?;
                due = Some(original_due);
            }
            DeadlineEvent::Completed { .. } => {
                if rule.base != Base::Complete {
                    skip!(format!(
                        "rule {} counts from the {}, not from the complete application",
                        rule.id,
                        rule.base.label_en()
                    ));
                }
                restart(
                    cal,
                    &rule,
                    on,
                    &format!("taotlus täielik / application complete on {on}: the term (re)starts"),
                    &rule.basis.clone(),
                    &mut trace,
                    &mut base,
                    &mut original_due,
                    &mut due,
                )?;
                stopped_on = None;
                stopped_for_clarification = false;
                state = ClockState::Open;
                extended = false;
            }
            DeadlineEvent::ClarificationAsked { reg_no, .. } => {
                if state == ClockState::Stopped {
                    skip!("the clock is already stopped".into());
                }
                let by = reg_no
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                trace.push(Step {
                    step: format!(
                        "täpsustamise palve / clarification asked on {on}{by}: the clock stops until the answer arrives"
                    ),
                    date: Some(on),
                    basis: CLARIFICATION_BASIS.into(),
                });
                stopped_on = Some(on);
                stopped_for_clarification = true;
                state = ClockState::Stopped;
                due = None;
            }
            DeadlineEvent::ClarificationAnswered { reg_no, .. } => {
                if !stopped_for_clarification {
                    skip!("an answer to a clarification that was not asked".into());
                }
                let by = reg_no
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                restart(
                    cal,
                    &rule,
                    on,
                    &format!("täpsustus saabus / the clarification arrived on {on}{by}: the term restarts"),
                    CLARIFICATION_BASIS,
                    &mut trace,
                    &mut base,
                    &mut original_due,
                    &mut due,
                )?;
                stopped_on = None;
                stopped_for_clarification = false;
                state = ClockState::Open;
                extended = false;
            }
            DeadlineEvent::DueSet { due: d, reason, .. } => {
                if state == ClockState::Stopped {
                    skip!("a due date set while the clock is stopped".into());
                }
                trace.push(Step {
                    step: format!(
                        "tähtaeg määratud {on}: {d} ({reason}) / due date set on {on}: {d}"
                    ),
                    date: Some(*d),
                    basis: "arve maksetähtaeg".into(),
                });
                original_due = *d;
                due = Some(*d);
            }
            DeadlineEvent::Interim {
                reg_no,
                unspecified,
                ..
            } => {
                let by = reg_no
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                let what = if *unspecified {
                    "väljaminev dokument, vastuse liik märkimata / outgoing document without a reply kind"
                } else {
                    "vahevastus / interim reply"
                };
                trace.push(Step {
                    step: format!(
                        "{what} on {on}{by}: does not answer the request, the clock runs on"
                    ),
                    date: Some(on),
                    basis: "AvTS § 20 (a request is answered only by the information, a forwarding or a refusal)".into(),
                });
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
                basis: RUNS_TO_MIDNIGHT.into(),
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
