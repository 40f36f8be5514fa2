//! A signed container's structure: ASiC-E / BDOC 2.1 and ASiC-S (zip) and
//! DDOC 1.3 (XML), opened under bounds, its data files read out and every
//! signature verified by [`super::xades`] (ASiC-S time-stamp tokens here).

use std::collections::BTreeSet;
use std::io::Read;

use super::pki::{Cert, TrustStore};
use super::tokens;
use super::xades::{self, External};
use super::{Reason, SignatureReport, Status};

/// Bounds of opening one container (and those nested in it).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most zip entries of one container.
    pub max_entries: usize,
    /// Decompressed bytes read from the container and every container in it.
    pub max_decompressed: u64,
    /// Deepest nesting of containers in containers (the outer one is depth 0).
    pub max_depth: usize,
    /// Largest XML document (signatures, manifest, DDOC) parsed.
    pub max_xml_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_entries: 1_000,
            max_decompressed: 256 * 1024 * 1024,
            max_depth: 8,
            max_xml_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The container formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Format {
    #[serde(rename = "ASiC-E")]
    AsicE,
    #[serde(rename = "ASiC-S")]
    AsicS,
    #[serde(rename = "DDOC")]
    Ddoc,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::AsicE => "ASiC-E",
            Format::AsicS => "ASiC-S",
            Format::Ddoc => "DDOC",
        }
    }
}

/// A file inside a container.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// An opened container: its data files and every signature's result.
#[derive(Debug, Clone)]
pub struct Container {
    pub format: Format,
    pub data_files: Vec<DataFile>,
    pub signatures: Vec<SignatureReport>,
    /// Findings about the container itself (structure tolerated for legacy BDOC, ASiC-S rules).
    pub notes: Vec<Reason>,
    /// ASiC-S time-stamp tokens (by id) that failed but are superseded: a later
    /// archive time-stamp that holds covers both the data file and the token.
    /// Reported with their own verdict, left out of the container's.
    pub superseded: Vec<String>,
    /// Containers among the data files, opened in turn (or why not).
    pub nested: Vec<(String, Result<Container, ContainerError>)>,
}

impl Container {
    /// The container's verdict: the worst signature's (superseded time-stamp
    /// tokens left out), and indeterminate without any.
    pub fn status(&self) -> Status {
        let notes = Status::of(&self.notes);
        if self.signatures.is_empty() {
            return notes.max(Status::Indeterminate);
        }
        self.signatures
            .iter()
            .filter(|s| !self.superseded.contains(&s.id))
            .map(|s| s.status)
            .chain([notes])
            .max()
            .unwrap_or(Status::Indeterminate)
    }
}

/// Why a file is not a well-formed signed container (it is quarantined with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerError {
    #[error("fail ei ole allkirjastatud konteiner (not a signed container): {detail}")]
    NotAContainer { detail: String },
    #[error("konteineri zip on vigane (invalid zip): {detail}")]
    Zip { detail: String },
    #[error("konteineris on {count} kirjet, lubatud on {max} (too many entries)")]
    TooManyEntries { count: usize, max: usize },
    #[error("konteineri lahtipakitud maht ületab {budget} baiti (decompressed size over budget), kirje {entry}")]
    TooLarge { entry: String, budget: u64 },
    #[error("kirje {entry} on suurem kui deklareeritud (entry larger than declared)")]
    SizeLied { entry: String },
    #[error("konteinerid on üksteise sees sügavamal kui {max} taset (containers nested too deep)")]
    TooDeep { max: usize },
    #[error("kirje {entry} nimi on lubamatu (unsafe entry name)")]
    BadEntryName { entry: String },
    #[error("kirje {entry} on konteineris mitu korda (duplicate entry)")]
    DuplicateEntry { entry: String },
    #[error("mimetype-fail puudub või ei ole esimene (mimetype missing or not first)")]
    MimetypeMissing,
    #[error("mimetype-fail on pakitud, peab olema pakkimata (mimetype compressed)")]
    MimetypeCompressed,
    #[error("mimetype on {found:?}, oodati ASiC-E või ASiC-S tüüpi (wrong mimetype)")]
    MimetypeWrong { found: String },
    #[error("META-INF/manifest.xml puudub (manifest missing)")]
    ManifestMissing,
    #[error("manifest on vigane: {detail} (invalid manifest)")]
    ManifestInvalid { detail: String },
    #[error("fail {entry} on konteineris, kuid mitte manifestis (file not in the manifest)")]
    NotInManifest { entry: String },
    #[error("manifestis on fail {entry}, mida konteineris ei ole (manifest names a missing file)")]
    MissingFromManifest { entry: String },
    #[error("konteineris ei ole ühtegi andmefaili (no data file)")]
    NoDataFile,
    #[error("ASiC-S konteineris peab olema täpselt üks andmefail, on {count} (ASiC-S needs one data file)")]
    AsicsDataFiles { count: usize },
    #[error("{part} ei ole loetav XML: {detail} (unreadable XML)")]
    Xml { part: String, detail: String },
    #[error("DDOC versiooni {version} ei toetata, ainult 1.3 (unsupported DDOC version)")]
    DdocVersion { version: String },
    #[error("DDOC andmefail {id}: {detail} (invalid DDOC data file)")]
    DdocDataFile { id: String, detail: String },
}

