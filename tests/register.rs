//! The register core, run against every backend: SQLite always, PostgreSQL when
//! DOCGATE_TEST_POSTGRES_URL is set (CI always sets it).

use std::collections::HashSet;
use std::process::Command;

use docgate::model::*;
use docgate::register::{ListFilter, MetadataPatch};
use docgate::testing::{backends, TestEnv};

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

fn stdout_json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "docgate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test]
async fn numbering_threads_and_documents_round_trip() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let a = reg.register(doc("a"), "test").await.unwrap();
        let c = reg.register(doc("c"), "test").await.unwrap();
        assert_eq!(
            (a.reg_no.as_str(), c.reg_no.as_str()),
            ("9-13/1", "9-13/2"),
            "{b}"
        );
        let mut r1 = doc("reply");
        r1.direction = Direction::Outgoing;
        r1.reply_to = Some("9-13/1".into());
        let r1 = reg.register(r1, "test").await.unwrap();
        assert_eq!(r1.reg_no, "9-13/1-1");
        // A follow-up of a follow-up stays in the thread of the first document.
        let mut r2 = doc("again");
        r2.reply_to = Some("9-13/1-1".into());
        let r2 = reg.register(r2, "test").await.unwrap();
        assert_eq!(r2.reg_no, "9-13/1-2");
        assert_eq!(r2.thread_id, a.id);
        assert_eq!(r2.parent_id, Some(r1.id));
        let thread: Vec<String> = reg
            .thread(a.id)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.reg_no)
            .collect();
        assert_eq!(thread, vec!["9-13/1", "9-13/1-1", "9-13/1-2"]);
        // Other series count on their own.
        let mut s = doc("s");
        s.series = Some("9-14".into());
        assert_eq!(reg.register(s, "test").await.unwrap().reg_no, "9-14/1");
        // What was written is what is read back, files verified.
        let back = reg.get_by_reg_no("9-13/1").await.unwrap();
        assert_eq!(back, a);
        assert_eq!(reg.file_bytes(&a.files[0].sha256).await.unwrap(), b"sisu a");
        assert_eq!(reg.count(&ListFilter::default()).await.unwrap(), 5);
        assert_eq!(
            reg.count(&ListFilter {
                series: Some("9-14".into()),
                ..Default::default()
            })
            .await
            .unwrap(),
            1
        );
    }
}

#[tokio::test]
async fn a_batch_numbers_threads_and_reads_back_as_one_by_one() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let first = reg.register(doc("first"), "t").await.unwrap();
        // Follow-ups of a registered document and of one earlier in the same batch,
        // a second series, shared file contents, and parties.
        let mut a = doc("a");
        a.source_keys = vec!["sha256:a".into(), "msgid:<a@x>".into()];
        a.parties.push(
            Party::from_name_and_code("Mari Maasikas", Some("49403136515"), PartyRole::Sender)
                .unwrap(),
        );
        let mut r1 = doc("r1");
        r1.reply_to = Some(first.reg_no.clone());
        let mut r2 = doc("r2");
        r2.reply_to = Some("9-13/2".into());
        let mut r3 = doc("r3");
        r3.reply_to = Some("9-13/1-1".into());
        let mut s = doc("s");
        s.series = Some("9-14".into());
        let mut same = doc("a");
        same.title = "same file".into();
        let out = reg
            .register_batch(vec![a, r1, r2, r3, s, same], "t")
            .await
            .unwrap();
        let nos: Vec<&str> = out.iter().map(|d| d.reg_no.as_str()).collect();
        assert_eq!(
            nos,
            vec!["9-13/2", "9-13/1-1", "9-13/2-1", "9-13/1-2", "9-14/1", "9-13/3"],
            "{b}"
        );
        assert_eq!(out[0].thread_id, out[0].id, "{b}");
        assert_eq!(out[1].thread_id, first.id, "{b}");
        assert_eq!(
            (out[2].thread_id, out[2].parent_id),
            (out[0].id, Some(out[0].id)),
            "{b}"
        );
        assert_eq!(
            (out[3].thread_id, out[3].parent_id),
            (first.id, Some(out[1].id)),
            "{b}"
        );
        assert_eq!(out[0].files[0].sha256, out[5].files[0].sha256, "{b}");
        for d in &out {
            assert_eq!(
                &reg.get(d.id).await.unwrap(),
                d,
                "{b}: {} reads back",
                d.reg_no
            );
        }
        assert_eq!(
            reg.find_by_source_key("msgid:<a@x>").await.unwrap(),
            Some(out[0].id),
            "{b}"
        );
        // The counters went on from the batch.
        assert_eq!(
            reg.register(doc("next"), "t").await.unwrap().reg_no,
            "9-13/4"
        );
        let mut f = doc("f");
        f.reply_to = Some("9-13/1".into());
        assert_eq!(reg.register(f, "t").await.unwrap().reg_no, "9-13/1-3");
        // The same key twice in one batch, or a key already registered: refused
        // whole, and no number is burnt.
        let mut k1 = doc("k1");
        k1.source_keys = vec!["sha256:k".into()];
        let mut k2 = doc("k2");
        k2.source_keys = vec!["sha256:k".into()];
        let e = reg.register_batch(vec![k1, k2], "t").await.unwrap_err();
        assert_eq!(e.kind(), docgate::ErrorKind::Conflict, "{b}: {e}");
        let mut k3 = doc("k3");
        k3.source_keys = vec!["msgid:<a@x>".into()];
        let e = reg
            .register_batch(vec![doc("ok"), k3], "t")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), docgate::ErrorKind::Conflict, "{b}: {e}");
        assert!(e.to_string().contains("msgid:<a@x>"), "{b}: {e}");
        assert_eq!(
            reg.register(doc("last"), "t").await.unwrap().reg_no,
            "9-13/5"
        );
        let report = docgate::audit::verify(reg).await.unwrap();
        assert!(report.ok, "{b}: {:?}", report.problems);
        assert_eq!(report.events, 10, "{b}");
    }
}

