//! Certificates, signature algorithms and the trust store.
//!
//! Certificates are parsed by `x509-parser`; signatures are checked by `ring`
//! (RSA PKCS#1 v1.5 from 1024 bits, RSA-PSS, ECDSA P-256/P-384). Chains are
//! built here: from a certificate, through the certificates the container
//! carries, to one of the configured anchors, each link's signature checked.

use std::collections::HashSet;

use ring::signature as rs;
use sha1::Digest as _;
use x509_parser::prelude::*;

use super::der;

/// Digest algorithms of XML-DSig, CMS and OCSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlg {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlg {
    /// By XML-DSig algorithm URI.
    pub fn from_uri(uri: &str) -> Option<DigestAlg> {
        Some(match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => DigestAlg::Sha1,
            "http://www.w3.org/2001/04/xmldsig-more#sha224" => DigestAlg::Sha224,
            "http://www.w3.org/2001/04/xmlenc#sha256" => DigestAlg::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => DigestAlg::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => DigestAlg::Sha512,
            _ => return None,
        })
    }
    /// By object identifier.
    pub fn from_oid(oid: &str) -> Option<DigestAlg> {
        Some(match oid {
            "1.3.14.3.2.26" => DigestAlg::Sha1,
            "2.16.840.1.101.3.4.2.4" => DigestAlg::Sha224,
            "2.16.840.1.101.3.4.2.1" => DigestAlg::Sha256,
            "2.16.840.1.101.3.4.2.2" => DigestAlg::Sha384,
            "2.16.840.1.101.3.4.2.3" => DigestAlg::Sha512,
            _ => return None,
        })
    }
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Sha1 => sha1::Sha1::digest(data).to_vec(),
            DigestAlg::Sha224 => sha2::Sha224::digest(data).to_vec(),
            DigestAlg::Sha256 => sha2::Sha256::digest(data).to_vec(),
            DigestAlg::Sha384 => sha2::Sha384::digest(data).to_vec(),
            DigestAlg::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// Signature algorithms: the key type is taken from the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    Rsa(DigestAlg),
    RsaPss(DigestAlg),
    Ecdsa(DigestAlg),
}

