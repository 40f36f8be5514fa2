//! Reading the register: look-ups by number, key and reference, lists and counts.

use super::*;

impl Register {
    pub async fn find_by_source_key(&self, key: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT doc_id FROM source_keys WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.store.pool)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// The documents registered under any of `keys`, with one statement per
    /// [`MAX_PARAMS`] keys: key -> (document id, registration number); keys not
    /// registered are absent.
    pub async fn find_by_source_keys(
        &self,
        keys: &[&str],
    ) -> Result<HashMap<String, (i64, String)>> {
        let mut found = HashMap::new();
        let sqlite = !self.store.is_postgres();
        for chunk in keys.chunks(MAX_PARAMS) {
            let sql = format!(
                "SELECT s.key, s.doc_id, d.reg_no FROM source_keys s JOIN documents d ON d.id = s.doc_id WHERE s.key IN ({})",
                placeholders(sqlite, 0, chunk.len())
            );
            let rows = bind_all(sqlx::query(&sql), chunk.iter().map(|k| Value::from(*k)))
                .fetch_all(&self.store.pool)
                .await?;
            for r in &rows {
                found.insert(
                    r.try_get("key")?,
                    (r.try_get("doc_id")?, r.try_get("reg_no")?),
                );
            }
        }
        Ok(found)
    }

