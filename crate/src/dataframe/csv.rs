//! A fast reader for plain CSV blocks, the kind most files are made of: no quotes, lines
//! that end in LF or CRLF, every line with every field, ints written plainly (`-12`),
//! floats as arrow-csv parses them (with lexical-core, which arrow uses). It reads only
//! the columns asked for and makes no value per field.
//! Any other block is left to arrow-csv, so what a block gives, and every error, stay
//! as they were.

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use std::sync::Arc;

/// One kept column while its values are read.
enum Builder {
    Int(Int64Builder),
    Float(Float64Builder),
    Str(StringBuilder),
}

impl Builder {
    fn new(dtype: &DataType, rows: usize) -> Option<Builder> {
        Some(match dtype {
            DataType::Int64 => Builder::Int(Int64Builder::with_capacity(rows)),
            DataType::Float64 => Builder::Float(Float64Builder::with_capacity(rows)),
            DataType::Utf8 => Builder::Str(StringBuilder::with_capacity(rows, rows * 8)),
            _ => return None,
        })
    }

    /// Appends one field; false when it is not written plainly (the block then goes to
    /// arrow-csv). An empty field is missing, as arrow-csv reads it.
    fn push(&mut self, field: &str) -> bool {
        if field.is_empty() {
            match self {
                Builder::Int(b) => b.append_null(),
                Builder::Float(b) => b.append_null(),
                Builder::Str(b) => b.append_null(),
            }
            return true;
        }
        match self {
            Builder::Int(b) => parse_int(field.as_bytes()).map(|v| b.append_value(v)).is_some(),
            Builder::Float(b) => parse_float(field).map(|v| b.append_value(v)).is_some(),
            Builder::Str(b) => {
                b.append_value(field);
                true
            }
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::Float(mut b) => Arc::new(b.finish()),
            Builder::Str(mut b) => Arc::new(b.finish()),
        }
    }
}

/// `-?[0-9]{1,18}`: at most 18 digits cannot overflow; anything else is left to arrow.
fn parse_int(field: &[u8]) -> Option<i64> {
    let (negative, digits) = match field {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, field),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if negative { -v } else { v })
}

/// A float exactly as arrow-csv reads it (arrow parses with lexical-core first); `None`
/// for what lexical-core does not take as it is (padded numbers), left to arrow-csv.
fn parse_float(field: &str) -> Option<f64> {
    lexical_core::parse::<f64>(field.as_bytes()).ok()
}

/// A mask of the bytes of `w` (little-endian) that end a field: comma, LF, CR, quote.
/// Its lowest set bit marks the first such byte exactly (bits above it may be wrong).
fn stop_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    [b',', b'\n', b'\r', b'"']
        .iter()
        .fold(0, |m, c| m | zero_byte(w ^ (u64::from(*c) * ONES)))
}

/// The end of the field that starts at `start`: the next comma, line end or quote,
/// looked for eight bytes at a time.
fn field_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while let Some(word) = bytes.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
        let mask = stop_mask(u64::from_le_bytes(word));
        if mask != 0 {
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|b| matches!(b, b',' | b'\n' | b'\r' | b'"')))
        .map_or(bytes.len(), |n| i + n)
}

/// The number of LF bytes in `bytes`, eight at a time: an exact zero-byte test (no
/// borrow between bytes) and a population count per word.
fn count_newlines(bytes: &[u8]) -> usize {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder().iter().filter(|b| **b == b'\n').count();
    words.fold(tail, |n, w| {
        let v = u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default())
            ^ (u64::from(b'\n') * 0x0101_0101_0101_0101);
        let zero = !(((v & LOWS) + LOWS) | v | LOWS);
        n + zero.count_ones() as usize
    })
}

/// About how many lines `bytes` holds, from the lines of its first 4 KiB, a little over
/// rather than under: the builders are sized with it, and counting every line would be a
/// pass over the whole block before the one that reads it (a seventh of W3e's time).
fn estimate_rows(bytes: &[u8]) -> usize {
    let sample = bytes.get(..4096).unwrap_or(bytes);
    let lines = count_newlines(sample).max(1);
    (bytes.len() / sample.len().max(1))
        .saturating_mul(lines + lines / 8)
        .saturating_add(lines + 1)
}

