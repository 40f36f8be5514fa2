//! OCSP responses (RFC 6960) and time-stamp tokens (RFC 3161, CMS SignedData),
//! read with the bounded reader of [`super::der`] and checked with [`super::pki`].

use super::der::{self, Tlv};
use super::pki::{self, Cert, DigestAlg, SigAlg};

/// Largest OCSP response or time-stamp token read.
pub const MAX_TOKEN_BYTES: usize = 256 * 1024;

/// A certificate's status in an OCSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertStatus {
    Good,
    Revoked(Option<jiff::Timestamp>),
    Unknown,
}

/// A parsed BasicOCSPResponse.
#[derive(Debug, Clone)]
pub struct Ocsp {
    pub produced_at: jiff::Timestamp,
    /// `byName` (raw DER name) or `byKey` (SHA-1 of the key).
    pub responder_name: Option<Vec<u8>>,
    pub responder_key: Option<Vec<u8>>,
    pub certs: Vec<Cert>,
    pub responses: Vec<SingleResponse>,
    pub nonce: Option<Vec<u8>>,
    tbs: Vec<u8>,
    sig_oid: String,
    sig_params: Option<Vec<u8>>,
    signature: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct SingleResponse {
    pub hash: Option<DigestAlg>,
    pub issuer_name_hash: Vec<u8>,
    pub issuer_key_hash: Vec<u8>,
    pub serial: Vec<u8>,
    pub status: CertStatus,
}

fn e(m: &'static str) -> String {
    m.to_string()
}

fn alg_id(t: &Tlv<'_>) -> Result<(String, Option<Vec<u8>>), String> {
    let kids = der::seq(t, 0x30).map_err(|x| e(x.0))?;
    let oid = der::oid(kids.first().ok_or_else(|| e("empty algorithm"))?).map_err(|x| e(x.0))?;
    Ok((oid, kids.get(1).map(|p| p.raw.to_vec())))
}

fn bit_string(t: &Tlv<'_>) -> Result<Vec<u8>, String> {
    if t.tag != 0x03 || t.content.is_empty() {
        return Err(e("not a bit string"));
    }
    Ok(t.content[1..].to_vec())
}

/// Parses an OCSPResponse (or a bare BasicOCSPResponse).
pub fn parse_ocsp(bytes: &[u8]) -> Result<Ocsp, String> {
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(e("OCSP response too large"));
    }
    let top = der::expect(bytes, 0x30).map_err(|x| e(x.0))?;
    let kids = der::children(top.content).map_err(|x| e(x.0))?;
    let basic_der: Vec<u8>;
    let basic = if kids.first().map(|k| k.tag) == Some(0x0a) {
        if kids[0].content != [0] {
            return Err(format!("OCSP response status {:?}", kids[0].content));
        }
        let rb = kids.get(1).ok_or_else(|| e("no responseBytes"))?;
        let rb = der::expect(rb.content, 0x30).map_err(|x| e(x.0))?;
        let rbk = der::children(rb.content).map_err(|x| e(x.0))?;
        let ty = der::oid(rbk.first().ok_or_else(|| e("no responseType"))?).map_err(|x| e(x.0))?;
        if ty != "1.3.6.1.5.5.7.48.1.1" {
            return Err(format!("unknown OCSP response type {ty}"));
        }
        basic_der = der::octets(rbk.get(1).ok_or_else(|| e("no response"))?).map_err(|x| e(x.0))?;
        let t = der::expect(&basic_der, 0x30).map_err(|x| e(x.0))?;
        der::children(t.content).map_err(|x| e(x.0))?
    } else {
        kids
    };
    let tbs = basic.first().ok_or_else(|| e("no tbsResponseData"))?;
    let (sig_oid, sig_params) = alg_id(basic.get(1).ok_or_else(|| e("no signatureAlgorithm"))?)?;
    let signature = bit_string(basic.get(2).ok_or_else(|| e("no signature"))?)?;
    let mut certs = Vec::new();
    if let Some(c) = basic.get(3).filter(|c| c.tag == 0xa0) {
        let s = der::expect(c.content, 0x30).map_err(|x| e(x.0))?;
        for cert in der::children(s.content)
            .map_err(|x| e(x.0))?
            .iter()
            .take(16)
        {
            certs.push(Cert::from_der(cert.raw)?);
        }
    }
    let data = der::seq(tbs, 0x30).map_err(|x| e(x.0))?;
    let mut i = 0;
    if data.first().map(|d| d.tag) == Some(0xa0) {
        i += 1;
    }
    let rid = data.get(i).ok_or_else(|| e("no responderID"))?;
    let (mut responder_name, mut responder_key) = (None, None);
    match rid.tag {
        0xa1 => responder_name = Some(rid.content.to_vec()),
        0xa2 => {
            responder_key = Some(
                der::octets(&der::expect(rid.content, 0x04).map_err(|x| e(x.0))?)
                    .map_err(|x| e(x.0))?,
            )
        }
        _ => return Err(e("bad responderID")),
    }
    let produced_at = der::generalized_time(data.get(i + 1).ok_or_else(|| e("no producedAt"))?)
        .map_err(|x| e(x.0))?;
    let mut responses = Vec::new();
    for sr in der::seq(data.get(i + 2).ok_or_else(|| e("no responses"))?, 0x30)
        .map_err(|x| e(x.0))?
        .iter()
        .take(64)
    {
        let f = der::seq(sr, 0x30).map_err(|x| e(x.0))?;
        let cid = der::seq(f.first().ok_or_else(|| e("no certID"))?, 0x30).map_err(|x| e(x.0))?;
        if cid.len() < 4 {
            return Err(e("short certID"));
        }
        let (h, _) = alg_id(&cid[0])?;
        let status = match f.get(1).map(|s| s.tag) {
            Some(0x80) => CertStatus::Good,
            Some(0xa1) => {
                let when = der::children(f[1].content)
                    .ok()
                    .and_then(|k| k.first().and_then(|t| der::generalized_time(t).ok()));
                CertStatus::Revoked(when)
            }
            _ => CertStatus::Unknown,
        };
        responses.push(SingleResponse {
            hash: DigestAlg::from_oid(&h),
            issuer_name_hash: der::octets(&cid[1]).map_err(|x| e(x.0))?,
            issuer_key_hash: der::octets(&cid[2]).map_err(|x| e(x.0))?,
            serial: cid[3].content.to_vec(),
            status,
        });
    }
    let mut nonce = None;
    for ext in data.iter().skip(i + 3).filter(|t| t.tag == 0xa1) {
        let list = der::expect(ext.content, 0x30).map_err(|x| e(x.0))?;
        for x in der::children(list.content).map_err(|x| e(x.0))? {
            let xk = der::seq(&x, 0x30).map_err(|x| e(x.0))?;
            if xk.first().and_then(|o| der::oid(o).ok()).as_deref() == Some("1.3.6.1.5.5.7.48.1.2")
            {
                if let Some(v) = xk.last() {
                    nonce = Some(der::octets(v).map_err(|x| e(x.0))?);
                }
            }
        }
    }
    Ok(Ocsp {
        produced_at,
        responder_name,
        responder_key,
        certs,
        responses,
        nonce,
        tbs: tbs.raw.to_vec(),
        sig_oid,
        sig_params,
        signature,
    })
}