    pub(super) async fn fill(&self, docs: &mut [Document]) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        let mut conn = self.store.pool.acquire().await?;
        fill_on(&mut conn, docs).await
    }

    pub(super) async fn query_docs(
        &self,
        where_sql: &str,
        binds: Vec<Value>,
        tail: &str,
    ) -> Result<Vec<Document>> {
        let sql = format!("SELECT {DOC_COLS} FROM documents {where_sql} {tail}");
        let q = bind_all(sqlx::query(&sql), binds);
        let rows = q.fetch_all(&self.store.pool).await?;
        let mut docs = rows.iter().map(doc_from_row).collect::<Result<Vec<_>>>()?;
        self.fill(&mut docs).await?;
        Ok(docs)
    }

    pub async fn get(&self, id: i64) -> Result<Document> {
        self.query_docs("WHERE id = $1", vec![Value::from(id)], "")
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(format!("document {id} not found")))
    }

    /// The documents of `ids`, in that order (an id of no document is left out).
    pub async fn get_many(&self, ids: &[i64]) -> Result<Vec<Document>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let docs = self
            .query_docs(
                &format!("WHERE id IN ({})", marks.join(", ")),
                ids.iter().map(|&i| Value::from(i)).collect(),
                "",
            )
            .await?;
        let mut by_id: std::collections::HashMap<i64, Document> =
            docs.into_iter().map(|d| (d.id, d)).collect();
        Ok(ids.iter().filter_map(|i| by_id.remove(i)).collect())
    }

    /// The document with this number, or the one that had it before it moved to
    /// another series (`reg_no_aliases`).
    pub async fn find_by_reg_no(&self, reg_no: &str) -> Result<Option<Document>> {
        if let Some(d) = self
            .query_docs(
                "WHERE reg_no = $1",
                vec![Value::from(reg_no.to_string())],
                "",
            )
            .await?
            .pop()
        {
            return Ok(Some(d));
        }
        Ok(self
            .query_docs(
                "WHERE id IN (SELECT doc_id FROM reg_no_aliases WHERE reg_no = $1)",
                vec![Value::from(reg_no.to_string())],
                "",
            )
            .await?
            .pop())
    }

    pub async fn get_by_reg_no(&self, reg_no: &str) -> Result<Document> {
        self.find_by_reg_no(reg_no)
            .await?
            .ok_or_else(|| Error::not_found(format!("unknown registration number {reg_no:?}")))
    }

    pub async fn find_by_message_id(&self, message_id: &str) -> Result<Vec<Document>> {
        self.query_docs(
            "WHERE message_id = $1",
            vec![Value::from(message_id.to_string())],
            "ORDER BY id",
        )
        .await
    }

    /// The threading look-up of another party's reference: the first `limit`
    /// documents recorded with it as (id, reg_no, thread_id), oldest first, plus
    /// one in another thread when those share one. Light rows, bounded: a
    /// reference many documents share (a law's number) costs neither full loads
    /// nor a candidate list that grows with the register, and the decision
    /// (one thread or several) is the same as over all of them.
    pub async fn their_ref_candidates(
        &self,
        their_ref: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String, i64)>> {
        let mut rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, reg_no, thread_id FROM documents WHERE their_ref = $1 ORDER BY id LIMIT $2",
        )
        .bind(their_ref.to_string())
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await?;
        if rows.len() as i64 == limit && rows.iter().all(|r| r.2 == rows[0].2) {
            let other: Option<(i64, String, i64)> = sqlx::query_as(
                "SELECT id, reg_no, thread_id FROM documents WHERE their_ref = $1 AND thread_id <> $2 ORDER BY id LIMIT 1",
            )
            .bind(their_ref.to_string())
            .bind(rows[0].2)
            .fetch_optional(&self.store.pool)
            .await?;
            rows.extend(other);
        }
        Ok(rows)
    }

    pub async fn find_by_their_ref(&self, their_ref: &str) -> Result<Vec<Document>> {
        self.query_docs(
            "WHERE their_ref = $1",
            vec![Value::from(their_ref.to_string())],
            "ORDER BY id",
        )
        .await
    }

    pub async fn thread(&self, thread_id: i64) -> Result<Vec<Document>> {
        self.query_docs(
            "WHERE thread_id = $1",
            vec![Value::from(thread_id)],
            "ORDER BY id",
        )
        .await
    }

    /// The threads in which `name` is responsible for some document (their case).
    pub async fn threads_of_responsible(&self, name: &str) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT DISTINCT thread_id FROM documents WHERE responsible = $1 ORDER BY thread_id",
        )
        .bind(name.to_string())
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("thread_id").map_err(Error::from))
            .collect()
    }

    pub(super) fn filter_sql(f: &ListFilter) -> (String, Vec<Value>) {
        let (clauses, binds) = Self::filter_clauses(f, "");
        let w = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        (w, binds)
    }

    /// The list's filters as conditions on the columns of `documents`, each
    /// column prefixed with `t` (a table alias and a dot, or nothing).
    pub(super) fn filter_clauses(f: &ListFilter, t: &str) -> (Vec<String>, Vec<Value>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut binds = Vec::new();
        let mut push = |clause: &str, b: Value, binds: &mut Vec<Value>| {
            binds.push(b);
            clauses.push(clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(s) = &f.series {
            push(
                &format!("{t}series = ?"),
                Value::from(s.clone()),
                &mut binds,
            );
        }
        if let Some(d) = f.direction {
            push(
                &format!("{t}direction = ?"),
                Value::from(d.as_str()),
                &mut binds,
            );
        }
        if let Some(ty) = &f.doc_type {
            push(
                &format!("{t}doc_type = ?"),
                Value::from(ty.clone()),
                &mut binds,
            );
        }
        if let Some(r) = &f.responsible {
            push(
                &format!("{t}responsible = ?"),
                Value::from(r.clone()),
                &mut binds,
            );
        }
        if let Some(n) = f.needs_review {
            push(
                &format!("{t}needs_review = ?"),
                Value::from(i64::from(n)),
                &mut binds,
            );
        }
        if let Some(d) = f.registered_from {
            push(
                &format!("{t}registered >= ?"),
                Value::from(d.to_string()),
                &mut binds,
            );
        }
        if let Some(d) = f.registered_to {
            push(
                &format!("{t}registered <= ?"),
                Value::from(d.to_string()),
                &mut binds,
            );
        }
        if let Some(th) = f.thread_id {
            push(&format!("{t}thread_id = ?"), Value::from(th), &mut binds);
        }
        match f.restricted {
            Some(true) => clauses.push(format!("{t}r_ground IS NOT NULL")),
            Some(false) => clauses.push(format!("{t}r_ground IS NULL")),
            None => {}
        }
        (clauses, binds)
    }

    pub async fn list(&self, f: &ListFilter) -> Result<Vec<Document>> {
        match f.order.keyed() {
            Some(keyed) => self.list_keyed(f, keyed).await,
            None => self.list_by_subquery(f).await,
        }
    }

    /// A page of the list in an order by another table's key (`ListOrder::keyed`),
    /// exactly what `ListOrder::sql` gives: first the documents with a key, in
    /// key order through the key's index; when the page reaches past them, the
    /// documents without one, by id (NULLS LAST in both directions).
    ///
    /// Without filters the offset is skipped inside the index alone (covering
    /// for deadlines; an index step without reading the row for parties) and
    /// only the page's rows join their documents. With filters, the first
    /// `KEYED_WALK_MAX` keys at most are tried first: when the page is among them,
    /// the walk stops there (a filter most documents pass: "incoming", an
    /// official); otherwise the planner chooses between walking the index and
    /// sorting the filtered documents (a selective filter is served by its own
    /// index and a sort of what it matches). The documents without a key are
    /// read in id order through the partial index on their flag (`Keyed::flag`,
    /// kept by triggers). Only a page that starts past the keyed documents
    /// counts them and the others (to know where the rest begins and ends) and
    /// reads from the nearer end: a page deep among them skips at most half of
    /// the index's entries, without reading their rows.
    ///
    /// Relies on every `deadlines` and `parties` row belonging to a document
    /// (documents are never deleted: destruction keeps the metadata).
    pub(super) async fn list_keyed(&self, f: &ListFilter, k: Keyed) -> Result<Vec<Document>> {
        let d = if f.newest_first { "DESC" } else { "ASC" };
        let offset = f.offset.unwrap_or(0).max(0);
        // No limit: the largest one (SQLite needs a LIMIT for an OFFSET).
        let limit = f.limit.map_or(i64::MAX, |l| l.max(0));
        let cols = DOC_COLS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let (clauses, binds) = Self::filter_clauses(f, "d.");
        let and_filters: String = clauses.iter().map(|c| format!("{c} AND ")).collect();
        let Keyed {
            table,
            alias: a,
            key,
            has_key,
            flag,
        } = k;
        // The keyed rows in key order, as (doc_id, sort_key).
        let walk = |lim: i64, off: i64| {
            format!(
                "SELECT {a}.doc_id, {key} AS sort_key FROM {table} WHERE {has_key} \
                 ORDER BY {key} {d}, {a}.doc_id {d} LIMIT {lim} OFFSET {off}"
            )
        };
        let fetch = |sql: String, binds: Vec<Value>| async move {
            let rows = bind_all(sqlx::query(&sql), binds)
                .fetch_all(&self.store.pool)
                .await?;
            rows.iter().map(doc_from_row).collect::<Result<Vec<_>>>()
        };
        let mut docs = None;
        if clauses.is_empty() {
            docs = Some(
                fetch(
                    format!(
                        "SELECT {cols} FROM ({}) s JOIN documents d ON d.id = s.doc_id \
                         ORDER BY s.sort_key {d}, s.doc_id {d}",
                        walk(limit, offset)
                    ),
                    vec![],
                )
                .await?,
            );
        } else if limit > 0 {
            let end = offset.saturating_add(limit);
            let cap = end.saturating_mul(20).clamp(KEYED_WALK_MIN, KEYED_WALK_MAX);
            if end <= cap {
                let page = fetch(
                    format!(
                        "SELECT {cols} FROM ({}) s JOIN documents d ON d.id = s.doc_id \
                         WHERE {} ORDER BY s.sort_key {d}, s.doc_id {d} LIMIT {limit} OFFSET {offset}",
                        walk(cap, 0),
                        clauses.join(" AND ")
                    ),
                    binds.clone(),
                )
                .await?;
                // A full page among the first keys is the page (the keys after
                // them come after it); a short one may miss later keys.
                if page.len() as i64 == limit {
                    docs = Some(page);
                }
            }
        }
        let mut docs = match docs {
            Some(docs) => docs,
            None => {
                fetch(
                    format!(
                        "SELECT {cols} FROM {table} JOIN documents d ON d.id = {a}.doc_id \
                         WHERE {and_filters}{has_key} ORDER BY {key} {d}, {a}.doc_id {d} \
                         LIMIT {limit} OFFSET {offset}"
                    ),
                    binds.clone(),
                )
                .await?
            }
        };
        let rest = limit.saturating_sub(docs.len() as i64);
        if rest > 0 {
            let count = |sql: String| {
                let binds = binds.clone();
                async move {
                    let row = bind_all(sqlx::query(&sql), binds)
                        .fetch_one(&self.store.pool)
                        .await?;
                    Ok::<i64, Error>(row.try_get::<i64, _>("n")?)
                }
            };
            // The documents without a key, in id order: the partial index on
            // `flag = 0` walked (the offset skipped inside it), then only the
            // page's rows read; with filters, the planner's choice.
            let unkeyed = |dir: &str, lim: i64, off: i64| {
                if clauses.is_empty() {
                    format!(
                        "SELECT {cols} FROM (SELECT id FROM documents WHERE {flag} = 0 \
                         ORDER BY id {dir} LIMIT {lim} OFFSET {off}) s \
                         JOIN documents d ON d.id = s.id ORDER BY d.id {dir}"
                    )
                } else {
                    format!(
                        "SELECT {cols} FROM documents d WHERE {and_filters}d.{flag} = 0 \
                         ORDER BY d.id {dir} LIMIT {lim} OFFSET {off}"
                    )
                }
            };
            if docs.is_empty() && offset > 0 {
                // The page starts past the keyed documents: after `offset - keyed`
                // of the others, read from the nearer end of their id order (a
                // page near the end of the list walks only the documents after it).
                let (keyed, others) = if clauses.is_empty() {
                    (
                        count(format!("SELECT COUNT(*) AS n FROM {table} WHERE {has_key}")).await?,
                        count(format!(
                            "SELECT COUNT(*) AS n FROM documents WHERE {flag} = 0"
                        ))
                        .await?,
                    )
                } else {
                    let w = clauses.join(" AND ");
                    (
                        count(format!(
                            "SELECT COUNT(*) AS n FROM {table} JOIN documents d ON d.id = {a}.doc_id \
                             WHERE {w} AND {has_key}"
                        ))
                        .await?,
                        count(format!(
                            "SELECT COUNT(*) AS n FROM documents d WHERE {w} AND d.{flag} = 0"
                        ))
                        .await?,
                    )
                };
                let skip = offset.saturating_sub(keyed).max(0);
                let take = rest.min(others.saturating_sub(skip).max(0));
                if take > 0 {
                    let sql = if skip > others / 2 {
                        let back = if f.newest_first { "ASC" } else { "DESC" };
                        unkeyed(back, take, others - skip - take)
                    } else {
                        unkeyed(d, take, skip)
                    };
                    let mut page = fetch(sql, binds.clone()).await?;
                    if skip > others / 2 {
                        page.reverse();
                    }
                    docs.extend(page);
                }
            } else {
                docs.extend(fetch(unkeyed(d, rest, 0), binds.clone()).await?);
            }
        }
        self.fill(&mut docs).await?;
        Ok(docs)
    }

    /// The reference form of `list` for every order (`ListOrder::sql`: the
    /// correlated subqueries for `Due` and `Party`); tests compare `list` with it.
    #[doc(hidden)]
    pub async fn list_by_subquery(&self, f: &ListFilter) -> Result<Vec<Document>> {
        let (w, binds) = Self::filter_sql(f);
        let mut tail = f.order.sql(f.newest_first);
        if let Some(l) = f.limit {
            tail.push_str(&format!(" LIMIT {}", l.max(0)));
            if let Some(o) = f.offset {
                tail.push_str(&format!(" OFFSET {}", o.max(0)));
            }
        } else if let Some(o) = f.offset {
            // An offset needs a limit on SQLite; the largest one means none.
            tail.push_str(&format!(" LIMIT {} OFFSET {}", i64::MAX, o.max(0)));
        }
        self.query_docs(&w, binds, &tail).await
    }

    pub async fn count(&self, f: &ListFilter) -> Result<i64> {
        let (w, binds) = Self::filter_sql(f);
        let sql = format!("SELECT COUNT(*) AS n FROM documents {w}");
        let q = bind_all(sqlx::query(&sql), binds);
        let row = q.fetch_one(&self.store.pool).await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// A page of documents with their bodies, in id order after `after_id` (for verify and rebuilds).
    pub async fn load_page(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(Document, Option<String>)>> {
        let sql = format!(
            "SELECT {DOC_COLS}, body FROM documents WHERE id > $1 ORDER BY id LIMIT {limit}"
        );
        let rows = sqlx::query(&sql)
            .bind(after_id)
            .fetch_all(&self.store.pool)
            .await?;
        let mut docs = rows.iter().map(doc_from_row).collect::<Result<Vec<_>>>()?;
        let bodies = rows
            .iter()
            .map(|r| r.try_get::<Option<String>, _>("body"))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.fill(&mut docs).await?;
        Ok(docs.into_iter().zip(bodies).collect())
    }

    /// For each file of a document, in order: the position of the signed
    /// container it was taken from (None: a file received as such).
    pub async fn container_positions(&self, doc_id: i64) -> Result<Vec<Option<usize>>> {
        let rows: Vec<(Option<i64>,)> =
            sqlx::query_as("SELECT container_pos FROM doc_files WHERE doc_id = $1 ORDER BY pos")
                .bind(doc_id)
                .fetch_all(&self.store.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| r.0.and_then(|p| usize::try_from(p).ok()))
            .collect())
    }

    pub async fn body(&self, id: i64) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT body FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?;
        Ok(row.and_then(|r| r.0))
    }

    pub async fn file_text(&self, sha256: &str) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT text FROM file_texts WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.store.pool)
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// The text status of each file of a document, in file order: (status, note).
    pub async fn file_text_status(&self, doc_id: i64) -> Result<Vec<(TextStatus, Option<String>)>> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT text_status, text_note FROM doc_files WHERE doc_id = $1 ORDER BY pos",
        )
        .bind(doc_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(s, n)| (TextStatus::parse(&s), n))
            .collect())
    }

    pub async fn file_bytes(&self, sha256: &str) -> Result<Vec<u8>> {
        self.store.read_file(sha256).await
    }

    pub async fn events(&self, doc_id: i64) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, at, doc_id, kind, actor, detail, state_hash, prev_hash, hash FROM events WHERE doc_id = $1 ORDER BY seq",
        )
        .bind(doc_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(audit::event_from_row).collect()
    }

    /// Events after `seq` in order (the change feed), at most `limit`.
    pub async fn events_after(&self, seq: i64, limit: i64) -> Result<Vec<Event>> {
        let rows = sqlx::query(&format!(
            "SELECT seq, at, doc_id, kind, actor, detail, state_hash, prev_hash, hash FROM events WHERE seq > $1 ORDER BY seq LIMIT {limit}"
        ))
        .bind(seq)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(audit::event_from_row).collect()
    }

    /// The numbers a document had before it moved to another series (oldest first).
    pub async fn aliases(&self, id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT reg_no FROM reg_no_aliases WHERE doc_id = $1 ORDER BY reg_no")
                .bind(id)
                .fetch_all(&self.store.pool)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The documents holding a file with this SHA-256 (the clerk is told of a
    /// duplicate upload instead of registering it twice).
    pub async fn documents_with_file(&self, sha256: &str) -> Result<Vec<Document>> {
        self.query_docs(
            "WHERE id IN (SELECT doc_id FROM doc_files WHERE sha256 = $1)",
            vec![Value::from(sha256.to_ascii_lowercase())],
            "ORDER BY id",
        )
        .await
    }

    /// Restrictions ending within `days` days of `today` (still in force), soonest
    /// first, at most `limit` of them (the dashboard shows a few, the CLI many).
    pub async fn expiring(&self, today: Date, days: u32, limit: u32) -> Result<Vec<Document>> {
        if days > 36_600 {
            return Err(Error::invalid(format!(
                "päevade arv (within_days) {days} on liiga suur, kõige rohkem 36600 (at most 36600 days)"
            )));
        }
        let limit = limit.clamp(1, 10_000);
        let until = today
            .checked_add(jiff::Span::new().days(i64::from(days)))
            .map_err(|e| Error::invalid(e.to_string()))?;
        let sql = format!(
            "SELECT {DOC_COLS} FROM documents WHERE r_ground IS NOT NULL AND r_ends >= $1 AND r_ends <= $2 ORDER BY r_ends, id LIMIT {limit}"
        );
        let rows = sqlx::query(&sql)
            .bind(today.to_string())
            .bind(until.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        let mut docs = rows.iter().map(doc_from_row).collect::<Result<Vec<_>>>()?;
        self.fill(&mut docs).await?;
        Ok(docs)
    }
}

/// Loads the parties and files of `docs` on one connection (pool or transaction).
pub(super) async fn fill_on(conn: &mut sqlx::AnyConnection, docs: &mut [Document]) -> Result<()> {
    if docs.is_empty() {
        return Ok(());
    }
    let in_list = docs
        .iter()
        .map(|d| d.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let idx: std::collections::HashMap<i64, usize> =
        docs.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
    let rows = sqlx::query(&format!(
        "SELECT doc_id, kind, role, name, code, email FROM parties WHERE doc_id IN ({in_list}) ORDER BY doc_id, pos"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        if let Some(&i) = idx.get(&r.try_get::<i64, _>("doc_id")?) {
            docs[i].parties.push(party_from_row(r)?);
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT doc_id, name, media_type, size, sha256 FROM doc_files WHERE doc_id IN ({in_list}) ORDER BY doc_id, pos"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        if let Some(&i) = idx.get(&r.try_get::<i64, _>("doc_id")?) {
            docs[i].files.push(file_from_row(r)?);
        }
    }
    Ok(())
}