#[tokio::test]
async fn yearly_pattern_restarts_each_year() {
    for b in backends() {
        let mut env = TestEnv::new(b).await;
        env.config.numbering.pattern = "{series}/{yy}/{seq}".into();
        let app = env.app().await;
        let mut d1 = doc("old");
        d1.registered_at = Some("2025-12-31T10:00:00Z".parse().unwrap());
        let mut d2 = doc("old2");
        d2.registered_at = Some("2025-12-31T21:59:00Z".parse().unwrap());
        // 22:30 UTC on 31 December is already the new year in Tallinn.
        let mut d3 = doc("new");
        d3.registered_at = Some("2025-12-31T22:30:00Z".parse().unwrap());
        let out = app
            .register
            .register_batch(vec![d1, d2, d3], "t")
            .await
            .unwrap();
        let nos: Vec<&str> = out.iter().map(|d| d.reg_no.as_str()).collect();
        assert_eq!(nos, vec!["9-13/25/1", "9-13/25/2", "9-13/26/1"], "{b}");
        assert_eq!(out[2].registered.to_string(), "2026-01-01");
    }
}

#[tokio::test]
async fn concurrent_registrants_get_distinct_contiguous_numbers() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let per = if b == "postgres" { 200 } else { 50 };
        let mut tasks = Vec::new();
        for w in 0..8 {
            let reg = app.register.clone();
            tasks.push(tokio::spawn(async move {
                let mut nos = Vec::new();
                for i in 0..per {
                    let d = reg.register(doc(&format!("w{w}-{i}")), "t").await.unwrap();
                    nos.push(d.reg_no);
                }
                nos
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let total = 8 * per;
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), total, "{b}: duplicate numbers");
        let mut seqs: Vec<i64> = all
            .iter()
            .map(|n| n.rsplit('/').next().unwrap().parse().unwrap())
            .collect();
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            (1..=total as i64).collect::<Vec<_>>(),
            "{b}: numbers are not contiguous"
        );
        let report = docgate::audit::verify(&app.register).await.unwrap();
        assert!(report.ok, "{b}: {:?}", report.problems);
        assert_eq!(report.events, total as i64);
    }
}

#[tokio::test]
async fn a_failed_batch_writes_nothing_and_burns_no_number() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let mut bad = doc("bad");
        bad.series = Some("no-such".into());
        let err = app
            .register
            .register_batch(vec![doc("ok"), bad], "t")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no-such"), "{err}");
        assert_eq!(app.register.count(&ListFilter::default()).await.unwrap(), 0);
        let d = app.register.register(doc("next"), "t").await.unwrap();
        assert_eq!(
            d.reg_no, "9-13/1",
            "{b}: a rolled-back number must be reused, not skipped"
        );
        assert!(docgate::audit::verify(&app.register).await.unwrap().ok);
    }
}

#[tokio::test]
async fn duplicate_source_keys_are_refused() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let mut d = doc("m");
        d.source_keys = vec!["sha256:abc".into(), "msgid:<x@y>".into()];
        app.register.register(d, "t").await.unwrap();
        let mut again = doc("m2");
        again.source_keys = vec!["msgid:<x@y>".into()];
        let e = app.register.register(again, "t").await.unwrap_err();
        assert_eq!(e.kind(), docgate::ErrorKind::Conflict, "{b}");
        assert_eq!(app.register.count(&ListFilter::default()).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn restriction_set_extended_lifted_and_released_are_chained() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let d = reg.register(doc("x"), "clerk").await.unwrap();
        let today = reg.today();
        let ends = today.checked_add(jiff::Span::new().years(1)).unwrap();
        let r = NewRestriction {
            end_by: Default::default(),
            ground: "AvTS § 35 lg 1 p 1".into(),
            ends,
            holder: None,
            begins: None,
        };
        let d = reg.restrict(d.id, r, "clerk").await.unwrap();
        assert_eq!(d.access(), Access::AK);
        let ext = |new_end, role| docgate::register::Extension {
            new_end,
            decision: "1-1/7".into(),
            reason: "uurimine kestab".into(),
            role,
        };
        let too_far = ends.checked_add(jiff::Span::new().years(6)).unwrap();
        let e = reg
            .extend_restriction(d.id, &ext(too_far, docgate::web::Role::Lead), "lead")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("5 year"), "{e}");
        let later = ends.checked_add(jiff::Span::new().years(2)).unwrap();
        // Only the lead extends (AvTS § 40 lg 1: the head of the agency).
        let e = reg
            .extend_restriction(d.id, &ext(later, docgate::web::Role::Clerk), "clerk")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), docgate::error::ErrorKind::Forbidden, "{e}");
        // A decision reference is required.
        let mut no_decision = ext(later, docgate::web::Role::Lead);
        no_decision.decision = " ".into();
        let e = reg
            .extend_restriction(d.id, &no_decision, "lead")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("decision"), "{e}");
        let d = reg
            .extend_restriction(d.id, &ext(later, docgate::web::Role::Lead), "lead")
            .await
            .unwrap();
        assert!(d.restriction.as_ref().unwrap().extended);
        let ev = reg.events(d.id).await.unwrap();
        let last = ev.last().unwrap();
        assert_eq!(last.kind, "restriction_extended");
        assert_eq!(last.detail["decision"], "1-1/7");
        assert_eq!(last.detail["basis"], "AvTS § 40 lg 1");
        let e = reg
            .extend_restriction(
                d.id,
                &ext(
                    later.checked_add(jiff::Span::new().days(1)).unwrap(),
                    docgate::web::Role::Lead,
                ),
                "lead",
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("already extended"), "{e}");
        reg.record_release(
            d.id,
            "Politsei- ja Piirivalveamet",
            "päring",
            "DHX",
            "clerk",
        )
        .await
        .unwrap();
        let d = reg
            .lift_restriction(d.id, "põhjus möödus", "lead")
            .await
            .unwrap();
        assert_eq!(d.access(), Access::Avalik);
        let d = reg
            .update(
                d.id,
                MetadataPatch {
                    responsible: Some(Some("mari.maasikas".into())),
                    ..Default::default()
                },
                "lead",
            )
            .await
            .unwrap();
        assert_eq!(d.responsible.as_deref(), Some("mari.maasikas"));
        let kinds: Vec<String> = reg
            .events(d.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                "registered",
                "restricted",
                "restriction_extended",
                "released",
                "restriction_lifted",
                // the DHX recipient of the release is told (AvTS § 42 lg 3)
                "restriction_notice",
                "edited"
            ],
            "{b}"
        );
        assert!(docgate::audit::verify(&reg.clone()).await.unwrap().ok);
    }
}