impl Ocsp {
    /// The responder's certificate among `pool` (this response's certificates first).
    pub fn responder<'c>(&'c self, pool: &'c [Cert]) -> Option<&'c Cert> {
        self.certs.iter().chain(pool.iter()).find(|c| {
            self.responder_name.as_deref() == Some(&c.subject_raw[..])
                || self.responder_key.as_deref() == Some(&c.key_hash()[..])
        })
    }

    /// Whether `cert` signed this response.
    pub fn signed_by(&self, cert: &Cert) -> Result<(), pki::SigError> {
        let alg = SigAlg::from_oid(&self.sig_oid, self.sig_params.as_deref(), None)
            .ok_or_else(|| pki::SigError::Unsupported(self.sig_oid.clone()))?;
        pki::verify(&cert.spki, alg, &self.tbs, &self.signature, false)
    }

    /// The single response about `cert` issued by `issuer` (serial and issuer hashes
    /// match; without the issuer only the serial).
    pub fn status_of(&self, cert: &Cert, issuer: Option<&Cert>) -> Option<&SingleResponse> {
        self.responses.iter().find(|r| {
            strip0(&r.serial) == strip0(&cert.serial)
                && match (issuer, r.hash) {
                    (Some(i), Some(h)) => {
                        h.digest(&i.subject_raw) == r.issuer_name_hash
                            && h.digest(&i.key_bits) == r.issuer_key_hash
                    }
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        })
    }
}

fn strip0(v: &[u8]) -> &[u8] {
    let n = v.iter().take_while(|b| **b == 0).count();
    &v[n.min(v.len().saturating_sub(1))..]
}

/// A parsed RFC 3161 time-stamp token.
#[derive(Debug, Clone)]
pub struct TimeStamp {
    pub gen_time: jiff::Timestamp,
    pub imprint_alg: Option<DigestAlg>,
    pub imprint: Vec<u8>,
    pub certs: Vec<Cert>,
    /// The signer: issuer name + serial, or subject key identifier.
    sid_issuer_serial: Option<(Vec<u8>, Vec<u8>)>,
    sid_ski: Option<Vec<u8>>,
    digest_alg: Option<DigestAlg>,
    signed_attrs: Option<Vec<u8>>,
    message_digest: Option<Vec<u8>>,
    /// The ESS signing-certificate attribute's hash of the TSA's certificate
    /// (signingCertificate: SHA-1; signingCertificateV2: its algorithm).
    ess_cert_hash: Option<(Option<DigestAlg>, Vec<u8>)>,
    econtent: Vec<u8>,
    sig_oid: String,
    sig_params: Option<Vec<u8>>,
    signature: Vec<u8>,
}

/// Parses a time-stamp token (ContentInfo with SignedData over TSTInfo).
pub fn parse_timestamp(bytes: &[u8]) -> Result<TimeStamp, String> {
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(e("time-stamp token too large"));
    }
    let (ci, _) = der::read(bytes).map_err(|x| e(x.0))?;
    let ck = der::seq(&ci, 0x30).map_err(|x| e(x.0))?;
    if ck.first().and_then(|o| der::oid(o).ok()).as_deref() != Some("1.2.840.113549.1.7.2") {
        return Err(e("not CMS SignedData"));
    }
    let wrapped = ck
        .get(1)
        .filter(|t| t.tag == 0xa0)
        .ok_or_else(|| e("no content"))?;
    let (sd, _) = der::read(wrapped.content).map_err(|x| e(x.0))?;
    let sk = der::seq(&sd, 0x30).map_err(|x| e(x.0))?;
    let encap =
        der::seq(sk.get(2).ok_or_else(|| e("no encapContentInfo"))?, 0x30).map_err(|x| e(x.0))?;
    if encap.first().and_then(|o| der::oid(o).ok()).as_deref() != Some("1.2.840.113549.1.9.16.1.4")
    {
        return Err(e("not a TSTInfo"));
    }
    let ec = encap
        .get(1)
        .filter(|t| t.tag == 0xa0)
        .ok_or_else(|| e("no eContent"))?;
    let (oct, _) = der::read(ec.content).map_err(|x| e(x.0))?;
    let econtent = der::octets(&oct).map_err(|x| e(x.0))?;
    let tst = der::expect(&econtent, 0x30).map_err(|x| e(x.0))?;
    let tk = der::children(tst.content).map_err(|x| e(x.0))?;
    let mi =
        der::seq(tk.get(2).ok_or_else(|| e("no messageImprint"))?, 0x30).map_err(|x| e(x.0))?;
    let (mi_alg, _) = alg_id(mi.first().ok_or_else(|| e("no imprint algorithm"))?)?;
    let imprint = der::octets(mi.get(1).ok_or_else(|| e("no imprint"))?).map_err(|x| e(x.0))?;
    let gen_time =
        der::generalized_time(tk.get(4).ok_or_else(|| e("no genTime"))?).map_err(|x| e(x.0))?;
    let mut certs = Vec::new();
    let mut rest = &sk[3..];
    if let Some(c) = rest.first().filter(|c| c.tag == 0xa0) {
        for cert in der::children(c.content)
            .map_err(|x| e(x.0))?
            .iter()
            .take(16)
        {
            if cert.tag == 0x30 {
                certs.push(Cert::from_der(cert.raw)?);
            }
        }
        rest = &rest[1..];
    }
    if rest.first().map(|c| c.tag) == Some(0xa1) {
        rest = &rest[1..];
    }
    let infos =
        der::seq(rest.first().ok_or_else(|| e("no signerInfos"))?, 0x31).map_err(|x| e(x.0))?;
    if infos.len() != 1 {
        return Err(format!("{} signer infos", infos.len()));
    }
    let si = der::seq(&infos[0], 0x30).map_err(|x| e(x.0))?;
    if si.len() < 5 {
        return Err(e("short signerInfo"));
    }
    let (mut sid_issuer_serial, mut sid_ski) = (None, None);
    match si[1].tag {
        0x30 => {
            let k = der::children(si[1].content).map_err(|x| e(x.0))?;
            if k.len() == 2 {
                sid_issuer_serial = Some((k[0].raw.to_vec(), k[1].content.to_vec()));
            }
        }
        0x80 => sid_ski = Some(si[1].content.to_vec()),
        _ => return Err(e("bad signer identifier")),
    }
    let (dalg, _) = alg_id(&si[2])?;
    let mut j = 3;
    let (mut signed_attrs, mut message_digest, mut ess_cert_hash) = (None, None, None);
    if si[j].tag == 0xa0 {
        let mut as_set = si[j].raw.to_vec();
        as_set[0] = 0x31;
        signed_attrs = Some(as_set);
        for a in der::children(si[j].content).map_err(|x| e(x.0))? {
            let ak = der::seq(&a, 0x30).map_err(|x| e(x.0))?;
            if ak.first().and_then(|o| der::oid(o).ok()).as_deref() == Some("1.2.840.113549.1.9.4")
            {
                let vals = der::seq(ak.get(1).ok_or_else(|| e("empty attribute"))?, 0x31)
                    .map_err(|x| e(x.0))?;
                message_digest = vals.first().and_then(|v| der::octets(v).ok());
            }
            let oid = ak.first().and_then(|o| der::oid(o).ok());
            let v2 = oid.as_deref() == Some("1.2.840.113549.1.9.16.2.47");
            if v2 || oid.as_deref() == Some("1.2.840.113549.1.9.16.2.12") {
                ess_cert_hash = ess_first_hash(ak.get(1), v2);
            }
        }
        j += 1;
    }
    let (sig_oid, sig_params) = alg_id(si.get(j).ok_or_else(|| e("no signatureAlgorithm"))?)?;
    let signature =
        der::octets(si.get(j + 1).ok_or_else(|| e("no signature"))?).map_err(|x| e(x.0))?;
    Ok(TimeStamp {
        gen_time,
        imprint_alg: DigestAlg::from_oid(&mi_alg),
        imprint,
        certs,
        sid_issuer_serial,
        sid_ski,
        digest_alg: DigestAlg::from_oid(&dalg),
        signed_attrs,
        message_digest,
        ess_cert_hash,
        econtent,
        sig_oid,
        sig_params,
        signature,
    })
}

