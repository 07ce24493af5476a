//! The wall in a compact form for the wire: one ASCII character per section height
//! (`'0'` + height, so 0..=30 is `'0'..='N'`) and each profile's length. A 1M-section wall is
//! 1 MB, not the 3–4 MB of a JSON array; anything else is refused, never trusted.

use serde::{Deserialize, Serialize};

use super::{MAX_HEIGHT, Wall};

/// Heights as one character each.
pub fn encode_heights(heights: &[u8]) -> String {
    heights.iter().map(|&h| char::from(b'0' + h)).collect()
}

/// The heights of [`encode_heights`]; an error for any other character.
pub fn decode_heights(s: &str) -> Result<Vec<u8>, String> {
    s.bytes()
        .map(|c| match c.checked_sub(b'0') {
            Some(h) if h <= MAX_HEIGHT => Ok(h),
            _ => Err(format!("{:?} is not an encoded height", char::from(c))),
        })
        .collect()
}

/// How a [`Wall`] crosses the wire.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct WallWire {
    profiles: Vec<usize>,
    heights: String,
}

impl From<Wall> for WallWire {
    fn from(w: Wall) -> WallWire {
        WallWire {
            profiles: (0..w.profiles()).map(|p| w.profile(p).len()).collect(),
            heights: encode_heights(w.heights()),
        }
    }
}

impl TryFrom<WallWire> for Wall {
    type Error = String;
    fn try_from(w: WallWire) -> Result<Wall, String> {
        let heights = decode_heights(&w.heights)?;
        let mut starts = Vec::with_capacity(w.profiles.len() + 1);
        starts.push(0usize);
        for &len in &w.profiles {
            if len == 0 {
                return Err("a profile has no sections".into());
            }
            let end = starts[starts.len() - 1].saturating_add(len);
            starts.push(end);
        }
        if w.profiles.is_empty() || starts[starts.len() - 1] != heights.len() {
            return Err("the profiles' lengths do not add up to the heights".into());
        }
        Ok(Wall::from_parts(heights, starts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_crosses_the_wire_unchanged() {
        let wall = Wall::from_profiles(&[vec![0, 30, 7], vec![17]]);
        let json = serde_json::to_string(&wall).unwrap();
        assert_eq!(json, r#"{"profiles":[3,1],"heights":"0N7A"}"#);
        assert_eq!(serde_json::from_str::<Wall>(&json).unwrap(), wall);
    }

    #[test]
    fn a_bad_wall_is_refused() {
        for bad in [
            r#"{"profiles":[3],"heights":"0N"}"#,
            r#"{"profiles":[],"heights":""}"#,
            r#"{"profiles":[0,1],"heights":"0"}"#,
            r#"{"profiles":[1],"heights":"O"}"#,
            r#"{"profiles":[18446744073709551615,2],"heights":"0"}"#,
        ] {
            assert!(serde_json::from_str::<Wall>(bad).is_err(), "{bad}");
        }
    }
}
