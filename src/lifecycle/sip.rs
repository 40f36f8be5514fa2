//! The E-ARK SIP (CSIP/SIP 2.1) of an archival transfer, as pure functions
//! from the package's model to its XML files: the root `METS.xml`, the
//! representation's `METS.xml`, EAD3 (`metadata/descriptive/ead.xml`: the
//! series, its file units and their documents) and PREMIS 3
//! (`metadata/preservation/premis.xml`: every file's SHA-256 fixity and the
//! documents' audit events). `transfer.rs` gathers the model and writes the
//! files; checksums of the generated files are computed here.
//!
//! Both METS files carry the structural map file unit → document → file
//! (under the representation's division in the root, so that every CSIP rule
//! of the structural map holds).

use std::fmt::Write;

use jiff::civil::Date;
use sha2::{Digest, Sha256};

use crate::model::{Document, Event};

/// Each file group's content information type. (CSIP63 as eark-validator
/// checks it holds only for "OTHER" with its specification named.)
const CIT: &str = r#" csip:CONTENTINFORMATIONTYPE="OTHER" csip:OTHERCONTENTINFORMATIONTYPE="docgate register records""#;
pub const PROFILE: &str = "https://earksip.dilcis.eu/profile/E-ARK-SIP.xml";
const NS: &str = r#"xmlns:mets="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:csip="https://DILCIS.eu/XML/METS/CSIPExtensionMETS" xmlns:sip="https://DILCIS.eu/XML/METS/SIPExtensionMETS""#;

/// The METS and XLink schemas the package's METS files use (CC0, Library of
/// Congress / DLF), shipped in the package's `schemas/` folder.
pub const METS_XSD: &str = include_str!("../../schemas/eark/mets.xsd");
pub const XLINK_XSD: &str = include_str!("../../schemas/eark/xlink.xsd");

/// A file of a document in the package.
#[derive(Debug, Clone)]
pub struct SipFile {
    /// The METS file id (`f-1`, …).
    pub id: String,
    /// Path inside the representation (`data/…`).
    pub rep_path: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone)]
pub struct SipDoc {
    pub doc: Document,
    pub files: Vec<SipFile>,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone)]
pub struct SipUnit {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub opened: Date,
    pub closed: Option<Date>,
    /// The unit's own restriction in words, if it has one.
    pub restriction: Option<String>,
    pub docs: Vec<SipDoc>,
}

#[derive(Debug, Clone)]
pub struct Sip {
    /// The package's name: its folder and the METS OBJID.
    pub package: String,
    pub created: jiff::Timestamp,
    pub agency: String,
    pub agency_code: String,
    pub series_code: String,
    pub series_title: String,
    /// The series' retention and appraisal in words.
    pub retention: String,
    pub units: Vec<SipUnit>,
    /// The handover-acceptance act, when this export is a transfer.
    pub act: Option<String>,
}

/// A generated file of the package: its path from the package root and bytes.
#[derive(Debug, Clone)]
pub struct Generated {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl Generated {
    fn new(path: &str, text: String) -> Generated {
        Generated {
            path: path.into(),
            bytes: text.into_bytes(),
        }
    }
    fn sha256(&self) -> String {
        hex(&Sha256::digest(&self.bytes))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// XML text: escaped, with the characters XML 1.0 forbids dropped.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => o.push(c),
        }
    }
    o
}

/// A safe path segment: ASCII letters, digits, `.`, `-` and `_`, at most 100
/// characters (a registration number `9-13/5-1` becomes `9-13_5-1`).
pub fn segment(s: &str) -> String {
    let mut o: String = s
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            'ä' | 'Ä' => 'a',
            'õ' | 'Õ' | 'ö' | 'Ö' => 'o',
            'ü' | 'Ü' => 'u',
            'š' | 'Š' => 's',
            'ž' | 'Ž' => 'z',
            _ => '_',
        })
        .take(100)
        .collect();
    if o.trim_matches('.').is_empty() {
        o = "_".into();
    }
    o
}

