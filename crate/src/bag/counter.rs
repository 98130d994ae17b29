//! Values as keys in first-seen order, for `frequencies` (counts per value) and `distinct`
//! (the values seen): per partition, when partials merge, and in fused chains.
//!
//! Short strings (up to 15 bytes, the usual words and labels) are looked up by their bytes
//! packed into one integer, and ints (and the floats equal to an int) by the int, so
//! looking up a key seen before hashes one or two words and compares integers: nothing
//! is copied or dereferenced again. Every other value is looked up as a `Value`. The
//! tables never hold keys equal to each other (a string only equals a string, and a value
//! goes to the int table exactly when it equals an int and hashes as one: `Value`'s
//! equality and hash), so the three tables together behave as one map of values, and
//! one list of keys keeps the first-seen order across them.

use crate::error::{Error, Result};
use crate::value::{StrKey, Value};
use foldhash::fast::FixedState;
use indexmap::IndexMap;

/// The id no key has: it marks an empty slot of `PackedIds`.
const EMPTY: u32 = u32::MAX;

/// Values in first-seen order, each with a `V`.
///
/// The lookup path is `inline(always)`: left to the inliner, the wasm build kept
/// `probe` and `upsert` as calls, and W1b ran 1.6 times slower in the browser.
pub struct Keyed<V> {
    /// The keys in first-seen order, and their `V`s.
    keys: Vec<Value>,
    vals: Vec<V>,
    /// Positions in `keys` by packed short string.
    short: PackedIds,
    /// By int (ints, and floats equal to an int), as its 64 bits.
    ints: PackedIds,
    /// By any other value.
    other: IndexMap<Value, usize, FixedState>,
}

impl<V> Default for Keyed<V> {
    fn default() -> Self {
        Keyed {
            keys: Vec::new(),
            vals: Vec::new(),
            short: PackedIds::default(),
            ints: PackedIds::default(),
            other: IndexMap::default(),
        }
    }
}

/// Which table a value is looked up in.
enum Probe {
    Short(u128),
    Int(i64),
    Other,
}

#[inline(always)]
fn probe(x: &Value) -> Probe {
    match x {
        Value::Str(s) => pack(s).map_or(Probe::Other, Probe::Short),
        Value::Int(i) => Probe::Int(*i),
        // Exactly the floats that `Value` hashes as the int they equal.
        Value::Float(f) if *f == f.trunc() && f.abs() < 9.2e18 => Probe::Int(*f as i64),
        _ => Probe::Other,
    }
}

/// A string of at most 15 bytes as one integer: its bytes, then its length in the last
/// byte, so different strings never pack alike. Read as whole words, not byte by byte.
pub(crate) fn pack(s: &str) -> Option<u128> {
    pack_bytes(s.as_bytes())
}