/// Runs `docgate verify --json` and returns (exit code, report).
fn verify_cli(env: &TestEnv) -> (i32, serde_json::Value) {
    let out = docgate(env, &["verify", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("verify prints JSON");
    (out.status.code().unwrap(), v)
}

async fn exec(app: &docgate::App, sql: &str) {
    sqlx::query(sql)
        .execute(&docgate::testing::raw_pool(app).await)
        .await
        .unwrap();
}

#[tokio::test]
async fn tampering_behind_docgates_back_is_detected() {
    // Each case: a fresh register with three documents, one edit made directly in
    // the database or on disk, and what `docgate verify` must name.
    let cases: &[(&str, &str)] = &[
        ("UPDATE documents SET title = 'muudetud' WHERE id = 2", "9-13/2"),
        ("DELETE FROM documents WHERE id = 3", "document 3"),
        ("UPDATE events SET actor = 'someone' WHERE seq = 2", "event 2"),
        ("DELETE FROM events WHERE seq = 2", "event 2"),
        ("DELETE FROM events WHERE seq = 3", "event 3"),
        ("UPDATE parties SET name = 'Keegi Teine' WHERE doc_id = 1", "9-13/1"),
        ("UPDATE documents SET r_ground = NULL, r_ends = NULL WHERE id = 1", "9-13/1"),
        ("UPDATE doc_files SET name = 'other.txt' WHERE doc_id = 2", "9-13/2"),
        ("INSERT INTO parties (doc_id, pos, kind, role, name) VALUES (2, 5, 'person', 'sender', 'Lisatud')", "9-13/2"),
        ("FILE", "corrupt"),
    ];
    for b in backends() {
        for (sql, needle) in cases {
            let env = TestEnv::new(b).await;
            let app = env.app().await;
            let mut first = doc("a");
            first.parties.push(
                Party::from_name_and_code("Mari Maasikas", Some("49403136515"), PartyRole::Sender)
                    .unwrap(),
            );
            first.restriction = Some(NewRestriction {
                end_by: Default::default(),
                ground: "AvTS § 35 lg 1 p 11".into(),
                ends: "2040-01-01".parse().unwrap(),
                holder: None,
                begins: None,
            });
            app.register
                .register_batch(vec![first, doc("b"), doc("c")], "t")
                .await
                .unwrap();
            let (code, _) = verify_cli(&env);
            assert_eq!(code, 0, "{b}: a clean register verifies");
            if *sql == "FILE" {
                let d = app.register.get(2).await.unwrap();
                let sha = &d.files[0].sha256;
                match &app.store.files {
                    docgate::store::FileStore::Local(dir) => {
                        let p = docgate::store::FileStore::local_path(dir, sha);
                        std::fs::write(p, b"sisu B").unwrap();
                    }
                    docgate::store::FileStore::Database => {
                        exec(
                            &app,
                            &format!("UPDATE blobs SET data = data || data WHERE sha256 = '{sha}'"),
                        )
                        .await;
                    }
                }
                let e = app.register.file_bytes(sha).await.unwrap_err();
                assert_eq!(e.kind(), docgate::ErrorKind::Integrity);
            } else {
                exec(&app, sql).await;
            }
            let (code, report) = verify_cli(&env);
            assert_eq!(code, 3, "{b}: `{sql}` must fail verification: {report}");
            let text = report["problems"].to_string();
            assert!(
                text.contains(needle),
                "{b}: `{sql}`: expected the report to name {needle:?}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn cli_contract_register_show_list_verify() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let p = env.dir.path();
        std::fs::write(
            p.join("taotlus.txt"),
            "Hüvitise taotlus, isikukood 49403136515",
        )
        .unwrap();
        std::fs::write(p.join("lisa.pdf"), b"%PDF-1.4 fake").unwrap();
        let out = docgate(&env, &["init"]);
        assert!(out.status.success());
        let out = docgate(&env, &["init"]);
        assert!(out.status.success(), "init is safe to run twice");
        let v = stdout_json(&docgate(
            &env,
            &[
                "register",
                "taotlus.txt",
                "lisa.pdf",
                "--type",
                "oas-huvitis",
                "--party",
                "Mari Maasikas",
                "--party-code",
                "49403136515",
                "--restrict",
                "AvTS § 35 lg 1 p 11",
                "--restrict-until",
                "2060-01-01",
                "--received",
                "2026-01-05",
                "--registered",
                "2026-01-06",
                "--json",
            ],
        ));
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 2);
        for key in ["reg_no", "id", "title", "direction", "series", "files"] {
            assert!(arr[0].get(key).is_some(), "register JSON lacks {key}: {v}");
        }
        assert_eq!(arr[0]["reg_no"], "9-13/1");
        assert_eq!(arr[0]["files"][0]["size"], 40);
        assert_eq!(arr[0]["files"][0]["name"], "taotlus.txt");
        let v = stdout_json(&docgate(
            &env,
            &[
                "register",
                "lisa.pdf",
                "--reply-to",
                "9-13/1",
                "--direction",
                "outgoing",
                "--json",
            ],
        ));
        assert_eq!(
            v[0]["reg_no"], "9-13/1-1",
            "a follow-up keeps its thread's number"
        );
        let show = stdout_json(&docgate(&env, &["show", "9-13/1", "--json"]));
        assert_eq!(show["restriction"]["ground"], "AvTS § 35 lg 1 p 11");
        assert_eq!(show["access"], "AK");
        assert_eq!(show["registered"], "2026-01-06");
        assert_eq!(show["received"], "2026-01-05");
        assert_eq!(show["parties"][0]["kind"], "person");
        assert_eq!(show["events"][0]["kind"], "registered");
        let list = stdout_json(&docgate(&env, &["list", "--json"]));
        assert_eq!(list.as_array().unwrap().len(), 3);
        assert_eq!(list[0], arr[0], "list prints the same objects as register");
        let list = stdout_json(&docgate(&env, &["list", "--series", "9-14", "--json"]));
        assert_eq!(list.as_array().unwrap().len(), 0);
        let out = docgate(&env, &["verify"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[tokio::test]
async fn bad_input_gets_one_line_naming_it_and_writes_nothing() {
    let env = TestEnv::new("sqlite").await;
    let p = env.dir.path();
    std::fs::write(p.join("a.txt"), "x").unwrap();
    let first = stdout_json(&docgate(&env, &["register", "a.txt", "--json"]));
    assert_eq!(first[0]["reg_no"], "9-13/1");
    let cases: &[(&[&str], &str)] = &[
        (&["register", "missing.txt"], "missing.txt"),
        (&["register", "a.txt", "--series", "77-7"], "77-7"),
        (
            &["register", "a.txt", "--received", "2026-02-30"],
            "--received",
        ),
        (
            &["register", "a.txt", "--registered", "yesterday"],
            "--registered",
        ),
        (
            &["register", "a.txt", "--restrict", "AvTS § 35 lg 1 p 12"],
            "--restrict-until",
        ),
        (
            &["register", "a.txt", "--restrict-until", "2027-01-01"],
            "ground",
        ),
        (
            &[
                "register",
                "a.txt",
                "--restrict",
                "AvTS § 35 lg 1 p 1",
                "--restrict-until",
                "2099-01-01",
            ],
            "legal maximum",
        ),
        (
            &["register", "a.txt", "--type", "no-such-rule"],
            "no-such-rule",
        ),
        (
            &["register", "a.txt", "--direction", "sideways"],
            "sideways",
        ),
        (
            &["register", "a.txt", "--party", "X", "--party-code", "123"],
            "123",
        ),
        (&["register", "a.txt", "--reply-to", "9-13/999"], "9-13/999"),
        (
            &[
                "register",
                "a.txt",
                "--reply-to",
                "9-13/1",
                "--series",
                "9-14",
            ],
            "9-14",
        ),
        (&["register", "a.txt", "missing2.txt"], "missing2.txt"),
        (&["show", "9-13/404"], "9-13/404"),
    ];
    for (args, needle) in cases {
        let out = docgate(&env, args);
        // By kind: a missing document is "not found" (5), every wrong value
        // or missing input file a usage error (2).
        let code = if *needle == "9-13/404" { 5 } else { 2 };
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line, got {err:?}"
        );
        assert!(
            err.contains(needle),
            "{args:?}: {err:?} should name {needle:?}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = docgate(&env, &["register"]);
    assert_eq!(out.status.code(), Some(2), "usage error");
    let list = stdout_json(&docgate(&env, &["list", "--json"]));
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing was half-written: {list}"
    );
}

#[tokio::test]
async fn outbox_claims_never_hand_one_message_to_two_workers() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let mut tx = app.register.begin().await.unwrap();
        let d = app
            .register
            .register_in(&mut tx, doc("kiri"), "t")
            .await
            .unwrap();
        for i in 0..60 {
            docgate::outbox::enqueue_in(
                &mut tx,
                docgate::outbox::NewOutboxItem {
                    doc_id: Some(d.id),
                    channel: "email".into(),
                    recipient: format!("r{i}@example.ee"),
                    payload: serde_json::json!({"i": i}),
                    dedup_key: Some(format!("k{i}")),
                    not_before: None,
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let mut tasks = Vec::new();
        for w in 0..4 {
            let store = app.store.clone();
            let register = app.register.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let items = docgate::outbox::claim(
                        &store,
                        "email",
                        &format!("w{w}"),
                        5,
                        std::time::Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
                    if items.is_empty() {
                        break;
                    }
                    for it in items {
                        assert!(
                            docgate::outbox::mark_sent(&register, &it, "250 ok", None)
                                .await
                                .unwrap(),
                            "the claiming worker holds the lease"
                        );
                        got.push(it.id);
                    }
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 60, "{b}: every message claimed once");
        assert_eq!(distinct.len(), 60, "{b}");
        let items = docgate::outbox::for_document(&app.store, d.id)
            .await
            .unwrap();
        assert!(
            items.iter().all(|i| i.state == "sent" && i.attempts == 1),
            "{b}"
        );
    }
}

#[tokio::test]
async fn several_processes_sharing_postgres_number_without_gaps() {
    if !backends().contains(&"postgres") {
        return;
    }
    let env = TestEnv::new("postgres").await;
    std::fs::write(env.dir.path().join("kiri.txt"), "kiri").unwrap();
    assert!(docgate(&env, &["init"]).status.success());
    let mut children = Vec::new();
    for p in 0..4 {
        let mut c = tokio::process::Command::new("sh");
        let script = format!(
            "for i in $(seq 1 15); do {} register kiri.txt --title p{p}-$i --json || exit 1; done",
            env!("CARGO_BIN_EXE_docgate")
        );
        c.args(["-c", &script]).current_dir(env.dir.path());
        for (k, v) in env.env() {
            c.env(k, v);
        }
        // Each process has its own data directory: they share only the database.
        c.env("DOCGATE_DATA_DIR", env.dir.path().join(format!("proc{p}")));
        children.push(c);
    }
    let mut outs = Vec::new();
    let running: Vec<_> = children.iter_mut().map(|c| c.output()).collect();
    for r in running {
        outs.push(r.await.unwrap());
    }
    let mut nos = Vec::new();
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            if let Some(n) = line.trim().strip_prefix("\"reg_no\": \"") {
                nos.push(n.trim_end_matches(['"', ',']).to_string());
            }
        }
    }
    let mut seqs: Vec<i64> = nos
        .iter()
        .map(|n| n.rsplit('/').next().unwrap().parse().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=60).collect::<Vec<_>>());
    let out = docgate(&env, &["verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn public_title_is_set_edited_with_an_audit_event_and_read_back() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        // Unset: it stays None (the web layer shows the masked title).
        let plain = reg.register(doc("ilma"), "test").await.unwrap();
        assert_eq!(plain.public_title, None, "{b}");
        assert_eq!(reg.get(plain.id).await.unwrap().public_title, None, "{b}");

        let mut n = doc("Avaldus: Jüri Juurikas");
        n.public_title = Some("  Avaldus  ".into());
        let d = reg.register(n, "test").await.unwrap();
        assert_eq!(d.public_title.as_deref(), Some("Avaldus"), "{b}");
        assert_eq!(reg.get(d.id).await.unwrap(), d, "{b}");

        let e = reg
            .update(
                d.id,
                MetadataPatch {
                    public_title: Some(Some("Hüvitise taotlus".into())),
                    ..Default::default()
                },
                "clerk",
            )
            .await
            .unwrap();
        assert_eq!(e.public_title.as_deref(), Some("Hüvitise taotlus"), "{b}");
        let back = reg.get(d.id).await.unwrap();
        assert_eq!(
            back.public_title.as_deref(),
            Some("Hüvitise taotlus"),
            "{b}"
        );
        assert_eq!(back.title, "Avaldus: Jüri Juurikas", "{b}");
        let events = reg.events(d.id).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.kind, "edited", "{b}");
        assert_eq!(last.actor, "clerk", "{b}");
        assert_eq!(
            last.detail["fields"],
            serde_json::json!(["public_title"]),
            "{b}"
        );
        // The chain's state hash covers it: the edit's hash is the state read back.
        assert_eq!(
            last.state_hash.as_deref(),
            Some(
                docgate::register::state_hash(&back, reg.body(d.id).await.unwrap().as_deref())
                    .as_str()
            ),
            "{b}"
        );
        // Cleared again.
        let c = reg
            .update(
                d.id,
                MetadataPatch {
                    public_title: Some(None),
                    ..Default::default()
                },
                "clerk",
            )
            .await
            .unwrap();
        assert_eq!(c.public_title, None, "{b}");
        assert_eq!(reg.get(d.id).await.unwrap().public_title, None, "{b}");
    }
}

fn person(name: &str) -> Party {
    Party::from_name_and_code(name, None, PartyRole::Sender).unwrap()
}

fn organisation(name: &str) -> Party {
    Party::from_name_and_code(name, Some("70008747"), PartyRole::Sender).unwrap()
}

fn years_after(d: jiff::civil::Date, years: i16) -> jiff::civil::Date {
    d.checked_add(jiff::Span::new().years(years)).unwrap()
}

#[tokio::test]
async fn a_natural_person_party_restricts_by_default_and_an_organisation_does_not() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        // Incoming from a person without a personal code, received earlier:
        // 75 years counted from the receipt date (AvTS § 40 lg 3).
        let mut n = doc("Avaldus");
        n.parties.push(person("Mari Maasikas"));
        let received = reg.today().checked_sub(jiff::Span::new().days(3)).unwrap();
        n.received = Some(received);
        let d = reg.register(n, "clerk").await.unwrap();
        let r = d.restriction.as_ref().expect("restricted by default");
        assert_eq!(r.ground, "AvTS § 35 lg 1 p 11", "{b}");
        assert_eq!(r.ends, years_after(received, 75), "{b}");
        assert!(!d.contains_personal_data, "{b}: no personal code in it");
        assert_eq!(
            d.proposed_ground.as_deref(),
            Some("AvTS § 35 lg 1 p 11"),
            "{b}"
        );
        assert!(!d.needs_review, "{b}: registered by a clerk");
        assert_eq!(reg.get(d.id).await.unwrap(), d, "{b}");
        let ev = reg.events(d.id).await.unwrap();
        assert_eq!(ev[0].detail["restriction"]["why"], "person_party", "{b}");
        assert_eq!(ev[0].detail["restriction"]["term"], "AvTS § 40 lg 3", "{b}");

        // Outgoing to a natural person: the same rule; no receipt date, so from registration.
        let mut n = doc("Vastus");
        n.direction = Direction::Outgoing;
        n.parties.push(Party {
            role: PartyRole::Recipient,
            ..person("Jüri Juurikas")
        });
        let d = reg.register(n, "clerk").await.unwrap();
        let r = d
            .restriction
            .as_ref()
            .expect("outgoing to a person is restricted");
        assert_eq!(r.ends, years_after(d.registered, 75), "{b}");

        // A personal code in a file's text, no party at all.
        let mut n = NewDocument::new(Direction::Incoming, Channel::Post, "Skann");
        let mut f = NewFile::new("skann.txt", "text/plain", b"x".to_vec());
        f.text = Some("isikukood 49403136515".into());
        n.files.push(f);
        let d = reg.register(n, "clerk").await.unwrap();
        assert!(d.contains_personal_data, "{b}");
        assert!(d.restriction.is_some(), "{b}: a code in a file's text");

        // An organisation with no personal data: public, nothing proposed.
        let mut n = doc("Politsei teade");
        n.parties.push(organisation("Politsei- ja Piirivalveamet"));
        let d = reg.register(n, "clerk").await.unwrap();
        assert_eq!(d.restriction, None, "{b}");
        assert!(!d.contains_personal_data, "{b}");
        assert_eq!(d.proposed_ground, None, "{b}");
    }
}

#[tokio::test]
async fn a_series_default_ground_is_applied_with_its_end_date() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        // 9-14: AvTS § 35 lg 1 p 14, 75 years, even from an organisation.
        let mut n = doc("Hüvitise otsus");
        n.series = Some("9-14".into());
        n.parties.push(organisation("Politsei- ja Piirivalveamet"));
        let d = reg.register(n, "clerk").await.unwrap();
        let r = d.restriction.as_ref().expect("the series' ground");
        assert_eq!(r.ground, "AvTS § 35 lg 1 p 14", "{b}");
        assert_eq!(r.ends, years_after(d.registered, 75), "{b}");
        assert_eq!(r.marked, d.registered, "{b}");
        let ev = reg.events(d.id).await.unwrap();
        assert_eq!(ev[0].detail["restriction"]["why"], "series", "{b}");
        assert_eq!(ev[0].detail["restriction"]["term"], "AvTS § 40 lg 3", "{b}");
        // 9-17: AvTS § 35 lg 1 p 1, but the series holds personal data
        // (victims' letters): 75 years (§ 40 lg 3), from the receipt date.
        let mut n = doc("Prokuratuuri kiri");
        n.series = Some("9-17".into());
        let received = reg.today().checked_sub(jiff::Span::new().days(1)).unwrap();
        n.received = Some(received);
        let d = reg.register(n, "clerk").await.unwrap();
        let r = d.restriction.as_ref().expect("the series' ground");
        assert_eq!(r.ground, "AvTS § 35 lg 1 p 1", "{b}");
        assert_eq!(r.ends, years_after(received, 75), "{b}");
        let ev = reg.events(d.id).await.unwrap();
        assert_eq!(ev[0].detail["restriction"]["term"], "AvTS § 40 lg 3", "{b}");
        // The caller's own restriction wins over the series' default.
        let mut n = doc("Oma piirang");
        n.series = Some("9-14".into());
        n.restriction = Some(NewRestriction {
            end_by: Default::default(),
            ground: "AvTS § 35 lg 1 p 12".into(),
            ends: years_after(reg.today(), 10),
            holder: None,
            begins: None,
        });
        let d = reg.register(n, "clerk").await.unwrap();
        assert_eq!(d.restriction.unwrap().ground, "AvTS § 35 lg 1 p 12", "{b}");
    }
}

#[tokio::test]
async fn public_reason_registers_it_public_and_lifting_needs_a_reason() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let mut n = doc("Teabenõue");
        n.series = Some("1-7".into());
        n.parties.push(person("Toomas Tamm"));
        n.public_reason = Some("Isikuandmeid ei ole; avalik teave".into());
        let d = reg.register(n, "clerk").await.unwrap();
        assert_eq!(d.restriction, None, "{b}");
        assert_eq!(reg.get(d.id).await.unwrap().restriction, None, "{b}");
        let ev = reg.events(d.id).await.unwrap();
        assert_eq!(ev[0].kind, "registered", "{b}");
        assert_eq!(
            ev[0].detail["public_reason"], "Isikuandmeid ei ole; avalik teave",
            "{b}"
        );
        // An empty reason, or a reason beside a restriction, is refused.
        let mut n = doc("Tühi põhjus");
        n.public_reason = Some("  ".into());
        let e = reg.register(n, "clerk").await.unwrap_err().to_string();
        assert!(e.contains("public_reason"), "{b}: {e}");
        let mut n = doc("Mõlemad");
        n.public_reason = Some("avalik".into());
        n.restriction = Some(NewRestriction {
            end_by: Default::default(),
            ground: "AvTS § 35 lg 1 p 12".into(),
            ends: years_after(reg.today(), 1),
            holder: None,
            begins: None,
        });
        let e = reg.register(n, "clerk").await.unwrap_err().to_string();
        assert!(e.contains("public_reason"), "{b}: {e}");

        // Lifting a default restriction: refused without a reason, recorded with one.
        let mut n = doc("Piiratud");
        n.parties.push(person("Mari Maasikas"));
        let d = reg.register(n, "clerk").await.unwrap();
        assert!(d.restriction.is_some(), "{b}");
        for empty in ["", "   "] {
            let e = reg
                .lift_restriction(d.id, empty, "clerk")
                .await
                .unwrap_err();
            assert!(e.is_user_error(), "{b}");
            assert!(e.to_string().contains("reason"), "{b}: {e}");
        }
        assert!(reg.get(d.id).await.unwrap().restriction.is_some(), "{b}");
        let lifted = reg
            .lift_restriction(d.id, "Kliendi nõusolekul avalik", "clerk")
            .await
            .unwrap();
        assert_eq!(lifted.restriction, None, "{b}");
        let ev = reg.events(d.id).await.unwrap();
        let last = ev.last().unwrap();
        assert_eq!(last.kind, "restriction_lifted", "{b}");
        assert_eq!(last.detail["reason"], "Kliendi nõusolekul avalik", "{b}");
    }
}

