//! The ready set: tasks that can run, taken lowest priority first. Priorities are dense
//! (0, 1, 2, ... in the order they were given), so the set is a bitmap over them with a
//! summary level above each level (a bit set there when its 64-bit word below has one):
//! insert, remove and "lowest" touch one word a level, and nothing allocates per task.

const BITS: usize = 64;

#[derive(Debug, Default)]
pub struct ReadySet {
    /// `levels[0]` has a bit per priority; each level above a bit per word of the one below.
    levels: Vec<Vec<u64>>,
    /// The task with each priority.
    task_at: Vec<u32>,
    len: usize,
}

impl ReadySet {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records that `task` has priority `priority`; priorities must be given in order.
    pub fn set_priority(&mut self, priority: usize, task: u32) {
        if self.task_at.len() <= priority {
            self.task_at.resize(priority + 1, u32::MAX);
        }
        let room = self.levels.first().map_or(0, |bits| bits.len() * BITS);
        if priority >= room {
            // Doubling keeps the rebuilds of the summary levels rare.
            self.grow((priority + 1).max(room * 2));
        }
        if let Some(slot) = self.task_at.get_mut(priority) {
            *slot = task;
        }
    }

    /// Makes room for `n` priorities, rebuilding the summary levels.
    fn grow(&mut self, n: usize) {
        let mut words = n.div_ceil(BITS);
        let mut level = 0;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            if let Some(bits) = self.levels.get_mut(level) {
                if bits.len() < words {
                    bits.resize(words, 0);
                }
            }
            if words <= 1 {
                break;
            }
            words = words.div_ceil(BITS);
            level += 1;
        }
        // A level added on top must reflect the words below it.
        for up in 1..self.levels.len() {
            let (below, above) = self.levels.split_at_mut(up);
            let (Some(below), Some(above)) = (below.last(), above.first_mut()) else {
                continue;
            };
            for (i, word) in below.iter().enumerate() {
                if *word != 0 {
                    if let Some(w) = above.get_mut(i / BITS) {
                        *w |= 1 << (i % BITS);
                    }
                }
            }
        }
    }

    /// Adds the task with `priority`; `false` if it was there already.
    pub fn insert(&mut self, priority: usize) -> bool {
        let mut i = priority;
        for (level, bits) in self.levels.iter_mut().enumerate() {
            let Some(word) = bits.get_mut(i / BITS) else {
                return false;
            };
            let mask = 1u64 << (i % BITS);
            let was_empty = *word == 0;
            if level == 0 {
                if *word & mask != 0 {
                    return false;
                }
                self.len += 1;
            }
            *word |= mask;
            if !was_empty {
                break;
            }
            i /= BITS;
        }
        true
    }

    /// Removes the task with `priority`; `false` if it was not there.
    pub fn remove(&mut self, priority: usize) -> bool {
        let mut i = priority;
        for (level, bits) in self.levels.iter_mut().enumerate() {
            let Some(word) = bits.get_mut(i / BITS) else {
                return false;
            };
            let mask = 1u64 << (i % BITS);
            if level == 0 {
                if *word & mask == 0 {
                    return false;
                }
                self.len -= 1;
            }
            *word &= !mask;
            if *word != 0 {
                break;
            }
            i /= BITS;
        }
        true
    }

    /// The lowest priority in the set and its task.
    pub fn first(&self) -> Option<(usize, u32)> {
        if self.len == 0 {
            return None;
        }
        let mut i = 0;
        for bits in self.levels.iter().rev() {
            let word = bits.get(i).copied().filter(|w| *w != 0)?;
            i = i * BITS + word.trailing_zeros() as usize;
        }
        Some((i, self.task_at.get(i).copied()?))
    }

    /// The tasks in the set, lowest priority first.
    pub fn tasks(&self) -> Vec<u32> {
        let Some(bits) = self.levels.first() else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(self.len);
        for (w, word) in bits.iter().enumerate() {
            let mut rest = *word;
            while rest != 0 {
                let p = w * BITS + rest.trailing_zeros() as usize;
                if let Some(task) = self.task_at.get(p) {
                    out.push(*task);
                }
                rest &= rest - 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::ReadySet;
    use std::collections::BTreeSet;

    #[test]
    fn matches_an_ordered_set() {
        let mut set = ReadySet::default();
        let mut reference = BTreeSet::new();
        let n = 10_000;
        for p in 0..n {
            set.set_priority(p, (n - p) as u32);
        }
        // A fixed pseudo-random walk of inserts and removals.
        let mut x: u64 = 12345;
        for step in 0..50_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let p = (x >> 33) as usize % n;
            if step % 3 == 2 {
                assert_eq!(set.remove(p), reference.remove(&p));
            } else {
                assert_eq!(set.insert(p), reference.insert(p));
            }
            assert_eq!(set.len(), reference.len());
            let first = reference.iter().next().map(|p| (*p, (n - *p) as u32));
            assert_eq!(set.first(), first);
        }
        let tasks: Vec<u32> = reference.iter().map(|p| (n - *p) as u32).collect();
        assert_eq!(set.tasks(), tasks);
        while let Some((p, _)) = set.first() {
            assert!(set.remove(p));
        }
        assert!(set.is_empty());
    }

    #[test]
    fn keeps_its_contents_while_growing() {
        let mut set = ReadySet::default();
        set.set_priority(0, 7);
        assert!(set.insert(0));
        for p in 1..300_000 {
            set.set_priority(p, p as u32);
        }
        assert!(set.insert(299_999));
        assert_eq!(set.first(), Some((0, 7)));
        assert!(set.remove(0));
        assert_eq!(set.first(), Some((299_999, 299_999)));
    }
}
