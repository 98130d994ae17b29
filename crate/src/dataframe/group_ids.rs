//! Dense ids for the values of one key column: the fast path of groupby, value_counts and
//! merge. Int64 keys go through a direct table when their range is small and a hash map
//! otherwise; string keys through a map of packed short strings (borrowed `&str` when
//! longer), so no row makes a value.
//! Ids number the distinct keys in first-seen order, as the general path numbers them.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, StringArray};
use arrow_buffer::BooleanBuffer;
use arrow_schema::DataType;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::shuffle::{mix, PassThrough};
use crate::bag::counter::PackedIds;

/// The id of a row whose key is missing (null): it belongs to no group.
pub const MISSING: u32 = u32::MAX;

/// The probe id of a row whose key is missing: it matches the build rows whose key is
/// missing too, as pandas matches them.
pub const NULL_KEY: u32 = u32::MAX - 1;

/// A group id per row and the first row of each group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupIds {
    pub ids: Vec<u32>,
    pub first: Vec<usize>,
}

impl GroupIds {
    pub fn groups(&self) -> usize {
        self.first.len()
    }
}

/// Whether columns of this type have ids (`of_column` and `of_column_where` answer).
pub fn has_ids(t: &DataType) -> bool {
    matches!(t, DataType::Int64 | DataType::Utf8)
}

/// The ids of `c` when its type has a fast path (int64, string); `None` otherwise.
pub fn of_column(c: &ArrayRef) -> Option<GroupIds> {
    // Ids are u32 with one value kept for MISSING.
    if c.len() >= MISSING as usize {
        return None;
    }
    match c.data_type() {
        DataType::Int64 => {
            let a = c.as_primitive::<Int64Type>();
            Some(of_ints(a, a.values().iter().copied().enumerate(), a.len()))
        }
        DataType::Utf8 => {
            let a = c.as_string::<i32>();
            let rows = a.value_offsets().windows(2).enumerate().map(|(i, w)| match *w {
                [s, e] => (i, s as usize, e as usize),
                _ => (i, 0, 0),
            });
            Some(of_strs(a, rows, a.len()))
        }
        _ => None,
    }
}

/// `of_column` of only the rows set in `keep` (a filter's mask, read where `c` is, so
/// the kept rows are never copied out): `ids` has one id per kept row, in order, and
/// `first` holds rows of `c`. The same as `of_column` of the filtered column, with the
/// rows of `first` counted in `c`.
pub fn of_column_where(c: &ArrayRef, keep: &BooleanBuffer) -> Option<GroupIds> {
    if c.len() >= MISSING as usize || keep.len() != c.len() {
        return None;
    }
    let kept = keep.count_set_bits();
    match c.data_type() {
        DataType::Int64 => {
            let a = c.as_primitive::<Int64Type>();
            let values = a.values();
            let rows = keep.set_indices().filter_map(|i| values.get(i).map(|v| (i, *v)));
            Some(of_ints(a, rows, kept))
        }
        DataType::Utf8 => {
            let a = c.as_string::<i32>();
            let offsets = a.value_offsets();
            let rows = keep.set_indices().filter_map(|i| {
                let (s, e) = (offsets.get(i)?, offsets.get(i + 1)?);
                Some((i, *s as usize, *e as usize))
            });
            Some(of_strs(a, rows, kept))
        }
        _ => None,
    }
}

/// Hashes an int key with splitmix64's finaliser, which spreads runs of ints.
#[derive(Default)]
struct IntMix(PassThrough);

impl Hasher for IntMix {
    fn finish(&self) -> u64 {
        mix(self.0.finish())
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }
    fn write_i64(&mut self, n: i64) {
        self.0.write_u64(n as u64);
    }
}

