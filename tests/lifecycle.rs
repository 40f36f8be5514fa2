//! The records lifecycle (issue #18): file units, retention from the document
//! list, disposal with a destruction act, legal holds — on every backend:
//! SQLite always, PostgreSQL when DOCGATE_TEST_POSTGRES_URL is set.

use std::process::Command;

use docgate::model::*;
use docgate::testing::{backends, TestEnv};
use docgate::web::Role;

const PERSON: &str = "49403136515";

fn doc(title: &str, series: &str, at: &str) -> NewDocument {
    let mut d = NewDocument::new(Direction::Incoming, Channel::Post, title);
    d.series = Some(series.into());
    d.registered_at = Some(at.parse().unwrap());
    d.files.push(NewFile::new(
        format!("{title}.txt"),
        "text/plain",
        format!("sisu {title} {at}").into_bytes(),
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

async fn public_get(router: &axum::Router, uri: &str) -> (u16, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::get(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn due_units(v: &serde_json::Value) -> Vec<(String, String, String)> {
    v["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["file_units"].as_array().unwrap().iter())
        .map(|u| {
            (
                u["file_unit"].as_str().unwrap().to_string(),
                u["trigger"].as_str().unwrap().to_string(),
                u["ends"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn retention_ends_then_proposal_approval_act_and_destruction_and_verify_passes() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        docgate::testing::add_user(&app, "kati", Role::Clerk, None).await;
        docgate::testing::add_user(&app, "liis", Role::Lead, None).await;
        // Two letters of 2014 (one from a victim, named and coded), one of 2026.
        let mut victim = doc("Mari Maasikase kiri", "9-13", "2014-03-03T10:00:00Z");
        victim.parties.push(
            Party::from_name_and_code("Mari Maasikas", Some(PERSON), PartyRole::Sender).unwrap(),
        );
        let victim = reg.register(victim, "t").await.unwrap();
        let mut police = doc("Politsei päring", "9-13", "2014-11-20T10:00:00Z");
        police.parties.push(
            Party::from_name_and_code(
                "Politsei- ja Piirivalveamet",
                Some("70008747"),
                PartyRole::Sender,
            )
            .unwrap(),
        );
        police.public_reason = Some("ametiasutuse kiri".into());
        let police = reg.register(police, "t").await.unwrap();
        let kept = reg
            .register(doc("Uus kiri", "9-13", "2026-01-05T10:00:00Z"), "t")
            .await
            .unwrap();
        // Each is in its series' unit of its registration year.
        for (d, unit) in [
            (&victim, "9-13/2014"),
            (&police, "9-13/2014"),
            (&kept, "9-13/2026"),
        ] {
            assert_eq!(
                reg.file_unit_of(d.id).await.unwrap().unwrap().code,
                unit,
                "{b}"
            );
        }

        // 10 years from the end of 2014: due on 2025-01-01, not the day before.
        let before = json(&docgate(
            &env,
            &["retention", "due", "--as-of", "2024-12-31", "--json"],
        ));
        assert!(due_units(&before).is_empty(), "{b}: {before}");
        let due = json(&docgate(
            &env,
            &["retention", "due", "--as-of", "2025-01-01", "--json"],
        ));
        assert_eq!(
            due_units(&due),
            vec![(
                "9-13/2014".into(),
                "registration_year".into(),
                "2025-01-01".into()
            )],
            "{b}: {due}"
        );
        assert_eq!(due["series"][0]["series"], "9-13", "{b}");

        // The clerk proposes; the clerk may not approve; the lead does.
        let list = json(&docgate(
            &env,
            &[
                "disposal",
                "propose",
                "--as-of",
                "2025-01-01",
                "--actor",
                "kati",
                "--json",
            ],
        ));
        let id = list["id"].as_i64().unwrap();
        assert_eq!(list["status"], "proposed", "{b}");
        let listed: Vec<&str> = list["units"][0]["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["reg_no"].as_str().unwrap())
            .collect();
        assert_eq!(
            listed,
            vec![victim.reg_no.as_str(), police.reg_no.as_str()],
            "{b}"
        );
        let refused = docgate(
            &env,
            &["disposal", "approve", &id.to_string(), "--actor", "kati"],
        );
        assert!(!refused.status.success(), "{b}: a clerk approved");
        assert!(reg.destroyed_by(victim.id).await.unwrap().is_none(), "{b}");
        let done = json(&docgate(
            &env,
            &[
                "disposal",
                "approve",
                &id.to_string(),
                "--actor",
                "liis",
                "--json",
            ],
        ));
        assert_eq!(done["destroyed"], 2, "{b}: {done}");
        let act_no = done["act"].as_str().unwrap().to_string();

        // The act: a document of the acts series listing every destroyed document.
        let act = reg.get_by_reg_no(&act_no).await.unwrap();
        assert_eq!(act.series, "1-10", "{b}");
        assert!(
            act.restriction.is_some(),
            "{b}: it lists a restricted document"
        );
        let text = String::from_utf8(reg.file_bytes(&act.files[0].sha256).await.unwrap()).unwrap();
        for d in [&victim, &police] {
            assert!(text.contains(&d.reg_no), "{b}: {text}");
            assert!(text.contains(&d.files[0].sha256), "{b}: {text}");
            assert!(
                text.contains(&d.registered.strftime("%d.%m.%Y").to_string()),
                "{b}"
            );
        }
        assert!(
            text.contains("eraisik") && text.contains("Politsei- ja Piirivalveamet"),
            "{b}: {text}"
        );
        assert!(
            !text.contains("Maasikas") && !text.contains(PERSON),
            "{b}: {text}"
        );

        // The bytes are gone, the stubs stay, the rest is untouched.
        for d in [&victim, &police] {
            assert!(reg.file_bytes(&d.files[0].sha256).await.is_err(), "{b}");
            let stub = reg.get(d.id).await.unwrap();
            assert_eq!(
                (stub.reg_no.as_str(), stub.files.len()),
                (d.reg_no.as_str(), 1),
                "{b}"
            );
            assert_eq!(
                reg.destroyed_by(d.id).await.unwrap(),
                Some(act_no.clone()),
                "{b}"
            );
            let kinds: Vec<String> = reg
                .events(d.id)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.kind)
                .collect();
            assert!(kinds.contains(&"destroyed".to_string()), "{b}: {kinds:?}");
        }
        if let docgate::store::files::FileStore::Local(dir) = &app.store.files {
            let p = docgate::store::files::FileStore::local_path(dir, &victim.files[0].sha256);
            assert!(!p.exists(), "{b}: {} still exists", p.display());
        }
        assert!(reg.file_bytes(&kept.files[0].sha256).await.is_ok(), "{b}");
        let shown = json(&docgate(
            &env,
            &["disposal", "show", &id.to_string(), "--json"],
        ));
        assert_eq!(shown["status"], "approved", "{b}");
        assert_eq!(shown["act"], act_no.as_str(), "{b}");

        // verify: the chain records the destruction and knows which bytes are gone.
        let v = docgate(&env, &["verify", "--json"]);
        let report: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
        assert!(v.status.success() && report["ok"] == true, "{b}: {report}");
        // Nothing is due any more, and a second approval is refused.
        let after = json(&docgate(
            &env,
            &["retention", "due", "--as-of", "2025-01-01", "--json"],
        ));
        assert!(due_units(&after).is_empty(), "{b}: {after}");
        // The public register shows the stub as destroyed by its act; its file is gone.
        let router = docgate::web::router(app.clone());
        let (status, page) = public_get(&router, &format!("/avalik/dokument/{}", police.id)).await;
        assert_eq!(status, 200, "{b}: {page}");
        assert!(page.contains(&format!("hävitatud {act_no}")), "{b}: {page}");
        let (status, _) = public_get(
            &router,
            &format!(
                "/avalik/dokument/{}/fail/{}",
                police.id, police.files[0].sha256
            ),
        )
        .await;
        assert_eq!(status, 404, "{b}");
        let again = docgate(
            &env,
            &["disposal", "approve", &id.to_string(), "--actor", "liis"],
        );
        assert!(!again.status.success(), "{b}");
    }
}

#[tokio::test]
async fn a_hold_blocks_a_disposal() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        // 9-13/2014 holds the victim's letter; 9-16/2014 an invoice (7 years).
        let mut victim = doc("kiri", "9-13", "2014-03-03T10:00:00Z");
        victim.parties.push(
            Party::from_name_and_code("Mari Maasikas", Some(PERSON), PartyRole::Sender).unwrap(),
        );
        let victim = reg.register(victim, "t").await.unwrap();
        let invoice = reg
            .register(doc("arve", "9-16", "2014-05-05T10:00:00Z"), "t")
            .await
            .unwrap();
        // The person is on hold: her file unit is never proposed, and says why.
        let h = json(&docgate(
            &env,
            &[
                "hold",
                "add",
                &format!("person:{PERSON}"),
                "--reason",
                "kohtuvaidlus 2-25/1",
                "--json",
            ],
        ));
        assert_eq!(h["scope"], format!("person:{PERSON}"), "{b}");
        let due = json(&docgate(
            &env,
            &["retention", "due", "--as-of", "2025-01-01", "--json"],
        ));
        let units = due_units(&due);
        assert_eq!(units.len(), 2, "{b}: {due}");
        let held = due["series"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["file_units"].as_array().unwrap().iter())
            .find(|u| u["file_unit"] == "9-13/2014")
            .unwrap();
        assert!(
            held["held"][0]
                .as_str()
                .unwrap()
                .contains("kohtuvaidlus 2-25/1"),
            "{b}: {held}"
        );
        let list = json(&docgate(
            &env,
            &["disposal", "propose", "--as-of", "2025-01-01", "--json"],
        ));
        let proposed: Vec<&str> = list["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["file_unit"].as_str().unwrap())
            .collect();
        assert_eq!(proposed, vec!["9-16/2014"], "{b}");
        // A hold that arrives after the proposal blocks the approval.
        json(&docgate(
            &env,
            &[
                "hold",
                "add",
                "file-unit:9-16/2014",
                "--reason",
                "audit",
                "--json",
            ],
        ));
        let id = list["id"].as_i64().unwrap().to_string();
        let blocked = docgate(&env, &["disposal", "approve", &id]);
        assert!(!blocked.status.success(), "{b}");
        let err = String::from_utf8_lossy(&blocked.stderr);
        assert!(err.contains("audit"), "{b}: {err}");
        for d in [&victim, &invoice] {
            assert!(reg.destroyed_by(d.id).await.unwrap().is_none(), "{b}");
            assert!(reg.file_bytes(&d.files[0].sha256).await.is_ok(), "{b}");
        }
        // Lifted, the list is approved; the person's unit is still not touched.
        json(&docgate(
            &env,
            &[
                "hold",
                "remove",
                "file-unit:9-16/2014",
                "--reason",
                "audit lõppes",
                "--json",
            ],
        ));
        let done = json(&docgate(&env, &["disposal", "approve", &id, "--json"]));
        assert_eq!(done["destroyed"], 1, "{b}: {done}");
        assert!(reg.destroyed_by(invoice.id).await.unwrap().is_some(), "{b}");
        assert!(reg.destroyed_by(victim.id).await.unwrap().is_none(), "{b}");
        assert!(reg.file_bytes(&victim.files[0].sha256).await.is_ok(), "{b}");
        // A document and a thread hold work the same way.
        let doc_hold =
            docgate::lifecycle::Scope::parse(&format!("document:{}", victim.reg_no)).unwrap();
        reg.add_hold(&doc_hold, "teabenõue", "t").await.unwrap();
        let why = reg.holds_on(victim.id).await.unwrap();
        assert_eq!(why.len(), 2, "{b}: {why:?}");
        let v = docgate(&env, &["verify", "--json"]);
        assert!(
            v.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
}

#[tokio::test]
async fn file_units_open_close_and_move_with_an_audit_event() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let now = jiff::Timestamp::now().to_string();
        let first = reg
            .register(doc("taotlus", "9-14", &now), "t")
            .await
            .unwrap();
        let year = reg.today().year();
        assert_eq!(
            reg.file_unit_of(first.id).await.unwrap().unwrap().code,
            format!("9-14/{year}"),
            "{b}"
        );
        let case = json(&docgate(
            &env,
            &[
                "file-unit",
                "open",
                "--series",
                "9-14",
                "--title",
                "Ohvri X hüvitise asi",
                "--json",
            ],
        ));
        let code = case["code"].as_str().unwrap().to_string();
        assert_eq!(code, format!("9-14/{year}-1"), "{b}");
        // Only within the series, with a reason, and as an event.
        let wrong = reg
            .move_to_file_unit(&first.reg_no, &format!("9-13/{year}"), "x", "t")
            .await;
        assert!(wrong.is_err(), "{b}");
        json(&docgate(
            &env,
            &[
                "file-unit",
                "move",
                &first.reg_no,
                "--to",
                &code,
                "--reason",
                "ohvri asi",
                "--json",
            ],
        ));
        assert_eq!(
            reg.file_unit_of(first.id).await.unwrap().unwrap().code,
            code,
            "{b}"
        );
        let ev = reg.events(first.id).await.unwrap();
        let moved = ev
            .iter()
            .find(|e| e.kind == "file_unit_moved")
            .expect("a move event");
        assert_eq!(moved.detail["to"], code.as_str(), "{b}");
        // A follow-up joins the case file of the document it answers.
        let mut reply = doc("otsus", "9-14", &now);
        reply.direction = Direction::Outgoing;
        reply.reply_to = Some(first.reg_no.clone());
        reply.kind = Some("otsus".into());
        let reply = reg.register(reply, "t").await.unwrap();
        assert_eq!(
            reg.file_unit_of(reply.id).await.unwrap().unwrap().code,
            code,
            "{b}"
        );
        // Closed: nothing moves in; its decision started the retention (9-14: 10 years after the decision).
        json(&docgate(&env, &["file-unit", "close", &code, "--json"]));
        let second = reg.register(doc("teine", "9-14", &now), "t").await.unwrap();
        assert!(
            reg.move_to_file_unit(&second.reg_no, &code, "x", "t")
                .await
                .is_err(),
            "{b}"
        );
        let later = reply
            .registered
            .checked_add(jiff::Span::new().years(10))
            .unwrap()
            .tomorrow()
            .unwrap();
        let due = reg.retention_due(later).await.unwrap();
        let unit = due
            .iter()
            .find(|u| u.file_unit == code)
            .expect("the case file is due");
        assert_eq!(
            (unit.trigger, unit.started),
            (docgate::lifecycle::Trigger::Decision, reply.registered),
            "{b}"
        );
        assert!(
            reg.retention_due(later.yesterday().unwrap())
                .await
                .unwrap()
                .iter()
                .all(|u| u.file_unit != code),
            "{b}"
        );
        let v = docgate(&env, &["verify", "--json"]);
        assert!(
            v.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
}

#[test]
fn free_text_retention_in_the_document_list_is_refused() {
    let old = docgate::series::BUILTIN.replace(
        r#"retention = { period = 10, trigger = "registration_year", appraisal = "destroy" }"#,
        r#"retention = "10 aastat""#,
    );
    assert_ne!(old, docgate::series::BUILTIN);
    let e = docgate::series::SeriesList::parse(&old, "old.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("old.toml") && e.contains("vabatekst") && e.contains("period = 10"),
        "{e}"
    );
}

/// Migration 0017 puts every document registered before it into its series'
/// file unit of its registration year: its backfill statements, replayed on a
/// register whose documents have no file unit, on both backends.
#[tokio::test]
async fn migration_backfill_gives_existing_documents_their_year_unit() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let a = reg
            .register(doc("vana", "9-13", "2019-06-01T10:00:00Z"), "t")
            .await
            .unwrap();
        let c = reg
            .register(doc("teine", "9-16", "2021-02-01T10:00:00Z"), "t")
            .await
            .unwrap();
        let pool = &docgate::testing::raw_pool(&app).await;
        for t in ["DELETE FROM doc_file_units", "DELETE FROM file_units"] {
            sqlx::query(t).execute(pool).await.unwrap();
        }
        assert!(reg.file_unit_of(a.id).await.unwrap().is_none(), "{b}");
        let dir = if b == "postgres" {
            "postgres"
        } else {
            "sqlite"
        };
        let sql = std::fs::read_to_string(format!(
            "{}/migrations/{dir}/0017_lifecycle.sql",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let backfill = &sql[sql.find("INSERT INTO file_units").expect("the backfill")..];
        for stmt in backfill.split(';').filter(|s| !s.trim().is_empty()) {
            sqlx::query(stmt).execute(pool).await.unwrap();
        }
        for (d, unit) in [(&a, "9-13/2019"), (&c, "9-16/2021")] {
            let u = reg.file_unit_of(d.id).await.unwrap().expect("a file unit");
            assert_eq!(u.code, unit, "{b}");
            assert_eq!(u.opened.to_string(), format!("{}-01-01", &unit[5..]), "{b}");
        }
        // verify still passes: membership is beside the document, not in its state.
        let v = docgate(&env, &["verify", "--json"]);
        assert!(
            v.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
}

/// Public search hits (registration numbers) for a word.
async fn public_hits(app: &docgate::App, q: &str) -> Vec<String> {
    let req = docgate::search::SearchRequest {
        query: q.into(),
        limit: 20,
        ..Default::default()
    };
    docgate::search::search(app, &req, &docgate::search::Caller::Public)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.reg_no)
        .collect()
}

/// A case file's own access restriction covers its documents: a public letter
/// moved into a restricted case file, and a follow-up registered into it, are
/// restricted with the unit's ground and end (a `restricted` event naming the
/// unit), so the public search no longer finds them; a document restricted
/// on its own keeps its own restriction.
#[tokio::test]
async fn a_restricted_case_file_restricts_the_documents_that_join_it() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let now = jiff::Timestamp::now().to_string();
        let letter = reg
            .register(doc("pöördumine lumememm", "9-13", &now), "t")
            .await
            .unwrap();
        assert!(
            letter.restriction.is_none(),
            "{b}: the letter starts public"
        );
        assert_eq!(
            public_hits(&app, "lumememm").await,
            vec![letter.reg_no.clone()],
            "{b}"
        );
        let until = reg
            .today()
            .checked_add(jiff::Span::new().years(5))
            .unwrap()
            .to_string();
        let ground = "AvTS § 35 lg 1 p 12";
        let case = json(&docgate(
            &env,
            &[
                "file-unit",
                "open",
                "--series",
                "9-13",
                "--title",
                "Ohvri Y asi",
                "--ground",
                ground,
                "--ground-until",
                &until,
                "--json",
            ],
        ));
        let code = case["code"].as_str().unwrap().to_string();
        reg.move_to_file_unit(&letter.reg_no, &code, "ohvri asi", "kati")
            .await
            .unwrap();
        let moved = reg.get(letter.id).await.unwrap();
        let r = moved
            .restriction
            .as_ref()
            .expect("restricted by its case file");
        assert_eq!(
            (r.ground.as_str(), r.ends.to_string()),
            (ground, until.clone()),
            "{b}"
        );
        let ev = reg.events(letter.id).await.unwrap();
        let restricted = ev
            .iter()
            .find(|e| e.kind == "restricted")
            .expect("a restricted event");
        assert_eq!(restricted.detail["why"], "file_unit", "{b}");
        assert_eq!(restricted.detail["file_unit"], code.as_str(), "{b}");
        assert!(
            public_hits(&app, "lumememm").await.is_empty(),
            "{b}: the public search still finds a document of a restricted case file"
        );
        // A follow-up joins the case file and is restricted in the same transaction.
        let mut reply = doc("vastus jääkaru", "9-13", &now);
        reply.direction = Direction::Outgoing;
        reply.reply_to = Some(letter.reg_no.clone());
        let reply = reg.register(reply, "kati").await.unwrap();
        assert_eq!(
            reg.file_unit_of(reply.id).await.unwrap().unwrap().code,
            code,
            "{b}"
        );
        assert_eq!(
            reply.restriction.as_ref().map(|r| r.ground.as_str()),
            Some(ground),
            "{b}: the registered document as returned"
        );
        assert!(
            reg.get(reply.id).await.unwrap().restriction.is_some(),
            "{b}: the stored document"
        );
        assert!(public_hits(&app, "jääkaru").await.is_empty(), "{b}");
        // A document with a restriction of its own keeps it.
        let own = reg
            .register(doc("oma piiranguga", "9-14", &now), "t")
            .await
            .unwrap();
        let own_ground = own.restriction.clone().map(|r| r.ground);
        assert!(own_ground.is_some(), "{b}: 9-14 restricts by default");
        let case14 = json(&docgate(
            &env,
            &[
                "file-unit",
                "open",
                "--series",
                "9-14",
                "--title",
                "Teine asi",
                "--ground",
                ground,
                "--ground-until",
                &until,
                "--json",
            ],
        ));
        reg.move_to_file_unit(&own.reg_no, case14["code"].as_str().unwrap(), "x", "t")
            .await
            .unwrap();
        assert_eq!(
            reg.get(own.id).await.unwrap().restriction.map(|r| r.ground),
            own_ground,
            "{b}"
        );
        let v = docgate(&env, &["verify", "--json"]);
        assert!(
            v.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
}
