//! The clerk's desk (issue #14) without a browser: the register-a-document form
//! (validation messages next to the fields with the input kept, duplicates told),
//! corrections, intake confirmation into another series (numbers agree with
//! series; the old number stays an alias), the deadline buttons, and who may use
//! them. Every test runs on SQLite and, when configured, PostgreSQL.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use docgate::deadline::state::{self, Engine};
use docgate::model::*;
use docgate::register::MetadataPatch;
use docgate::testing::{backends, TestEnv};
use docgate::web::auth::Role;
use docgate::App;

mod session;
use session::*;

/// The register form as the browser sends it: fields, then files.
fn multipart(s: &Session, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Request<Body> {
    let b = "dEsKbOuNdArY";
    let mut body = Vec::new();
    let mut part = |head: String, data: &[u8]| {
        body.extend_from_slice(format!("--{b}\r\n{head}\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    part(
        "Content-Disposition: form-data; name=\"csrf\"".into(),
        s.csrf.as_bytes(),
    );
    for (k, v) in fields {
        part(
            format!("Content-Disposition: form-data; name=\"{k}\""),
            v.as_bytes(),
        );
    }
    for (name, data) in files {
        part(
            format!(
                "Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream"
            ),
            data,
        );
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    Request::post("/documents/new")
        .header(header::COOKIE, &s.cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={b}"),
        )
        .body(Body::from(body))
        .unwrap()
}

async fn setup(b: &str) -> (TestEnv, App, axum::Router) {
    let env = TestEnv::new(b).await;
    let app = env.app().await;
    for (n, r) in [
        ("kati", Role::Clerk),
        ("liis", Role::Lead),
        ("mari.tamm", Role::Staff),
    ] {
        docgate::testing::add_user(&app, n, r, None).await;
    }
    let router = docgate::web::router(app.clone());
    (env, app, router)
}

fn id_of(location: &str) -> i64 {
    location
        .trim_start_matches("/documents/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("not a document address: {location}"))
}

const LETTER: &[(&str, &str)] = &[
    ("title", "Teabenõue ohvriabi kohta"),
    ("direction", "incoming"),
    ("channel", "email"),
    ("party_name", "Lõuna Vald"),
    ("party_code", "77000123"),
    ("party_email", "vald@example.ee"),
    ("their_ref", "1-2/345"),
    ("their_date", "2026-01-05"),
    ("received", "2026-01-06"),
    ("series", "9-13"),
    ("doc_type", "avts-teabenoue"),
    ("responsible", "mari.tamm"),
];

fn with<'a>(base: &[(&'a str, &'a str)], over: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<_> = base
        .iter()
        .filter(|(k, _)| !over.iter().any(|(o, _)| o == k))
        .copied()
        .collect();
    v.extend_from_slice(over);
    v
}

#[tokio::test]
async fn register_form_shows_each_message_by_its_field_and_keeps_the_input() {
    for b in backends() {
        let (_env, app, router) = setup(b).await;
        let kati = login(&router, "kati").await;
        let r = send(&router, page(&kati, "/documents/new")).await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.body);
        for id in [
            "f-file",
            "f-title",
            "f-party_code",
            "f-series",
            "f-restrict",
        ] {
            assert!(
                r.body.contains(&format!("<label for=\"{id}\"")),
                "{b}: every input has a label: {id}"
            );
        }
        assert!(
            r.body.contains("Juurdepääsupiirang (AK)"),
            "{b}: full label"
        );

        // Empty title, a bad code, a future date, a bad e-mail, no file: 422, each message by its field.
        let bad = with(
            LETTER,
            &[
                ("title", " "),
                ("party_code", "12345"),
                ("received", "2099-01-01"),
                ("party_email", "not an address"),
            ],
        );
        let r = send(&router, multipart(&kati, &bad, &[])).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        for (field, text) in [
            ("title", "Kohustuslik väli"),
            (
                "party_code",
                "Ei ole 8-kohaline registrikood ega kehtiv isikukood",
            ),
            ("received", "Kuupäev ei saa olla tulevikus"),
            ("file", "Valige vähemalt üks fail"),
        ] {
            assert!(
                r.body
                    .contains(&format!("id=\"err-{field}\">{text}</span>")),
                "{b}: message for {field}: {}",
                r.body
            );
        }
        // What was typed is shown back.
        assert!(r.body.contains("value=\"Lõuna Vald\""), "{b}");
        assert!(r.body.contains("value=\"1-2/345\""), "{b}");
        assert!(r.body.contains("value=\"2099-01-01\""), "{b}");
        assert!(
            r.body.contains("<option value=\"mari.tamm\" selected>"),
            "{b}: the chosen official stays chosen"
        );
        assert_eq!(
            app.register
                .count(&docgate::register::ListFilter::default())
                .await
                .unwrap(),
            0,
            "{b}: nothing registered"
        );

        // A complete letter with two files.
        let r = send(
            &router,
            multipart(
                &kati,
                LETTER,
                &[("kiri.txt", b"Palun teavet."), ("lisa.txt", b"Lisa sisu.")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let id = id_of(&r.location);
        let d = app.register.get(id).await.unwrap();
        assert_eq!(d.reg_no, "9-13/1", "{b}");
        assert_eq!(d.files.len(), 2, "{b}");
        assert_eq!(d.parties[0].kind, PartyKind::Organisation, "{b}");
        assert_eq!(d.parties[0].email.as_deref(), Some("vald@example.ee"));
        assert_eq!(d.their_ref.as_deref(), Some("1-2/345"));
        assert_eq!(d.received, Some(jiff::civil::date(2026, 1, 6)));
        assert_eq!(d.responsible.as_deref(), Some("mari.tamm"));
        assert_eq!(d.doc_type.as_deref(), Some("avts-teabenoue"));
        let shown = send(&router, page(&kati, &r.location)).await;
        assert!(
            shown.body.contains("Registreeritud 9-13/1"),
            "{b}: the success says what happened"
        );

        // The same file again: told, with a link to the document that has it.
        let r = send(
            &router,
            multipart(
                &kati,
                &with(LETTER, &[("title", "Uuesti")]),
                &[("kiri.txt", b"Palun teavet.")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(
            r.body
                .contains(&format!("<a href=\"/documents/{id}\">9-13/1</a>")),
            "{b}: the duplicate links the existing document: {}",
            r.body
        );
        assert!(r.body.contains("id=\"files-again\""), "{b}");
        // The clerk may still register it on purpose.
        let r = send(
            &router,
            multipart(
                &kati,
                &with(LETTER, &[("title", "Uuesti"), ("allow_duplicate", "1")]),
                &[("kiri.txt", b"Palun teavet.")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
    }
}

#[tokio::test]
async fn every_metadata_field_can_be_corrected_with_its_audit_event() {
    for b in backends() {
        let (_env, app, router) = setup(b).await;
        let kati = login(&router, "kati").await;
        let r = send(
            &router,
            multipart(&kati, LETTER, &[("kiri.txt", b"Palun teavet.")]),
        )
        .await;
        let id = id_of(&r.location);
        let edit = format!("/documents/{id}/edit");
        let r = send(&router, page(&kati, &edit)).await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert!(r.body.contains("value=\"Teabenõue ohvriabi kohta\""), "{b}");

        // A bad correction: message by the field, nothing changed.
        let r = send(
            &router,
            form(&kati, &edit, &with(LETTER, &[("their_date", "2026-13-45")])),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert!(r.body.contains("id=\"err-their_date\""), "{b}");
        assert!(r.body.contains("value=\"2026-13-45\""), "{b}");

        let fixed = with(
            LETTER,
            &[
                ("title", "Teabenõue ohvriabi vastuvõtuaegade kohta"),
                ("party_name", "Lõuna Vallavalitsus"),
                ("party_code", "75000456"),
                ("channel", "post"),
                ("their_ref", "1-2/346"),
                ("received", "2026-01-07"),
                ("responsible", "liis"),
            ],
        );
        let r = send(&router, form(&kati, &edit, &fixed)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        assert!(r.location.ends_with("?done=edited"), "{b}");
        let d = app.register.get(id).await.unwrap();
        assert_eq!(d.title, "Teabenõue ohvriabi vastuvõtuaegade kohta");
        assert_eq!(d.parties[0].name, "Lõuna Vallavalitsus");
        assert_eq!(d.parties[0].code.as_deref(), Some("75000456"));
        assert_eq!(d.channel, Channel::Post);
        assert_eq!(d.their_ref.as_deref(), Some("1-2/346"));
        assert_eq!(d.received, Some(jiff::civil::date(2026, 1, 7)));
        assert_eq!(d.responsible.as_deref(), Some("liis"));
        let ev = app.register.events(id).await.unwrap();
        let last = ev.last().unwrap();
        assert_eq!(last.kind, "edited", "{b}");
        assert_eq!(last.actor, "kati", "{b}");
        let fields = last.detail["fields"].to_string();
        for f in [
            "title",
            "parties",
            "channel",
            "their_ref",
            "received",
            "responsible",
        ] {
            assert!(fields.contains(f), "{b}: {f} in {fields}");
        }
        let v = docgate::audit::verify(&app.register).await.unwrap();
        assert!(v.ok, "{b}: {:?}", v.problems);
    }
}

#[tokio::test]
async fn confirming_an_intake_item_into_another_series_renumbers_it_and_keeps_the_old_number() {
    for b in backends() {
        let (_env, app, router) = setup(b).await;
        // An intake item as mail arrives: numbered in 9-13, awaiting review.
        let mut nd = NewDocument::new(Direction::Incoming, Channel::Email, "Hüvitise taotlus");
        nd.series = Some("9-13".into());
        nd.needs_review = true;
        nd.parties =
            vec![
                Party::from_name_and_code("Lõuna Vald", Some("77000123"), PartyRole::Sender)
                    .unwrap(),
            ];
        let first = app.register.register(nd.clone(), "ingest").await.unwrap();
        let item = app.register.register(nd, "ingest").await.unwrap();
        assert_eq!(item.reg_no, "9-13/2");
        let kati = login(&router, "kati").await;
        let r = send(
            &router,
            form(
                &kati,
                &format!("/documents/{}/edit", item.id),
                &with(
                    LETTER,
                    &[
                        ("title", "Hüvitise taotlus"),
                        ("series", "9-14"),
                        ("doc_type", ""),
                        ("confirm", "1"),
                    ],
                ),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        assert!(r.location.ends_with("?done=confirmed"), "{b}");
        let d = app.register.get(item.id).await.unwrap();
        assert_eq!(
            (d.series.as_str(), d.reg_no.as_str()),
            ("9-14", "9-14/1"),
            "{b}"
        );
        assert!(!d.needs_review, "{b}");
        assert_eq!(app.register.aliases(item.id).await.unwrap(), vec!["9-13/2"]);
        let shown = send(&router, page(&kati, &r.location)).await;
        assert!(shown.body.contains("Kinnitatud 9-14/1"), "{b}");
        assert!(shown.body.contains("id=\"aliases\">9-13/2"), "{b}");
        // The inbox's quick form renumbers too, and says so.
        let mut nd = NewDocument::new(Direction::Incoming, Channel::Email, "Teine taotlus");
        nd.series = Some("9-13".into());
        nd.needs_review = true;
        let quick = app.register.register(nd, "ingest").await.unwrap();
        let r = send(
            &router,
            form(
                &kati,
                &format!("/documents/{}/complete", quick.id),
                &[("series", "9-14")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        let shown = send(&router, page(&kati, &r.location)).await;
        assert!(
            shown.body.contains("Kinnitatud 9-14/2"),
            "{b}: {}",
            r.location
        );
        let q = app.register.get(quick.id).await.unwrap();
        assert_eq!(
            (q.series.as_str(), q.reg_no.as_str()),
            ("9-14", "9-14/2"),
            "{b}"
        );
        // The old number still finds the document, and a reply quoting it joins its thread
        // with a number of the new series.
        assert_eq!(
            app.register
                .find_by_reg_no("9-13/2")
                .await
                .unwrap()
                .unwrap()
                .id,
            item.id
        );
        let mut reply = NewDocument::new(Direction::Outgoing, Channel::Email, "Vastus");
        reply.reply_to = Some("9-13/2".into());
        reply.reply_kind = Some(ReplyKind::Interim);
        let reply = app.register.register(reply, "kati").await.unwrap();
        assert_eq!(reply.reg_no, "9-14/1-1", "{b}");
        assert_eq!(reply.series, "9-14", "{b}");
        assert_eq!(reply.thread_id, item.id, "{b}");
        // The numbers 9-13/2 and 9-13/3 are never given again.
        let mut next = NewDocument::new(Direction::Incoming, Channel::Post, "Järgmine");
        next.series = Some("9-13".into());
        assert_eq!(
            app.register.register(next, "kati").await.unwrap().reg_no,
            "9-13/4"
        );
        // A case with follow-ups keeps its numbers; a follow-up keeps its thread's series.
        for id in [item.id, reply.id] {
            let e = app
                .register
                .update(
                    id,
                    MetadataPatch {
                        series: Some("9-15".into()),
                        ..Default::default()
                    },
                    "kati",
                )
                .await
                .unwrap_err();
            assert!(e.to_string().contains("invalid series: 9-15"), "{b}: {e}");
            assert_eq!(e.field(), Some("series"), "{b}");
        }
        assert_eq!(app.register.get(first.id).await.unwrap().reg_no, "9-13/1");
        let ev = app.register.events(item.id).await.unwrap();
        let renum = ev
            .iter()
            .find(|e| e.detail.get("renumbered").is_some())
            .unwrap();
        assert_eq!(renum.detail["renumbered"]["from"], "9-13/2", "{b}");
        assert_eq!(renum.detail["renumbered"]["to"], "9-14/1", "{b}");
        let v = docgate::audit::verify(&app.register).await.unwrap();
        assert!(v.ok, "{b}: {:?}", v.problems);
    }
}

#[tokio::test]
async fn deadline_buttons_record_events_and_explain_what_is_missing() {
    for b in backends() {
        let (_env, app, router) = setup(b).await;
        let mut nd = NewDocument::new(Direction::Incoming, Channel::Email, "Teabenõue");
        nd.series = Some("9-13".into());
        nd.doc_type = Some("avts-teabenoue".into());
        nd.parties =
            vec![
                Party::from_name_and_code("Lõuna Vald", Some("77000123"), PartyRole::Sender)
                    .unwrap(),
            ];
        let req = app.register.register(nd, "kati").await.unwrap();
        let kati = login(&router, "kati").await;
        let doc = format!("/documents/{}", req.id);
        let dl = format!("/documents/{}/deadline", req.id);
        let shown = send(&router, page(&kati, &doc)).await;
        // An information request can be extended (AvTS § 19), not stopped.
        assert!(shown.body.contains("id=\"dl-extend\""), "{b}");
        for id in ["dl-stop", "dl-resume", "dl-complete"] {
            assert!(!shown.body.contains(&format!("id=\"{id}\"")), "{b}: {id}");
        }
        // No reason, no notice: told, nothing recorded.
        let r = send(
            &router,
            form(&kati, &dl, &[("action", "extend"), ("reason", "")]),
        )
        .await;
        assert_eq!(
            r.location,
            format!("{doc}?failed=err_reason_required"),
            "{b}"
        );
        let r = send(
            &router,
            form(
                &kati,
                &dl,
                &[("action", "extend"), ("reason", "mahukas otsing")],
            ),
        )
        .await;
        assert_eq!(
            r.location,
            format!("{doc}?failed=err_notice_required"),
            "{b}"
        );
        let shown = send(&router, page(&kati, &r.location)).await;
        assert!(
            shown.body.contains("Pikendamiseks valige teade"),
            "{b}: the failure is shown in Estonian"
        );
        // The interim notice, then the extension.
        let mut notice =
            NewDocument::new(Direction::Outgoing, Channel::Email, "Teade pikendamisest");
        notice.reply_to = Some(req.reg_no.clone());
        notice.reply_kind = Some(ReplyKind::Interim);
        let notice = app.register.register(notice, "kati").await.unwrap();
        let today = app.register.today().to_string();
        let r = send(
            &router,
            form(
                &kati,
                &dl,
                &[
                    ("action", "extend"),
                    ("reason", "mahukas otsing"),
                    ("notice", &notice.reg_no),
                    ("on", &today),
                ],
            ),
        )
        .await;
        assert_eq!(r.location, format!("{doc}?done=deadline_extend"), "{b}");
        let eng = Engine::from_app(&app).unwrap();
        let x = state::explain_reg_no(&app, &eng, &req.reg_no)
            .await
            .unwrap();
        let o = x.deadline.unwrap();
        assert!(o.extended, "{b}: extended");
        assert_eq!(o.state.as_str(), "open", "{b}");
        let ev = app.register.events(req.id).await.unwrap();
        assert!(
            ev.iter()
                .any(|e| e.kind == "deadline_extended" && e.actor == "kati"),
            "{b}"
        );
        // A second extension is refused with a message, not recorded.
        let r = send(
            &router,
            form(
                &kati,
                &dl,
                &[
                    ("action", "extend"),
                    ("reason", "veel"),
                    ("notice", &notice.reg_no),
                ],
            ),
        )
        .await;
        assert_eq!(
            r.location,
            format!("{doc}?failed=err_deadline_refused"),
            "{b}"
        );
        // A compensation application: complete, stop and resume; no extension.
        let mut nd = NewDocument::new(Direction::Incoming, Channel::Post, "Hüvitise taotlus");
        nd.series = Some("9-14".into());
        nd.doc_type = Some("oas-huvitis".into());
        nd.parties =
            vec![
                Party::from_name_and_code("Lõuna Vald", Some("77000123"), PartyRole::Sender)
                    .unwrap(),
            ];
        let app2 = app.register.register(nd, "kati").await.unwrap();
        let doc = format!("/documents/{}", app2.id);
        let dl = format!("/documents/{}/deadline", app2.id);
        let shown = send(&router, page(&kati, &doc)).await;
        assert!(!shown.body.contains("id=\"dl-extend\""), "{b}");
        for id in ["dl-stop", "dl-resume", "dl-complete"] {
            assert!(shown.body.contains(&format!("id=\"{id}\"")), "{b}: {id}");
        }
        let r = send(
            &router,
            form(&kati, &dl, &[("action", "complete"), ("on", &today)]),
        )
        .await;
        assert_eq!(r.location, format!("{doc}?done=deadline_complete"), "{b}");
        let r = send(
            &router,
            form(&kati, &dl, &[("action", "stop"), ("reason", "")]),
        )
        .await;
        assert_eq!(
            r.location,
            format!("{doc}?failed=err_reason_required"),
            "{b}"
        );
        let r = send(
            &router,
            form(
                &kati,
                &dl,
                &[
                    ("action", "stop"),
                    ("reason", "OAS § 48: ootame kohtuotsust"),
                ],
            ),
        )
        .await;
        assert_eq!(r.location, format!("{doc}?done=deadline_stop"), "{b}");
        let o = state::explain_reg_no(&app, &eng, &app2.reg_no)
            .await
            .unwrap()
            .deadline
            .unwrap();
        assert_eq!(o.state.as_str(), "stopped", "{b}");
        let r = send(&router, form(&kati, &dl, &[("action", "resume")])).await;
        assert_eq!(r.location, format!("{doc}?done=deadline_resume"), "{b}");
        let o = state::explain_reg_no(&app, &eng, &app2.reg_no)
            .await
            .unwrap()
            .deadline
            .unwrap();
        assert_eq!(o.state.as_str(), "open", "{b}");
        let kinds: Vec<String> = app
            .register
            .events(app2.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| k != "viewed")
            .collect();
        assert_eq!(
            kinds,
            [
                "registered",
                "application_complete",
                "clock_stopped",
                "clock_resumed"
            ],
            "{b}"
        );
    }
}

#[tokio::test]
async fn staff_and_the_public_cannot_register_edit_or_move_deadlines() {
    for b in backends() {
        let (_env, app, router) = setup(b).await;
        let mut nd = NewDocument::new(Direction::Incoming, Channel::Email, "Teabenõue");
        nd.doc_type = Some("avts-teabenoue".into());
        nd.responsible = Some("mari.tamm".into());
        nd.parties =
            vec![
                Party::from_name_and_code("Lõuna Vald", Some("77000123"), PartyRole::Sender)
                    .unwrap(),
            ];
        let d = app.register.register(nd, "kati").await.unwrap();
        let mari = login(&router, "mari.tamm").await;
        // Staff: the document page offers none of the clerk's actions; the routes refuse.
        let shown = send(&router, page(&mari, &format!("/documents/{}", d.id))).await;
        assert_eq!(shown.status, StatusCode::OK, "{b}");
        for id in ["edit-link", "deadline-controls", "dl-extend"] {
            assert!(
                !shown.body.contains(&format!("id=\"{id}\"")),
                "{b}: staff sees {id}"
            );
        }
        let inbox = send(&router, page(&mari, "/inbox")).await;
        assert!(!inbox.body.contains("id=\"new-document\""), "{b}");
        for r in [
            send(&router, page(&mari, "/documents/new")).await,
            send(&router, page(&mari, &format!("/documents/{}/edit", d.id))).await,
            send(&router, multipart(&mari, LETTER, &[("a.txt", b"x")])).await,
            send(
                &router,
                form(
                    &mari,
                    &format!("/documents/{}/edit", d.id),
                    &with(LETTER, &[("title", "Muudetud")]),
                ),
            )
            .await,
            send(
                &router,
                form(
                    &mari,
                    &format!("/documents/{}/deadline", d.id),
                    &[("action", "stop"), ("reason", "x")],
                ),
            )
            .await,
        ] {
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}: {}", r.body);
        }
        // The public: to the login page, nothing written.
        for uri in [
            "/documents/new".to_string(),
            format!("/documents/{}/edit", d.id),
        ] {
            let r = send(&router, Request::get(&uri).body(Body::empty()).unwrap()).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {uri}");
            assert_eq!(r.location, "/login", "{b}");
        }
        let r = send(
            &router,
            Request::post(format!("/documents/{}/deadline", d.id))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("action=stop&reason=x&csrf=x"))
                .unwrap(),
        )
        .await;
        assert_eq!(r.location, "/login", "{b}");
        let after = app.register.get(d.id).await.unwrap();
        assert_eq!(after.title, "Teabenõue", "{b}");
        let ev = app.register.events(d.id).await.unwrap();
        assert_eq!(ev.len(), 1, "{b}: only the registration: {ev:?}");
        assert_eq!(
            app.register
                .count(&docgate::register::ListFilter::default())
                .await
                .unwrap(),
            1,
            "{b}"
        );
    }
}
