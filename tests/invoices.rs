//! Referrals and the invoices that follow them (issue #20), on every backend:
//! SQLite always, PostgreSQL when DOCGATE_TEST_POSTGRES_URL is set. Test
//! invoices are written here (`invoice::write`); the UBL ones are validated
//! with xmllint against the shared OASIS schemas before they are sent.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use docgate::invoice::{write, EInvoice, Syntax};
use docgate::model::*;
use docgate::testing::{backends, missing_service, TestEnv};
use jiff::civil::Date;
use rust_decimal::Decimal;

const PROVIDER: &str = "12345678";
const PROVIDER_MAIL: &str = "arved@hingeabi.ee";
const PERSON: &str = "49403136515";

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

fn today() -> Date {
    jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/Tallinn").unwrap())
        .date()
}

fn days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap()
}

/// Registers a referral letter at the command line; gives its referral number.
fn referral(env: &TestEnv, person: &str, code: Option<&str>, units: &str) -> String {
    let letter = env.dir.path().join(format!("suunamiskiri-{person}.txt"));
    std::fs::write(
        &letter,
        format!("Suunamiskiri. Suuname {person} psühholoogilisele nõustamisele."),
    )
    .unwrap();
    let (from, to) = (
        days(today(), -60).to_string(),
        days(today(), 60).to_string(),
    );
    let mut args = vec![
        "register",
        letter.to_str().unwrap(),
        "--direction",
        "outgoing",
        "--kind",
        "suunamiskiri",
        "--title",
        "Suunamiskiri: psühholoogiline nõustamine",
        "--referral-provider",
        PROVIDER,
        "--referral-provider-name",
        "Hingeabi OÜ",
        "--referral-provider-email",
        PROVIDER_MAIL,
        "--referral-person",
        person,
        "--referral-service",
        "psühholoogiline nõustamine",
        "--referral-units",
        units,
        "--referral-unit",
        "sessions",
        "--referral-unit-price",
        "60",
        "--referral-total",
        "600",
        "--referral-from",
        &from,
        "--referral-to",
        &to,
        "--json",
    ];
    if let Some(c) = code {
        args.extend(["--referral-person-code", c]);
    }
    let docs = json(&docgate(env, &args));
    let reg_no = docs[0]["reg_no"].as_str().unwrap().to_string();
    let all = json(&docgate(env, &["referrals", "--json"]));
    let r = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reg_no"] == reg_no.as_str())
        .expect("the referral is listed");
    r["number"].as_str().unwrap().to_string()
}

/// A consistent invoice of `qty` sessions at 60.00, quoting `reference`.
fn invoice(syntax: Syntax, number: &str, qty: i64, reference: Option<&str>) -> EInvoice {
    let mut inv = write::sample(syntax);
    inv.number = number.into();
    inv.seller.code = Some(PROVIDER.into());
    inv.buyer_reference = reference.map(str::to_string);
    inv.order_reference = None;
    inv.issue_date = days(today(), -3);
    inv.due_date = Some(days(today(), 27));
    inv.period_start = Some(days(today(), -30));
    inv.period_end = Some(days(today(), -3));
    inv.lines.truncate(1);
    let price: Decimal = "60.00".parse().unwrap();
    let l = &mut inv.lines[0];
    l.quantity = Decimal::from(qty);
    l.unit_price = price;
    l.unit_code = Some("C62".into());
    l.net_amount = (Decimal::from(qty) * price).round_dp(2);
    l.vat_percent = Some(Decimal::ZERO);
    l.period_start = None;
    l.period_end = None;
    let net = l.net_amount;
    inv.line_total = net;
    inv.allowance_total = Decimal::ZERO;
    inv.charge_total = Decimal::ZERO;
    inv.tax_exclusive = net;
    inv.vat.truncate(1);
    inv.vat[0].taxable = net;
    inv.vat[0].tax = Decimal::ZERO;
    inv.vat[0].percent = Some(Decimal::ZERO);
    inv.vat_total = Decimal::ZERO;
    inv.tax_inclusive = net;
    inv.prepaid = Decimal::ZERO;
    inv.rounding = Decimal::ZERO;
    inv.payable = net;
    assert!(
        docgate::invoice::arith::check(&inv).is_empty(),
        "the test invoice adds up"
    );
    inv
}