impl ContainerError {
    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ContainerError::NotAContainer { .. } => "not_a_container",
            ContainerError::Zip { .. } => "zip_invalid",
            ContainerError::TooManyEntries { .. } => "too_many_entries",
            ContainerError::TooLarge { .. } => "decompressed_budget",
            ContainerError::SizeLied { .. } => "size_lied",
            ContainerError::TooDeep { .. } => "nested_too_deep",
            ContainerError::BadEntryName { .. } => "entry_name",
            ContainerError::DuplicateEntry { .. } => "duplicate_entry",
            ContainerError::MimetypeMissing => "mimetype_missing",
            ContainerError::MimetypeCompressed => "mimetype_compressed",
            ContainerError::MimetypeWrong { .. } => "mimetype_wrong",
            ContainerError::ManifestMissing => "manifest_missing",
            ContainerError::ManifestInvalid { .. } => "manifest_invalid",
            ContainerError::NotInManifest { .. } => "not_in_manifest",
            ContainerError::MissingFromManifest { .. } => "missing_from_manifest",
            ContainerError::NoDataFile => "no_data_file",
            ContainerError::AsicsDataFiles { .. } => "asics_data_files",
            ContainerError::Xml { .. } => "xml_invalid",
            ContainerError::DdocVersion { .. } => "ddoc_version",
            ContainerError::DdocDataFile { .. } => "ddoc_data_file",
        }
    }

    /// Bounds (bombs, nesting) end the whole outer container too.
    fn is_bound(&self) -> bool {
        matches!(
            self,
            ContainerError::TooManyEntries { .. }
                | ContainerError::TooLarge { .. }
                | ContainerError::SizeLied { .. }
                | ContainerError::TooDeep { .. }
        )
    }
}

const ASICE: &str = "application/vnd.etsi.asic-e+zip";
const ASICS: &str = "application/vnd.etsi.asic-s+zip";

/// Opens and verifies a container (see [`super::verify`]).
pub fn open(
    name: &str,
    bytes: &[u8],
    trust: &TrustStore,
    limits: &Limits,
) -> Result<Container, ContainerError> {
    let mut left = limits.max_decompressed;
    open_at(name, bytes, trust, limits, 0, &mut left)
}

fn open_at(
    name: &str,
    bytes: &[u8],
    trust: &TrustStore,
    limits: &Limits,
    depth: usize,
    left: &mut u64,
) -> Result<Container, ContainerError> {
    if depth > limits.max_depth {
        return Err(ContainerError::TooDeep {
            max: limits.max_depth,
        });
    }
    let mut c = if bytes.starts_with(b"PK\x03\x04") {
        open_zip(name, bytes, trust, limits, left)?
    } else {
        let body = trim_start(bytes);
        let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_string();
        if head.contains("<SignedDoc") {
            open_ddoc(body, trust, limits)?
        } else {
            return Err(ContainerError::NotAContainer {
                detail: format!("{name} ei ole zip ega DDOC (neither zip nor DDOC)"),
            });
        }
    };
    for f in &c.data_files {
        if super::is_container(&f.name, &f.media_type) {
            match open_at(&f.name, &f.bytes, trust, limits, depth + 1, left) {
                Err(e) if e.is_bound() => return Err(e),
                r => c.nested.push((f.name.clone(), r)),
            }
        }
    }
    Ok(c)
}

/// Leading byte-order marks and whitespace (some DDOC writers put them before the XML declaration).
fn trim_start(mut b: &[u8]) -> &[u8] {
    loop {
        if let Some(r) = b.strip_prefix(b"\xEF\xBB\xBF") {
            b = r;
        } else if let Some((c, r)) = b.split_first().filter(|(c, _)| c.is_ascii_whitespace()) {
            let _ = c;
            b = r;
        } else {
            return b;
        }
    }
}