impl SigAlg {
    /// By XML-DSig algorithm URI.
    pub fn from_uri(uri: &str) -> Option<SigAlg> {
        let (kind, d) = match uri {
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => ("rsa", DigestAlg::Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha224" => ("rsa", DigestAlg::Sha224),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => ("rsa", DigestAlg::Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => ("rsa", DigestAlg::Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => ("rsa", DigestAlg::Sha512),
            "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1" => ("pss", DigestAlg::Sha256),
            "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1" => ("pss", DigestAlg::Sha384),
            "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1" => ("pss", DigestAlg::Sha512),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1" => ("ec", DigestAlg::Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha224" => ("ec", DigestAlg::Sha224),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => ("ec", DigestAlg::Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => ("ec", DigestAlg::Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512" => ("ec", DigestAlg::Sha512),
            _ => return None,
        };
        Some(match kind {
            "rsa" => SigAlg::Rsa(d),
            "pss" => SigAlg::RsaPss(d),
            _ => SigAlg::Ecdsa(d),
        })
    }

    /// By object identifier (certificates, OCSP, CMS); `rsaEncryption` takes the
    /// digest from `digest` (CMS signer infos).
    pub fn from_oid(oid: &str, params: Option<&[u8]>, digest: Option<DigestAlg>) -> Option<SigAlg> {
        Some(match oid {
            "1.2.840.113549.1.1.1" => SigAlg::Rsa(digest?),
            "1.2.840.113549.1.1.5" => SigAlg::Rsa(DigestAlg::Sha1),
            "1.2.840.113549.1.1.14" => SigAlg::Rsa(DigestAlg::Sha224),
            "1.2.840.113549.1.1.11" => SigAlg::Rsa(DigestAlg::Sha256),
            "1.2.840.113549.1.1.12" => SigAlg::Rsa(DigestAlg::Sha384),
            "1.2.840.113549.1.1.13" => SigAlg::Rsa(DigestAlg::Sha512),
            "1.2.840.113549.1.1.10" => SigAlg::RsaPss(pss_digest(params?)?),
            "1.2.840.10045.4.1" => SigAlg::Ecdsa(DigestAlg::Sha1),
            "1.2.840.10045.4.3.1" => SigAlg::Ecdsa(DigestAlg::Sha224),
            "1.2.840.10045.4.3.2" => SigAlg::Ecdsa(DigestAlg::Sha256),
            "1.2.840.10045.4.3.3" => SigAlg::Ecdsa(DigestAlg::Sha384),
            "1.2.840.10045.4.3.4" => SigAlg::Ecdsa(DigestAlg::Sha512),
            "1.2.840.10045.2.1" => SigAlg::Ecdsa(digest?),
            _ => return None,
        })
    }
}

/// The hash of RSASSA-PSS parameters (`[0] hashAlgorithm`, default SHA-1).
fn pss_digest(params: &[u8]) -> Option<DigestAlg> {
    let t = der::expect(params, 0x30).ok()?;
    for c in der::children(t.content).ok()? {
        if c.tag == 0xa0 {
            let alg = der::expect(c.content, 0x30).ok()?;
            let kids = der::children(alg.content).ok()?;
            return DigestAlg::from_oid(&der::oid(kids.first()?).ok()?);
        }
    }
    Some(DigestAlg::Sha1)
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigError {
    /// The signature does not match.
    Bad,
    /// The algorithm, key type or size is not supported.
    Unsupported(String),
}

/// Verifies `sig` over `msg` with the key of `spki_der` (SubjectPublicKeyInfo).
/// `raw_ecdsa`: an ECDSA signature as `r || s` (XML-DSig) rather than DER.
pub fn verify(
    spki_der: &[u8],
    alg: SigAlg,
    msg: &[u8],
    sig: &[u8],
    raw_ecdsa: bool,
) -> Result<(), SigError> {
    let spki = der::expect(spki_der, 0x30)
        .map_err(|_| SigError::Unsupported("vigane avalik võti".into()))?;
    let kids = der::children(spki.content)
        .map_err(|_| SigError::Unsupported("vigane avalik võti".into()))?;
    let (Some(alg_id), Some(bits)) = (kids.first(), kids.get(1)) else {
        return Err(SigError::Unsupported("vigane avalik võti".into()));
    };
    let alg_kids = der::children(alg_id.content).unwrap_or_default();
    let key_oid = alg_kids
        .first()
        .and_then(|o| der::oid(o).ok())
        .unwrap_or_default();
    let curve = alg_kids
        .get(1)
        .and_then(|o| der::oid(o).ok())
        .unwrap_or_default();
    if bits.tag != 0x03 || bits.content.is_empty() {
        return Err(SigError::Unsupported("vigane avalik võti".into()));
    }
    let key = &bits.content[1..];
    let unsupported =
        || SigError::Unsupported(format!("algoritm {alg:?} võtmega {key_oid} {curve}"));
    let params: &rs::RsaParameters = match (alg, key_oid.as_str()) {
        (SigAlg::Rsa(d), "1.2.840.113549.1.1.1") => match d {
            DigestAlg::Sha1 => &rs::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlg::Sha256 => &rs::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            DigestAlg::Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
            DigestAlg::Sha512 => &rs::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            DigestAlg::Sha224 => return rsa_sha224(key, msg, sig),
        },
        (SigAlg::RsaPss(d), "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10") => match d {
            DigestAlg::Sha256 => &rs::RSA_PSS_2048_8192_SHA256,
            DigestAlg::Sha384 => &rs::RSA_PSS_2048_8192_SHA384,
            DigestAlg::Sha512 => &rs::RSA_PSS_2048_8192_SHA512,
            _ => return Err(unsupported()),
        },
        (SigAlg::Ecdsa(d), "1.2.840.10045.2.1") => {
            return ecdsa_verify(&curve, key, &d.digest(msg), sig, raw_ecdsa)
                .map_err(|e| e.unwrap_or_else(unsupported));
        }
        _ => return Err(unsupported()),
    };
    let (n, e) = rsa_components(key)?;
    rs::RsaPublicKeyComponents { n, e }
        .verify(params, msg, sig)
        .map_err(|_| SigError::Bad)
}

/// An INTEGER's content bytes without leading zero bytes.
fn unsigned(b: &[u8]) -> &[u8] {
    let zeros = b.iter().take_while(|&&x| x == 0).count();
    &b[zeros..]
}

/// The modulus and exponent of a PKCS#1 RSAPublicKey, each read as an unsigned
/// magnitude (leading zero bytes dropped).
///
/// Strict DER wants exactly one 0x00 before a modulus whose first byte is 0x80
/// or more, and none otherwise. Some Estonian ID-card certificates break
/// that: ESTEID-SK 2007 cards leave the 0x00 out (read literally, the modulus
/// is negative: `BOM_algusega.ddoc`), ESTEID-SK 2011 cards put one before a
/// 2047-bit modulus (`Libdigidoc_created_tsa_signature_TS.bdoc`). ring's SPKI
/// parser refuses both keys, which once made every signature of such a card
/// "not verify". OpenSSL, the JDK and DigiDoc read the bytes as the unsigned
/// modulus the CA certified, and so does docgate: the key is the same bytes
/// the CA signed, so no other key can be read into them.
fn rsa_components(key: &[u8]) -> Result<(&[u8], &[u8]), SigError> {
    let bad = || SigError::Unsupported("vigane RSA avalik võti (malformed RSA public key)".into());
    let seq = der::expect(key, 0x30).map_err(|_| bad())?;
    let parts = der::children(seq.content).map_err(|_| bad())?;
    let [n, e] = parts.as_slice() else {
        return Err(bad());
    };
    if n.tag != 0x02 || e.tag != 0x02 {
        return Err(bad());
    }
    let (n, e) = (unsigned(n.content), unsigned(e.content));
    if n.is_empty() || e.is_empty() {
        return Err(bad());
    }
    Ok((n, e))
}

/// RSA PKCS#1 v1.5 with SHA-224, which ring does not offer (RustCrypto `rsa`).
fn rsa_sha224(key: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), SigError> {
    let (n, e) = rsa_components(key)?;
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(e),
    )
    .map_err(|e| SigError::Unsupported(format!("RSA-võti: {e}")))?;
    // DigestInfo prefix of SHA-224 (RFC 8017 § 9.2, note 1).
    let scheme = rsa::Pkcs1v15Sign {
        hash_len: Some(28),
        prefix: Box::new([
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1c,
        ]),
    };
    key.verify(scheme, &DigestAlg::Sha224.digest(msg), sig)
        .map_err(|_| SigError::Bad)
}

/// ECDSA over a digest (RustCrypto: P-256, P-384, P-521, any digest).
/// `Err(None)`: the curve or key is not supported.
fn ecdsa_verify(
    curve: &str,
    key: &[u8],
    prehash: &[u8],
    sig: &[u8],
    raw: bool,
) -> Result<(), Option<SigError>> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    macro_rules! check {
        ($m:ident) => {{
            let vk = $m::ecdsa::VerifyingKey::from_sec1_bytes(key).map_err(|_| None)?;
            let sig = if raw {
                $m::ecdsa::Signature::from_slice(sig)
            } else {
                $m::ecdsa::Signature::from_der(sig)
            }
            .map_err(|_| Some(SigError::Bad))?;
            vk.verify_prehash(prehash, &sig)
                .map_err(|_| Some(SigError::Bad))
        }};
    }
    match curve {
        "1.2.840.10045.3.1.7" => check!(p256),
        "1.3.132.0.34" => check!(p384),
        "1.3.132.0.35" => check!(p521),
        _ => Err(None),
    }
}

/// A parsed certificate, owned.
#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    pub subject_raw: Vec<u8>,
    pub issuer_raw: Vec<u8>,
    /// The serial number's content octets (big-endian, as encoded).
    pub serial: Vec<u8>,
    pub not_before: jiff::Timestamp,
    pub not_after: jiff::Timestamp,
    pub spki: Vec<u8>,
    /// The subjectPublicKey bits (for OCSP key hashes).
    pub key_bits: Vec<u8>,
    pub ski: Option<Vec<u8>>,
    pub subject: String,
    pub common_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub serial_number_attr: Option<String>,
    pub is_ca: bool,
    tbs_range: std::ops::Range<usize>,
    sig_oid: String,
    sig_params: Option<Vec<u8>>,
    sig_value: Vec<u8>,
}

impl PartialEq for Cert {
    fn eq(&self, other: &Cert) -> bool {
        self.der == other.der
    }
}

fn ts(t: &ASN1Time) -> jiff::Timestamp {
    jiff::Timestamp::from_second(t.timestamp()).unwrap_or(jiff::Timestamp::MIN)
}

impl Cert {
    /// Parses a DER certificate.
    pub fn from_der(der_bytes: &[u8]) -> Result<Cert, String> {
        let (rest, c) = X509Certificate::from_der(der_bytes).map_err(|e| e.to_string())?;
        let used = der_bytes.len() - rest.len();
        let der_bytes = &der_bytes[..used];
        let tbs = c.tbs_certificate.as_ref();
        let start = tbs.as_ptr() as usize - der_bytes.as_ptr() as usize;
        let attr = |oid: &x509_parser::der_parser::Oid<'_>| {
            c.subject()
                .iter_by_oid(oid)
                .next()
                .and_then(|a| a.as_str().ok())
                .map(str::to_string)
        };
        use x509_parser::oid_registry as o;
        let ski = c
            .iter_extensions()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            });
        Ok(Cert {
            der: der_bytes.to_vec(),
            subject_raw: c.subject().as_raw().to_vec(),
            issuer_raw: c.issuer().as_raw().to_vec(),
            serial: c.raw_serial().to_vec(),
            not_before: ts(&c.validity().not_before),
            not_after: ts(&c.validity().not_after),
            spki: c.public_key().raw.to_vec(),
            key_bits: c.public_key().subject_public_key.data.to_vec(),
            ski,
            subject: c.subject().to_string(),
            common_name: attr(&o::OID_X509_COMMON_NAME),
            given_name: attr(&o::OID_X509_GIVEN_NAME),
            surname: attr(&o::OID_X509_SURNAME),
            serial_number_attr: attr(&o::OID_X509_SERIALNUMBER),
            is_ca: c.is_ca(),
            tbs_range: start..start + tbs.len(),
            sig_oid: c.signature_algorithm.algorithm.to_id_string(),
            sig_params: outer_alg_params(der_bytes),
            sig_value: c.signature_value.data.to_vec(),
        })
    }

    /// Parses PEM (one or more certificates) or DER.
    pub fn parse_any(bytes: &[u8]) -> Vec<Cert> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            if text.contains("-----BEGIN CERTIFICATE-----") {
                let mut out = Vec::new();
                for part in text.split("-----BEGIN CERTIFICATE-----").skip(1) {
                    let body = part.split("-----END CERTIFICATE-----").next().unwrap_or("");
                    if let Some(der) = b64(body) {
                        if let Ok(c) = Cert::from_der(&der) {
                            out.push(c);
                        }
                    }
                }
                return out;
            }
            if let Some(der) = b64(text) {
                if let Ok(c) = Cert::from_der(&der) {
                    return vec![c];
                }
            }
        }
        Cert::from_der(bytes).map(|c| vec![c]).unwrap_or_default()
    }

    /// Whether `issuer`'s key signed this certificate.
    pub fn signed_by(&self, issuer: &Cert) -> Result<(), SigError> {
        let alg = SigAlg::from_oid(&self.sig_oid, self.sig_params.as_deref(), None)
            .ok_or_else(|| SigError::Unsupported(self.sig_oid.clone()))?;
        verify(
            &issuer.spki,
            alg,
            &self.der[self.tbs_range.clone()],
            &self.sig_value,
            false,
        )
    }

    pub fn valid_at(&self, t: jiff::Timestamp) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// The signer's name: given name and surname, else the common name.
    pub fn person_name(&self) -> String {
        match (&self.given_name, &self.surname) {
            (Some(g), Some(s)) => format!("{g} {s}"),
            _ => self
                .common_name
                .clone()
                .unwrap_or_else(|| self.subject.clone()),
        }
    }

    /// The personal code of the subject's serialNumber (`PNOEE-…` or an
    /// 11-digit code of older certificates), else the attribute as it is.
    pub fn person_code(&self) -> Option<String> {
        let s = self.serial_number_attr.as_deref()?.trim();
        Some(
            s.strip_prefix("PNOEE-")
                .or_else(|| s.strip_prefix("IDCEE-"))
                .unwrap_or(s)
                .to_string(),
        )
    }

    /// SHA-1 of the subject public key (OCSP `byKey`, key identifiers).
    pub fn key_hash(&self) -> Vec<u8> {
        DigestAlg::Sha1.digest(&self.key_bits)
    }
}