#[tokio::test]
async fn every_free_text_limit_is_refused_naming_the_field() {
    let long = |n: usize| "ö".repeat(n);
    type Set = fn(&mut NewDocument, String);
    let cases: Vec<(&str, usize, Set)> = vec![
        ("title", 500, |n, v| n.title = v),
        ("public_title", 500, |n, v| n.public_title = Some(v)),
        ("party", 200, |n, v| n.parties[0].name = v),
        ("party_email", 254, |n, v| n.parties[0].email = Some(v)),
        ("their_ref", 100, |n, v| n.their_ref = Some(v)),
        ("responsible", 100, |n, v| n.responsible = Some(v)),
        ("unit", 100, |n, v| n.unit = Some(v)),
        ("message_id", 998, |n, v| n.message_id = Some(v)),
        ("file_name", 255, |n, v| n.files[0].name = v),
        ("public_reason", 2000, |n, v| n.public_reason = Some(v)),
        ("restriction_ground", 200, |n, v| {
            n.restriction.as_mut().unwrap().ground = v
        }),
        ("restriction_holder", 200, |n, v| {
            n.restriction.as_mut().unwrap().holder = Some(v)
        }),
    ];
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let base = || {
            let mut n = doc("piirid");
            n.parties.push(organisation("Politsei- ja Piirivalveamet"));
            n
        };
        for (field, max, set) in &cases {
            let mut ok = base();
            let mut bad = base();
            if field.starts_with("restriction") {
                for n in [&mut ok, &mut bad] {
                    n.restriction = Some(NewRestriction {
                        end_by: Default::default(),
                        ground: "AvTS § 35 lg 1 p 12".into(),
                        ends: years_after(reg.today(), 1),
                        holder: None,
                        begins: None,
                    });
                }
            }
            set(&mut ok, long(*max));
            set(&mut bad, long(max + 1));
            let e = reg.register(bad, "t").await.unwrap_err();
            assert!(e.is_user_error(), "{b} {field}: {e}");
            let msg = e.to_string();
            assert_eq!(e.field(), Some(*field), "{b}: {msg}");
            assert!(msg.contains(field), "{b} {field}: {msg}");
            assert!(!msg.contains("--"), "{b} {field}: no flag names: {msg}");
            if !field.starts_with("restriction") {
                reg.register(ok, "t")
                    .await
                    .unwrap_or_else(|e| panic!("{b} {field} at the limit: {e}"));
            }
        }
        // The body: 10 MB.
        let mut n = base();
        n.body = Some("a".repeat(10 * 1024 * 1024 + 1));
        let e = reg.register(n, "t").await.unwrap_err().to_string();
        assert!(e.contains("body"), "{b}: {e}");
        // Edits, restrictions and reasons are bounded too.
        let d = reg.register(base(), "t").await.unwrap();
        let e = reg
            .update(
                d.id,
                MetadataPatch {
                    public_title: Some(Some(long(501))),
                    ..Default::default()
                },
                "t",
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("public_title"), "{b}: {e}");
        let e = reg
            .update(
                d.id,
                MetadataPatch {
                    title: Some(long(501)),
                    ..Default::default()
                },
                "t",
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("title"), "{b}: {e}");
        let e = reg
            .restrict(
                d.id,
                NewRestriction {
                    end_by: Default::default(),
                    ground: long(201),
                    ends: years_after(reg.today(), 1),
                    holder: None,
                    begins: None,
                },
                "t",
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("restriction_ground"), "{b}: {e}");
        let r = reg
            .restrict(
                d.id,
                NewRestriction {
                    end_by: Default::default(),
                    ground: "AvTS § 35 lg 1 p 12".into(),
                    ends: years_after(reg.today(), 1),
                    holder: None,
                    begins: None,
                },
                "t",
            )
            .await
            .unwrap();
        let e = reg
            .lift_restriction(r.id, &long(2001), "t")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("reason"), "{b}: {e}");
        // Nothing refused was written.
        assert_eq!(reg.count(&ListFilter::default()).await.unwrap(), 11, "{b}");
    }
}

