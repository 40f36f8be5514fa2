//! The tantivy schema shared by the staff and the public index (same fields, so
//! that the public index's statistics can score staff searches: see `query`).

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STORED, STRING,
};

use super::analyzer::{CODE, FOLD, TEXT};

/// Bumped whenever the schema, the analysis or a projection changes: an index of another
/// version is rebuilt.
pub const SCHEMA_VERSION: u32 = 5;

/// Kind of a staff-index document: the full document, or its masked projection
/// (the public view) that callers not allowed to see a restricted document match.
pub const KIND_FULL: &str = "full";
pub const KIND_MASKED: &str = "masked";

#[derive(Clone)]
pub struct Fields {
    pub schema: Schema,
    pub doc_id: Field,
    pub kind: Field,
    pub reg_no: Field,
    pub title_stored: Field,
    pub snip: Field,
    /// Everything a word may be found in: title, body, attachment text, parties
    /// and codes, as [`super::analyzer::TextTokenizer`] analyses them.
    pub text: Field,
    /// The title again (same tokens), for its boost.
    pub title: Field,
    pub party: Field,
    pub code: Field,
    pub series: Field,
    pub doc_type: Field,
    pub direction: Field,
    pub lang: Field,
    pub registered: Field,
    pub received: Field,
    pub restricted: Field,
    pub r_ends: Field,
    pub responsible: Field,
    pub unit: Field,
    pub thread_id: Field,
    pub facet: Field,
}

fn text(analyzer: &str, positions: bool) -> TextOptions {
    let opt = if positions {
        IndexRecordOption::WithFreqsAndPositions
    } else {
        IndexRecordOption::WithFreqs
    };
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer)
            .set_index_option(opt),
    )
}

impl Fields {
    pub fn new() -> Fields {
        let mut b = Schema::builder();
        let num = NumericOptions::default().set_indexed().set_fast();
        let doc_id = b.add_u64_field("doc_id", num.clone().set_stored());
        let kind = b.add_text_field("kind", STRING | FAST);
        let reg_no = b.add_text_field("reg_no", STRING | STORED);
        let title_stored = b.add_text_field("title_s", STORED);
        let snip = b.add_text_field("snip", STORED);
        let text_f = b.add_text_field("text", text(TEXT, true));
        let title = b.add_text_field("title", text(TEXT, true));
        let party = b.add_text_field("party", text(FOLD, true));
        let code = b.add_text_field("code", text(CODE, true));
        let series = b.add_text_field("series", STRING | FAST);
        let doc_type = b.add_text_field("doc_type", STRING | FAST);
        let direction = b.add_text_field("direction", STRING | FAST);
        let lang = b.add_text_field("lang", STRING | STORED);
        let registered = b.add_i64_field("registered", num.clone().set_stored());
        let received = b.add_i64_field("received", num.clone());
        let restricted = b.add_u64_field("restricted", num.clone().set_stored());
        let r_ends = b.add_i64_field("r_ends", num);
        let responsible = b.add_text_field("responsible", STRING | FAST);
        let unit = b.add_text_field("unit", STRING | FAST);
        let thread_id = b.add_u64_field("thread_id", INDEXED | FAST);
        let facet = b.add_facet_field("facet", tantivy::schema::FacetOptions::default());
        Fields {
            schema: b.build(),
            doc_id,
            kind,
            reg_no,
            title_stored,
            snip,
            text: text_f,
            title,
            party,
            code,
            series,
            doc_type,
            direction,
            lang,
            registered,
            received,
            restricted,
            r_ends,
            responsible,
            unit,
            thread_id,
            facet,
        }
    }
}

impl Default for Fields {
    fn default() -> Self {
        Fields::new()
    }
}

/// A date as the i64 the index keeps: YYYYMMDD.
pub fn date_key(d: jiff::civil::Date) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
}

/// The date back from [`date_key`].
pub fn key_date(k: i64) -> Option<jiff::civil::Date> {
    jiff::civil::Date::new(
        (k / 10_000) as i16,
        ((k / 100) % 100) as i8,
        (k % 100) as i8,
    )
    .ok()
}