/// The ids of the rows `rows` gives, as (row, value), in the order it gives them; `n` is
/// how many (for the capacity). The key range comes from the whole column.
fn of_ints(a: &Int64Array, rows: impl Iterator<Item = (usize, i64)>, n: usize) -> GroupIds {
    let values = a.values();
    let nulls = a.nulls().filter(|n| n.null_count() > 0);
    let valid = |i: usize| nulls.is_none_or(|n| n.is_valid(i));
    let (lo, hi) = match nulls {
        None => range(values),
        Some(_) => values
            .iter()
            .enumerate()
            .filter(|(i, _)| valid(*i))
            .fold((i64::MAX, i64::MIN), |(lo, hi), (_, v)| (lo.min(*v), hi.max(*v))),
    };
    let mut ids = Vec::with_capacity(n);
    let mut first = Vec::new();
    // A direct table when the keys span little more than the rows (or a small range).
    let span = i128::from(hi) - i128::from(lo);
    let limit = (2 * values.len()).max(1024) as i128;
    if lo <= hi && span < limit {
        let mut table = vec![MISSING; (span + 1) as usize];
        for (i, v) in rows {
            if !valid(i) {
                ids.push(MISSING);
                continue;
            }
            let slot = (i128::from(v) - i128::from(lo)) as usize;
            let id = match table.get_mut(slot) {
                Some(id) if *id == MISSING => {
                    *id = first.len() as u32;
                    first.push(i);
                    *id
                }
                Some(id) => *id,
                None => MISSING,
            };
            ids.push(id);
        }
    } else {
        let mut table: HashMap<i64, u32, BuildHasherDefault<IntMix>> = HashMap::default();
        for (i, v) in rows {
            if !valid(i) {
                ids.push(MISSING);
                continue;
            }
            let next = first.len() as u32;
            let id = *table.entry(v).or_insert(next);
            if id == next {
                first.push(i);
            }
            ids.push(id);
        }
    }
    GroupIds { ids, first }
}

/// The smallest and largest of `values` (`(i64::MAX, i64::MIN)` when empty), in eight
/// lanes: independent minima and maxima the compiler keeps in vector registers, where
/// one running pair waits on its own compare every two rows (wasm has no i64x2 min).
/// In the threaded wasm bundle W3a took 0.033 seconds with it instead of 0.043.
fn range(values: &[i64]) -> (i64, i64) {
    let mut lo = [i64::MAX; 8];
    let mut hi = [i64::MIN; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for ((l, h), v) in lo.iter_mut().zip(hi.iter_mut()).zip(chunk) {
            *l = (*l).min(*v);
            *h = (*h).max(*v);
        }
    }
    let both = lo.iter().zip(&hi).map(|(l, h)| (*l, *h));
    rest.iter()
        .map(|v| (*v, *v))
        .chain(both)
        .fold((i64::MAX, i64::MIN), |(lo, hi), (l, h)| (lo.min(l), hi.max(h)))
}

/// Strings of up to 15 bytes (most keys) are found by their packed bytes in a
/// `PackedIds` table, one integer hash and compare per row; longer ones by `&str`.
/// The rows come as (row, start, end) of their bytes, in order; `n` is how many.
fn of_strs(a: &StringArray, rows: impl Iterator<Item = (usize, usize, usize)>, n: usize) -> GroupIds {
    let mut short = PackedIds::default();
    let mut long: HashMap<&str, u32, foldhash::fast::FixedState> = HashMap::default();
    let mut ids = Vec::with_capacity(n);
    let mut first = Vec::new();
    let nulls = a.nulls().filter(|n| n.null_count() > 0);
    let data = a.value_data();
    for (i, start, end) in rows {
        if nulls.is_some_and(|n| n.is_null(i)) {
            ids.push(MISSING);
            continue;
        }
        let next = first.len() as u32;
        let id = match pack_at(data, start, end) {
            Some(packed) => short.id_or_insert(packed, next),
            // `i` is a row of `a` (the callers give only those), so `value` holds.
            None => *long
                .entry(if i < a.len() { a.value(i) } else { "" })
                .or_insert(next),
        };
        if id == next {
            first.push(i);
        }
        ids.push(id);
    }
    GroupIds { ids, first }
}

