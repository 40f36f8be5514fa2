//! Validating an e-invoice against its syntax's XSD with `xmllint`, a bounded
//! child process (through [`crate::extract::subprocess::run`]: its own process
//! group, empty environment, CPU, memory and file-size limits, a wall-clock
//! timeout).
//!
//! The schemas live under a schema directory (the repository's `schemas/`):
//!
//! - UBL 2.1: `ubl-2.1/maindoc/UBL-Invoice-2.1.xsd` (OASIS);
//! - CII D16B: `cii-d16b/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd`
//!   (UN/CEFACT, as published by the CEN/TC 434 EN 16931 validation artefacts);
//! - e-arve 1.2: none — Pangaliit's `e-invoice_ver1.2.xsd` was not found in a
//!   redistributable public source, so [`validate`] says it cannot validate.
//!
//! xmllint's error lines are made readable: the file name prefix goes, the line
//! number and the message stay, at most 50 of them.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::einvoice::Syntax;
use crate::extract::subprocess::{self, Bounds};

/// The most errors listed; the rest are counted.
pub const MAX_ERRORS: usize = 50;
/// Memory for xmllint (the UBL schemas need about 100 MB).
const XMLLINT_MEMORY: u64 = 2 * 1024 * 1024 * 1024;
/// The most error output kept from xmllint.
const MAX_ERROR_BYTES: u64 = 4 * 1024 * 1024;

/// The main XSD of a syntax, relative to the schema directory; None when
/// docgate ships none.
pub fn schema_file(syntax: Syntax) -> Option<&'static str> {
    match syntax {
        Syntax::Ubl => Some("ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"),
        Syntax::Cii => Some("cii-d16b/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd"),
        Syntax::EArve => None,
    }
}

/// Validates `xml` against the XSD of `syntax` under `schema_dir`.
///
/// Ok(empty) when it is valid, Ok(errors) when it is not (each error with its
/// line), Err(reason, Estonian then English) when it could not be validated:
/// no schema for the syntax, xmllint missing, the schema unreadable, or the
/// time limit passed.
pub fn validate(
    syntax: Syntax,
    xml: &[u8],
    schema_dir: &Path,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    let Some(rel) = schema_file(syntax) else {
        return Err(format!(
            "süntaksi {} skeemi ei ole, arvet ei saa XSD järgi kontrollida (no XSD for {}: the invoice cannot be validated)",
            syntax.as_str(),
            syntax.as_str()
        ));
    };
    let schema = schema_dir.join(rel);
    if !schema.is_file() {
        return Err(format!(
            "skeemi {} ei leitud (schema {} not found)",
            schema.display(),
            schema.display()
        ));
    }
    let schema = schema
        .to_str()
        .ok_or_else(|| "skeemi tee ei ole UTF-8 (schema path is not UTF-8)".to_string())?;
    let errors = tempfile::NamedTempFile::new().map_err(|e| {
        format!("ajutist faili ei saanud luua: {e} (cannot create a temporary file: {e})")
    })?;
    let errors_path = errors
        .path()
        .to_str()
        .ok_or_else(|| "ajutise faili tee ei ole UTF-8 (temporary path is not UTF-8)".to_string())?
        .to_string();
    // xmllint writes its findings to standard error, which the helper keeps
    // only 4 KB of: the shell sends it to a file (bounded by RLIMIT_FSIZE)
    // and reports xmllint's exit status on standard output.
    let script = r#"command -v xmllint >/dev/null 2>&1 || { echo "@@missing"; exit 0; }
xmllint --noout --nonet --schema "$1" - 2>"$2"
echo "@@exit=$?""#;
    let bounds = Bounds {
        timeout,
        max_output: 4096,
        memory: Some(XMLLINT_MEMORY),
        max_file: Some(MAX_ERROR_BYTES),
    };
    let out = subprocess::run(
        "sh",
        &["-c", script, "sh", schema, &errors_path],
        Some(xml),
        None,
        &[],
        bounds,
    )
    .map_err(|e| {
        if e.contains("took longer") {
            format!(
                "xmllint ei jõudnud {} sekundiga lõpule (xmllint did not finish in {} s)",
                timeout.as_secs(),
                timeout.as_secs()
            )
        } else {
            format!("xmllint'i ei saanud käivitada: {e} (xmllint could not be run: {e})")
        }
    })?;
    let out = String::from_utf8_lossy(&out);
    if out.contains("@@missing") {
        return Err("xmllint puudub (xmllint is not installed)".into());
    }
    let code: i32 = out
        .lines()
        .find_map(|l| l.strip_prefix("@@exit="))
        .and_then(|c| c.trim().parse().ok())
        .ok_or_else(|| {
            format!("xmllint'i väljund on arusaamatu (unexpected xmllint output): {out}")
        })?;
    let mut text = Vec::new();
    let _ = std::fs::File::open(errors.path())
        .and_then(|f| f.take(MAX_ERROR_BYTES).read_to_end(&mut text));
    let text = String::from_utf8_lossy(&text);
    match code {
        0 => Ok(Vec::new()),
        // 1: not well-formed; 3: not valid against the schema.
        1 | 3 => {
            let errors = readable_errors(&text);
            if errors.is_empty() {
                Ok(vec![format!(
                    "arve ei vasta skeemile (the invoice does not validate): {}",
                    text.lines().next().unwrap_or("").trim()
                )])
            } else {
                Ok(errors)
            }
        }
        4 | 5 => Err(format!(
            "skeemi {rel} ei saanud laadida (the schema could not be loaded): {}",
            text.lines().next().unwrap_or("").trim()
        )),
        c => Err(format!(
            "xmllint lõpetas veaga {c} (xmllint failed with status {c}): {}",
            text.lines().next().unwrap_or("").trim()
        )),
    }
}

