//! Disposal (MoReq2010 disposal scheduling; Arhiiviseadus): the file units
//! whose retention period has ended; a clerk's disposal list (hävitamisloend);
//! the lead's approval, which registers a destruction act (hävitamisakt) in
//! `acts_series` and destroys the listed documents in the same transaction:
//! their text and file bytes go, their metadata stays as a stub, and each
//! destruction is a `destroyed` event carrying the hashes that are gone (so
//! `verify` knows them).

use jiff::civil::Date;
use serde::Serialize;
use sqlx::Row;

use super::file_unit::FileUnit;
use super::parse_stored_date;
use super::retention::{self, Appraisal, PeriodEnd, Trigger, UnitFacts};
use crate::error::{Error, Result};
use crate::model::{Channel, Direction, Document, NewDocument, NewFile, PartyKind, TextStatus};
use crate::register::Register;
use crate::store::files::FileStore;
use crate::web::Role;

/// A file unit whose retention period has ended (`retention due`).
#[derive(Debug, Clone, Serialize)]
pub struct DueUnit {
    pub file_unit: String,
    pub title: String,
    pub series: String,
    pub series_title: String,
    pub appraisal: Appraisal,
    pub period: String,
    pub trigger: Trigger,
    /// The trigger in words (Estonian, English).
    pub trigger_label: &'static str,
    pub started: Date,
    pub ends: Date,
    pub documents: i64,
    /// Held documents of the unit and why: "reg_no — scope: reason".
    pub held: Vec<String>,
    /// The open disposal list it is on, if any.
    pub on_list: Option<i64>,
}

/// A disposal list and what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct DisposalList {
    pub id: i64,
    pub status: String,
    pub as_of: Date,
    pub proposed_by: String,
    pub proposed_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    /// The destruction act's registration number once approved.
    pub act: Option<String>,
    pub units: Vec<ListedUnit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListedUnit {
    pub file_unit: String,
    pub trigger: String,
    pub started: Date,
    pub ends: Date,
    pub documents: Vec<ListedDocument>,
}

/// One line of a disposal list and of the destruction act.
#[derive(Debug, Clone, Serialize)]
pub struct ListedDocument {
    pub reg_no: String,
    pub registered: Date,
    /// The title as the public sees it (persons and codes masked).
    pub title: String,
    /// The parties: organisations by name, natural persons as "eraisik".
    pub parties: Vec<String>,
    pub files: Vec<ListedFile>,
    /// Why it is held, if it is (then it is not destroyed).
    pub held: Vec<String>,
    /// The act that destroyed it, if it was.
    pub destroyed_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListedFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// What approval did.
#[derive(Debug, Clone, Serialize)]
pub struct Approved {
    pub list: DisposalList,
    pub act: String,
    pub destroyed: usize,
    /// File units left out because a hold reached them: "code — scope: reason".
    pub left_out: Vec<String>,
    pub files_deleted: usize,
}

fn listed(doc: &Document) -> ListedDocument {
    ListedDocument {
        reg_no: doc.reg_no.clone(),
        registered: doc.registered,
        title: crate::access::public_title(doc),
        parties: doc
            .parties
            .iter()
            .map(|p| match p.kind {
                PartyKind::Person => "eraisik".to_string(),
                PartyKind::Organisation => p.name.clone(),
            })
            .collect(),
        files: doc
            .files
            .iter()
            .map(|f| ListedFile {
                name: f.name.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
            })
            .collect(),
        held: Vec::new(),
        destroyed_by: None,
    }
}

/// The destruction act's text: the agency, the list, every destroyed document.
pub fn act_text(
    agency: &str,
    list: &DisposalList,
    approved_by: &str,
    on: Date,
    left_out: &[String],
) -> String {
    use std::fmt::Write;
    let mut t = String::new();
    let _ = writeln!(t, "HÄVITAMISAKT (destruction act)");
    let _ = writeln!(t, "Asutus (agency): {agency}");
    let _ = writeln!(
        t,
        "Hävitamisloend (disposal list) nr {}, koostas (proposed by) {} {}; kinnitas (approved by) {approved_by} {}",
        list.id,
        list.proposed_by,
        list.proposed_at,
        on.strftime("%d.%m.%Y")
    );
    let _ = writeln!(
        t,
        "Alus (basis): arhiiviseadus; dokumentide loetelu säilitustähtajad (the document list's retention periods)"
    );
    let n: usize = list.units.iter().map(|u| u.documents.len()).sum();
    let _ = writeln!(t, "Hävitatud dokumente (documents destroyed): {n}");
    for u in &list.units {
        let _ = writeln!(
            t,
            "\nToimik (file unit) {}: säilitustähtaeg algas (period started) {} ({}), lõppes (ended) {}",
            u.file_unit,
            u.started.strftime("%d.%m.%Y"),
            u.trigger,
            u.ends.strftime("%d.%m.%Y")
        );
        let _ = writeln!(
            t,
            "Reg. nr\tKuupäev\tPealkiri\tOsapool\tFailid (SHA-256, suurus)"
        );
        for d in &u.documents {
            let files = d
                .files
                .iter()
                // By hash and size: a file name may name a person.
                .map(|f| format!("{} ({} B)", f.sha256, f.size))
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(
                t,
                "{}\t{}\t{}\t{}\t{}",
                d.reg_no,
                d.registered.strftime("%d.%m.%Y"),
                d.title,
                if d.parties.is_empty() {
                    "–".to_string()
                } else {
                    d.parties.join(", ")
                },
                if files.is_empty() {
                    "–".into()
                } else {
                    files
                }
            );
        }
    }
    if !left_out.is_empty() {
        let _ = writeln!(t, "\nJäeti välja, peatatud (left out, on hold):");
        for l in left_out {
            let _ = writeln!(t, "{l}");
        }
    }
    t
}

pub(crate) fn require_role(role: Role, allowed: &[Role], what: &str) -> Result<()> {
    if allowed.contains(&role) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "{what}: roll {role:?} ei ole lubatud (role not allowed; allowed: {allowed:?})"
        )))
    }
}

