//! Kubernetes resource quantities (`500m`, `1Gi`, `2`, `1e3`): exact parsing, arithmetic and
//! upstream's canonical text, for quota usage and anything else that adds quantities up.
//!
//! A value is held exactly in nano-units; finer values round up to `1n`, as upstream's do. The text
//! form keeps the suffix family the quantity was written in (decimal SI, binary SI or decimal
//! exponent) and picks the largest suffix that keeps the number an integer, as upstream's
//! `Quantity.String` does: `1500m`, `2`, `1536Mi`, `20k`.

use std::{cmp::Ordering, fmt, str::FromStr};

/// Nano-units per unit.
const NANOS: i128 = 1_000_000_000;

/// Which suffixes a quantity is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `m`, `k`, `M`, `G`, ... (and none).
    DecimalSi,
    /// `Ki`, `Mi`, `Gi`, ...
    BinarySi,
    /// `e3`, `E6`, ...
    DecimalExponent,
}

/// A resource quantity.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

/// Text that is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)]
pub struct QuantityError;

impl Quantity {
    /// Zero, written in `format`.
    pub fn zero(format: Format) -> Quantity {
        Quantity { nanos: 0, format }
    }

    /// A count (`3`).
    pub fn count(n: i64) -> Quantity {
        Quantity {
            nanos: i128::from(n) * NANOS,
            format: Format::DecimalSi,
        }
    }

    /// The suffix family.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// The value in milli-units, rounded up.
    pub fn milli_value(&self) -> i128 {
        let milli = 1_000_000;
        self.nanos.div_euclid(milli) + i128::from(self.nanos.rem_euclid(milli) != 0)
    }

    /// `self + other`, in `self`'s format (upstream's `Add`); a zero takes the other's format.
    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            format: if self.nanos == 0 && self.format != other.format {
                other.format
            } else {
                self.format
            },
        }
    }

    /// `self - other`, in `self`'s format.
    pub fn sub(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
            format: self.format,
        }
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

/// The decimal SI suffix of a power of ten that is a multiple of 3 in `-9..=18`.
fn decimal_suffix(exponent: i32) -> Option<&'static str> {
    Some(match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return None,
    })
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(text: &str) -> Result<Quantity, QuantityError> {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(QuantityError);
        }
        // The suffix as (base, exponent, format).
        let (base, exponent, format): (i128, i32, Format) = match suffix {
            "Ki" => (1024, 1, Format::BinarySi),
            "Mi" => (1024, 2, Format::BinarySi),
            "Gi" => (1024, 3, Format::BinarySi),
            "Ti" => (1024, 4, Format::BinarySi),
            "Pi" => (1024, 5, Format::BinarySi),
            "Ei" => (1024, 6, Format::BinarySi),
            "n" => (10, -9, Format::DecimalSi),
            "u" => (10, -6, Format::DecimalSi),
            "m" => (10, -3, Format::DecimalSi),
            "" => (10, 0, Format::DecimalSi),
            "k" => (10, 3, Format::DecimalSi),
            "M" => (10, 6, Format::DecimalSi),
            "G" => (10, 9, Format::DecimalSi),
            "T" => (10, 12, Format::DecimalSi),
            "P" => (10, 15, Format::DecimalSi),
            "E" => (10, 18, Format::DecimalSi),
            _ => {
                let digits = suffix
                    .strip_prefix('e')
                    .or_else(|| suffix.strip_prefix('E'))
                    .ok_or(QuantityError)?;
                let exponent: i32 = digits.parse().map_err(|_| QuantityError)?;
                if !(-30..=30).contains(&exponent) {
                    return Err(QuantityError);
                }
                (10, exponent, Format::DecimalExponent)
            }
        };
        // The digits as an integer mantissa scaled by 10^-fraction_len.
        let mut mantissa: i128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(digit - b'0')))
                .ok_or(QuantityError)?;
        }
        let fraction_len = i32::try_from(fraction.len()).map_err(|_| QuantityError)?;
        // nanos = mantissa * 10^(9 - fraction_len) * base^exponent, rounding up what is finer.
        let mut numerator = mantissa;
        let mut denominator: i128 = 1;
        let mut scale = |power: i32, factor: i128| -> Result<(), QuantityError> {
            for _ in 0..power.unsigned_abs() {
                if power > 0 {
                    numerator = numerator.checked_mul(factor).ok_or(QuantityError)?;
                } else {
                    denominator = denominator.checked_mul(factor).ok_or(QuantityError)?;
                }
            }
            Ok(())
        };
        scale(9 - fraction_len, 10)?;
        scale(exponent, base)?;
        let nanos = numerator / denominator + i128::from(numerator % denominator != 0);
        Ok(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        let whole = magnitude.is_multiple_of(NANOS as u128);
        if self.format == Format::BinarySi && whole && magnitude >= 1024 * (NANOS as u128) {
            let mut units = magnitude / (NANOS as u128);
            let mut power = 0;
            while power < 6 && units.is_multiple_of(1024) {
                units /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return write!(f, "{sign}{units}{suffix}");
        }
        // mantissa * 10^exponent with the exponent a multiple of 3, the mantissa an integer.
        let mut mantissa = magnitude;
        let mut exponent: i32 = -9;
        while mantissa.is_multiple_of(1000) && exponent < 18 {
            mantissa /= 1000;
            exponent += 3;
        }
        match (self.format, decimal_suffix(exponent)) {
            (Format::DecimalExponent, _) if exponent != 0 => {
                write!(f, "{sign}{mantissa}e{exponent}")
            }
            (_, Some(suffix)) => write!(f, "{sign}{mantissa}{suffix}"),
            _ => write!(f, "{sign}{mantissa}e{exponent}"),
        }
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn q(text: &str) -> Quantity {
        text.parse().unwrap()
    }

    #[test]
    fn canonical_text_is_upstreams() {
        for (input, canonical) in [
            ("0", "0"),
            ("1", "1"),
            ("500m", "500m"),
            ("1.5", "1500m"),
            ("0.1", "100m"),
            ("1000", "1k"),
            ("20000", "20k"),
            ("2000m", "2"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("100", "100"),
            ("1e3", "1e3"),
            ("1.5e3", "1500"),
            ("1E6", "1e6"),
            ("0.1n", "1n"),
            ("-2k", "-2k"),
            ("1M", "1M"),
            ("1500000", "1500k"),
        ] {
            assert_eq!(q(input).to_string(), canonical, "{input}");
        }
    }

    #[test]
    fn arithmetic_keeps_the_first_format() {
        assert_eq!(q("1Gi").add(&q("512Mi")).to_string(), "1536Mi");
        assert_eq!(q("100m").add(&q("200m")).to_string(), "300m");
        assert_eq!(q("1").add(&q("500m")).to_string(), "1500m");
        assert_eq!(
            Quantity::zero(Format::DecimalSi).add(&q("1Gi")).to_string(),
            "1Gi"
        );
        assert_eq!(q("1Gi").sub(&q("1Gi")).to_string(), "0");
        assert_eq!(Quantity::count(3).to_string(), "3");
        assert!(q("1Gi") > q("1G"));
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("250m").milli_value(), 250);
        assert_eq!(q("1n").milli_value(), 1);
    }

    #[test]
    fn bad_text_is_an_error() {
        for bad in ["", "m", "1.2.3", "1x", "abc", "1Qi", "--1", "1e", "1e999"] {
            assert_eq!(bad.parse::<Quantity>(), Err(QuantityError), "{bad:?}");
        }
    }
}