#[tokio::test]
async fn cli_register_public_needs_a_reason_and_excludes_restrict() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let f = env.dir.path().join("kiri.txt");
        std::fs::write(&f, "sisu").unwrap();
        let f = f.to_str().unwrap();
        let out = docgate(
            &env,
            &[
                "register",
                f,
                "--party",
                "Mari Maasikas",
                "--public",
                "Avalik teave",
                "--json",
            ],
        );
        let v = stdout_json(&out);
        let reg_no = v[0]["reg_no"].as_str().unwrap().to_string();
        let app = env.app().await;
        let d = app.register.get_by_reg_no(&reg_no).await.unwrap();
        assert_eq!(d.restriction, None, "{b}");
        assert!(!d.needs_review, "{b}: a clerk's registration is classified");
        let ev = app.register.events(d.id).await.unwrap();
        assert_eq!(ev[0].detail["public_reason"], "Avalik teave", "{b}");
        // Without --public a natural person restricts it.
        let v = stdout_json(&docgate(
            &env,
            &["register", f, "--party", "Mari Maasikas", "--json"],
        ));
        let d = app
            .register
            .get_by_reg_no(v[0]["reg_no"].as_str().unwrap())
            .await
            .unwrap();
        assert!(d.restriction.is_some(), "{b}");
        // --public with --restrict: a usage error; an empty reason: refused.
        let out = docgate(
            &env,
            &[
                "register",
                f,
                "--public",
                "x",
                "--restrict",
                "AvTS § 35 lg 1 p 12",
                "--restrict-until",
                "2030-01-01",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{b}");
        let out = docgate(&env, &["register", f, "--public", " "]);
        assert_eq!(out.status.code(), Some(2), "{b}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--public"),
            "{b}"
        );
        assert_eq!(
            app.register.count(&ListFilter::default()).await.unwrap(),
            2,
            "{b}"
        );
    }
}

