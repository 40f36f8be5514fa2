//! The register: the only writer of documents. Every write happens in one
//! transaction that also appends to the audit chain.
//!
//! - `write`: registration (one document or a batch, in one transaction);
//! - `edit`: metadata corrections, restrictions, audit events of later acts;
//! - `read`: look-ups and lists;
//! - `rows`: the mapping between the tables' rows and the model's types.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::limits;
use crate::model::*;
use crate::numbering::{self, Pattern};
use crate::series::SeriesList;
use crate::store::rows::{bind_all, is_sqlite, placeholders, Rows, Value, MAX_PARAMS};
use crate::store::{self, Store, Tx};

mod edit;
mod read;
mod rows;
mod write;

pub(crate) use edit::TextArrival;
use rows::*;

#[derive(Clone)]
pub struct Register {
    store: Store,
    config: Arc<Config>,
    series: Arc<SeriesList>,
    /// The agency's time zone, looked up once (it dates every registration).
    tz: jiff::tz::TimeZone,
    vocab: Vocab,
}

/// The vocabularies the register checks input against, loaded once at start.
#[derive(Clone)]
pub struct Vocab {
    pub kinds: Arc<crate::kinds::Kinds>,
    pub grounds: Arc<crate::restriction::Grounds>,
    /// The ids of the loaded deadline rules (`deadlines.rules_file` or the built-in).
    pub rules: Arc<Vec<String>>,
}

impl Vocab {
    /// Loads the configured kinds, grounds and deadline rules and checks that
    /// they agree with each other and with the document list.
    pub fn load(config: &Config, series: &SeriesList) -> Result<Vocab> {
        let kinds = crate::kinds::Kinds::load(&config.kinds_file)?;
        let grounds = crate::restriction::Grounds::load(&config.grounds_file)?;
        let rules: Vec<String> = config
            .deadlines
            .rules()?
            .all()
            .iter()
            .map(|r| r.id.clone())
            .collect();
        kinds.check_rules(|r| rules.iter().any(|x| x == r))?;
        series.check_grounds(&grounds)?;
        grounds.require(
            "ingest.personal_data_ground",
            &config.ingest.personal_data_ground,
        )?;
        Ok(Vocab {
            kinds: Arc::new(kinds),
            grounds: Arc::new(grounds),
            rules: Arc::new(rules),
        })
    }

    /// A deadline rule of the loaded rules, or an error naming the field and the valid ones.
    pub fn require_rule(&self, field: &str, id: &str) -> Result<()> {
        if self.rules.iter().any(|r| r == id) {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "tundmatu tähtaja reegel {id:?} (väli {field}); lubatud: {} (unknown deadline rule)",
                self.rules.join(", ")
            )))
        }
    }
}

/// Filters of the document list; every field is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListFilter {
    pub series: Option<String>,
    pub direction: Option<Direction>,
    pub doc_type: Option<String>,
    pub responsible: Option<String>,
    pub needs_review: Option<bool>,
    pub registered_from: Option<Date>,
    pub registered_to: Option<Date>,
    pub thread_id: Option<i64>,
    pub restricted: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// Newest first when true (the default order is oldest first); with
    /// `order`, descending.
    pub newest_first: bool,
    /// What the list is ordered by (the register page's sorting).
    pub order: ListOrder,
}

/// The orders of the document list; each breaks ties by id in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// Registration order (the id).
    #[default]
    Id,
    /// The registration number: series, then the running number (index `documents_series`).
    RegNo,
    /// The registration date (index `documents_registered`).
    Registered,
    /// The reply deadline (`deadlines.due`); documents without one last.
    Due,
    /// The first party's name as the public register shows it: natural persons
    /// all as "eraisik", so the order reveals no hidden name.
    Party,
}

impl ListOrder {
    /// The `ORDER BY` clause, descending when `desc`. For `Due` and `Party` this
    /// is the reference form (a correlated subquery, a full sort at every page);
    /// `Register::list` reads those orders through indexes instead (`keyed`)
    /// and gives exactly the documents and order this clause gives.
    pub fn sql(self, desc: bool) -> String {
        let d = if desc { "DESC" } else { "ASC" };
        match self {
            ListOrder::Id => format!("ORDER BY id {d}"),
            ListOrder::RegNo => format!("ORDER BY series {d}, id {d}"),
            ListOrder::Registered => format!("ORDER BY registered {d}, id {d}"),
            ListOrder::Due => format!(
                "ORDER BY (SELECT dl.due FROM deadlines dl WHERE dl.doc_id = documents.id) {d} NULLS LAST, id {d}"
            ),
            ListOrder::Party => format!(
                "ORDER BY (SELECT CASE WHEN p.kind = 'person' THEN 'eraisik' ELSE p.name END FROM parties p \
                 WHERE p.doc_id = documents.id ORDER BY p.pos LIMIT 1) {d} NULLS LAST, id {d}"
            ),
        }
    }

