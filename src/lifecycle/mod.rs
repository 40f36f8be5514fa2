//! The records lifecycle (issue #18): file units (toimikud), retention from the
//! document list, legal holds, and disposal with a destruction act
//! (hävitamisakt, Arhiiviseadus), archival transfer as an E-ARK SIP
//! (`transfer`, `sip`), and a person's data export (`subject`, GDPR Art. 15). `retention` is pure; the rest are
//! `impl Register` blocks: only the register writes, each change with its audit
//! event in one transaction.

pub mod disposal;
pub mod file_unit;
pub mod hold;
pub mod retention;
pub mod sip;
pub mod subject;
pub mod transfer;

pub use disposal::{DisposalList, DueUnit};
pub use file_unit::FileUnit;
pub use hold::{Hold, Scope};
pub use retention::{Appraisal, Period, Retention, Trigger};
pub use subject::SubjectExport;
pub use transfer::{Exported, Transfer};

use crate::error::{Error, Result};

pub(crate) fn parse_stored_date(s: &str) -> Result<jiff::civil::Date> {
    s.get(..10)
        .unwrap_or(s)
        .parse()
        .map_err(|e| Error::internal(format!("bad stored date {s:?}: {e}")))
}