impl Register {
    /// The facts a file unit's period starts from, and its document counts
    /// (all, destroyed).
    async fn unit_facts(
        &self,
        conn: &mut sqlx::AnyConnection,
        unit: &FileUnit,
    ) -> Result<(UnitFacts, i64, i64)> {
        let r = sqlx::query(
            "SELECT MAX(d.registered) AS last_reg, \
                    MAX(CASE WHEN d.kind = 'otsus' THEN d.registered END) AS last_decision, \
                    COUNT(*) AS n, \
                    COALESCE(SUM(CASE WHEN x.doc_id IS NULL THEN 0 ELSE 1 END), 0) AS gone \
             FROM doc_file_units m JOIN documents d ON d.id = m.doc_id \
             LEFT JOIN destroyed_documents x ON x.doc_id = d.id WHERE m.file_unit_id = $1",
        )
        .bind(unit.id)
        .fetch_one(&mut *conn)
        .await?;
        let (thread_last,): (Option<String>,) = sqlx::query_as(
            "SELECT MAX(t.registered) FROM documents t WHERE t.thread_id IN \
             (SELECT d.thread_id FROM doc_file_units m JOIN documents d ON d.id = m.doc_id WHERE m.file_unit_id = $1)",
        )
        .bind(unit.id)
        .fetch_one(&mut *conn)
        .await?;
        let date = |s: Option<String>| s.map(|s| parse_stored_date(&s)).transpose();
        let facts = UnitFacts {
            last_registered: date(r.try_get("last_reg")?)?,
            closed: unit.closed,
            last_decision: date(r.try_get("last_decision")?)?,
            thread_last: date(thread_last)?,
        };
        Ok((facts, r.try_get("n")?, r.try_get("gone")?))
    }

    /// Why each held document of a unit is held: "reg_no — scope: reason".
    async fn held_lines(
        &self,
        conn: &mut sqlx::AnyConnection,
        unit_id: i64,
    ) -> Result<Vec<String>> {
        let held = super::hold::holds_in_unit(conn, unit_id).await?;
        let mut out = Vec::new();
        for (doc_id, reasons) in held {
            let (reg_no,): (String,) = sqlx::query_as("SELECT reg_no FROM documents WHERE id = $1")
                .bind(doc_id)
                .fetch_one(&mut *conn)
                .await?;
            for r in reasons {
                out.push(format!("{reg_no} — {r}"));
            }
        }
        Ok(out)
    }

