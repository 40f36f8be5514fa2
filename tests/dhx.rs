//! DHX end to end: the endpoint in-process on both backends, the CLI contract,
//! and two real docgate processes (two agencies, two registry codes) exchanging
//! documents over loopback, each through the other's real DHX endpoint.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docgate::dhx::{capsule, soap, FaultCode};
use docgate::testing::{backends, TestEnv};
use tower::ServiceExt;

mod dhx_peer;
use dhx_peer::{capsule_to, capsule_with_dvk_id, fixture, start_adapter_peer, AdapterPeer};

const BIN: &str = env!("CARGO_BIN_EXE_docgate");

/// A sendDocument request (multipart, base64 part) from `client_code` with the capsule.
fn request(client_code: &str, consignment: &str, capsule_xml: &[u8]) -> (String, Vec<u8>) {
    let header = soap::XRoadHeader {
        client: Some(soap::XRoadId::subsystem("EE", "GOV", client_code, "DHX")),
        id: Some("t".into()),
        protocol_version: Some("4.0".into()),
        ..Default::default()
    };
    soap::build_send_document(&header, consignment, None, capsule_xml)
}

/// The peer the DHX listener would record for a loopback connection.
fn loopback_peer() -> axum::extract::ConnectInfo<docgate::dhx::listen::DhxPeer> {
    axum::extract::ConnectInfo(docgate::dhx::listen::DhxPeer {
        addr: "127.0.0.1:40000".parse().unwrap(),
        client_cert: false,
    })
}

async fn post(app: &docgate::App, ct: &str, body: Vec<u8>) -> (u16, soap::SendOutcome) {
    let router = docgate::dhx::routes(app.clone());
    let resp = router
        .oneshot(
            axum::http::Request::post("/dhx")
                .header("content-type", ct)
                .extension(loopback_peer())
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, soap::parse_send_response(None, &bytes).unwrap())
}

fn fault_code(o: &soap::SendOutcome) -> Option<FaultCode> {
    match o {
        soap::SendOutcome::Fault(f) => Some(f.code),
        _ => None,
    }
}

/// The endpoint in-process on each backend: delivery, duplicate, wrong addressee,
/// invalid capsule, bad version, oversize; nothing registered for a rejection,
/// every rejection (but the duplicate) quarantined.
#[tokio::test]
async fn endpoint_receives_and_rejects_on_every_backend() {
    for backend in backends() {
        let mut env = TestEnv::new(backend).await;
        env.config.agency.registry_code = "70001975".into();
        env.config.dhx.max_request_bytes = 200_000;
        env.config.dhx.allowed_clients = vec!["127.0.0.1".into()];
        let app = env.app().await;

        let (ct, body) = request(
            "70000740",
            "c-1",
            &capsule_to("70001975", "Kiri politseist"),
        );
        let (status, out) = post(&app, &ct, body.clone()).await;
        assert_eq!(status, 200, "{backend}");
        let soap::SendOutcome::Receipt(receipt) = out else {
            panic!("{backend}: {out:?}")
        };
        let doc = app.register.get_by_reg_no(&receipt).await.unwrap();
        assert_eq!(doc.title, "Kiri politseist");
        assert_eq!(doc.channel, docgate::model::Channel::Dhx);
        assert_eq!(doc.direction, docgate::model::Direction::Incoming);
        assert_eq!(doc.their_ref.as_deref(), Some("213465"));
        assert_eq!(doc.files.len(), 1);
        assert_eq!(
            app.register.file_bytes(&doc.files[0].sha256).await.unwrap(),
            b"sisu: Ettepanek.doc"
        );
        let events = app.register.events(doc.id).await.unwrap();
        assert!(events
            .iter()
            .any(|e| e.kind == "dhx_received" && e.detail["consignment_id"] == "c-1"));

        // the same consignment again: DHX.Duplicate, nothing new
        let (_, out) = post(&app, &ct, body).await;
        assert_eq!(
            fault_code(&out),
            Some(FaultCode::Duplicate),
            "{backend}: {out:?}"
        );
        // the same consignment id from another client is a different consignment
        let (ct2, body2) = request("70000562", "c-1", &capsule_to("70001975", "Teine"));
        assert!(matches!(
            post(&app, &ct2, body2).await.1,
            soap::SendOutcome::Receipt(_)
        ));

        let count = |app: docgate::App| async move {
            app.register.count(&Default::default()).await.unwrap()
        };
        let before = count(app.clone()).await;
        type Case<'a> = (&'a str, (String, Vec<u8>), FaultCode);
        let cases: Vec<Case> = vec![
            (
                "wrong addressee",
                request("70000740", "c-2", &capsule_to("99999999", "x")),
                FaultCode::InvalidAddressee,
            ),
            (
                "official wrong address",
                request(
                    "70000740",
                    "c-3",
                    &fixture("capsule/kapsel_wrong_address.xml"),
                ),
                FaultCode::InvalidAddressee,
            ),
            (
                "invalid capsule",
                request("70000740", "c-4", &fixture("capsule/kapsel_21_wrong.xml")),
                FaultCode::Validation,
            ),
            (
                "not a capsule",
                request("70000740", "c-5", b"test"),
                FaultCode::Validation,
            ),
            (
                "oversize",
                request("70000740", "c-6", &vec![b'<'; 300_000]),
                FaultCode::SizeLimitExceeded,
            ),
            (
                "version",
                (
                    "text/xml".into(),
                    fixture("dhx-protocol/sendDocument_request_version.xml"),
                ),
                FaultCode::UnsupportedVersion,
            ),
            (
                "no attachment",
                (
                    "text/xml".into(),
                    fixture("dhx-protocol/sendDocument_request.xml"),
                ),
                FaultCode::Validation,
            ),
        ];
        let n = cases.len();
        for (what, (ct, body), want) in cases {
            let (status, out) = post(&app, &ct, body).await;
            assert_eq!(status, 200, "{backend} {what}");
            assert_eq!(fault_code(&out), Some(want), "{backend} {what}: {out:?}");
        }
        // a file whose FileSize lies: the whole document is refused, nothing half-registered
        let mut c =
            capsule::read(&capsule_to("70001975", "Valesuurus"), &Default::default()).unwrap();
        c.files[0].size = Some("1".into());
        let (ct, body) = request("70000740", "c-7", capsule::write(&c).unwrap().as_bytes());
        let (_, out) = post(&app, &ct, body).await;
        assert!(
            matches!(&out, soap::SendOutcome::Fault(f) if f.code == FaultCode::Validation && f.message.contains("File[1]")),
            "{out:?}"
        );
        assert_eq!(
            count(app.clone()).await,
            before,
            "{backend}: a rejected request registered something"
        );
        let q = docgate::dhx::incoming::quarantined(&app).await.unwrap();
        assert_eq!(q.len(), n + 1, "{backend}: {q:?}");
        assert!(q.iter().any(
            |(_, code, reason, _)| code == "DHX.Validation" && reason.contains("RecordCreator")
        ));
    }
}

