//! Signed containers: the whole shared DigiDoc4j corpus (valid, invalid,
//! degenerate) verified under its test trust anchors, bombs and nesting
//! generated here, and arbitrary bytes.
//!
//! The corpus is `../shared/corpus/asice` (or `DOCGATE_ASICE_CORPUS`); without
//! it the corpus test fails when `CI` is set. The verdicts of every container
//! are kept in `fixtures/signatures/verdicts.md` and checked against it
//! (rewrite with `DOCGATE_WRITE_VERDICTS=1`).

use std::io::Write;
use std::path::{Path, PathBuf};

use docgate::signature::{self, Container, ContainerError, Limits, Status, TrustStore};

fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<PathBuf> = match std::env::var("DOCGATE_ASICE_CORPUS") {
        Ok(d) => vec![PathBuf::from(d)],
        Err(_) => vec![
            root.join("../shared/corpus/asice"),
            root.join("../../shared/corpus/asice"),
        ],
    };
    if let Some(dir) = candidates
        .iter()
        .find(|d| d.join("valid-containers").is_dir())
    {
        return Some(dir.clone());
    }
    let dir = &candidates[0];
    docgate::testing::missing_service(
        &format!("the container corpus {}", dir.display()),
        "put ../shared beside the checkout or set DOCGATE_ASICE_CORPUS",
    );
    None
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Why a valid container may come out indeterminate: codes we can explain.
const EXPLAINED_INDETERMINATE: &[&str] = &[
    // No OCSP response in the signature (B-level or T-level).
    "no_revocation_data",
    // The issuer, OCSP responder or TSA of a foreign (Latvian, Lithuanian) or
    // production chain is not among the test anchors in certs/.
    "chain_untrusted",
    "ocsp_responder_untrusted",
    "ocsp_responder_unknown",
    "tsa_untrusted",
    "tsa_unknown",
    // An OCSP response but no signature time-stamp (not a time mark).
    "no_timestamp",
    // An algorithm not offered (RSA-SHA224, RSA-PSS under 2048 bits).
    "algorithm_unsupported",
    // DDOC 1.3: libdigidoc's SignedProperties digest is not reproduced.
    "ddoc_signed_properties",
    // Legacy BDOC without a stored `mimetype` first; ASiC-S with several data files.
    "bdoc_mimetype",
    "asics_data_files",
];

/// Where docgate's verdict differs from DigiDoc4j's, pinned with the reason, so
/// that a change either way is seen. Listed in the closing note.
const DISAGREEMENTS: &[(&str, &str, &str)] = &[
    // The issue defines an untrusted chain as indeterminate; DigiDoc4j (TSL-based) says invalid.
    (
        "23200_weakdigest-unknown-ca.asice",
        "indeterminate",
        "signer CA 'libdigidocpp CA' not in certs/",
    ),
    (
        "SS-4_teadmataCA.4.asice",
        "indeterminate",
        "signer CA 'libdigidocpp CA' not in certs/",
    ),
    (
        "esteid2018signerAiaOcspLT.asice",
        "indeterminate",
        "TEST of EE-GovCA2018 not in certs/; AIA-OCSP rule not checked",
    ),
    (
        "esteid2018signerAiaOcspLTA.asice",
        "indeterminate",
        "TEST of EE-GovCA2018 not in certs/; AIA-OCSP rule not checked",
    ),
    (
        "invalid-containers-23816_leedu_live_TS_authority.asice",
        "indeterminate",
        "Lithuanian TSA not in certs/",
    ),
    (
        "tundmatuocsp.asice",
        "indeterminate",
        "OCSP responder 'DemoKit' not in certs/",
    ),
    (
        "unknown_ocsp.asice",
        "indeterminate",
        "OCSP responder 'DemoKit' not in certs/",
    ),
    (
        "TS_broken_TS.asice",
        "indeterminate",
        "TSA under QuoVadis root not in certs/, token not judged further",
    ),
    (
        "invalid-bdoc-tm-missing-revoked-ocsp.bdoc",
        "indeterminate",
        "no OCSP: revocation undecided",
    ),
    (
        "NoOcspCertificateAnywhere.bdoc",
        "indeterminate",
        "responder certificate found in the trust store, BDOC mimetype tolerated",
    ),
    // docgate finds nothing wrong: DigiDoc4j rules not reproduced.
    (
        "23154_test1-old-sig-sigat-NOK-prodat-OK-1.bdoc",
        "valid",
        "claimed signing time vs OCSP rule not checked",
    ),
    (
        "2xTST-datafile-with-+%-unencoded-in-archive-manifest.asics",
        "valid",
        "'+%' URI taken as written",
    ),
    (
        "corrupted_ocsp_data.asice",
        "valid",
        "the OCSP response parses and verifies here",
    ),
    (
        "two_signatures.bdoc",
        "valid",
        "both signatures verify here",
    ),
    // Valid in DigiDoc4j, not here.
    (
        "3xTST-valid-bdoc-data-file-1st-tst-invalid-2nd-tst-no-coverage-3rd-tst-valid.asics",
        "invalid",
        "each time-stamp is judged on its own; a later archive time-stamp does not heal the first",
    ),
    (
        "BOM_algusega.ddoc",
        "invalid",
        "SignatureValue does not verify over docgate's C14N of this 2012 DDOC",
    ),
    (
        "NoAdditionalOcspCertificate.bdoc",
        "quarantined",
        "the zip crate finds no end-of-central-directory record",
    ),
];

