//! The 18-character resident identity number (GB 11643-1999).

use chrono::NaiveDate;
use serde::Serialize;

/// Province-level codes that start a number: the mainland provinces, Taiwan (71),
/// and 81/82/83 of residence permits for Hong Kong, Macau and Taiwan residents.
const REGIONS: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

/// ISO 7064 MOD 11-2 weights of the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Why a string is not a resident ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    #[error("must be 17 digits followed by a digit or X")]
    Format,
    #[error("unknown region code")]
    Region,
    #[error("the birth date is not a real date between 1900 and today")]
    BirthDate,
    #[error("wrong check digit")]
    CheckDigit,
}

/// A valid 18-character resident ID number, upper-case X.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ResidentId(String);

impl ResidentId {
    /// Checks `s` (surrounding whitespace ignored, `x` taken as `X`) as of `today`.
    pub fn parse(s: &str, today: NaiveDate) -> Result<ResidentId, ResidentIdError> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let shape_ok = b.len() == 18
            && b[..17].iter().all(u8::is_ascii_digit)
            && (b[17].is_ascii_digit() || b[17] == b'X');
        if !shape_ok {
            return Err(ResidentIdError::Format);
        }
        let region = (b[0] - b'0') * 10 + (b[1] - b'0');
        if !REGIONS.contains(&region) {
            return Err(ResidentIdError::Region);
        }
        let birth = birth_date(&s[6..14]).ok_or(ResidentIdError::BirthDate)?;
        if birth > today {
            return Err(ResidentIdError::BirthDate);
        }
        if check_char(&b[..17]) != b[17] {
            return Err(ResidentIdError::CheckDigit);
        }
        Ok(ResidentId(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Option<NaiveDate> {
        birth_date(&self.0[6..14])
    }
}

impl std::fmt::Display for ResidentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The check character (`0`–`9` or `X`) for 17 ASCII digits.
pub fn check_char(digits17: &[u8]) -> u8 {
    let sum: u32 = digits17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| (d.wrapping_sub(b'0') as u32) * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

fn birth_date(yyyymmdd: &str) -> Option<NaiveDate> {
    let year: i32 = yyyymmdd.get(0..4)?.parse().ok()?;
    let month: u32 = yyyymmdd.get(4..6)?.parse().ok()?;
    let day: u32 = yyyymmdd.get(6..8)?.parse().ok()?;
    if year < 1900 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    /// Completes 17 digits with their check character.
    fn with_check(d17: &str) -> String {
        format!("{d17}{}", check_char(d17.as_bytes()) as char)
    }

    #[test]
    fn the_standard_example_passes() {
        // The example number printed in GB 11643-1999.
        let id = ResidentId::parse("11010519491231002X", today()).unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31));
        assert_eq!(
            ResidentId::parse("11010519491231002x", today())
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn computed_check_digits_pass_and_others_fail() {
        let good = with_check("44030519900307123");
        assert!(ResidentId::parse(&good, today()).is_ok());
        let last = good.as_bytes()[17];
        for c in b"0123456789X" {
            if *c != last {
                let bad = format!("{}{}", &good[..17], *c as char);
                assert_eq!(
                    ResidentId::parse(&bad, today()),
                    Err(ResidentIdError::CheckDigit)
                );
            }
        }
    }

    #[test]
    fn dates_regions_and_shapes_are_checked() {
        let p = |s: &str| ResidentId::parse(s, today());
        assert_eq!(
            p(&with_check("44030519900230123")),
            Err(ResidentIdError::BirthDate)
        );
        assert_eq!(
            p(&with_check("44030518991231123")),
            Err(ResidentIdError::BirthDate)
        );
        assert_eq!(
            p(&with_check("44030520260302123")),
            Err(ResidentIdError::BirthDate)
        );
        assert!(p(&with_check("44030520260301123")).is_ok());
        assert!(p(&with_check("44030520000229123")).is_ok());
        assert_eq!(
            p(&with_check("99030519900307123")),
            Err(ResidentIdError::Region)
        );
        assert_eq!(p("44030519900307123"), Err(ResidentIdError::Format));
        assert_eq!(p("4403051990030712345"), Err(ResidentIdError::Format));
        assert_eq!(p("4403051990030712Y3"), Err(ResidentIdError::Format));
        assert_eq!(p("44030519900307１２３4"), Err(ResidentIdError::Format));
    }
}