/// xmllint's error lines (`-:12: element IssueDate: Schemas validity error :
/// Element '…': …`) as `rida 12 (line 12): Element '…': …`, at most
/// [`MAX_ERRORS`], then a count of the rest.
fn readable_errors(stderr: &str) -> Vec<String> {
    let mut errors: Vec<String> = Vec::new();
    let mut more = 0usize;
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("-:") else {
            continue;
        };
        let Some((num, msg)) = rest.split_once(':') else {
            continue;
        };
        let Ok(num) = num.trim().parse::<u64>() else {
            continue;
        };
        let msg = msg.trim();
        // "element X: Schemas validity error : Element …" → "Element …"
        let msg = ["validity error :", "parser error :"]
            .iter()
            .find_map(|k| msg.split_once(k).map(|(_, m)| m.trim()))
            .unwrap_or(msg);
        if errors.len() < MAX_ERRORS {
            errors.push(format!("rida {num} (line {num}): {msg}"));
        } else {
            more += 1;
        }
    }
    if more > 0 {
        errors.push(format!("…ja veel {more} viga (and {more} more)"));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::write::{sample, to_xml};
    use std::path::PathBuf;

    fn schemas() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
    }

    /// Validates, or reports xmllint missing (a failure when services are required).
    pub(crate) fn validate_or_skip(syntax: Syntax, xml: &[u8], dir: &Path) -> Option<Vec<String>> {
        match validate(syntax, xml, dir, Duration::from_secs(60)) {
            Err(e) if e.contains("xmllint puudub") => {
                crate::testing::missing_service("xmllint", "apt-get install libxml2-utils");
                None
            }
            r => Some(r.unwrap_or_else(|e| panic!("could not validate: {e}"))),
        }
    }

    #[test]
    fn the_sample_ubl_and_cii_invoices_are_valid() {
        for syntax in [Syntax::Ubl, Syntax::Cii] {
            let xml = to_xml(&sample(syntax));
            if let Some(errors) = validate_or_skip(syntax, xml.as_bytes(), &schemas()) {
                assert_eq!(errors, Vec::<String>::new(), "{}", xml);
            }
        }
    }

    #[test]
    fn a_ubl_invoice_without_issue_date_is_invalid() {
        let xml = to_xml(&sample(Syntax::Ubl));
        let xml: String = xml
            .lines()
            .filter(|l| !l.contains("cbc:IssueDate"))
            .collect::<Vec<_>>()
            .join("\n");
        let Some(errors) = validate_or_skip(Syntax::Ubl, xml.as_bytes(), &schemas()) else {
            return;
        };
        assert!(!errors.is_empty());
        assert!(errors[0].starts_with("rida "), "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("DueDate") || e.contains("IssueDate")),
            "{errors:?}"
        );
        assert!(errors.iter().all(|e| !e.starts_with("-:")), "{errors:?}");
    }

    #[test]
    fn a_ubl_invoice_with_a_bad_element_is_invalid() {
        let xml = to_xml(&sample(Syntax::Ubl)).replace(
            "<cbc:InvoiceTypeCode>",
            "<cbc:Kassikood>miau</cbc:Kassikood>\n  <cbc:InvoiceTypeCode>",
        );
        let Some(errors) = validate_or_skip(Syntax::Ubl, xml.as_bytes(), &schemas()) else {
            return;
        };
        assert!(errors.iter().any(|e| e.contains("Kassikood")), "{errors:?}");
    }

    #[test]
    fn not_well_formed_xml_gives_its_parser_errors() {
        let Some(errors) = validate_or_skip(Syntax::Ubl, b"<Invoice>\n<a></b>", &schemas()) else {
            return;
        };
        assert!(!errors.is_empty());
        assert!(errors.iter().any(|e| e.contains("line 2")), "{errors:?}");
    }

    #[test]
    fn no_schema_is_a_reason_not_a_verdict() {
        let e = validate(
            Syntax::EArve,
            b"<E_Invoice/>",
            &schemas(),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(e.contains("(no XSD for e-arve-1.2"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = validate(
            Syntax::Ubl,
            b"<Invoice/>",
            empty.path(),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(e.contains("not found"), "{e}");
    }

    #[test]
    fn errors_are_bounded_and_counted() {
        let stderr: String = (1..=60)
            .map(|i| format!("-:{i}: element X: Schemas validity error : Element 'X': bad {i}.\n"))
            .chain(["- fails to validate\n".to_string()])
            .collect();
        let errors = readable_errors(&stderr);
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        assert_eq!(errors[0], "rida 1 (line 1): Element 'X': bad 1.");
        assert_eq!(errors[MAX_ERRORS], "…ja veel 10 viga (and 10 more)");
    }

    #[test]
    fn schema_files_exist_where_named() {
        for s in [Syntax::Ubl, Syntax::Cii, Syntax::EArve] {
            if let Some(f) = schema_file(s) {
                assert!(schemas().join(f).is_file(), "{f}");
            }
        }
    }
}
