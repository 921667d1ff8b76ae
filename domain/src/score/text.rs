//! Cheap number formatting for breakdown details: an account's breakdown holds dozens of
//! lines, and `format!` with float precision dominated scoring time.

/// Appends `x` rounded to two decimals, trailing zeros dropped: `1.5`, `25`, `0.33`, `-10`.
pub(super) fn push_num(out: &mut String, x: f64) {
    let hundredths = (x * 100.0).round();
    // Far beyond any score; also NaN and infinities. Not worth a fast path.
    if !hundredths.is_finite() || hundredths.abs() >= 1e15 {
        out.push_str(&x.to_string());
        return;
    }
    let h = hundredths as i64;
    if h < 0 {
        out.push('-');
    }
    let h = h.unsigned_abs();
    push_uint(out, h / 100);
    let frac = h % 100;
    if frac != 0 {
        out.push('.');
        out.push(digit(frac / 10));
        if !frac.is_multiple_of(10) {
            out.push(digit(frac % 10));
        }
    }
}

/// Appends the decimal digits of `n`.
pub(super) fn push_uint(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for b in &buf[i..] {
        out.push(char::from(*b));
    }
}

fn digit(d: u64) -> char {
    char::from(b'0' + (d % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(x: f64) -> String {
        let mut s = String::new();
        push_num(&mut s, x);
        s
    }

    #[test]
    fn numbers_have_at_most_two_decimals() {
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(25.0), "25");
        assert_eq!(num(0.333), "0.33");
        assert_eq!(num(0.999), "1");
        assert_eq!(num(-10.0), "-10");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(0.05), "0.05");
        assert_eq!(num(1234567.891), "1234567.89");
        assert_eq!(num(f64::NAN), "NaN");
        let mut s = String::new();
        push_uint(&mut s, 0);
        push_uint(&mut s, 907);
        assert_eq!(s, "0907");
    }
}