/// The parameters of a certificate's outer signatureAlgorithm (RSA-PSS needs them).
fn outer_alg_params(cert: &[u8]) -> Option<Vec<u8>> {
    let t = der::expect(cert, 0x30).ok()?;
    let kids = der::children(t.content).ok()?;
    let alg = der::children(kids.get(1)?.content).ok()?;
    alg.get(1).map(|p| p.raw.to_vec())
}

/// Base64 with whitespace ignored.
pub fn b64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// The configured trust anchors: certificates whose signatures are trusted
/// without a further chain (CA, OCSP responder and TSA certificates).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    pub anchors: Vec<Cert>,
}

impl TrustStore {
    /// Reads every certificate (PEM or DER) of the files in `dir`; files that hold
    /// no certificate are skipped.
    pub fn from_dir(dir: &std::path::Path) -> std::io::Result<TrustStore> {
        let mut anchors = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries.into_iter().take(10_000) {
            if !e.file_type()?.is_file() || e.metadata()?.len() > 1 << 20 {
                continue;
            }
            anchors.extend(Cert::parse_any(&std::fs::read(e.path())?));
        }
        Ok(TrustStore { anchors })
    }

    pub fn is_anchor(&self, c: &Cert) -> bool {
        self.anchors.iter().any(|a| a == c)
    }
}

