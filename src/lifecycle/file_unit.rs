//! File units (toimikud): every document belongs to one file unit of its
//! series, by default the series' unit of its registration year (`9-13/2026`),
//! or a case file a clerk opened (`9-14/2026-1`). A follow-up joins the open
//! file unit of the document it answers. Moves are audit events.

use jiff::civil::Date;
use serde::Serialize;
use sqlx::Row;

use super::parse_stored_date;
use crate::error::{Error, Result};
use crate::model::{limits, Document};
use crate::register::Register;
use crate::store::Tx;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileUnit {
    pub id: i64,
    pub code: String,
    pub series: String,
    /// The calendar year of a series' default unit; None for a case file.
    pub year: Option<i64>,
    pub title: String,
    pub opened: Date,
    pub closed: Option<Date>,
    /// The file unit's own access restriction (ground and end), if any.
    pub r_ground: Option<String>,
    pub r_ends: Option<Date>,
    /// The unit's own retention period in years (None: the series').
    pub retention_years: Option<u32>,
}

/// A case file to open.
#[derive(Debug, Clone, Default)]
pub struct NewCaseFile {
    pub series: String,
    pub title: String,
    pub ground: Option<String>,
    pub ground_until: Option<Date>,
    pub retention_years: Option<u32>,
}

const COLS: &str =
    "id, code, series, year, title, opened, closed, r_ground, r_ends, retention_years";

pub(crate) fn unit_from_row(r: &sqlx::any::AnyRow) -> Result<FileUnit> {
    let opened: String = r.try_get("opened")?;
    Ok(FileUnit {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        series: r.try_get("series")?,
        year: r.try_get("year")?,
        title: r.try_get("title")?,
        opened: parse_stored_date(&opened)?,
        closed: r
            .try_get::<Option<String>, _>("closed")?
            .map(|s| parse_stored_date(&s))
            .transpose()?,
        r_ground: r.try_get("r_ground")?,
        r_ends: r
            .try_get::<Option<String>, _>("r_ends")?
            .map(|s| parse_stored_date(&s))
            .transpose()?,
        retention_years: r
            .try_get::<Option<i64>, _>("retention_years")?
            .map(|y| y as u32),
    })
}

async fn unit_in(
    tx: &mut Tx,
    where_sql: &str,
    bind: crate::store::rows::Value,
) -> Result<Option<FileUnit>> {
    let sql = format!("SELECT {COLS} FROM file_units WHERE {where_sql}");
    let row = crate::store::rows::bind_all(sqlx::query(&sql), [bind])
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(unit_from_row).transpose()
}

impl Register {
    /// Puts a newly registered document into its file unit, in the registering
    /// transaction: the open unit of the document it answers, else its series'
    /// unit of the registration year (created on first use).
    pub(crate) async fn assign_file_unit_in(
        &self,
        tx: &mut Tx,
        doc: &Document,
        actor: &str,
    ) -> Result<Option<crate::model::Restriction>> {
        if let Some(parent) = doc.parent_id {
            // The parent's open unit, whole (its restriction too), in one read.
            let cols: Vec<String> = COLS.split(", ").map(|c| format!("u.{c}")).collect();
            let row = sqlx::query(&format!(
                "SELECT {} FROM doc_file_units m JOIN file_units u ON u.id = m.file_unit_id \
                 WHERE m.doc_id = $1 AND u.closed IS NULL AND u.series = $2",
                cols.join(", ")
            ))
            .bind(parent)
            .bind(&doc.series)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(row) = row {
                let unit = unit_from_row(&row)?;
                put_in(tx, doc.id, unit.id).await?;
                return self.inherit_restriction_in(tx, doc.id, &unit, actor).await;
            }
        }
        let year = i64::from(doc.registered.year());
        let unit = self.year_unit_in(tx, &doc.series, year).await?;
        put_in(tx, doc.id, unit).await?;
        Ok(None)
    }

    /// A file unit's own access restriction covers its documents: a document
    /// that joins a restricted case file (moved into it, or registered as a
    /// follow-up of a document in it) without a restriction of its own is
    /// restricted with the unit's ground and end, from its own date, marked
    /// today, with a `restricted` event naming the unit, so the one access
    /// policy (which reads the document's restriction) hides it like any other.
    /// A document already restricted keeps its own restriction; leaving a unit
    /// lifts nothing (lifting is a decision of its own, § 42).
    pub(crate) async fn inherit_restriction_in(
        &self,
        tx: &mut Tx,
        doc_id: i64,
        unit: &FileUnit,
        actor: &str,
    ) -> Result<Option<crate::model::Restriction>> {
        let (Some(ground), Some(ends)) = (&unit.r_ground, unit.r_ends) else {
            return Ok(None);
        };
        let agency = &self.config().agency;
        let holder = format!("{} ({})", agency.name, agency.unit);
        self.inherit_restriction_from_in(
            tx,
            doc_id,
            (ground.clone(), holder, ends),
            ("file_unit", &unit.code),
            actor,
        )
        .await
    }