// ---------------------------------------------------------------------------
// CLI contract
// ---------------------------------------------------------------------------

fn cli(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

struct Agency {
    dir: tempfile::TempDir,
    code: String,
    port: u16,
    child: Option<Child>,
}

impl Agency {
    fn new(code: &str, name: &str, port: u16, peer_port: u16, extra: &str) -> Agency {
        let dir = tempfile::tempdir().unwrap();
        let cfg = format!(
            r#"data_dir = "{data}"

[agency]
name = "{name}"
registry_code = "{code}"

[dhx]
security_server_url = "http://127.0.0.1:{peer_port}/dhx"
retry_schedule = ["1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s", "1s"]
request_timeout = "10s"
poll_interval = "100ms"
allowed_clients = ["127.0.0.1"]
{extra}
"#,
            data = dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("docgate.toml"), cfg).unwrap();
        Agency {
            dir,
            code: code.into(),
            port,
            child: None,
        }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("docgate.toml")
    }

    fn start(&mut self) {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(self.config())
            .args([
                "dhx",
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("listening on"), "{line:?}");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        cli(&self.config(), args)
    }

    /// Registers an outgoing letter with one file; returns its reg_no.
    fn letter(&self, title: &str, content: &[u8], extra: &[&str]) -> String {
        let f = self
            .dir
            .path()
            .join(format!("{}.pdf", title.replace(' ', "_")));
        std::fs::write(&f, content).unwrap();
        let mut args = vec![
            "register",
            f.to_str().unwrap(),
            "--direction",
            "outgoing",
            "--title",
            title,
            "--json",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = self.run(&args);
        assert_eq!(code, 0, "{err}");
        json(&out)[0]["reg_no"].as_str().unwrap().to_string()
    }

    fn show(&self, reg_no: &str) -> serde_json::Value {
        let (code, out, err) = self.run(&["show", reg_no, "--json"]);
        assert_eq!(code, 0, "{err}");
        json(&out)
    }

    fn documents(&self) -> Vec<serde_json::Value> {
        let (code, out, err) = self.run(&["list", "--json"]);
        assert_eq!(code, 0, "{err}");
        json(&out).as_array().unwrap().clone()
    }

    /// Waits until every DHX delivery of `reg_no` is sent or failed; returns them.
    fn settled(&self, reg_no: &str, within: Duration) -> Vec<serde_json::Value> {
        let t0 = Instant::now();
        loop {
            let (code, out, err) = self.run(&["dhx", "status", reg_no, "--json"]);
            assert_eq!(code, 0, "{err}");
            let items = json(&out).as_array().unwrap().clone();
            if !items.is_empty()
                && items
                    .iter()
                    .all(|i| i["state"] == "sent" || i["state"] == "failed")
            {
                return items;
            }
            assert!(t0.elapsed() < within, "{reg_no} not settled: {items:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Agency {
    fn drop(&mut self) {
        self.stop();
    }
}

/// POSTs a request to a running endpoint (real HTTP).
fn post_raw(port: u16, ct: &str, body: Vec<u8>) -> soap::SendOutcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/dhx"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        soap::parse_send_response(None, &r.bytes().await.unwrap()).unwrap()
    })
}

#[test]
fn cli_check_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("docgate.toml");
    std::fs::write(
        &cfg,
        format!("data_dir = \"{}\"\n", dir.path().join("d").display()),
    )
    .unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dhx/capsule");
    for (f, valid) in [
        ("Naide1.xml", true),
        ("kapsel_21.xml", true),
        ("kapsel_21_gzip_base64.txt", true),
        ("kapsel.gzip.base64.txt", true),
        ("kapsel_21_wrong.xml", false),
        ("kapsel_21invalid.xml", false),
        ("kapsel_21_not_kapsel.xml", false),
    ] {
        let (code, out, err) = cli(
            &cfg,
            &["dhx", "check", root.join(f).to_str().unwrap(), "--json"],
        );
        assert_eq!(code, if valid { 0 } else { 4 }, "{f}: {out} {err}");
        let v = json(&out);
        assert_eq!(v["valid"], valid, "{f}");
        if !valid {
            assert_eq!(v["fault_code"], "DHX.Validation");
            assert!(v["message"].as_str().unwrap().contains("line"), "{v}");
        }
    }
    let (code, _, err) = cli(
        &cfg,
        &[
            "dhx",
            "check",
            root.join("kapsel_21invalid.xml").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 4);
    assert!(
        err.contains("DHX.Validation") && err.contains("DecSender"),
        "{err}"
    );
    let (code, _, err) = cli(&cfg, &["dhx", "check", "/nonexistent.xml"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent.xml"), "{err}");
}

#[test]
fn cli_import_capsule_and_capsule_roundtrip() {
    let a = Agency::new("70001975", "Sotsiaalkindlustusamet", 0, 0, "");
    let dir = a.dir.path();
    let f = dir.join("in.xml");
    std::fs::write(&f, capsule_to("70001975", "Imporditud kiri")).unwrap();
    let (code, out, err) = a.run(&["dhx", "import", f.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let reg = json(&out)["reg_no"].as_str().unwrap().to_string();
    let doc = a.show(&reg);
    assert_eq!(doc["channel"], "dhx");
    assert_eq!(doc["title"], "Imporditud kiri");
    // importing the same file twice is refused
    let (code, _, err) = a.run(&["dhx", "import", f.to_str().unwrap()]);
    assert_eq!(code, 6, "a conflict: {err}");
    assert!(err.contains("Duplicate"), "{err}");
    // an invalid one: exit 4, nothing registered
    let g = dir.join("bad.xml");
    std::fs::write(&g, fixture("capsule/kapsel_21invalid.xml")).unwrap();
    let (code, out, _) = a.run(&["dhx", "import", g.to_str().unwrap(), "--json"]);
    assert_eq!(code, 4);
    assert_eq!(json(&out)["fault_code"], "DHX.Validation");
    assert_eq!(a.documents().len(), 1);
    // a reply: its capsule goes back to the sender (400 in kapsel_21), threaded
    let reply = a.letter("Vastus", b"%PDF-1.4 vastus", &["--reply-to", &reg]);
    let (code, xml, err) = a.run(&["dhx", "capsule", &reply]);
    assert_eq!(code, 0, "{err}");
    let c = capsule::read(xml.as_bytes(), &Default::default()).unwrap();
    assert_eq!(capsule::addressees(&c), vec!["400"]);
    assert_eq!(c.record_metadata.record_original_identifier, reply);
    assert_eq!(
        c.recipients[0].record_original_identifier.as_deref(),
        Some("213465")
    );
    assert_eq!(
        c.initiator
            .as_ref()
            .unwrap()
            .record_original_identifier
            .as_deref(),
        Some("213465")
    );
    assert_eq!(c.files[0].content, b"%PDF-1.4 vastus");
    let p = dir.join("out.xml");
    std::fs::write(&p, &xml).unwrap();
    let lint = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/dhx/capsule/Dvk_kapsel_vers_2_1_eng_est.xsd"),
        )
        .arg(&p)
        .output()
        .expect("xmllint (libxml2-utils)");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}

/// Two agencies, two processes, real HTTP: each agency's "security server" is the
/// other's DHX endpoint.
#[test]
fn two_agencies_exchange_documents() {
    let (pa, pb) = (docgate::testing::free_port(), docgate::testing::free_port());
    let mut a = Agency::new("70001975", "Sotsiaalkindlustusamet", pa, pb, "");
    let mut b = Agency::new(
        "70000740",
        "Politsei- ja Piirivalveamet",
        pb,
        pa,
        "max_request_bytes = 400000",
    );
    a.start();
    b.start();

    // 1. a delivery, AK and all
    let reg = a.letter(
        "Teade kannatanu kohta",
        b"%PDF-1.4 teade",
        &[
            "--restrict",
            "AvTS § 35 lg 1 p 12",
            "--restrict-until",
            "2030-01-01",
            "--their-ref",
            "PPA-9/1",
        ],
    );
    let (code, out, err) = a.run(&["dhx", "send", &reg, "--to", &b.code, "--json"]);
    assert_eq!(code, 0, "{err}");
    let consignment = json(&out)["queued"][0]["consignment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let items = a.settled(&reg, Duration::from_secs(30));
    assert_eq!(items[0]["state"], "sent", "{items:?}");
    let result = items[0]["result"].as_str().unwrap();
    assert!(result.starts_with("delivered: receiptId "), "{result}");
    let receipt = result
        .trim_start_matches("delivered: receiptId ")
        .to_string();
    let got = b.show(&receipt);
    assert_eq!(got["title"], "Teade kannatanu kohta");
    assert_eq!(got["direction"], "incoming");
    assert_eq!(got["channel"], "dhx");
    assert_eq!(got["their_ref"], reg.as_str());
    assert_eq!(got["restriction"]["ground"], "AvTS § 35 lg 1 p 12");
    assert_eq!(got["restriction"]["ends"], "2030-01-01");
    assert_eq!(got["parties"][0]["name"], "Sotsiaalkindlustusamet");
    let shown = a.show(&reg);
    assert!(
        shown["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "dhx_delivered" && e["detail"]["receipt_id"] == receipt.as_str()),
        "{shown}"
    );

    // the reply comes back over DHX into A's thread
    let reply = b.letter(
        "Vastus teatele",
        b"%PDF-1.4 vastus",
        &["--reply-to", &receipt],
    );
    let (code, _, err) = b.run(&["dhx", "send", &reply]);
    assert_eq!(code, 0, "{err}");
    let items = b.settled(&reply, Duration::from_secs(30));
    assert_eq!(items[0]["state"], "sent", "{items:?}");
    assert_eq!(items[0]["recipient"], a.code.as_str());
    let back = items[0]["result"]
        .as_str()
        .unwrap()
        .trim_start_matches("delivered: receiptId ")
        .to_string();
    assert!(
        back.starts_with(&format!("{reg}-")),
        "the reply joins A's thread: {back} vs {reg}"
    );

    // 2. a duplicate: the same consignment posted again to B
    let before = b.documents().len();
    let xml = {
        let (code, xml, err) = a.run(&["dhx", "capsule", &reg, "--to", &b.code]);
        assert_eq!(code, 0, "{err}");
        xml
    };
    let (ct, body) = request(&a.code, &consignment, xml.as_bytes());
    let out = post_raw(pb, &ct, body);
    assert_eq!(fault_code(&out), Some(FaultCode::Duplicate), "{out:?}");
    assert_eq!(b.documents().len(), before);

    // 3. a wrong addressee: B is asked to take a letter for someone else
    let wrong = a.letter("Vale aadressiga", b"%PDF-1.4 x", &[]);
    assert_eq!(a.run(&["dhx", "send", &wrong, "--to", "99999999"]).0, 0);
    let items = a.settled(&wrong, Duration::from_secs(30));
    assert_eq!(items[0]["state"], "failed");
    assert!(
        items[0]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("DHX.InvalidAddressee"),
        "{items:?}"
    );
    assert!(a.show(&wrong)["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "dhx_failed" && e["detail"]["fault_code"] == "DHX.InvalidAddressee"));

    // 4. an invalid capsule straight to B's endpoint
    let (ct, body) = request(
        &a.code,
        "invalid-1",
        &fixture("capsule/kapsel_21invalid.xml"),
    );
    let out = post_raw(pb, &ct, body);
    assert!(
        matches!(&out, soap::SendOutcome::Fault(f) if f.code == FaultCode::Validation && f.message.contains("DecSender")),
        "{out:?}"
    );
    assert_eq!(b.documents().len(), before);

    // 5. an oversize capsule: B takes at most 400 kB
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let big: Vec<u8> = (0..600_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    let large = a.letter("Suur fail", &big, &[]);
    assert_eq!(a.run(&["dhx", "send", &large, "--to", &b.code]).0, 0);
    let items = a.settled(&large, Duration::from_secs(30));
    assert_eq!(items[0]["state"], "failed");
    assert!(
        items[0]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("DHX.SizeLimitExceeded"),
        "{items:?}"
    );
    assert_eq!(b.documents().len(), before);

    // 6. the receiver is down, then up: retries deliver exactly once
    b.stop();
    let late = a.letter("Hilinenud kiri", b"%PDF-1.4 hiline", &[]);
    assert_eq!(a.run(&["dhx", "send", &late, "--to", &b.code]).0, 0);
    let t0 = Instant::now();
    loop {
        let (_, out, _) = a.run(&["dhx", "status", &late, "--json"]);
        let items = json(&out);
        // A second attempt that has finished (while an attempt runs, the item is
        // `sending` under the worker's lease).
        if items[0]["attempts"].as_i64().unwrap_or(0) >= 2 && items[0]["state"] != "sending" {
            assert_eq!(items[0]["state"], "queued", "{items}");
            assert!(
                items[0]["last_error"]
                    .as_str()
                    .unwrap()
                    .contains("cannot reach"),
                "{items}"
            );
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no retries: {items}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    b.start();
    let items = a.settled(&late, Duration::from_secs(30));
    assert_eq!(items[0]["state"], "sent", "{items:?}");
    assert!(items[0]["attempts"].as_i64().unwrap() >= 3);
    let titles: Vec<String> = b
        .documents()
        .iter()
        .map(|d| d["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        titles.iter().filter(|t| *t == "Hilinenud kiri").count(),
        1,
        "{titles:?}"
    );
    // and B's audit chain is intact
    let (code, _, err) = b.run(&["verify"]);
    assert_eq!(code, 0, "{err}");
}

// ------------------------------------------------------------ adapter poller

/// A scripted DVK-style adapter server (the real one, RIA's Java DHX adapter,
/// cannot be installed from the registries this machine reaches): it answers
/// `receiveDocuments` with the next queued batch of capsules, base64(gzip(XML))
/// concatenated on one line, and records the ids of `markDocumentsReceived`.
/// Receiving through an adapter server: every capsule registered once, the
/// wrong addressee quarantined verbatim, every one acknowledged only after
/// that, and a batch handed out again (the acknowledgement got lost)
/// registers nothing twice.
#[tokio::test]
async fn adapter_poller_registers_acknowledges_and_never_twice() {
    for backend in backends() {
        let peer = std::sync::Arc::new(std::sync::Mutex::new(AdapterPeer::default()));
        let first = vec![
            capsule_with_dvk_id("70001975", "Kiri adapterist üks", "5001"),
            capsule_with_dvk_id("70001975", "Kiri adapterist kaks", "5002"),
            capsule_with_dvk_id("99999999", "Kellelegi teisele", "5003"),
        ];
        {
            let mut p = peer.lock().unwrap();
            p.batches.push_back(first.clone());
            p.batches.push_back(vec![first[1].clone()]);
        }
        let (url, server) = start_adapter_peer(peer.clone()).await;
        let mut env = TestEnv::new(backend).await;
        env.config.agency.registry_code = "70001975".into();
        env.config.dhx.adapter_url = url;
        let app = env.app().await;
        let client = docgate::dhx::poll::client(&app).unwrap();

        let r = docgate::dhx::poll::poll_once(&app, &client, 10)
            .await
            .unwrap();
        assert_eq!(r.received, 3, "{backend}: {r:?}");
        assert_eq!(r.registered.len(), 2, "{backend}: {r:?}");
        assert_eq!(r.quarantined, 1, "{backend}: {r:?}");
        assert_eq!(r.acknowledged, ["5001", "5002", "5003"], "{backend}");
        assert_eq!(
            peer.lock().unwrap().marked,
            vec![vec!["5001".to_string(), "5002".into(), "5003".into()]],
            "{backend}: acknowledged after registering"
        );
        let doc = app.register.get_by_reg_no(&r.registered[0]).await.unwrap();
        assert_eq!(doc.title, "Kiri adapterist üks");
        assert_eq!(doc.channel, docgate::model::Channel::Dhx);
        assert_eq!(doc.direction, docgate::model::Direction::Incoming);
        let q = docgate::dhx::incoming::quarantined(&app).await.unwrap();
        assert_eq!(q.len(), 1, "{backend}: {q:?}");
        assert_eq!(q[0].1, "DHX.InvalidAddressee", "{backend}: {q:?}");

        // the server hands out 5002 again: a duplicate, acknowledged again
        let before = app.register.count(&Default::default()).await.unwrap();
        let r = docgate::dhx::poll::poll_once(&app, &client, 10)
            .await
            .unwrap();
        assert_eq!((r.received, r.duplicates), (1, 1), "{backend}: {r:?}");
        assert!(r.registered.is_empty(), "{backend}: {r:?}");
        assert_eq!(
            app.register.count(&Default::default()).await.unwrap(),
            before
        );
        assert_eq!(peer.lock().unwrap().marked.len(), 2);

        // nothing waiting: no acknowledgement call
        let r = docgate::dhx::poll::poll_once(&app, &client, 10)
            .await
            .unwrap();
        assert_eq!(r, Default::default(), "{backend}");
        assert_eq!(peer.lock().unwrap().marked.len(), 2);
        assert_eq!(peer.lock().unwrap().receive_calls, 3);
        server.abort();
    }
}

// ---------------------------------------------------------------------------
// The DHX listener: allowed peers, mutual TLS, the global budget, the quarantine
// ---------------------------------------------------------------------------

/// A PEM certificate and key signed by `ca`.
fn leaf_cert(
    ca: &rcgen::Issuer<'_, rcgen::KeyPair>,
    san: &str,
    eku: rcgen::ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec![san.to_string()]).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, san.to_string());
    p.extended_key_usages = vec![eku];
    let cert = p.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn test_ca(name: &str) -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    p.distinguished_name
        .push(rcgen::DnType::CommonName, name.to_string());
    rcgen::CertifiedIssuer::self_signed(p, rcgen::KeyPair::generate().unwrap()).unwrap()
}

/// Starts `docgate::dhx::listen::serve` on a free loopback port.
async fn start_listener(
    app: docgate::App,
) -> (std::net::SocketAddr, tokio_util::sync::CancellationToken) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let sd = tokio_util::sync::CancellationToken::new();
    tokio::spawn(docgate::dhx::listen::serve(app, l, sd.clone()));
    (addr, sd)
}

/// Only the security server may send: an address in dhx.allowed_clients, or a
/// client certificate chaining to dhx.tls.client_ca (mutual TLS); anyone else
/// gets 403 and nothing is registered or quarantined.
#[tokio::test]
async fn dhx_listener_admits_allowed_addresses_and_client_certificates_only() {
    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca("X-tee test CA");
    let rogue_ca = test_ca("Rogue CA");
    let (srv_cert, srv_key) =
        leaf_cert(&ca, "dhx.test", rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    let (cli_cert, cli_key) = leaf_cert(
        &ca,
        "turvaserver",
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    );
    let (rogue_cert, rogue_key) = leaf_cert(
        &rogue_ca,
        "turvaserver",
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    );
    let p = |n: &str, s: &str| {
        let path = dir.path().join(n);
        std::fs::write(&path, s).unwrap();
        path
    };
    let tls = docgate::dhx::DhxTls {
        cert: p("srv.crt", &srv_cert),
        key: p("srv.key", &srv_key),
        client_ca: p("ca.crt", &ca.pem()),
    };
    for backend in backends() {
        // 1. allowed addresses, plain HTTP
        let mut env = TestEnv::new(backend).await;
        env.config.agency.registry_code = "70001975".into();
        env.config.dhx.allowed_clients = vec!["127.0.0.1".into()];
        let app = env.app().await;
        let (addr, sd) = start_listener(app.clone()).await;
        let url = format!("http://{addr}/dhx");
        let (ct, body) = request(
            "70000740",
            "a-1",
            &capsule_to("70001975", "Lubatud aadressilt"),
        );
        let r = reqwest::Client::new()
            .post(&url)
            .header("content-type", &ct)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{backend}");
        let out = soap::parse_send_response(None, &r.bytes().await.unwrap()).unwrap();
        assert!(
            matches!(out, soap::SendOutcome::Receipt(_)),
            "{backend}: {out:?}"
        );
        let stranger = reqwest::Client::builder()
            .local_address(Some("127.0.0.2".parse().unwrap()))
            .build()
            .unwrap();
        let (ct2, body2) = request("70000740", "a-2", &capsule_to("70001975", "Võõras"));
        let r = stranger
            .post(&url)
            .header("content-type", &ct2)
            .body(body2.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            403,
            "{backend}: 127.0.0.2 is not allowed"
        );
        assert!(r.text().await.unwrap().starts_with("keelatud"));
        sd.cancel();
        assert_eq!(count(app.clone()).await, 1, "{backend}");
        assert!(docgate::dhx::incoming::quarantined(&app)
            .await
            .unwrap()
            .is_empty());

        // 2. mutual TLS, no allowed address: only a certificate of the client CA
        let mut env = TestEnv::new(backend).await;
        env.config.agency.registry_code = "70001975".into();
        env.config.dhx.tls = Some(tls.clone());
        let app = env.app().await;
        let (addr, sd) = start_listener(app.clone()).await;
        let url = format!("https://dhx.test:{}/dhx", addr.port());
        let client = |identity: Option<(&str, &str)>| {
            let mut b = reqwest::Client::builder()
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
                .resolve("dhx.test", addr);
            if let Some((c, k)) = identity {
                b = b.identity(reqwest::Identity::from_pem(format!("{c}{k}").as_bytes()).unwrap());
            }
            b.build().unwrap()
        };
        let r = client(None)
            .post(&url)
            .header("content-type", &ct2)
            .body(body2.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            403,
            "{backend}: TLS without a client certificate"
        );
        let rogue = client(Some((&rogue_cert, &rogue_key)))
            .post(&url)
            .header("content-type", &ct2)
            .body(body2.clone())
            .send()
            .await;
        assert!(
            rogue.is_err() || rogue.as_ref().unwrap().status().as_u16() == 403,
            "{backend}: a certificate of another CA: {rogue:?}"
        );
        let plain = reqwest::Client::new()
            .post(format!("http://{addr}/dhx"))
            .body(body2.clone())
            .send()
            .await;
        assert!(
            plain.is_err() || plain.as_ref().unwrap().status().as_u16() >= 400,
            "{backend}: plain HTTP on the TLS port: {plain:?}"
        );
        assert_eq!(
            count(app.clone()).await,
            0,
            "{backend}: nothing registered yet"
        );
        let r = client(Some((&cli_cert, &cli_key)))
            .post(&url)
            .header("content-type", &ct)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            200,
            "{backend}: the security server's certificate"
        );
        let out = soap::parse_send_response(None, &r.bytes().await.unwrap()).unwrap();
        assert!(
            matches!(out, soap::SendOutcome::Receipt(_)),
            "{backend}: {out:?}"
        );
        assert_eq!(count(app.clone()).await, 1, "{backend}");
        sd.cancel();
    }
}

/// A request without a peer from a DHX listener is refused: the routes cannot be
/// served anonymously by mistake.
#[tokio::test]
async fn dhx_routes_refuse_requests_without_an_allowed_peer() {
    let mut env = TestEnv::new("sqlite").await;
    env.config.dhx.allowed_clients = vec!["10.0.0.0/8".into()];
    let app = env.app().await;
    let (ct, body) = request("70000740", "n-1", &capsule_to("70001975", "Anonüümne"));
    for peer in [None, Some(loopback_peer())] {
        let mut req = axum::http::Request::post("/dhx").header("content-type", &ct);
        if let Some(p) = peer {
            req = req.extension(p);
        }
        let resp = docgate::dhx::routes(app.clone())
            .oneshot(req.body(axum::body::Body::from(body.clone())).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403);
    }
    assert_eq!(count(app.clone()).await, 0);
}

/// base64(gzip(`n` zero bytes)).
fn zero_gzip_b64(n: usize) -> String {
    capsule::b64_encode(&capsule::gzip(&vec![0u8; n]))
}

/// A capsule whose first file is the given base64(gzip) text.
fn capsule_with_content(title: &str, b64: &str) -> Vec<u8> {
    let mut xml = String::from_utf8(capsule_to("70001975", title)).unwrap();
    let start = xml.find("<ZipBase64Content>").unwrap() + "<ZipBase64Content>".len();
    let end = xml[start..].find("</ZipBase64Content>").unwrap() + start;
    xml.replace_range(start..end, b64);
    xml.into_bytes()
}

/// The global budget: a decompression that does not fit is answered 503 with a
/// SOAP server fault (not quarantined: the fault is ours), and the budget is
/// whole again afterwards, so the next request is received.
#[tokio::test]
async fn dhx_budget_answers_503_instead_of_allocating() {
    for backend in backends() {
        let mut env = TestEnv::new(backend).await;
        env.config.agency.registry_code = "70001975".into();
        env.config.dhx.allowed_clients = vec!["127.0.0.1".into()];
        env.config.dhx.max_request_bytes = 200_000;
        env.config.dhx.max_inflight_bytes = 1_000_000;
        let app = env.app().await;
        // 4 MB of zeros: under max_decompressed_bytes, over the global budget
        let bomb = capsule_with_content("Pomm", &zero_gzip_b64(4 << 20));
        let (ct, body) = request("70000740", "bomb-1", &bomb);
        let router = docgate::dhx::routes(app.clone());
        let resp = router
            .clone()
            .oneshot(
                axum::http::Request::post("/dhx")
                    .header("content-type", &ct)
                    .extension(loopback_peer())
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 503, "{backend}");
        assert_eq!(resp.headers()["retry-after"], "5");
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("SOAP-ENV:Server") && text.contains("busy"),
            "{text}"
        );
        assert!(docgate::dhx::incoming::quarantined(&app)
            .await
            .unwrap()
            .is_empty());
        // the same router (the same budget) receives the next request
        let (ct, body) = request("70000740", "ok-1", &capsule_to("70001975", "Pärast pommi"));
        let resp = router
            .oneshot(
                axum::http::Request::post("/dhx")
                    .header("content-type", &ct)
                    .extension(loopback_peer())
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{backend}");
        assert_eq!(count(app.clone()).await, 1, "{backend}");
    }
}

/// The quarantine is bounded: one row per SHA-256 with a counter, at most
/// quarantine_keep_bytes of a body kept (its true size recorded), and past
/// quarantine_max_bytes metadata only.
#[tokio::test]
async fn dhx_quarantine_is_deduplicated_and_capped() {
    for backend in backends() {
        let mut env = TestEnv::new(backend).await;
        env.config.agency.registry_code = "70001975".into();
        env.config.dhx.allowed_clients = vec!["127.0.0.1".into()];
        env.config.dhx.quarantine_keep_bytes = 1000;
        env.config.dhx.quarantine_max_bytes = 1500;
        let app = env.app().await;
        let garbage = |c: u8| {
            let mut b = b"<not-a-soap-envelope>".to_vec();
            b.extend(std::iter::repeat_n(c, 3000));
            b
        };
        for _ in 0..3 {
            let (status, out) = post(&app, "text/xml", garbage(b'a')).await;
            assert_eq!(status, 200, "{backend}");
            assert_eq!(fault_code(&out), Some(FaultCode::Validation), "{backend}");
        }
        let _ = post(&app, "text/xml", garbage(b'b')).await;
        let rows = docgate::dhx::incoming::quarantined_rows(&app)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "{backend}: {rows:?}");
        let (b, a) = (&rows[0], &rows[1]);
        assert_eq!(a.seen_count, 3, "{backend}");
        assert_eq!(a.size, 3021);
        assert_eq!(a.kept_bytes, 1000, "{backend}: the body is capped");
        let expect = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(garbage(b'a')));
        assert_eq!(a.sha256.as_deref(), Some(expect.as_str()));
        assert_eq!(b.seen_count, 1);
        assert_eq!(b.size, 3021);
        assert_eq!(
            b.kept_bytes, 0,
            "{backend}: past the disk-use limit, metadata only"
        );
        assert!(b.sha256.is_some());
    }
}

async fn count(app: docgate::App) -> i64 {
    app.register.count(&Default::default()).await.unwrap()
}

/// The shared DigiDoc4j container corpus (`../shared/corpus/asice`).
fn asice_corpus(p: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/asice")
        .join(p);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A capsule whose one file is `name` with `content`.
fn capsule_with_file(title: &str, name: &str, mime: &str, content: Vec<u8>) -> Vec<u8> {
    let mut c = capsule::read(&capsule_to("70001975", title), &Default::default()).unwrap();
    c.files.truncate(1);
    c.files[0].name = name.into();
    c.files[0].mime_type = mime.into();
    c.files[0].size = Some(content.len().to_string());
    c.files[0].content = content;
    capsule::write(&c).unwrap().into_bytes()
}

/// A signed container that comes by DHX is opened as one that comes by e-mail:
/// its data files become files of the document, marked as from it, and the
/// container is kept byte for byte; a container whose structure is broken is
/// refused with a validation fault naming the reason, and quarantined.
#[tokio::test]
async fn a_container_by_dhx_is_opened_and_a_broken_one_is_refused() {
    for backend in backends() {
        let mut env = TestEnv::new(backend).await;
        env.config.agency.registry_code = "70001975".into();
        env.config.dhx.allowed_clients = vec!["127.0.0.1".into()];
        let app = env.app().await;

        let signed = asice_corpus("valid-containers/valid-asice.asice");
        let capsule = capsule_with_file(
            "Allkirjastatud taotlus",
            "taotlus.asice",
            "application/vnd.etsi.asic-e+zip",
            signed.clone(),
        );
        let (ct, body) = request("70000740", "c-asice-1", &capsule);
        let (status, out) = post(&app, &ct, body).await;
        assert_eq!(status, 200, "{backend}: {out:?}");
        let soap::SendOutcome::Receipt(reg_no) = &out else {
            panic!("{backend}: {out:?}")
        };
        let found = app.register.find_by_reg_no(reg_no).await.unwrap().unwrap();
        let d = app.register.get(found.id).await.unwrap();
        assert!(d.files.len() >= 2, "{backend}: {:?}", d.files);
        assert_eq!(d.files[0].name, "taotlus.asice", "{backend}");
        assert_eq!(
            app.register.file_bytes(&d.files[0].sha256).await.unwrap(),
            signed,
            "{backend}: the container is kept byte for byte"
        );
        let pos = app.register.container_positions(d.id).await.unwrap();
        assert_eq!(pos[0], None, "{backend}");
        assert!(
            pos[1..].iter().all(|p| *p == Some(0)),
            "{backend}: the data files are marked as from the container: {pos:?}"
        );

        let before = count(app.clone()).await;
        let broken = capsule_with_file(
            "Katkine konteiner",
            "katkine.asics",
            "application/vnd.etsi.asic-s+zip",
            asice_corpus("invalid-containers/1xTST-no-data-file.asics"),
        );
        let (ct, body) = request("70000740", "c-asice-2", &broken);
        let (_, out) = post(&app, &ct, body).await;
        assert!(
            matches!(&out, soap::SendOutcome::Fault(f) if f.code == FaultCode::Validation),
            "{backend}: {out:?}"
        );
        assert_eq!(count(app.clone()).await, before, "{backend}");
        let q = docgate::dhx::incoming::quarantined(&app).await.unwrap();
        assert!(
            q.iter().any(
                |(_, code, reason, _)| code == "DHX.Validation" && reason.contains("andmefail")
            ),
            "{backend}: {q:?}"
        );
    }
}
