//! The web layer's own read queries (reports, the public register's list and
//! its fallback search). Plain SQL that runs on SQLite and PostgreSQL alike.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::error::WebResult;
use super::WebState;

/// Escapes LIKE wildcards; the pattern is used with `ESCAPE '\'`.
pub fn like_pattern(q: &str) -> String {
    let mut s = String::from("%");
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// Whose search it is: the public, a user who sees every restricted document,
/// or a user who sees only unrestricted ones and those they or their unit answer.
pub enum Scope<'a> {
    Public,
    All,
    Staff { name: &'a str, unit: &'a str },
}

/// Documents matching `q` (a database scan, newest first). The public scope
/// searches only what the public projection shows: registration number and
/// organisation names of every document, title and text of unrestricted ones.
/// A staff scope searches the content of unrestricted documents and of those
/// the user or their unit answers, so that a hit never reveals restricted content.
pub async fn scan_search(
    state: &WebState,
    q: &str,
    scope: Scope<'_>,
    limit: i64,
    offset: i64,
) -> WebResult<(Vec<i64>, i64)> {
    let today = state.today().to_string();
    let pat = like_pattern(q.trim());
    let (who, unit) = match &scope {
        Scope::Staff { name, unit } => (name.to_string(), unit.to_string()),
        _ => (String::new(), String::new()),
    };
    let content = "(LOWER(d.title) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(d.body, '')) LIKE $1 ESCAPE '\\' \
        OR LOWER(COALESCE(d.their_ref, '')) LIKE $1 ESCAPE '\\' \
        OR EXISTS (SELECT 1 FROM parties p WHERE p.doc_id = d.id AND LOWER(p.name) LIKE $1 ESCAPE '\\'))";
    let open = "(d.r_ground IS NULL OR d.r_ends < $2)";
    let listed = "(LOWER(d.reg_no) LIKE $1 ESCAPE '\\' \
        OR EXISTS (SELECT 1 FROM parties p WHERE p.doc_id = d.id AND p.kind = 'organisation' AND LOWER(p.name) LIKE $1 ESCAPE '\\'))";
    let cond = match scope {
        Scope::Public => format!(
            "({listed} OR ({open} AND (LOWER(d.title) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(d.body, '')) LIKE $1 ESCAPE '\\')) OR $3 = 'x' OR $4 = 'x')"
        ),
        Scope::All => format!("({listed} OR {content} OR $2 = 'x' OR $3 = 'x' OR $4 = 'x')"),
        Scope::Staff { .. } => format!(
            "({listed} OR (({open} OR (d.responsible = $3 AND $3 <> '') OR (d.unit = $4 AND $4 <> '')) AND {content}))"
        ),
    };
    let sql_ids = format!(
        "SELECT d.id FROM documents d WHERE {cond} ORDER BY d.id DESC LIMIT {} OFFSET {}",
        limit.max(0),
        offset.max(0)
    );
    let sql_n = format!("SELECT COUNT(*) AS n FROM documents d WHERE {cond}");
    let pool = &state.app.store.pool;
    let rows = sqlx::query(&sql_ids)
        .bind(&pat)
        .bind(&today)
        .bind(&who)
        .bind(&unit)
        .fetch_all(pool)
        .await?;
    let ids = rows
        .iter()
        .map(|r| r.try_get::<i64, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    let n: i64 = sqlx::query(&sql_n)
        .bind(&pat)
        .bind(&today)
        .bind(&who)
        .bind(&unit)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
    Ok((ids, n))
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A snippet of `text` around the first term of `q` found, escaped, with every
/// occurrence of each term wrapped in `<mark>` (case-insensitive).
pub fn snippet(text: &str, q: &str, width: usize) -> String {
    let terms: Vec<String> = q
        .split_whitespace()
        .map(|t| {
            t.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|t| !t.is_empty())
        .collect();
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let lower: Vec<char> = chars
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    let find = |t: &str, from: usize| -> Option<usize> {
        let t: Vec<char> = t.chars().collect();
        if t.is_empty() || t.len() > lower.len() {
            return None;
        }
        (from..=lower.len() - t.len()).find(|&i| lower[i..i + t.len()] == t[..])
    };
    let first = terms.iter().filter_map(|t| find(t, 0)).min().unwrap_or(0);
    let start = first.saturating_sub(width / 3);
    let end = (start + width).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut i = start;
    while i < end {
        let hit = terms.iter().find(|t| {
            let n = t.chars().count();
            i + n <= lower.len() && lower[i..i + n].iter().copied().eq(t.chars())
        });
        match hit {
            Some(t) => {
                let n = t.chars().count();
                let s: String = chars[i..i + n].iter().collect();
                out.push_str("<mark>");
                out.push_str(&esc(&s));
                out.push_str("</mark>");
                i += n;
            }
            None => {
                out.push_str(&esc(&chars[i].to_string()));
                i += 1;
            }
        }
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// One month of the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
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
                    incoming: 0,
                    outgoing: 0,
                    replied: 0,
                    restricted: 0,
                    on_time: None,
                    late: None,
                    on_time_rate: None,
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
    let mut s = String::from(
        "kuu;sissetulevad;valjaminevad;vastatud;piiratud;oigeaegselt;hilinenult;oigeaegsus\n",
    );
    for r in rows {
        let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        s.push_str(&format!(
            "{};{};{};{};{};{};{};{}\n",
            r.month,
            r.incoming,
            r.outgoing,
            r.replied,
            r.restricted,
            opt(r.on_time),
            opt(r.late),
            r.on_time_rate
                .map(|x| format!("{:.1}", x * 100.0).replace('.', ","))
                .unwrap_or_default()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn snippet_highlights_and_escapes() {
        let s = snippet(
            "Taotlus <b>hüvitise</b> saamiseks. Hüvitis makstakse.",
            "hüvitis",
            200,
        );
        assert_eq!(s.matches("<mark>").count(), 2, "{s}");
        assert!(
            s.contains("&lt;b&gt;<mark>hüvitis</mark>e&lt;/b&gt;"),
            "{s}"
        );
        assert!(s.contains("<mark>Hüvitis</mark> makstakse"), "{s}");
        let long = format!("{} otsitav {}", "a ".repeat(200), "b ".repeat(200));
        let s = snippet(&long, "otsitav", 60);
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert!(s.contains("<mark>otsitav</mark>"));
    }

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