/// How a chain ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    /// Reached an anchor, each link's signature checked.
    Trusted,
    /// No issuer was found among the anchors and the given certificates.
    NoAnchor { last_issuer: String },
    /// A link's signature is wrong.
    BadLink { subject: String },
    /// A link's algorithm cannot be checked here.
    Unsupported { subject: String, what: String },
}

impl Chain {
    /// The reason this chain gives, if any: `untrusted_code` when no anchor was
    /// reached; `who` names the certificate in Estonian and English.
    pub fn reason(&self, untrusted_code: &'static str, who: (&str, &str)) -> Option<super::Reason> {
        use super::{Reason, Status};
        let (et, en) = who;
        match self {
            Chain::Trusted => None,
            Chain::BadLink { subject } => Some(Reason::new(
                "chain_broken",
                Status::Invalid,
                format!("{et}: sertifikaadiahel on katki, {subject} allkiri ei klapi ({en}: certificate chain broken)"),
            )),
            Chain::NoAnchor { last_issuer } => Some(Reason::new(
                untrusted_code,
                Status::Indeterminate,
                format!("{et}: väljaandja {last_issuer} ei ole usaldusankrute hulgas ({en}: issuer not in the trust store)"),
            )),
            Chain::Unsupported { subject, what } => Some(Reason::new(
                "algorithm_unsupported",
                Status::Indeterminate,
                format!("{et}: ahela lüli {subject} algoritmi ei saa kontrollida: {what} ({en}: unsupported algorithm in the chain)"),
            )),
        }
    }
}

