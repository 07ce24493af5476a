//! A stable identity of a wall, stored beside a run so that a restarted run can tell whether the
//! store holds this wall's crew reports: FNV-1a 64 over the profile boundaries and the heights.

use super::Wall;
use crate::hash::{FNV_OFFSET, fnv1a};

impl Wall {
    /// 16 lowercase hex digits: FNV-1a 64 over the number of profiles, then each profile's
    /// section count and heights (counts as little-endian u64). The same heights in the same
    /// profiles give the same value on every machine and every build; the file's spacing,
    /// blank lines and line endings do not matter.
    pub fn fingerprint(&self) -> String {
        let mut h = fnv1a(FNV_OFFSET, &(self.profiles() as u64).to_le_bytes());
        for p in 0..self.profiles() {
            let heights = self.profile(p);
            h = fnv1a(h, &(heights.len() as u64).to_le_bytes());
            h = fnv1a(h, heights);
        }
        format!("{h:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_heights_same_fingerprint_and_boundaries_matter() {
        let a = Wall::parse(b"21 25 28\n17\n", 2000).unwrap();
        let b = Wall::parse(b"\r\n21\t25  28\r\n\n17", 2000).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 16);
        let c = Wall::parse(b"21 25\n28 17\n", 2000).unwrap();
        assert_ne!(a.fingerprint(), c.fingerprint());
        let d = Wall::parse(b"21 25 28\n18\n", 2000).unwrap();
        assert_ne!(a.fingerprint(), d.fingerprint());
        assert_eq!(
            Wall::from_profiles(&[vec![0u8]]).fingerprint(),
            Wall::from_profiles(&[vec![0u8]]).fingerprint()
        );
    }
}
