//! `docgate report`: statistics per series, document type and month of
//! registration, from the `deadlines` projection.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Serialize;
use sqlx::Row;

use crate::app::App;
use crate::error::Result;

/// One line of the report (a contract: these field names).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportLine {
    pub series: String,
    /// The document type (rule id); empty for documents without one.
    pub doc_type: String,
    /// YYYY-MM of registration.
    pub month: String,
    /// Incoming documents registered.
    pub received: i64,
    pub answered_on_time: i64,
    pub answered_late: i64,
    /// Still open and past the due date on `as_of`.
    pub open_overdue: i64,
    /// Median working days from the base date to the reply, of those answered.
    pub median_working_days_to_reply: Option<f64>,
    /// Documents (any direction) registered after the next working day (AvTS § 12(1)).
    pub registered_late: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub from: Date,
    pub to: Date,
    pub as_of: Date,
    pub lines: Vec<ReportLine>,
    /// Invoice spend per provider, service and month (of the invoice's date)
    /// against the referrals behind it (src/invoice/); rejected invoices left out.
    pub spend: Vec<crate::invoice::SpendRow>,
}

/// Answered deadlines per month of registration, "YYYY-MM" → (on time, late):
/// the lead's on-time chart. Reads only the answered rows of the period (an
/// index range on `deadlines (state, registered, on_time)`).
pub async fn on_time_by_month(
    app: &App,
    from: Date,
    to: Date,
) -> Result<BTreeMap<String, (i64, i64)>> {
    let rows = sqlx::query(
        "SELECT substr(registered, 1, 7) AS month,
            CAST(SUM(CASE WHEN on_time = 1 THEN 1 ELSE 0 END) AS BIGINT) AS on_time,
            CAST(SUM(CASE WHEN on_time = 0 THEN 1 ELSE 0 END) AS BIGINT) AS late
         FROM deadlines WHERE state = 'ended' AND registered >= $1 AND registered <= $2
         GROUP BY substr(registered, 1, 7)",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&app.store.pool)
    .await?;
    let mut out = BTreeMap::new();
    for r in rows {
        out.insert(
            r.try_get::<String, _>("month")?,
            (
                r.try_get::<i64, _>("on_time")?,
                r.try_get::<i64, _>("late")?,
            ),
        );
    }
    Ok(out)
}

/// Builds the report over documents registered from `from` to `to` (inclusive).
pub async fn build(app: &App, from: Date, to: Date, as_of: Date) -> Result<Report> {
    let sql =
        "SELECT series, COALESCE(doc_type, '') AS doc_type, substr(registered, 1, 7) AS month,
        CAST(SUM(CASE WHEN direction = 'incoming' THEN 1 ELSE 0 END) AS BIGINT) AS received,
        CAST(SUM(CASE WHEN state = 'ended' AND on_time = 1 THEN 1 ELSE 0 END) AS BIGINT) AS on_time,
        CAST(SUM(CASE WHEN state = 'ended' AND on_time = 0 THEN 1 ELSE 0 END) AS BIGINT) AS late,
        CAST(SUM(CASE WHEN state = 'open' AND due < $3 THEN 1 ELSE 0 END) AS BIGINT) AS overdue,
        CAST(SUM(registered_late) AS BIGINT) AS reg_late
        FROM deadlines WHERE registered >= $1 AND registered <= $2
        GROUP BY series, COALESCE(doc_type, ''), substr(registered, 1, 7)
        ORDER BY series, COALESCE(doc_type, ''), substr(registered, 1, 7)";
    let rows = sqlx::query(sql)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(as_of.to_string())
        .fetch_all(&app.store.pool)
        .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        lines.push(ReportLine {
            series: r.try_get("series")?,
            doc_type: r.try_get("doc_type")?,
            month: r.try_get("month")?,
            received: r.try_get("received")?,
            answered_on_time: r.try_get("on_time")?,
            answered_late: r.try_get("late")?,
            open_overdue: r.try_get("overdue")?,
            median_working_days_to_reply: None,
            registered_late: r.try_get("reg_late")?,
        });
    }
    // Medians from a histogram (days to reply are small integers).
    let hist = sqlx::query(
        "SELECT series, COALESCE(doc_type, '') AS doc_type, substr(registered, 1, 7) AS month, days_to_reply AS d, COUNT(*) AS n
         FROM deadlines WHERE registered >= $1 AND registered <= $2 AND days_to_reply IS NOT NULL
         GROUP BY series, COALESCE(doc_type, ''), substr(registered, 1, 7), days_to_reply",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&app.store.pool)
    .await?;
    let mut by_key: BTreeMap<(String, String, String), Vec<(i64, i64)>> = BTreeMap::new();
    for r in hist {
        by_key
            .entry((
                r.try_get("series")?,
                r.try_get("doc_type")?,
                r.try_get("month")?,
            ))
            .or_default()
            .push((r.try_get("d")?, r.try_get("n")?));
    }
    for l in &mut lines {
        if let Some(h) = by_key.get_mut(&(l.series.clone(), l.doc_type.clone(), l.month.clone())) {
            l.median_working_days_to_reply = median_of_histogram(h);
        }
    }
    Ok(Report {
        from,
        to,
        as_of,
        lines,
        spend: app.register.spend(from, to).await?,
    })
}

/// What a [`breakdown`] groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Series,
    /// The document type (the rule id; empty for documents without one).
    DocType,
    /// The responsible official's login (empty: unassigned).
    Official,
}