    /// The file units whose retention period has ended on `as_of`, by series
    /// and code, with what started each and why any is held.
    pub async fn retention_due(&self, as_of: Date) -> Result<Vec<DueUnit>> {
        let units = self.file_units(None).await?;
        let mut conn = self.store().pool.acquire().await?;
        let mut out = Vec::new();
        for unit in units {
            let Some(series) = self.series().get(&unit.series) else {
                continue;
            };
            let (facts, n, gone) = self.unit_facts(&mut conn, &unit).await?;
            if n == 0 || n == gone {
                continue;
            }
            let Some(PeriodEnd {
                trigger,
                started,
                ends,
            }) = retention::is_due(&series.retention, unit.retention_years, &facts, as_of)
            else {
                continue;
            };
            let held = self.held_lines(&mut conn, unit.id).await?;
            let on_list: Option<(i64,)> = sqlx::query_as(
                "SELECT l.id FROM disposal_items i JOIN disposal_lists l ON l.id = i.list_id \
                 WHERE i.file_unit_id = $1 AND l.status = 'proposed'",
            )
            .bind(unit.id)
            .fetch_optional(&mut *conn)
            .await?;
            out.push(DueUnit {
                file_unit: unit.code.clone(),
                title: unit.title.clone(),
                series: series.code.clone(),
                series_title: series.title.clone(),
                appraisal: series.retention.appraisal,
                period: match unit.retention_years {
                    Some(y) => retention::Period::Years(y).to_string(),
                    None => series.retention.period.to_string(),
                },
                trigger,
                trigger_label: trigger.label(),
                started,
                ends,
                documents: n - gone,
                held,
                on_list: on_list.map(|l| l.0),
            });
        }
        Ok(out)
    }