/// `pack` of a string's bytes, for callers that hold them without the `&str`.
pub(crate) fn pack_bytes(b: &[u8]) -> Option<u128> {
    let n = b.len();
    let word = |from: usize| -> u64 {
        b.get(from..from + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map_or(0, u64::from_le_bytes)
    };
    let half = |from: usize| -> u64 {
        b.get(from..from + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map_or(0, |w| u64::from(u32::from_le_bytes(w)))
    };
    let (lo, hi) = match n {
        // Two reads that overlap: the bytes they share are the same, so `|` keeps them.
        8..=15 => (word(0), word(n - 8).checked_shr(8 * (16 - n) as u32).unwrap_or(0)),
        4..=7 => (half(0) | (half(n - 4) << (8 * (n - 4))), 0),
        0..=3 => (
            b.iter()
                .enumerate()
                .fold(0u64, |acc, (i, x)| acc | (u64::from(*x) << (8 * i))),
            0,
        ),
        _ => return None,
    };
    Some(u128::from(lo) | (u128::from(hi | ((n as u64) << 56)) << 64))
}

impl<V> Keyed<V> {
    /// The position the next new key takes, as a table id; `None` past the ids there are
    /// (billions of keys), which then go to the table of other values.
    #[inline(always)]
    fn next_id(&self) -> Option<u32> {
        u32::try_from(self.keys.len()).ok().filter(|at| *at < EMPTY)
    }

    /// Keeps `key()` with `init()` if `found` is the next position, else applies `update`
    /// to the `V` at `found`; whether the key was new.
    #[inline(always)]
    fn settle(
        &mut self,
        found: usize,
        key: impl FnOnce() -> Value,
        init: impl FnOnce() -> V,
        update: impl FnOnce(&mut V),
    ) -> bool {
        if found == self.keys.len() {
            self.keys.push(key());
            self.vals.push(init());
            return true;
        }
        if let Some(v) = self.vals.get_mut(found) {
            update(v);
        }
        false
    }

    /// The position of a value in `other`, inserting it (as `key()`) at the next one.
    fn other_at<Q>(&mut self, x: &Q, key: impl FnOnce() -> Value) -> usize
    where
        Q: std::hash::Hash + indexmap::Equivalent<Value> + ?Sized,
    {
        match self.other.get(x) {
            Some(at) => *at,
            None => {
                let at = self.keys.len();
                self.other.insert(key(), at);
                at
            }
        }
    }

    /// Keeps `x` with `init()` if it is new, else applies `update` to its `V`; whether
    /// `x` was new. `x` is copied only when it is new.
    #[inline(always)]
    pub fn upsert(&mut self, x: &Value, init: impl FnOnce() -> V, update: impl FnOnce(&mut V)) -> bool {
        let found = match (probe(x), self.next_id()) {
            (Probe::Short(k), Some(next)) => self.short.id_or_insert(k, next) as usize,
            (Probe::Int(k), Some(next)) => self.ints.id_or_insert(u128::from(k as u64), next) as usize,
            _ => self.other_at(x, || x.clone()),
        };
        self.settle(found, || x.clone(), init, update)
    }

    /// As `upsert`, for a string that is not a value yet (made one only if it is new).
    #[inline]
    pub fn upsert_str(&mut self, s: &str, init: impl FnOnce() -> V, update: impl FnOnce(&mut V)) -> bool {
        let found = match (pack(s), self.next_id()) {
            (Some(k), Some(next)) => self.short.id_or_insert(k, next) as usize,
            _ => self.other_at(&StrKey(s), || Value::str(s)),
        };
        self.settle(found, || Value::str(s), init, update)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys in first-seen order.
    pub fn into_keys(self) -> Vec<Value> {
        self.keys
    }

    /// The keys in first-seen order, each with its `V`.
    pub fn into_entries(self) -> Vec<(Value, V)> {
        self.keys.into_iter().zip(self.vals).collect()
    }
}

/// Ids (below `EMPTY`) by a 128-bit key (a packed short string, or an int), in an
/// open-addressing table probed linearly, each key beside its id. While
/// small it is kept at most an eighth full, so most keys sit in their first slot and the
/// probe loop's branch is predictable (at half full, W3d's 100 keys ran 20% slower);
/// once large, at most half full, to keep its memory near a general map's. Against
/// hashbrown with foldhash (whose 128-bit multiply wasm does in parts), W3d took 0.034
/// seconds instead of 0.043 natively, and W1e 0.015 instead of 0.019 in the browser.
/// With keys and ids in two arrays a lookup missed the cache twice; side by side, W1e ran
/// faster on one worker in each of eight alternated runs (e.g. 0.033 instead of 0.039 s).
pub(crate) struct PackedIds {
    slots: Vec<Slot>,
    /// `64 - log2(slots.len())`: the hash's top bits pick the slot.
    shift: u32,
    len: usize,
}

/// A key and its id side by side, so a lookup reads one cache line, not two.
#[derive(Clone, Copy)]
struct Slot {
    key: u128,
    id: u32,
}

const EMPTY_SLOT: Slot = Slot { key: 0, id: EMPTY };

impl Default for PackedIds {
    fn default() -> Self {
        PackedIds {
            slots: vec![EMPTY_SLOT; 64],
            shift: 64 - 6,
            len: 0,
        }
    }
}

impl PackedIds {
    /// The slot to start probing `key` from: each half multiplied by its own odd
    /// constant, the products XORed, then the top bits (a multiply-shift hash).
    #[inline(always)]
    fn home(&self, key: u128) -> usize {
        let (lo, hi) = (key as u64, (key >> 64) as u64);
        let h = lo.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hi.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
        (h >> self.shift) as usize
    }

    /// The id of `key`, given `next` first if it is new.
    #[inline(always)]
    pub(crate) fn id_or_insert(&mut self, key: u128, next: u32) -> u32 {
        let mask = self.slots.len() - 1;
        let mut at = self.home(key);
        loop {
            let Some(slot) = self.slots.get_mut(at) else {
                // Unreachable (`at` is masked); ends the probe rather than panic.
                return next;
            };
            if slot.id == EMPTY {
                *slot = Slot { key, id: next };
                self.len += 1;
                let most = if self.slots.len() < 4096 {
                    self.slots.len() / 8
                } else {
                    self.slots.len() / 2
                };
                if self.len > most {
                    self.grow();
                }
                return next;
            }
            if slot.key == key {
                return slot.id;
            }
            at = (at + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let wider = 2 * self.slots.len();
        let slots = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; wider]);
        self.shift -= 1;
        self.len = 0;
        for slot in slots.into_iter().filter(|s| s.id != EMPTY) {
            self.id_or_insert(slot.key, slot.id);
        }
    }

    /// How many keys the table holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How far, on average, each key sits from its home slot.
    #[cfg(test)]
    pub(crate) fn mean_probe(&self) -> f64 {
        let mask = self.slots.len() - 1;
        let far: usize = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.id != EMPTY)
            .map(|(at, s)| at.wrapping_sub(self.home(s.key)) & mask)
            .sum();
        far as f64 / self.len.max(1) as f64
    }
}

/// Counts by value, in first-seen order.
#[derive(Default)]
pub struct Counter(Keyed<i64>);

/// Adds `n` to a count, noting an overflow instead of wrapping.
#[inline]
fn bump(count: &mut i64, n: i64, overflowed: &mut bool) {
    match count.checked_add(n) {
        Some(sum) => *count = sum,
        None => *overflowed = true,
    }
}

fn checked(overflowed: bool) -> Result<()> {
    if overflowed {
        Err(overflow())
    } else {
        Ok(())
    }
}

fn overflow() -> Error {
    Error::eval("frequencies: count overflow")
}

impl Counter {
    /// Adds `n` to the count of `x`, copying `x` only when it is new.
    #[inline(always)]
    pub fn add(&mut self, x: &Value, n: i64) -> Result<()> {
        let mut overflowed = false;
        self.0.upsert(x, || n, |c| bump(c, n, &mut overflowed));
        checked(overflowed)
    }

    /// Adds `n` to the count of a string, making a value of it only when it is new.
    #[inline]
    pub fn add_str(&mut self, s: &str, n: i64) -> Result<()> {
        let mut overflowed = false;
        self.0.upsert_str(s, || n, |c| bump(c, n, &mut overflowed));
        checked(overflowed)
    }

    /// The counts in first-seen order.
    pub fn into_entries(self) -> Vec<(Value, i64)> {
        self.0.into_entries()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The distinct values seen, in first-seen order.
#[derive(Default)]
pub struct Seen(Keyed<()>);

impl Seen {
    /// Whether `x` is new (it is then kept).
    #[inline]
    pub fn insert(&mut self, x: &Value) -> bool {
        self.0.upsert(x, || (), |_| ())
    }

    /// Whether a string is new (it is then kept, as a value).
    #[inline]
    pub fn insert_str(&mut self, s: &str) -> bool {
        self.0.upsert_str(s, || (), |_| ())
    }

    /// The values in first-seen order.
    pub fn into_values(self) -> Vec<Value> {
        self.0.into_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thousands of ints (the extremes, negatives, floats equal to ints) and short strings,
    /// interleaved and seen again in another order, as the tables grow: counts and
    /// first-seen order as an `IndexMap` of values keeps them.
    #[test]
    fn many_keys_of_every_table_count_as_one_map() {
        let mut items = Vec::new();
        for i in 0..6000i64 {
            items.push(match i % 5 {
                0 => Value::Int(i * 7919 - 20_000),
                1 => Value::str(format!("w{i}")),
                2 => Value::Float((i / 2) as f64),
                3 => Value::Int(if i % 2 == 0 { i64::MIN + i } else { i64::MAX - i }),
                _ => Value::str(format!("{:x}", i * 31)),
            });
        }
        let again: Vec<Value> = items.iter().rev().step_by(3).cloned().collect();
        let mut c = Counter::default();
        let mut seen = Seen::default();
        let mut want: IndexMap<Value, i64> = IndexMap::new();
        for x in items.iter().chain(&again) {
            c.add(x, 2).unwrap();
            let new = !want.contains_key(x);
            assert_eq!(seen.insert(x), new, "{x:?}");
            *want.entry(x.clone()).or_insert(0) += 2;
        }
        assert_eq!(c.into_entries(), want.clone().into_iter().collect::<Vec<_>>());
        assert_eq!(seen.into_values(), want.into_keys().collect::<Vec<_>>());
    }

    #[test]
    fn short_and_long_strings_and_other_values_count_in_first_seen_order() {
        let long = "a string longer than fifteen bytes";
        let items = vec![
            Value::str("b"),
            Value::Int(1),
            Value::str(long),
            Value::Float(1.0),
            Value::str(""),
            Value::str("b"),
            Value::str("b\0"),
            Value::str("123456789012345"),
            Value::str("1234567890123456"),
            Value::str(long),
            Value::Null,
            Value::Bool(true),
            Value::str("é"),
        ];
        let mut c = Counter::default();
        for x in &items {
            c.add(x, 1).unwrap();
        }
        c.add_str("b", 2).unwrap();
        c.add_str(long, 1).unwrap();
        c.add_str("new", 1).unwrap();
        let got = c.into_entries();
        // The same as counting with an IndexMap of values.
        let mut want: IndexMap<Value, i64> = IndexMap::new();
        for x in &items {
            *want.entry(x.clone()).or_insert(0) += 1;
        }
        *want.entry(Value::str("b")).or_insert(0) += 2;
        *want.entry(Value::str(long)).or_insert(0) += 1;
        *want.entry(Value::str("new")).or_insert(0) += 1;
        let want: Vec<(Value, i64)> = want.into_iter().collect();
        assert_eq!(got, want);
        // 1 and 1.0 are one key, kept as first seen.
        assert!(matches!(got.get(1), Some((Value::Int(1), 2))));
    }

    #[test]
    fn packing_keeps_strings_apart() {
        let words = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcde",
            "abcdef",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijklmno",
            "a\0",
            "\0",
            "\0\0",
            "abcdefg\0",
            "bbcdefgh",
            "abcdefgi",
            "é",
            "ab\0\0",
        ];
        let packed: Vec<u128> = words.iter().map(|w| pack(w).unwrap()).collect();
        for (i, a) in packed.iter().enumerate() {
            for (j, b) in packed.iter().enumerate() {
                assert_eq!(a == b, i == j, "{:?} {:?}", words[i], words[j]);
            }
        }
        // The bytes in order, then the length in the last byte.
        let mut want = [0u8; 16];
        want[..11].copy_from_slice(b"hello world");
        want[15] = 11;
        assert_eq!(pack("hello world"), Some(u128::from_le_bytes(want)));
        for n in 0..=15 {
            let w: String = "abcdefghijklmnop".chars().take(n).collect();
            let mut want = [0u8; 16];
            want[..n].copy_from_slice(w.as_bytes());
            want[15] = n as u8;
            assert_eq!(pack(&w), Some(u128::from_le_bytes(want)), "{w}");
        }
        assert_eq!(pack("abcdefghijklmnop"), None);
    }

    /// Values that are equal across types, or nearly so, and every other kind.
    fn mixed() -> Vec<Value> {
        let mut v = vec![
            Value::Int(1),
            Value::Float(1.0),
            Value::Float(1.5),
            Value::Bool(true),
            Value::Int(0),
            Value::Float(-0.0),
            Value::Bool(false),
            Value::Float(f64::NAN),
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(1e19),
            Value::Float(-9.1e18),
            Value::Int(-9_100_000_000_000_000_000),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Null,
            Value::Null,
            Value::str("1"),
            Value::str("a"),
            Value::str("a string longer than fifteen bytes"),
            Value::str("a string longer than fifteen bytes"),
            Value::list(vec![Value::Int(1)]),
            Value::list(vec![Value::Float(1.0)]),
            Value::record([("a", Value::Int(1))]),
            Value::Float(1.0),
            Value::Int(1),
            Value::str("a"),
        ];
        v.extend((0..50).map(|i| Value::Int(i % 7 - 3)));
        v.extend((0..50).map(|i| Value::Float(f64::from(i % 5) - 2.0)));
        v
    }

    #[test]
    fn distinct_is_an_index_set_of_values() {
        let items = mixed();
        let mut seen = Seen::default();
        let mut want: IndexMap<Value, ()> = IndexMap::new();
        for x in &items {
            let new = seen.insert(x);
            assert_eq!(new, want.insert(x.clone(), ()).is_none(), "{x}");
        }
        assert!(!seen.insert_str("a"));
        assert!(seen.insert_str("b"));
        want.insert(Value::str("b"), ());
        let got = seen.into_values();
        let want: Vec<Value> = want.into_keys().collect();
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
        // 1 and 1.0 are one value, kept as first seen; so are 0 and -0.0.
        assert!(matches!(got.first(), Some(Value::Int(1))));
    }

    #[test]
    fn counts_of_mixed_values_are_an_index_map_of_values() {
        let items = mixed();
        let mut c = Counter::default();
        let mut want: IndexMap<Value, i64> = IndexMap::new();
        for x in &items {
            c.add(x, 1).unwrap();
            *want.entry(x.clone()).or_insert(0) += 1;
        }
        let want: Vec<(Value, i64)> = want.into_iter().collect();
        assert_eq!(format!("{:?}", c.into_entries()), format!("{want:?}"));
    }

    /// Strings of every length from 0 to 16 (packed in one word, in two, or not packed), with
    /// trailing zero bytes, counted as values and as `&str` alike.
    #[test]
    fn strings_of_every_length_count_apart() {
        let mut words: Vec<String> = (0..=16).map(|n| "abcdefghijklmnopq"[..n].to_string()).collect();
        words.extend((0..=16).map(|n| format!("{}\0", &"abcdefghijklmnop"[..n])));
        let mut c = Counter::default();
        let mut want: IndexMap<Value, i64> = IndexMap::new();
        for (i, w) in words.iter().chain(words.iter().rev()).enumerate() {
            if i % 2 == 0 {
                c.add(&Value::str(w), 1).unwrap();
            } else {
                c.add_str(w, 1).unwrap();
            }
            *want.entry(Value::str(w)).or_insert(0) += 1;
        }
        assert_eq!(c.len(), 34);
        let want: Vec<(Value, i64)> = want.into_iter().collect();
        assert_eq!(c.into_entries(), want);
    }

    #[test]
    fn overflow_is_an_error() {
        let mut c = Counter::default();
        for x in [Value::str("a"), Value::Int(3), Value::Null] {
            c.add(&x, i64::MAX).unwrap();
            assert!(c.add(&x, 1).is_err());
        }
        c.add_str("a string longer than fifteen bytes", i64::MAX).unwrap();
        assert!(c.add_str("a string longer than fifteen bytes", 1).is_err());
    }
}
