//! Signed containers: ASiC-E (and BDOC 2.1), ASiC-S and DDOC 1.3 (read-only),
//! opened and verified offline. Pure: bytes and a trust store in, a report out.
//!
//! - [`container`]: the container's structure (zip bounded like office files:
//!   entries, decompressed budget, declared sizes, nesting depth), `mimetype`,
//!   the manifest against the files, the data files; a broken structure is a
//!   [`ContainerError`], which ingest and the register turn into quarantine.
//! - [`xades`]: each XAdES / DigiDoc signature: references, SignedProperties,
//!   signature value, signing certificate, chain, OCSP, time-stamp.
//! - [`c14n`]: the canonicalizations those signatures use, over a roxmltree tree.
//! - [`pki`]: certificates (x509-parser), signature checks (ring), chains, trust store.
//! - [`tokens`], [`der`]: OCSP responses and RFC 3161 time-stamp tokens.

pub mod c14n;
pub mod container;
pub mod der;
pub mod pki;
pub mod tokens;
pub mod xades;

pub use container::{open, Container, ContainerError, DataFile, Format, Limits};
pub use pki::TrustStore;

use serde::{Deserialize, Serialize};

/// The `[signatures]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignaturesConfig {
    /// The trust store: a directory of CA, OCSP-responder and time-stamping
    /// certificates (PEM or DER). Empty: no anchors (no signature is valid).
    pub trust_dir: std::path::PathBuf,
}

impl SignaturesConfig {
    /// At start: a configured directory exists and holds at least one certificate.
    pub fn validate(&self) -> crate::error::Result<()> {
        if self.trust_dir.as_os_str().is_empty() {
            return Ok(());
        }
        let store = self.trust_store()?;
        if store.anchors.is_empty() {
            return Err(crate::error::Error::invalid(format!(
                "invalid signatures.trust_dir {}: it holds no certificate (usaldusankrute kataloogis ei ole ühtegi sertifikaati)",
                self.trust_dir.display()
            )));
        }
        Ok(())
    }

    /// The configured trust store (empty without `trust_dir`). Blocking: reads the directory.
    pub fn trust_store(&self) -> crate::error::Result<TrustStore> {
        if self.trust_dir.as_os_str().is_empty() {
            return Ok(TrustStore::default());
        }
        TrustStore::from_dir(&self.trust_dir).map_err(|e| {
            crate::error::Error::invalid(format!(
                "invalid signatures.trust_dir {}: {e} (usaldusankrute kataloogi ei saa lugeda)",
                self.trust_dir.display()
            ))
        })
    }
}

/// A signature's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Indeterminate,
    Invalid,
}

impl Status {
    /// The verdict of a list of reasons: the worst of them, valid without any.
    pub fn of(reasons: &[Reason]) -> Status {
        reasons
            .iter()
            .map(|r| r.severity)
            .max()
            .unwrap_or(Status::Valid)
    }

    /// Estonian word for the page.
    pub fn estonian(self) -> &'static str {
        match self {
            Status::Valid => "kehtiv",
            Status::Indeterminate => "otsustamatu",
            Status::Invalid => "kehtetu",
        }
    }
}

/// Why a signature is not valid: a stable machine code and an Estonian message
/// (English in parentheses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    #[serde(skip)]
    pub severity: Status,
    pub message: String,
}

impl Reason {
    pub fn new(code: &'static str, severity: Status, message: String) -> Reason {
        Reason {
            code,
            severity,
            message,
        }
    }
}

/// One signature's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignatureReport {
    /// The signature's `Id` (or the token's name).
    pub id: String,
    /// `BDOC-TM`, `XAdES-BASELINE-LT`, `DIGIDOC-XML 1.3`, `ASiC-S time-stamp`, …
    pub format: String,
    pub signer: Option<String>,
    /// The signer's personal code (from the certificate's serialNumber): personal data.
    pub signer_code: Option<String>,
    /// The proven signing time (time-stamp, or OCSP for a time mark), else the claimed one.
    pub signed_at: Option<jiff::Timestamp>,
    pub status: Status,
    pub reasons: Vec<Reason>,
}

/// Opens `bytes` as a signed container and verifies every signature in it and
/// in the containers nested in it.
pub fn verify(name: &str, bytes: &[u8], trust: &TrustStore) -> Result<Container, ContainerError> {
    container::open(name, bytes, trust, &Limits::default())
}

/// Whether a file looks like a signed container by name or media type.
pub fn is_container(name: &str, media_type: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        ".asice", ".sce", ".bdoc", ".asics", ".scs", ".ddoc", ".edoc",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
        || matches!(
            media_type,
            "application/vnd.etsi.asic-e+zip"
                | "application/vnd.etsi.asic-s+zip"
                | "application/x-ddoc"
        )
}

