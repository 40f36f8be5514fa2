//! Archival transfer (Arhiiviseadus; E-ARK CSIP/SIP 2.1): a series (`9-13`)
//! or a file unit (`9-13/2026`) exported as a SIP, `DIR/<package>/METS.xml`
//! (the XML in `sip.rs`).
//!
//! Any scope can be exported as a copy (a test package for the archive). A
//! scope whose series is appraised for transfer is, unless a copy is asked
//! for, also *transferred*: in one transaction a handover-acceptance act
//! (üleandmise-vastuvõtmise akt) is registered in `acts_series`, a
//! `transfers` row (migration 0019) lists the documents, and a
//! `transfer_exported` event is appended. The originals stay: only when the
//! archive's receipt is registered (`receive_transfer`) are the documents
//! marked transferred, each with a `transferred` event.
//!
//! Restricted documents go into the package whole, with their marking (AK,
//! ground, end, holder) in EAD `accessrestrict`: the National Archives
//! takes the records over and keeps applying the restriction (AvTS § 35 and
//! the archives law); a masked package would be an incomplete record that
//! nothing could complete once the originals are gone. The package is
//! therefore itself restricted information: its folders are written
//! owner-only, and each restricted document's hand-over is a `released` event
//! (AvTS § 39 lg 2). Destroyed documents (no bytes) are left out and named
//! in the package's description.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::file_unit::FileUnit;
use super::retention::Appraisal;
use super::sip::{segment, Sip, SipDoc, SipFile, SipUnit};
use crate::error::{Error, Result};
use crate::model::{Channel, Direction, NewDocument, NewFile, TextStatus};
use crate::register::Register;

/// At most this many documents in one package (a series far larger is
/// exported file unit by file unit).
pub const MAX_DOCUMENTS: usize = 50_000;

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub package: String,
    /// The package's root folder (`DIR/<package>`).
    pub path: PathBuf,
    pub scope: String,
    pub file_units: Vec<String>,
    pub documents: usize,
    pub files: usize,
    pub bytes: u64,
    /// Restricted documents in the package (it is AK itself when > 0).
    pub restricted: usize,
    /// Destroyed documents left out: "reg_no (hävitatud act)".
    pub left_out: Vec<String>,
    /// The handover-acceptance act, when the export was a transfer.
    pub act: Option<String>,
    pub transfer: Option<i64>,
}

/// A transfer and its state.
#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    pub id: i64,
    pub package: String,
    pub scope: String,
    /// `exported` (awaiting the archive's receipt) or `received`.
    pub status: String,
    pub act: String,
    pub exported_by: String,
    pub exported_at: String,
    pub received_by: Option<String>,
    pub received_at: Option<String>,
    pub archive_ref: Option<String>,
    pub documents: i64,
}

impl Register {
    /// The file units of a scope: a file unit's code (`9-13/2026`) or a
    /// series code (`9-13`: all its units).
    pub async fn transfer_scope(&self, scope: &str) -> Result<(String, Vec<FileUnit>)> {
        let scope = scope.trim();
        if scope.contains('/') {
            let unit = self.file_unit(scope).await?;
            return Ok((unit.series.clone(), vec![unit]));
        }
        if self.series().get(scope).is_none() {
            return Err(Error::not_found(format!(
                "tundmatu sari või toimik {scope:?} (unknown series or file unit): näiteks 9-13 või 9-13/2026"
            )));
        }
        let units = self.file_units(Some(scope)).await?;
        if units.is_empty() {
            return Err(Error::not_found(format!(
                "sarjas {scope} pole ühtki toimikut (the series has no file unit)"
            )));
        }
        Ok((scope.to_string(), units))
    }

