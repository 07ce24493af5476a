//! The log pane's lines: this process's `tracing` events to the site's log feed, and the
//! feed's lines into tui-logger's buffer, which the pane draws.

use crate::site::LogLine;

/// Prepares the log pane's buffer (tui-logger's; the pane shows Info and above by default,
/// ←/→ in the log pane change that per target). Lines come from the site's feed (see
/// [`record_log`]); tui-logger's own mover thread (which wakes every 10 ms) is not started: the
/// loop moves the lines when they arrive and before each frame.
pub fn init_log_pane() {
    tui_logger::set_default_level(tui_logger::LevelFilter::Debug);
    tui_logger::set_buffer_depth(2_000);
    tui_logger::set_hot_buffer_depth(4_000);
}

/// Sends this process's own `tracing` events (Debug and above; Trace events, one per reading,
/// are dropped before anything formats them) to the site's log feed, and prepares the log
/// pane. Returns the feed, for the site.
pub fn init_dashboard_logging() -> Result<std::sync::Arc<crate::site::LogFeed>, String> {
    init_dashboard_logging_to(None)
}

/// [`init_dashboard_logging`], the lines also to `--log-file`'s layer.
pub fn init_dashboard_logging_to(
    file: Option<crate::logfile::FileLayer>,
) -> Result<std::sync::Arc<crate::site::LogFeed>, String> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    init_log_pane();
    let feed = crate::site::LogFeed::new();
    tracing_subscriber::registry()
        .with(file)
        .with(tracing_subscriber::filter::LevelFilter::DEBUG.boxed())
        .with(feed.layer())
        .try_init()
        .map_err(|e| format!("log: {e}"))?;
    Ok(feed)
}

/// Puts the site's log lines in the log pane's buffer. tui-logger stamps each record with the
/// time it reaches the buffer and has no way to take another, so the time the site logged the
/// line (this viewer's local time of day, in seconds) rides in the record's `line` field, which
/// the pane's formatter reads (see `ui::log`).
pub fn record_log(lines: &[LogLine]) {
    use chrono::Timelike;
    let drain = tui_logger::Drain::new();
    for line in lines {
        let level = line.level.parse().unwrap_or(log::Level::Info);
        let logged = line.at.with_timezone(&chrono::Local);
        drain.log(
            &log::Record::builder()
                .level(level)
                .target(&line.target)
                .line(Some(logged.num_seconds_from_midnight()))
                .args(format_args!("{}", line.message))
                .build(),
        );
    }
}
