use jiff::civil::{date, Date};
use proptest::prelude::*;

use super::*;
use crate::calendar::{Calendar, ExtraDay};

fn due(rule: &str, base: Date, events: &[DeadlineEvent]) -> Outcome {
    compute(
        &Calendar::default(),
        &RuleSet::default(),
        rule,
        base,
        events,
    )
    .unwrap()
}

fn ext(on: Date) -> DeadlineEvent {
    DeadlineEvent::Extended {
        on,
        reason: "lengthy search".into(),
        notice: Some("9-13/1-1".into()),
    }
}

#[test]
fn every_csv_rule_is_in_the_rules_file_with_the_same_terms() {
    let csv = include_str!("../../fixtures/deadlines/deadline-rules.csv");
    let rules = RuleSet::default();
    let mut n = 0;
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let id = cols[0];
        let rule = rules.get(id).unwrap_or_else(|| panic!("rule {id} missing"));
        assert_eq!(rule.count.to_string(), cols[3], "{id} count");
        let unit = match cols[4] {
            "working_days" => Unit::WorkingDays,
            "calendar_days" => Unit::CalendarDays,
            "months" => Unit::Months,
            u => panic!("unit {u}"),
        };
        assert_eq!(rule.unit, unit, "{id} unit");
        assert_eq!(
            rule.extension_total
                .map(|c| c.to_string())
                .unwrap_or_default(),
            cols[5],
            "{id} extension"
        );
        n += 1;
    }
    // docgate's own rules, beyond the csv: the invoice payment term.
    let own = ["arve-maksetahtaeg"];
    for id in own {
        assert!(rules.get(id).is_some(), "own rule {id} missing");
    }
    assert_eq!(
        n + own.len(),
        rules.all().len(),
        "the rules file has exactly the csv's rules and docgate's own"
    );
}

#[test]
fn table_of_due_dates() {
    let table: &[(&str, Date, Date)] = &[
        // 5 working days over Christmas: 22, 23, 29, 30, 31 December.
        ("avts-teabenoue", date(2025, 12, 19), date(2025, 12, 31)),
        // 15 calendar days ends on Sunday 16 March: Monday.
        ("msvs-selgitustaotlus", date(2025, 3, 1), date(2025, 3, 17)),
        // From 28.12.2024 the new 15-day term: 12 Jan is a Sunday.
        (
            "msvs-selgitustaotlus",
            date(2024, 12, 28),
            date(2025, 1, 13),
        ),
        // Before 28.12.2024: 30 days, 19 Jan 2025 is a Sunday.
        (
            "msvs-selgitustaotlus",
            date(2024, 12, 20),
            date(2025, 1, 20),
        ),
        // Midsummer: 19 June + 5 working days skips 23 and 24 June.
        ("msvs-edastamine", date(2025, 6, 19), date(2025, 6, 30)),
        ("oas-huvitis", date(2025, 3, 3), date(2025, 4, 2)),
        // 3 months lands on Good Friday: Saturday, Sunday, then Monday 21 April.
        ("oas-huvitis-el", date(2025, 1, 18), date(2025, 4, 21)),
        ("oas-huvitis-el", date(2025, 1, 17), date(2025, 4, 17)),
        // 10 working days across Good Friday and 1 May.
        ("sus-otsus", date(2025, 4, 16), date(2025, 5, 2)),
        ("oas-vaimne-tervis", date(2025, 4, 16), date(2025, 5, 2)),
        // 10 days lands on võidupüha, then jaanipäev.
        ("hms-vaie", date(2025, 6, 13), date(2025, 6, 25)),
        // 30 days lands on 20 August.
        ("sus-vaie", date(2025, 7, 21), date(2025, 8, 21)),
        // 31 January + 1 month: the last day of February.
        ("gdpr-paring", date(2025, 1, 31), date(2025, 2, 28)),
        ("gdpr-paring", date(2024, 1, 31), date(2024, 2, 29)),
        // 24 December, Christmas, weekend: Monday 29th.
        ("gdpr-paring", date(2025, 11, 24), date(2025, 12, 29)),
        // 2004: 24 December was a working day (Friday).
        ("gdpr-paring", date(2004, 11, 24), date(2004, 12, 24)),
        ("registration", date(2025, 12, 23), date(2025, 12, 29)),
    ];
    for (rule, base, want) in table {
        let o = due(rule, *base, &[]);
        assert_eq!(o.due, Some(*want), "{rule} from {base}: {:#?}", o.trace);
        assert_eq!(o.state, ClockState::Open);
        assert!(o.trace.iter().all(|s| !s.step.is_empty()));
    }
}

