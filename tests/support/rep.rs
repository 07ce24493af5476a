//! REP (`ESC[nb`, repeat the last printed character n times) for the vt100 emulator of the
//! tests, which does not implement it: a byte-stream filter that expands each REP into the
//! characters an xterm would print. It keeps incomplete sequences and characters split across
//! reads for the next call.

#[derive(Default)]
pub struct RepExpander {
    pending: Vec<u8>,
    last: Option<char>,
}

impl RepExpander {
    /// The bytes of `input` (after what an earlier call kept back), with every REP expanded.
    pub fn feed(&mut self, input: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(input);
        let bytes = std::mem::take(&mut self.pending);
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == 0x1b {
                match bytes.get(i + 1) {
                    None => break,
                    Some(b'[') => {
                        let Some(end) =
                            (i + 2..bytes.len()).find(|&j| (0x40..=0x7e).contains(&bytes[j]))
                        else {
                            break;
                        };
                        let params = &bytes[i + 2..end];
                        if bytes[end] == b'b' && params.iter().all(u8::is_ascii_digit) {
                            let n: usize = std::str::from_utf8(params)
                                .ok()
                                .and_then(|p| p.parse().ok())
                                .unwrap_or(1);
                            if let Some(c) = self.last {
                                let mut utf8 = [0u8; 4];
                                for _ in 0..n {
                                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                                }
                            }
                        } else {
                            out.extend_from_slice(&bytes[i..=end]);
                        }
                        i = end + 1;
                    }
                    Some(_) => {
                        out.push(b);
                        i += 1;
                    }
                }
            } else if b < 0x80 {
                out.push(b);
                if (0x20..0x7f).contains(&b) {
                    self.last = Some(b as char);
                }
                i += 1;
            } else {
                let len = match b {
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf7 => 4,
                    _ => 1,
                };
                if i + len > bytes.len() {
                    break;
                }
                let unit = &bytes[i..i + len];
                if let Some(c) = std::str::from_utf8(unit)
                    .ok()
                    .and_then(|s| s.chars().next())
                {
                    self.last = Some(c);
                }
                out.extend_from_slice(unit);
                i += len;
            }
        }
        self.pending = bytes[i..].to_vec();
        out
    }
}

#[test]
fn rep_is_expanded_across_reads() {
    let mut rep = RepExpander::default();
    let mut out = rep.feed(b"a\x1b[3b\xe2\x94");
    out.extend(rep.feed(b"\x80\x1b["));
    out.extend(rep.feed(b"2b\x1b[1;2H"));
    assert_eq!(String::from_utf8(out).unwrap(), "aaaa───\x1b[1;2H");
}