/// `bag::counter::pack` of the string stored at `data[start..end]`: one 16-byte read
/// masked to the string's length, when the buffer has 16 bytes there.
#[inline(always)]
fn pack_at(data: &[u8], start: usize, end: usize) -> Option<u128> {
    let n = end.wrapping_sub(start);
    if n > 15 {
        return None;
    }
    match data
        .get(start..start + 16)
        .and_then(|w| <[u8; 16]>::try_from(w).ok())
    {
        Some(word) => {
            // The mask in two 64-bit halves: a 128-bit shift by a variable amount is a
            // call into compiler-rt in wasm (through memory), once per row.
            let word = u128::from_le_bytes(word);
            let (lo, hi) = (word as u64, (word >> 64) as u64);
            let lo_mask = if n >= 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
            let hi_mask = if n > 8 { (1u64 << (8 * (n - 8))) - 1 } else { 0 };
            let hi = (hi & hi_mask) | ((n as u64) << 56);
            Some(u128::from(lo & lo_mask) | (u128::from(hi) << 64))
        }
        None => data.get(start..end).and_then(crate::bag::counter::pack_bytes),
    }
}

/// The rows of a join's build side by key, for probing with the other side's single
/// key column of the same type. Missing keys match each other, as pandas matches them.
pub struct KeyIndex<'a> {
    lookup: Lookup<'a>,
    /// Build rows grouped by id, ascending within a group: `rows[starts[g]..starts[g + 1]]`.
    starts: Vec<usize>,
    rows: Vec<u32>,
    missing_rows: Vec<u32>,
}

enum Lookup<'a> {
    /// Ids of keys `lo..lo + table.len()`.
    Dense {
        lo: i64,
        table: Vec<u32>,
    },
    Ints(HashMap<i64, u32, BuildHasherDefault<IntMix>>),
    Strs(HashMap<&'a str, u32, foldhash::fast::FixedState>),
}

impl<'a> KeyIndex<'a> {
    /// The index of a build key column, when its type has a fast path.
    pub fn build(c: &'a ArrayRef) -> Option<KeyIndex<'a>> {
        let g = of_column(c)?;
        let lookup = match c.data_type() {
            DataType::Int64 => {
                let a = c.as_primitive::<Int64Type>();
                let keys: Vec<i64> = g
                    .first
                    .iter()
                    .filter_map(|r| a.values().get(*r).copied())
                    .collect();
                let lo = keys.iter().copied().min().unwrap_or(0);
                let hi = keys.iter().copied().max().unwrap_or(0);
                let span = i128::from(hi) - i128::from(lo);
                if span < (4 * keys.len()).max(1024) as i128 {
                    let mut table = vec![MISSING; (span + 1) as usize];
                    for (id, k) in keys.iter().enumerate() {
                        if let Some(slot) = table.get_mut((i128::from(*k) - i128::from(lo)) as usize) {
                            *slot = id as u32;
                        }
                    }
                    Lookup::Dense { lo, table }
                } else {
                    Lookup::Ints(keys.iter().enumerate().map(|(id, k)| (*k, id as u32)).collect())
                }
            }
            DataType::Utf8 => {
                let a = c.as_string::<i32>();
                Lookup::Strs(
                    g.first
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| **r < a.len())
                        .map(|(id, r)| (a.value(*r), id as u32))
                        .collect(),
                )
            }
            _ => return None,
        };
        // A counting sort of the rows by id keeps each group's rows ascending.
        let mut starts = vec![0usize; g.groups() + 1];
        let mut missing_rows = Vec::new();
        for (r, id) in g.ids.iter().enumerate() {
            if *id == MISSING {
                missing_rows.push(r as u32);
            } else if let Some(n) = starts.get_mut(*id as usize + 1) {
                *n += 1;
            }
        }
        for i in 1..starts.len() {
            let prev = starts.get(i - 1).copied().unwrap_or(0);
            if let Some(s) = starts.get_mut(i) {
                *s += prev;
            }
        }
        let mut next = starts.clone();
        let mut rows = vec![0u32; g.ids.len() - missing_rows.len()];
        for (r, id) in g.ids.iter().enumerate() {
            if let Some(at) = next.get_mut(*id as usize) {
                if let Some(slot) = rows.get_mut(*at) {
                    *slot = r as u32;
                }
                *at += 1;
            }
        }
        Some(KeyIndex {
            lookup,
            starts,
            rows,
            missing_rows,
        })
    }

    /// The build rows of a group id from `probe_ids`: the group's rows, the rows with a
    /// missing key for `NULL_KEY`, none for `MISSING`.
    pub fn rows_of(&self, id: u32) -> &[u32] {
        if id == NULL_KEY {
            return &self.missing_rows;
        }
        let (a, b) = (
            self.starts.get(id as usize).copied().unwrap_or(0),
            self.starts.get(id as usize + 1).copied().unwrap_or(0),
        );
        self.rows.get(a..b).unwrap_or(&[])
    }

