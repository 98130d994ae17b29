//! A fast reader for plain CSV blocks, the kind most files are made of: no quotes, lines
//! that end in LF or CRLF, every line with every field, ints written plainly (`-12`),
//! floats as arrow-csv parses them (with lexical-core, which arrow uses). It reads only
//! the columns asked for and makes no value per field.
//! The bytes that end fields are found 64 at a time, a bit each (vector compares where
//! the target has them), and numbers of up to seven digits a side are read a word at a
//! time; floats that share their count of fraction digits are divided in one pass.
//! Any other block is left to arrow-csv, so what a block gives, and every error, stay
//! as they were.

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use std::sync::Arc;

/// One kept column while its values are read.
enum Builder {
    Int(Int64Builder),
    Float(FloatColumn),
    Str(StringBuilder),
}

/// A float column whose plainly written values share their count of fraction digits
/// while they can: those go in undivided (the digits as a whole number) and are divided
/// by the power of ten in one pass at the end, which costs far less than a division
/// per field as it is read. Division is exact either way, so the values are the same.
struct FloatColumn {
    builder: Float64Builder,
    scale: Scale,
}

/// How the values in a `FloatColumn` stand so far.
#[derive(Clone, Copy)]
enum Scale {
    /// No value yet (nulls perhaps).
    Unset,
    /// Every value so far is a plain number with this many fraction digits, undivided.
    Pending(usize),
    /// Every value is final.
    Direct,
}

impl FloatColumn {
    /// Divides the pending values, after which every value goes in final.
    fn settle(&mut self) {
        if let Scale::Pending(f) = self.scale {
            let power = EXACT_POWERS_OF_TEN.get(f).copied().unwrap_or(1.0);
            for v in self.builder.values_slice_mut() {
                *v /= power;
            }
        }
        self.scale = Scale::Direct;
    }

    /// Appends a plain number when it is one exact division (digits up to 2^53, at most
    /// 22 after the dot): IEEE division rounds it correctly, so it is the float
    /// lexical-core reads. `None` leaves the field to lexical-core.
    fn push_plain(&mut self, number: &PlainNumber) -> Option<()> {
        let fraction = number.fraction_digits.unwrap_or(0);
        if number.digits > 1 << 53 {
            return None;
        }
        let power = *EXACT_POWERS_OF_TEN.get(fraction)?;
        let signed = |v: f64| if number.negative { -v } else { v };
        match self.scale {
            Scale::Pending(f) if f == fraction => {}
            Scale::Unset => self.scale = Scale::Pending(fraction),
            _ => {
                self.settle();
                self.builder.append_value(signed(number.digits as f64 / power));
                return Some(());
            }
        }
        self.builder.append_value(signed(number.digits as f64));
        Some(())
    }

    fn push_value(&mut self, v: f64) {
        self.settle();
        self.builder.append_value(v);
    }

    fn finish(mut self) -> ArrayRef {
        self.settle();
        Arc::new(self.builder.finish())
    }
}

impl Builder {
    fn new(dtype: &DataType, rows: usize) -> Option<Builder> {
        Some(match dtype {
            DataType::Int64 => Builder::Int(Int64Builder::with_capacity(rows)),
            DataType::Float64 => Builder::Float(FloatColumn {
                builder: Float64Builder::with_capacity(rows),
                scale: Scale::Unset,
            }),
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
                Builder::Float(b) => b.builder.append_null(),
                Builder::Str(b) => b.append_null(),
            }
            return true;
        }
        match self {
            // `push_plain_number` has taken every int written plainly; the rest is arrow's.
            Builder::Int(_) => false,
            Builder::Float(b) => parse_float(field).map(|v| b.push_value(v)).is_some(),
            Builder::Str(b) => {
                b.append_value(field);
                true
            }
        }
    }

