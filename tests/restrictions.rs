//! Document kinds, grounds from a list and the § 40 terms (issue 16 A), on
//! every backend: SQLite always, PostgreSQL when DOCGATE_TEST_POSTGRES_URL is set.

use std::process::Command;

use docgate::model::*;
use docgate::restriction::EndBy;
use docgate::testing::{backends, TestEnv};
use jiff::civil::date;

fn doc(title: &str) -> NewDocument {
    let mut d = NewDocument::new(Direction::Incoming, Channel::Post, title);
    d.files.push(NewFile::new(
        format!("{title}.txt"),
        "text/plain",
        format!("sisu {title}").into_bytes(),
    ));
    d
}

fn docgate(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_docgate"));
    c.args(args).current_dir(env.dir.path());
    for (k, v) in env.env() {
        c.env(k, v);
    }
    c.output().expect("run docgate")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "docgate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn restriction(ground: &str, ends: jiff::civil::Date) -> NewRestriction {
    NewRestriction {
        end_by: EndBy::Date,
        ground: ground.into(),
        ends,
        holder: None,
        begins: None,
    }
}

#[tokio::test]
async fn unknown_ground_is_refused_everywhere_in_the_register() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let mut n = doc("niisama");
        n.restriction = Some(restriction("lihtsalt niisama", date(2027, 1, 1)));
        let e = reg.register(n, "t").await.unwrap_err().to_string();
        assert!(
            e.contains("ground") && e.contains("AvTS § 35 lg 1 p 11"),
            "{b}: {e}"
        );
        let d = reg.register(doc("avalik"), "t").await.unwrap();
        assert!(d.restriction.is_none(), "{b}");
        let e = reg
            .restrict(d.id, restriction("lihtsalt niisama", date(2027, 1, 1)), "t")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("lihtsalt niisama"), "{b}: {e}");
        // Series 9-17 allows only its own grounds.
        let mut n = doc("politsei");
        n.series = Some("9-17".into());
        n.restriction = Some(restriction("AvTS § 35 lg 1 p 17", date(2027, 1, 1)));
        let e = reg.register(n, "t").await.unwrap_err().to_string();
        assert!(e.contains("9-17") && e.contains("KrMS § 214"), "{b}: {e}");
        // A listed ground in another spelling is stored as the list spells it.
        let d = reg
            .restrict(
                d.id,
                restriction("avts § 35 LG 1 p 5^1", date(2027, 1, 1)),
                "t",
            )
            .await
            .unwrap();
        assert_eq!(d.restriction.unwrap().ground, "AvTS § 35 lg 1 p 5¹", "{b}");
    }
}

#[tokio::test]
async fn restriction_counts_from_receipt_and_content_not_today() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        // Received 2020-03-02, restricted later on a non-personal ground: the
        // 5-year maximum runs from receipt, so 2025-03-02 at the latest.
        let mut n = doc("kiri");
        n.received = Some(date(2020, 3, 2));
        n.public_reason = Some("avalik".into());
        let d = reg.register(n, "t").await.unwrap();
        let e = reg
            .restrict(
                d.id,
                restriction("AvTS § 35 lg 1 p 1", date(2025, 3, 3)),
                "t",
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("2025-03-02"), "{b}: {e}");
        let d = reg
            .restrict(
                d.id,
                restriction("AvTS § 35 lg 1 p 1", date(2025, 3, 2)),
                "t",
            )
            .await
            .unwrap();
        let r = d.restriction.unwrap();
        assert_eq!(
            (r.begins, r.ends),
            (date(2020, 3, 2), date(2025, 3, 2)),
            "{b}"
        );
        assert_eq!(r.marked, reg.today(), "{b}: marked today (§ 41 lg 2)");
        // Series 9-16 (referral letters and invoices: personal data) used to
        // default to 5 years; now § 40 lg 3: 75 years from receipt.
        let mut n = doc("arve");
        n.series = Some("9-16".into());
        n.received = Some(date(2026, 1, 5));
        let d = reg.register(n, "t").await.unwrap();
        let r = d.restriction.unwrap();
        assert_eq!(
            (r.ground.as_str(), r.ends),
            ("AvTS § 35 lg 1 p 12", date(2101, 1, 5)),
            "{b}"
        );
        // 9-17: ground p 1, the series holds personal data: 75 years.
        let mut n = doc("politsei");
        n.series = Some("9-17".into());
        n.received = Some(date(2026, 1, 5));
        let d = reg.register(n, "t").await.unwrap();
        assert_eq!(d.restriction.unwrap().ends, date(2101, 1, 5), "{b}");
        // A death year: 30 years after it.
        let mut n = doc("surm");
        n.series = Some("9-14".into());
        n.restriction = Some(NewRestriction {
            end_by: EndBy::DeathYear(2024),
            ..restriction("AvTS § 35 lg 1 p 11", MAX_DATE)
        });
        let d = reg.register(n, "t").await.unwrap();
        assert_eq!(d.restriction.unwrap().ends, date(2054, 12, 31), "{b}");
    }
}