fn safe_name(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with('/')
        && !n.contains('\\')
        && !n.split('/').any(|p| p == ".." || p == ".")
        && !n.contains('\0')
}

fn open_zip(
    name: &str,
    bytes: &[u8],
    trust: &TrustStore,
    limits: &Limits,
    left: &mut u64,
) -> Result<Container, ContainerError> {
    // BDOC 2.1 files from older software may lack a stored `mimetype` first:
    // DigiDoc tolerates that for `.bdoc`, so docgate notes it instead of refusing.
    let bdoc = name.to_ascii_lowercase().ends_with(".bdoc");
    let mut notes = Vec::new();
    let format = match mimetype_first(bytes) {
        Ok(f) => f,
        Err(e) if bdoc && !matches!(e, ContainerError::MimetypeWrong { .. }) => {
            notes.push(Reason::new(
                "bdoc_mimetype",
                Status::Indeterminate,
                format!("BDOC-konteineri struktuur ei vasta standardile: {e}; allkirjad on kontrollitud (BDOC structure tolerated)"),
            ));
            Format::AsicE
        }
        Err(e) => return Err(e),
    };
    // The central directory may carry an extended-timestamp field the zip crate
    // misreads (see `central_timestamps_set_aside`): then a copy without it is read.
    let set_aside: Vec<u8>;
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            let detail = e.to_string();
            set_aside =
                central_timestamps_set_aside(bytes, limits.max_entries).ok_or_else(|| {
                    ContainerError::Zip {
                        detail: detail.clone(),
                    }
                })?;
            zip::ZipArchive::new(std::io::Cursor::new(&set_aside[..]))
                .map_err(|_| ContainerError::Zip { detail })?
        }
    };
    if archive.len() > limits.max_entries {
        return Err(ContainerError::TooManyEntries {
            count: archive.len(),
            max: limits.max_entries,
        });
    }
    let names: Vec<String> = (0..archive.len())
        .map(|i| {
            archive
                .by_index_raw(i)
                .map(|e| e.name().to_string())
                .map_err(|e| ContainerError::Zip {
                    detail: e.to_string(),
                })
        })
        .collect::<Result<_, _>>()?;
    let mut seen = BTreeSet::new();
    // The zip reader keys entries by name, so a name given twice in the central
    // directory is looked for there.
    if let Some(dup) = duplicate_in_central_directory(bytes, limits.max_entries) {
        return Err(ContainerError::DuplicateEntry { entry: dup });
    }
    for n in &names {
        if !safe_name(n) {
            return Err(ContainerError::BadEntryName { entry: n.clone() });
        }
        if !seen.insert(n.clone()) {
            return Err(ContainerError::DuplicateEntry { entry: n.clone() });
        }
    }
    if names.first().map(String::as_str) != Some("mimetype") && notes.is_empty() {
        return Err(ContainerError::MimetypeMissing);
    }
    let mut read = |i: usize| -> Result<Vec<u8>, ContainerError> {
        let entry = archive.by_index(i).map_err(|e| ContainerError::Zip {
            detail: e.to_string(),
        })?;
        let name = entry.name().to_string();
        let declared = entry.size();
        if declared > *left {
            return Err(ContainerError::TooLarge {
                entry: name,
                budget: limits.max_decompressed,
            });
        }
        let mut buf = Vec::with_capacity(declared.min(1 << 20) as usize);
        entry
            .take(declared + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ContainerError::Zip {
                detail: format!("{name}: {e}"),
            })?;
        if buf.len() as u64 > declared {
            return Err(ContainerError::SizeLied { entry: name });
        }
        *left -= buf.len() as u64;
        Ok(buf)
    };

    let mut data_files = Vec::new();
    let mut meta: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if n.ends_with('/') || n == "mimetype" {
            continue;
        }
        if !notes.is_empty() && n.starts_with("__MACOSX/") {
            // macOS resource forks in a legacy BDOC: not part of the container.
            continue;
        }
        let b = read(i)?;
        if n.starts_with("META-INF/") {
            meta.push((n.clone(), b));
        } else {
            data_files.push(DataFile {
                media_type: crate::mime::media_type_of(n, &b).into_owned(),
                name: n.clone(),
                bytes: b,
            });
        }
    }
    if data_files.is_empty() {
        return Err(ContainerError::NoDataFile);
    }
    let manifest = meta.iter().find(|(n, _)| n == "META-INF/manifest.xml");
    match (manifest, format) {
        (None, Format::AsicE) => return Err(ContainerError::ManifestMissing),
        (Some((_, m)), _) => {
            let listed = manifest_files(m, limits)?;
            if format == Format::AsicE {
                for f in &data_files {
                    if !listed.iter().any(|(n, _)| *n == f.name) {
                        return Err(ContainerError::NotInManifest {
                            entry: f.name.clone(),
                        });
                    }
                }
                for (n, _) in &listed {
                    if !data_files.iter().any(|f| &f.name == n) {
                        return Err(ContainerError::MissingFromManifest { entry: n.clone() });
                    }
                }
            }
            for f in data_files.iter_mut() {
                if let Some((_, mt)) = listed.iter().find(|(n, _)| *n == f.name) {
                    if !mt.is_empty() {
                        f.media_type = mt.clone();
                    }
                }
            }
        }
        (None, _) => {}
    }
    if format == Format::AsicS && data_files.len() != 1 {
        // DigiDoc4j opens such files as ASiC-E: noted, not refused; but a
        // time-stamp token covers one data file, so the others would be unprotected.
        let tst = meta
            .iter()
            .any(|(n, _)| n.to_ascii_lowercase().ends_with(".tst"));
        notes.push(Reason::new(
            "asics_data_files",
            if tst {
                Status::Invalid
            } else {
                Status::Indeterminate
            },
            ContainerError::AsicsDataFiles {
                count: data_files.len(),
            }
            .to_string(),
        ));
    }
    let sig_files = meta
        .iter()
        .filter(|(n, _)| {
            let l = n.to_ascii_lowercase();
            (l.contains("signatures") && l.ends_with(".xml"))
                || l.ends_with(".p7s")
                || l == "meta-inf/timestamp.tst"
        })
        .count();
    if format == Format::AsicS && sig_files > 1 {
        notes.push(Reason::new(
            "asics_signature_files",
            Status::Invalid,
            format!("ASiC-S konteineris tohib olla üks allkirjafail, on {sig_files} (ASiC-S allows one signature file)"),
        ));
    }

    let externals: Vec<External<'_>> = data_files
        .iter()
        .map(|f| External {
            name: &f.name,
            bytes: &f.bytes,
        })
        .collect();
    let mut signatures = Vec::new();
    for (n, b) in &meta {
        let lower = n.to_ascii_lowercase();
        if lower.contains("signatures") && lower.ends_with(".xml") {
            if b.len() > limits.max_xml_bytes {
                return Err(ContainerError::Xml {
                    part: n.clone(),
                    detail: format!("üle {} baiti", limits.max_xml_bytes),
                });
            }
            let src =
                std::str::from_utf8(b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)).map_err(|e| {
                    ContainerError::Xml {
                        part: n.clone(),
                        detail: e.to_string(),
                    }
                })?;
            let mut found =
                xades::verify_document(src, &externals, &[], trust).map_err(|detail| {
                    ContainerError::Xml {
                        part: n.clone(),
                        detail,
                    }
                })?;
            if found.is_empty() {
                return Err(ContainerError::Xml {
                    part: n.clone(),
                    detail: "allkirja ei ole (no signature)".into(),
                });
            }
            signatures.append(&mut found);
        } else if lower.ends_with(".p7s") {
            signatures.push(SignatureReport {
                id: n.clone(),
                format: "CAdES".into(),
                signer: None,
                signer_code: None,
                signed_at: None,
                status: Status::Invalid,
                reasons: vec![Reason::new(
                    "cades_not_supported",
                    Status::Invalid,
                    "CAdES-allkirja ASiC-konteineris ei toetata, seda ei saa kehtivaks lugeda (CAdES signatures are not supported)".into(),
                )],
            });
        }
    }
    let mut superseded = Vec::new();
    if format == Format::AsicS {
        let (tokens, earlier) = asics_timestamps(&meta, &data_files[0], trust, limits);
        signatures.extend(tokens);
        superseded = earlier;
    }
    Ok(Container {
        format,
        data_files,
        signatures,
        notes,
        superseded,
        nested: Vec::new(),
    })
}