fn ubl_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/schemas/ubl-2.1/maindoc/UBL-Invoice-2.1.xsd")
}

/// The invoice as UBL XML, which must validate against the shared OASIS XSD.
fn valid_ubl(inv: &EInvoice, dir: &Path) -> Vec<u8> {
    let xml = write::ubl(inv);
    let path = dir.join(format!("check-{}.xml", inv.number));
    std::fs::write(&path, &xml).unwrap();
    match Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(ubl_schema())
        .arg(&path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "the test UBL invoice validates: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => missing_service("xmllint", "apt-get install libxml2-utils"),
    }
    xml.into_bytes()
}

/// An e-mail from the provider with the files attached.
fn mail(subject: &str, id: &str, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut m = format!(
        "From: Hingeabi OÜ <{PROVIDER_MAIL}>\r\nTo: dokumendid@sotsiaalkindlustusamet.ee\r\nSubject: {subject}\r\n\
         Date: Mon, 30 Nov 2026 10:00:00 +0200\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nTere, saadame arve.\r\n"
    );
    for (name, ty, bytes) in files {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        m.push_str(&format!(
            "--b1\r\nContent-Type: {ty}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        ));
        for chunk in b64.as_bytes().chunks(76) {
            m.push_str(std::str::from_utf8(chunk).unwrap());
            m.push_str("\r\n");
        }
    }
    m.push_str("--b1--\r\n");
    m.into_bytes()
}

async fn ingest(env: &TestEnv, raw: Vec<u8>) -> String {
    let app = env.app().await;
    match docgate::ingest::mail::ingest_message(&app, raw, "test", Channel::Email)
        .await
        .expect("ingest")
    {
        docgate::ingest::mail::Outcome::Registered { reg_no, .. } => reg_no,
        o => panic!("not registered: {o:?}"),
    }
}

/// Registers an invoice file at the command line (as the drop folder or an
/// operator's export would hand it over); gives the registration number.
fn register_file(env: &TestEnv, name: &str, bytes: &[u8]) -> String {
    let path = env.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let docs = json(&docgate(
        env,
        &["register", path.to_str().unwrap(), "--json"],
    ));
    docs[0]["reg_no"].as_str().unwrap().to_string()
}

fn show(env: &TestEnv, reg_no: &str) -> serde_json::Value {
    json(&docgate(env, &["invoice", "show", reg_no, "--json"]))
}

fn check<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {v:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_referral_then_a_ubl_invoice_by_email_is_matched_approved_and_its_payment_term_tracked() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let number = referral(&env, "Tiina Saar", Some(PERSON), "10");
        let inv = invoice(Syntax::Ubl, "2026-118", 4, Some(&number));
        let xml = valid_ubl(&inv, env.dir.path());
        let pdf = docgate::extract::pdf::make_pdf(&["Hingeabi OU", "Arve nr 2026-118"], true);
        let reg_no = ingest(
            &env,
            mail(
                "Arve nr 2026-118",
                "arve-118@hingeabi.ee",
                &[
                    ("arve-2026-118.xml", "application/xml", &xml),
                    ("arve-2026-118.pdf", "application/pdf", &pdf),
                ],
            ),
        )
        .await;
        let v = show(&env, &reg_no);
        assert_eq!(v["reg_no"], reg_no.as_str(), "{b}");
        assert_eq!(v["number"], "2026-118", "{b}");
        assert_eq!(v["seller"]["code"], PROVIDER, "{b}");
        assert_eq!(v["seller"]["name"], inv.seller.name.as_str(), "{b}");
        assert_eq!(v["referral"], number.as_str(), "{b}");
        assert_eq!(v["currency"], "EUR", "{b}");
        assert_eq!(
            v["total"].as_str().unwrap().parse::<Decimal>().unwrap(),
            "240".parse::<Decimal>().unwrap(),
            "{b}"
        );
        assert_eq!(v["issue_date"], days(today(), -3).to_string(), "{b}");
        assert_eq!(v["due_date"], days(today(), 27).to_string(), "{b}");
        assert_eq!(v["state"], "open", "{b}");
        assert_eq!(
            v["errors"],
            serde_json::json!([]),
            "{b}: XSD-valid, no errors"
        );
        for name in [
            "referral",
            "provider",
            "period",
            "units",
            "unit_price",
            "total",
            "arithmetic",
            "duplicate",
        ] {
            assert_eq!(check(&v, name)["ok"], true, "{b}: {name}: {v:#}");
        }
        assert!(
            check(&v, "referral")["reason"]
                .as_str()
                .unwrap()
                .contains(&number),
            "{b}"
        );
        // The invoice is a document of kind arve with both files, restricted
        // as its referral is (it tells that the person received the service).
        let doc = json(&docgate(&env, &["show", &reg_no, "--json"]));
        assert_eq!(doc["kind"], "arve", "{b}: {doc:#}");
        assert_eq!(
            doc["files"].as_array().unwrap().len(),
            3,
            "{b}: the message, the XML and the PDF: {doc:#}"
        );
        assert!(!doc["restriction"].is_null(), "{b}: {doc:#}");
        // The payment term is a deadline like any other: due, then overdue.
        let due = json(&docgate(&env, &["due", &reg_no, "--json"]));
        assert_eq!(due["due"], days(today(), 27).to_string(), "{b}: {due:#}");
        let later = days(today(), 40).to_string();
        let od = json(&docgate(&env, &["overdue", "--as-of", &later, "--json"]));
        assert!(
            od.to_string().contains(&reg_no),
            "{b}: the unpaid invoice is overdue after its term: {od:#}"
        );
        let open = json(&docgate(
            &env,
            &["invoice", "list", "--state", "open", "--json"],
        ));
        assert_eq!(open.as_array().unwrap().len(), 1, "{b}: {open:#}");
        assert_eq!(open[0]["reg_no"], reg_no.as_str(), "{b}");
        // The lead approves: the clock ends on time.
        let a = json(&docgate(&env, &["invoice", "approve", &reg_no, "--json"]));
        assert_eq!(a["state"], "approved", "{b}");
        let due = json(&docgate(&env, &["due", &reg_no, "--json"]));
        assert_eq!(due["state"], "ended", "{b}: {due:#}");
        assert_eq!(due["deadline"]["on_time"], true, "{b}: {due:#}");
        let od = json(&docgate(&env, &["overdue", "--as-of", &later, "--json"]));
        assert!(
            !od.to_string().contains(&reg_no),
            "{b}: approved is not overdue"
        );
        let approved = json(&docgate(
            &env,
            &["invoice", "list", "--state", "approved", "--json"],
        ));
        assert_eq!(approved[0]["reg_no"], reg_no.as_str(), "{b}");
        // A second decision is refused.
        let again = docgate(&env, &["invoice", "reject", &reg_no, "--reason", "x"]);
        assert!(!again.status.success(), "{b}: decided once");
        // The referral counts what was used.
        let refs = json(&docgate(&env, &["referrals", "--json"]));
        let r = refs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["number"] == number.as_str())
            .unwrap();
        assert_eq!(r["units_used"], "4", "{b}: {r:#}");
        assert_eq!(r["units_remaining"], "6", "{b}: {r:#}");
        assert!(
            r.get("person_code").is_none(),
            "{b}: no personal code in the list"
        );
        // Spend per provider, service and month.
        let from = days(today(), -365).to_string();
        let to = days(today(), 365).to_string();
        let spend = json(&docgate(
            &env,
            &[
                "report", "--from", &from, "--to", &to, "--spend", "--format", "json",
            ],
        ));
        assert_eq!(spend.as_array().unwrap().len(), 1, "{b}: {spend:#}");
        assert_eq!(spend[0]["provider_code"], PROVIDER, "{b}");
        assert_eq!(spend[0]["service"], "psühholoogiline nõustamine", "{b}");
        assert_eq!(spend[0]["amount"], "240", "{b}: {spend:#}");
        assert_eq!(spend[0]["referred_units"], "10", "{b}");
        // The referral letter names the person, so it is restricted.
        let letters = json(&docgate(&env, &["list", "--json"]));
        let letter = letters
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "suunamiskiri")
            .expect("the referral letter");
        let shown = json(&docgate(
            &env,
            &["show", letter["reg_no"].as_str().unwrap(), "--json"],
        ));
        assert!(!shown["restriction"].is_null(), "{b}: {shown:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cii_and_e_arve_invoices_are_parsed_and_matched() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let number = referral(&env, "Mart Kask", None, "10");
        for (syntax, name) in [(Syntax::Cii, "cii.xml"), (Syntax::EArve, "e-arve.xml")] {
            let inv = invoice(syntax, &format!("{}-1", syntax.as_str()), 2, Some(&number));
            let xml = write::to_xml(&inv);
            let reg_no = register_file(&env, name, xml.as_bytes());
            let v = show(&env, &reg_no);
            assert_eq!(v["syntax"], syntax.as_str(), "{b}: {v:#}");
            assert_eq!(v["number"], inv.number.as_str(), "{b}");
            assert_eq!(v["seller"]["code"], PROVIDER, "{b}");
            assert_eq!(v["referral"], number.as_str(), "{b}: {v:#}");
            assert_eq!(
                v["total"].as_str().unwrap().parse::<Decimal>().unwrap(),
                Decimal::from(120),
                "{b}"
            );
            assert_eq!(v["due_date"], days(today(), 27).to_string(), "{b}");
            assert_eq!(check(&v, "arithmetic")["ok"], true, "{b}: {v:#}");
            assert_eq!(check(&v, "units")["ok"], true, "{b}: {v:#}");
            // A file handed over alone is titled by its invoice.
            let doc = json(&docgate(&env, &["show", &reg_no, "--json"]));
            assert!(
                doc["title"].as_str().unwrap().starts_with("Arve nr"),
                "{b}: {doc:#}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_over_the_referred_units_is_flagged() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let number = referral(&env, "Tiina Saar", Some(PERSON), "10");
        let first = invoice(Syntax::Ubl, "A-1", 8, Some(&number));
        let r1 = register_file(&env, "a1.xml", &valid_ubl(&first, env.dir.path()));
        assert_eq!(check(&show(&env, &r1), "units")["ok"], true, "{b}");
        let second = invoice(Syntax::Ubl, "A-2", 4, Some(&number));
        let r2 = register_file(&env, "a2.xml", &valid_ubl(&second, env.dir.path()));
        let v = show(&env, &r2);
        let units = check(&v, "units");
        assert_eq!(units["ok"], false, "{b}: 8 + 4 > 10: {v:#}");
        let why = units["reason"].as_str().unwrap();
        assert!(
            why.contains("ühikuid üle") && why.contains("12"),
            "{b}: {why}"
        );
        // Rejected, its units no longer count: the referral has 2 left.
        let out = docgate(
            &env,
            &["invoice", "reject", &r2, "--reason", "ühikuid üle suunatu"],
        );
        assert!(
            out.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let refs = json(&docgate(&env, &["referrals", "--json"]));
        assert_eq!(refs[0]["units_remaining"], "2", "{b}: {refs:#}");
        // The rejection letter to the provider waits in the outbox.
        let app = env.app().await;
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND channel = 'email'",
        )
        .bind(PROVIDER_MAIL)
        .fetch_one(&docgate::testing::raw_pool(&app).await)
        .await
        .unwrap();
        assert_eq!(
            n, 1,
            "{b}: a file handed over alone: the letter goes to the address on the referral"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejection_queues_a_letter_to_the_provider() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let number = referral(&env, "Tiina Saar", Some(PERSON), "10");
        let inv = invoice(Syntax::Ubl, "R-1", 2, Some(&number));
        let xml = valid_ubl(&inv, env.dir.path());
        let reg_no = ingest(
            &env,
            mail(
                "Arve R-1",
                "r1@hingeabi.ee",
                &[("r1.xml", "application/xml", &xml)],
            ),
        )
        .await;
        let out = docgate(&env, &["invoice", "reject", &reg_no, "--json"]);
        assert!(!out.status.success(), "{b}: a rejection needs a reason");
        let v = json(&docgate(
            &env,
            &[
                "invoice",
                "reject",
                &reg_no,
                "--reason",
                "teenuse kuupäevad puuduvad",
                "--json",
            ],
        ));
        assert_eq!(v["state"], "rejected", "{b}");
        assert_eq!(v["reason"], "teenuse kuupäevad puuduvad", "{b}");
        let app = env.app().await;
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND channel = 'email'",
        )
        .bind(PROVIDER_MAIL)
        .fetch_one(&docgate::testing::raw_pool(&app).await)
        .await
        .unwrap();
        assert_eq!(n, 1, "{b}: the letter is queued");
        let due = json(&docgate(&env, &["due", &reg_no, "--json"]));
        assert_eq!(due["state"], "ended", "{b}: {due:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_invoice_number_is_flagged() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let number = referral(&env, "Tiina Saar", Some(PERSON), "20");
        let first = invoice(Syntax::Ubl, "D-7", 2, Some(&number));
        let r1 = register_file(&env, "d1.xml", &valid_ubl(&first, env.dir.path()));
        assert_eq!(check(&show(&env, &r1), "duplicate")["ok"], true, "{b}");
        // The same number again, another file (not a byte-for-byte copy).
        let mut again = invoice(Syntax::Ubl, "D-7", 3, Some(&number));
        again.notes.push("korduv".into());
        let r2 = register_file(&env, "d2.xml", &valid_ubl(&again, env.dir.path()));
        let v = show(&env, &r2);
        let dup = check(&v, "duplicate");
        assert_eq!(dup["ok"], false, "{b}: {v:#}");
        assert!(
            dup["reason"].as_str().unwrap().contains(&r1),
            "{b}: names the first: {dup}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pdf_only_invoice_is_matched_by_the_number_in_its_text() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let number = referral(&env, "Tiina Saar", Some(PERSON), "10");
        let pdf = docgate::extract::pdf::make_pdf_blocks(&[
            "Hingeabi OU",
            "ARVE nr 2026-201",
            &format!("Viide: {number}"),
            "Psuhholoogiline noustamine 2 x 60,00",
            "Tasuda 120,00 EUR",
        ]);
        let reg_no = ingest(
            &env,
            mail(
                "Arve 2026-201",
                "pdf-201@hingeabi.ee",
                &[("arve.pdf", "application/pdf", &pdf)],
            ),
        )
        .await;
        let v = show(&env, &reg_no);
        assert_eq!(v["syntax"], "pdf", "{b}: {v:#}");
        // A file handed over alone is public unless a rule restricts it: the
        // referral's restriction does.
        let doc = json(&docgate(&env, &["show", &reg_no, "--json"]));
        assert!(!doc["restriction"].is_null(), "{b}: {doc:#}");
        assert_eq!(v["referral"], number.as_str(), "{b}: {v:#}");
        assert_eq!(v["match_method"], "number", "{b}");
        assert_eq!(v["number"], "2026-201", "{b}");
        assert_eq!(
            v["seller"]["code"], PROVIDER,
            "{b}: the seller is the referral's provider"
        );
        assert_eq!(check(&v, "referral")["ok"], true, "{b}");
        assert!(
            v["errors"][0]
                .as_str()
                .unwrap()
                .contains("masinloetav e-arve puudub"),
            "{b}: {v:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_that_fails_the_xsd_is_registered_with_its_errors() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let number = referral(&env, "Tiina Saar", Some(PERSON), "10");
        let inv = invoice(Syntax::Ubl, "X-1", 1, Some(&number));
        let xml = String::from_utf8(valid_ubl(&inv, env.dir.path())).unwrap();
        // An element UBL does not have, where the schema allows none.
        let broken = xml.replacen(
            "<cbc:IssueDate>",
            "<cbc:Kuupaev>x</cbc:Kuupaev><cbc:IssueDate>",
            1,
        );
        assert_ne!(broken, xml);
        let reg_no = register_file(&env, "broken.xml", broken.as_bytes());
        let v = show(&env, &reg_no);
        let errors = v["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e.as_str().unwrap().starts_with("XSD:")
                    && e.as_str().unwrap().contains("Kuupaev")),
            "{b}: {v:#}"
        );
        // Registered all the same, and still matched.
        let doc = json(&docgate(&env, &["show", &reg_no, "--json"]));
        assert_eq!(doc["reg_no"], reg_no.as_str(), "{b}");
        assert_eq!(v["referral"], number.as_str(), "{b}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_referrals_are_shown_as_candidates_never_guessed() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let n1 = referral(&env, "Tiina Saar", Some(PERSON), "10");
        let n2 = referral(&env, "Mart Kask", None, "10");
        // No referral number and no person on the invoice: both fit.
        let inv = invoice(Syntax::Ubl, "M-1", 1, None);
        let reg_no = register_file(&env, "m1.xml", &valid_ubl(&inv, env.dir.path()));
        let v = show(&env, &reg_no);
        assert!(v["referral"].is_null(), "{b}: {v:#}");
        let mut c: Vec<String> = serde_json::from_value(v["candidates"].clone()).unwrap();
        c.sort();
        assert_eq!(c, vec![n1.clone(), n2.clone()], "{b}");
        assert_eq!(check(&v, "referral")["ok"], false, "{b}");
        // The person named in a note singles one out.
        let mut named = invoice(Syntax::Ubl, "M-2", 1, None);
        named.notes.push("Klient: Mart Kask".into());
        let r2 = register_file(&env, "m2.xml", &valid_ubl(&named, env.dir.path()));
        let v2 = show(&env, &r2);
        assert_eq!(v2["referral"], n2.as_str(), "{b}: {v2:#}");
        assert_eq!(v2["match_method"], "provider_person_period", "{b}");
        // The clerk links the first by hand.
        let l = json(&docgate(&env, &["invoice", "link", &reg_no, &n1, "--json"]));
        assert_eq!(l["referral"], n1.as_str(), "{b}");
        assert_eq!(l["match_method"], "manual", "{b}");
        assert_eq!(check(&l, "referral")["ok"], true, "{b}: {l:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operators_export_registers_each_xml_with_its_pdf_as_one_invoice() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let number = referral(&env, "Tiina Saar", Some(PERSON), "10");
        let folder = env.dir.path().join("operaator");
        std::fs::create_dir_all(&folder).unwrap();
        let inv = invoice(Syntax::Ubl, "O-1", 2, Some(&number));
        std::fs::write(folder.join("arve-O-1.xml"), valid_ubl(&inv, env.dir.path())).unwrap();
        std::fs::write(
            folder.join("arve-O-1.pdf"),
            docgate::extract::pdf::make_pdf_blocks(&["Hingeabi OU", "Arve nr O-1"]),
        )
        .unwrap();
        let app = env.app().await;
        let n = docgate::ingest::dropfolder::pass_folder(
            &app,
            &folder,
            Channel::EInvoice,
            true,
            std::time::Duration::ZERO,
            &tokio_util::sync::CancellationToken::new(),
            &mut Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(n, 1, "{b}: one document of the pair");
        let all = app.register.invoices(None, 10).await.unwrap();
        assert_eq!(all.len(), 1, "{b}");
        let v = &all[0];
        assert_eq!(v.referral.as_deref(), Some(number.as_str()), "{b}");
        assert!(v.checks.iter().all(|c| c.ok), "{b}: {:?}", v.checks);
        let doc = app.register.get_by_reg_no(&v.reg_no).await.unwrap();
        assert_eq!(doc.channel, Channel::EInvoice, "{b}");
        let names: Vec<&str> = doc.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["arve-O-1.xml", "arve-O-1.pdf"], "{b}");
        // Both files moved to done/, nothing left behind.
        assert!(
            folder.join("done/arve-O-1.xml").exists() && folder.join("done/arve-O-1.pdf").exists(),
            "{b}"
        );
        assert!(!folder.join("arve-O-1.xml").exists(), "{b}");
    }
}

// ------------------------------------------------------------ the web application

mod session;

mod web {
    use super::session::*;
    use super::*;
    use axum::http::StatusCode;
    use docgate::testing::add_user;
    use docgate::web::auth::Role;

    #[tokio::test(flavor = "multi_thread")]
    async fn the_lead_decides_on_the_document_page_and_sees_the_spend_on_the_dashboard() {
        for b in backends() {
            let env = TestEnv::new(b).await;
            let number = referral(&env, "Tiina Saar", Some(PERSON), "10");
            let inv = invoice(Syntax::Ubl, "W-1", 3, Some(&number));
            let xml = valid_ubl(&inv, env.dir.path());
            let reg_no = ingest(
                &env,
                mail(
                    "Arve W-1",
                    "w1@hingeabi.ee",
                    &[("w1.xml", "application/xml", &xml)],
                ),
            )
            .await;
            let app = env.app().await;
            add_user(&app, "liis", Role::Lead, None).await;
            add_user(&app, "mari", Role::Staff, None).await;
            let doc = app.register.get_by_reg_no(&reg_no).await.unwrap();
            let router = docgate::web::router(app.clone());
            let liis = login(&router, "liis").await;
            let p = send(&router, page(&liis, &format!("/documents/{}", doc.id))).await;
            assert_eq!(p.status, StatusCode::OK, "{b}");
            for needle in [
                "id=\"invoice\"",
                &number,
                "W-1",
                "Hingeabi",
                "inv-approve",
                "✓",
            ] {
                assert!(p.body.contains(needle), "{b}: {needle} on the page");
            }
            // Staff may see the document but not decide.
            let mari = login(&router, "mari").await;
            let r = send(
                &router,
                form(
                    &mari,
                    &format!("/documents/{}/invoice", doc.id),
                    &[("action", "approve")],
                ),
            )
            .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
            // A rejection without a reason is refused; an approval goes through.
            let r = send(
                &router,
                form(
                    &liis,
                    &format!("/documents/{}/invoice", doc.id),
                    &[("action", "reject")],
                ),
            )
            .await;
            assert!(
                r.location.contains("failed=err_reason_required"),
                "{b}: {}",
                r.location
            );
            let r = send(
                &router,
                form(
                    &liis,
                    &format!("/documents/{}/invoice", doc.id),
                    &[("action", "approve")],
                ),
            )
            .await;
            assert!(
                r.location.contains("done=invoice_approved"),
                "{b}: {}",
                r.location
            );
            assert_eq!(
                app.register.invoice(&reg_no).await.unwrap().state,
                "approved",
                "{b}"
            );
            // The dashboard's invoice section with the year's spend.
            let d = send(&router, page(&liis, "/dashboard")).await;
            assert!(d.body.contains("id=\"spend\""), "{b}");
            assert!(d.body.contains("psühholoogiline nõustamine"), "{b}");
            assert!(d.body.contains("180"), "{b}: 3 × 60.00 spent");
            // The referral's page shows what was used.
            let r = app.register.referral(&number).await.unwrap();
            let rp = send(&router, page(&liis, &format!("/documents/{}", r.doc_id))).await;
            assert!(rp.body.contains("id=\"referral\""), "{b}");
            assert!(rp.body.contains("3 / 10"), "{b}: units used of referred");
            // Staff has no invoice section on the dashboard.
            let d = send(&router, page(&mari, "/dashboard")).await;
            assert!(!d.body.contains("id=\"spend\""), "{b}");
        }
    }
}