#[tokio::test]
async fn extension_refused_after_expiry() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let mut n = doc("vana");
        n.received = Some(date(2019, 1, 2));
        n.restriction = Some(restriction("AvTS § 35 lg 1 p 1", date(2020, 1, 2)));
        let d = reg.register(n, "t").await.unwrap();
        let e = reg
            .extend_restriction(
                d.id,
                &docgate::register::Extension {
                    new_end: date(2024, 1, 1),
                    decision: "1-1/3".into(),
                    reason: "põhjus püsib".into(),
                    role: docgate::web::Role::Lead,
                },
                "juht",
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("lõppes"), "{b}: {e}");
    }
}

#[tokio::test]
async fn until_decision_is_lifted_when_the_decision_is_registered() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let mut n = doc("eelnõu");
        n.restriction = Some(NewRestriction {
            end_by: EndBy::UntilDecision,
            ..restriction("AvTS § 35 lg 2 p 1", MAX_DATE)
        });
        let d = reg.register(n, "t").await.unwrap();
        let r = d.restriction.clone().unwrap();
        assert_eq!(r.until_decision, Some(d.thread_id), "{b}");
        // An interim letter in the case changes nothing.
        let mut letter = doc("vahekiri");
        letter.direction = Direction::Outgoing;
        letter.reply_to = Some(d.reg_no.clone());
        letter.kind = Some("kiri".into());
        letter.public_reason = Some("avalik".into());
        reg.register(letter, "t").await.unwrap();
        assert!(reg.get(d.id).await.unwrap().restriction.is_some(), "{b}");
        // The decision lifts it, in the same transaction, with the reason on record.
        let mut decision = doc("otsus");
        decision.direction = Direction::Outgoing;
        decision.reply_to = Some(d.reg_no.clone());
        decision.kind = Some("otsus".into());
        decision.public_reason = Some("avalik".into());
        let dec = reg.register(decision, "t").await.unwrap();
        let after = reg.get(d.id).await.unwrap();
        assert!(after.restriction.is_none(), "{b}");
        let ev = reg.events(d.id).await.unwrap();
        let lifted = ev.iter().find(|e| e.kind == "restriction_lifted").unwrap();
        assert!(
            lifted.detail["reason"]
                .as_str()
                .unwrap()
                .contains(&dec.reg_no),
            "{b}"
        );
        let v = docgate::audit::verify(reg).await.unwrap();
        assert!(v.problems.is_empty(), "{b}: {:?}", v.problems);
    }
}

#[tokio::test]
async fn notices_go_to_everyone_who_received_the_document() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let mut n = doc("teade");
        n.public_reason = Some("avalik".into());
        let d = reg.register(n, "t").await.unwrap();
        reg.record_release(d.id, "mari@example.ee", "päring", "e-mail", "t")
            .await
            .unwrap();
        reg.record_release(d.id, "70008747", "päring", "dhx", "t")
            .await
            .unwrap();
        let d = reg
            .restrict(
                d.id,
                restriction("AvTS § 35 lg 1 p 12", date(2030, 1, 1)),
                "t",
            )
            .await
            .unwrap();
        let out = docgate::outbox::for_document(&app.store, d.id)
            .await
            .unwrap();
        let mut got: Vec<(String, String)> = out
            .iter()
            .map(|o| (o.channel.clone(), o.recipient.clone()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("dhx_notice".to_string(), "70008747".to_string()),
                ("email".to_string(), "mari@example.ee".to_string()),
            ],
            "{b}"
        );
        let mail = out.iter().find(|o| o.channel == "email").unwrap();
        assert!(
            mail.payload["body"]
                .as_str()
                .unwrap()
                .contains("AvTS § 41 lg 4"),
            "{b}"
        );
        reg.lift_restriction(d.id, "põhjus möödus", "t")
            .await
            .unwrap();
        let out = docgate::outbox::for_document(&app.store, d.id)
            .await
            .unwrap();
        assert_eq!(out.len(), 4, "{b}: a notice per recipient per change");
        let notices = reg
            .events(d.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "restriction_notice")
            .count();
        assert_eq!(notices, 4, "{b}");
    }
}