/// The end-of-central-directory record: (entries, central directory offset).
fn end_of_central_directory(bytes: &[u8], max: usize) -> Option<(usize, usize)> {
    let from = bytes.len().saturating_sub(65_557);
    let eocd = (from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))?;
    let count = u16::from_le_bytes([*bytes.get(eocd + 10)?, *bytes.get(eocd + 11)?]) as usize;
    let offset = bytes.get(eocd + 16..eocd + 20)?;
    let offset = u32::from_le_bytes([offset[0], offset[1], offset[2], offset[3]]) as usize;
    Some((count.min(max), offset))
}

/// Extra-field tag a set-aside timestamp field is given: no reader knows it, so it is skipped.
const SET_ASIDE_TAG: u16 = 0x4744;

/// A copy of a zip whose central directory holds an extended-timestamp ("UT",
/// 0x5455) field the zip crate refuses, with that field's tag changed so the
/// reader skips it; `None` when there is none or the directory does not walk.
///
/// Info-ZIP's extrafld.txt: in the central header the field holds the flags
/// *of the local header* and only the modification time, so `flags = 0x06,
/// TSize = 1` (access and creation time in the local header, no modification
/// time) is well formed. The zip crate (2.x; zip-rs/zip2#1001) wants TSize to
/// count every flagged time, refuses the directory and reports "Could not find
/// EOCD". DigiDoc4j writes such fields (`NoAdditionalOcspCertificate.bdoc`).
/// Only that well-formed case is set aside: a timestamp field whose length
/// contradicts the specification stays an invalid zip. docgate reads no
/// timestamp, and every other byte, the data and each structural check are the same.
fn central_timestamps_set_aside(bytes: &[u8], max: usize) -> Option<Vec<u8>> {
    let (count, mut pos) = end_of_central_directory(bytes, max)?;
    let rd16 = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let mut out = bytes.to_vec();
    let mut changed = false;
    for _ in 0..count {
        if !bytes.get(pos..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let (n, e, c) = (rd16(pos + 28)?, rd16(pos + 30)?, rd16(pos + 32)?);
        let (mut f, end) = (pos + 46 + n, pos + 46 + n + e);
        while f + 4 <= end {
            let (tag, len) = (rd16(f)?, rd16(f + 2)?);
            if f + 4 + len > end {
                return None;
            }
            if tag == 0x5455 && len >= 1 {
                let flags = *bytes.get(f + 4)?;
                let crate_reads = len == 5 || len as u32 == 1 + 4 * flags.count_ones();
                let well_formed = flags & 0xf8 == 0 && len == 1 + 4 * usize::from(flags & 1);
                if !crate_reads && well_formed {
                    out[f..f + 2].copy_from_slice(&SET_ASIDE_TAG.to_le_bytes());
                    changed = true;
                }
            }
            f += 4 + len;
        }
        pos = end + c;
    }
    changed.then_some(out)
}

/// A name that occurs twice among the central directory's entries.
fn duplicate_in_central_directory(bytes: &[u8], max: usize) -> Option<String> {
    let (count, mut pos) = end_of_central_directory(bytes, max)?;
    let rd16 = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let mut seen = BTreeSet::new();
    for _ in 0..count {
        if !bytes.get(pos..)?.starts_with(b"PK\x01\x02") {
            return None;
        }
        let (n, e, c) = (rd16(pos + 28)?, rd16(pos + 30)?, rd16(pos + 32)?);
        let name = String::from_utf8_lossy(bytes.get(pos + 46..pos + 46 + n)?).to_string();
        if !seen.insert(name.clone()) {
            return Some(name);
        }
        pos += 46 + n + e + c;
    }
    None
}

/// The format of a zip container by its `mimetype`, which must be the first
/// entry and stored; read from the first local header itself.
fn mimetype_first(bytes: &[u8]) -> Result<Format, ContainerError> {
    let u16at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (Some(method), Some(csize), Some(nlen), Some(elen)) =
        (u16at(8), u32at(18), u16at(26), u16at(28))
    else {
        return Err(ContainerError::Zip {
            detail: "lühike fail (truncated)".into(),
        });
    };
    if bytes.get(30..30 + nlen) != Some(&b"mimetype"[..]) {
        return Err(ContainerError::MimetypeMissing);
    }
    if method != 0 {
        return Err(ContainerError::MimetypeCompressed);
    }
    let start = 30 + nlen + elen;
    let mt = bytes
        .get(start..start + csize.min(256))
        .ok_or(ContainerError::Zip {
            detail: "mimetype ei mahu faili (truncated mimetype)".into(),
        })?;
    let mt = String::from_utf8_lossy(mt.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(mt)).to_string();
    match mt.as_str() {
        ASICE => Ok(Format::AsicE),
        ASICS => Ok(Format::AsicS),
        _ => Err(ContainerError::MimetypeWrong { found: mt }),
    }
}

/// The manifest's file entries (path, media type), "/" left out; a path listed
/// twice is an error.
fn manifest_files(bytes: &[u8], limits: &Limits) -> Result<Vec<(String, String)>, ContainerError> {
    let bad = |detail: String| ContainerError::ManifestInvalid { detail };
    if bytes.len() > limits.max_xml_bytes {
        return Err(bad("liiga suur (too large)".into()));
    }
    let src = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| bad(e.to_string()))?;
    let doc = xades::parse(src).map_err(bad)?;
    if doc.root_element().tag_name().name() != "manifest" {
        return Err(bad(
            "juurelement ei ole manifest (root is not manifest)".into()
        ));
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for e in doc
        .root_element()
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "file-entry")
    {
        let path = e
            .attributes()
            .find(|a| a.name() == "full-path")
            .map(|a| a.value().to_string())
            .ok_or_else(|| {
                bad("file-entry ilma full-path'ita (file-entry without full-path)".into())
            })?;
        let mt = e
            .attributes()
            .find(|a| a.name() == "media-type")
            .map(|a| a.value().to_string())
            .unwrap_or_default();
        if path == "/" {
            continue;
        }
        // Lenient like DigiDoc (`txt.html` passes), but no backslash, space or control character.
        let well_formed = mt
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '\\' | '"'));
        if !well_formed {
            return Err(bad(format!(
                "faili {path} meediatüüp {mt:?} ei ole kujul tüüp/alamtüüp (malformed media type)"
            )));
        }
        if out.iter().any(|(p, _)| *p == path) {
            return Err(bad(format!(
                "fail {path} on manifestis mitu korda (listed twice)"
            )));
        }
        out.push((path, mt));
    }
    Ok(out)
}