    /// A clerk (or the lead) proposes a disposal list: every unit due on
    /// `as_of` that is appraised for destruction, not held and not on an open list.
    pub async fn propose_disposal(
        &self,
        as_of: Date,
        actor: &str,
        role: Role,
    ) -> Result<DisposalList> {
        require_role(
            role,
            &[Role::Clerk, Role::Lead],
            "hävitamisloendi koostamine (proposing a disposal list)",
        )?;
        let due: Vec<DueUnit> = self
            .retention_due(as_of)
            .await?
            .into_iter()
            .filter(|u| {
                u.appraisal == Appraisal::Destroy && u.held.is_empty() && u.on_list.is_none()
            })
            .collect();
        if due.is_empty() {
            return Err(Error::invalid(format!(
                "{as_of} seisuga pole hävitamisele kuuluvaid toimikuid (nothing is due for destruction that is not held or already listed)"
            )));
        }
        let mut tx = self.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO disposal_lists (status, as_of, proposed_by, proposed_at) VALUES ('proposed', $1, $2, $3) RETURNING id",
        )
        .bind(as_of.to_string())
        .bind(actor)
        .bind(crate::store::now_text())
        .fetch_one(&mut *tx)
        .await?;
        for u in &due {
            let (unit_id,): (i64,) = sqlx::query_as("SELECT id FROM file_units WHERE code = $1")
                .bind(&u.file_unit)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO disposal_items (list_id, file_unit_id, trigger_kind, started, ends) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(unit_id)
            .bind(u.trigger.as_str())
            .bind(u.started.to_string())
            .bind(u.ends.to_string())
            .execute(&mut *tx)
            .await?;
        }
        self.record_event_in(
            &mut tx,
            None,
            "disposal_proposed",
            serde_json::json!({"list": id, "as_of": as_of,
                "file_units": due.iter().map(|u| &u.file_unit).collect::<Vec<_>>()}),
            actor,
        )
        .await?;
        tx.commit().await?;
        self.disposal_list(id).await
    }

    /// Every disposal list, newest first (without their documents).
    pub async fn disposal_lists(&self) -> Result<Vec<DisposalList>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM disposal_lists ORDER BY id DESC")
            .fetch_all(&self.store().pool)
            .await?;
        let mut out = Vec::new();
        for (id,) in rows {
            let mut l = self.disposal_list(id).await?;
            for u in &mut l.units {
                u.documents.clear();
            }
            out.push(l);
        }
        Ok(out)
    }

    /// A disposal list with its file units and their documents (each with
    /// why it is held, or the act that destroyed it).
    pub async fn disposal_list(&self, id: i64) -> Result<DisposalList> {
        let pool = &self.store().pool;
        let row = sqlx::query(
            "SELECT l.id, l.status, l.as_of, l.proposed_by, l.proposed_at, l.approved_by, l.approved_at, d.reg_no AS act \
             FROM disposal_lists l LEFT JOIN documents d ON d.id = l.act_doc_id WHERE l.id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("tundmatu hävitamisloend {id} (unknown disposal list)")))?;
        let as_of: String = row.try_get("as_of")?;
        let items = sqlx::query(
            "SELECT u.id, u.code, i.trigger_kind, i.started, i.ends FROM disposal_items i \
             JOIN file_units u ON u.id = i.file_unit_id WHERE i.list_id = $1 ORDER BY u.series, u.code",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let mut conn = pool.acquire().await?;
        let mut units = Vec::new();
        for it in &items {
            let unit_id: i64 = it.try_get("id")?;
            let held = super::hold::holds_in_unit(&mut conn, unit_id).await?;
            let mut documents = Vec::new();
            for doc_id in self.file_unit_documents(unit_id).await? {
                let doc = self.get(doc_id).await?;
                let mut l = listed(&doc);
                l.held = held.get(&doc_id).cloned().unwrap_or_default();
                l.destroyed_by = self.destroyed_by(doc_id).await?;
                documents.push(l);
            }
            let trigger: String = it.try_get("trigger_kind")?;
            units.push(ListedUnit {
                file_unit: it.try_get("code")?,
                trigger: Trigger::parse(&trigger)
                    .map(|t| t.label().to_string())
                    .unwrap_or(trigger),
                started: parse_stored_date(&it.try_get::<String, _>("started")?)?,
                ends: parse_stored_date(&it.try_get::<String, _>("ends")?)?,
                documents,
            });
        }
        Ok(DisposalList {
            id: row.try_get("id")?,
            status: row.try_get("status")?,
            as_of: parse_stored_date(&as_of)?,
            proposed_by: row.try_get("proposed_by")?,
            proposed_at: row.try_get("proposed_at")?,
            approved_by: row.try_get("approved_by")?,
            approved_at: row.try_get("approved_at")?,
            act: row.try_get("act")?,
            units,
        })
    }

    /// The registration number of the act that destroyed a document, if one did.
    pub async fn destroyed_by(&self, doc_id: i64) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT act_reg_no FROM destroyed_documents WHERE doc_id = $1")
                .bind(doc_id)
                .fetch_optional(&self.store().pool)
                .await?;
        Ok(row.map(|r| r.0))
    }

    pub(crate) async fn destroyed_in(
        &self,
        tx: &mut crate::store::Tx,
        doc_id: i64,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT act_reg_no FROM destroyed_documents WHERE doc_id = $1")
                .bind(doc_id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// The lead approves a disposal list: in one transaction the destruction
    /// act is registered in `acts_series` and every listed document that no
    /// hold reaches is destroyed (text and bytes deleted, metadata kept, a
    /// `destroyed` event each). Units a hold reached since the proposal are
    /// left out and named in the act. Local file bytes are removed after the
    /// commit.
    pub async fn approve_disposal(&self, id: i64, actor: &str, role: Role) -> Result<Approved> {
        require_role(
            role,
            &[Role::Lead],
            "hävitamisloendi kinnitamine (approving a disposal list)",
        )?;
        let acts_series = self.series().acts_series.clone().ok_or_else(|| {
            Error::invalid(
                "dokumentide loetelus puudub acts_series: hävitamisakti sari (the document list names no series for destruction acts)",
            )
        })?;
        let proposed = self.disposal_list(id).await?;
        let mut tx = self.begin().await?;
        let claimed = sqlx::query(
            "UPDATE disposal_lists SET status = 'approving' WHERE id = $1 AND status = 'proposed'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return Err(Error::Conflict(format!(
                "hävitamisloend {id} ei oota kinnitamist: {} (the list is not awaiting approval)",
                proposed.status
            )));
        }
        let items: Vec<(i64, String)> = sqlx::query_as(
            "SELECT u.id, u.code FROM disposal_items i JOIN file_units u ON u.id = i.file_unit_id \
             WHERE i.list_id = $1 ORDER BY u.series, u.code",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let mut left_out = Vec::new();
        let mut docs: Vec<(Document, String)> = Vec::new();
        let mut act_units = Vec::new();
        for (unit_id, code) in &items {
            let held = super::hold::holds_in_unit(&mut tx, *unit_id).await?;
            if !held.is_empty() {
                for reasons in held.values() {
                    for r in reasons {
                        left_out.push(format!("{code} — {r}"));
                    }
                }
                continue;
            }
            let ids: Vec<(i64,)> = sqlx::query_as(
                "SELECT m.doc_id FROM doc_file_units m WHERE m.file_unit_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM destroyed_documents x WHERE x.doc_id = m.doc_id) ORDER BY m.doc_id",
            )
            .bind(unit_id)
            .fetch_all(&mut *tx)
            .await?;
            let mut unit_docs = Vec::new();
            for (doc_id,) in ids {
                let (doc, _body) = self.load_in(&mut tx, doc_id).await?;
                unit_docs.push(listed(&doc));
                docs.push((doc, code.clone()));
            }
            if let Some(u) = proposed.units.iter().find(|u| &u.file_unit == code) {
                act_units.push(ListedUnit {
                    documents: unit_docs,
                    ..u.clone()
                });
            }
        }
        if docs.is_empty() {
            return Err(Error::Conflict(format!(
                "hävitamisloendis {id} pole midagi hävitada: {} (nothing on the list can be destroyed)",
                if left_out.is_empty() { "kõik on juba hävitatud".to_string() } else { left_out.join("; ") }
            )));
        }
        let today = self.today();
        let act_list = DisposalList {
            units: act_units,
            ..proposed.clone()
        };
        let text = act_text(
            &self.config().agency.name,
            &act_list,
            actor,
            today,
            &left_out,
        );
        let mut title = format!(
            "Hävitamisakt (hävitamisloend nr {id}): {}",
            act_list
                .units
                .iter()
                .map(|u| u.file_unit.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if title.chars().count() > crate::model::limits::TITLE {
            title = title
                .chars()
                .take(crate::model::limits::TITLE - 1)
                .collect::<String>()
                + "…";
        }
        let mut new = NewDocument::new(Direction::Internal, Channel::Hand, title);
        new.series = Some(acts_series);
        let mut file = NewFile::new(
            format!("havitamisakt-{id}.txt"),
            "text/plain",
            text.clone().into_bytes(),
        );
        file.text = Some(text);
        file.text_status = TextStatus::Extracted;
        new.files.push(file);
        if docs.iter().all(|(d, _)| d.restriction.is_none()) {
            new.public_reason = Some(
                "hävitamisakt ei loetle ühtki piiratud dokumenti (the act lists no restricted document)".into(),
            );
        }
        let act = self.register_in(&mut tx, new, actor).await?;
        let mut shas = Vec::new();
        for (doc, code) in &docs {
            sqlx::query("UPDATE documents SET body = NULL WHERE id = $1")
                .bind(doc.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO destroyed_documents (doc_id, act_reg_no, list_id, at) VALUES ($1, $2, $3, $4)",
            )
            .bind(doc.id)
            .bind(&act.reg_no)
            .bind(id)
            .bind(crate::store::now_text())
            .execute(&mut *tx)
            .await?;
            let sh = crate::register::state_hash(doc, None);
            crate::audit::append_in(
                self.store(),
                &mut tx,
                Some(doc.id),
                "destroyed",
                actor,
                &serde_json::json!({
                    "act": act.reg_no, "list": id, "file_unit": code,
                    "files": doc.files.iter().map(|f| serde_json::json!({"name": f.name, "sha256": f.sha256})).collect::<Vec<_>>(),
                }),
                Some(&sh),
            )
            .await?;
            shas.extend(doc.files.iter().map(|f| f.sha256.clone()));
        }
        shas.sort();
        shas.dedup();
        // Bytes shared with a document that is kept stay.
        let mut gone = Vec::new();
        for sha in shas {
            let (kept,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM doc_files f WHERE f.sha256 = $1 \
                 AND NOT EXISTS (SELECT 1 FROM destroyed_documents x WHERE x.doc_id = f.doc_id)",
            )
            .bind(&sha)
            .fetch_one(&mut *tx)
            .await?;
            if kept == 0 {
                sqlx::query("DELETE FROM file_texts WHERE sha256 = $1")
                    .bind(&sha)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM blobs WHERE sha256 = $1")
                    .bind(&sha)
                    .execute(&mut *tx)
                    .await?;
                gone.push(sha);
            }
        }
        sqlx::query(
            "UPDATE disposal_lists SET status = 'approved', approved_by = $1, approved_at = $2, act_doc_id = $3 WHERE id = $4",
        )
        .bind(actor)
        .bind(crate::store::now_text())
        .bind(act.id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.record_event_in(
            &mut tx,
            Some(act.id),
            "disposal_approved",
            serde_json::json!({"list": id, "act": act.reg_no, "destroyed": docs.len(),
                "files_deleted": gone.len(), "left_out": left_out}),
            actor,
        )
        .await?;
        tx.commit().await?;
        if let FileStore::Local(dir) = &self.store().files {
            let dir = dir.clone();
            let paths: Vec<_> = gone
                .iter()
                .map(|s| FileStore::local_path(&dir, s))
                .collect();
            tokio::task::spawn_blocking(move || -> Result<()> {
                for p in paths {
                    match std::fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(Error::io(format!("cannot delete {}", p.display()), e))
                        }
                    }
                }
                Ok(())
            })
            .await
            .map_err(|e| Error::internal(format!("file remover failed: {e}")))??;
        }
        Ok(Approved {
            list: self.disposal_list(id).await?,
            act: act.reg_no,
            destroyed: docs.len(),
            left_out,
            files_deleted: gone.len(),
        })
    }
}