impl By {
    fn column(self) -> &'static str {
        match self {
            By::Series => "series",
            By::DocType => "COALESCE(doc_type, '')",
            By::Official => "COALESCE(responsible, '')",
        }
    }
}

/// One group of a [`breakdown`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupLine {
    /// The series code, rule id or login ("" for none).
    pub key: String,
    /// Documents registered (any direction).
    pub registered: i64,
    /// Incoming documents registered.
    pub received: i64,
    pub answered_on_time: i64,
    pub answered_late: i64,
    /// Still open and past the due date on `as_of`.
    pub open_overdue: i64,
}

/// The period's figures per series, document type or official, from the
/// `deadlines` projection (one grouped scan of the period's index range).
pub async fn breakdown(
    app: &App,
    from: Date,
    to: Date,
    as_of: Date,
    by: By,
) -> Result<Vec<GroupLine>> {
    let col = by.column();
    let sql = format!(
        "SELECT {col} AS k, CAST(COUNT(*) AS BIGINT) AS n,
        CAST(SUM(CASE WHEN direction = 'incoming' THEN 1 ELSE 0 END) AS BIGINT) AS received,
        CAST(SUM(CASE WHEN state = 'ended' AND on_time = 1 THEN 1 ELSE 0 END) AS BIGINT) AS on_time,
        CAST(SUM(CASE WHEN state = 'ended' AND on_time = 0 THEN 1 ELSE 0 END) AS BIGINT) AS late,
        CAST(SUM(CASE WHEN state = 'open' AND due < $3 THEN 1 ELSE 0 END) AS BIGINT) AS overdue
        FROM deadlines WHERE registered >= $1 AND registered <= $2
        GROUP BY {col} ORDER BY {col}"
    );
    let rows = sqlx::query(&sql)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(as_of.to_string())
        .fetch_all(&app.store.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(GroupLine {
                key: r.try_get("k")?,
                registered: r.try_get("n")?,
                received: r.try_get("received")?,
                answered_on_time: r.try_get("on_time")?,
                answered_late: r.try_get("late")?,
                open_overdue: r.try_get("overdue")?,
            })
        })
        .collect()
}

/// The median of values given as (value, count) pairs.
pub fn median_of_histogram(h: &mut [(i64, i64)]) -> Option<f64> {
    h.sort();
    let total: i64 = h.iter().map(|x| x.1).sum();
    if total == 0 {
        return None;
    }
    let nth = |k: i64| -> i64 {
        let mut seen = 0;
        for (v, n) in h.iter() {
            seen += n;
            if seen > k {
                return *v;
            }
        }
        h.last().map(|x| x.0).unwrap_or(0)
    };
    if total % 2 == 1 {
        Some(nth(total / 2) as f64)
    } else {
        Some((nth(total / 2 - 1) + nth(total / 2)) as f64 / 2.0)
    }
}

/// CSV text of a header and rows (the `csv` crate: a field is quoted only when
/// it holds the delimiter, a quote or a line break); `delimiter` `,` for the
/// command line, `;` for the spreadsheet download of the web reports page.
pub fn write_csv<R, F>(delimiter: u8, header: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<[u8]>,
{
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    // Writing into memory cannot fail; a field is bytes, never refused.
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(&r);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// The report as CSV (header + one line per group).
pub fn to_csv(r: &Report) -> String {
    write_csv(
        b',',
        &[
            "series",
            "doc_type",
            "month",
            "received",
            "answered_on_time",
            "answered_late",
            "open_overdue",
            "median_working_days_to_reply",
            "registered_late",
        ],
        r.lines.iter().map(|l| {
            vec![
                l.series.clone(),
                l.doc_type.clone(),
                l.month.clone(),
                l.received.to_string(),
                l.answered_on_time.to_string(),
                l.answered_late.to_string(),
                l.open_overdue.to_string(),
                l.median_working_days_to_reply
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                l.registered_late.to_string(),
            ]
        }),
    )
}

/// The spend rows as CSV (`report --spend`).
pub fn spend_csv(rows: &[crate::invoice::SpendRow]) -> String {
    write_csv(
        b',',
        &[
            "month",
            "provider",
            "provider_code",
            "service",
            "invoices",
            "units",
            "amount",
            "referred_units",
            "referred_limit",
        ],
        rows.iter().map(|r| {
            vec![
                r.month.clone(),
                r.provider.clone(),
                r.provider_code.clone(),
                r.service.clone(),
                r.invoices.to_string(),
                r.units.normalize().to_string(),
                format!("{:.2}", r.amount.round_dp(2)),
                r.referred_units.normalize().to_string(),
                r.referred_limit
                    .map(|l| format!("{:.2}", l.round_dp(2)))
                    .unwrap_or_default(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median_of_histogram(&mut []), None);
        assert_eq!(median_of_histogram(&mut [(3, 1)]), Some(3.0));
        assert_eq!(median_of_histogram(&mut [(5, 1), (1, 1)]), Some(3.0));
        assert_eq!(
            median_of_histogram(&mut [(2, 3), (9, 1), (1, 1)]),
            Some(2.0)
        );
    }

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let out = write_csv(
            b',',
            &["a", "b"],
            vec![
                vec!["9-13".to_string(), "x,y".to_string()],
                vec!["say \"hi\"".to_string(), "two\nlines".to_string()],
            ],
        );
        assert_eq!(
            out,
            "a,b\n9-13,\"x,y\"\n\"say \"\"hi\"\"\",\"two\nlines\"\n"
        );
        assert_eq!(write_csv(b';', &["k"], vec![vec!["1,5"]]), "k\n1,5\n");
    }
}