fn outcome(r: &Result<Container, ContainerError>, indent: &str, out: &mut String) {
    match r {
        Err(e) => out.push_str(&format!("{indent}- karantiin `{}`: {e}\n", e.code())),
        Ok(c) => {
            out.push_str(&format!(
                "{indent}- {} {}, {} andmefaili, {} allkirja\n",
                c.format.label(),
                c.status().estonian(),
                c.data_files.len(),
                c.signatures.len()
            ));
            for n in &c.notes {
                out.push_str(&format!(
                    "{indent}  - konteiner `{}`: {}\n",
                    n.code, n.message
                ));
            }
            for s in &c.signatures {
                out.push_str(&format!(
                    "{indent}  - {} `{}`: {}{}\n",
                    s.format,
                    s.id,
                    s.status.estonian(),
                    s.signed_at.map(|t| format!(", {t}")).unwrap_or_default()
                ));
                for r in &s.reasons {
                    out.push_str(&format!("{indent}    - `{}`: {}\n", r.code, r.message));
                }
            }
            for (n, inner) in &c.nested {
                out.push_str(&format!("{indent}  - sees {n}:\n"));
                outcome(inner, &format!("{indent}    "), out);
            }
        }
    }
}

fn indeterminate_codes(c: &Container) -> Vec<&'static str> {
    c.signatures
        .iter()
        .flat_map(|s| s.reasons.iter())
        .chain(c.notes.iter())
        .filter(|r| r.severity == Status::Indeterminate)
        .map(|r| r.code)
        .collect()
}

#[test]
fn the_whole_corpus_gets_the_verdicts_digidoc4j_gives() {
    let Some(dir) = corpus() else { return };
    let trust = TrustStore::from_dir(&dir.join("certs")).unwrap();
    assert!(trust.anchors.len() >= 20, "{} anchors", trust.anchors.len());
    let mut report = String::from(
        "# Signed containers of the shared corpus, as docgate judges them\n\n\
         Generated by `tests/signatures.rs` (`DOCGATE_WRITE_VERDICTS=1 cargo test --test signatures`),\n\
         trust anchors: every certificate in `certs/`. A structurally broken container is\n\
         quarantined with the reason shown.\n",
    );
    let mut failures = Vec::new();
    for (set, want) in [
        ("invalid-containers", "invalid"),
        ("valid-containers", "valid"),
        ("degenerate-containers", "any"),
    ] {
        report.push_str(&format!("\n## {set}\n\n"));
        for path in files(&dir.join(set)) {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let bytes = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| signature::verify(&name, &bytes, &trust));
            let Ok(r) = r else {
                failures.push(format!("{set}/{name}: panicked"));
                continue;
            };
            report.push_str(&format!("### {name}\n"));
            outcome(&r, "", &mut report);
            // PAdES (signed PDF) is not a container: registered as a PDF, not verified here.
            let want = if name.ends_with(".pdf") {
                "not_a_container"
            } else {
                want
            };
            if let Some((_, pinned, why)) = DISAGREEMENTS.iter().find(|(n, _, _)| *n == name) {
                let got = match &r {
                    Err(_) => "quarantined",
                    Ok(c) => match c.status() {
                        Status::Valid => "valid",
                        Status::Indeterminate => "indeterminate",
                        Status::Invalid => "invalid",
                    },
                };
                report.push_str(&format!(
                    "- (DigiDoc4j: {want}; docgate: {pinned}, because {why})\n"
                ));
                if got != *pinned {
                    failures.push(format!("{set}/{name}: {got}, pinned {pinned}"));
                }
                continue;
            }
            match (want, &r) {
                ("not_a_container", r)
                    if !matches!(r, Err(ContainerError::NotAContainer { .. })) =>
                {
                    failures.push(format!("{set}/{name}: a PDF taken for a container"));
                }
                ("invalid", Ok(c)) if c.status() != Status::Invalid => {
                    failures.push(format!("{set}/{name}: {:?}, not invalid", c.status()))
                }
                ("valid", Err(e)) => failures.push(format!("{set}/{name}: quarantined: {e}")),
                ("valid", Ok(c)) => {
                    if c.status() == Status::Invalid {
                        failures.push(format!("{set}/{name}: invalid: {:?}", c.signatures));
                    }
                    let unexplained: Vec<_> = indeterminate_codes(c)
                        .into_iter()
                        .filter(|code| !EXPLAINED_INDETERMINATE.contains(code))
                        .collect();
                    if !unexplained.is_empty() {
                        failures.push(format!("{set}/{name}: unexplained {unexplained:?}"));
                    }
                }
                _ => {}
            }
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/signatures/verdicts.md");
    if std::env::var("DOCGATE_WRITE_VERDICTS").is_ok() {
        std::fs::write(&path, &report).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} wrong verdicts:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == report,
        "fixtures/signatures/verdicts.md is out of date: rerun with DOCGATE_WRITE_VERDICTS=1"
    );
}