/// The first ESSCertID(v2)'s hash in a signing-certificate attribute's value
/// set (None when it cannot be read: then nothing is checked against it).
fn ess_first_hash(values: Option<&der::Tlv<'_>>, v2: bool) -> Option<(Option<DigestAlg>, Vec<u8>)> {
    let vals = der::seq(values?, 0x31).ok()?;
    let sc = der::seq(vals.first()?, 0x30).ok()?;
    let certs = der::seq(sc.first()?, 0x30).ok()?;
    let id = der::seq(certs.first()?, 0x30).ok()?;
    if !v2 {
        return Some((Some(DigestAlg::Sha1), der::octets(id.first()?).ok()?));
    }
    // ESSCertIDv2: hashAlgorithm DEFAULT SHA-256, then certHash.
    match id.first()? {
        t if t.tag == 0x30 => {
            let (oid, _) = alg_id(t).ok()?;
            Some((DigestAlg::from_oid(&oid), der::octets(id.get(1)?).ok()?))
        }
        t => Some((Some(DigestAlg::Sha256), der::octets(t).ok()?)),
    }
}

impl TimeStamp {
    /// The TSA's certificate among this token's certificates and `pool`.
    pub fn signer<'c>(&'c self, pool: &'c [Cert]) -> Option<&'c Cert> {
        self.certs.iter().chain(pool.iter()).find(|c| {
            if let Some((issuer, serial)) = &self.sid_issuer_serial {
                &c.issuer_raw == issuer && strip0(&c.serial) == strip0(serial)
            } else if let Some(ski) = &self.sid_ski {
                c.ski.as_deref() == Some(&ski[..]) || &c.key_hash() == ski
            } else {
                false
            }
        })
    }