#[test]
fn table_of_extensions() {
    let table: &[(&str, Date, Date)] = &[
        ("avts-teabenoue", date(2025, 12, 19), date(2026, 1, 15)),
        ("msvs-selgitustaotlus", date(2025, 3, 1), date(2025, 5, 2)),
        ("hms-vaie", date(2025, 6, 13), date(2025, 7, 23)),
        ("gdpr-paring", date(2025, 1, 31), date(2025, 4, 30)),
    ];
    for (rule, base, want) in table {
        let o = due(rule, *base, &[ext(*base)]);
        assert_eq!(o.due, Some(*want), "{rule}: {:#?}", o.trace);
        assert!(o.extended);
        assert!(
            o.trace.iter().any(|s| s.step.contains("9-13/1-1")),
            "notice named"
        );
    }
}

#[test]
fn extension_rules() {
    // No extension for a rule without one.
    let o = due("sus-otsus", date(2025, 4, 16), &[ext(date(2025, 4, 17))]);
    assert_eq!(o.due, Some(date(2025, 5, 2)));
    assert!(!o.extended);
    assert_eq!(o.ignored.len(), 1);
    // A notice after the original term does not extend.
    let o = due(
        "avts-teabenoue",
        date(2025, 3, 3),
        &[ext(date(2025, 3, 11))],
    );
    assert_eq!(o.due, Some(date(2025, 3, 10)));
    assert!(
        o.ignored[0].contains("after the original term"),
        "{:?}",
        o.ignored
    );
    // On the last day of the original term it does.
    let o = due(
        "avts-teabenoue",
        date(2025, 3, 3),
        &[ext(date(2025, 3, 10))],
    );
    assert_eq!(o.due, Some(date(2025, 3, 24)));
}

#[test]
fn clock_stop_and_resume_oas_48() {
    let evs = [
        DeadlineEvent::ClockStopped {
            on: date(2025, 3, 10),
            reason: "court case pending".into(),
        },
        DeadlineEvent::ClockResumed {
            on: date(2025, 5, 8),
        },
    ];
    let stopped = due("oas-huvitis", date(2025, 3, 3), &evs[..1]);
    assert_eq!(stopped.state, ClockState::Stopped);
    assert_eq!(stopped.due, None);
    let o = due("oas-huvitis", date(2025, 3, 3), &evs);
    // 8 May + 10 days = Sunday 18 May: Monday 19 May.
    assert_eq!(o.due, Some(date(2025, 5, 19)), "{:#?}", o.trace);
    assert!(o.trace.iter().any(|s| s.basis.contains("OAS § 48")));
    // A rule without a clock stop ignores it.
    let o = due("avts-teabenoue", date(2025, 3, 3), &evs[..1]);
    assert_eq!(o.state, ClockState::Open);
    assert_eq!(o.ignored.len(), 1);
}

