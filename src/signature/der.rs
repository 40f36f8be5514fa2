//! A small BER/DER reader for the parts of time-stamp tokens and OCSP responses
//! that certificates libraries do not cover (CMS SignedData, BasicOCSPResponse).
//!
//! Untrusted input: lengths are checked against the buffer, nesting of
//! indefinite-length values is bounded by [`MAX_DEPTH`], and nothing is copied.

/// Deepest nesting of indefinite-length values followed.
pub const MAX_DEPTH: usize = 64;

/// One BER value: its tag byte (low-tag-number form only), the whole encoding
/// and its content (for indefinite length, without the end-of-contents octets).
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub content: &'a [u8],
}

/// Why a BER value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerError(pub &'static str);

type R<T> = Result<T, DerError>;

/// Reads one value from the start of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> R<(Tlv<'_>, &[u8])> {
    read_at(input, 0)
}

fn read_at(input: &[u8], depth: usize) -> R<(Tlv<'_>, &[u8])> {
    if depth > MAX_DEPTH {
        return Err(DerError("nesting too deep"));
    }
    let tag = *input.first().ok_or(DerError("truncated tag"))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError("high tag numbers are not used here"));
    }
    let l0 = *input.get(1).ok_or(DerError("truncated length"))?;
    let mut pos = 2usize;
    if l0 == 0x80 {
        // Indefinite length (BER): constructed only; children until 00 00.
        if tag & 0x20 == 0 {
            return Err(DerError("indefinite length of a primitive value"));
        }
        let start = pos;
        let mut rest = &input[pos..];
        loop {
            if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                let content_end = input.len() - rest.len();
                let end = content_end + 2;
                return Ok((
                    Tlv {
                        tag,
                        raw: &input[..end],
                        content: &input[start..content_end],
                    },
                    &input[end..],
                ));
            }
            let (_, r) = read_at(rest, depth + 1)?;
            rest = r;
        }
    }
    let len = if l0 & 0x80 == 0 {
        l0 as usize
    } else {
        let n = (l0 & 0x7f) as usize;
        if n > 4 {
            return Err(DerError("length too large"));
        }
        let mut len = 0usize;
        for _ in 0..n {
            let b = *input.get(pos).ok_or(DerError("truncated length"))?;
            len = (len << 8) | b as usize;
            pos += 1;
        }
        len
    };
    let end = pos.checked_add(len).ok_or(DerError("length overflow"))?;
    if end > input.len() {
        return Err(DerError("value runs past its container"));
    }
    Ok((
        Tlv {
            tag,
            raw: &input[..end],
            content: &input[pos..end],
        },
        &input[end..],
    ))
}

/// The children of a constructed value.
pub fn children(content: &[u8]) -> R<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        let (t, r) = read(rest)?;
        out.push(t);
        rest = r;
        if out.len() > 100_000 {
            return Err(DerError("too many elements"));
        }
    }
    Ok(out)
}

/// Reads exactly one value of tag `tag` filling `input`.
pub fn expect(input: &[u8], tag: u8) -> R<Tlv<'_>> {
    let (t, rest) = read(input)?;
    if t.tag != tag {
        return Err(DerError("unexpected tag"));
    }
    if !rest.is_empty() {
        return Err(DerError("trailing bytes"));
    }
    Ok(t)
}

/// The children of `t`, which must have tag `tag`.
pub fn seq<'a>(t: &Tlv<'a>, tag: u8) -> R<Vec<Tlv<'a>>> {
    if t.tag != tag {
        return Err(DerError("unexpected tag"));
    }
    children(t.content)
}

/// The content of an OCTET STRING, primitive or (BER) constructed of primitive parts.
pub fn octets(t: &Tlv<'_>) -> R<Vec<u8>> {
    match t.tag {
        0x04 => Ok(t.content.to_vec()),
        0x24 => {
            let mut out = Vec::new();
            for c in children(t.content)? {
                out.extend(octets(&c)?);
            }
            Ok(out)
        }
        _ => Err(DerError("not an octet string")),
    }
}

/// A dotted object identifier.
pub fn oid(t: &Tlv<'_>) -> R<String> {
    if t.tag != 0x06 || t.content.is_empty() {
        return Err(DerError("not an object identifier"));
    }
    let mut parts: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for (i, b) in t.content.iter().enumerate() {
        if v > (u64::MAX >> 8) {
            return Err(DerError("object identifier arc too large"));
        }
        v = (v << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = (v / 40).min(2);
                parts.push(first);
                parts.push(v - first * 40);
            } else {
                parts.push(v);
            }
            v = 0;
        } else if i + 1 == t.content.len() {
            return Err(DerError("truncated object identifier"));
        }
    }
    Ok(parts
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("."))
}

/// A GeneralizedTime (`YYYYMMDDHHMMSS[.f]Z`) as a timestamp.
pub fn generalized_time(t: &Tlv<'_>) -> R<jiff::Timestamp> {
    if t.tag != 0x18 {
        return Err(DerError("not a GeneralizedTime"));
    }
    let s = std::str::from_utf8(t.content).map_err(|_| DerError("time not ASCII"))?;
    let s = s.strip_suffix('Z').ok_or(DerError("time not in UTC"))?;
    let (main, _frac) = s.split_once('.').unwrap_or((s, ""));
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DerError("malformed GeneralizedTime"));
    }
    let n = |a: usize, b: usize| main[a..b].parse::<i16>().unwrap_or(0);
    let dt = jiff::civil::DateTime::new(
        n(0, 4),
        n(4, 6) as i8,
        n(6, 8) as i8,
        n(8, 10) as i8,
        n(10, 12) as i8,
        n(12, 14) as i8,
        0,
    )
    .map_err(|_| DerError("impossible date"))?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|_| DerError("impossible date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite_lengths() {
        // SEQUENCE (indefinite) { INTEGER 5, OCTET STRING "ab" } 00 00
        let ber = [
            0x30, 0x80, 0x02, 0x01, 0x05, 0x04, 0x02, b'a', b'b', 0, 0, 0xff,
        ];
        let (t, rest) = read(&ber).unwrap();
        assert_eq!(rest, &[0xff]);
        let kids = children(t.content).unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(octets(&kids[1]).unwrap(), b"ab");
    }

    #[test]
    fn lengths_past_the_buffer_are_refused() {
        assert!(read(&[0x04, 0x05, 1, 2]).is_err());
        assert!(read(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(read(&[0x30, 0x80, 0x02, 0x01]).is_err());
    }

    #[test]
    fn oids_and_times() {
        let t = expect(&[0x06, 0x03, 0x55, 0x04, 0x03], 0x06).unwrap();
        assert_eq!(oid(&t).unwrap(), "2.5.4.3");
        let g = b"\x18\x0f20180102030405Z";
        let t = expect(g, 0x18).unwrap();
        assert_eq!(
            generalized_time(&t).unwrap().to_string(),
            "2018-01-02T03:04:05Z"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok((t, _)) = read(&bytes) {
                let _ = children(t.content);
                let _ = oid(&t);
                let _ = octets(&t);
                let _ = generalized_time(&t);
            }
        }
    }
}