    /// For the orders by a key of another table (`Due`, `Party`): where the key
    /// is (`Keyed`). None for the orders by a column of `documents`.
    fn keyed(self) -> Option<Keyed> {
        match self {
            ListOrder::Due => Some(Keyed {
                table: "deadlines k",
                alias: "k",
                key: "k.due",
                has_key: "k.due IS NOT NULL",
                flag: "has_due",
            }),
            ListOrder::Party => Some(Keyed {
                table: "parties p",
                alias: "p",
                key: PARTY_KEY,
                has_key: "p.pos = 0",
                flag: "has_party",
            }),
            _ => None,
        }
    }
}

/// A list order by a key of another table with one row per document (at
/// most) that has it: an index on (`key`, doc_id) restricted to `has_key`
/// (migration 0018: `deadlines_due_doc`, `parties_first_sort`) yields the
/// documents with a key in key order (backwards for descending); the documents
/// without one come after them, by id (NULLS LAST in both directions), read
/// through the partial index of `documents` on `flag = 0` (migration 0022).
struct Keyed {
    /// The table and its alias, as in `FROM`.
    table: &'static str,
    alias: &'static str,
    /// The sort key, exactly the index's expression.
    key: &'static str,
    /// The condition of the rows that hold a document's key (the index's `WHERE`).
    has_key: &'static str,
    /// The column of `documents` that says whether it has a key (1) or not (0),
    /// kept by triggers from `table` (migration 0022); its partial index
    /// `documents_without_*` (`flag = 0`) lists the documents without a key.
    flag: &'static str,
}

/// With filters, the keyed list first tries the page among this many first keys
/// (20 times the page's end, within these bounds): see `Register::list_keyed`.
const KEYED_WALK_MIN: i64 = 2_000;
const KEYED_WALK_MAX: i64 = 100_000;

/// The first party's sort key: the index expression of `parties_first_sort`
/// (migration 0018), on the parties row `p`.
const PARTY_KEY: &str = "CASE WHEN p.kind = 'person' THEN 'eraisik' ELSE p.name END";

/// An edit of a document's metadata: `None` leaves a field as it is; for the
/// optional fields, `Some(None)` clears them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MetadataPatch {
    pub title: Option<String>,
    /// The public title; `Some(None)` clears it (the public then sees the masked title).
    pub public_title: Option<Option<String>>,
    pub doc_type: Option<Option<String>>,
    /// The document kind (config/document-kinds.toml).
    pub kind: Option<Option<String>>,
    pub their_ref: Option<Option<String>>,
    pub their_date: Option<Option<Date>>,
    pub received: Option<Option<Date>>,
    pub responsible: Option<Option<String>>,
    pub unit: Option<Option<String>>,
    pub parties: Option<Vec<Party>>,
    pub needs_review: Option<bool>,
    /// A new series: a thread's only document gets a new number in it, the old
    /// number kept as an alias (`reg_no_aliases`); a follow-up keeps its thread's series.
    pub series: Option<String>,
    pub direction: Option<Direction>,
    pub channel: Option<Channel>,
}

/// The hash of a document's state as the audit chain records it.
pub fn state_hash(doc: &Document, body: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(doc).unwrap_or_default());
    h.update(b"\n");
    h.update(body.unwrap_or("").as_bytes());
    hex::encode(h.finalize())
}

impl Register {
    pub fn new(
        store: Store,
        config: Arc<Config>,
        series: Arc<SeriesList>,
        vocab: Vocab,
    ) -> Register {
        let tz = config.timezone();
        Register {
            store,
            config,
            series,
            tz,
            vocab,
        }
    }

    /// The kinds, grounds and deadline rules the register checks input against.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn series(&self) -> &SeriesList {
        &self.series
    }

    pub async fn begin(&self) -> Result<Tx> {
        self.store.begin_write().await
    }

    /// The registration date of a moment: its calendar date in the agency's time zone.
    pub fn local_date(&self, ts: jiff::Timestamp) -> Date {
        ts.to_zoned(self.tz.clone()).date()
    }

    pub fn today(&self) -> Date {
        self.local_date(jiff::Timestamp::now())
    }

    /// The ground for victim data where the series has none (`ingest.personal_data_ground`).
    pub fn victim_ground(&self) -> &str {
        let g = self.config.ingest.personal_data_ground.trim();
        if g.is_empty() {
            crate::personal_data::VICTIM_DATA_GROUND
        } else {
            g
        }
    }
}

/// The kinds whose registration is the decision of a case (AvTS § 40 lg 2).
pub const DECISION_KINDS: &[&str] = &["otsus", "vastus"];

/// An extension of a restriction (AvTS § 40 lg 1).
#[derive(Debug, Clone)]
pub struct Extension {
    pub new_end: Date,
    /// The reference of the head's (lead's) decision.
    pub decision: String,
    pub reason: String,
    /// The role of the one extending (the session's, or the CLI actor's in `users`).
    pub role: crate::web::Role,
}