    /// The id of a series' default file unit of a year, created when missing.
    async fn year_unit_in(&self, tx: &mut Tx, series: &str, year: i64) -> Result<i64> {
        let code = format!("{series}/{year}");
        sqlx::query(
            "INSERT INTO file_units (code, series, year, title, opened) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&code)
        .bind(series)
        .bind(year)
        .bind(format!("{series} {year}"))
        .bind(format!("{year:04}-01-01"))
        .execute(&mut **tx)
        .await?;
        let (id,): (i64,) =
            sqlx::query_as("SELECT id FROM file_units WHERE series = $1 AND year = $2")
                .bind(series)
                .bind(year)
                .fetch_one(&mut **tx)
                .await?;
        Ok(id)
    }

    /// Opens a case file (one per victim's case) in a series: `{series}/{year}-{n}`.
    pub async fn open_case_file(&self, new: &NewCaseFile, actor: &str) -> Result<FileUnit> {
        let series = self.series().resolve(Some(&new.series))?.clone();
        let title = new.title.trim();
        if title.is_empty() {
            return Err(Error::invalid_field(
                "title",
                "it is empty (toimiku pealkiri puudub)",
            ));
        }
        limits::check("title", title, limits::TITLE)?;
        if let Some(g) = &new.ground {
            self.vocab().grounds.require("ground", g)?;
            series.check_ground(g)?;
            if new.ground_until.is_none() {
                return Err(Error::invalid_field(
                    "ground",
                    "it needs ground_until, the restriction's end (piirangu lõpp)",
                ));
            }
        }
        if let Some(y) = new.retention_years {
            if !(1..=super::retention::MAX_YEARS).contains(&y) {
                return Err(Error::invalid_field(
                    "retention_years",
                    format!(
                        "{y}: 1-{} (säilitustähtaeg aastates)",
                        super::retention::MAX_YEARS
                    ),
                ));
            }
        }
        let today = self.today();
        let year = today.year();
        let mut tx = self.begin().await?;
        let (n,): (i64,) = sqlx::query_as(
            "INSERT INTO counters (key, value) VALUES ($1, 1) \
             ON CONFLICT (key) DO UPDATE SET value = counters.value + 1 RETURNING value",
        )
        .bind(format!("file_unit:{}/{year}", series.code))
        .fetch_one(&mut *tx)
        .await?;
        let code = format!("{}/{year}-{n}", series.code);
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO file_units (code, series, year, title, opened, r_ground, r_ends, retention_years) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&code)
        .bind(&series.code)
        .bind(title)
        .bind(today.to_string())
        .bind(&new.ground)
        .bind(new.ground_until.map(|d| d.to_string()))
        .bind(new.retention_years.map(i64::from))
        .fetch_one(&mut *tx)
        .await?;
        self.record_event_in(
            &mut tx,
            None,
            "file_unit_opened",
            serde_json::json!({"file_unit": code, "series": series.code, "title": title,
                "ground": new.ground, "ground_until": new.ground_until, "retention_years": new.retention_years}),
            actor,
        )
        .await?;
        let unit = unit_in(&mut tx, "id = $1", id.into()).await?;
        tx.commit().await?;
        unit.ok_or_else(|| Error::internal("the file unit just opened is missing"))
    }

    /// Closes a file unit: nothing more joins it (its period may then start).
    pub async fn close_file_unit(&self, code: &str, actor: &str) -> Result<FileUnit> {
        let mut tx = self.begin().await?;
        let unit = unit_in(&mut tx, "code = $1", code.into())
            .await?
            .ok_or_else(|| unknown_unit(code))?;
        if unit.closed.is_some() {
            return Err(Error::Conflict(format!(
                "toimik {code} on juba suletud (the file unit is already closed)"
            )));
        }
        let today = self.today();
        sqlx::query("UPDATE file_units SET closed = $1 WHERE id = $2")
            .bind(today.to_string())
            .bind(unit.id)
            .execute(&mut *tx)
            .await?;
        self.record_event_in(
            &mut tx,
            None,
            "file_unit_closed",
            serde_json::json!({"file_unit": code, "closed": today}),
            actor,
        )
        .await?;
        let unit = unit_in(&mut tx, "id = $1", unit.id.into()).await?;
        tx.commit().await?;
        unit.ok_or_else(|| Error::internal("the file unit just closed is missing"))
    }

