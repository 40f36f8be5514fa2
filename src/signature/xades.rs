//! XML-DSig / XAdES signatures (ASiC-E, BDOC 2.1, ASiC-S with XAdES, DDOC 1.3)
//! verified offline: references, SignedProperties, signature value, signing
//! certificate, chain, OCSP response and signature time-stamp.

use roxmltree::{Document, Node};

use super::c14n::{self, Method};
use super::pki::{self, Cert, DigestAlg, SigAlg, TrustStore};
use super::tokens::{self, CertStatus};
use super::{Reason, SignatureReport, Status};

/// Most nodes of one signature document (bounds memory of hostile XML).
pub const MAX_XML_NODES: u32 = 200_000;
/// Most signatures read from one document.
pub const MAX_SIGNATURES: usize = 2_000;
/// Most references of one signature.
pub const MAX_REFERENCES: usize = 10_000;

const BDOC_TM_POLICY: &str = "1.3.6.1.4.1.10015.1000.3.2.1";

/// A file a signature may refer to by URI (ASiC data files).
pub struct External<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Parses a document with the safety options (no DTD, bounded node count).
pub fn parse(src: &str) -> Result<Document<'_>, String> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    Document::parse_with_options(src, opts).map_err(|e| e.to_string())
}

fn child<'a, 'i>(n: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == local)
}

fn children<'a, 'i>(n: Node<'a, 'i>, local: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == local)
}

fn descendants<'a, 'i>(n: Node<'a, 'i>, local: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.descendants()
        .filter(move |c| c.is_element() && c.tag_name().name() == local)
}

fn text(n: Option<Node<'_, '_>>) -> String {
    n.map(|n| {
        n.children()
            .filter(|c| c.is_text())
            .filter_map(|c| c.text())
            .collect::<String>()
    })
    .unwrap_or_default()
}

/// Percent-decoding of a reference URI (`+` stays `+`).
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file name a reference URI names: percent-decoded when it decodes, else as written.
pub fn reference_name(uri: &str) -> String {
    percent_decode(uri).unwrap_or_else(|| uri.to_string())
}

/// Collects reasons and the verdict of one signature.
struct Verdict {
    reasons: Vec<Reason>,
}

impl Verdict {
    fn invalid(&mut self, code: &'static str, msg: String) {
        self.reasons.push(Reason::new(code, Status::Invalid, msg));
    }
    fn indeterminate(&mut self, code: &'static str, msg: String) {
        self.reasons
            .push(Reason::new(code, Status::Indeterminate, msg));
    }
}

/// Verifies every `Signature` element of the XML `src` (a `signatures*.xml` of
/// ASiC or a DDOC). `externals`: the container's data files (ASiC); for a DDOC
/// the data files are `DataFile` elements of the same document.
pub fn verify_document(
    src: &str,
    externals: &[External<'_>],
    ddoc_data_ids: &[String],
    trust: &TrustStore,
) -> Result<Vec<SignatureReport>, String> {
    let doc = parse(src)?;
    let sigs: Vec<Node<'_, '_>> = descendants(doc.root(), "Signature")
        .filter(|n| n.tag_name().namespace() == Some("http://www.w3.org/2000/09/xmldsig#"))
        .collect();
    if sigs.len() > MAX_SIGNATURES {
        return Err(format!("üle {MAX_SIGNATURES} allkirja"));
    }
    Ok(sigs
        .into_iter()
        .map(|s| verify_one(&doc, src, s, externals, ddoc_data_ids, trust))
        .collect())
}

fn find_by_id<'a, 'i>(doc: &'a Document<'i>, id: &str) -> Vec<Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.is_element() && n.attribute("Id") == Some(id))
        .take(2)
        .collect()
}

