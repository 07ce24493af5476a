//! `--log-file PATH`: the log lines also go to PATH.YYYY-MM-DD, a new file each day (UTC), the
//! `--log-keep N` newest kept (tracing-appender's rolling appender, which removes older ones).

use std::path::Path;

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::{Layer, Registry};

/// A layer for the bottom of a subscriber stack.
pub type FileLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The file layer for `--log-file` (Info and above, or `RUST_LOG`), or `None` without it.
/// Errors are one line naming the flag.
pub fn layer(path: Option<&Path>, keep: usize) -> Result<Option<FileLayer>, String> {
    let Some(path) = path else {
        return Ok(None);
    };
    let shown = crate::text::sanitize(&path.display().to_string()).into_owned();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("--log-file {shown}: not a file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "--log-file {shown}: no such directory '{}'",
            crate::text::sanitize(&dir.display().to_string())
        ));
    }
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(name)
        .max_log_files(keep.max(1))
        .build(dir)
        .map_err(|e| format!("--log-file {shown}: {e}"))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    Ok(Some(
        tracing_subscriber::fmt::layer()
            .with_writer(appender)
            .with_ansi(false)
            .with_filter(filter)
            .boxed(),
    ))
}