    /// Whether `cert` signed the token (signed attributes with the content's
    /// digest, or the content itself).
    pub fn signed_by(&self, cert: &Cert) -> Result<(), String> {
        let d = self
            .digest_alg
            .ok_or_else(|| e("unknown digest algorithm"))?;
        let alg = SigAlg::from_oid(&self.sig_oid, self.sig_params.as_deref(), Some(d))
            .ok_or_else(|| format!("unsupported algorithm {}", self.sig_oid))?;
        let msg = match &self.signed_attrs {
            Some(attrs) => {
                if self.message_digest.as_deref() != Some(&d.digest(&self.econtent)[..]) {
                    return Err(e("messageDigest does not match the TSTInfo"));
                }
                attrs.as_slice()
            }
            None => self.econtent.as_slice(),
        };
        if let Some((alg, hash)) = &self.ess_cert_hash {
            // The signed attributes name the TSA's certificate: it must be this one.
            let alg = alg.ok_or_else(|| e("unknown signing-certificate hash algorithm"))?;
            if alg.digest(&cert.der) != *hash {
                return Err(e(
                    "the signing-certificate attribute names another certificate than the TSA's",
                ));
            }
        }
        pki::verify(&cert.spki, alg, msg, &self.signature, false).map_err(|x| format!("{x:?}"))
    }

    /// Whether the token's imprint is the digest of `data`.
    pub fn covers(&self, data: &[u8]) -> bool {
        self.imprint_alg
            .is_some_and(|a| a.digest(data) == self.imprint)
    }
}