#[tokio::test]
async fn kinds_and_rules_at_the_command_line() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        std::fs::write(env.dir.path().join("a.txt"), "teabenõue").unwrap();
        // A kind with a default rule.
        let v = json(&docgate(
            &env,
            &[
                "register",
                "a.txt",
                "--kind",
                "teabenõue",
                "--public",
                "avalik",
                "--json",
            ],
        ));
        assert_eq!(v[0]["kind"], "teabenõue", "{b}");
        assert_eq!(v[0]["kind_name"], "Teabenõue", "{b}");
        let reg_no = v[0]["reg_no"].as_str().unwrap().to_string();
        let s = json(&docgate(&env, &["show", &reg_no, "--json"]));
        assert_eq!(s["doc_type"], "avts-teabenoue", "{b}");
        assert_eq!(s["kind_name"], "Teabenõue", "{b}");
        // An unknown kind: exit 1 naming the valid ones.
        let out = docgate(
            &env,
            &["register", "a.txt", "--kind", "lihtsalt", "--public", "x"],
        );
        assert_eq!(out.status.code(), Some(2), "{b}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("volikiri") && err.contains("kind"),
            "{b}: {err}"
        );
        // An unknown ground: exit 1 naming the valid ones.
        let out = docgate(
            &env,
            &[
                "register",
                "a.txt",
                "--restrict",
                "lihtsalt niisama",
                "--restrict-until",
                "2027-01-01",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{b}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("AvTS § 35 lg 1 p 11"), "{b}: {err}");
        // --type is checked against the LOADED rules: a custom rules file's own rule works.
        // (the file's own "avts-teabenoue" rule copied under a new id, so the
        // test follows the rules file's format)
        let base = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/deadlines.toml"
        ))
        .unwrap();
        let start = base.find("[[rule]]\nid = \"avts-teabenoue\"").unwrap();
        let end = base[start + 8..]
            .find("[[rule]]")
            .map_or(base.len(), |e| start + 8 + e);
        let own = base[start..end].replace("id = \"avts-teabenoue\"", "id = \"oma-reegel\"");
        let rules = format!("{base}\n{own}");
        std::fs::write(env.dir.path().join("rules.toml"), rules).unwrap();
        let set = format!(
            "deadlines.rules_file={}",
            env.dir.path().join("rules.toml").display()
        );
        let out = docgate(
            &env,
            &[
                "--set",
                &set,
                "register",
                "a.txt",
                "--type",
                "oma-reegel",
                "--public",
                "x",
                "--json",
            ],
        );
        assert!(
            out.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = docgate(
            &env,
            &["register", "a.txt", "--type", "oma-reegel", "--public", "x"],
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "{b}: the built-in rules have no oma-reegel"
        );
    }
}

#[tokio::test]
async fn expiring_lists_restrictions_ending_soon() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let today = reg.today();
        let soon = today.checked_add(jiff::Span::new().days(10)).unwrap();
        let later = today.checked_add(jiff::Span::new().days(100)).unwrap();
        let mut a = doc("varsti");
        a.responsible = Some("mari".into());
        a.restriction = Some(restriction("AvTS § 35 lg 1 p 1", soon));
        let a = reg.register(a, "t").await.unwrap();
        let mut c = doc("hiljem");
        c.restriction = Some(restriction("AvTS § 35 lg 1 p 1", later));
        reg.register(c, "t").await.unwrap();
        drop(app);
        let v = json(&docgate(
            &env,
            &["restrictions", "expiring", "--within-days", "30", "--json"],
        ));
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), 1, "{b}: {v}");
        assert_eq!(rows[0]["reg_no"], a.reg_no.as_str(), "{b}");
        assert_eq!(rows[0]["days_left"], 10, "{b}");
        assert_eq!(rows[0]["ground"], "AvTS § 35 lg 1 p 1", "{b}");
        assert_eq!(rows[0]["responsible"], "mari", "{b}");
        assert_eq!(rows[0]["ends"], soon.to_string(), "{b}");
        let out = docgate(&env, &["restrictions", "expiring", "--within-days", "200"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Lõpeb") && text.contains("hiljem"),
            "{b}: {text}"
        );
    }
}

