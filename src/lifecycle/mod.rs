//! The records lifecycle (issue #18): file units (toimikud), retention from the
//! document list, legal holds, and disposal with a destruction act
//! (hävitamisakt, Arhiiviseadus). `retention` is pure; the rest are
//! `impl Register` blocks: only the register writes, each change with its audit
//! event in one transaction.

pub mod disposal;
pub mod file_unit;
pub mod hold;
pub mod retention;

pub use disposal::{DisposalList, DueUnit};
pub use file_unit::FileUnit;
pub use hold::{Hold, Scope};
pub use retention::{Appraisal, Period, Retention, Trigger};

use crate::error::{Error, Result};

pub(crate) fn parse_stored_date(s: &str) -> Result<jiff::civil::Date> {
    s.get(..10)
        .unwrap_or(s)
        .parse()
        .map_err(|e| Error::internal(format!("bad stored date {s:?}: {e}")))
}
