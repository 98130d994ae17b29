//! Dynamic values: the elements of bags and the results of reductions.
//!
//! `Value` is null, bool, int (i64), float (f64), string, list or record (ordered keys).
//! It has a total order and a hash that agree with its equality, so that distinct,
//! frequencies and groupby work on any value, and it converts to and from JSON.
//!
//! Equality and order follow Python where Python has an answer: `1 == 1.0` and they hash
//! alike; NaN equals NaN here (Python's `nan != nan` would make it unusable as a key) and
//! sorts after every other number. Across types the order is
//! null < bool < number < string < list < record, where Python would raise.

use foldhash::fast::FixedState;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One field of a record: its name and value.
pub type Field = (Arc<str>, Value);
/// The fields of a record, in insertion order, while they are being built.
pub type Fields = Vec<Field>;

/// A field name, shared with the records made before on this thread that have a field of
/// that name: a bag of a million records holds each of its few names once (as Python
/// shares the keys of its dicts), which keeps records small and their names in cache.
pub fn field_name(name: &str) -> Arc<str> {
    thread_local! {
        static NAMES: RefCell<HashSet<Arc<str>, FixedState>> = RefCell::default();
    }
    /// Longer names, and more names than this, are not shared.
    const LONGEST: usize = 64;
    const MOST: usize = 4096;
    if name.len() > LONGEST {
        return Arc::from(name);
    }
    NAMES
        .try_with(|names| {
            let mut names = names.try_borrow_mut().ok()?;
            if let Some(shared) = names.get(name) {
                return Some(Arc::clone(shared));
            }
            if names.len() >= MOST {
                names.clear();
            }
            let shared: Arc<str> = Arc::from(name);
            names.insert(Arc::clone(&shared));
            Some(shared)
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| Arc::from(name))
}

/// A field by name. A name shared with the record's (see `field_name`) is recognised by
/// its address, without comparing the text.
#[inline(always)]
pub fn find_field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields
        .iter()
        .find(|(k, _)| k.len() == name.len() && (std::ptr::eq(k.as_ptr(), name.as_ptr()) || **k == *name))
        .map(|(_, v)| v)
}

/// One dynamic value. Strings, lists and records are shared (`Arc`) so clones are cheap.
// A word-sized tag keeps every payload at offset 8, so a value moves as three whole words
// (with a byte tag, a bool sits at offset 1 and moving a value of unknown kind copies odd
// byte ranges, which the CPU cannot forward from the stores that wrote them).
#[derive(Clone, Default)]
#[repr(u64)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    List(Arc<Vec<Value>>),
    /// One allocation per record: the fields follow the reference counts.
    Record(Arc<[Field]>),
}