/// ASiC-S time-stamp tokens: `META-INF/timestamp.tst` over the data file; further
/// tokens over the ASiCArchiveManifest that names them. Returns each token's
/// report and the failed tokens a later one supersedes.
///
/// ETSI EN 319 162-1 (4.4.3, long-term ASiC-S): each new archive time-stamp
/// signs a new `ASiCArchiveManifest.xml` whose DataObjectReferences digest the
/// data file and every earlier token and manifest. Such a token that holds
/// (imprint over its manifest, every digest of the manifest, TSA signature)
/// and names the data file proves on its own that the data file existed at its
/// time. A failed token it also names is therefore superseded: still reported
/// with its own verdict and a `timestamp_superseded` note, but no longer the
/// container's verdict. Nothing heals a failure that no later holding token
/// covers, nor a later token's own failure (a wrong digest in a newer
/// manifest keeps the container invalid), nor a token no holding token names.
fn asics_timestamps(
    meta: &[(String, Vec<u8>)],
    data: &DataFile,
    trust: &TrustStore,
    _limits: &Limits,
) -> (Vec<SignatureReport>, Vec<String>) {
    let mut out = Vec::new();
    // Per token: whether it covers the data file and the files its manifest digests.
    let mut coverage: Vec<(bool, Vec<String>)> = Vec::new();
    for (n, b) in meta
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().ends_with(".tst"))
    {
        let mut reasons = Vec::new();
        let mut signed_at = None;
        let mut signer = None;
        let mut covers_data = false;
        let mut names = Vec::new();
        match tokens::parse_timestamp(b) {
            Err(e) => reasons.push(Reason::new(
                "timestamp",
                Status::Invalid,
                format!("ajatemplit ei saa lugeda: {e} (unreadable time-stamp token)"),
            )),
            Ok(tst) => {
                signed_at = Some(tst.gen_time);
                // The first token covers the data file; the others an archive manifest.
                let covered = if n == "META-INF/timestamp.tst" {
                    covers_data = tst.covers(&data.bytes);
                    covers_data
                } else {
                    archive_manifest_for(meta, n).is_some_and(|m| {
                        let ok = tst.covers(m) && archive_manifest_digests_ok(m, meta, data);
                        if ok {
                            names = archive_manifest_names(m);
                            covers_data = names.contains(&data.name);
                        }
                        ok
                    })
                };
                if !covered {
                    reasons.push(Reason::new(
                        "timestamp",
                        Status::Invalid,
                        format!("ajatempel {n} ei kata andmefaili {} (time-stamp does not cover the data file)", data.name),
                    ));
                }
                let pool: Vec<Cert> = trust.anchors.clone();
                match tst.signer(&pool).cloned() {
                    None => reasons.push(Reason::new(
                        "tsa_unknown",
                        Status::Indeterminate,
                        "ajatempli andja sertifikaati ei leitud (TSA certificate not found)".into(),
                    )),
                    Some(tsa) => {
                        signer = Some(tsa.person_name());
                        if let Err(e) = tst.signed_by(&tsa) {
                            reasons.push(Reason::new(
                                "timestamp",
                                Status::Invalid,
                                format!("ajatempli allkiri ei klapi: {e} (time-stamp signature invalid)"),
                            ));
                        }
                        if let Some(r) = super::pki::chain(&tsa, &tst.certs, trust)
                            .reason("tsa_untrusted", ("ajatempli andja", "TSA"))
                        {
                            reasons.push(r);
                        }
                        if !tsa.valid_at(tst.gen_time) {
                            reasons.push(Reason::new(
                                "timestamp",
                                Status::Invalid,
                                "ajatempli andja sertifikaat ei kehtinud ajatempli ajal (TSA certificate not valid at genTime)".into(),
                            ));
                        }
                    }
                }
            }
        }
        out.push(SignatureReport {
            id: n.clone(),
            format: "ASiC-S ajatempel (time-stamp)".into(),
            signer,
            signer_code: None,
            signed_at,
            status: Status::of(&reasons),
            reasons,
        });
        coverage.push((covers_data, names));
    }
    let mut superseded = Vec::new();
    for i in 0..out.len() {
        if out[i].status != Status::Invalid {
            continue;
        }
        let by = out.iter().zip(&coverage).find(|(later, (covers, names))| {
            later.status != Status::Invalid && *covers && names.contains(&out[i].id)
        });
        if let Some((later, _)) = by {
            let note = Reason::new(
                "timestamp_superseded",
                Status::Valid,
                format!(
                    "hilisem arhiiviajatempel {} katab andmefaili {} ja selle ajatempli; andmefaili olemasolu on tõendatud selle aja seisuga (superseded: a later archive time-stamp that holds covers the data file and this token)",
                    later.id, data.name
                ),
            );
            superseded.push(out[i].id.clone());
            out[i].reasons.push(note);
        }
    }
    (out, superseded)
}

