//! Percentiles and the formatting of figures.

use std::time::Duration;

/// The nearest-rank percentile `p` (0–100) of `values`, which it sorts. `None` when empty.
pub fn percentile<T: Ord + Copy>(values: &mut [T], p: f64) -> Option<T> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// `1.23 ms` below 100 ms, `456 ms` below 10 s, `12.34 s` above.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// Microseconds as milliseconds: `0.42 ms`.
pub fn us_as_ms(us: u64) -> String {
    ms(Duration::from_micros(us))
}

/// Bytes in MiB (`37.4 MiB`) or KiB below one MiB.
pub fn bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

/// A whole number with thousands separators: `12,345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second with thousands separators.
pub fn rate(n: usize, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    format!("{}/s", count((n as f64 / secs).round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 50.0), Some(50));
        assert_eq!(percentile(&mut v, 99.0), Some(99));
        assert_eq!(percentile(&mut v, 100.0), Some(100));
        assert_eq!(percentile(&mut v, 0.0), Some(1));
        assert_eq!(percentile(&mut [7u64], 99.0), Some(7));
        assert_eq!(percentile::<u64>(&mut [], 50.0), None);
        let mut five = [5u64, 1, 4, 2, 3];
        assert_eq!(percentile(&mut five, 50.0), Some(3));
    }

    #[test]
    fn formatting() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(bytes(50 << 20), "50.0 MiB");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(ms(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(ms(Duration::from_millis(456)), "456 ms");
        assert_eq!(rate(5000, Duration::from_secs(2)), "2,500/s");
    }
}