    /// Appends the field `start..end` when it is a number written plainly; false leaves
    /// it to `push`.
    fn push_plain_number(&mut self, bytes: &[u8], start: usize, end: usize) -> bool {
        if let Builder::Str(_) = self {
            return false;
        }
        let Some(number) = scan_plain_number(bytes, start).filter(|n| n.end == end) else {
            return false;
        };
        match self {
            Builder::Int(b) if number.fraction_digits.is_none() && number.digit_count <= 18 => {
                // At most 18 digits cannot overflow an i64.
                let Ok(v) = i64::try_from(number.digits) else {
                    return false;
                };
                b.append_value(if number.negative { -v } else { v });
                true
            }
            Builder::Float(b) => b.push_plain(&number).is_some(),
            _ => false,
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::Float(b) => b.finish(),
            Builder::Str(mut b) => Arc::new(b.finish()),
        }
    }
}

/// A float exactly as arrow-csv reads it (arrow parses with lexical-core first); `None`
/// for what lexical-core does not take as it is (padded numbers), left to arrow-csv.
fn parse_float(field: &str) -> Option<f64> {
    lexical_core::parse::<f64>(field.as_bytes()).ok()
}

/// A number of the form `-?[0-9]+(\.[0-9]+)?` with at most 19 digits, found by
/// `scan_plain_number`: its digits as one integer, and where they end.
struct PlainNumber {
    negative: bool,
    digits: u64,
    digit_count: usize,
    /// How many of the digits follow the dot; `None` without a dot.
    fraction_digits: Option<usize>,
    end: usize,
}

/// Powers of ten that an f64 holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// How many of the eight bytes of `w` (little-endian) are ASCII digits before the first
/// that is not (8 when all are).
fn leading_digits(w: u64) -> u32 {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // A digit's high nibble is 3, and its low nibble plus 6 stays below 16 (the low
    // nibbles are added alone, so nothing carries between bytes).
    let high = (w & HIGH_NIBBLES) ^ 0x3030_3030_3030_3030;
    let low = ((w & 0x0F0F_0F0F_0F0F_0F0F) + 0x0606_0606_0606_0606) & HIGH_NIBBLES;
    nonzero_bytes(high | low).trailing_zeros() / 8
}

/// The top bit of each byte of `x` that is not zero, exactly: no carry crosses bytes,
/// as the low seven bits of each are added alone.
fn nonzero_bytes(x: u64) -> u64 {
    const LOWS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    (((x & LOWS) + LOWS) | x) & !LOWS
}

/// The value of the first `n` (1 to 8) digit bytes of `w`, three multiplications for
/// all of them: the digits are moved to the top, so the zero bytes below them read as
/// leading zeros.
fn digits_value(w: u64, n: u32) -> u64 {
    let v = (w & 0x0F0F_0F0F_0F0F_0F0F)
        .checked_shl(8 * 8u32.saturating_sub(n))
        .unwrap_or(0);
    let v = (v.wrapping_mul(10 * (1 << 8) + 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100 * (1 << 16) + 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    v.wrapping_mul(10_000 * (1 << 32) + 1) >> 32
}

/// The eight bytes at `i`, when the block holds them.
fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let w = <[u8; 8]>::try_from(bytes.get(i..i + 8)?).ok()?;
    Some(u64::from_le_bytes(w))
}

/// Reads the number written plainly at `start` (`-?[0-9]+(\.[0-9]+)?`, at most 19
/// digits), or `None`. It ends where its digits do: the caller checks that this is the
/// field's end, and reads any other field (empty, an exponent, padding) the long way,
/// by `Builder::push`. Runs of up to seven digits are read a word at a time; longer
/// ones, and the last bytes of the block, a byte at a time.
fn scan_plain_number(bytes: &[u8], start: usize) -> Option<PlainNumber> {
    let negative = bytes.get(start) == Some(&b'-');
    let i = start + usize::from(negative);
    let words = word_at(bytes, i).and_then(|w| {
        let whole = leading_digits(w);
        if whole == 0 || whole == 8 {
            return None;
        }
        let mut end = i + whole as usize;
        let mut number = (digits_value(w, whole), whole as usize, None);
        if bytes.get(end) == Some(&b'.') {
            let w = word_at(bytes, end + 1)?;
            let fraction = leading_digits(w);
            if fraction == 0 || fraction == 8 {
                return None;
            }
            // Its own u64 powers: converting `EXACT_POWERS_OF_TEN` here cost W3e 3%.
            let scale = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000]
                .get(fraction as usize)
                .copied()
                .unwrap_or(1);
            number = (
                number.0 * scale + digits_value(w, fraction),
                number.1 + fraction as usize,
                Some(fraction as usize),
            );
            end += 1 + fraction as usize;
        }
        Some((number, end))
    });
    let ((digits, digit_count, fraction_digits), end) = match words {
        Some(read) => read,
        None => scan_digits_bytewise(bytes, i)?,
    };
    Some(PlainNumber {
        negative,
        digits,
        digit_count,
        fraction_digits,
        end,
    })
}

