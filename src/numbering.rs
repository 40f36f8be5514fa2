//! Registration-number patterns: pure functions from a pattern and a counter to a number.

use crate::error::{Error, Result};

/// A parsed pattern such as `{series}/{seq}` or `{series}/{yy}/{seq}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Series,
    Seq,
    Yy,
    Yyyy,
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Pattern> {
        let mut parts = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(open) = rest.find('{') {
                if open > 0 {
                    parts.push(Part::Lit(rest[..open].to_string()));
                }
                let close = rest[open..].find('}').ok_or_else(|| {
                    Error::invalid(format!("invalid numbering pattern {s:?}: unclosed {{"))
                })? + open;
                let name = &rest[open + 1..close];
                parts.push(match name {
                    "series" => Part::Series,
                    "seq" => Part::Seq,
                    "yy" => Part::Yy,
                    "yyyy" => Part::Yyyy,
                    other => {
                        return Err(Error::invalid(format!(
                            "invalid numbering pattern {s:?}: unknown placeholder {{{other}}}"
                        )))
                    }
                });
                rest = &rest[close + 1..];
            } else {
                parts.push(Part::Lit(rest.to_string()));
                rest = "";
            }
        }
        if !parts.contains(&Part::Seq) {
            return Err(Error::invalid(format!(
                "invalid numbering pattern {s:?}: it must contain {{seq}}"
            )));
        }
        Ok(Pattern { parts })
    }

    /// True when the running number restarts every year (the pattern names the year).
    pub fn yearly(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Yy | Part::Yyyy))
    }

    /// The key of the counter this pattern draws from for a series in a year.
    pub fn counter_key(&self, series: &str, year: i16) -> String {
        if self.yearly() {
            format!("seq:{series}:{year}")
        } else {
            format!("seq:{series}")
        }
    }

    pub fn render(&self, series: &str, year: i16, seq: i64) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Series => out.push_str(series),
                Part::Seq => out.push_str(&seq.to_string()),
                Part::Yy => out.push_str(&format!("{:02}", year.rem_euclid(100))),
                Part::Yyyy => out.push_str(&year.to_string()),
            }
        }
        out
    }
}

/// The follow-up number `{parent}-{n}` of the n-th follow-up of a thread's first document.
pub fn render_followup(pattern: &str, parent: &str, n: i64) -> String {
    pattern
        .replace("{parent}", parent)
        .replace("{n}", &n.to_string())
}

/// The counter key of a thread's follow-ups.
pub fn followup_key(thread_reg_no: &str) -> String {
    format!("thread:{thread_reg_no}")
}

/// Finds registration numbers of the shape `SERIES/SEQ[-N]` in free text
/// ("Teie 9-13/1610", "nr 9-13/1610-1"). Candidates only: the caller checks them.
pub fn find_candidates(text: &str) -> Vec<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?:^|[^\w./-])(\d+(?:[.-]\d+)*(?:/\d{2,4})?/\d+(?:-\d+)?)(?:$|[^\w/])")
            .expect("static regex")
    });
    let mut out: Vec<String> = Vec::new();
    for c in re.captures_iter(text) {
        let m = c[1].to_string();
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases = [
            ("{series}/{seq}", "9-13", 2026, 1610, "9-13/1610", false),
            (
                "{series}/{yy}/{seq}",
                "1.1-10.1",
                2026,
                7,
                "1.1-10.1/26/7",
                true,
            ),
            (
                "{yyyy}-{series}-{seq}",
                "8-1",
                2025,
                5424,
                "2025-8-1-5424",
                true,
            ),
        ];
        for (pat, series, year, seq, want, yearly) in cases {
            let p = Pattern::parse(pat).unwrap();
            assert_eq!(p.render(series, year, seq), want);
            assert_eq!(p.yearly(), yearly);
        }
        assert_eq!(render_followup("{parent}-{n}", "8-1/5424", 1), "8-1/5424-1");
    }

    #[test]
    fn bad_patterns_are_named() {
        assert!(Pattern::parse("{series}/{sek}")
            .unwrap_err()
            .to_string()
            .contains("{sek}"));
        assert!(Pattern::parse("{series}/")
            .unwrap_err()
            .to_string()
            .contains("{seq}"));
        assert!(Pattern::parse("{series/{seq}").is_err());
    }

    #[test]
    fn finds_numbers_in_subjects() {
        assert_eq!(
            find_candidates("Re: Teie 9-13/1610 vastus"),
            vec!["9-13/1610"]
        );
        assert_eq!(
            find_candidates("vastus kirjale nr 9-13/1610-1."),
            vec!["9-13/1610-1"]
        );
        assert_eq!(find_candidates("1.1-10.1/1071-8"), vec!["1.1-10.1/1071-8"]);
        assert!(find_candidates("kohtumine 12.03 kell 10").is_empty());
    }

    proptest! {
        #[test]
        fn rendered_numbers_are_distinct_per_seq(a in 1i64..100000, b in 1i64..100000) {
            let p = Pattern::parse("{series}/{seq}").unwrap();
            prop_assert_eq!(p.render("9-13", 2026, a) == p.render("9-13", 2026, b), a == b);
        }

        #[test]
        fn rendered_number_is_found_in_text(seq in 1i64..1000000, n in 0i64..50) {
            let p = Pattern::parse("{series}/{seq}").unwrap();
            let mut no = p.render("9-13", 2026, seq);
            if n > 0 { no = render_followup("{parent}-{n}", &no, n); }
            let text = format!("Re: Teie {no} vastus");
            prop_assert_eq!(find_candidates(&text), vec![no]);
        }
    }
}