/// `ListOrder::Due` and `::Party` read through indexes (migration 0018) and
/// must give exactly what the reference form (correlated subqueries, NULLS
/// LAST, ties by id in the same direction) gives: documents with and without a
/// deadline row, rows without a due date, persons as "eraisik", organisations,
/// no party, ties, both directions, filters and every page.
#[tokio::test]
async fn list_by_deadline_and_party_matches_the_subquery_order() {
    use docgate::register::ListOrder;
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let orgs = ["Alfa AS", "Bravo MTÜ", "eraisik OÜ", "Ärma talu", "Alfa AS"];
        let mut ids = vec![];
        let new = |i: usize| {
            let mut d = NewDocument::new(
                if i.is_multiple_of(5) {
                    Direction::Outgoing
                } else {
                    Direction::Incoming
                },
                Channel::Post,
                format!("Kiri {i}"),
            );
            d.registered_at = Some(
                jiff::civil::date(2026, 3, 2 + (i % 4) as i8)
                    .at(10, 0, 0, 0)
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .unwrap()
                    .timestamp(),
            );
            d.responsible = Some(if i.is_multiple_of(3) { "mari" } else { "jaan" }.into());
            d.needs_review = i.is_multiple_of(7);
            if i % 6 == 1 {
                d.doc_type = Some("avts-teabenoue".into());
            }
            let party = |kind, name: &str| Party {
                kind,
                role: PartyRole::Sender,
                name: name.into(),
                code: None,
                email: None,
            };
            match i % 4 {
                0 => {}
                1 => d
                    .parties
                    .push(party(PartyKind::Person, ["Zorro", "Aadu"][i % 2])),
                _ => {
                    d.parties
                        .push(party(PartyKind::Organisation, orgs[i % orgs.len()]));
                    d.parties.push(party(PartyKind::Person, "Teine Isik"));
                }
            }
            d
        };
        for i in 0..40 {
            ids.push(reg.register(new(i), "test").await.unwrap().id);
        }
        // a changed party list is read from its new first party
        let patch = |parties: Vec<Party>| MetadataPatch {
            parties: Some(parties),
            ..Default::default()
        };
        reg.update(
            ids[4],
            patch(reg.get(ids[6]).await.unwrap().parties),
            "test",
        )
        .await
        .unwrap();
        reg.update(ids[6], patch(vec![]), "test").await.unwrap();
        let eng = docgate::deadline::state::Engine::from_app(&app).unwrap();
        docgate::deadline::state::sync(&app, &eng).await.unwrap();
        // registered after the projection's sync: no deadline row yet
        for i in 40..46 {
            ids.push(reg.register(new(i), "test").await.unwrap().id);
        }
        let raw = docgate::testing::raw_pool(&app).await;
        let n = |sql: &str| {
            let pool = raw.clone();
            let sql = sql.to_string();
            async move {
                let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(&pool).await.unwrap();
                n
            }
        };
        assert!(
            n("SELECT COUNT(*) FROM deadlines WHERE due IS NOT NULL").await > 0
                && n("SELECT COUNT(*) FROM deadlines WHERE due IS NULL").await > 0
                && n(
                    "SELECT COUNT(*) FROM documents WHERE id NOT IN (SELECT doc_id FROM deadlines)"
                )
                .await
                    > 0,
            "{b}: documents with a due date, with a row without one, and without a row"
        );
        // The flags the keyless pages are read by (migration 0022's triggers)
        // agree with the key tables after registrations, edits and the sync.
        assert_eq!(
            n("SELECT COUNT(*) FROM documents d WHERE d.has_due <> CASE WHEN EXISTS \
               (SELECT 1 FROM deadlines k WHERE k.doc_id = d.id AND k.due IS NOT NULL) THEN 1 ELSE 0 END")
            .await,
            0,
            "{b}: has_due"
        );
        assert_eq!(
            n(
                "SELECT COUNT(*) FROM documents d WHERE d.has_party <> CASE WHEN EXISTS \
               (SELECT 1 FROM parties p WHERE p.doc_id = d.id AND p.pos = 0) THEN 1 ELSE 0 END"
            )
            .await,
            0,
            "{b}: has_party"
        );
        // A projection rebuilt in place: a due date cleared, a row dropped and
        // put back keep the flag (the pages below compare with the reference).
        let flagged = "SELECT COUNT(*) FROM documents WHERE has_due = 1";
        let before = n(flagged).await;
        let (first,): (i64,) =
            sqlx::query_as("SELECT MIN(doc_id) FROM deadlines WHERE due IS NOT NULL")
                .fetch_one(&raw)
                .await
                .unwrap();
        sqlx::query("UPDATE deadlines SET due = NULL WHERE doc_id = $1")
            .bind(first)
            .execute(&raw)
            .await
            .unwrap();
        assert_eq!(n(flagged).await, before - 1, "{b}: due cleared");
        let (second,): (i64,) =
            sqlx::query_as("SELECT MIN(doc_id) FROM deadlines WHERE due IS NOT NULL")
                .fetch_one(&raw)
                .await
                .unwrap();
        sqlx::query("DELETE FROM deadlines WHERE doc_id = $1")
            .bind(second)
            .execute(&raw)
            .await
            .unwrap();
        assert_eq!(n(flagged).await, before - 2, "{b}: deadline row gone");
        docgate::deadline::state::sync(&app, &eng).await.unwrap();
        let filters = [
            ListFilter::default(),
            ListFilter {
                direction: Some(Direction::Incoming),
                ..Default::default()
            },
            ListFilter {
                responsible: Some("mari".into()),
                needs_review: Some(false),
                ..Default::default()
            },
            ListFilter {
                registered_from: Some(jiff::civil::date(2026, 3, 3)),
                doc_type: Some("avts-teabenoue".into()),
                ..Default::default()
            },
        ];
        // every page of 4 and of 7 (past the keyed documents, from the nearer
        // end of the others), no limit, an empty page, the largest values
        let mut pages = vec![
            (None, None),
            (None, Some(10)),
            (None, Some(40)),
            (Some(1000), Some(0)),
            (Some(0), Some(5)),
            (Some(3), Some(i64::MAX)),
            (Some(i64::MAX), Some(2)),
        ];
        for off in (0..48).step_by(3) {
            pages.push((Some(4), Some(off)));
        }
        for off in (0..48).step_by(7) {
            pages.push((Some(7), Some(off)));
        }
        for order in [ListOrder::Due, ListOrder::Party] {
            for desc in [false, true] {
                for base in &filters {
                    let all = ListFilter {
                        order,
                        newest_first: desc,
                        ..base.clone()
                    };
                    let full: Vec<i64> =
                        reg.list(&all).await.unwrap().iter().map(|d| d.id).collect();
                    assert_eq!(
                        full.len() as i64,
                        reg.count(&all).await.unwrap(),
                        "{b} {order:?} desc={desc} {base:?}: the list is the count"
                    );
                    for (limit, offset) in &pages {
                        let f = ListFilter {
                            limit: *limit,
                            offset: *offset,
                            ..all.clone()
                        };
                        let got: Vec<i64> =
                            reg.list(&f).await.unwrap().iter().map(|d| d.id).collect();
                        let want: Vec<i64> = reg
                            .list_by_subquery(&f)
                            .await
                            .unwrap()
                            .iter()
                            .map(|d| d.id)
                            .collect();
                        assert_eq!(
                            got, want,
                            "{b} {order:?} desc={desc} {limit:?}/{offset:?} {base:?}"
                        );
                    }
                }
            }
        }
    }
}
