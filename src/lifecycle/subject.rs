//! A person's data (GDPR Art. 15): everything the register holds about a
//! personal code, as one ZIP with an index (`index.json` and the Estonian
//! `sisukord.txt`), and a release recorded in the audit chain.
//!
//! Which documents: those where the person is a party (`parties.code`), and
//! those whose title, text or files' text holds the code (found by SQL,
//! confirmed by `personal_code::find_all`, the one detection rule).
//!
//! What of them: a document the person is a party to, or a public one, comes
//! with its text and files, but third parties are left out: other personal
//! codes and other natural persons' names are masked
//! (`search::projection::mask_persons`, the one masking rule), and a file
//! whose text names a third party (or whose text of a restricted document is
//! not known) is given as its masked text instead of its bytes, with a note.
//! A restricted document that only mentions the person is third-party
//! information: its register data (number, date, public title) and a note, no
//! content. Destroyed documents are listed with their act. Each document's
//! access log (viewed, downloaded, released, transferred) is in the index.
//!
//! Bounded: at most [`MAX_DOCUMENTS`] documents and `max_bytes` of content.

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{Document, PartyKind};
use crate::register::Register;

pub const MAX_DOCUMENTS: usize = 5_000;
/// Default limit of the content put into one ZIP.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;
const CODE_MASK: &str = "[kolmanda isiku isikukood välja jäetud]";
const SUBJECT_MARK: &str = "\u{E000}ANDMESUBJEKT\u{E000}";
/// The audit events that tell who saw or received a document.
const ACCESS_KINDS: &[&str] = &[
    "viewed",
    "downloaded",
    "released",
    "transferred",
    "subject_exported",
];