/// An ASiC-E container with the given data files (stored `mimetype` first, manifest).
fn asice(files: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("mimetype", stored).unwrap();
    w.write_all(b"application/vnd.etsi.asic-e+zip").unwrap();
    let mut manifest = String::from(
        r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.etsi.asic-e+zip"/>"#,
    );
    for (n, _) in files {
        manifest.push_str(&format!(
            r#"<manifest:file-entry manifest:full-path="{n}" manifest:media-type="application/octet-stream"/>"#
        ));
    }
    manifest.push_str("</manifest:manifest>");
    w.start_file("META-INF/manifest.xml", deflated).unwrap();
    w.write_all(manifest.as_bytes()).unwrap();
    for (n, b) in files {
        w.start_file(*n, deflated.large_file(b.len() > u32::MAX as usize))
            .unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_is_refused_within_the_budget() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bomb = asice(&[("pomm.bin", &zeros)]);
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    let limits = Limits {
        max_decompressed: 8 * 1024 * 1024,
        ..Limits::default()
    };
    let r = signature::container::open("pomm.asice", &bomb, &TrustStore::default(), &limits);
    match r {
        Err(e @ ContainerError::TooLarge { .. }) => {
            assert_eq!(e.code(), "decompressed_budget");
            assert!(e.to_string().contains("ületab"), "{e}");
        }
        other => panic!("not refused: {other:?}"),
    }
    // The same file fits a larger budget: the bound, not the format, refused it.
    let ok = signature::container::open(
        "pomm.asice",
        &bomb,
        &TrustStore::default(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(ok.data_files[0].bytes.len(), zeros.len());
    assert_eq!(
        ok.status(),
        Status::Indeterminate,
        "no signatures: undecided"
    );
}

#[test]
fn deeply_nested_containers_are_refused_at_the_nesting_limit() {
    let mut inner = asice(&[("kiri.txt", b"tere")]);
    for level in 0..12 {
        inner = asice(&[(&format!("tase{level}.asice"), &inner)]);
    }
    let r = signature::verify("sygav.asice", &inner, &TrustStore::default());
    match r {
        Err(e @ ContainerError::TooDeep { .. }) => assert_eq!(e.code(), "nested_too_deep"),
        other => panic!("not refused: {:?}", other.map(|c| c.format)),
    }
    // Three levels are fine and every level is opened.
    let mut shallow = asice(&[("kiri.txt", b"tere")]);
    for level in 0..3 {
        shallow = asice(&[(&format!("tase{level}.asice"), &shallow)]);
    }
    let c = signature::verify("madal.asice", &shallow, &TrustStore::default()).unwrap();
    assert_eq!(c.nested.len(), 1);
    assert!(c.nested[0].1.is_ok());
}

#[test]
fn a_broken_structure_is_an_error_naming_it() {
    // mimetype not first.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    w.start_file("kiri.txt", o).unwrap();
    w.write_all(b"tere").unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let e = signature::verify("x.asice", &bytes, &TrustStore::default()).unwrap_err();
    assert_eq!(e.code(), "mimetype_missing");
    // A data file missing from the manifest.
    let good = asice(&[("a.txt", b"a")]);
    let mut w = zip::ZipWriter::new_append(std::io::Cursor::new(good)).unwrap();
    w.start_file("b.txt", o).unwrap();
    w.write_all(b"b").unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let e = signature::verify("x.asice", &bytes, &TrustStore::default()).unwrap_err();
    assert_eq!(e.code(), "not_in_manifest");
    assert!(e.to_string().contains("b.txt"), "{e}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
        let _ = signature::verify("x.asice", &bytes, &TrustStore::default());
        let mut zipish = b"PK\x03\x04".to_vec();
        zipish.extend(&bytes);
        let _ = signature::verify("x.bdoc", &zipish, &TrustStore::default());
        let mut ddoc = b"<SignedDoc format=\"DIGIDOC-XML\" version=\"1.3\">".to_vec();
        ddoc.extend(&bytes);
        let _ = signature::verify("x.ddoc", &ddoc, &TrustStore::default());
    }
}

#[test]
fn a_containers_text_is_its_signers_and_its_data_files_text() {
    let bytes = asice(&[("avaldus.txt", "Palun hüvitist, Mari".as_bytes())]);
    let t = docgate::extract::file_text(
        "kiri.asice",
        "application/vnd.etsi.asic-e+zip",
        &bytes,
        &docgate::extract::TextOptions::default(),
    );
    let text = t.text.expect("text");
    assert!(text.contains("Palun hüvitist, Mari"), "{text}");
    assert!(text.contains("avaldus.txt"), "{text}");
    let Some(dir) = corpus() else { return };
    let signed = std::fs::read(dir.join("valid-containers/valid-asice.asice")).unwrap();
    let t = docgate::extract::file_text(
        "valid-asice.asice",
        "application/vnd.etsi.asic-e+zip",
        &signed,
        &docgate::extract::TextOptions::default(),
    );
    let text = t.text.expect("text");
    assert!(text.contains("isikukood 11404176865"), "{text}");
    assert!(text.contains("MÄRÜ-LÖÖZ ŽÕRINÜWŠKY"), "{text}");
}

#[tokio::test]
async fn docgate_signatures_lists_each_signature_of_a_registered_container() {
    use docgate::testing::{backends, TestEnv};
    let Some(dir) = corpus() else { return };
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_docgate"))
                .args(args)
                .env_remove("DOCGATE_CONFIG")
                .envs(env.env())
                .output()
                .unwrap()
        };
        let file = env.dir.path().join("leping.asice");
        std::fs::copy(dir.join("valid-containers/valid-asice.asice"), &file).unwrap();
        let broken = env.dir.path().join("katki.asice");
        std::fs::copy(
            dir.join("invalid-containers/signature_does_not_cover_datafile.asice"),
            &broken,
        )
        .unwrap();
        let o = run(&[
            "register",
            file.to_str().unwrap(),
            broken.to_str().unwrap(),
            "--title",
            "Leping",
            "--json",
        ]);
        assert!(
            o.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let reg: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let reg_no = reg[0]["reg_no"].as_str().unwrap().to_string();
        let anchors = dir.join("certs");
        let o = run(&[
            "signatures",
            &reg_no,
            "--anchors",
            anchors.to_str().unwrap(),
            "--json",
        ]);
        assert!(
            o.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let rows = rows.as_array().unwrap();
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r["file"] == "leping.asice")
            .collect();
        assert_eq!(mine.len(), 1, "{backend}: {rows:?}");
        assert_eq!(mine[0]["status"], "valid", "{backend}: {rows:?}");
        assert_eq!(mine[0]["signer_code"], "11404176865");
        assert!(mine[0]["signed_at"]
            .as_str()
            .unwrap()
            .starts_with("2018-11-23"));
        // One document per file: the broken container is the second.
        let reg_bad = reg[1]["reg_no"].as_str().unwrap();
        let o = run(&[
            "signatures",
            reg_bad,
            "--anchors",
            anchors.to_str().unwrap(),
            "--json",
        ]);
        let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let rows = rows.as_array().unwrap();
        let bad: Vec<_> = rows.iter().filter(|r| r["file"] == "katki.asice").collect();
        assert!(
            !bad.is_empty() && bad.iter().all(|r| r["status"] == "invalid"),
            "{backend}: {rows:?}"
        );
        assert!(
            bad.iter().any(|r| r["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["code"] == "datafile_not_signed")),
            "{rows:?}"
        );
        // The same without anchors: intact, but the chain cannot be decided.
        let o = run(&["signatures", &reg_no, "--json"]);
        let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let mine: Vec<_> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["file"] == "leping.asice")
            .collect();
        assert_eq!(mine[0]["status"], "indeterminate", "{backend}");
    }
}