fn verify_one(
    doc: &Document<'_>,
    src: &str,
    sig: Node<'_, '_>,
    externals: &[External<'_>],
    ddoc_data_ids: &[String],
    trust: &TrustStore,
) -> SignatureReport {
    let mut v = Verdict {
        reasons: Vec::new(),
    };
    let id = sig.attribute("Id").unwrap_or("").to_string();
    let mut report = SignatureReport {
        id: id.clone(),
        format: String::new(),
        signer: None,
        signer_code: None,
        signed_at: None,
        status: Status::Valid,
        reasons: Vec::new(),
    };
    let ddoc = !ddoc_data_ids.is_empty()
        || externals.is_empty() && doc.root_element().tag_name().name() == "SignedDoc";

    // The certificate first: the signer's name is reported even when the rest fails.
    let certs: Vec<Cert> = child(sig, "KeyInfo")
        .map(|k| {
            descendants(k, "X509Certificate")
                .filter_map(|c| pki::b64(&text(Some(c))))
                .filter_map(|d| Cert::from_der(&d).ok())
                .collect()
        })
        .unwrap_or_default();
    let signer = certs.first().cloned();
    if let Some(c) = &signer {
        report.signer = Some(c.person_name());
        report.signer_code = c.person_code();
    } else {
        v.invalid(
            "certificate_missing",
            "allkirjastaja sertifikaat puudub (no signer certificate in KeyInfo)".into(),
        );
    }

    let qp = descendants(sig, "QualifyingProperties").next();
    let signed_props: Vec<Node<'_, '_>> = qp
        .map(|q| descendants(q, "SignedProperties").collect())
        .unwrap_or_default();
    let tm_policy = signed_props.first().is_some_and(|sp| {
        descendants(*sp, "Identifier").any(|i| text(Some(i)).trim().ends_with(BDOC_TM_POLICY))
    });

    // 1. SignedInfo, its references and the signature value.
    let Some(si) = child(sig, "SignedInfo") else {
        v.invalid("structure", "SignedInfo puudub (no SignedInfo)".into());
        return finish(report, v, ddoc, false, false);
    };
    let cm = child(si, "CanonicalizationMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .unwrap_or("");
    let sm = child(si, "SignatureMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .unwrap_or("");
    let refs: Vec<Node<'_, '_>> = children(si, "Reference").take(MAX_REFERENCES + 1).collect();
    if refs.len() > MAX_REFERENCES {
        v.invalid(
            "structure",
            format!("üle {MAX_REFERENCES} viite (too many references)"),
        );
    }
    let mut covered: Vec<String> = Vec::new();
    let mut sp_refs = 0;
    for r in &refs {
        let uri = r.attribute("URI").unwrap_or("");
        let is_sp = r
            .attribute("Type")
            .is_some_and(|t| t.ends_with("#SignedProperties"));
        let dm = child(*r, "DigestMethod")
            .and_then(|m| m.attribute("Algorithm"))
            .unwrap_or("");
        let Some(alg) = DigestAlg::from_uri(dm) else {
            v.invalid(
                "algorithm_unsupported",
                format!("tundmatu räsialgoritm {dm} (unknown digest algorithm)"),
            );
            continue;
        };
        let Some(want) = pki::b64(&text(child(*r, "DigestValue"))) else {
            v.invalid(
                "structure",
                format!("viite {uri} DigestValue ei ole base64 (DigestValue not base64)"),
            );
            continue;
        };
        if let Some(frag) = uri.strip_prefix('#') {
            let targets = find_by_id(doc, frag);
            if targets.len() != 1 {
                v.invalid(
                    "reference_target",
                    format!("viite #{frag} sihtmärk puudub või ei ole ühene (reference target missing or ambiguous)"),
                );
                continue;
            }
            let target = targets[0];
            let mut method = Method::default_reference();
            if let Some(ts) = child(*r, "Transforms") {
                for t in children(ts, "Transform") {
                    let a = t.attribute("Algorithm").unwrap_or("");
                    match Method::from_uri(a) {
                        Some(mut m) => {
                            if let Some(inc) = descendants(t, "InclusiveNamespaces").next() {
                                m.inclusive_prefixes = inc
                                    .attribute("PrefixList")
                                    .unwrap_or("")
                                    .split_whitespace()
                                    .map(|p| {
                                        if p == "#default" {
                                            String::new()
                                        } else {
                                            p.to_string()
                                        }
                                    })
                                    .collect();
                            }
                            method = m;
                        }
                        None if a == "http://www.w3.org/2000/09/xmldsig#enveloped-signature" => {}
                        None => v.invalid(
                            "algorithm_unsupported",
                            format!("tundmatu teisendus {a} (unsupported transform)"),
                        ),
                    }
                }
            }
            match c14n::canonicalize(target, src, &method) {
                Ok(bytes) => {
                    let sp_target = is_sp || target.tag_name().name() == "SignedProperties";
                    // DDOC 1.3: libdigidoc hashed SignedProperties as a document
                    // of its own (without its QualifyingProperties' xmlns).
                    let ddoc_sp_ok = ddoc
                        && sp_target
                        && c14n::canonicalize_detached(target, src, &method)
                            .is_ok_and(|b| alg.digest(&b) == want);
                    if alg.digest(&bytes) != want && !ddoc_sp_ok {
                        if sp_target {
                            v.invalid("signed_properties_digest", "allkirjastatud omaduste (SignedProperties) räsi ei klapi (SignedProperties digest mismatch)".into());
                        } else {
                            let name = target.attribute("Filename").unwrap_or(frag);
                            v.invalid("reference_digest", format!("andmefaili {name} räsi ei klapi allkirjaga (data file digest mismatch)"));
                        }
                    }
                }
                Err(e) => v.invalid("structure", e.to_string()),
            }
            if target.tag_name().name() == "SignedProperties" {
                sp_refs += 1;
                if !signed_props.contains(&target) {
                    v.invalid("signed_properties_foreign", "viidatud SignedProperties ei kuulu sellele allkirjale (SignedProperties of another signature)".into());
                }
            } else if ddoc {
                covered.push(frag.to_string());
            } else {
                v.invalid("reference_target", format!("viide #{frag} ei ole andmefail ega SignedProperties (unexpected reference)"));
            }
        } else {
            if ddoc {
                v.invalid(
                    "reference_target",
                    format!("viide {uri} ei ole selle dokumendi osa (external reference in DDOC)"),
                );
                continue;
            }
            if child(*r, "Transforms").is_some() {
                v.invalid("algorithm_unsupported", format!("andmefaili {uri} viitel on teisendused (transforms on a data file reference)"));
            }
            let name = reference_name(uri);
            let file = externals.iter().find(|f| f.name == name);
            match file {
                None => v.invalid("reference_missing_file", format!("allkiri viitab failile {uri}, mida konteineris ei ole (signed file not in the container)")),
                Some(f) => {
                    if alg.digest(f.bytes) != want {
                        v.invalid("reference_digest", format!("andmefaili {} räsi ei klapi allkirjaga (data file digest mismatch)", f.name));
                    }
                    covered.push(f.name.to_string());
                }
            }
        }
    }
    if sp_refs != 1 || signed_props.len() != 1 {
        v.invalid("signed_properties", format!("allkirjal peab olema täpselt üks SignedProperties ja üks viide sellele, on {} ja {} (exactly one SignedProperties required)", signed_props.len(), sp_refs));
    }
    let all: Vec<String> = if ddoc {
        ddoc_data_ids.to_vec()
    } else {
        externals.iter().map(|f| f.name.to_string()).collect()
    };
    for f in &all {
        if !covered.contains(f) {
            v.invalid("datafile_not_signed", format!("andmefail {f} ei ole allkirjaga kaetud (data file not covered by the signature)"));
        }
    }

    let sig_value_node = child(sig, "SignatureValue");
    let sig_value = pki::b64(&text(sig_value_node)).unwrap_or_default();
    match (&signer, SigAlg::from_uri(sm), Method::from_uri(cm)) {
        (_, None, _) => v.indeterminate(
            "algorithm_unsupported",
            format!("tundmatu allkirjaalgoritm {sm} (unsupported signature algorithm)"),
        ),
        (_, _, None) => v.invalid(
            "algorithm_unsupported",
            format!("tundmatu kanoniseerimine {cm} (unsupported canonicalization)"),
        ),
        (None, _, _) => {}
        (Some(cert), Some(alg), Some(m)) => match c14n::canonicalize(si, src, &m) {
            Err(e) => v.invalid("structure", e.to_string()),
            Ok(bytes) => match pki::verify(&cert.spki, alg, &bytes, &sig_value, true) {
                Ok(()) => {}
                Err(pki::SigError::Bad) => v.invalid(
                    "signature_value",
                    "allkirja väärtus ei klapi (SignatureValue does not verify)".into(),
                ),
                Err(pki::SigError::Unsupported(what)) => v.indeterminate(
                    "algorithm_unsupported",
                    format!("allkirja ei saa kontrollida: {what} (unsupported algorithm)"),
                ),
            },
        },
    }

    // 2. The signing certificate named in the signed properties.
    if let (Some(cert), Some(sp)) = (&signer, signed_props.first()) {
        let digests: Vec<Node<'_, '_>> = descendants(*sp, "CertDigest").collect();
        if digests.is_empty() {
            v.invalid("signing_certificate", "allkirjastatud omadustes puudub allkirjastaja sertifikaadi räsi (no SigningCertificate)".into());
        } else {
            let ok = digests.iter().any(|d| {
                let alg = child(*d, "DigestMethod")
                    .and_then(|m| m.attribute("Algorithm"))
                    .and_then(DigestAlg::from_uri);
                let want = pki::b64(&text(child(*d, "DigestValue")));
                matches!((alg, want), (Some(a), Some(w)) if a.digest(&cert.der) == w)
            });
            if !ok {
                v.invalid("signing_certificate", "SigningCertificate räsi ei vasta allkirjastaja sertifikaadile (signing certificate digest mismatch)".into());
            }
        }
    }

    // 3. The certificates the signature carries, the time-stamp and the OCSP response.
    let mut pool: Vec<Cert> = certs.clone();
    if let Some(q) = qp {
        for c in descendants(q, "EncapsulatedX509Certificate") {
            if let Some(c) = pki::b64(&text(Some(c))).and_then(|d| Cert::from_der(&d).ok()) {
                pool.push(c);
            }
        }
    }
    let claimed = signed_props
        .first()
        .and_then(|sp| descendants(*sp, "SigningTime").next())
        .and_then(|t| text(Some(t)).trim().parse::<jiff::Timestamp>().ok());

    let mut ts_time = None;
    let mut has_ts = false;
    if let Some(q) = qp {
        let stss: Vec<Node<'_, '_>> = descendants(q, "SignatureTimeStamp").collect();
        for (i, sts) in stss.iter().enumerate() {
            has_ts = true;
            let encs: Vec<Node<'_, '_>> = children(*sts, "EncapsulatedTimeStamp").collect();
            if encs.len() != 1 {
                v.invalid("timestamp", format!("ajatemplis on {} EncapsulatedTimeStamp elementi, peab olema üks (exactly one token per SignatureTimeStamp)", encs.len()));
                continue;
            }
            let method = child(*sts, "CanonicalizationMethod")
                .and_then(|m| m.attribute("Algorithm"))
                .map(|a| Method::from_uri(a).unwrap_or_else(Method::default_reference))
                .unwrap_or_else(Method::default_reference);
            let token = pki::b64(&text(encs.first().copied())).unwrap_or_default();
            match tokens::parse_timestamp(&token) {
                Err(e) => v.invalid(
                    "timestamp",
                    format!("ajatemplit ei saa lugeda: {e} (unreadable time-stamp token)"),
                ),
                Ok(tst) => {
                    let covered = sig_value_node
                        .and_then(|n| c14n::canonicalize(n, src, &method).ok())
                        .is_some_and(|b| tst.covers(&b));
                    if !covered {
                        v.invalid(
                            "timestamp",
                            "ajatempel ei kata allkirja väärtust (time-stamp imprint mismatch)"
                                .into(),
                        );
                    }
                    match tst.signer(&pool).cloned() {
                        None => v.indeterminate(
                            "tsa_unknown",
                            "ajatempli andja sertifikaati ei leitud (TSA certificate not found)"
                                .into(),
                        ),
                        Some(tsa) => {
                            if let Err(e) = tst.signed_by(&tsa) {
                                v.invalid("timestamp", format!("ajatempli allkiri ei klapi: {e} (time-stamp signature invalid)"));
                            } else {
                                if let Some(r) = pki::chain(&tsa, &pool, trust)
                                    .reason("tsa_untrusted", ("ajatempli andja", "TSA"))
                                {
                                    v.reasons.push(r);
                                }
                                if !tsa.valid_at(tst.gen_time) {
                                    v.invalid("timestamp", "ajatempli andja sertifikaat ei kehtinud ajatempli ajal (TSA certificate not valid at genTime)".into());
                                }
                            }
                            pool.extend(tst.certs.iter().cloned());
                        }
                    }
                    if i == 0 {
                        ts_time = Some(tst.gen_time);
                    }
                }
            }
        }
    }

    let mut ocsp_time = None;
    let mut has_ocsp = false;
    if let (Some(q), Some(cert)) = (qp, &signer) {
        let ocsps: Vec<Node<'_, '_>> = descendants(q, "EncapsulatedOCSPValue").collect();
        let issuer = pool
            .iter()
            .chain(trust.anchors.iter())
            .find(|c| c.subject_raw == cert.issuer_raw && cert.signed_by(c).is_ok())
            .cloned();
        let mut found_good = false;
        let mut problems: Vec<Reason> = Vec::new();
        // Every OCSP response the signature carries must be readable: one that
        // is not is corrupted revocation data, whatever the others say.
        for (i, o) in ocsps.iter().take(16).enumerate() {
            let bytes = pki::b64(&text(Some(*o)));
            if let Err(e) = bytes
                .ok_or_else(|| "not base64".to_string())
                .and_then(|b| tokens::parse_ocsp(&b).map(|_| ()))
            {
                v.invalid("ocsp_corrupted", format!("allkirja {}. OCSP-vastus on rikutud: {e} (corrupted OCSP response in the signature)", i + 1));
            }
        }
        for o in ocsps.iter().take(16) {
            has_ocsp = true;
            let bytes = pki::b64(&text(Some(*o))).unwrap_or_default();
            let resp = match tokens::parse_ocsp(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(Reason::new(
                        "ocsp_invalid",
                        Status::Invalid,
                        format!("OCSP-vastust ei saa lugeda: {e} (unreadable OCSP response)"),
                    ));
                    continue;
                }
            };
            let Some(single) = resp.status_of(cert, issuer.as_ref()) else {
                problems.push(Reason::new("ocsp_other_certificate", Status::Invalid, "OCSP-vastus ei käi allkirjastaja sertifikaadi kohta (OCSP response for another certificate)".into()));
                continue;
            };
            // A time mark proves the signing time by itself: its responder's
            // certificate travels with it, in the OCSP response or the signature.
            if tm_policy && !ddoc && resp.responder(&pool).is_none() {
                problems.push(Reason::new("tm_responder_missing", Status::Invalid, "ajamärgi OCSP-vastaja sertifikaat puudub nii OCSP-vastusest kui allkirjast: ajamärk ei vasta nõuetele (OCSP responder certificate neither in the OCSP response nor in the signature: time mark requirements not met)".into()));
                continue;
            }
            let mut all_pool = pool.clone();
            all_pool.extend(trust.anchors.iter().cloned());
            let Some(responder) = resp.responder(&all_pool).cloned() else {
                problems.push(Reason::new(
                    "ocsp_responder_unknown",
                    Status::Indeterminate,
                    "OCSP-vastaja sertifikaati ei leitud (OCSP responder certificate not found)"
                        .into(),
                ));
                continue;
            };
            if resp.signed_by(&responder).is_err() {
                problems.push(Reason::new(
                    "ocsp_invalid",
                    Status::Invalid,
                    "OCSP-vastuse allkiri ei klapi (OCSP response signature invalid)".into(),
                ));
                continue;
            }
            if !responder.valid_at(resp.produced_at) {
                problems.push(Reason::new("ocsp_responder_expired", Status::Invalid, format!("OCSP-vastaja sertifikaat ei kehtinud vastuse andmise ajal {} ({} – {}) (OCSP responder certificate not valid when the response was produced)", resp.produced_at, responder.not_before, responder.not_after)));
                continue;
            }
            pool.extend(resp.certs.iter().cloned());
            if let Some(r) = pki::chain(&responder, &pool, trust).reason(
                "ocsp_responder_untrusted",
                ("OCSP-vastaja", "OCSP responder"),
            ) {
                problems.push(r);
                continue;
            }
            match &single.status {
                CertStatus::Good => {}
                CertStatus::Revoked(when) => {
                    let when = when.map(|w| w.to_string()).unwrap_or_default();
                    problems.push(Reason::new(
                        "certificate_revoked",
                        Status::Invalid,
                        format!(
                            "allkirjastaja sertifikaat on tühistatud {when} (certificate revoked)"
                        ),
                    ));
                    continue;
                }
                CertStatus::Unknown => {
                    problems.push(Reason::new(
                        "ocsp_status_unknown",
                        Status::Invalid,
                        "OCSP-vastaja ei tunne sertifikaati (certificate status unknown)".into(),
                    ));
                    continue;
                }
            }
            if tm_policy || ddoc {
                let sv_digests = [
                    DigestAlg::Sha1,
                    DigestAlg::Sha224,
                    DigestAlg::Sha256,
                    DigestAlg::Sha384,
                    DigestAlg::Sha512,
                ]
                .map(|a| a.digest(&sig_value));
                let ok = resp
                    .nonce
                    .as_ref()
                    .is_some_and(|n| sv_digests.iter().any(|d| n.ends_with(d)));
                if !ok {
                    problems.push(Reason::new("ocsp_nonce", Status::Invalid, "OCSP-vastuse nonce ei vasta allkirja väärtusele (OCSP nonce mismatch: time mark not for this signature)".into()));
                    continue;
                }
            }
            found_good = true;
            ocsp_time = Some(resp.produced_at);
            break;
        }
        if !found_good {
            v.reasons.extend(problems);
        }
    }

    // 4. The signing time and the certificate's validity then.
    let signed_at = if tm_policy || ddoc {
        ocsp_time
    } else {
        ts_time.or(ocsp_time)
    };
    report.format = if ddoc {
        "DIGIDOC-XML 1.3".into()
    } else if tm_policy {
        "BDOC-TM".into()
    } else if has_ts && has_ocsp {
        let lta = qp.is_some_and(|q| descendants(q, "ArchiveTimeStamp").next().is_some());
        if lta {
            "XAdES-BASELINE-LTA"
        } else {
            "XAdES-BASELINE-LT"
        }
        .into()
    } else if has_ts {
        "XAdES-BASELINE-T".into()
    } else {
        "XAdES-BASELINE-B".into()
    };
    if let (Some(t), Some(o)) = (ts_time, ocsp_time) {
        if !tm_policy && o < t {
            v.invalid("ocsp_before_timestamp", format!("OCSP-vastus ({o}) on antud enne ajatemplit ({t}) (OCSP produced before the time-stamp)"));
        }
    }
    if let (true, Some(c), Some(o)) = (tm_policy && !ddoc, claimed, ocsp_time) {
        // The time mark confirms a signature that already exists: a signed
        // claim of signing more than a day after it is false.
        if c.duration_since(o) > jiff::SignedDuration::from_hours(24) {
            v.invalid("signing_time_after_time_mark", format!("allkirjastatud allkirjastamise aeg {c} on hilisem kui ajamärk (OCSP) {o}: aeg ei saa olla õige (claimed signing time after the time mark)"));
        }
    }
    if tm_policy
        && !ddoc
        && !has_ocsp
        && signer.is_some()
        && qp.is_some_and(|q| descendants(q, "CertificateValues").next().is_some())
    {
        // Completed to LT-TM (its validation data is there) but without the
        // time mark itself: the OCSP response was removed.
        v.invalid("tm_ocsp_missing", "BDOC-TM allkirjal on kehtivusandmed (CertificateValues), kuid ajamärk (OCSP-vastus) puudub: allkiri on puudulik (LT-TM signature without its OCSP time mark)".into());
    }
    if !has_ocsp && signer.is_some() {
        v.indeterminate("no_revocation_data", "kehtivuskinnitus (OCSP) puudub: sertifikaadi kehtivust allkirjastamise ajal ei saa otsustada (no OCSP response)".into());
    }
    if ddoc && !has_ocsp && signer.is_some() {
        v.invalid("ddoc_no_confirmation", "DDOC allkirjal puudub kehtivuskinnitus (OCSP): allkiri ei ole lõpetatud (DDOC signature without OCSP confirmation)".into());
    }
    if !has_ts && !tm_policy && !ddoc && has_ocsp {
        v.indeterminate("no_timestamp", "allkirjal puudub ajatempel: allkirjastamise aeg ei ole tõendatud (no signature time-stamp)".into());
    }
    report.signed_at = signed_at.or(claimed);
    if let Some(cert) = &signer {
        if let Some(t) = signed_at {
            if !cert.valid_at(t) {
                v.invalid("certificate_expired", format!("allkirjastaja sertifikaat ei kehtinud allkirjastamise ajal {t} (certificate not valid at signing time: {} – {})", cert.not_before, cert.not_after));
            }
        }
        if let Some(r) = pki::chain(cert, &pool, trust).reason(
            "chain_untrusted",
            ("allkirjastaja sertifikaat", "signer certificate"),
        ) {
            v.reasons.push(r);
        }
    }
    finish(report, v, ddoc, tm_policy, has_ts)
}

fn finish(
    mut report: SignatureReport,
    v: Verdict,
    _ddoc: bool,
    _tm: bool,
    _ts: bool,
) -> SignatureReport {
    report.status = Status::of(&v.reasons);
    report.reasons = v.reasons;
    report
}
