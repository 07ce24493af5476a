//! Which seqs of one agent a store holds: disjoint ranges of consecutive seqs, each
//! `start..=end`. An agent's run is one range (its readings are taken in order from its
//! `first`), so an agent has a handful. A range set answers exactly "is this seq stored", which
//! one high-water mark per agent could not: a stranger's message with a seq far above the
//! agent's would have made every genuine reading below it look stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Disjoint, non-adjacent ranges of seqs, by their start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqRanges {
    /// start → end, both included.
    ranges: BTreeMap<u64, u64>,
}

impl SeqRanges {
    pub fn new() -> SeqRanges {
        SeqRanges::default()
    }

    /// Ranges given as `(start, end)` pairs (in any order, overlapping or not).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u64, u64)>) -> SeqRanges {
        let mut r = SeqRanges::new();
        for (start, end) in pairs {
            r.insert_range(start, end);
        }
        r
    }

    /// The range holding `seq`, as `(start, end)`.
    pub fn range_of(&self, seq: u64) -> Option<(u64, u64)> {
        let (&start, &end) = self.ranges.range(..=seq).next_back()?;
        (seq <= end).then_some((start, end))
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.range_of(seq).is_some()
    }

    /// Adds `seq`; whether it was not there already.
    pub fn insert(&mut self, seq: u64) -> bool {
        if self.contains(seq) {
            return false;
        }
        self.insert_range(seq, seq);
        true
    }

    /// Adds `start..=end` (nothing when `end < start`), merging what it touches.
    pub fn insert_range(&mut self, start: u64, end: u64) {
        if end < start {
            return;
        }
        let (mut start, mut end) = (start, end);
        // A range ending at or after start - 1 and starting at or before end + 1 touches.
        let touching: Vec<(u64, u64)> = self
            .ranges
            .range(..=end.saturating_add(1))
            .rev()
            .take_while(|(_, e)| **e >= start.saturating_sub(1))
            .map(|(s, e)| (*s, *e))
            .collect();
        for (s, e) in touching {
            self.ranges.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        self.ranges.insert(start, end);
    }

    /// Every range, lowest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(s, e)| (*s, *e))
    }

    /// The range with the highest seqs: the agent's latest run, normally.
    pub fn last(&self) -> Option<(u64, u64)> {
        self.iter().next_back()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// As a JSON list of `[start, end]` pairs (the CSV store's meta file keeps them so).
impl Serialize for SeqRanges {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(|(a, b)| [a, b]))
    }
}

/// A list of pairs, or one number: an older store's high-water mark N, which meant every seq
/// up to N stored (`[[1, N]]`).
impl<'de> Deserialize<'de> for SeqRanges {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SeqRanges, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Mark(u64),
            Pairs(Vec<[u64; 2]>),
        }
        Ok(match Form::deserialize(d)? {
            Form::Mark(0) => SeqRanges::new(),
            Form::Mark(n) => SeqRanges::from_pairs([(1, n)]),
            Form::Pairs(p) => SeqRanges::from_pairs(p.into_iter().map(|[a, b]| (a, b))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(r: &SeqRanges) -> Vec<(u64, u64)> {
        r.iter().collect()
    }

    #[test]
    fn seqs_merge_into_ranges() {
        let mut r = SeqRanges::new();
        assert!(r.insert(5));
        assert!(r.insert(7));
        assert!(!r.insert(5));
        assert_eq!(pairs(&r), [(5, 5), (7, 7)]);
        assert!(r.insert(6));
        assert_eq!(pairs(&r), [(5, 7)]);
        r.insert_range(1, 3);
        r.insert_range(100, 200);
        assert_eq!(pairs(&r), [(1, 3), (5, 7), (100, 200)]);
        r.insert_range(4, 4);
        assert_eq!(pairs(&r), [(1, 7), (100, 200)]);
        r.insert_range(0, 150);
        assert_eq!(pairs(&r), [(0, 200)]);
        assert_eq!(r.range_of(150), Some((0, 200)));
        assert_eq!(r.range_of(201), None);
        let mut top = SeqRanges::new();
        top.insert(u64::MAX);
        top.insert(u64::MAX - 1);
        assert_eq!(pairs(&top), [(u64::MAX - 1, u64::MAX)]);
        assert_eq!(top.last(), Some((u64::MAX - 1, u64::MAX)));
    }

    /// Every insert keeps the set equal to the plain set of the seqs put in.
    #[test]
    fn ranges_hold_exactly_the_seqs_inserted() {
        let mut seed = 7u64;
        let mut r = SeqRanges::new();
        let mut plain = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let seq = (seed >> 33) % 300;
            assert_eq!(r.insert(seq), plain.insert(seq));
        }
        for seq in 0..310 {
            assert_eq!(r.contains(seq), plain.contains(&seq), "{seq}");
        }
        let ranges = pairs(&r);
        for w in ranges.windows(2) {
            assert!(w[0].1 + 1 < w[1].0, "{ranges:?}");
        }
    }

    #[test]
    fn json_pairs_and_an_older_mark() {
        let r = SeqRanges::from_pairs([(1, 3), (10, 10)]);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "[[1,3],[10,10]]");
        assert_eq!(serde_json::from_str::<SeqRanges>(&json).unwrap(), r);
        let old: SeqRanges = serde_json::from_str("42").unwrap();
        assert_eq!(pairs(&old), [(1, 42)]);
        assert!(serde_json::from_str::<SeqRanges>("0").unwrap().is_empty());
    }
}
