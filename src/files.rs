//! Reading the files a run is given (profiles, a config file, a token file, a store's own
//! files) with bounds: a path that is not a regular file (a device such as `/dev/zero`, a FIFO,
//! a directory) is refused before a byte of it is read, and a whole file is read only up to a
//! size, so that no input can make the process read, or allocate, without end.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Opens `path` for reading (through symlinks), refusing what is not a regular file. The open
/// does not wait for a FIFO's writer: a FIFO is refused at once.
pub fn open_regular(path: &Path) -> io::Result<File> {
    open_regular_with(path, OpenOptions::new().read(true))
}

/// Opens `path` as `options` say (to write, to create: a lock file), refusing what is not a
/// regular file as [`open_regular`] does, without waiting for a FIFO's other end.
pub fn open_regular_with(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options.custom_flags(libc::O_NONBLOCK).open(path)?;
    check_regular(&file.metadata()?)?;
    // Regular files ignore O_NONBLOCK; nothing to undo.
    Ok(file)
}

/// An error unless `meta` is a regular file's, saying what it is instead.
pub fn check_regular(meta: &Metadata) -> io::Result<()> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", kind(&meta.file_type())),
        ))
    }
}

fn kind(t: &FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// The whole of the regular file `path`, which may hold at most `max` bytes.
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_to_limit(open_regular(path)?, max)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_bounded(path, max)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8"))
}

/// All of `reader` (standard input, say), which may give at most `max` bytes: one byte more is
/// an error, and nothing beyond it is read.
pub fn read_to_limit(reader: impl Read, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} (the most read of it)", size(max)),
        ));
    }
    Ok(bytes)
}

/// `1048576` → `1 MiB`, `1000` → `1000 bytes`.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    match bytes {
        b if b >= MIB && b.is_multiple_of(MIB) => format!("{} MiB", b / MIB),
        b if b >= 1024 && b.is_multiple_of(1024) => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_directories_are_refused_at_once() {
        let e = open_regular(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a character device)");
        let dir = tempfile::tempdir().unwrap();
        let e = open_regular(dir.path()).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a directory)");
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Without a writer this would block were the FIFO opened as a file.
        let e = open_regular(&fifo).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a FIFO)");
    }

    #[test]
    fn a_file_is_read_up_to_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; 2048]).unwrap();
        assert_eq!(read_bounded(&path, 2048).unwrap().len(), 2048);
        let e = read_bounded(&path, 2047).unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than 2047 bytes (the most read of it)"
        );
        let e = read_to_limit(std::io::repeat(0), 1024 * 1024).unwrap_err();
        assert_eq!(e.to_string(), "larger than 1 MiB (the most read of it)");
    }
}
