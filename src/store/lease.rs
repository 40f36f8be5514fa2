//! Work-queue leases: the one claim of the outbox and the OCR queue. A worker
//! claims the due rows (queued and due, or running with a lease that ran out),
//! each claim counting an attempt and holding the row until the lease ends, so
//! a crashed worker's rows are taken up again and two workers never hold one.

use sqlx::any::AnyRow;

use super::Store;
use crate::error::Result;

/// A work queue: its table, the state of a claimed row and the columns a
/// claim returns.
pub(crate) struct Queue {
    pub table: &'static str,
    pub running: &'static str,
    pub columns: &'static str,
}

/// Claims up to `limit` (1 to 1,000) due rows of `queue` for `worker` as of
/// `now` until `until` (both stored timestamps), oldest due first, in one
/// transaction; `only` narrows the pick to rows whose column equals a value
/// (an outbox channel). PostgreSQL skips the rows another worker has locked.
pub(crate) async fn claim(
    store: &Store,
    queue: &Queue,
    only: Option<(&'static str, &str)>,
    worker: &str,
    limit: i64,
    now: &str,
    until: &str,
) -> Result<Vec<AnyRow>> {
    let limit = limit.clamp(1, 1000);
    let lock = if store.is_postgres() {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let (filter, now_param) = match only {
        Some((column, _)) => (format!("{column} = $1 AND "), 2),
        None => (String::new(), 1),
    };
    let pick = format!(
        "SELECT id FROM {table} WHERE {filter}((state = 'queued' AND next_attempt_at <= ${now_param}) \
         OR (state = '{running}' AND claimed_until < ${now_param})) ORDER BY next_attempt_at, id LIMIT {limit}{lock}",
        table = queue.table,
        running = queue.running,
    );
    let mut tx = store.begin_write().await?;
    let mut q = sqlx::query_as::<_, (i64,)>(&pick);
    if let Some((_, value)) = only {
        q = q.bind(value);
    }
    let ids = q.bind(now).fetch_all(&mut *tx).await?;
    let take = format!(
        "UPDATE {table} SET state = '{running}', claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id = $3 RETURNING {columns}",
        table = queue.table,
        running = queue.running,
        columns = queue.columns,
    );
    let mut rows = Vec::with_capacity(ids.len());
    for (id,) in ids {
        rows.push(
            sqlx::query(&take)
                .bind(worker)
                .bind(until)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?,
        );
    }
    tx.commit().await?;
    Ok(rows)
}