/// The files an archive manifest's DataObjectReferences name (decoded as
/// [`archive_uri_name`] decodes them).
fn archive_manifest_names(m: &[u8]) -> Vec<String> {
    let Some(doc) = std::str::from_utf8(m)
        .ok()
        .and_then(|s| xades::parse(s).ok())
    else {
        return Vec::new();
    };
    doc.descendants()
        .filter(|e| e.tag_name().name() == "DataObjectReference")
        .map(|r| archive_uri_name(r.attribute("URI").unwrap_or("")))
        .collect()
}

/// The ASiCArchiveManifest whose SigReference names the token `tst`.
fn archive_manifest_for<'m>(meta: &'m [(String, Vec<u8>)], tst: &str) -> Option<&'m [u8]> {
    meta.iter()
        .filter(|(n, _)| n.contains("ASiCArchiveManifest"))
        .find(|(_, b)| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| {
                    xades::parse(s).ok().map(|d| {
                        d.descendants().any(|e| {
                            e.tag_name().name() == "SigReference" && e.attribute("URI") == Some(tst)
                        })
                    })
                })
                .unwrap_or(false)
        })
        .map(|(_, b)| b.as_slice())
}

/// The file an ASiCArchiveManifest URI names. A URI holding a `%` is encoded
/// and is decoded the way DigiDoc4j reads these manifests: `%XX` is a byte,
/// `+` an encoded space, and a `%` without two hex digits stays as written; a
/// URI without `%` is the name as written (`+` included). So `+%.txt` names
/// ` %.txt`, not the data file `+%.txt`, and the time-stamp does not cover it.
fn archive_uri_name(uri: &str) -> String {
    if !uri.contains('%') {
        return uri.to_string();
    }
    let b = uri.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| uri.to_string())
}

