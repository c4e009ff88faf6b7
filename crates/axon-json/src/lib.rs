//! JSON text the agent reads, written without serde or the formatting machinery (acks on every
//! tool call, the bars of every observation). Invariants:
//! - Strings are escaped exactly as JSON requires (`"`, `\\`, control characters), nothing else.
//! - Numbers print exactly as JavaScript's `JSON.stringify` prints them (shortest round-trip
//!   digits, its switch points to exponent notation); a non-finite number prints `null`.
use std::fmt::Write as _;

/// Append `text` as a JSON string literal.
pub fn push_json_str(out: &mut String, text: &str) {
    out.push('"');
    // Fast path: copy the run up to the first byte that needs escaping in one go (ids and
    // symbols usually have none). Escapable bytes are ASCII, so every split is a char boundary.
    let mut rest = text;
    while let Some(at) = rest
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)
    {
        out.push_str(&rest[..at]);
        match rest.as_bytes()[at] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b => {
                let _ = write!(out, "\\u{:04x}", b);
            }
        }
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

/// A whole number in decimal, without the formatting machinery (on every ack's hot path).
pub fn push_integer(out: &mut String, value: i64) {
    let mut digits = [0u8; 20];
    let mut n = value.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// A number exactly as `JSON.stringify` writes it (`2`, not `2.0`; `1e-7`, `0.000001`, `1e+21`),
/// so native and backend acks look alike byte for byte.
pub fn push_json_number(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push_str("null");
    } else if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        push_integer(out, value as i64);
    } else {
        // zmij finds the shortest round-trip digits (several times cheaper than `Display`); only
        // where it switches to an exponent differs from JavaScript's Number::toString.
        let mut buffer = zmij::Buffer::new();
        let printed = buffer.format_finite(value);
        match printed.split_once('e') {
            // Whole numbers past 2^53 come as `ddd.0`.
            None => out.push_str(printed.strip_suffix(".0").unwrap_or(printed)),
            Some((mantissa, exponent)) => {
                push_js_notation(out, mantissa, exponent.parse().unwrap_or(0))
            }
        }
    }
}

/// `mantissa` × 10^`exponent` (mantissa `[-]d[.ddd]`, shortest digits) laid out by the rules of
/// ECMAScript Number::toString: plain digits while the decimal point falls within 21 places,
/// `0.000ddd` down to 1e-6, an exponent with its sign beyond.
fn push_js_notation(out: &mut String, mantissa: &str, exponent: i32) {
    let (negative, mantissa) = mantissa
        .strip_prefix('-')
        .map_or((false, mantissa), |m| (true, m));
    let mut digits = [b'0'; 24];
    let mut count = 0;
    for b in mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .take(digits.len())
    {
        digits[count] = b;
        count += 1;
    }
    let digits = std::str::from_utf8(&digits[..count]).unwrap_or_default();
    let k = count as i32;
    let point = exponent + 1; // digits before the decimal point
    if negative {
        out.push('-');
    }
    if k <= point && point <= 21 {
        out.push_str(digits);
        (k..point).for_each(|_| out.push('0'));
    } else if 0 < point && point <= 21 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        (point..0).for_each(|_| out.push('0'));
        out.push_str(digits);
    } else {
        out.push_str(&digits[..1]);
        if count > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(if exponent < 0 { "e-" } else { "e+" });
        push_integer(out, i64::from(exponent.unsigned_abs()));
    }
}

/// Rows of numbers as JSON arrays, each followed by a comma: `[c0,c1,...],` for row `i` taking
/// `columns[k][i]`, for rows `0..rows`. `starts[i]` gets where row `i` begins (the text is ASCII,
/// so a byte offset is a JavaScript string index) and `starts[rows]` the end. Integral values in
/// the first column print as integers like every other number (no `.0`).
///
/// # Panics
/// If a column is shorter than `rows` or `starts` shorter than `rows + 1`.
pub fn push_rows_json(out: &mut String, columns: &[&[f64]], rows: usize, starts: &mut [f64]) {
    for i in 0..rows {
        starts[i] = out.len() as f64;
        out.push('[');
        for (k, column) in columns.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            push_json_number(out, column[i]);
        }
        out.push_str("],");
    }
    starts[rows] = out.len() as f64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_exactly_what_json_requires() {
        let cases = [
            ("BTC-USDT", r#""BTC-USDT""#),
            ("", r#""""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("x\ny\u{1}", r#""x\u000ay\u0001""#),
            ("é✓\"", r#""é✓\"""#),
        ];
        for (text, expected) in cases {
            let mut out = String::new();
            push_json_str(&mut out, text);
            assert_eq!(out, expected);
            assert_eq!(
                serde_json::from_str::<String>(&out).expect("valid JSON"),
                text
            );
        }
    }

    #[test]
    fn integers_and_numbers_print_like_json_stringify() {
        for value in [0i64, 7, -7, 10, 1_700_000_000_000, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_integer(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        // Expected strings are what V8's JSON.stringify prints.
        let cases = [
            (2.0, "2"),
            (-0.5, "-0.5"),
            (0.001, "0.001"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-6, "0.000001"),
            (-1.5e-6, "-0.0000015"),
            (9.999e-7, "9.999e-7"),
            (1e-7, "1e-7"),
            (5e-324, "5e-324"),
            (123_456.789, "123456.789"),
            (9_007_199_254_740_994.0, "9007199254740994"),
            (1e20, "100000000000000000000"),
            (12_345_678_901_234_567_890.0, "12345678901234567000"),
            (1e21, "1e+21"),
            (1.25e21, "1.25e+21"),
            (-1.5e22, "-1.5e+22"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-0.0, "0"),
            (f64::NAN, "null"),
            (f64::INFINITY, "null"),
        ];
        for (value, expected) in cases {
            let mut out = String::new();
            push_json_number(&mut out, value);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn every_finite_number_round_trips_through_json() {
        let mut bits = 0x9e37_79b9_7f4a_7c15_u64;
        let extremes = [
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            1e-7,
            9_007_199_254_740_993.0,
            -0.0,
        ];
        let random = std::iter::repeat_with(|| {
            bits ^= bits << 13;
            bits ^= bits >> 7;
            bits ^= bits << 17;
            f64::from_bits(bits)
        });
        for value in extremes
            .into_iter()
            .chain(random.filter(|v| v.is_finite()).take(20_000))
        {
            let mut out = String::new();
            push_json_number(&mut out, value);
            assert!(
                serde_json::from_str::<serde_json::Value>(&out).is_ok_and(|v| v.is_number()),
                "{out} is not a JSON number"
            );
            // serde_json's default float parsing may be 1 ulp off; the standard library's is exact.
            let back: f64 = out.parse().unwrap_or_else(|e| panic!("{out}: {e}"));
            assert_eq!(
                back.to_bits(),
                if value == 0.0 {
                    0.0f64.to_bits()
                } else {
                    value.to_bits()
                },
                "{value:e} printed as {out}"
            );
        }
    }
    #[test]
    fn rows_print_as_arrays_with_their_starts() {
        let time = [1_700_000_000_000.0, 1_700_000_300_000.0];
        let price = [16_542.3, 0.000001];
        let mut out = String::from("x");
        let mut starts = [f64::NAN; 3];
        push_rows_json(&mut out, &[&time, &price, &price], 2, &mut starts);
        assert_eq!(
            out,
            "x[1700000000000,16542.3,16542.3],[1700000300000,0.000001,0.000001],"
        );
        assert_eq!(starts, [1.0, 33.0, 67.0]);
    }
}