    /// The build row of each group when every group has exactly one row and no build key
    /// is missing (a many-to-one join): then a probe id indexes it directly.
    pub fn unique_rows(&self) -> Option<&[u32]> {
        (self.rows.len() + 1 == self.starts.len() && self.missing_rows.is_empty()).then_some(&self.rows)
    }

    /// For every row of `probe` (same type as the build column), the group id of the
    /// build rows whose key equals it: `MISSING` when there are none, `NULL_KEY` when
    /// the probe key is missing; `None` when the types differ.
    pub fn probe_ids(&self, probe: &ArrayRef) -> Option<Vec<u32>> {
        self.probe_map(probe, |id| id)
    }

    /// `probe_ids` passed through `f` in the same pass (a many-to-one join maps ids to
    /// build rows without a second vector).
    pub fn probe_map(&self, probe: &ArrayRef, f: impl Fn(u32) -> u32) -> Option<Vec<u32>> {
        let nulls = probe.nulls().filter(|n| n.null_count() > 0);
        let or_null = |i: usize, id: u32| {
            if nulls.is_some_and(|n| n.is_null(i)) {
                NULL_KEY
            } else {
                id
            }
        };
        Some(match (&self.lookup, probe.data_type()) {
            (Lookup::Dense { lo, table }, DataType::Int64) => {
                let values = probe.as_primitive::<Int64Type>().values();
                let ids = values.iter().map(|v| {
                    // Keys below lo, or too far above it to be in the table, match nothing.
                    v.checked_sub(*lo)
                        .and_then(|d| usize::try_from(d).ok())
                        .and_then(|slot| table.get(slot).copied())
                        .unwrap_or(MISSING)
                });
                match nulls {
                    None => ids.map(f).collect(),
                    Some(_) => ids.enumerate().map(|(i, id)| f(or_null(i, id))).collect(),
                }
            }
            (Lookup::Ints(map), DataType::Int64) => {
                let values = probe.as_primitive::<Int64Type>().values();
                let ids = values.iter().map(|v| map.get(v).copied().unwrap_or(MISSING));
                ids.enumerate().map(|(i, id)| f(or_null(i, id))).collect()
            }
            (Lookup::Strs(map), DataType::Utf8) => probe
                .as_string::<i32>()
                .iter()
                .map(|v| match v {
                    None => f(NULL_KEY),
                    Some(v) => f(map.get(v).copied().unwrap_or(MISSING)),
                })
                .collect(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ints(v: Vec<Option<i64>>) -> ArrayRef {
        Arc::new(Int64Array::from(v))
    }

    #[test]
    fn ints_number_keys_in_first_seen_order() {
        let g = of_column(&ints(vec![Some(5), None, Some(-3), Some(5), Some(-3), Some(7)])).unwrap();
        assert_eq!(g.ids, vec![0, MISSING, 1, 0, 1, 2]);
        assert_eq!(g.first, vec![0, 2, 5]);
    }

    #[test]
    fn wide_int_ranges_use_the_hash_map_alike() {
        let g = of_column(&ints(vec![
            Some(i64::MIN),
            Some(i64::MAX),
            Some(0),
            Some(i64::MIN),
            None,
        ]))
        .unwrap();
        assert_eq!(g.ids, vec![0, 1, 2, 0, MISSING]);
        assert_eq!(g.first, vec![0, 1, 2]);
    }

    /// First-seen numbering worked out with a plain map, for comparison.
    fn numbered(keys: &[Option<i64>]) -> GroupIds {
        let mut seen = std::collections::HashMap::new();
        let mut first = Vec::new();
        let ids = keys
            .iter()
            .enumerate()
            .map(|(i, k)| match k {
                None => MISSING,
                Some(k) => *seen.entry(*k).or_insert_with(|| {
                    first.push(i);
                    first.len() as u32 - 1
                }),
            })
            .collect();
        GroupIds { ids, first }
    }

    /// Ids follow first sight on both paths: keys rising, falling, both ways, random, with
    /// nulls, at the ends of the i64 range, one far key that sends the column to the hash
    /// map, and keys that spread just past the direct table's limit.
    #[test]
    fn int_ids_are_first_seen_however_the_range_grows() {
        let mut x = 7u64;
        let mut random = |m: i64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as i64).rem_euclid(m)
        };
        let cases: Vec<Vec<Option<i64>>> = vec![
            (0..3000).map(Some).collect(),
            (0..3000).rev().map(Some).collect(),
            (0..3000).map(|i| Some(if i % 2 == 0 { i } else { -i })).collect(),
            (0..3000).map(|_| Some(random(10_000))).collect(),
            (0..3000)
                .map(|i| if i % 5 == 0 { None } else { Some(random(500) - 250) })
                .collect(),
            (0..2000).map(|_| Some(i64::MAX - random(1500))).collect(),
            (0..2000).map(|i| Some(i64::MIN + random(1500) + i % 2)).collect(),
            // Direct for the first half, then a key far away: the rest goes by hash.
            (0..4000)
                .map(|i| Some(if i == 2000 { 1 << 40 } else { random(3000) }))
                .collect(),
            // Spreads slowly past the limit (2 x rows).
            (0..3000).map(|i| Some(i * 3)).collect(),
        ];
        for (n, keys) in cases.iter().enumerate() {
            let got = of_column(&ints(keys.clone())).unwrap();
            assert_eq!(got, numbered(keys), "case {n}");
        }
    }

    #[test]
    fn empty_and_all_null_columns_have_no_groups() {
        let g = of_column(&ints(vec![])).unwrap();
        assert_eq!(g.groups(), 0);
        let g = of_column(&ints(vec![None, None])).unwrap();
        assert_eq!(g.ids, vec![MISSING, MISSING]);
        assert_eq!(g.groups(), 0);
    }

    #[test]
    fn strings_number_keys_in_first_seen_order() {
        let c: ArrayRef = Arc::new(StringArray::from(vec![
            Some("b"),
            Some(""),
            None,
            Some("b"),
            Some("a"),
        ]));
        let g = of_column(&c).unwrap();
        assert_eq!(g.ids, vec![0, 1, MISSING, 0, 2]);
        assert_eq!(g.first, vec![0, 1, 4]);
    }

    /// Thousands of distinct short keys, each seen twice: ids follow first sight.
    #[test]
    fn many_short_strings_keep_their_ids_as_the_table_grows() {
        let keys: Vec<String> = (0..5000).map(|i| format!("k{i}")).collect();
        let rows: Vec<&str> = keys.iter().chain(keys.iter().rev()).map(|k| k.as_str()).collect();
        let c: ArrayRef = Arc::new(StringArray::from(rows));
        let g = of_column(&c).unwrap();
        let want: Vec<u32> = (0..5000).chain((0..5000).rev()).collect();
        assert_eq!(g.ids, want);
        assert_eq!(g.first, (0..5000).collect::<Vec<usize>>());
    }

    /// The eight-lane range is the plain minimum and maximum at every length around the
    /// lanes' edges, with the extremes of i64 anywhere.
    #[test]
    fn range_is_the_minimum_and_maximum() {
        let mut seed = 3u64;
        for len in 0..40 {
            for _ in 0..20 {
                let values: Vec<i64> = (0..len)
                    .map(|_| {
                        seed = crate::bench::mix64(seed);
                        match seed % 7 {
                            0 => i64::MIN,
                            1 => i64::MAX,
                            _ => (seed >> 8) as i64 % 1000,
                        }
                    })
                    .collect();
                let want = values
                    .iter()
                    .fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
                assert_eq!(range(&values), want, "{values:?}");
            }
        }
    }

    /// Keys built the way real columns are (numbered names, codes with several varying
    /// parts, every length to 15) spread over the table: no set leaves its keys more
    /// than a slot or two from home, which a weak hash of the packed halves would.
    #[test]
    fn packed_keys_spread_over_the_table() {
        let sets: Vec<(&str, Vec<String>)> = vec![
            ("c0..c99", (0..100).map(|i| format!("c{i}")).collect()),
            (
                "item_0000000..",
                (0..20_000).map(|i| format!("item_{i:07}")).collect(),
            ),
            (
                "two parts 8 bytes apart",
                (0..200)
                    .flat_map(|a| (0..200).map(move |b| format!("{a:03}xxxxx{b:03}yy")))
                    .collect(),
            ),
            (
                "the same digits in both halves",
                (0..100_000).map(|i| format!("{i:05}abc{i:05}")).collect(),
            ),
            (
                "every length",
                (0..16)
                    .flat_map(|n| {
                        (0..500).map(move |i| format!("{i:x}").repeat(16).chars().take(n).collect())
                    })
                    .collect(),
            ),
        ];
        for (name, keys) in sets {
            let mut t = PackedIds::default();
            let mut distinct = 0u32;
            for k in &keys {
                let packed = crate::bag::counter::pack(k).unwrap();
                if t.id_or_insert(packed, distinct) == distinct {
                    distinct += 1;
                }
            }
            assert_eq!(t.len(), distinct as usize, "{name}");
            // Every key finds the id it was given.
            let mut seen = std::collections::HashMap::new();
            for k in &keys {
                let packed = crate::bag::counter::pack(k).unwrap();
                let id = t.id_or_insert(packed, u32::MAX - 2);
                assert_eq!(*seen.entry(k.clone()).or_insert(id), id, "{name}: {k}");
                assert_ne!(id, u32::MAX - 2, "{name}: {k} was lost");
            }
            // Different keys never share an id.
            let distinct_keys: std::collections::HashSet<&String> = keys.iter().collect();
            let distinct_ids: std::collections::HashSet<&u32> = seen.values().collect();
            assert_eq!(distinct_ids.len(), distinct_keys.len(), "{name}: keys share ids");
            let probe = t.mean_probe();
            assert!(
                probe < 1.0,
                "{name}: keys sit {probe:.2} slots from home on average"
            );
        }
    }

    /// A sliced column reads its strings at the offsets of the slice.
    #[test]
    fn sliced_string_columns_number_their_own_rows() {
        let whole = StringArray::from(vec![
            "a",
            "bb",
            "c",
            "bb",
            "a long string of many bytes",
            "c",
            "a",
        ]);
        let c: ArrayRef = Arc::new(whole.slice(1, 5));
        let g = of_column(&c).unwrap();
        assert_eq!(g.ids, vec![0, 1, 0, 2, 1]);
        assert_eq!(g.first, vec![0, 1, 3]);
    }

    /// The masked 16-byte read packs exactly as `pack`, in the middle of a buffer and at
    /// its end (where it falls back).
    #[test]
    fn packing_in_place_matches_pack() {
        let words = [
            "",
            "a",
            "c7",
            "c42",
            "abcd",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijkl",
            "abcdefghijklmno",
            "é→x",
        ];
        let c = StringArray::from(words.iter().chain(words.iter()).copied().collect::<Vec<_>>());
        let (offsets, data) = (c.value_offsets(), c.value_data());
        for i in 0..c.len() {
            let v = c.value(i);
            let got = pack_at(data, offsets[i] as usize, offsets[i + 1] as usize);
            assert_eq!(got, crate::bag::counter::pack(v), "{v:?} at row {i}");
        }
        assert_eq!(pack_at(data, 0, 16), None);
    }

    /// Short (packed) and long (borrowed) strings share one numbering.
    #[test]
    fn short_and_long_strings_share_one_numbering() {
        let long = "a key longer than fifteen bytes";
        let c: ArrayRef = Arc::new(StringArray::from(vec![
            Some("abcdefghijklmno"),
            Some("abcdefghijklmnop"),
            Some(long),
            Some("abcdefghijklmn"),
            Some("abcdefghijklmnop"),
            Some("abcdefghijklmno"),
            Some(long),
            None,
            Some("a key longer than fifteen bytes!"),
        ]));
        let g = of_column(&c).unwrap();
        assert_eq!(g.ids, vec![0, 1, 2, 3, 1, 0, 2, MISSING, 4]);
        assert_eq!(g.first, vec![0, 1, 2, 3, 8]);
    }

    #[test]
    fn other_types_have_no_fast_path() {
        let c: ArrayRef = Arc::new(arrow_array::Float64Array::from(vec![1.0]));
        assert!(of_column(&c).is_none());
    }
}