fn ts(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn doc_restriction(d: &Document) -> Option<String> {
    d.restriction.as_ref().map(|r| {
        format!(
            "ASUTUSESISESEKS KASUTAMISEKS (AK). Alus: {}. Kehtib {} kuni {}. Teabevaldaja: {}. Märgitud {}.",
            r.ground,
            r.begins.strftime("%d.%m.%Y"),
            r.ends.strftime("%d.%m.%Y"),
            r.holder,
            r.marked.strftime("%d.%m.%Y")
        )
    })
}

impl Sip {
    fn agents(&self) -> String {
        format!(
            r#"  <mets:metsHdr CREATEDATE="{created}" LASTMODDATE="{created}" RECORDSTATUS="NEW" csip:OAISPACKAGETYPE="SIP">
    <mets:agent ROLE="CREATOR" TYPE="OTHER" OTHERTYPE="SOFTWARE">
      <mets:name>docgate</mets:name>
      <mets:note csip:NOTETYPE="SOFTWARE VERSION">{version}</mets:note>
    </mets:agent>
    <mets:agent ROLE="ARCHIVIST" TYPE="ORGANIZATION">
      <mets:name>{agency}</mets:name>
      <mets:note csip:NOTETYPE="IDENTIFICATIONCODE">{code}</mets:note>
    </mets:agent>
    <mets:agent ROLE="PRESERVATION" TYPE="ORGANIZATION">
      <mets:name>Rahvusarhiiv</mets:name>
    </mets:agent>
  </mets:metsHdr>
"#,
            created = ts(self.created),
            version = env!("CARGO_PKG_VERSION"),
            agency = esc(&self.agency),
            code = esc(&self.agency_code),
        )
    }

    fn mets_open(&self, objid: &str, label: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<mets:mets {NS} xsi:schemaLocation=\"http://www.loc.gov/METS/ {loc}mets.xsd http://www.w3.org/1999/xlink {loc}xlink.xsd\" OBJID=\"{objid}\" LABEL=\"{label}\" TYPE=\"Mixed\" csip:CONTENTINFORMATIONTYPE=\"MIXED\" PROFILE=\"{PROFILE}\">\n",
            loc = if objid == self.package { "schemas/" } else { "../../schemas/" },
            objid = esc(objid),
            label = esc(label),
        )
    }

    fn file_entry(&self, id: &str, f: &SipFile, href: &str, created: jiff::Timestamp) -> String {
        format!(
            "      <mets:file ID=\"{id}\" MIMETYPE=\"{mt}\" SIZE=\"{size}\" CREATED=\"{created}\" CHECKSUM=\"{sum}\" CHECKSUMTYPE=\"SHA-256\">\n        <mets:FLocat LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"{href}\"/>\n      </mets:file>\n",
            mt = esc(&f.media_type),
            size = f.size,
            created = ts(created),
            sum = f.sha256.to_ascii_uppercase(),
            href = esc(href),
        )
    }

    /// The division tree file unit → document → file.
    fn units_divs(&self, indent: &str) -> String {
        let mut o = String::new();
        for u in &self.units {
            let _ = writeln!(
                o,
                "{indent}<mets:div ID=\"unit-{}\" TYPE=\"toimik\" LABEL=\"{}\">",
                u.id,
                esc(&format!("{} {}", u.code, u.title))
            );
            for d in &u.docs {
                let _ = writeln!(
                    o,
                    "{indent}  <mets:div ID=\"doc-{}\" TYPE=\"dokument\" LABEL=\"{}\">",
                    d.doc.id,
                    esc(&d.doc.reg_no)
                );
                for f in &d.files {
                    let _ = writeln!(o, "{indent}    <mets:fptr FILEID=\"{}\"/>", f.id);
                }
                let _ = writeln!(o, "{indent}  </mets:div>");
            }
            let _ = writeln!(o, "{indent}</mets:div>");
        }
        o
    }

    fn all_files(&self) -> impl Iterator<Item = (&SipDoc, &SipFile)> {
        self.units
            .iter()
            .flat_map(|u| u.docs.iter())
            .flat_map(|d| d.files.iter().map(move |f| (d, f)))
    }

    /// The representation's METS (`representations/rep1/METS.xml`).
    pub fn rep_mets(&self) -> String {
        let mut o = self.mets_open(
            &format!("{}-rep1", self.package),
            &format!("{} rep1", self.series_code),
        );
        o.push_str(&self.agents());
        o.push_str(&format!("  <mets:fileSec ID=\"filesec-rep1\">\n    <mets:fileGrp ID=\"grp-data\" USE=\"Data\"{CIT}>\n"));
        for (d, f) in self.all_files() {
            o.push_str(&self.file_entry(&f.id, f, &f.rep_path, d.doc.registered_at));
        }
        o.push_str("    </mets:fileGrp>\n  </mets:fileSec>\n");
        let _ = write!(
            o,
            "  <mets:structMap ID=\"structmap-rep1\" TYPE=\"PHYSICAL\" LABEL=\"CSIP\">\n    <mets:div ID=\"div-rep1-root\" LABEL=\"{}-rep1\">\n      <mets:div ID=\"div-rep1-data\" LABEL=\"Data\">\n{}      </mets:div>\n    </mets:div>\n  </mets:structMap>\n</mets:mets>\n",
            esc(&self.package),
            self.units_divs("        ")
        );
        o
    }

    /// EAD3: the series, its file units and their documents, with each
    /// restriction as `accessrestrict`.
    pub fn ead(&self) -> String {
        let mut o = String::new();
        let _ = write!(
            o,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ead xmlns="http://ead3.archivists.org/schema/">
  <control>
    <recordid>{pkg}</recordid>
    <filedesc>
      <titlestmt>
        <titleproper>{sc} {st}</titleproper>
      </titlestmt>
    </filedesc>
    <maintenancestatus value="new"/>
    <maintenanceagency>
      <agencycode>{code}</agencycode>
      <agencyname>{agency}</agencyname>
    </maintenanceagency>
    <maintenancehistory>
      <maintenanceevent>
        <eventtype value="created"/>
        <eventdatetime standarddatetime="{created}">{created}</eventdatetime>
        <agenttype value="machine"/>
        <agent>docgate {version}</agent>
      </maintenanceevent>
    </maintenancehistory>
  </control>
  <archdesc level="series">
    <did>
      <unitid>{sc}</unitid>
      <unittitle>{st}</unittitle>
      <origination><corpname><part>{agency}</part></corpname></origination>
    </did>
    <appraisal><p>{ret}</p></appraisal>
    <dsc>
"#,
            pkg = esc(&self.package),
            sc = esc(&self.series_code),
            st = esc(&self.series_title),
            code = esc(&self.agency_code),
            agency = esc(&self.agency),
            created = ts(self.created),
            version = env!("CARGO_PKG_VERSION"),
            ret = esc(&self.retention),
        );
        for u in &self.units {
            let _ = write!(
                o,
                "      <c level=\"file\" id=\"ead-unit-{}\">\n        <did>\n          <unitid>{}</unitid>\n          <unittitle>{}</unittitle>\n          <unitdatestructured><daterange><fromdate standarddate=\"{}\">{}</fromdate>{}</daterange></unitdatestructured>\n        </did>\n",
                u.id,
                esc(&u.code),
                esc(&u.title),
                u.opened,
                u.opened.strftime("%d.%m.%Y"),
                u.closed
                    .map(|c| format!("<todate standarddate=\"{c}\">{}</todate>", c.strftime("%d.%m.%Y")))
                    .unwrap_or_default()
            );
            if let Some(r) = &u.restriction {
                let _ = writeln!(
                    o,
                    "        <accessrestrict><p>{}</p></accessrestrict>",
                    esc(r)
                );
            }
            for d in &u.docs {
                let doc = &d.doc;
                let _ = write!(
                    o,
                    "        <c level=\"item\" id=\"ead-doc-{}\">\n          <did>\n            <unitid>{}</unitid>\n            <unittitle>{}</unittitle>\n            <unitdate normal=\"{}\">{}</unitdate>\n          </did>\n",
                    doc.id,
                    esc(&doc.reg_no),
                    esc(&doc.title),
                    doc.registered,
                    doc.registered.strftime("%d.%m.%Y"),
                );
                if let Some(r) = doc_restriction(doc) {
                    let _ = writeln!(
                        o,
                        "          <accessrestrict><p>{}</p></accessrestrict>",
                        esc(&r)
                    );
                }
                o.push_str("        </c>\n");
            }
            o.push_str("      </c>\n");
        }
        o.push_str("    </dsc>\n  </archdesc>\n</ead>\n");
        o
    }

    /// PREMIS 3: one object per file (SHA-256 fixity, size, format, original
    /// name) and the documents' audit events (without their details, which
    /// may name persons), linked to the document's files.
    pub fn premis(&self) -> String {
        let mut o = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<premis:premis xmlns:premis=\"http://www.loc.gov/premis/v3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" version=\"3.0\">\n",
        );
        for (_, f) in self.all_files() {
            let _ = write!(
                o,
                "  <premis:object xsi:type=\"premis:file\">\n    <premis:objectIdentifier><premis:objectIdentifierType>local</premis:objectIdentifierType><premis:objectIdentifierValue>{id}</premis:objectIdentifierValue></premis:objectIdentifier>\n    <premis:objectCharacteristics>\n      <premis:compositionLevel>0</premis:compositionLevel>\n      <premis:fixity><premis:messageDigestAlgorithm>SHA-256</premis:messageDigestAlgorithm><premis:messageDigest>{sum}</premis:messageDigest><premis:messageDigestOriginator>docgate</premis:messageDigestOriginator></premis:fixity>\n      <premis:size>{size}</premis:size>\n      <premis:format><premis:formatDesignation><premis:formatName>{mt}</premis:formatName></premis:formatDesignation></premis:format>\n    </premis:objectCharacteristics>\n    <premis:originalName>{name}</premis:originalName>\n  </premis:object>\n",
                id = esc(&f.id),
                sum = f.sha256,
                size = f.size,
                mt = esc(&f.media_type),
                name = esc(&f.name),
            );
        }
        let mut agents = std::collections::BTreeSet::new();
        for u in &self.units {
            for d in &u.docs {
                for e in &d.events {
                    agents.insert(e.actor.clone());
                    let _ = write!(
                        o,
                        "  <premis:event>\n    <premis:eventIdentifier><premis:eventIdentifierType>docgate-audit-seq</premis:eventIdentifierType><premis:eventIdentifierValue>{seq}</premis:eventIdentifierValue></premis:eventIdentifier>\n    <premis:eventType>{kind}</premis:eventType>\n    <premis:eventDateTime>{at}</premis:eventDateTime>\n    <premis:eventDetailInformation><premis:eventDetail>{reg}: audit chain hash {hash}</premis:eventDetail></premis:eventDetailInformation>\n    <premis:linkingAgentIdentifier><premis:linkingAgentIdentifierType>local</premis:linkingAgentIdentifierType><premis:linkingAgentIdentifierValue>{actor}</premis:linkingAgentIdentifierValue></premis:linkingAgentIdentifier>\n",
                        seq = e.seq,
                        kind = esc(&e.kind),
                        at = esc(&e.at),
                        reg = esc(&d.doc.reg_no),
                        hash = esc(&e.hash),
                        actor = esc(&e.actor),
                    );
                    for f in &d.files {
                        let _ = writeln!(
                            o,
                            "    <premis:linkingObjectIdentifier><premis:linkingObjectIdentifierType>local</premis:linkingObjectIdentifierType><premis:linkingObjectIdentifierValue>{}</premis:linkingObjectIdentifierValue></premis:linkingObjectIdentifier>",
                            esc(&f.id)
                        );
                    }
                    o.push_str("  </premis:event>\n");
                }
            }
        }
        for a in agents {
            let _ = write!(
                o,
                "  <premis:agent>\n    <premis:agentIdentifier><premis:agentIdentifierType>local</premis:agentIdentifierType><premis:agentIdentifierValue>{a}</premis:agentIdentifierValue></premis:agentIdentifier>\n    <premis:agentName>{a}</premis:agentName>\n    <premis:agentType>{t}</premis:agentType>\n  </premis:agent>\n",
                a = esc(&a),
                t = if a.starts_with("cli:") || a.contains("worker") { "software" } else { "person" },
            );
        }
        o.push_str("</premis:premis>\n");
        o
    }

    /// Every generated file of the package but the data files, root METS last
    /// (it holds the others' checksums). `documentation` is the package's
    /// description in words.
    pub fn generated(&self, documentation: &str) -> Vec<Generated> {
        let doc = Generated::new("documentation/kirjeldus.txt", documentation.to_string());
        let mets_xsd = Generated::new(
            "schemas/mets.xsd",
            // The package is self-contained: XLink from beside it.
            METS_XSD.replace("http://www.loc.gov/standards/xlink/xlink.xsd", "xlink.xsd"),
        );
        let xlink = Generated::new("schemas/xlink.xsd", XLINK_XSD.to_string());
        let ead = Generated::new("metadata/descriptive/ead.xml", self.ead());
        let premis = Generated::new("metadata/preservation/premis.xml", self.premis());
        let rep = Generated::new("representations/rep1/METS.xml", self.rep_mets());
        let root = Generated::new(
            "METS.xml",
            self.root_mets(&doc, &[&mets_xsd, &xlink], &ead, &premis, &rep),
        );
        vec![doc, mets_xsd, xlink, ead, premis, rep, root]
    }

    fn root_mets(
        &self,
        doc: &Generated,
        schemas: &[&Generated],
        ead: &Generated,
        premis: &Generated,
        rep: &Generated,
    ) -> String {
        let created = ts(self.created);
        let md_ref = |g: &Generated, mdtype: &str| {
            format!(
                "<mets:mdRef LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"{}\" MDTYPE=\"{mdtype}\" MIMETYPE=\"application/xml\" SIZE=\"{}\" CREATED=\"{created}\" CHECKSUM=\"{}\" CHECKSUMTYPE=\"SHA-256\"/>",
                g.path,
                g.bytes.len(),
                g.sha256().to_ascii_uppercase()
            )
        };
        let gen_file = |id: &str, g: &Generated, mt: &str| {
            let f = SipFile {
                id: id.into(),
                rep_path: g.path.clone(),
                name: g.path.clone(),
                media_type: mt.into(),
                size: g.bytes.len() as u64,
                sha256: g.sha256(),
            };
            self.file_entry(id, &f, &g.path, self.created)
        };
        let mut o = self.mets_open(
            &self.package,
            &format!("{} {}", self.series_code, self.series_title),
        );
        o.push_str(&self.agents());
        let _ = write!(
            o,
            "  <mets:dmdSec ID=\"dmd-ead\" CREATED=\"{created}\" STATUS=\"CURRENT\">\n    {}\n  </mets:dmdSec>\n  <mets:amdSec>\n    <mets:digiprovMD ID=\"digiprov-premis\" STATUS=\"CURRENT\">\n      {}\n    </mets:digiprovMD>\n  </mets:amdSec>\n",
            md_ref(ead, "EAD"),
            md_ref(premis, "PREMIS")
        );
        o.push_str(&format!("  <mets:fileSec ID=\"filesec\">\n    <mets:fileGrp ID=\"grp-documentation\" USE=\"Documentation\"{CIT}>\n"));
        o.push_str(&gen_file("file-documentation", doc, "text/plain"));
        o.push_str(&format!(
            "    </mets:fileGrp>\n    <mets:fileGrp ID=\"grp-schemas\" USE=\"Schemas\"{CIT}>\n"
        ));
        for (i, s) in schemas.iter().enumerate() {
            o.push_str(&gen_file(
                &format!("file-schema-{}", i + 1),
                s,
                "application/xml",
            ));
        }
        o.push_str(&format!("    </mets:fileGrp>\n    <mets:fileGrp ID=\"grp-rep1\" USE=\"Representations/rep1\"{CIT}>\n"));
        o.push_str(&gen_file("file-rep1-mets", rep, "application/xml"));
        for (d, f) in self.all_files() {
            let href = format!("representations/rep1/{}", f.rep_path);
            o.push_str(&self.file_entry(&f.id, f, &href, d.doc.registered_at));
        }
        o.push_str("    </mets:fileGrp>\n  </mets:fileSec>\n");
        let _ = write!(
            o,
            "  <mets:structMap ID=\"structmap-csip\" TYPE=\"PHYSICAL\" LABEL=\"CSIP\">\n    <mets:div ID=\"div-root\" LABEL=\"{pkg}\">\n      <mets:div ID=\"div-metadata\" LABEL=\"Metadata\" DMDID=\"dmd-ead\" ADMID=\"digiprov-premis\"/>\n      <mets:div ID=\"div-documentation\" LABEL=\"Documentation\">\n        <mets:fptr FILEID=\"file-documentation\"/>\n      </mets:div>\n      <mets:div ID=\"div-schemas\" LABEL=\"Schemas\">\n",
            pkg = esc(&self.package)
        );
        for i in 0..schemas.len() {
            let _ = writeln!(o, "        <mets:fptr FILEID=\"file-schema-{}\"/>", i + 1);
        }
        let _ = write!(
            o,
            "      </mets:div>\n      <mets:div ID=\"div-representations\" LABEL=\"Representations\">\n        <mets:fptr FILEID=\"file-rep1-mets\"/>\n        <mets:div ID=\"div-rep1\" LABEL=\"Representations/rep1\">\n          <mets:mptr LOCTYPE=\"URL\" xlink:type=\"simple\" xlink:href=\"representations/rep1/METS.xml\" xlink:title=\"rep1\"/>\n{}        </mets:div>\n      </mets:div>\n    </mets:div>\n  </mets:structMap>\n</mets:mets>\n",
            self.units_divs("          ")
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped_and_forbidden_characters_dropped() {
        assert_eq!(
            esc("a & <b> \"c\" 'd'\u{1}"),
            "a &amp; &lt;b&gt; &quot;c&quot; &apos;d&apos;"
        );
        assert_eq!(esc("rida\nteine\tveerg"), "rida\nteine\tveerg");
    }

    #[test]
    fn path_segments_are_safe() {
        assert_eq!(segment("9-13/5-1"), "9-13_5-1");
        assert_eq!(
            segment("Kohtu määrus (õige).pdf"),
            "Kohtu_maarus__oige_.pdf"
        );
        assert_eq!(segment(".."), "_");
        assert_eq!(segment(&"x".repeat(300)).len(), 100);
    }
}