impl Value {
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Arc::from(s.as_ref()))
    }
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }
    pub fn record<K: AsRef<str>>(fields: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Record(
            fields
                .into_iter()
                .map(|(k, v)| (field_name(k.as_ref()), v))
                .collect(),
        )
    }

    /// The type's name as users see it in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Record(_) => "record",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
    pub fn as_record(&self) -> Option<&[Field]> {
        match self {
            Value::Record(r) => Some(r),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// The value as a float if it is a number (bools are not numbers here).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Looks up a record field by name.
    #[inline]
    pub fn get_field(&self, name: &str) -> Option<&Value> {
        find_field(self.as_record()?, name)
    }

    /// Python truthiness: null, false, 0, 0.0, "" and empty containers are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Record(r) => !r.is_empty(),
        }
    }

    /// Converts from JSON; integers that fit i64 become `Int`, other numbers `Float`.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(items) => Value::list(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                Value::record(map.iter().map(|(k, v)| (k.as_str(), Value::from_json(v))))
            }
        }
    }

    /// Converts to JSON; NaN and infinities become null, as `JSON.stringify` does.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Record(r) => {
                serde_json::Value::Object(r.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect())
            }
        }
    }

    fn type_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Float(_) => 2,
            Value::Str(_) => 3,
            Value::List(_) => 4,
            Value::Record(_) => 5,
        }
    }

    /// A short, bounded text for event previews and graph labels: `{A: 1, B: 3}`.
    pub fn preview(&self, max_chars: usize) -> String {
        let mut out = String::new();
        self.write_preview(&mut out, max_chars);
        if out.chars().count() > max_chars {
            let cut: String = out.chars().take(max_chars.saturating_sub(1)).collect();
            return format!("{cut}…");
        }
        out
    }

    fn write_preview(&self, out: &mut String, budget: usize) {
        if out.len() > budget {
            return;
        }
        match self {
            Value::Str(s) => out.push_str(s),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if out.len() > budget {
                        out.push_str(", …");
                        break;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_repr(out, budget);
                }
                out.push(']');
            }
            Value::Record(r) => {
                out.push('{');
                for (i, (k, v)) in r.iter().enumerate() {
                    if out.len() > budget {
                        out.push_str(", …");
                        break;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    v.write_repr(out, budget);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }

    /// Like `write_preview`, but strings nested in containers keep quotes unless they are
    /// short identifiers, so `{A: 1}` stays readable and `["a b"]` unambiguous.
    fn write_repr(&self, out: &mut String, budget: usize) {
        match self {
            Value::Str(s) => {
                let plain = !s.is_empty()
                    && s.chars().count() <= 12
                    && s.chars().all(|c| c.is_alphanumeric() || c == '_');
                if plain {
                    out.push_str(s);
                } else {
                    out.push_str(&format!("{:?}", &**s));
                }
            }
            other => other.write_preview(out, budget),
        }
    }
}

/// Display is the JSON-like text used in messages (`null`, `true`, `1`, `1.5`, `"a"`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => fmt_float(*x, f),
            Value::Str(s) => write!(f, "{:?}", &**s),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Record(r) => {
                f.write_str("{")?;
                for (i, (k, v)) in r.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{:?}: {v}", &**k)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Floats print as Python does: `1.0`, `0.5`, `nan`, `inf`.
pub fn fmt_float(x: f64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if x.is_nan() {
        f.write_str("nan")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "inf" } else { "-inf" })
    } else if x == x.trunc() && x.abs() < 1e16 {
        write!(f, "{x:.1}")
    } else {
        write!(f, "{x}")
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    // NaN sorts after every number and equals itself, so the order is total.
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

fn cmp_int_float(i: i64, x: f64) -> Ordering {
    if x.is_nan() {
        return Ordering::Less;
    }
    // Compare exactly: i64 -> f64 can round, so compare in the integer domain when x is integral.
    if x >= 9.3e18 {
        return Ordering::Less;
    }
    if x <= -9.3e18 {
        return Ordering::Greater;
    }
    let t = x.trunc();
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => {
            if x > t {
                Ordering::Less
            } else if x < t {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        other => other,
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => cmp_f64(*a, *b),
            (Int(a), Float(b)) => cmp_int_float(*a, *b),
            (Float(a), Int(b)) => cmp_int_float(*b, *a).reverse(),
            (Str(a), Str(b)) => a.cmp(b),
            (List(a), List(b)) => a.iter().cmp(b.iter()),
            (Record(a), Record(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
                    match ka.cmp(kb).then_with(|| va.cmp(vb)) {
                        Ordering::Equal => {}
                        other => return other,
                    }
                }
                a.len().cmp(&b.len())
            }
            _ => self.type_rank().cmp(&other.type_rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => state.write_u8(0),
            Value::Bool(b) => {
                state.write_u8(1);
                b.hash(state)
            }
            Value::Int(i) => {
                state.write_u8(2);
                i.hash(state)
            }
            Value::Float(x) => {
                state.write_u8(2);
                // Integral floats hash as the int they equal.
                if x.is_nan() {
                    state.write_u64(0x7ff8_0000_0000_0000)
                } else if *x == x.trunc() && x.abs() < 9.2e18 {
                    (*x as i64).hash(state)
                } else {
                    x.to_bits().hash(state)
                }
            }
            Value::Str(s) => {
                state.write_u8(3);
                s.hash(state)
            }
            Value::List(l) => {
                state.write_u8(4);
                state.write_usize(l.len());
                for v in l.iter() {
                    v.hash(state)
                }
            }
            Value::Record(r) => {
                state.write_u8(5);
                state.write_usize(r.len());
                for (k, v) in r.iter() {
                    k.hash(state);
                    v.hash(state)
                }
            }
        }
    }
}

/// A string looked up in a map or set of values without making a value of it: it hashes
/// and compares exactly as the `Value::Str` holding the same text.
pub struct StrKey<'a>(pub &'a str);

impl Hash for StrKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `Value::Str` hashes.
        state.write_u8(3);
        self.0.hash(state)
    }
}

impl indexmap::Equivalent<Value> for StrKey<'_> {
    fn equivalent(&self, key: &Value) -> bool {
        matches!(key, Value::Str(s) if **s == *self.0)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Arc::from(s))
    }
}
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::list(items)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => serializer.serialize_f64(*x),
            Value::Float(_) => serializer.serialize_unit(),
            Value::Str(s) => serializer.serialize_str(s),
            Value::List(l) => {
                let mut seq = serializer.serialize_seq(Some(l.len()))?;
                for v in l.iter() {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Record(r) => {
                let mut map = serializer.serialize_map(Some(r.len()))?;
                for (k, v) in r.iter() {
                    map.serialize_entry(&**k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
                Ok(Value::Int(i))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
                Ok(i64::try_from(u).map(Value::Int).unwrap_or(Value::Float(u as f64)))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
                Ok(Value::Float(x))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::str(s))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::from(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(Value::list(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut fields: Fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    fields.push((field_name(&k), v));
                }
                Ok(Value::Record(fields.into()))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn h(v: &Value) -> u64 {
        let mut s = DefaultHasher::new();
        v.hash(&mut s);
        s.finish()
    }

    #[test]
    fn int_and_float_equal_and_hash_alike() {
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert_eq!(h(&Value::Int(1)), h(&Value::Float(1.0)));
        assert!(Value::Int(1) < Value::Float(1.5));
        assert!(Value::Float(0.5) < Value::Int(1));
        assert_eq!(Value::Float(f64::NAN), Value::Float(f64::NAN));
        assert!(Value::Float(f64::INFINITY) < Value::Float(f64::NAN));
    }

    #[test]
    fn cross_type_order_is_total() {
        let vals = vec![
            Value::record([("a", Value::Int(1))]),
            Value::list(vec![]),
            Value::str("b"),
            Value::Float(2.5),
            Value::Bool(true),
            Value::Null,
        ];
        let mut sorted = vals.clone();
        sorted.sort();
        assert_eq!(sorted.first(), Some(&Value::Null));
        assert_eq!(sorted.last(), vals.first());
    }

    #[test]
    fn json_round_trip_keeps_key_order_and_int_float() {
        let text = r#"{"z":1,"a":[1.5,null,"x",true],"m":{"k":2}}"#;
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
        let j: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(Value::from_json(&j).to_json(), j);
    }

    #[test]
    fn values_are_three_words() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Option<Value>>(), 24);
    }

    #[test]
    fn preview_is_short_and_readable() {
        let v = Value::record([("A", Value::Int(1)), ("B", Value::Int(3))]);
        assert_eq!(v.preview(40), "{A: 1, B: 3}");
        let long = Value::list((0..1000).map(Value::Int).collect());
        assert!(long.preview(30).chars().count() <= 30);
        assert_eq!(Value::Float(2.0).to_string(), "2.0");
    }
}
