//! The records lifecycle's exports (issue #18): archival transfer as an E-ARK
//! SIP (validated by the E-ARK validator and by xmllint against the METS
//! schema the validator ships) and a person's data (GDPR Art. 15) — on every
//! backend: SQLite always, PostgreSQL when DOCGATE_TEST_POSTGRES_URL is set.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use docgate::model::*;
use docgate::testing::{backends, missing_service, TestEnv};
use sha2::Digest;

const PERSON: &str = "49403136515";
const OTHER: &str = "37605030299";

fn doc(title: &str, series: &str, at: &str, text: &str) -> NewDocument {
    let mut d = NewDocument::new(Direction::Incoming, Channel::Post, title);
    d.series = Some(series.into());
    d.registered_at = Some(at.parse().unwrap());
    let mut f = NewFile::new(
        format!("{title}.txt"),
        "text/plain",
        text.as_bytes().to_vec(),
    );
    f.text = Some(text.to_string());
    f.text_status = TextStatus::Extracted;
    d.files.push(f);
    d
}

fn person(name: &str, code: &str) -> Party {
    Party::from_name_and_code(name, Some(code), PartyRole::Sender).unwrap()
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

fn sha256_hex(b: &[u8]) -> String {
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

const VALIDATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/eark_validate.py");

/// The Python that has eark-validator: DOCGATE_TEST_EARK_PYTHON (.ci/setup/eark.sh), else python3.
fn python() -> Command {
    Command::new(std::env::var("DOCGATE_TEST_EARK_PYTHON").unwrap_or_else(|_| "python3".into()))
}

/// The mets.xsd eark-validator ships, or None (then the test has met a missing service).
fn validator_mets_xsd() -> Option<PathBuf> {
    let out = python().args([VALIDATOR, "--mets-xsd"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.exists().then_some(p)
}

/// xmllint --schema mets.xsd, offline: an XML catalog maps the XLink schema
/// mets.xsd imports from the web to the copy beside it.
fn xmllint_mets(xsd: &Path, file: &Path, work: &Path) -> std::process::Output {
    let xlink = xsd.with_file_name("xlink.xsd");
    let catalog = work.join("catalog.xml");
    std::fs::write(
        &catalog,
        format!(
            r#"<?xml version="1.0"?>
<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">
  <system systemId="http://www.loc.gov/standards/xlink/xlink.xsd" uri="file://{x}"/>
  <uri name="http://www.loc.gov/standards/xlink/xlink.xsd" uri="file://{x}"/>
</catalog>
"#,
            x = xlink.display()
        ),
    )
    .unwrap();
    Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd)
        .arg(file)
        .env("XML_CATALOG_FILES", &catalog)
        .output()
        .expect("run xmllint")
}

#[tokio::test]
async fn an_exported_sip_validates_and_the_transfer_waits_for_the_receipt() {
    let Some(mets_xsd) = validator_mets_xsd() else {
        missing_service(
            "eark-validator (python3 tools/eark_validate.py)",
            "pip install eark-validator (.ci/setup/eark.sh)",
        );
        return;
    };
    if Command::new("xmllint").arg("--version").output().is_err() {
        missing_service("xmllint", "apt-get install libxml2-utils");
        return;
    }
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        // 9-17 (police, prosecutors, courts) is appraised for transfer; its
        // documents are restricted by default (AvTS § 35 lg 1 p 1).
        let mut court = doc(
            "Kohtu kiri & määrus",
            "9-17",
            "2026-02-02T10:00:00Z",
            "Kohtu määrus <nr 2-26/1>",
        );
        court.parties.push(person("Mari Maasikas", PERSON));
        let court = reg.register(court, "t").await.unwrap();
        let police = reg
            .register(
                doc("Politsei teade", "9-17", "2026-03-03T10:00:00Z", "teade"),
                "t",
            )
            .await
            .unwrap();
        assert!(court.restriction.is_some(), "{b}");
        let out = env.dir.path().join("sip");

        let x = json(&docgate(
            &env,
            &[
                "transfer",
                "export",
                "9-17/2026",
                "--out",
                out.to_str().unwrap(),
                "--json",
            ],
        ));
        let package = x["package"].as_str().unwrap().to_string();
        let root = out.join(&package);
        assert!(root.join("METS.xml").is_file(), "{b}: {x}");
        assert_eq!(
            (x["documents"].as_u64(), x["restricted"].as_u64()),
            (Some(2), Some(2)),
            "{b}: {x}"
        );
        let act = x["act"]
            .as_str()
            .expect("a transfer registers its act")
            .to_string();

        // The E-ARK validator (CSIP/SIP 2.1 structure, METS schema, schematron rules).
        let v = python().arg(VALIDATOR).arg(&root).output().unwrap();
        assert!(
            v.status.success(),
            "{b}: eark-validator: {}\n{}",
            String::from_utf8_lossy(&v.stderr),
            String::from_utf8_lossy(&v.stdout)
        );
        // xmllint against the mets.xsd the validator ships: both METS files.
        for m in ["METS.xml", "representations/rep1/METS.xml"] {
            let l = xmllint_mets(&mets_xsd, &root.join(m), env.dir.path());
            assert!(
                l.status.success(),
                "{b}: xmllint {m}: {}",
                String::from_utf8_lossy(&l.stderr)
            );
        }
        // Every file's SHA-256 in the METS is the file's; the structure is file unit → document → file.
        let mets = std::fs::read_to_string(root.join("METS.xml")).unwrap();
        let tree = roxmltree::Document::parse(&mets).unwrap();
        let xlink = "http://www.w3.org/1999/xlink";
        let mut checked = 0;
        for f in tree.descendants().filter(|n| n.has_tag_name("file")) {
            assert_eq!(f.attribute("CHECKSUMTYPE"), Some("SHA-256"), "{b}");
            let href = f
                .children()
                .find(|c| c.has_tag_name("FLocat"))
                .and_then(|l| l.attribute((xlink, "href")))
                .unwrap();
            let bytes = std::fs::read(root.join(href)).unwrap();
            assert_eq!(
                f.attribute("CHECKSUM").unwrap().to_ascii_lowercase(),
                sha256_hex(&bytes),
                "{b}: {href}"
            );
            checked += 1;
        }
        assert_eq!(
            checked, 6,
            "{b}: documentation, 2 schemas, the representation METS, 2 files"
        );
        let unit = tree
            .descendants()
            .find(|n| n.attribute("TYPE") == Some("toimik"))
            .expect("a file unit division");
        assert!(
            unit.attribute("LABEL").unwrap().starts_with("9-17/2026"),
            "{b}"
        );
        let docs: Vec<&str> = unit
            .children()
            .filter(|n| n.attribute("TYPE") == Some("dokument"))
            .map(|n| n.attribute("LABEL").unwrap())
            .collect();
        assert_eq!(
            docs,
            vec![court.reg_no.as_str(), police.reg_no.as_str()],
            "{b}"
        );
        let fptr = unit
            .descendants()
            .find(|n| n.has_tag_name("fptr"))
            .and_then(|n| n.attribute("FILEID"))
            .unwrap();
        assert!(mets.contains(&format!("ID=\"{fptr}\"")), "{b}");
        // EAD3 carries the restriction, PREMIS the fixity and the audit events.
        let ead = std::fs::read_to_string(root.join("metadata/descriptive/ead.xml")).unwrap();
        assert!(
            ead.contains("<accessrestrict>") && ead.contains("AvTS § 35 lg 1 p 1"),
            "{b}"
        );
        assert!(ead.contains("Kohtu kiri &amp; määrus"), "{b}");
        let premis =
            std::fs::read_to_string(root.join("metadata/preservation/premis.xml")).unwrap();
        assert!(premis.contains(&court.files[0].sha256), "{b}");
        assert!(
            premis.contains("<premis:eventType>registered</premis:eventType>"),
            "{b}: {premis}"
        );

        // The act is a document; each restricted document's hand-over is a release.
        let act_doc = reg.get_by_reg_no(&act).await.unwrap();
        assert_eq!(act_doc.series, "1-10", "{b}");
        let kinds: Vec<String> = reg
            .events(court.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert!(kinds.contains(&"released".to_string()), "{b}: {kinds:?}");
        // The originals stay until the receipt; a second transfer waits for it; a copy does not.
        assert!(reg.transferred_by(court.id).await.unwrap().is_none(), "{b}");
        assert!(reg.file_bytes(&court.files[0].sha256).await.is_ok(), "{b}");
        let again = docgate(
            &env,
            &[
                "transfer",
                "export",
                "9-17/2026",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(!again.status.success(), "{b}");
        assert!(
            String::from_utf8_lossy(&again.stderr).contains(&package),
            "{b}"
        );
        let copy = json(&docgate(
            &env,
            &[
                "transfer",
                "export",
                "9-17",
                "--out",
                out.to_str().unwrap(),
                "--copy",
                "--json",
            ],
        ));
        assert!(copy["act"].is_null(), "{b}: {copy}");
        // A series appraised for destruction exports only as a copy.
        reg.register(doc("kiri", "9-13", "2026-01-05T10:00:00Z", "kiri"), "t")
            .await
            .unwrap();
        let c13 = json(&docgate(
            &env,
            &[
                "transfer",
                "export",
                "9-13",
                "--out",
                out.to_str().unwrap(),
                "--json",
            ],
        ));
        assert!(c13["act"].is_null(), "{b}: {c13}");
        let v = python()
            .arg(VALIDATOR)
            .arg(out.join(c13["package"].as_str().unwrap()))
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&v.stderr)
        );

        // The archive's receipt: the documents become transferred.
        let t = json(&docgate(
            &env,
            &[
                "transfer",
                "receipt",
                &package,
                "--archive-ref",
                "ERA.2026.17",
                "--json",
            ],
        ));
        assert_eq!(
            (t["status"].as_str(), t["documents"].as_i64()),
            (Some("received"), Some(2)),
            "{b}: {t}"
        );
        assert_eq!(
            reg.transferred_by(police.id).await.unwrap(),
            Some(package.clone()),
            "{b}"
        );
        assert!(
            reg.events(police.id)
                .await
                .unwrap()
                .iter()
                .any(|e| e.kind == "transferred"),
            "{b}"
        );
        let twice = docgate(
            &env,
            &["transfer", "receipt", &package, "--archive-ref", "x"],
        );
        assert!(!twice.status.success(), "{b}");
        let list = json(&docgate(&env, &["transfer", "list", "--json"]));
        assert_eq!(list.as_array().unwrap().len(), 1, "{b}: {list}");
        let v = docgate(&env, &["verify", "--json"]);
        assert!(
            v.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
}

fn zip_entries(path: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    (0..z.len())
        .map(|i| {
            let mut e = z.by_index(i).unwrap();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (e.name().to_string(), b)
        })
        .collect()
}

#[tokio::test]
async fn a_subject_export_holds_exactly_the_persons_documents() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        // Hers: she wrote it.
        let mut own = doc(
            "avaldus",
            "9-14",
            "2026-01-05T10:00:00Z",
            &format!("Mina, Mari Maasikas {PERSON}, taotlen hüvitist."),
        );
        own.parties.push(person("Mari Maasikas", PERSON));
        let own = reg.register(own, "t").await.unwrap();
        // Hers, but a file names a third person.
        let mut mixed = doc(
            "tunnistus",
            "9-14",
            "2026-01-06T10:00:00Z",
            &format!("Tunnistaja Jaan Tamm {OTHER} kinnitab, et Mari Maasikas {PERSON} oli kohal."),
        );
        mixed.parties.push(person("Mari Maasikas", PERSON));
        mixed.parties.push(person("Jaan Tamm", OTHER));
        let mixed = reg.register(mixed, "t").await.unwrap();
        // Someone else's restricted document that mentions her code.
        let mut theirs = doc(
            "Jaani avaldus",
            "9-14",
            "2026-01-07T10:00:00Z",
            &format!("Jaan Tamm {OTHER}: naaber {PERSON} nägi seda."),
        );
        theirs.parties.push(person("Jaan Tamm", OTHER));
        let theirs = reg.register(theirs, "t").await.unwrap();
        // Someone else's, without her.
        let mut unrelated = doc(
            "Jaani teine kiri",
            "9-14",
            "2026-01-08T10:00:00Z",
            "muu asi",
        );
        unrelated.parties.push(person("Jaan Tamm", OTHER));
        let unrelated = reg.register(unrelated, "t").await.unwrap();
        assert!(
            theirs.restriction.is_some() && own.restriction.is_some(),
            "{b}"
        );
        // A staff member read her application.
        reg.record_event(
            Some(own.id),
            "viewed",
            serde_json::json!({"via": "web"}),
            "kati",
        )
        .await
        .unwrap();

        let zip_path = env.dir.path().join("andmed.zip");
        let out = json(&docgate(
            &env,
            &[
                "subject-export",
                PERSON,
                "--out",
                zip_path.to_str().unwrap(),
                "--json",
            ],
        ));
        let mut listed: Vec<String> = out["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        listed.sort();
        let mut want = vec![
            own.reg_no.clone(),
            mixed.reg_no.clone(),
            theirs.reg_no.clone(),
        ];
        want.sort();
        assert_eq!(listed, want, "{b}: {out}");
        assert!(!listed.contains(&unrelated.reg_no), "{b}");

        let entries = zip_entries(&zip_path);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"index.json") && names.contains(&"sisukord.txt"),
            "{b}: {names:?}"
        );
        // No third person's code or name anywhere in it.
        for (n, bytes) in &entries {
            let s = String::from_utf8_lossy(bytes);
            assert!(!s.contains(OTHER) && !s.contains("Tamm"), "{b}: {n}: {s}");
        }
        let index: serde_json::Value =
            serde_json::from_slice(&entries.iter().find(|(n, _)| n == "index.json").unwrap().1)
                .unwrap();
        let by = |reg_no: &str| {
            index["documents"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["reg_no"] == reg_no)
                .unwrap()
                .clone()
        };
        // Her own document whole, with who saw it.
        let o = by(&own.reg_no);
        let path = o["files"][0]["path"].as_str().unwrap();
        let orig = &entries.iter().find(|(n, _)| n == path).unwrap().1;
        assert_eq!(sha256_hex(orig), own.files[0].sha256, "{b}");
        assert!(
            o["access_log"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["event"] == "viewed" && e["by"] == "kati"),
            "{b}: {o}"
        );
        // The file naming a third person: its masked text instead, with a note.
        let m = by(&mixed.reg_no);
        let f = &m["files"][0];
        assert!(
            f["path"].as_str().unwrap().ends_with(".tekst.txt"),
            "{b}: {m}"
        );
        assert!(
            f["note"].as_str().unwrap().contains("kolmanda isiku"),
            "{b}: {m}"
        );
        let text = String::from_utf8_lossy(
            &entries
                .iter()
                .find(|(n, _)| n == f["path"].as_str().unwrap())
                .unwrap()
                .1,
        )
        .into_owned();
        assert!(
            text.contains(PERSON) && text.contains("välja jäetud"),
            "{b}: {text}"
        );
        assert!(
            m["parties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "eraisik (kolmas isik)"),
            "{b}: {m}"
        );
        // Someone else's restricted document: register data and a note, no content.
        let t = by(&theirs.reg_no);
        assert_eq!(t["found_as"], serde_json::json!(["tekstis"]), "{b}: {t}");
        assert!(t["files"].as_array().unwrap().is_empty(), "{b}: {t}");
        assert!(
            t["notes"][0].as_str().unwrap().contains("sisu jäeti välja"),
            "{b}: {t}"
        );
        let sisukord =
            String::from_utf8_lossy(&entries.iter().find(|(n, _)| n == "sisukord.txt").unwrap().1)
                .into_owned();
        assert!(
            sisukord.contains("ISIKUANDMETE VÄLJAVÕTE") && sisukord.contains("Märkus"),
            "{b}: {sisukord}"
        );

        // The release is in the audit chain: per document, and the export itself (without the code).
        assert!(
            reg.events(own.id)
                .await
                .unwrap()
                .iter()
                .any(|e| e.kind == "released" && e.detail["to"] == "andmesubjekt"),
            "{b}"
        );
        assert!(
            reg.events(unrelated.id)
                .await
                .unwrap()
                .iter()
                .all(|e| e.kind != "released"),
            "{b}"
        );
        let all = reg.events_after(0, 10_000).await.unwrap();
        let ex = all
            .iter()
            .find(|e| e.kind == "subject_exported")
            .expect("an export event");
        assert!(
            !ex.detail.to_string().contains(PERSON),
            "{b}: {}",
            ex.detail
        );
        // An invalid code is refused; the size bound holds.
        assert!(
            !docgate(&env, &["subject-export", "12345678901", "--out", "x.zip"])
                .status
                .success(),
            "{b}"
        );
        let small = docgate(
            &env,
            &[
                "subject-export",
                PERSON,
                "--out",
                zip_path.to_str().unwrap(),
                "--max-mib",
                "0",
            ],
        );
        assert!(!small.status.success(), "{b}");
        let v = docgate(&env, &["verify", "--json"]);
        assert!(
            v.status.success(),
            "{b}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
    }
}
