//! A stable identity of a wall, stored beside a run so that a restarted run can tell whether the
//! store holds this wall's crew reports: FNV-1a 64 over the profile boundaries and the heights.

use super::Wall;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

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
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference (draft-eastlake-fnv): "" and "a".
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }

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