#[derive(Debug, Clone, Serialize)]
pub struct SubjectFile {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    /// Path in the ZIP; None when left out.
    pub path: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectDoc {
    pub reg_no: String,
    pub registered: jiff::civil::Date,
    pub series: String,
    pub direction: String,
    pub title: String,
    /// Why it is here: "osapool" (party) and/or "tekstis" (the code in its text).
    pub found_as: Vec<&'static str>,
    pub restricted: bool,
    pub parties: Vec<String>,
    /// The document's own text, masked, in the ZIP.
    pub text_path: Option<String>,
    pub files: Vec<SubjectFile>,
    pub notes: Vec<String>,
    pub access_log: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectExport {
    pub created: jiff::Timestamp,
    pub agency: String,
    pub personal_code: String,
    pub documents: Vec<SubjectDoc>,
    pub bytes: u64,
}

fn doc_path(d: &Document) -> String {
    format!("dokumendid/{}", super::sip::segment(&d.reg_no))
}

/// `text` with the subject's code kept and every other code and the other
/// natural persons' names masked.
fn mask(text: &str, code: &str, others: &[String]) -> String {
    let kept = text.replace(code, SUBJECT_MARK);
    crate::search::projection::mask_persons(&kept, others)
        .replace(SUBJECT_MARK, code)
        .replace(crate::search::projection::CODE_MASK, CODE_MASK)
}

/// Whether `text` names someone other than the subject: another valid
/// personal code or another natural party's name.
fn names_third_party(text: &str, code: &str, others: &[String]) -> bool {
    crate::personal_code::find_all(text)
        .iter()
        .any(|c| c != code)
        || mask(text, code, others) != text
}

impl Register {
    /// The ids of the documents about a person: as party, or with the code in
    /// their title, text or files' text.
    async fn subject_documents(&self, code: &str) -> Result<Vec<(i64, bool, bool)>> {
        let pool = &self.store().pool;
        let party: Vec<(i64,)> =
            sqlx::query_as("SELECT DISTINCT doc_id FROM parties WHERE code = $1")
                .bind(code)
                .fetch_all(pool)
                .await?;
        let like = format!("%{code}%");
        let texts: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, COALESCE(title, '') || ' ' || COALESCE(body, '') FROM documents \
             WHERE title LIKE $1 OR body LIKE $2 \
             UNION ALL SELECT f.doc_id, t.text FROM doc_files f JOIN file_texts t ON t.sha256 = f.sha256 \
             WHERE t.text LIKE $3",
        )
        .bind(&like)
        .bind(&like)
        .bind(&like)
        .fetch_all(pool)
        .await?;
        let mut found: std::collections::BTreeMap<i64, (bool, bool)> = Default::default();
        for (id,) in party {
            found.entry(id).or_default().0 = true;
        }
        for (id, text) in texts {
            if crate::personal_code::find_all(&text)
                .iter()
                .any(|c| c == code)
            {
                found.entry(id).or_default().1 = true;
            }
        }
        Ok(found.into_iter().map(|(id, (p, t))| (id, p, t)).collect())
    }

    /// Writes the person's data to `out` (a ZIP) and records the release.
    pub async fn subject_export(
        &self,
        code: &str,
        out: &Path,
        max_bytes: u64,
        actor: &str,
    ) -> Result<SubjectExport> {
        let code = code.trim();
        if !crate::personal_code::is_valid(code) {
            return Err(Error::invalid(format!(
                "{code:?} ei ole kehtiv isikukood (not a valid personal code)"
            )));
        }
        let ids = self.subject_documents(code).await?;
        if ids.len() > MAX_DOCUMENTS {
            return Err(Error::TooLarge(format!(
                "isiku kohta on {} dokumenti, piir on {MAX_DOCUMENTS} (too many documents for one export)",
                ids.len()
            )));
        }
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        let mut docs = Vec::new();
        let mut bytes = 0u64;
        let mut add = |path: String,
                       data: Vec<u8>,
                       entries: &mut Vec<(String, Vec<u8>)>|
         -> Result<()> {
            bytes += data.len() as u64;
            if bytes > max_bytes {
                return Err(Error::TooLarge(format!(
                    "isiku andmed on suuremad kui {max_bytes} baiti (the export exceeds its size limit)"
                )));
            }
            entries.push((path, data));
            Ok(())
        };
        for (id, as_party, in_text) in ids {
            let doc = self.get(id).await?;
            let others: Vec<String> = doc
                .parties
                .iter()
                .filter(|p| p.kind == PartyKind::Person && p.code.as_deref() != Some(code))
                .map(|p| p.name.clone())
                .collect();
            let restricted = doc.restriction.is_some();
            let own = as_party || !restricted;
            let dir = doc_path(&doc);
            let mut sd = SubjectDoc {
                reg_no: doc.reg_no.clone(),
                registered: doc.registered,
                series: doc.series.clone(),
                direction: doc.direction.as_str().to_string(),
                title: if own {
                    mask(&doc.title, code, &others)
                } else {
                    crate::access::public_title(&doc)
                },
                found_as: [(as_party, "osapool"), (in_text, "tekstis")]
                    .into_iter()
                    .filter_map(|(b, s)| b.then_some(s))
                    .collect(),
                restricted,
                parties: doc
                    .parties
                    .iter()
                    .map(|p| match (p.kind, p.code.as_deref() == Some(code)) {
                        (_, true) => format!("{} ({code})", p.name),
                        (PartyKind::Person, false) => "eraisik (kolmas isik)".to_string(),
                        (PartyKind::Organisation, false) => p.name.clone(),
                    })
                    .collect(),
                text_path: None,
                files: Vec::new(),
                notes: Vec::new(),
                access_log: Vec::new(),
            };
            if let Some(act) = self.destroyed_by(id).await? {
                sd.notes.push(format!(
                    "Dokument on hävitatud (hävitamisakt {act}); alles on ainult registriandmed."
                ));
            } else if !own {
                sd.notes.push(
                    "Dokumendis on teie isikukood, kuid see on asutusesiseseks kasutamiseks ja sisaldab kolmandate isikute \
                     teavet: sisu jäeti välja (AvTS § 35; IKÜM art 15 lg 4). Juurdepääsu saab taotleda eraldi."
                        .into(),
                );
            } else {
                if let Some(body) = self.body(id).await?.filter(|b| !b.trim().is_empty()) {
                    let p = format!("{dir}/sisu.txt");
                    add(
                        p.clone(),
                        mask(&body, code, &others).into_bytes(),
                        &mut entries,
                    )?;
                    sd.text_path = Some(p);
                }
                for (i, f) in doc.files.iter().enumerate() {
                    let name = format!("{:02}-{}", i + 1, super::sip::segment(&f.name));
                    let text = self.file_text(&f.sha256).await?;
                    let third = match &text {
                        Some(t) => names_third_party(t, code, &others),
                        None => restricted,
                    };
                    let mut sf = SubjectFile {
                        name: f.name.clone(),
                        sha256: f.sha256.clone(),
                        size: f.size,
                        path: None,
                        note: None,
                    };
                    if !third {
                        let p = format!("{dir}/{name}");
                        add(p.clone(), self.file_bytes(&f.sha256).await?, &mut entries)?;
                        sf.path = Some(p);
                    } else if let Some(t) = text {
                        let p = format!("{dir}/{name}.tekst.txt");
                        add(
                            p.clone(),
                            mask(&t, code, &others).into_bytes(),
                            &mut entries,
                        )?;
                        sf.path = Some(p);
                        sf.note = Some(
                            "Fail sisaldab kolmanda isiku piiratud teavet: algfaili asemel on selle tekst, \
                             kolmandate isikute nimed ja isikukoodid välja jäetud."
                                .into(),
                        );
                    } else {
                        sf.note = Some(
                            "Faili tekst pole teada ja dokument on asutusesiseseks kasutamiseks: fail jäeti välja, \
                             sest selles võib olla kolmandate isikute teavet. Juurdepääsu saab taotleda eraldi."
                                .into(),
                        );
                    }
                    sd.files.push(sf);
                }
            }
            for e in self.events(id).await? {
                if ACCESS_KINDS.contains(&e.kind.as_str()) {
                    let mut v = serde_json::json!({"at": e.at, "event": e.kind, "by": e.actor});
                    for k in ["via", "to", "why", "how", "package"] {
                        if let Some(x) = e.detail.get(k) {
                            v[k] = x.clone();
                        }
                    }
                    sd.access_log.push(v);
                }
            }
            docs.push((id, sd));
        }
        let export = SubjectExport {
            created: jiff::Timestamp::now(),
            agency: self.config().agency.name.clone(),
            personal_code: code.to_string(),
            documents: docs.iter().map(|(_, d)| d.clone()).collect(),
            bytes,
        };
        let index = serde_json::to_vec_pretty(&export)
            .map_err(|e| Error::internal(format!("index: {e}")))?;
        let sisukord = human_index(&export);
        let zip_bytes = write_zip(out, &sisukord, &index, &entries)?;

        let mut tx = self.begin().await?;
        for (id, _) in &docs {
            self.record_release_in(
                &mut tx,
                *id,
                "andmesubjekt",
                "IKÜM art 15: isiku taotlus oma andmete saamiseks",
                "subject-export ZIP",
                actor,
            )
            .await?;
        }
        self.record_event_in(
            &mut tx,
            None,
            "subject_exported",
            // The code itself stays out of the chain: the documents name the person.
            serde_json::json!({"documents": docs.iter().map(|(_, d)| &d.reg_no).collect::<Vec<_>>(),
                "bytes": zip_bytes.0, "sha256": zip_bytes.1}),
            actor,
        )
        .await?;
        tx.commit().await?;
        Ok(export)
    }
}

/// The human-readable index, in Estonian.
fn human_index(x: &SubjectExport) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(t, "ISIKUANDMETE VÄLJAVÕTE (IKÜM artikkel 15)");
    let _ = writeln!(t, "Asutus: {}", x.agency);
    let _ = writeln!(t, "Isikukood: {}", x.personal_code);
    let _ = writeln!(t, "Koostatud: {}", x.created.strftime("%d.%m.%Y %H:%M UTC"));
    let _ = writeln!(
        t,
        "Dokumente: {}. Iga dokumendi kaust on dokumendid/<registreerimisnumber>/; masinloetav sisukord on index.json.",
        x.documents.len()
    );
    let _ = writeln!(
        t,
        "Kolmandate isikute piiratud teave (teiste isikute nimed ja isikukoodid, neid puudutavad failid) on välja jäetud; iga väljajätt on märgitud."
    );
    for d in &x.documents {
        let _ = writeln!(
            t,
            "\n{} ({}), sari {}, {}{}",
            d.reg_no,
            d.registered.strftime("%d.%m.%Y"),
            d.series,
            d.title,
            if d.restricted { " [AK]" } else { "" }
        );
        let _ = writeln!(
            t,
            "  Leitud: {}",
            d.found_as
                .iter()
                .map(|f| if *f == "osapool" {
                    "olete osapool"
                } else {
                    "teie isikukood on tekstis"
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(t, "  Osapooled: {}", d.parties.join("; "));
        if let Some(p) = &d.text_path {
            let _ = writeln!(t, "  Tekst: {p}");
        }
        for f in &d.files {
            let _ = writeln!(
                t,
                "  Fail {}: {}{}",
                f.name,
                f.path.as_deref().unwrap_or("välja jäetud"),
                f.note
                    .as_deref()
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default()
            );
        }
        for n in &d.notes {
            let _ = writeln!(t, "  Märkus: {n}");
        }
        if d.access_log.is_empty() {
            let _ = writeln!(t, "  Vaatamised ja väljastamised: puuduvad");
        } else {
            let _ = writeln!(t, "  Vaatamised ja väljastamised:");
            for e in &d.access_log {
                let _ = writeln!(
                    t,
                    "    {} {} {}{}",
                    e["at"].as_str().unwrap_or_default(),
                    crate::web::i18n::Lang::Et.event(e["event"].as_str().unwrap_or_default()),
                    e["by"].as_str().unwrap_or_default(),
                    e.get("to")
                        .and_then(|v| v.as_str())
                        .map(|to| format!(" → {to}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    t
}

/// Writes the ZIP next to `out` and renames it into place; its size and SHA-256.
fn write_zip(
    out: &Path,
    sisukord: &str,
    index: &[u8],
    entries: &[(String, Vec<u8>)],
) -> Result<(u64, String)> {
    use sha2::Digest;
    let io = |e: std::io::Error| Error::io(format!("cannot write {}", out.display()), e);
    let zerr = |e: zip::result::ZipError| Error::internal(format!("zip {}: {e}", out.display()));
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    for (name, data) in [("sisukord.txt", sisukord.as_bytes()), ("index.json", index)]
        .into_iter()
        .chain(entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())))
    {
        w.start_file(name, o).map_err(zerr)?;
        w.write_all(data).map_err(io)?;
    }
    let bytes = w.finish().map_err(zerr)?.into_inner();
    let tmp = out.with_extension("zip.tmp");
    std::fs::write(&tmp, &bytes).map_err(io)?;
    std::fs::rename(&tmp, out).map_err(io)?;
    let sum = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok((bytes.len() as u64, sum))
}
