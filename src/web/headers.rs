//! Header values built from what a client or a sender chose (a file name, a
//! redirect target): the one place they are made safe. No other code puts input
//! into a header.

use axum::http::HeaderValue;

/// Longest accepted redirect target, in bytes.
pub const MAX_REDIRECT_BYTES: usize = 2048;

/// `back` if it is a local path of this site, else None (the caller falls back to
/// its own page). A local path starts with one `/` followed by anything but `/`
/// or `\` (or is `/` alone), and holds no control character, whitespace or
/// backslash anywhere: browsers drop tabs and newlines and read `\` as `/`, so
/// `/\t/evil.example` and `/\evil.example` would leave the site.
pub fn local_redirect(back: &str) -> Option<&str> {
    if back.is_empty() || back.len() > MAX_REDIRECT_BYTES || !back.starts_with('/') {
        return None;
    }
    if matches!(back.as_bytes().get(1), Some(b'/') | Some(b'\\')) {
        return None;
    }
    if back
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    // What remains must also be a valid header value (it is: visible ASCII or
    // UTF-8 without controls), checked rather than assumed.
    HeaderValue::from_str(back).ok()?;
    Some(back)
}

/// RFC 5987 `attr-char`: what `filename*` keeps unescaped.
fn attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// `Content-Disposition: attachment` for a download named `name` (RFC 6266): an
/// ASCII fallback in quotes (anything else, quotes and backslashes become `_`)
/// and the exact UTF-8 name as `filename*=UTF-8''…` (RFC 5987). Control
/// characters are dropped and the name is cut at 200 characters first, so the
/// value is always valid, whatever the name.
pub fn content_disposition(name: &str) -> HeaderValue {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim();
    let clean = if clean.is_empty() { "fail" } else { clean };
    let ascii: String = clean
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = clean
        .bytes()
        .map(|b| {
            if attr_char(b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_site() {
        for ok in [
            "/",
            "/documents/5",
            "/avalik?q=ohver&offset=20",
            "/search?q=%C3%B5",
        ] {
            assert_eq!(local_redirect(ok), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/x\r\nSet-Cookie: a=b",
            "/ /evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "\\\\evil.example",
            "/a\\b",
            "/\u{85}x",
        ] {
            assert_eq!(local_redirect(bad), None, "{bad:?}");
        }
        assert_eq!(local_redirect(&format!("/{}", "a".repeat(5000))), None);
    }

    #[test]
    fn content_disposition_is_always_a_valid_quoted_and_encoded_value() {
        let v = content_disposition("Avaldus Jüri \"x\".pdf");
        let s = v.to_str().unwrap();
        assert_eq!(
            s,
            "attachment; filename=\"Avaldus J_ri _x_.pdf\"; filename*=UTF-8''Avaldus%20J%C3%BCri%20%22x%22.pdf"
        );
        // controls are dropped: no header splitting, no 500
        let v = content_disposition("a\r\nSet-Cookie: x=y\0.txt");
        let s = v.to_str().unwrap();
        assert!(
            !s.contains('\r') && !s.contains('\n') && !s.contains('\0'),
            "{s}"
        );
        assert!(
            s.contains("filename*=UTF-8''aSet-Cookie%3A%20x%3Dy.txt"),
            "{s}"
        );
        // a quote or backslash cannot end the quoted fallback early
        let s = content_disposition("a\\\"b").to_str().unwrap().to_string();
        assert!(s.starts_with("attachment; filename=\"a__b\";"), "{s}");
        assert_eq!(
            content_disposition("\u{1}\u{2}").to_str().unwrap(),
            "attachment; filename=\"fail\"; filename*=UTF-8''fail"
        );
        let long = content_disposition(&"ä".repeat(10_000));
        assert!(long.len() < 2000, "{}", long.len());
    }
}