/// Reads `block` (one CSV block; the header is its first line when `header`) into the
/// columns `keep` of `schema` (indices, ascending), or `None` when the block is not
/// plain and arrow-csv must read it.
pub fn read_plain_block(
    block: &str,
    header: bool,
    schema: &SchemaRef,
    keep: &[usize],
) -> Option<RecordBatch> {
    let bytes = block.as_bytes();
    let width = schema.fields().len();
    let rows = estimate_rows(bytes);
    // Which builder, if any, each field of a line goes to.
    let mut slots: Vec<Option<usize>> = vec![None; width];
    let mut builders = Vec::with_capacity(keep.len());
    for (n, i) in keep.iter().enumerate() {
        *slots.get_mut(*i)? = Some(n);
        builders.push(Builder::new(schema.fields().get(*i)?.data_type(), rows)?);
    }
    let mut pos = 0;
    let mut first = header;
    while pos < bytes.len() {
        // An empty line is left to arrow-csv, which has its own rule for it.
        if matches!(bytes.get(pos), Some(b'\n' | b'\r')) {
            return None;
        }
        for (col, slot) in slots.iter().enumerate() {
            let end = field_end(bytes, pos);
            let last = col + 1 == width;
            let next = match (bytes.get(end), bytes.get(end + 1)) {
                (Some(b','), _) if !last => end + 1,
                (Some(b'\n'), _) if last => end + 1,
                (Some(b'\r'), Some(b'\n')) if last => end + 2,
                (None, _) if last => end,
                // A quote, a lone CR, or a line with too few or too many fields.
                _ => return None,
            };
            if let (Some(n), false) = (slot, first) {
                if !builders.get_mut(*n)?.push(block.get(pos..end)?) {
                    return None;
                }
            }
            pos = next;
        }
        first = false;
    }
    let columns: Vec<ArrayRef> = builders.into_iter().map(Builder::finish).collect();
    let projected = schema.project(keep).ok()?;
    RecordBatch::try_new(Arc::new(projected), columns).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_array::Array;
    use arrow_schema::{Field, Schema};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("v", DataType::Float64, true),
        ]))
    }

    #[test]
    fn plain_blocks_give_typed_columns() {
        let b = read_plain_block(
            "k,s,v\n1,a,0.5\n-20,,-3\r\n,bc,12.125",
            true,
            &schema(),
            &[0, 1, 2],
        )
        .unwrap();
        let k = b.column(0).as_primitive::<Int64Type>();
        assert_eq!(k.iter().collect::<Vec<_>>(), vec![Some(1), Some(-20), None]);
        let s = b.column(1).as_string::<i32>();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![Some("a"), None, Some("bc")]);
        let v = b.column(2).as_primitive::<Float64Type>();
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            vec![Some(0.5), Some(-3.0), Some(12.125)]
        );
    }

    #[test]
    fn only_the_kept_columns_are_read() {
        let b = read_plain_block("1,a,0.5\n2,b,1.5\n", false, &schema(), &[0, 2]).unwrap();
        assert_eq!(b.num_columns(), 2);
        assert_eq!(b.schema().field(1).name(), "v");
        let v = b.column(1).as_primitive::<Float64Type>();
        assert_eq!(v.values().to_vec(), vec![0.5, 1.5]);
        assert_eq!(v.null_count(), 0);
    }

    #[test]
    fn blocks_that_are_not_plain_are_left_to_arrow() {
        let s = schema();
        for text in [
            "1,\"a\",0.5\n",             // a quote
            "1,a,0.5\n\n2,b,1\n",        // an empty line
            "1,a\n",                     // too few fields
            "1,a,0.5,9\n",               // too many
            "1,a\r0.5\n",                // a lone CR
            "+1,a,0.5\n",                // a sign on an int, which arrow reads
            "1,a, 0.5\n",                // a padded float, which arrow trims
            "1234567890123456789,a,1\n", // 19 digits
        ] {
            assert!(
                read_plain_block(text, false, &s, &[0, 1, 2]).is_none(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn plain_blocks_read_as_arrow_csv_reads_them() {
        // Numbers of many shapes: long fractions, 17 significant digits, negative zero,
        // missing values, CRLF line ends.
        let mut text = String::from("k,s,v\r\n");
        for i in 0..2000u64 {
            let x = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) as f64 / (1u64 << 53) as f64;
            let v = match i % 5 {
                0 => format!("{x:.6}"),
                1 => format!("{}", x * 1e6),
                2 => format!("-{x:.17}"),
                3 => String::new(),
                // Exponents, bare dots, NaN and infinities, as lexical-core reads them.
                _ => [
                    "-0.0",
                    "1e5",
                    "2.5E-3",
                    ".5",
                    "5.",
                    "NaN",
                    "-inf",
                    "1.7976931348623157e308",
                ]
                .get((i / 5) as usize % 8)
                .copied()
                .unwrap_or("0")
                .to_string(),
            };
            let k = if i % 7 == 0 {
                String::new()
            } else {
                format!("{}", i as i64 - 1000)
            };
            text.push_str(&format!("{k},c{},{v}\r\n", i % 3));
        }
        let s = schema();
        let fast = read_plain_block(&text, true, &s, &[0, 1, 2]).unwrap();
        let arrow = arrow_csv::ReaderBuilder::new(Arc::clone(&s))
            .with_header(true)
            .with_batch_size(4096)
            .build(std::io::Cursor::new(text.as_bytes()))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(fast.num_rows(), 2000);
        for c in 0..3 {
            assert_eq!(fast.column(c).to_data(), arrow.column(c).to_data(), "column {c}");
        }
    }

    #[test]
    fn newlines_are_counted_exactly() {
        for text in [
            "",
            "\n",
            "a\nb",
            "\n\n\n\n\n\n\n\n\n",
            "\u{8a}\n\u{10a}x\n\n1234567\n",
            "0123456789abcdef\n",
        ] {
            let want = text.bytes().filter(|b| *b == b'\n').count();
            assert_eq!(count_newlines(text.as_bytes()), want, "{text:?}");
        }
        let every_byte: Vec<u8> = (0..=255u8).cycle().take(4099).collect();
        assert_eq!(
            count_newlines(&every_byte),
            every_byte.iter().filter(|b| **b == b'\n').count()
        );
    }

    /// The estimate is never under the lines of a block of even lines, and not far over.
    #[test]
    fn row_estimates_cover_the_lines() {
        for (line, n) in [
            ("1,c7,0.123456\n", 100_000),
            ("12345,c42,0.5\n", 3),
            ("x\n", 10_000),
        ] {
            let text = line.repeat(n);
            let est = estimate_rows(text.as_bytes());
            assert!(est > n && est < n + n / 4 + 16, "{line:?} x {n}: {est}");
        }
        assert_eq!(estimate_rows(b""), 2);
        assert!(estimate_rows(&[b'a'; 10_000]) >= 1);
    }

    #[test]
    fn field_ends_are_found_across_words() {
        let text = b"abcdefghijkl,x\"yz0123456789\r\n";
        assert_eq!(field_end(text, 0), 12);
        assert_eq!(field_end(text, 13), 14);
        assert_eq!(field_end(text, 15), 27);
        assert_eq!(field_end(text, 28), 28);
        assert_eq!(field_end(b"no stop at all here", 3), 19);
        assert_eq!(field_end(b"", 0), 0);
    }

    #[test]
    fn floats_are_correctly_rounded() {
        // Values worked out by hand: exact quotients, digit strings longer than an f64
        // holds (rounded to nearest, ties to even), and exponents.
        assert_eq!(parse_float("0.1"), Some(0.1));
        assert_eq!(
            parse_float("-0.000000").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(parse_float("123456.789012"), Some(123_456.789_012));
        assert_eq!(parse_float("9007199254740993"), Some(9_007_199_254_740_992.0));
        assert_eq!(parse_float("0.30000000000000000000001"), Some(0.3));
        assert_eq!(parse_float("1.7976931348623157e308"), Some(f64::MAX));
        assert_eq!(parse_float("2.5e-3"), Some(0.0025));
        assert_eq!(
            parse_float(" 1.5"),
            None,
            "padding is left to arrow-csv, which trims it"
        );
        assert_eq!(parse_int(b"-0"), Some(0));
        assert_eq!(parse_int(b"999999999999999999"), Some(999_999_999_999_999_999));
        assert_eq!(parse_int(b"-"), None);
    }
}