#[tokio::test]
async fn cli_extension_needs_the_leads_role() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        docgate::testing::add_user(&app, "kati", docgate::web::Role::Clerk, None).await;
        docgate::testing::add_user(&app, "juht", docgate::web::Role::Lead, None).await;
        let today = app.register.today();
        let mut a = doc("pikendus");
        a.restriction = Some(restriction(
            "AvTS § 35 lg 1 p 1",
            today.checked_add(jiff::Span::new().days(30)).unwrap(),
        ));
        let a = app.register.register(a, "t").await.unwrap();
        drop(app);
        let until = today
            .checked_add(jiff::Span::new().years(2))
            .unwrap()
            .to_string();
        let args = |actor: &'static str| {
            vec![
                "restrictions",
                "extend",
                a.reg_no.as_str(),
                "--until",
                until.as_str(),
                "--decision",
                "1-1/9",
                "--reason",
                "põhjus püsib",
                "--actor",
                actor,
            ]
        };
        let out = docgate(&env, &args("kati"));
        assert_eq!(out.status.code(), Some(7), "{b}: not allowed");
        assert!(String::from_utf8_lossy(&out.stderr).contains("juht"), "{b}");
        let out = docgate(&env, &args("juht"));
        assert!(
            out.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

async fn http(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    json: Option<serde_json::Value>,
) -> (u16, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut b = axum::http::Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let body = match json {
        Some(v) => {
            b = b.header("content-type", "application/json");
            axum::body::Body::from(v.to_string())
        }
        None => axum::body::Body::empty(),
    };
    let r = router.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn web_shows_kinds_refuses_unknown_grounds_and_lists_expiring() {
    use docgate::web::Role;
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let lead = docgate::testing::user_with_token(&app, "juht", Role::Lead, None).await;
        let clerk = docgate::testing::user_with_token(&app, "kati", Role::Clerk, None).await;
        let today = app.register.today();
        let mut n = doc("Teabenõue linnale");
        n.kind = Some("teabenõue".into());
        n.public_reason = Some("avalik".into());
        let open = app.register.register(n, "t").await.unwrap();
        let mut n = doc("Lõppev piirang");
        n.responsible = Some("mari".into());
        n.restriction = Some(restriction(
            "AvTS § 35 lg 1 p 1",
            today.checked_add(jiff::Span::new().days(7)).unwrap(),
        ));
        let ending = app.register.register(n, "t").await.unwrap();
        let router = docgate::serve::http_router(app.clone());
        // The public register names the kind, Estonian first, English with ?lang=en.
        let (s, body) = http(
            &router,
            "GET",
            &format!("/avalik/dokument/{}", open.id),
            None,
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}: {body}");
        assert!(body.contains("Teabenõue"), "{b}: {body}");
        let en = {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let req = axum::http::Request::get(format!("/avalik/dokument/{}", open.id))
                .header("cookie", "lang=en")
                .body(axum::body::Body::empty())
                .unwrap();
            let r = router.clone().oneshot(req).await.unwrap();
            let bytes = r.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        assert!(en.contains("Information request"), "{b}: {en}");
        // The API gives the kind with its names.
        let (s, body) = http(
            &router,
            "GET",
            &format!("/api/v1/documents/{}", open.id),
            Some(&clerk),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["document"]["kind"]["id"], "teabenõue", "{b}");
        assert_eq!(
            v["document"]["doc_type"], "avts-teabenoue",
            "{b}: the default rule"
        );
        // A free-text ground is refused, naming the field.
        let (s, body) = http(
            &router,
            "POST",
            &format!("/api/v1/documents/{}/restriction", open.id),
            Some(&clerk),
            Some(serde_json::json!({"ground": "lihtsalt niisama", "ends": "2027-01-01"})),
        )
        .await;
        assert_eq!(s, 400, "{b}: {body}");
        assert!(
            body.contains("ground") && body.contains("AvTS § 35 lg 1 p 12"),
            "{b}: {body}"
        );
        // A clerk may not extend; the lead may, with a decision.
        let ext = serde_json::json!({"ends": today.checked_add(jiff::Span::new().years(2)).unwrap().to_string(), "reason": "põhjus püsib", "decision": "1-1/4"});
        let uri = format!("/api/v1/documents/{}/restriction/extend", ending.id);
        let (s, body) = http(&router, "POST", &uri, Some(&clerk), Some(ext.clone())).await;
        assert_eq!(s, 403, "{b}: {body}");
        // The lead's dashboard lists the restriction about to expire.
        let (s, body) = http(&router, "GET", "/dashboard", Some(&lead), None).await;
        assert_eq!(s, 200, "{b}: {body}");
        assert!(
            body.contains("expiring-list") && body.contains(&ending.reg_no),
            "{b}: {body}"
        );
        let (s, body) = http(&router, "POST", &uri, Some(&lead), Some(ext)).await;
        assert_eq!(s, 200, "{b}: {body}");
        let (_, body) = http(&router, "GET", "/dashboard", Some(&lead), None).await;
        assert!(
            !body.contains(&ending.reg_no),
            "{b}: extended, no longer expiring"
        );
    }
}