/// `[0-9]+(\.[0-9]+)?` at `start`, a byte at a time: the digits as one number, their
/// count, the count after the dot, and where they end. `None` past 19 digits.
#[allow(clippy::type_complexity)]
fn scan_digits_bytewise(bytes: &[u8], start: usize) -> Option<((u64, usize, Option<usize>), usize)> {
    let mut digits: u64 = 0;
    let mut i = start;
    let run = |i: &mut usize, digits: &mut u64| {
        let from = *i;
        while let Some(d @ b'0'..=b'9') = bytes.get(*i) {
            *digits = digits.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            *i += 1;
        }
        *i - from
    };
    let whole = run(&mut i, &mut digits);
    let mut fraction = None;
    if whole > 0 && bytes.get(i) == Some(&b'.') {
        i += 1;
        fraction = Some(run(&mut i, &mut digits));
    }
    let count = whole + fraction.unwrap_or(0);
    if whole == 0 || fraction == Some(0) || count > 19 {
        return None;
    }
    Some(((digits, count, fraction), i))
}

/// The bytes of `w` (little-endian) equal to `c`, exactly: the top bit of each.
fn bytes_equal(w: u64, c: u8) -> u64 {
    let v = w ^ (u64::from(c) * 0x0101_0101_0101_0101);
    !nonzero_bytes(v) & 0x8080_8080_8080_8080
}

/// The bytes of `w` that end a field (comma, LF, CR, quote): the top bit of each.
#[cfg(any(test, not(any(target_arch = "x86_64", target_feature = "simd128"))))]
fn stop_mask(w: u64) -> u64 {
    bytes_equal(w, b',') | bytes_equal(w, b'\n') | bytes_equal(w, b'\r') | bytes_equal(w, b'"')
}

/// The top bits of the bytes of `m` (bits 7, 15, ... 63) gathered into its low byte.
#[cfg(any(test, not(any(target_arch = "x86_64", target_feature = "simd128"))))]
fn gather_top_bits(m: u64) -> u64 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// The stops among 16 bytes (two little-endian words), one bit a byte: one vector
/// compare per stop byte where the target has them.
#[cfg(target_arch = "x86_64")]
fn stops_of_16(lo: u64, hi: u64) -> u64 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x};
    // SAFETY: SSE2 is part of every x86_64 CPU, and these touch no memory.
    let mask = unsafe {
        let v = _mm_set_epi64x(hi as i64, lo as i64);
        let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let any = _mm_or_si128(
            _mm_or_si128(eq(b','), eq(b'\n')),
            _mm_or_si128(eq(b'\r'), eq(b'"')),
        );
        _mm_movemask_epi8(any)
    };
    u64::from(mask as u16)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn stops_of_16(lo: u64, hi: u64) -> u64 {
    use core::arch::wasm32::{u64x2, u8x16_bitmask, u8x16_eq, u8x16_splat, v128_or};
    let v = u64x2(lo, hi);
    let eq = |c: u8| u8x16_eq(v, u8x16_splat(c));
    let any = v128_or(v128_or(eq(b','), eq(b'\n')), v128_or(eq(b'\r'), eq(b'"')));
    u64::from(u8x16_bitmask(any))
}