/// Every DataObjectReference of an archive manifest matches the file it names.
fn archive_manifest_digests_ok(m: &[u8], meta: &[(String, Vec<u8>)], data: &DataFile) -> bool {
    let Some(doc) = std::str::from_utf8(m)
        .ok()
        .and_then(|s| xades::parse(s).ok())
    else {
        return false;
    };
    let mut refs = 0;
    for r in doc
        .descendants()
        .filter(|e| e.tag_name().name() == "DataObjectReference")
    {
        refs += 1;
        let uri = r.attribute("URI").unwrap_or("");
        let name = archive_uri_name(uri);
        let bytes = if name == data.name {
            Some(&data.bytes[..])
        } else {
            meta.iter().find(|(n, _)| *n == name).map(|(_, b)| &b[..])
        };
        let alg = r
            .descendants()
            .find(|e| e.tag_name().name() == "DigestMethod")
            .and_then(|e| e.attribute("Algorithm"))
            .and_then(super::pki::DigestAlg::from_uri);
        let want = r
            .descendants()
            .find(|e| e.tag_name().name() == "DigestValue")
            .and_then(|e| e.text())
            .and_then(super::pki::b64);
        match (bytes, alg, want) {
            (Some(b), Some(a), Some(w)) if a.digest(b) == w => {}
            _ => return false,
        }
    }
    refs > 0
}

