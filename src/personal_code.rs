//! Estonian personal identification codes (isikukood): validation and detection in text.
//!
//! Format: G YY MM DD SSS C — G gives century and sex (1-8), then the birth date,
//! a serial number and a check digit computed with weights 1234567891 and, when
//! that gives 10, 3456789123 (and 0 when that gives 10 again).

use jiff::civil::Date;

/// The check digit for the first ten digits.
pub fn check_digit(digits: &[u8; 10]) -> u8 {
    const W1: [u8; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1];
    const W2: [u8; 10] = [3, 4, 5, 6, 7, 8, 9, 1, 2, 3];
    let sum = |w: &[u8; 10]| -> u32 {
        digits
            .iter()
            .zip(w)
            .map(|(d, w)| u32::from(*d) * u32::from(*w))
            .sum()
    };
    let r = sum(&W1) % 11;
    if r < 10 {
        return r as u8;
    }
    let r = sum(&W2) % 11;
    if r < 10 {
        r as u8
    } else {
        0
    }
}

/// The birth date encoded in a code, if it is a real date.
pub fn birth_date(code: &str) -> Option<Date> {
    let b = code.as_bytes();
    if b.len() != 11 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let d = |i: usize| i16::from(b[i] - b'0');
    let century = match b[0] {
        b'1' | b'2' => 1800,
        b'3' | b'4' => 1900,
        b'5' | b'6' => 2000,
        b'7' | b'8' => 2100,
        _ => return None,
    };
    let year = century + d(1) * 10 + d(2);
    let month = (d(3) * 10 + d(4)) as i8;
    let day = (d(5) * 10 + d(6)) as i8;
    Date::new(year, month, day).ok()
}

/// A valid code: 11 digits, a known century/sex digit, a real birth date and the right check digit.
pub fn is_valid(code: &str) -> bool {
    if birth_date(code).is_none() {
        return false;
    }
    let b = code.as_bytes();
    let mut first = [0u8; 10];
    for (i, d) in first.iter_mut().enumerate() {
        *d = b[i] - b'0';
    }
    check_digit(&first) == b[10] - b'0'
}

/// Every valid personal code that stands alone (not inside a longer run of digits) in `text`.
pub fn find_all(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 11 {
                let cand = &text[start..i];
                if is_valid(cand) && !out.iter().any(|c| c == cand) {
                    out.push(cand.to_string());
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

/// True when `text` holds at least one valid personal code.
pub fn contains_any(text: &str) -> bool {
    !find_all(text).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_codes() {
        // Check digits worked by hand with both weight sets.
        assert!(is_valid("37605030299"));
        assert!(is_valid("49403136515"));
        assert!(!is_valid("37605030298"), "wrong check digit");
        assert!(!is_valid("37613030299"), "month 13");
        assert!(!is_valid("97605030299"), "century digit 9");
        assert!(!is_valid("3760503029"), "too short");
    }

    #[test]
    fn second_weight_set_is_used_when_first_gives_ten() {
        // Find a prefix whose first sum mod 11 is 10 and confirm the code built from it validates.
        let mut found = false;
        for serial in 0..1000u32 {
            let s = format!("3800101{serial:03}");
            let mut d = [0u8; 10];
            for (i, c) in s.bytes().enumerate() {
                d[i] = c - b'0';
            }
            let w1: u32 = d
                .iter()
                .zip([1, 2, 3, 4, 5, 6, 7, 8, 9, 1])
                .map(|(a, b)| u32::from(*a) * b)
                .sum();
            if w1 % 11 == 10 {
                let c = check_digit(&d);
                let code = format!("{s}{c}");
                assert!(is_valid(&code));
                found = true;
                break;
            }
        }
        assert!(found);
    }

    #[test]
    fn finds_codes_in_text_but_not_inside_longer_numbers() {
        let t = "Ohver Mari Maasikas (isikukood 49403136515) ja konto EE3837605030299123.";
        assert_eq!(find_all(t), vec!["49403136515".to_string()]);
        assert!(find_all("telefon 5551234, arve 12345678901").is_empty());
    }

    proptest! {
        #[test]
        fn exactly_one_check_digit_is_valid(g in 1u8..=6, yy in 0u8..100, mm in 1u8..=12, dd in 1u8..=28, serial in 0u16..1000) {
            let prefix = format!("{g}{yy:02}{mm:02}{dd:02}{serial:03}");
            let valid: Vec<u8> = (0..10).filter(|c| is_valid(&format!("{prefix}{c}"))).collect();
            prop_assert_eq!(valid.len(), 1);
        }

        #[test]
        fn find_all_never_panics(s in ".{0,200}") {
            let _ = find_all(&s);
        }
    }
}