#[cfg(not(any(target_arch = "x86_64", target_feature = "simd128")))]
fn stops_of_16(lo: u64, hi: u64) -> u64 {
    stops_of_16_portable(lo, hi)
}

/// `stops_of_16` in plain word arithmetic, for targets without vector compares.
#[cfg(any(test, not(any(target_arch = "x86_64", target_feature = "simd128"))))]
fn stops_of_16_portable(lo: u64, hi: u64) -> u64 {
    gather_top_bits(stop_mask(lo)) | gather_top_bits(stop_mask(hi)) << 8
}

/// The positions of the bytes that end fields, in order. They are found 64 bytes at a
/// time, one bit a byte, apart from where any field starts: so the reader neither waits
/// on each field's end before it looks for the next (a chain that cost about 20 cycles
/// a field) nor guesses, field by field, whether the next stop is in the same word.
struct Stops<'a> {
    bytes: &'a [u8],
    /// Where the 64 bytes `mask` is for begin.
    base: usize,
    /// The stops among those 64 bytes not yet given out, one bit a byte.
    mask: u64,
}

impl<'a> Stops<'a> {
    fn new(bytes: &'a [u8]) -> Stops<'a> {
        Stops {
            bytes,
            base: 0,
            mask: Self::mask_at(bytes, 0),
        }
    }

    /// The stops among the 64 bytes at `i`; bytes past the end read as zero, which is
    /// not a stop.
    fn mask_at(bytes: &[u8], i: usize) -> u64 {
        let mut chunk = [0u8; 64];
        let chunk = match bytes.get(i..i + 64) {
            Some(c) => c,
            None => {
                let rest = bytes.get(i..).unwrap_or_default();
                chunk.iter_mut().zip(rest).for_each(|(d, s)| *d = *s);
                &chunk[..]
            }
        };
        chunk.chunks_exact(16).enumerate().fold(0, |mask, (n, w)| {
            let word = |at: usize| {
                let bytes = w.get(at..at + 8).and_then(|b| <[u8; 8]>::try_from(b).ok());
                u64::from_le_bytes(bytes.unwrap_or_default())
            };
            mask | stops_of_16(word(0), word(8)) << (16 * n)
        })
    }
}

impl Iterator for Stops<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 64;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.mask = Self::mask_at(self.bytes, self.base);
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// The number of LF bytes in `bytes`, eight at a time: an exact zero-byte test (no
/// borrow between bytes) and a population count per word.
fn count_newlines(bytes: &[u8]) -> usize {
    let words = bytes.chunks_exact(8);
    let tail = words.remainder().iter().filter(|b| **b == b'\n').count();
    words.fold(tail, |n, w| {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(w).unwrap_or_default());
        n + bytes_equal(word, b'\n').count_ones() as usize
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
    let mut stops = Stops::new(bytes);
    let mut pos = 0;
    let mut first = header;
    while pos < bytes.len() {
        // An empty line is left to arrow-csv, which has its own rule for it.
        if matches!(bytes.get(pos), Some(b'\n' | b'\r')) {
            return None;
        }
        for (col, slot) in slots.iter().enumerate() {
            let end = stops.next().unwrap_or(bytes.len());
            let last = col + 1 == width;
            let next = match (bytes.get(end), bytes.get(end + 1)) {
                (Some(b','), _) if !last => end + 1,
                (Some(b'\n'), _) if last => end + 1,
                (Some(b'\r'), Some(b'\n')) if last => {
                    stops.next();
                    end + 2
                }
                (None, _) if last => end,
                // A quote, a lone CR, or a line with too few or too many fields.
                _ => return None,
            };
            if let (Some(n), false) = (slot, first) {
                let builder = builders.get_mut(*n)?;
                // A number is read straight from the bytes; anything else as a field.
                if !builder.push_plain_number(bytes, pos, end) && !builder.push(block.get(pos..end)?) {
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
    fn stops_are_every_comma_line_end_and_quote_in_order() {
        let every_byte: Vec<u8> = (0..=255u8).cycle().take(1029).collect();
        for text in [
            &b"abcdefghijkl,x\"yz0123456789\r\n"[..],
            b"no stop at all here",
            b"",
            b",",
            b",,,,,,,,,,,,,,,,,",
            b"1234567,\n",
            &every_byte,
            &every_byte[3..],
            &every_byte[..64],
            &every_byte[..65],
        ] {
            let want: Vec<usize> = (0..text.len())
                .filter(|i| matches!(text[*i], b',' | b'\n' | b'\r' | b'"'))
                .collect();
            assert_eq!(Stops::new(text).collect::<Vec<_>>(), want, "{text:?}");
        }
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

    /// An int field as the reader takes it: by `push_plain_number`, else by `push`.
    fn parse_int(field: &[u8]) -> Option<i64> {
        let mut b = Builder::new(&DataType::Int64, 1)?;
        let text = std::str::from_utf8(field).ok()?;
        if !b.push_plain_number(field, 0, field.len()) && !b.push(text) {
            return None;
        }
        let column = b.finish();
        let ints = column.as_any().downcast_ref::<arrow_array::Int64Array>()?;
        ints.iter().next().flatten()
    }

    /// The same block through this reader and through arrow-csv.
    fn assert_read_as_arrow_reads(text: &str) {
        let s = schema();
        let fast = read_plain_block(text, false, &s, &[0, 1, 2]).unwrap();
        let arrow = arrow_csv::ReaderBuilder::new(Arc::clone(&s))
            .with_header(false)
            .with_batch_size(1 << 16)
            .build(std::io::Cursor::new(text.as_bytes()))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        for c in 0..3 {
            assert_eq!(fast.column(c).to_data(), arrow.column(c).to_data(), "column {c}");
        }
    }

    #[test]
    fn numbers_of_every_length_read_as_arrow_reads_them() {
        // Whole and fraction parts of 1 to 12 digits (word-wise up to seven, byte-wise
        // past), signs, and a block that ends inside a word.
        let mut text = String::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..3000usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = |n: usize, x: u64| {
                let s = format!("{:020}", x);
                s[20 - n..].to_string()
            };
            let sign = if i % 3 == 0 { "-" } else { "" };
            let key = format!("{sign}{}", digits(1 + i % 18, x).trim_start_matches('0'));
            let key = if key.is_empty() || key == "-" {
                "0".to_string()
            } else {
                key
            };
            let val = format!(
                "{sign}{}.{}",
                digits(1 + i % 12, x >> 3),
                digits(1 + (i / 12) % 12, x >> 5)
            );
            text.push_str(&format!("{key},c,{val}\n"));
        }
        text.push_str("7,c,0.5");
        assert_read_as_arrow_reads(&text);
    }

    #[test]
    fn floats_with_one_count_of_fraction_digits_are_divided_once() {
        // All alike to the end (divided as the column finishes), with missing values.
        let alike: String = (0..500)
            .map(|i| match i % 9 {
                4 => "1,c,\n".to_string(),
                _ => format!("1,c,{}.{:03}\n", i / 7, (i * 37) % 1000),
            })
            .collect();
        assert_read_as_arrow_reads(&alike);
        // Alike, then a value of another shape late in the block: the values before it
        // are divided then, and it and the rest go in as they are read.
        for odd in ["0.25", "1e3", "12345678.5", "-0.0000001", "3"] {
            let mut text = alike.clone();
            text.push_str(&format!("2,c,{odd}\n"));
            text.push_str(&alike);
            assert_read_as_arrow_reads(&text);
        }
    }

    #[test]
    fn digit_words_are_read_at_once() {
        for n in 1..=8u32 {
            for seed in 0..50u64 {
                let text = format!("{:08}", seed.wrapping_mul(0x9e37_79b9) % 100_000_000);
                let mut bytes = [b','; 8];
                bytes[..n as usize].copy_from_slice(&text.as_bytes()[..n as usize]);
                let w = u64::from_le_bytes(bytes);
                assert_eq!(leading_digits(w), n, "{text} {n}");
                let want: u64 = text[..n as usize].parse().unwrap();
                assert_eq!(digits_value(w, n), want, "{text} {n}");
            }
        }
        // Every byte that is not a digit stops the run, at every place.
        for b in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
            for at in 0..8 {
                let mut bytes = *b"12345678";
                bytes[at] = b;
                assert_eq!(
                    leading_digits(u64::from_le_bytes(bytes)),
                    at as u32,
                    "{b} at {at}"
                );
            }
        }
    }

    #[test]
    fn vector_stop_masks_match_the_portable_ones() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly stop bytes and their neighbours, so masks are dense and varied.
            let pick = |v: u64| {
                let mut bytes = v.to_le_bytes();
                for b in &mut bytes {
                    *b = [b',', b'\n', b'\r', b'"', b'a', 0x2b, 0x8c, 0x0a ^ 0x80][(*b % 8) as usize];
                }
                u64::from_le_bytes(bytes)
            };
            let (lo, hi) = (pick(x), pick(x.rotate_left(29)));
            assert_eq!(stops_of_16(lo, hi), stops_of_16_portable(lo, hi), "{lo:x} {hi:x}");
        }
    }

    /// Random lines of digits, signs, dots, exponents, spaces and empty fields: where
    /// this reader takes a block it reads what arrow-csv reads, and where arrow-csv
    /// fails on a block this reader leaves it alone.
    #[test]
    fn random_blocks_are_read_as_arrow_reads_them_or_left_to_it() {
        let s = schema();
        let mut x: u64 = 0x853c_49e6_748f_ea9b;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // A number of a random shape, now and then with a part arrow reads differently
        // or not at all.
        let mut field = |int_only: bool| {
            let r = next();
            let digits = |n: u64, seed: u64| -> String {
                (0..n)
                    .map(|i| char::from(b'0' + ((seed >> (i % 60)) % 10) as u8))
                    .collect()
            };
            let mut f = String::new();
            if r % 4 == 0 {
                f.push('-');
            }
            f.push_str(&digits((r >> 2) % 21, r));
            if !int_only || r % 50 == 1 {
                if (r >> 7) % 6 != 0 {
                    f.push('.');
                    f.push_str(&digits((r >> 10) % 12, r >> 3));
                }
                if (r >> 14) % 9 == 0 {
                    f.push('e');
                    f.push_str(&digits((r >> 17) % 3, r >> 5));
                }
            }
            match (r >> 20) % 40 {
                0 => f.insert(0, ' '),
                1 => f.push('x'),
                2 => f.clear(),
                _ => {}
            }
            f
        };
        for block in 0..3000 {
            let mut text = String::new();
            for _ in 0..(1 + block % 3) {
                let (k, v) = (field(true), field(false));
                text.push_str(&format!("{k},s,{v}\n"));
            }
            let fast = read_plain_block(&text, false, &s, &[0, 1, 2]);
            let arrow = arrow_csv::ReaderBuilder::new(Arc::clone(&s))
                .with_header(false)
                .build(std::io::Cursor::new(text.as_bytes()))
                .ok()
                .and_then(|mut r| r.next())
                .and_then(|b| b.ok());
            match (fast, arrow) {
                (Some(f), Some(a)) => {
                    for c in 0..3 {
                        assert_eq!(f.column(c).to_data(), a.column(c).to_data(), "{text:?}");
                    }
                }
                (Some(_), None) => panic!("read a block arrow-csv fails on: {text:?}"),
                _ => {}
            }
        }
    }
}