#[test]
fn reclassification_keeps_the_base_date() {
    let o = due(
        "avts-teabenoue",
        date(2025, 3, 3),
        &[DeadlineEvent::Reclassified {
            on: date(2025, 3, 5),
            to_rule: "msvs-selgitustaotlus".into(),
            reason: "needs analysis".into(),
        }],
    );
    assert_eq!(o.rule, "msvs-selgitustaotlus");
    assert_eq!(o.base, date(2025, 3, 3));
    assert_eq!(o.due, Some(date(2025, 3, 18)));
    assert!(o.trace.iter().any(|s| s.basis.contains("§ 23(2) p 5")));
    // Reclassifying an old letter to MSVS keeps the old 30 days.
    let o = due(
        "avts-teabenoue",
        date(2024, 12, 20),
        &[DeadlineEvent::Reclassified {
            on: date(2025, 1, 2),
            to_rule: "msvs-selgitustaotlus".into(),
            reason: String::new(),
        }],
    );
    assert_eq!(o.due, Some(date(2025, 1, 20)));
}

#[test]
fn a_reply_ends_the_clock_on_time_or_late() {
    let end = |on| DeadlineEvent::Ended {
        on,
        how: EndKind::Reply,
        reg_no: Some("9-13/5-1".into()),
    };
    let o = due(
        "avts-teabenoue",
        date(2025, 3, 3),
        &[end(date(2025, 3, 10))],
    );
    assert_eq!(o.state, ClockState::Ended);
    assert_eq!(o.on_time, Some(true));
    assert_eq!(o.ended_by.as_deref(), Some("9-13/5-1"));
    let o = due(
        "avts-teabenoue",
        date(2025, 3, 3),
        &[end(date(2025, 3, 12))],
    );
    assert_eq!(o.on_time, Some(false));
    assert!(o
        .trace
        .iter()
        .any(|s| s.step.contains("late by 2 working days")));
    // Nothing after the end changes anything.
    let o = due(
        "avts-teabenoue",
        date(2025, 3, 3),
        &[end(date(2025, 3, 4)), ext(date(2025, 3, 5))],
    );
    assert!(!o.extended);
    let o = due(
        "msvs-edastamine",
        date(2025, 3, 3),
        &[DeadlineEvent::Ended {
            on: date(2025, 3, 4),
            how: EndKind::Forwarding,
            reg_no: None,
        }],
    );
    assert!(o.trace.last().unwrap().basis.contains("§ 21"));
}

#[test]
fn registration_is_late_after_the_next_working_day() {
    let cal = Calendar::default();
    let rules = RuleSet::default();
    let (d, late, _) =
        registration_due(&cal, &rules, date(2025, 12, 23), date(2025, 12, 29)).unwrap();
    assert_eq!(d, date(2025, 12, 29));
    assert!(!late);
    let (_, late, trace) =
        registration_due(&cal, &rules, date(2025, 12, 23), date(2025, 12, 30)).unwrap();
    assert!(late);
    assert!(trace.last().unwrap().step.contains("late by 1"));
}

#[test]
fn unknown_rule_is_an_error_naming_it() {
    let err = compute(
        &Calendar::default(),
        &RuleSet::default(),
        "nope",
        date(2025, 1, 1),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("\"nope\"") && err.contains("avts-teabenoue"),
        "{err}"
    );
}

