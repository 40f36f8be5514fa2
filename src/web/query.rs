//! The web layer's own read queries (reports, and what the access policy needs
//! to build a search's access: unit spellings). Plain SQL that runs on SQLite and PostgreSQL alike.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::error::WebResult;
use super::WebState;

/// One month of the report.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct MonthRow {
    pub month: String,
    pub incoming: i64,
    pub outgoing: i64,
    /// Incoming documents of the month that have a reply registered.
    pub replied: i64,
    pub restricted: i64,
    pub on_time: Option<i64>,
    pub late: Option<i64>,
    /// on_time / (on_time + late), when deadlines are known.
    pub on_time_rate: Option<f64>,
}

/// Months (YYYY-MM) from `from` to `to`, inclusive.
pub fn months_between(from: jiff::civil::Date, to: jiff::civil::Date) -> Vec<String> {
    let mut out = Vec::new();
    let mut m = from.first_of_month();
    while m <= to && out.len() < 600 {
        out.push(format!("{:04}-{:02}", m.year(), m.month()));
        m = match m.checked_add(jiff::Span::new().months(1)) {
            Ok(n) => n,
            Err(_) => break,
        };
    }
    out
}

/// The months of the period with only the on-time figures filled in: what the
/// lead's dashboard chart needs, without the report's scans of every document.
pub async fn on_time_months(
    state: &WebState,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> WebResult<Vec<MonthRow>> {
    let ot = super::integrate::on_time_by_month(state, from, to)
        .await?
        .unwrap_or_default();
    Ok(months_between(from, to)
        .into_iter()
        .map(|m| {
            let (on, late) = ot.get(&m).copied().unwrap_or((0, 0));
            MonthRow {
                month: m,
                on_time: Some(on),
                late: Some(late),
                on_time_rate: (on + late > 0).then(|| on as f64 / (on + late) as f64),
                ..MonthRow::default()
            }
        })
        .collect())
}

pub async fn monthly(
    state: &WebState,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> WebResult<Vec<MonthRow>> {
    let pool = &state.app.store.pool;
    let (f, t) = (from.to_string(), to.to_string());
    let rows = sqlx::query(
        "SELECT SUBSTR(registered, 1, 7) AS m, direction, COUNT(*) AS n, \
         CAST(SUM(CASE WHEN r_ground IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS r \
         FROM documents WHERE registered >= $1 AND registered <= $2 GROUP BY SUBSTR(registered, 1, 7), direction",
    )
    .bind(&f)
    .bind(&t)
    .fetch_all(pool)
    .await?;
    let mut by: BTreeMap<String, MonthRow> = months_between(from, to)
        .into_iter()
        .map(|m| {
            (
                m.clone(),
                MonthRow {
                    month: m,
                    ..MonthRow::default()
                },
            )
        })
        .collect();
    for r in &rows {
        let m: String = r.try_get("m")?;
        let dir: String = r.try_get("direction")?;
        let n: i64 = r.try_get("n")?;
        let rs: i64 = r.try_get("r")?;
        if let Some(row) = by.get_mut(&m) {
            match dir.as_str() {
                "incoming" => row.incoming += n,
                "outgoing" => row.outgoing += n,
                _ => {}
            }
            row.restricted += rs;
        }
    }
    let replied = sqlx::query(
        "SELECT SUBSTR(d.registered, 1, 7) AS m, COUNT(*) AS n FROM documents d \
         WHERE d.direction = 'incoming' AND d.registered >= $1 AND d.registered <= $2 \
         AND EXISTS (SELECT 1 FROM documents r WHERE r.parent_id = d.id AND r.direction = 'outgoing') \
         GROUP BY SUBSTR(d.registered, 1, 7)",
    )
    .bind(&f)
    .bind(&t)
    .fetch_all(pool)
    .await?;
    for r in &replied {
        let m: String = r.try_get("m")?;
        if let Some(row) = by.get_mut(&m) {
            row.replied = r.try_get("n")?;
        }
    }
    if let Some(ot) = super::integrate::on_time_by_month(state, from, to).await? {
        for row in by.values_mut() {
            let (on, late) = ot.get(&row.month).copied().unwrap_or((0, 0));
            row.on_time = Some(on);
            row.late = Some(late);
            row.on_time_rate = (on + late > 0).then(|| on as f64 / (on + late) as f64);
        }
    }
    Ok(by.into_values().collect())
}

/// The report as CSV (semicolon-separated, as Estonian spreadsheets expect).
pub fn monthly_csv(rows: &[MonthRow]) -> String {
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    crate::report::write_csv(
        b';',
        &[
            "kuu",
            "sissetulevad",
            "valjaminevad",
            "vastatud",
            "piiratud",
            "oigeaegselt",
            "hilinenult",
            "oigeaegsus",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.clone(),
                r.incoming.to_string(),
                r.outgoing.to_string(),
                r.replied.to_string(),
                r.restricted.to_string(),
                opt(r.on_time),
                opt(r.late),
                r.on_time_rate
                    .map(|x| format!("{:.1}", x * 100.0).replace('.', ","))
                    .unwrap_or_default(),
            ]
        }),
    )
}

/// Fills in the views' reply deadlines from the `deadlines` projection (one
/// query by primary key for the page), where the viewer may see the deadline
/// (not for a document awaiting classification).
pub async fn fill_due(state: &WebState, docs: &mut [super::view::DocView]) -> WebResult<()> {
    let ids: Vec<String> = docs
        .iter()
        .filter(|d| !d.awaiting)
        .map(|d| d.id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    // ids are integers we hold, not input
    let sql = format!(
        "SELECT doc_id, due FROM deadlines WHERE due IS NOT NULL AND doc_id IN ({})",
        ids.join(",")
    );
    let rows = sqlx::query(&sql).fetch_all(&state.app.store.pool).await?;
    let mut due: BTreeMap<i64, jiff::civil::Date> = BTreeMap::new();
    for r in &rows {
        let id: i64 = r.try_get("doc_id")?;
        let d: String = r.try_get("due")?;
        if let Ok(d) = d.parse() {
            due.insert(id, d);
        }
    }
    for d in docs.iter_mut().filter(|d| !d.awaiting) {
        d.due = due.get(&d.id).copied();
    }
    Ok(())
}

/// Every spelling of `unit` among the documents' units (units compare without
/// regard to case in the access policy; the search index compares exactly).
pub async fn unit_spellings(state: &WebState, unit: &str) -> crate::error::Result<Vec<String>> {
    let rows = sqlx::query("SELECT DISTINCT unit FROM documents WHERE unit IS NOT NULL")
        .fetch_all(&state.app.store.pool)
        .await?;
    let mut out = vec![unit.to_string()];
    for r in rows {
        let u: String = r.try_get(0)?;
        if u.eq_ignore_ascii_case(unit) && !out.contains(&u) {
            out.push(u);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_inclusive() {
        use jiff::civil::date;
        assert_eq!(
            months_between(date(2025, 11, 20), date(2026, 2, 1)),
            vec!["2025-11", "2025-12", "2026-01", "2026-02"]
        );
    }

    #[test]
    fn csv_has_header_and_rows() {
        let rows = vec![MonthRow {
            month: "2026-01".into(),
            incoming: 3,
            outgoing: 2,
            replied: 2,
            restricted: 1,
            on_time: Some(1),
            late: Some(1),
            on_time_rate: Some(0.5),
        }];
        let csv = monthly_csv(&rows);
        assert_eq!(csv.lines().count(), 2);
        assert_eq!(csv.lines().nth(1).unwrap(), "2026-01;3;2;2;1;1;1;50,0");
    }
}
