//! Multi-row inserts: rows gathered in memory and written with one statement per
//! table (`INSERT ... VALUES (...), (...)`, valid on SQLite and PostgreSQL), split
//! only where SQLite's bound-parameter limit requires it.

use std::borrow::Cow;

use super::Tx;

/// SQLite's limit on bound parameters in one statement (PostgreSQL's is larger).
pub const MAX_PARAMS: usize = 32_766;

/// A value bound to a statement: an integer or a text, either possibly NULL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_string()))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        Value::Text(v)
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Value {
        Value::Text(v.clone())
    }
}

pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the values in order.
pub fn bind_all<'q>(mut q: AnyQuery<'q>, values: impl IntoIterator<Item = Value>) -> AnyQuery<'q> {
    for v in values {
        q = match v {
            Value::Int(i) => q.bind(i),
            Value::Text(s) => q.bind(s),
        };
    }
    q
}

/// The placeholders of parameters `from+1` to `from+n`: `$from+1, ..., $from+n`
/// on PostgreSQL, anonymous `?` on SQLite (sqlx looks a named SQLite parameter up
/// by scanning the statement's list of names: quadratic in a long statement).
pub fn placeholders(sqlite: bool, from: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 7);
    for i in from + 1..=from + n {
        if i > from + 1 {
            s.push_str(", ");
        }
        if sqlite {
            s.push('?');
        } else {
            s.push('$');
            s.push_str(&i.to_string());
        }
    }
    s
}

/// `head VALUES (p1, ..., pw), ..., (..., pw*rows) tail` with [`placeholders`].
pub fn values_sql(sqlite: bool, head: &str, width: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * width * 7 + 16);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        sql.push_str(&placeholders(sqlite, r * width, width));
        sql.push(')');
    }
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail);
    }
    sql
}

/// True on a SQLite connection (the placeholders differ).
pub fn is_sqlite(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME
}

/// Rows for one table, written by [`Rows::insert`].
#[derive(Debug)]
pub struct Rows {
    /// `INSERT INTO table (columns)`.
    head: Cow<'static, str>,
    /// A named table's columns, from its first row ([`Rows::push_named`]).
    columns: Vec<&'static str>,
    table: &'static str,
    width: usize,
    /// After the values, e.g. `ON CONFLICT (key) DO NOTHING`.
    tail: &'static str,
    values: Vec<Value>,
}

impl Rows {
    pub const fn new(head: &'static str, width: usize, tail: &'static str) -> Rows {
        Rows {
            head: Cow::Borrowed(head),
            columns: Vec::new(),
            table: "",
            width,
            tail,
            values: Vec::new(),
        }
    }

    /// Rows of `table` whose columns come with their values
    /// ([`Rows::push_named`]), so that the two cannot drift apart.
    pub const fn named(table: &'static str, tail: &'static str) -> Rows {
        Rows {
            head: Cow::Borrowed(""),
            columns: Vec::new(),
            table,
            width: 0,
            tail,
            values: Vec::new(),
        }
    }

    pub fn push<const N: usize>(&mut self, row: [Value; N]) {
        debug_assert_eq!(N, self.width, "a row of {}", self.head);
        self.values.extend(row);
    }

    /// Adds a row of (column, value) pairs to rows made by [`Rows::named`]:
    /// the first row names the statement's columns, and every later row must
    /// name the same ones in the same order.
    pub fn push_named<const N: usize>(&mut self, row: [(&'static str, Value); N]) {
        if self.columns.is_empty() {
            self.columns = row.iter().map(|(c, _)| *c).collect();
            self.width = N;
            self.head = Cow::Owned(format!(
                "INSERT INTO {} ({})",
                self.table,
                self.columns.join(", ")
            ));
        }
        debug_assert!(
            row.iter().map(|(c, _)| *c).eq(self.columns.iter().copied()),
            "a row of {} with other columns",
            self.table
        );
        self.values.extend(row.into_iter().map(|(_, v)| v));
    }

    /// The number of rows waiting.
    pub fn len(&self) -> usize {
        self.values.len() / self.width.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Inserts the waiting rows (in as few statements as the parameter limit allows)
    /// and returns how many rows the statements affected.
    pub async fn insert(&mut self, tx: &mut Tx) -> std::result::Result<u64, sqlx::Error> {
        let width = self.width.max(1);
        let rows = self.len();
        let per = (MAX_PARAMS / width).max(1);
        let mut values = std::mem::take(&mut self.values).into_iter();
        let mut affected = 0;
        let mut done = 0;
        while done < rows {
            let n = per.min(rows - done);
            let sql = values_sql(is_sqlite(tx), &self.head, width, n, self.tail);
            let q = bind_all(sqlx::query(&sql), values.by_ref().take(n * width));
            affected += q.execute(&mut **tx).await?.rows_affected();
            done += n;
        }
        Ok(affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_numbered_row_by_row() {
        assert_eq!(
            values_sql(
                false,
                "INSERT INTO t (a, b)",
                2,
                2,
                "ON CONFLICT (a) DO NOTHING"
            ),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(
            values_sql(true, "INSERT INTO t (a, b)", 2, 2, ""),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            values_sql(false, "INSERT INTO t (a)", 1, 1, ""),
            "INSERT INTO t (a) VALUES ($1)"
        );
    }

    #[test]
    fn named_rows_take_their_columns_from_the_first_row() {
        let mut r = Rows::named("t", "");
        assert!(r.is_empty());
        r.push_named([("a", Value::from(1)), ("b", Value::from("x"))]);
        r.push_named([("a", Value::from(2)), ("b", Value::Text(None))]);
        assert_eq!(r.len(), 2);
        assert_eq!(r.head, "INSERT INTO t (a, b)");
        assert_eq!(
            r.values,
            vec![
                Value::from(1),
                Value::from("x"),
                Value::from(2),
                Value::Text(None)
            ]
        );
    }

    #[test]
    fn placeholders_start_after_from() {
        assert_eq!(placeholders(false, 0, 3), "$1, $2, $3");
        assert_eq!(placeholders(false, 4, 2), "$5, $6");
        assert_eq!(placeholders(true, 4, 2), "?, ?");
        assert_eq!(placeholders(false, 4, 0), "");
    }

    #[test]
    fn rows_count_whole_rows() {
        let mut r = Rows::new("INSERT INTO t (a, b)", 2, "");
        assert!(r.is_empty());
        r.push([Value::from(1), Value::from("x")]);
        r.push([Value::Int(None), Value::Text(None)]);
        assert_eq!(r.len(), 2);
    }
}
