//! HTML to plain text. The register never shows raw HTML: mail bodies that are
//! only HTML are converted here, and what the converter cannot handle is
//! stripped of its tags by a small state machine instead.

/// Largest HTML handed to html2text; larger input is tag-stripped instead.
const MAX_HTML2TEXT: usize = 4 * 1024 * 1024;

/// Converts HTML to readable plain text (never panics: a failing converter falls
/// back to tag stripping).
pub fn html_to_text(html: &str) -> String {
    if html.len() <= MAX_HTML2TEXT {
        let r = super::catch("html2text", || html2text::from_read(html.as_bytes(), 100));
        if let Ok(Ok(text)) = r {
            return tidy(&text);
        }
    }
    tidy(&strip_tags(html))
}

/// Removes tags, comments, scripts and styles; decodes the common entities.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    let b = html.as_bytes();
    while i < b.len() {
        if b[i] == b'<' {
            let rest = &lower[i..];
            let skip_to = if rest.starts_with("<!--") {
                rest.find("-->").map(|p| i + p + 3)
            } else if rest.starts_with("<script") {
                rest.find("</script")
                    .and_then(|p| lower[i + p..].find('>').map(|q| i + p + q + 1))
            } else if rest.starts_with("<style") {
                rest.find("</style")
                    .and_then(|p| lower[i + p..].find('>').map(|q| i + p + q + 1))
            } else {
                rest.find('>').map(|p| i + p + 1)
            };
            let end = skip_to.unwrap_or(b.len());
            let tag = &lower[i..end.min(lower.len())];
            if tag.starts_with("<br")
                || tag.starts_with("<p")
                || tag.starts_with("</p")
                || tag.starts_with("<div")
                || tag.starts_with("</div")
                || tag.starts_with("<tr")
                || tag.starts_with("<li")
            {
                out.push('\n');
            }
            i = end;
        } else {
            let next = html[i..].find('<').map(|p| i + p).unwrap_or(b.len());
            out.push_str(&decode_entities(&html[i..next]));
            i = next;
        }
    }
    out
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest.find(';').filter(|&e| e <= 10);
        let Some(e) = end else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..e];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Trims trailing spaces of lines and collapses runs of blank lines.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let l = line.trim_end();
        if l.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(l);
        out.push('\n');
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text_without_tags_or_scripts() {
        let t = html_to_text(
            "<html><head><style>p{color:red}</style><script>alert(1)</script></head>\
             <body><p>Tere, <b>Mari</b>!</p><p>Teie 9-13/1610 &amp; muu</p></body></html>",
        );
        assert!(t.contains("Tere"), "{t}");
        assert!(t.contains("Mari"), "{t}");
        assert!(t.contains("9-13/1610 & muu"), "{t}");
        assert!(!t.contains('<'), "{t}");
        assert!(!t.contains("alert"), "{t}");
    }

    #[test]
    fn strip_tags_handles_broken_markup() {
        let t = strip_tags(
            "a<b>b</b><!-- x --><script>evil()</script>c &#245; &#xF5; &bogus; <unclosed",
        );
        assert_eq!(t, "abc õ õ &bogus; ");
    }
}