fn open_ddoc(
    bytes: &[u8],
    trust: &TrustStore,
    limits: &Limits,
) -> Result<Container, ContainerError> {
    let part = "DDOC".to_string();
    if bytes.len() > limits.max_xml_bytes {
        return Err(ContainerError::TooLarge {
            entry: part,
            budget: limits.max_xml_bytes as u64,
        });
    }
    let src = std::str::from_utf8(bytes).map_err(|e| ContainerError::Xml {
        part: part.clone(),
        detail: e.to_string(),
    })?;
    let doc = xades::parse(src).map_err(|detail| ContainerError::Xml {
        part: part.clone(),
        detail,
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "SignedDoc" || root.attribute("format") != Some("DIGIDOC-XML") {
        return Err(ContainerError::NotAContainer {
            detail:
                "juurelement ei ole DIGIDOC-XML SignedDoc (root is not a DIGIDOC-XML SignedDoc)"
                    .into(),
        });
    }
    let version = root.attribute("version").unwrap_or("").to_string();
    if version != "1.3" {
        return Err(ContainerError::DdocVersion { version });
    }
    let mut data_files = Vec::new();
    let mut ids = Vec::new();
    for df in root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "DataFile")
    {
        let id = df.attribute("Id").unwrap_or("").to_string();
        let bad = |detail: &str| ContainerError::DdocDataFile {
            id: id.clone(),
            detail: detail.to_string(),
        };
        if df.attribute("ContentType") != Some("EMBEDDED_BASE64") {
            return Err(bad(
                "toetatud on ainult EMBEDDED_BASE64 (only EMBEDDED_BASE64 is supported)",
            ));
        }
        let content: String = df.children().filter_map(|c| c.text()).collect();
        let decoded = super::pki::b64(&content)
            .ok_or_else(|| bad("sisu ei ole base64 (content not base64)"))?;
        if ids.contains(&id) || id.is_empty() {
            return Err(bad("Id puudub või kordub (missing or duplicate Id)"));
        }
        ids.push(id.clone());
        let name = df.attribute("Filename").unwrap_or(&id).to_string();
        data_files.push(DataFile {
            media_type: df
                .attribute("MimeType")
                .map(str::to_string)
                .unwrap_or_else(|| crate::mime::media_type_of(&name, &decoded).into_owned()),
            name,
            bytes: decoded,
        });
    }
    if data_files.is_empty() {
        return Err(ContainerError::NoDataFile);
    }
    let signatures =
        xades::verify_document(src, &[], &ids, trust).map_err(|detail| ContainerError::Xml {
            part: part.clone(),
            detail,
        })?;
    Ok(Container {
        format: Format::Ddoc,
        data_files,
        signatures,
        notes: Vec::new(),
        superseded: Vec::new(),
        nested: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::archive_uri_name;

    #[test]
    fn archive_manifest_uris_are_read_as_digidoc4j_reads_them() {
        assert_eq!(archive_uri_name("%.txt"), "%.txt");
        assert_eq!(archive_uri_name("+%.txt"), " %.txt");
        assert_eq!(archive_uri_name("with+space.txt"), "with+space.txt");
        assert_eq!(archive_uri_name("a%2Bb%20c.txt"), "a+b c.txt");
        assert_eq!(archive_uri_name("%C3%B5.txt"), "õ.txt");
    }
}
