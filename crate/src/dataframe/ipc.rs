//! Arrow IPC in and out: frames from IPC stream or file bytes (sent as base64 in plans),
//! and a frame as IPC stream bytes (returned as base64 text, decoded by the JS binding).
//! Base64 is written out here: it is a few lines, and not worth a dependency.

use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int16Type, Int32Type, Int8Type, UInt16Type, UInt32Type, UInt8Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        for k in 0..4 {
            if k <= chunk.len() {
                let idx = ((n >> (18 - 6 * k)) & 63) as usize;
                out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in text.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            other => {
                return Err(Error::value(format!(
                    "from_ipc: the ipc argument is not base64 (byte {i} is {:?})",
                    char::from(other)
                )))
            }
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

/// One column converted to the dtypes frames use (int64, float64, bool, string).
fn normalize(name: &str, c: &ArrayRef) -> Result<ArrayRef> {
    macro_rules! ints {
        ($t:ty) => {
            Arc::new(
                c.as_primitive::<$t>()
                    .iter()
                    .map(|x| x.map(i64::from))
                    .collect::<Int64Array>(),
            ) as ArrayRef
        };
    }
    Ok(match c.data_type() {
        DataType::Int64 | DataType::Float64 | DataType::Boolean | DataType::Utf8 => Arc::clone(c),
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::Float32 => Arc::new(
            c.as_primitive::<Float32Type>()
                .iter()
                .map(|x| x.map(f64::from))
                .collect::<Float64Array>(),
        ),
        DataType::LargeUtf8 => Arc::new(c.as_string::<i64>().iter().collect::<StringArray>()),
        DataType::Utf8View => Arc::new(c.as_string_view().iter().collect::<StringArray>()),
        DataType::Null => Arc::new(Float64Array::from(vec![None; c.len()])),
        other => {
            return Err(Error::type_error(format!(
                "from_ipc: column '{name}' has the Arrow type {other}; frames hold int64, float64, bool and string (and smaller ints and floats, converted)"
            )))
        }
    })
}

/// All rows of IPC stream or file bytes, with columns converted to the frame dtypes.
pub fn read(bytes: &[u8]) -> Result<RecordBatch> {
    let ak = |e: arrow_schema::ArrowError| Error::value(format!("from_ipc: {e}"));
    let (schema, batches): (SchemaRef, Vec<RecordBatch>) = if bytes.starts_with(b"ARROW1") {
        let r = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None).map_err(ak)?;
        let s = r.schema();
        (s, r.collect::<std::result::Result<_, _>>().map_err(ak)?)
    } else {
        let r = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).map_err(ak)?;
        let s = r.schema();
        (s, r.collect::<std::result::Result<_, _>>().map_err(ak)?)
    };
    let all = super::kernels::concat(&schema, &batches)?;
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (f, c) in schema.fields().iter().zip(all.columns()) {
        let c = normalize(f.name(), c)?;
        fields.push(Field::new(f.name(), c.data_type().clone(), true));
        cols.push(c);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
        .map_err(|e| Error::internal(format!("from_ipc: {e}")))
}

/// The batch as IPC stream bytes.
pub fn write(batch: &RecordBatch) -> Result<Vec<u8>> {
    let ak = |e: arrow_schema::ArrowError| Error::value(format!("to_ipc: {e}"));
    let mut buf = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema()).map_err(ak)?;
        w.write(batch).map_err(ak)?;
        w.finish().map_err(ak)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for n in 0..20usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
    }
}