    /// Writes the SIP of `scope` under `out` and, when `transfer` is set,
    /// records the transfer (the scope's series must be appraised for
    /// transfer, and no transfer of it may await its receipt).
    pub async fn export_sip(
        &self,
        scope: &str,
        out: &Path,
        transfer: bool,
        actor: &str,
    ) -> Result<Exported> {
        let (series_code, units) = self.transfer_scope(scope).await?;
        let series = self
            .series()
            .get(&series_code)
            .ok_or_else(|| Error::not_found(format!("tundmatu sari {series_code}")))?
            .clone();
        if transfer && series.retention.appraisal != Appraisal::Transfer {
            return Err(Error::invalid(format!(
                "sari {} on hinnatud hävitamisele, mitte arhiivi üleandmisele: ekspordi koopiana \
                 (the series is appraised for destruction, not transfer: export a copy)",
                series.code
            )));
        }
        if transfer {
            let pending: Option<(String,)> = sqlx::query_as(
                "SELECT package FROM transfers WHERE scope = $1 AND status = 'exported'",
            )
            .bind(scope.trim())
            .fetch_optional(&self.store().pool)
            .await?;
            if let Some((p,)) = pending {
                return Err(Error::Conflict(format!(
                    "{scope} üleandmine {p} ootab arhiivi kinnitust (a transfer awaits the archive's receipt of {p})"
                )));
            }
        }
        let created = jiff::Timestamp::now();
        let package = format!(
            "docgate-{}-{}-{}",
            segment(&scope.trim().replace('/', "_")),
            created.strftime("%Y%m%d"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut sip_units = Vec::new();
        let mut left_out = Vec::new();
        let (mut n_docs, mut n_files, mut bytes, mut restricted) = (0usize, 0usize, 0u64, 0usize);
        let mut doc_ids = Vec::new();
        let mut restricted_ids = Vec::new();
        for u in &units {
            let mut docs = Vec::new();
            for doc_id in self.file_unit_documents(u.id).await? {
                let doc = self.get(doc_id).await?;
                if let Some(act) = self.destroyed_by(doc_id).await? {
                    left_out.push(format!("{} (hävitatud {act})", doc.reg_no));
                    continue;
                }
                n_docs += 1;
                if n_docs > MAX_DOCUMENTS {
                    return Err(Error::TooLarge(format!(
                        "{scope}: üle {MAX_DOCUMENTS} dokumendi; ekspordi toimikute kaupa (too many documents: export file unit by file unit)"
                    )));
                }
                let dir = format!("data/{}/{}", segment(&u.code), segment(&doc.reg_no));
                let files = doc
                    .files
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        n_files += 1;
                        bytes += f.size;
                        SipFile {
                            id: format!("f-{n_files}"),
                            rep_path: format!("{dir}/{:02}-{}", i + 1, segment(&f.name)),
                            name: f.name.clone(),
                            media_type: f.media_type.clone(),
                            size: f.size,
                            sha256: f.sha256.clone(),
                        }
                    })
                    .collect();
                if doc.restriction.is_some() {
                    restricted += 1;
                    restricted_ids.push(doc.id);
                }
                doc_ids.push(doc.id);
                let events = self.events(doc.id).await?;
                docs.push(SipDoc { doc, files, events });
            }
            sip_units.push(SipUnit {
                id: u.id,
                code: u.code.clone(),
                title: u.title.clone(),
                opened: u.opened,
                closed: u.closed,
                restriction: u.r_ground.as_ref().map(|g| {
                    format!(
                        "Toimik on asutusesiseseks kasutamiseks (AK). Alus: {g}{}",
                        u.r_ends
                            .map(|e| format!(", kuni {}", e.strftime("%d.%m.%Y")))
                            .unwrap_or_default()
                    )
                }),
                docs,
            });
        }
        let agency = &self.config().agency;
        let mut sip = Sip {
            package: package.clone(),
            created,
            agency: agency.name.clone(),
            agency_code: agency.registry_code.clone(),
            series_code: series.code.clone(),
            series_title: series.title.clone(),
            retention: format!(
                "Säilitustähtaeg {}, algus: {}; hindamisotsus: {}",
                series.retention.period,
                series.retention.trigger.label(),
                match series.retention.appraisal {
                    Appraisal::Transfer => "arhiivi üleandmine (transfer to the National Archives)",
                    Appraisal::Destroy => "hävitamine (destroy)",
                }
            ),
            units: sip_units,
            act: None,
        };

        // The files' bytes first, outside the transaction (which holds the
        // register's write lock); then, in one transaction, the act and the
        // transfer's row, the package's XML (it names the act) and the events.
        let root = out.join(&package);
        if root.exists() {
            return Err(Error::Conflict(format!(
                "{} on juba olemas (already exists)",
                root.display()
            )));
        }
        if let Err(e) = self.write_data(&sip, &root).await {
            let _ = std::fs::remove_dir_all(&root);
            return Err(e);
        }
        let done = self
            .record_export(
                &mut sip,
                &root,
                scope,
                transfer,
                actor,
                &left_out,
                restricted,
                &doc_ids,
                &restricted_ids,
                (n_files, bytes),
            )
            .await;
        let transfer_id = match done {
            Ok(t) => t,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&root);
                return Err(e);
            }
        };
        Ok(Exported {
            package,
            path: root,
            scope: scope.trim().to_string(),
            file_units: units.iter().map(|u| u.code.clone()).collect(),
            documents: doc_ids.len(),
            files: n_files,
            bytes,
            restricted,
            left_out,
            act: sip.act,
            transfer: transfer_id,
        })
    }

    /// The transaction of an export: the act and the transfer's row (when a
    /// transfer), the package's XML, the export and release events.
    #[allow(clippy::too_many_arguments)]
    async fn record_export(
        &self,
        sip: &mut Sip,
        root: &Path,
        scope: &str,
        transfer: bool,
        actor: &str,
        left_out: &[String],
        restricted: usize,
        doc_ids: &[i64],
        restricted_ids: &[i64],
        (n_files, bytes): (usize, u64),
    ) -> Result<Option<i64>> {
        let package = sip.package.clone();
        let mut tx = self.begin().await?;
        let mut transfer_id = None;
        if transfer {
            let acts_series = self.series().acts_series.clone().ok_or_else(|| {
                Error::invalid("dokumentide loetelus puudub acts_series (the document list names no series for acts)")
            })?;
            let text = act_text(sip, actor, self.today(), left_out);
            let mut new = NewDocument::new(
                Direction::Outgoing,
                Channel::Hand,
                format!("Üleandmise-vastuvõtmise akt: {scope} Rahvusarhiivile ({package})"),
            );
            new.series = Some(acts_series);
            let mut file = NewFile::new(
                format!("uleandmise-vastuvotmise-akt-{}.txt", segment(scope)),
                "text/plain",
                text.clone().into_bytes(),
            );
            file.text = Some(text);
            file.text_status = TextStatus::Extracted;
            new.files.push(file);
            if restricted == 0 {
                new.public_reason = Some(
                    "akt ei loetle ühtki piiratud dokumenti (the act lists no restricted document)"
                        .into(),
                );
            }
            let act = self.register_in(&mut tx, new, actor).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO transfers (package, scope, status, act_doc_id, exported_by, exported_at) \
                 VALUES ($1, $2, 'exported', $3, $4, $5) RETURNING id",
            )
            .bind(&package)
            .bind(scope.trim())
            .bind(act.id)
            .bind(actor)
            .bind(crate::store::now_text())
            .fetch_one(&mut *tx)
            .await?;
            for d in doc_ids {
                sqlx::query("INSERT INTO transfer_items (transfer_id, doc_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(d)
                    .execute(&mut *tx)
                    .await?;
            }
            sip.act = Some(act.reg_no.clone());
            transfer_id = Some(id);
        }
        let documentation = description(sip, left_out, restricted);
        for g in sip.generated(&documentation) {
            write(&root.join(&g.path), &g.bytes)?;
        }
        self.record_event_in(
            &mut tx,
            None,
            if transfer { "transfer_exported" } else { "sip_exported" },
            serde_json::json!({"package": package, "scope": scope.trim(), "act": sip.act,
                "transfer": transfer_id, "documents": doc_ids.len(), "files": n_files, "bytes": bytes}),
            actor,
        )
        .await?;
        for id in restricted_ids {
            self.record_release_in(
                &mut tx,
                *id,
                "Rahvusarhiiv",
                if transfer {
                    "arhiivi üleandmine"
                } else {
                    "arhiivi testpakett (koopia)"
                },
                &format!("E-ARK SIP {package}"),
                actor,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(transfer_id)
    }

    /// Writes each stored file's bytes into the package (verified against
    /// their hashes on reading). Folders are owner-only: the package may hold
    /// restricted documents.
    async fn write_data(&self, sip: &Sip, root: &Path) -> Result<()> {
        mkdirs(root)?;
        let data = root.join("representations/rep1");
        for u in &sip.units {
            for d in &u.docs {
                for (f, r) in d.files.iter().zip(&d.doc.files) {
                    let bytes = self.file_bytes(&r.sha256).await?;
                    write(&data.join(&f.rep_path), &bytes)?;
                }
            }
        }
        Ok(())
    }

    /// Registers the archive's receipt of a transfer: the transfer is
    /// `received`, each of its documents gets a `transferred` event.
    pub async fn receive_transfer(
        &self,
        package: &str,
        archive_ref: &str,
        actor: &str,
    ) -> Result<Transfer> {
        let archive_ref = archive_ref.trim();
        if archive_ref.is_empty() || archive_ref.chars().count() > crate::model::limits::TITLE {
            return Err(Error::invalid_field(
                "archive_ref",
                "arhiivi vastuvõtu viide on tühi või liiga pikk (the archive's reference is empty or too long)",
            ));
        }
        let t = self.transfer(package).await?;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE transfers SET status = 'received', received_by = $1, received_at = $2, archive_ref = $3 \
             WHERE id = $4 AND status = 'exported'",
        )
        .bind(actor)
        .bind(crate::store::now_text())
        .bind(archive_ref)
        .bind(t.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Conflict(format!(
                "üleandmine {package} ei oota kinnitust: {} (the transfer is not awaiting a receipt)",
                t.status
            )));
        }
        let docs: Vec<(i64,)> = sqlx::query_as(
            "SELECT doc_id FROM transfer_items WHERE transfer_id = $1 ORDER BY doc_id",
        )
        .bind(t.id)
        .fetch_all(&mut *tx)
        .await?;
        for (doc_id,) in &docs {
            self.record_event_in(
                &mut tx,
                Some(*doc_id),
                "transferred",
                serde_json::json!({"package": package, "act": t.act, "archive_ref": archive_ref}),
                actor,
            )
            .await?;
        }
        let (act_id,): (i64,) = sqlx::query_as("SELECT act_doc_id FROM transfers WHERE id = $1")
            .bind(t.id)
            .fetch_one(&mut *tx)
            .await?;
        self.record_event_in(
            &mut tx,
            Some(act_id),
            "transfer_received",
            serde_json::json!({"package": package, "archive_ref": archive_ref, "documents": docs.len()}),
            actor,
        )
        .await?;
        tx.commit().await?;
        self.transfer(package).await
    }

    /// One transfer by its package name.
    pub async fn transfer(&self, package: &str) -> Result<Transfer> {
        self.transfers_where("t.package = $1", Some(package))
            .await?
            .pop()
            .ok_or_else(|| {
                Error::not_found(format!(
                    "tundmatu üleandmine {package:?} (unknown transfer package)"
                ))
            })
    }

    /// Every transfer, newest first.
    pub async fn transfers(&self) -> Result<Vec<Transfer>> {
        self.transfers_where("1 = 1", None).await
    }

    async fn transfers_where(&self, cond: &str, bind: Option<&str>) -> Result<Vec<Transfer>> {
        let sql = format!(
            "SELECT t.id, t.package, t.scope, t.status, d.reg_no, t.exported_by, t.exported_at, \
             t.received_by, t.received_at, t.archive_ref, \
             (SELECT COUNT(*) FROM transfer_items i WHERE i.transfer_id = t.id) AS n \
             FROM transfers t JOIN documents d ON d.id = t.act_doc_id WHERE {cond} ORDER BY t.id DESC"
        );
        let mut q = sqlx::query_as::<_, TransferRow>(&sql);
        if let Some(b) = bind {
            q = q.bind(b.to_string());
        }
        let rows = q.fetch_all(&self.store().pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| Transfer {
                id: r.0,
                package: r.1,
                scope: r.2,
                status: r.3,
                act: r.4,
                exported_by: r.5,
                exported_at: r.6,
                received_by: r.7,
                received_at: r.8,
                archive_ref: r.9,
                documents: r.10,
            })
            .collect())
    }

    /// The transfer that took a document to the archive, once its receipt is registered.
    pub async fn transferred_by(&self, doc_id: i64) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT t.package FROM transfer_items i JOIN transfers t ON t.id = i.transfer_id \
             WHERE i.doc_id = $1 AND t.status = 'received'",
        )
        .bind(doc_id)
        .fetch_optional(&self.store().pool)
        .await?;
        Ok(row.map(|r| r.0))
    }
}

type TransferRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

fn mkdirs(p: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(p)
        .map_err(|e| Error::io(format!("cannot create {}", p.display()), e))
}

fn write(p: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = p.parent() {
        mkdirs(parent)?;
    }
    std::fs::write(p, bytes).map_err(|e| Error::io(format!("cannot write {}", p.display()), e))
}

/// The package's description (`documentation/kirjeldus.txt`), in Estonian.
fn description(sip: &Sip, left_out: &[String], restricted: usize) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(t, "E-ARK SIP {}", sip.package);
    let _ = writeln!(t, "Asutus: {} ({})", sip.agency, sip.agency_code);
    let _ = writeln!(t, "Sari: {} {}", sip.series_code, sip.series_title);
    let _ = writeln!(t, "{}", sip.retention);
    let _ = writeln!(
        t,
        "{}",
        match &sip.act {
            Some(a) => format!("Üleandmine Rahvusarhiivile, üleandmise-vastuvõtmise akt {a}."),
            None => "Koopia (testpakett): üleandmist ei toimunud.".to_string(),
        }
    );
    let _ = writeln!(t, "\nToimikud:");
    for u in &sip.units {
        let _ = writeln!(t, "  {} {} ({} dokumenti)", u.code, u.title, u.docs.len());
    }
    let _ = writeln!(
        t,
        "\nPiiratud teave: paketis on {restricted} asutusesiseseks kasutamiseks (AK) tunnistatud dokumenti. \
         Need on paketis täielikult, koos piirangu alusega, lõppkuupäeva ja teabevaldajaga (EAD accessrestrict), \
         sest arhiiv võtab dokumendid üle ja kohaldab piirangut edasi; pakett ise on seetõttu asutusesiseseks kasutamiseks."
    );
    if !left_out.is_empty() {
        let _ = writeln!(t, "\nVälja jäetud (hävitatud, faile pole):");
        for l in left_out {
            let _ = writeln!(t, "  {l}");
        }
    }
    let _ = writeln!(
        t,
        "\nStruktuur: METS.xml (CSIP/SIP 2.1), metadata/descriptive/ead.xml (EAD3), \
         metadata/preservation/premis.xml (PREMIS 3: SHA-256 ja auditisündmused), \
         representations/rep1/METS.xml ja representations/rep1/data/<toimik>/<registreerimisnumber>/<failid>."
    );
    t
}