#[test]
fn bad_rules_file_is_refused() {
    let err = RuleSet::parse("[[rule]]\nid = \"x\"\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("t.toml"), "{err}");
}

fn rule_ids() -> Vec<String> {
    RuleSet::default()
        .all()
        .iter()
        .map(|r| r.id.clone())
        .collect()
}

fn arb_date() -> impl Strategy<Value = Date> {
    (0i64..(103 * 365)).prop_map(|n| {
        date(1998, 1, 1)
            .checked_add(jiff::Span::new().days(n))
            .unwrap()
    })
}

proptest! {
    #[test]
    fn due_date_is_always_a_working_day(base in arb_date(), r in 0usize..11, extended in any::<bool>()) {
        let cal = Calendar::default();
        let ids = rule_ids();
        let id = &ids[r % ids.len()];
        let evs = if extended { vec![ext(base)] } else { vec![] };
        let o = compute(&cal, &RuleSet::default(), id, base, &evs).unwrap();
        let d = o.due.unwrap();
        prop_assert!(cal.is_working_day(d), "{} {} -> {}", id, base, d);
        prop_assert!(d > base);
    }

    #[test]
    fn adding_a_holiday_never_makes_a_due_date_earlier(
        base in arb_date(), r in 0usize..11, off in 0i64..120, extended in any::<bool>()
    ) {
        let cal = Calendar::default();
        let extra_day = base.checked_add(jiff::Span::new().days(off)).unwrap();
        let cal2 = cal.with_extra(ExtraDay::on(extra_day, "test")).unwrap();
        let ids = rule_ids();
        let id = &ids[r % ids.len()];
        let evs = if extended { vec![ext(base)] } else { vec![] };
        let a = compute(&cal, &RuleSet::default(), id, base, &evs).unwrap().due.unwrap();
        let b = compute(&cal2, &RuleSet::default(), id, base, &evs).unwrap().due.unwrap();
        prop_assert!(b >= a, "{} {}: {} then {} with {}", id, base, a, b, extra_day);
    }

    #[test]
    fn an_extension_never_shortens(base in arb_date(), r in 0usize..11, later in 0i64..40) {
        let ids = rule_ids();
        let id = &ids[r % ids.len()];
        let on = base.checked_add(jiff::Span::new().days(later)).unwrap();
        let a = due(id, base, &[]).due.unwrap();
        let b = due(id, base, &[ext(on)]).due.unwrap();
        prop_assert!(b >= a);
    }

    #[test]
    fn working_day_count_inverts_addition(base in arb_date(), n in 0u32..300) {
        let cal = Calendar::default();
        let d = cal.add_working_days(base, n);
        prop_assert_eq!(cal.working_days_between(base, d), i64::from(n));
    }
}

fn arb_parseable_date() -> impl Strategy<Value = Date> {
    let span = crate::model::MIN_DATE
        .until(crate::model::MAX_DATE)
        .unwrap()
        .get_days() as i64;
    (0i64..=span).prop_map(|n| {
        crate::model::MIN_DATE
            .checked_add(jiff::Span::new().days(n))
            .unwrap()
    })
}

proptest! {
    /// Every date the program can parse (1900..=2300) gives a deadline or an
    /// invalid error naming the date, for every rule: never a panic.
    #[test]
    fn engine_never_panics_for_any_parseable_base_date(
        base in arb_parseable_date(), r in 0usize..64, extended in any::<bool>()
    ) {
        let cal = Calendar::default();
        let rules = RuleSet::default();
        let ids = rule_ids();
        let id = &ids[r % ids.len()];
        let evs = if extended { vec![ext(base)] } else { vec![] };
        // The engine answers for every parseable date (checked arithmetic); the
        // CLI refuses bases outside the years the calendar is stated for.
        match compute(&cal, &rules, id, base, &evs) {
            Ok(o) => {
                let d = o.due.unwrap();
                prop_assert!(d > base && cal.is_working_day(d), "{} {} -> {}", id, base, d);
            }
            Err(e) => prop_assert!(e.to_string().contains("invalid"), "{} {}: {}", id, base, e),
        }
        let (d, late, _) = registration_due(&cal, &rules, base, base).unwrap();
        prop_assert!(d > base && !late);
        let covered = (crate::calendar::FIRST_YEAR..=crate::calendar::LAST_YEAR)
            .contains(&base.year());
        prop_assert_eq!(crate::calendar::check_covered("base", base).is_ok(), covered);
    }
}

#[test]
fn dates_outside_1900_to_2300_are_refused_at_parse_time() {
    use crate::model::parse_date;
    assert_eq!(parse_date("base", "1900-01-01").unwrap(), date(1900, 1, 1));
    assert_eq!(
        parse_date("base", "2300-12-31").unwrap(),
        date(2300, 12, 31)
    );
    for s in ["1899-12-31", "2301-01-01", "9999-12-31", "0001-01-01"] {
        let e = parse_date("base", s).unwrap_err().to_string();
        assert!(e.contains("base") && e.contains(&s[..4]), "{s}: {e}");
    }
}

// ---- Issue 16 part B: base dates per rule, reply kinds, citations ----

fn due_with(
    rule: &str,
    registered: Date,
    received: Option<Date>,
    events: &[DeadlineEvent],
) -> Outcome {
    compute_with(
        &Calendar::default(),
        &RuleSet::default(),
        rule,
        registered,
        received,
        events,
    )
    .unwrap()
}

#[test]
fn each_rule_has_the_base_the_law_gives_it() {
    use super::rules::Base;
    let rules = RuleSet::default();
    let table = [
        ("registration", Base::Received),
        ("avts-teabenoue", Base::Registered),
        ("msvs-selgitustaotlus", Base::Registered),
        ("msvs-edastamine", Base::Registered),
        ("oas-huvitis", Base::Complete),
        ("oas-huvitis-el", Base::Complete),
        ("sus-otsus", Base::Complete),
        ("oas-vaimne-tervis", Base::Complete),
        ("hms-vaie", Base::Received),
        ("sus-vaie", Base::Registered),
        ("gdpr-paring", Base::Received),
        // docgate's own: an invoice's payment term runs from its receipt.
        ("arve-maksetahtaeg", Base::Received),
    ];
    assert_eq!(table.len(), rules.all().len());
    for (id, base) in table {
        assert_eq!(rules.require(id).unwrap().base, base, "{id}");
    }
}

#[test]
fn table_of_base_dates_and_due_dates_per_rule() {
    // Arrived Monday 3 March 2025, registered Wednesday 5 March 2025.
    let rcv = date(2025, 3, 3);
    let reg = date(2025, 3, 5);
    let table: &[(&str, Date, Date)] = &[
        ("avts-teabenoue", reg, date(2025, 3, 12)), // 5 working days from registration
        ("msvs-selgitustaotlus", reg, date(2025, 3, 20)), // 15 calendar days from registration
        ("msvs-edastamine", reg, date(2025, 3, 12)),
        ("oas-huvitis", rcv, date(2025, 4, 2)), // 30 days from arrival (no `complete` yet)
        ("oas-huvitis-el", rcv, date(2025, 6, 3)), // 3 months from arrival
        ("sus-otsus", rcv, date(2025, 3, 17)),  // 10 working days from arrival
        ("oas-vaimne-tervis", rcv, date(2025, 3, 17)),
        ("hms-vaie", rcv, date(2025, 3, 13)), // 10 days from when it reached us
        ("sus-vaie", reg, date(2025, 4, 4)),  // 30 days from registration
        ("gdpr-paring", rcv, date(2025, 4, 3)), // one month from receipt
    ];
    for (rule, base, want) in table {
        let o = due_with(rule, reg, Some(rcv), &[]);
        assert_eq!(o.base, *base, "{rule} base: {:#?}", o.trace);
        assert_eq!(o.due, Some(*want), "{rule} due: {:#?}", o.trace);
    }
}

#[test]
fn every_trace_names_its_base_in_estonian() {
    let rcv = date(2025, 3, 3);
    let reg = date(2025, 3, 5);
    for (rule, et) in [
        (
            "avts-teabenoue",
            "alguspäev: registreerimise päev 2025-03-05",
        ),
        ("gdpr-paring", "alguspäev: saabumise päev 2025-03-03"),
        ("hms-vaie", "alguspäev: saabumise päev 2025-03-03"),
        (
            "oas-huvitis",
            "alguspäev: täieliku taotluse saabumise päev 2025-03-03",
        ),
    ] {
        let o = due_with(rule, reg, Some(rcv), &[]);
        assert!(
            o.trace[0].step.starts_with(et),
            "{rule}: {}",
            o.trace[0].step
        );
    }
    // Arrival unknown: counted from registration, and the trace says so.
    let o = due_with("gdpr-paring", reg, None, &[]);
    assert_eq!(o.base, reg);
    assert!(
        o.trace[0].step.contains("saabumisaeg teadmata"),
        "{}",
        o.trace[0].step
    );
}

#[test]
fn a_complete_event_restarts_the_term_of_a_compensation_application() {
    let rcv = date(2025, 3, 3);
    let reg = date(2025, 3, 4);
    let done = |on| DeadlineEvent::Completed { on };
    // Complete on 10 March: 30 days from then.
    let o = due_with("oas-huvitis", reg, Some(rcv), &[done(date(2025, 3, 10))]);
    assert_eq!(o.base, date(2025, 3, 10));
    assert_eq!(o.due, Some(date(2025, 4, 9)), "{:#?}", o.trace);
    // Found incomplete, completed again on 20 March: restarts; 19 April 2025 is
    // a Saturday (18 Good Friday, 20 Easter Sunday): Monday 21 April.
    let o = due_with(
        "oas-huvitis",
        reg,
        Some(rcv),
        &[done(date(2025, 3, 10)), done(date(2025, 3, 20))],
    );
    assert_eq!(o.due, Some(date(2025, 4, 21)), "{:#?}", o.trace);
    assert!(o.ignored.is_empty());
    // A rule that does not count from the complete application ignores it.
    let o = due_with("avts-teabenoue", reg, Some(rcv), &[done(date(2025, 3, 10))]);
    assert_eq!(o.due, Some(date(2025, 3, 11)));
    assert_eq!(o.ignored.len(), 1, "{:?}", o.ignored);
    // A clarification stop (documents asked for) ends with the complete event.
    let o = due_with(
        "oas-huvitis",
        reg,
        Some(rcv),
        &[
            DeadlineEvent::ClarificationAsked {
                on: date(2025, 3, 5),
                reg_no: None,
            },
            done(date(2025, 3, 10)),
        ],
    );
    assert_eq!(o.state, ClockState::Open);
    assert_eq!(o.due, Some(date(2025, 4, 9)));
}

#[test]
fn a_clarification_stops_the_clock_until_answered_then_the_term_restarts() {
    let reg = date(2025, 3, 5);
    let asked = DeadlineEvent::ClarificationAsked {
        on: date(2025, 3, 7),
        reg_no: Some("9-13/1-1".into()),
    };
    let o = due_with(
        "avts-teabenoue",
        reg,
        Some(reg),
        std::slice::from_ref(&asked),
    );
    assert_eq!(o.state, ClockState::Stopped);
    assert_eq!(o.due, None);
    // Answer registered on Friday 14 March: 5 working days from then.
    let answered = DeadlineEvent::ClarificationAnswered {
        on: date(2025, 3, 14),
        reg_no: Some("9-13/1-2".into()),
    };
    let o = due_with("avts-teabenoue", reg, Some(reg), &[asked.clone(), answered]);
    assert_eq!(o.state, ClockState::Open);
    assert_eq!(o.due, Some(date(2025, 3, 21)), "{:#?}", o.trace);
    // A resume event does the same as the answer.
    let o = due_with(
        "avts-teabenoue",
        reg,
        Some(reg),
        &[
            asked,
            DeadlineEvent::ClockResumed {
                on: date(2025, 3, 14),
            },
        ],
    );
    assert_eq!(o.due, Some(date(2025, 3, 21)), "{:#?}", o.trace);
}

#[test]
fn an_interim_reply_changes_nothing() {
    let reg = date(2025, 3, 5);
    let a = due_with("oas-huvitis", reg, Some(reg), &[]);
    let b = due_with(
        "oas-huvitis",
        reg,
        Some(reg),
        &[DeadlineEvent::Interim {
            on: date(2025, 3, 6),
            reg_no: None,
            unspecified: false,
        }],
    );
    assert_eq!((a.due, a.state), (b.due, b.state));
    assert!(b.trace.iter().any(|s| s.step.starts_with("vahevastus")));
}

#[test]
fn traces_cite_tsus_135_137_and_pts_1_2_4() {
    let reg = date(2025, 2, 20);
    let all: Vec<String> = ["avts-teabenoue", "msvs-selgitustaotlus", "gdpr-paring"]
        .iter()
        .flat_map(|r| due_with(r, reg, Some(reg), &[]).trace)
        .map(|s| format!("{} [{}]", s.step, s.basis))
        .collect();
    let text = all.join("\n");
    assert!(text.contains("TsÜS § 135(1)"), "{text}");
    assert!(
        text.contains("working days: PTS §§ 1–2 and § 4(2)"),
        "{text}"
    );
    assert!(text.contains("TsÜS § 137(1)"), "{text}");
    assert!(!text.contains("TsÜS § 136(1)"), "{text}");
    assert!(!text.contains("working days: TsÜS § 136(8)"), "{text}");
    assert!(!text.contains("TsÜS § 136; HMS § 33\n"), "{text}");
    // The shift to the next working day keeps TsÜS § 136(8): 15 days from
    // Sunday 9 Feb 2025 is 24 February (PTS § 1), moved to the 25th.
    let o = due_with("msvs-selgitustaotlus", date(2025, 2, 9), None, &[]);
    assert!(
        o.trace
            .iter()
            .any(|s| s.basis.contains("TsÜS § 136(8)") && s.step.contains("not a working day")),
        "{:#?}",
        o.trace
    );
    // The MSVS 15-day term and its transition cite the amending act.
    let new = due_with("msvs-selgitustaotlus", date(2025, 1, 6), None, &[]);
    let old = due_with("msvs-selgitustaotlus", date(2024, 12, 2), None, &[]);
    for o in [new, old] {
        assert!(
            o.trace.iter().any(|s| s
                .basis
                .contains("kollektiivse pöördumise esitamise seaduse muutmise seadus")),
            "{:#?}",
            o.trace
        );
    }
}

#[test]
fn calendar_cites_pts_1_and_2() {
    let src = include_str!("../calendar.rs");
    assert!(src.contains("PTS §§ 1–2"));
    assert!(!src.contains("(PTS § 2)"));
}

/// Any event an outgoing reply that does not close can make, or a clerk can record
/// without ending the clock.
fn arb_non_closing_event() -> impl Strategy<Value = DeadlineEvent> {
    let day = (0i64..90).prop_map(|n| {
        date(2025, 3, 3)
            .checked_add(jiff::Span::new().days(n))
            .unwrap()
    });
    prop_oneof![
        day.clone().prop_map(|on| DeadlineEvent::Interim {
            on,
            reg_no: None,
            unspecified: false
        }),
        day.clone().prop_map(|on| DeadlineEvent::Interim {
            on,
            reg_no: None,
            unspecified: true
        }),
        day.clone()
            .prop_map(|on| DeadlineEvent::ClarificationAsked { on, reg_no: None }),
        day.clone()
            .prop_map(|on| DeadlineEvent::ClarificationAnswered { on, reg_no: None }),
        day.clone().prop_map(|on| DeadlineEvent::Completed { on }),
        day.clone().prop_map(|on| DeadlineEvent::ClockStopped {
            on,
            reason: "x".into()
        }),
        day.clone()
            .prop_map(|on| DeadlineEvent::ClockResumed { on }),
        day.clone().prop_map(ext),
        (day, 0usize..11).prop_map(|(on, r)| DeadlineEvent::Reclassified {
            on,
            to_rule: rule_ids()[r % 11].clone(),
            reason: String::new()
        }),
    ]
}

proptest! {
    /// Interim replies, clarifications (asked or answered), completions, stops,
    /// resumes, extensions and reclassifications never end a deadline.
    #[test]
    fn a_non_closing_reply_never_closes_a_deadline(
        r in 0usize..11,
        evs in proptest::collection::vec(arb_non_closing_event(), 0..12),
    ) {
        let ids = rule_ids();
        let id = &ids[r % ids.len()];
        let o = due_with(id, date(2025, 3, 3), Some(date(2025, 3, 3)), &evs);
        prop_assert_ne!(o.state, ClockState::Ended);
        prop_assert!(o.ended_on.is_none() && o.on_time.is_none());
    }
}
