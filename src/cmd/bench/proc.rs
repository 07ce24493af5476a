//! What the benchmarks read of a process from Linux's `/proc`: memory figures of
//! `/proc/PID/status` and CPU time of `/proc/PID/stat`. `None` where there is no procfs.

use std::time::Duration;

/// A `kB` field of a `/proc/PID/status` text (`VmRSS`, `VmHWM`, …), in MB.
pub fn status_field_mb(status: &str, field: &str) -> Option<f64> {
    let line = status.lines().find(|l| {
        l.strip_prefix(field)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A `kB` field of process `pid`'s status (`"self"` for this process), in MB.
pub fn status_mb(pid: &str, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field_mb(&status, field)
}

/// This process's resident memory now (`VmRSS`), in MB.
pub fn rss_mb() -> Option<f64> {
    status_mb("self", "VmRSS")
}

/// This process's peak resident memory so far (`VmHWM`), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    status_mb("self", "VmHWM")
}

/// CPU time of the whole process so far (user + system, all threads), from `/proc/self/stat`.
pub fn cpu_time() -> Option<Duration> {
    cpu_time_of("self")
}

/// CPU time of process `pid` (`"self"` for this one) so far, all its threads.
pub fn cpu_time_of(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the file, 12 and 13 here (0-based, after `)`).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture userspace sees.
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_proc_status() {
        let status = "Name:\twallwatch\nVmPeak:\t  900000 kB\nVmHWM:\t  409600 kB\n\
                      VmRSS:\t  204800 kB\nThreads:\t5\n";
        assert_eq!(status_field_mb(status, "VmRSS"), Some(200.0));
        assert_eq!(status_field_mb(status, "VmHWM"), Some(400.0));
        assert_eq!(status_field_mb(status, "VmRS"), None);
        assert_eq!(status_field_mb("Name:\tx\n", "VmRSS"), None);
        if cfg!(target_os = "linux") {
            assert!(rss_mb().is_some_and(|mb| mb > 0.0));
            assert!(peak_rss_mb().is_some_and(|mb| mb > 0.0));
            assert!(cpu_time().is_some());
        }
    }
}