/// The handover-acceptance act's text: the scope, the package, every document.
fn act_text(sip: &Sip, actor: &str, on: jiff::civil::Date, left_out: &[String]) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(t, "ÜLEANDMISE-VASTUVÕTMISE AKT (handover-acceptance act)");
    let _ = writeln!(
        t,
        "Üleandja (transferor): {} ({})",
        sip.agency, sip.agency_code
    );
    let _ = writeln!(t, "Vastuvõtja (recipient): Rahvusarhiiv");
    let _ = writeln!(
        t,
        "Koostas (drawn up by): {actor}, {}",
        on.strftime("%d.%m.%Y")
    );
    let _ = writeln!(t, "Pakett (E-ARK SIP): {}", sip.package);
    let _ = writeln!(t, "Sari (series): {} {}", sip.series_code, sip.series_title);
    let n: usize = sip.units.iter().map(|u| u.docs.len()).sum();
    let _ = writeln!(t, "Dokumente (documents): {n}");
    for u in &sip.units {
        let _ = writeln!(t, "\nToimik (file unit) {} {}", u.code, u.title);
        let _ = writeln!(t, "Reg. nr\tKuupäev\tJuurdepääs\tFailid (SHA-256)");
        for d in &u.docs {
            let _ = writeln!(
                t,
                "{}\t{}\t{}\t{}",
                d.doc.reg_no,
                d.doc.registered.strftime("%d.%m.%Y"),
                if d.doc.restriction.is_some() {
                    "AK"
                } else {
                    "avalik"
                },
                d.files
                    .iter()
                    .map(|f| f.sha256.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
    if !left_out.is_empty() {
        let _ = writeln!(t, "\nVälja jäetud (left out): {}", left_out.join("; "));
    }
    let _ = writeln!(
        t,
        "\nOriginaalid jäävad asutusse kuni arhiivi vastuvõtu kinnituse registreerimiseni (the originals stay until the archive's receipt is registered)."
    );
    t
}