/// Builds the chain of `cert` through `pool` to an anchor of `trust`.
pub fn chain(cert: &Cert, pool: &[Cert], trust: &TrustStore) -> Chain {
    let mut cur = cert.clone();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    for _ in 0..8 {
        if trust.is_anchor(&cur) {
            return Chain::Trusted;
        }
        if !seen.insert(cur.der.clone()) {
            break;
        }
        let candidates = trust
            .anchors
            .iter()
            .chain(pool.iter())
            .filter(|c| c.subject_raw == cur.issuer_raw && **c != cur);
        let mut found = None;
        let mut bad = false;
        let mut unsupported = None;
        for cand in candidates {
            match cur.signed_by(cand) {
                Ok(()) => {
                    found = Some(cand.clone());
                    break;
                }
                Err(SigError::Bad) => bad = true,
                Err(SigError::Unsupported(what)) => unsupported = Some(what),
            }
        }
        match found {
            Some(next) => cur = next,
            None if bad => {
                return Chain::BadLink {
                    subject: cur.subject.clone(),
                }
            }
            None => {
                if let Some(what) = unsupported {
                    return Chain::Unsupported {
                        subject: cur.subject.clone(),
                        what,
                    };
                }
                break;
            }
        }
    }
    Chain::NoAnchor {
        last_issuer: x509_name(&cur.issuer_raw),
    }
}