    /// Moves a document into another open file unit of its series, with a reason.
    pub async fn move_to_file_unit(
        &self,
        reg_no: &str,
        code: &str,
        reason: &str,
        actor: &str,
    ) -> Result<FileUnit> {
        let reason = limits::reason(reason)?;
        let doc = self.get_by_reg_no(reg_no).await?;
        let mut tx = self.begin().await?;
        let to = unit_in(&mut tx, "code = $1", code.into())
            .await?
            .ok_or_else(|| unknown_unit(code))?;
        if to.series != doc.series {
            return Err(Error::invalid(format!(
                "dokument {reg_no} on sarjas {}, toimik {code} sarjas {} (a document moves only within its series)",
                doc.series, to.series
            )));
        }
        if to.closed.is_some() {
            return Err(Error::Conflict(format!(
                "toimik {code} on suletud (the file unit is closed)"
            )));
        }
        if self.destroyed_in(&mut tx, doc.id).await?.is_some() {
            return Err(Error::Conflict(format!(
                "dokument {reg_no} on hävitatud (the document was destroyed)"
            )));
        }
        let from: Option<(String,)> = sqlx::query_as(
            "SELECT u.code FROM doc_file_units m JOIN file_units u ON u.id = m.file_unit_id WHERE m.doc_id = $1",
        )
        .bind(doc.id)
        .fetch_optional(&mut *tx)
        .await?;
        let from = from.map(|f| f.0);
        if from.as_deref() == Some(code) {
            return Err(Error::Conflict(format!(
                "dokument {reg_no} on juba toimikus {code} (already in that file unit)"
            )));
        }
        sqlx::query("DELETE FROM doc_file_units WHERE doc_id = $1")
            .bind(doc.id)
            .execute(&mut *tx)
            .await?;
        put_in(&mut tx, doc.id, to.id).await?;
        self.inherit_restriction_in(&mut tx, doc.id, &to, actor)
            .await?;
        self.record_event_in(
            &mut tx,
            Some(doc.id),
            "file_unit_moved",
            serde_json::json!({"from": from, "to": code, "reason": reason}),
            actor,
        )
        .await?;
        tx.commit().await?;
        Ok(to)
    }

    pub async fn file_unit(&self, code: &str) -> Result<FileUnit> {
        let mut conn = self.store().pool.acquire().await?;
        let row = sqlx::query(&format!("SELECT {COLS} FROM file_units WHERE code = $1"))
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref()
            .map(unit_from_row)
            .transpose()?
            .ok_or_else(|| unknown_unit(code))
    }

    /// The file unit a document is in.
    pub async fn file_unit_of(&self, doc_id: i64) -> Result<Option<FileUnit>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM file_units u JOIN doc_file_units m ON m.file_unit_id = u.id WHERE m.doc_id = $1",
            COLS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(doc_id)
        .fetch_optional(&self.store().pool)
        .await?;
        row.as_ref().map(unit_from_row).transpose()
    }

    /// Every file unit, or a series' (by code).
    pub async fn file_units(&self, series: Option<&str>) -> Result<Vec<FileUnit>> {
        let rows = match series {
            Some(s) => {
                sqlx::query(&format!(
                    "SELECT {COLS} FROM file_units WHERE series = $1 ORDER BY series, code"
                ))
                .bind(s)
                .fetch_all(&self.store().pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLS} FROM file_units ORDER BY series, code"
                ))
                .fetch_all(&self.store().pool)
                .await?
            }
        };
        rows.iter().map(unit_from_row).collect()
    }

    /// The ids of a file unit's documents, in registration order.
    pub async fn file_unit_documents(&self, unit_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT doc_id FROM doc_file_units WHERE file_unit_id = $1 ORDER BY doc_id",
        )
        .bind(unit_id)
        .fetch_all(&self.store().pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

async fn put_in(tx: &mut Tx, doc_id: i64, unit: i64) -> Result<()> {
    sqlx::query("INSERT INTO doc_file_units (doc_id, file_unit_id) VALUES ($1, $2)")
        .bind(doc_id)
        .bind(unit)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn unknown_unit(code: &str) -> Error {
    Error::not_found(format!("tundmatu toimik {code:?} (unknown file unit)"))
}
