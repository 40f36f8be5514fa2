//! Legal holds: a document, a thread (case), a file unit or a person
//! (personal code) put on hold is never proposed for disposal nor destroyed,
//! and the hold says why.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use crate::error::{Error, Result};
use crate::model::limits;
use crate::register::Register;

/// What a hold covers. At the command line: `document:9-13/5`, `thread:9-13/5`,
/// `file-unit:9-13/2026` or `person:49403136515` (a bare personal code is a person).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Document(String),
    Thread(String),
    FileUnit(String),
    Person(String),
}

impl Scope {
    pub fn parse(s: &str) -> Result<Scope> {
        let s = s.trim();
        let (kind, value) = match s.split_once(':') {
            Some((k, v)) => (k, v.trim()),
            None if crate::personal_code::is_valid(s) => ("person", s),
            None => ("", s),
        };
        if value.is_empty() {
            return Err(bad_scope(s));
        }
        Ok(match kind {
            "document" | "doc" | "dokument" => Scope::Document(value.into()),
            "thread" | "asi" => Scope::Thread(value.into()),
            "file-unit" | "unit" | "toimik" => Scope::FileUnit(value.into()),
            "person" | "isik" => {
                if !crate::personal_code::is_valid(value) {
                    return Err(Error::invalid_field(
                        "scope",
                        format!("{s:?}: not a valid personal code (isikukood)"),
                    ));
                }
                Scope::Person(value.into())
            }
            _ => return Err(bad_scope(s)),
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Document(_) => "document",
            Scope::Thread(_) => "thread",
            Scope::FileUnit(_) => "file-unit",
            Scope::Person(_) => "person",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Scope::Document(v) | Scope::Thread(v) | Scope::FileUnit(v) | Scope::Person(v) => v,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind(), self.value())
    }
}

fn bad_scope(s: &str) -> Error {
    Error::invalid_field(
        "scope",
        format!(
            "{s:?}: document:REG_NO, thread:REG_NO, file-unit:CODE or person:PERSONAL_CODE \
         (ulatus: dokument, asi, toimik või isik)"
        ),
    )
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hold {
    pub id: i64,
    pub scope: String,
    pub reason: String,
    pub added_by: String,
    pub added_at: String,
    pub removed_at: Option<String>,
}

fn hold_from_row(r: &sqlx::any::AnyRow) -> Result<Hold> {
    Ok(Hold {
        id: r.try_get("id")?,
        scope: r.try_get("scope")?,
        reason: r.try_get("reason")?,
        added_by: r.try_get("added_by")?,
        added_at: r.try_get("added_at")?,
        removed_at: r.try_get("removed_at")?,
    })
}

/// The active holds that reach a document: `scope: reason`.
const HELD_SQL: &str = "SELECT d.id AS doc_id, h.scope, h.reason FROM documents d \
     LEFT JOIN doc_file_units m ON m.doc_id = d.id \
     JOIN holds h ON h.removed_at IS NULL AND (h.doc_id = d.id OR h.thread_id = d.thread_id \
       OR h.file_unit_id = m.file_unit_id \
       OR (h.person_code IS NOT NULL AND EXISTS (SELECT 1 FROM parties p WHERE p.doc_id = d.id AND p.code = h.person_code)))";

impl Register {
    /// Puts a scope on hold, with a reason (one transaction with its event).
    pub async fn add_hold(&self, scope: &Scope, reason: &str, actor: &str) -> Result<Hold> {
        let reason = limits::reason(reason)?;
        let mut tx = self.begin().await?;
        let (mut doc_id, mut thread_id, mut unit_id, mut person) = (None, None, None, None);
        match scope {
            Scope::Document(r) | Scope::Thread(r) => {
                let (id, thread): (i64, i64) =
                    sqlx::query_as("SELECT id, thread_id FROM documents WHERE reg_no = $1")
                        .bind(r)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| {
                            Error::not_found(format!("unknown registration number {r:?}"))
                        })?;
                if matches!(scope, Scope::Document(_)) {
                    doc_id = Some(id);
                } else {
                    thread_id = Some(thread);
                }
            }
            Scope::FileUnit(c) => {
                let (id,): (i64,) = sqlx::query_as("SELECT id FROM file_units WHERE code = $1")
                    .bind(c)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| {
                        Error::not_found(format!("tundmatu toimik {c:?} (unknown file unit)"))
                    })?;
                unit_id = Some(id);
            }
            Scope::Person(c) => person = Some(c.clone()),
        }
        let scope_text = scope.to_string();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO holds (scope_kind, scope, doc_id, thread_id, file_unit_id, person_code, reason, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(scope.kind())
        .bind(&scope_text)
        .bind(doc_id)
        .bind(thread_id)
        .bind(unit_id)
        .bind(&person)
        .bind(reason)
        .bind(actor)
        .bind(crate::store::now_text())
        .fetch_one(&mut *tx)
        .await?;
        // A person's code is not written into the chain in clear: the hold's id names it.
        let shown = match scope {
            Scope::Person(_) => format!("person:hold-{id}"),
            _ => scope_text,
        };
        self.record_event_in(
            &mut tx,
            doc_id,
            "hold_added",
            serde_json::json!({"hold": id, "scope": shown, "reason": reason}),
            actor,
        )
        .await?;
        let hold = sqlx::query(
            "SELECT id, scope, reason, added_by, added_at, removed_at FROM holds WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let hold = hold_from_row(&hold)?;
        tx.commit().await?;
        Ok(hold)
    }

    /// Lifts every active hold of a scope, with a reason; the number lifted.
    pub async fn remove_hold(&self, scope: &Scope, reason: &str, actor: &str) -> Result<usize> {
        let reason = limits::reason(reason)?;
        let mut tx = self.begin().await?;
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, doc_id FROM holds WHERE scope = $1 AND removed_at IS NULL ORDER BY id",
        )
        .bind(scope.to_string())
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Err(Error::not_found(format!(
                "{scope} ei ole peatatud (no active hold on this scope)"
            )));
        }
        for (id, doc_id) in &rows {
            sqlx::query(
                "UPDATE holds SET removed_at = $1, removed_by = $2, removed_reason = $3 WHERE id = $4",
            )
            .bind(crate::store::now_text())
            .bind(actor)
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            self.record_event_in(
                &mut tx,
                *doc_id,
                "hold_removed",
                serde_json::json!({"hold": id, "reason": reason}),
                actor,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// The holds, active ones only unless `all`.
    pub async fn holds(&self, all: bool) -> Result<Vec<Hold>> {
        let sql = if all {
            "SELECT id, scope, reason, added_by, added_at, removed_at FROM holds ORDER BY id"
        } else {
            "SELECT id, scope, reason, added_by, added_at, removed_at FROM holds WHERE removed_at IS NULL ORDER BY id"
        };
        let rows = sqlx::query(sql).fetch_all(&self.store().pool).await?;
        rows.iter().map(hold_from_row).collect()
    }

    /// Why a document is held, if it is: ["scope: reason"].
    pub async fn holds_on(&self, doc_id: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(&format!("{HELD_SQL} WHERE d.id = $1 ORDER BY h.id"))
            .bind(doc_id)
            .fetch_all(&self.store().pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(format!(
                    "{}: {}",
                    r.try_get::<String, _>("scope")?,
                    r.try_get::<String, _>("reason")?
                ))
            })
            .collect()
    }
}

/// Why each held document of a file unit is held: doc id -> ["scope: reason"].
pub(crate) async fn holds_in_unit(
    conn: &mut sqlx::AnyConnection,
    unit_id: i64,
) -> Result<BTreeMap<i64, Vec<String>>> {
    let rows = sqlx::query(&format!(
        "{HELD_SQL} WHERE m.file_unit_id = $1 ORDER BY d.id, h.id"
    ))
    .bind(unit_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for r in &rows {
        let scope: String = r.try_get("scope")?;
        let reason: String = r.try_get("reason")?;
        out.entry(r.try_get("doc_id")?)
            .or_default()
            .push(format!("{scope}: {reason}"));
    }
    Ok(out)
}
