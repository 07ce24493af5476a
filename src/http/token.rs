//! The bearer token HTTP writes need (`Authorization: Bearer TOKEN`): 256 random bits from
//! `/dev/urandom` as hex, kept in a 0600 file the site's user can read and hand to a script.
//! Compared in constant time; never logged, never shown by `/config`.

use std::fmt;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Random bytes in a new token (256 bits).
const TOKEN_BYTES: usize = 32;
/// The longest token a `--http-token-file` may hold.
const MAX_TOKEN_LEN: usize = 4096;
/// The most of a named token file read (a token and whitespace around it).
const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// Where the token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFile {
    /// `--http-token-file PATH`: read it; made 0600 with a new token if absent.
    Named(PathBuf),
    /// Beside the socket (`NAME.token`): a new token written at each start.
    Fresh(PathBuf),
}

impl TokenFile {
    pub fn path(&self) -> &Path {
        match self {
            TokenFile::Named(p) | TokenFile::Fresh(p) => p,
        }
    }
}

/// A token; its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    /// Whether `given` is this token, in time that depends only on the token's length.
    pub fn matches(&self, given: &[u8]) -> bool {
        same_bytes(self.0.as_bytes(), given)
    }

    #[cfg(test)]
    fn as_str(&self) -> &str {
        &self.0
    }
}

/// `a == b`, looking at every byte of `a` whatever `b` holds (no early exit on the first
/// difference, so the time taken tells nothing of where a guess went wrong).
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        let y = b.get(i).copied().unwrap_or(!x);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

/// A new random token: [`TOKEN_BYTES`] from `/dev/urandom`, as lowercase hex.
pub fn generate() -> Result<Token, String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom for the HTTP token: {e}"))?;
    Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
}

/// The token of `file`: a fresh one written (0600) for [`TokenFile::Fresh`]; for
/// [`TokenFile::Named`] the file's, or a fresh one written there if it does not exist.
pub fn load(file: &TokenFile) -> Result<Token, String> {
    let shown = crate::text::sanitize(&file.path().display().to_string()).into_owned();
    match file {
        TokenFile::Fresh(path) => {
            let token = generate()?;
            replace_private(path, &token).map_err(|e| format!("token file {shown}: {e}"))?;
            Ok(token)
        }
        TokenFile::Named(path) => match crate::files::read_text_bounded(path, MAX_TOKEN_FILE) {
            Ok(text) => parse(&text).map_err(|why| format!("--http-token-file {shown}: {why}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let token = generate()?;
                create_private(path, &token)
                    .map_err(|e| format!("--http-token-file {shown}: {e}"))?;
                Ok(token)
            }
            Err(e) => Err(format!("--http-token-file {shown}: {e}")),
        },
    }
}

/// A token file's text: one token (surrounding whitespace ignored), printable ASCII with no
/// space, as an `Authorization` header carries it.
fn parse(text: &str) -> Result<Token, String> {
    let token = text.trim();
    if token.is_empty() {
        return Err("the file holds no token".into());
    }
    if token.len() > MAX_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "the token must be one word of printable ASCII, at most {MAX_TOKEN_LEN} bytes"
        ));
    }
    Ok(Token(token.to_string()))
}

/// Writes `token` to a new file at `path`, 0600 (never through an existing file or link).
fn create_private(path: &Path, token: &Token) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{}\n", token.0).as_bytes())?;
    f.sync_all()
}

/// Writes `token` to `path`, 0600, replacing what is there at once: a new file beside it,
/// renamed over it (two sites starting together each leave a whole file).
fn replace_private(path: &Path, token: &Token) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.new", std::process::id()));
    let tmp = path.with_file_name(name);
    let _ = std::fs::remove_file(&tmp);
    create_private(&tmp, token)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// An error when users other than the owner may read the token file (group or others have
/// read permission).
pub fn check_private(path: &Path) -> Result<(), String> {
    let shown = crate::text::sanitize(&path.display().to_string()).into_owned();
    let meta = std::fs::metadata(path).map_err(|e| format!("token file {shown}: {e}"))?;
    if meta.mode() & 0o044 != 0 {
        return Err(format!(
            "the token file {shown} is readable by other users (mode {:o}); with writes open to \
             other machines it must be private: chmod 600 {shown}",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn compares_whole_tokens_only() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
        assert!(!same_bytes(b"abc", b"abcd"));
        assert!(!same_bytes(b"abc", b""));
        assert!(same_bytes(b"", b""));
    }

    #[test]
    fn fresh_tokens_are_random_private_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.token");
        let file = TokenFile::Fresh(path.clone());
        let first = load(&file).unwrap();
        assert_eq!(first.as_str().len(), 64);
        assert!(first.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = load(&file).unwrap();
        assert_ne!(first, second);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            second.as_str()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_named_file_is_read_or_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        let made = load(&TokenFile::Named(path.clone())).unwrap();
        assert_eq!(load(&TokenFile::Named(path.clone())).unwrap(), made);
        std::fs::write(&path, "  s3cret \n").unwrap();
        assert!(
            load(&TokenFile::Named(path.clone()))
                .unwrap()
                .matches(b"s3cret")
        );
        std::fs::write(&path, "\n").unwrap();
        let err = load(&TokenFile::Named(path.clone())).unwrap_err();
        assert!(err.contains("holds no token"), "{err}");
    }

    #[test]
    fn a_token_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        load(&TokenFile::Named(path.clone())).unwrap();
        assert!(check_private(&path).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = check_private(&path).unwrap_err();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn debug_hides_the_token() {
        let t = generate().unwrap();
        assert!(!format!("{t:?}").contains(t.as_str()));
    }
}