/// The text of a container for search and the personal-code scan: each
/// signer's name and personal code. The data files are files of the document
/// of their own, with their own text ([`open_files`], which the register calls
/// for every container it registers). Signatures are not judged here (no trust
/// store): `docgate` verifies them against the configured anchors separately.
/// Blocking: call inside [`crate::extract::isolated`].
pub fn container_text(
    name: &str,
    bytes: &[u8],
    _opts: &crate::extract::TextOptions,
) -> crate::extract::FileText {
    use crate::extract::FileText;
    match verify(name, bytes, &TrustStore::default()) {
        Ok(c) => own_text(&c),
        Err(e) => {
            FileText::not_extracted(format!("allkirjastatud konteinerit ei saanud avada: {e}"))
        }
    }
}

/// A container's own text: its signers (with their personal codes), and a
/// note naming the format and the counts.
fn own_text(c: &Container) -> crate::extract::FileText {
    let mut out = String::new();
    for s in &c.signatures {
        if let Some(n) = &s.signer {
            out.push_str(&format!("Allkirjastaja: {n}"));
            if let Some(code) = &s.signer_code {
                out.push_str(&format!(", isikukood {code}"));
            }
            out.push('\n');
        }
    }
    let note = Some(format!(
        "{} konteiner: {} andmefaili, {} allkirja",
        c.format.label(),
        c.data_files.len(),
        c.signatures.len()
    ));
    if out.is_empty() {
        crate::extract::FileText {
            text: None,
            status: crate::model::TextStatus::NoText,
            note,
        }
    } else {
        crate::extract::FileText::extracted(out, note)
    }
}

/// A container opened for registration: its own text and each data file with
/// its own text.
#[derive(Debug)]
pub struct Opened {
    pub text: crate::extract::FileText,
    pub data_files: Vec<(DataFile, crate::extract::FileText)>,
}

/// Opens a container for registration: the container's own text (the
/// signers) and every data file with its text by [`crate::extract::file_text`]
/// (a container among them gets its own signers' text; its data files stay in
/// it). A broken structure is the [`ContainerError`] the caller quarantines.
/// Blocking: call inside [`crate::extract::isolated`].
pub fn open_files(
    name: &str,
    bytes: &[u8],
    opts: &crate::extract::TextOptions,
) -> Result<Opened, ContainerError> {
    let c = verify(name, bytes, &TrustStore::default())?;
    let text = own_text(&c);
    let data_files = c
        .data_files
        .into_iter()
        .map(|mut f| {
            let mt = f.media_type.trim().to_ascii_lowercase();
            if mt.is_empty() || mt == "application/octet-stream" {
                f.media_type = crate::mime::media_type_of(&f.name, &f.bytes).into_owned();
            }
            let t = crate::extract::file_text(&f.name, &f.media_type, &f.bytes, opts);
            (f, t)
        })
        .collect();
    Ok(Opened { text, data_files })
}

/// One line of `docgate signatures`: a signature (or a container that could not
/// be opened) of a document's file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The document's file (the container as stored).
    pub file: String,
    /// The container inside it the signature belongs to ("" for the file itself).
    pub container: String,
    pub format: String,
    pub signer: Option<String>,
    /// Personal data: shown only to those who see the document in full.
    pub signer_code: Option<String>,
    pub signed_at: Option<jiff::Timestamp>,
    pub status: Status,
    pub reasons: Vec<Reason>,
}

/// The rows of a verified (or refused) container and of the containers in it.
pub fn rows(file: &str, container: &str, r: &Result<Container, ContainerError>) -> Vec<Row> {
    match r {
        Err(e) => vec![Row {
            file: file.to_string(),
            container: container.to_string(),
            format: String::new(),
            signer: None,
            signer_code: None,
            signed_at: None,
            status: Status::Invalid,
            reasons: vec![Reason::new(e.code(), Status::Invalid, e.to_string())],
        }],
        Ok(c) => {
            let mut out: Vec<Row> = c
                .signatures
                .iter()
                .map(|s| {
                    let mut reasons = c.notes.clone();
                    reasons.extend(s.reasons.iter().cloned());
                    Row {
                        file: file.to_string(),
                        container: container.to_string(),
                        format: format!("{} {}", c.format.label(), s.format),
                        signer: s.signer.clone(),
                        signer_code: s.signer_code.clone(),
                        signed_at: s.signed_at,
                        status: s.status.max(Status::of(&c.notes)),
                        reasons,
                    }
                })
                .collect();
            for (n, inner) in &c.nested {
                let path = if container.is_empty() {
                    n.clone()
                } else {
                    format!("{container}/{n}")
                };
                out.extend(rows(file, &path, inner));
            }
            out
        }
    }
}