/// A distinguished name's text from its DER.
pub fn x509_name(raw: &[u8]) -> String {
    X509Name::from_der(raw)
        .map(|(_, n)| n.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::rsa_components;

    /// An RSAPublicKey of the two INTEGER contents given.
    fn key(n: &[u8], e: &[u8]) -> Vec<u8> {
        let int = |c: &[u8]| {
            let mut v = vec![0x02, 0x82, (c.len() >> 8) as u8, c.len() as u8];
            v.extend_from_slice(c);
            v
        };
        let body = [int(n), int(e)].concat();
        let mut v = vec![0x30, 0x82, (body.len() >> 8) as u8, body.len() as u8];
        v.extend(body);
        v
    }

    #[test]
    fn rsa_key_integers_are_read_as_unsigned_magnitudes() {
        let modulus: Vec<u8> = (0..256).map(|i| (i as u8) | 0x01).collect();
        let mut high = modulus.clone();
        high[0] = 0xda;
        // ESTEID-SK 2007: the 0x00 DER wants before 0xda is missing.
        let der = key(&high, &[0x27, 0x35, 0x93, 0x83]);
        let (n, e) = rsa_components(&der).unwrap();
        assert_eq!((n, e), (&high[..], &[0x27, 0x35, 0x93, 0x83][..]));
        // ESTEID-SK 2011: a 0x00 DER forbids before 0x76.
        let mut low = vec![0x00];
        low.extend_from_slice(&modulus);
        low[1] = 0x76;
        let der = key(&low, &[0x01, 0x00, 0x01]);
        let (n, _) = rsa_components(&der).unwrap();
        assert_eq!(n, &low[1..]);
        // Anything else than two INTEGERs is refused.
        assert!(rsa_components(&key(&[0x00], &[0x03])).is_err());
        assert!(rsa_components(b"\x30\x03\x02\x01\x05").is_err());
        assert!(rsa_components(b"").is_err());
    }
}
