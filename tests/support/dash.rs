//! The real binary in a pseudo-terminal (portable-pty), its screen read back by a terminal
//! emulator (vt100), shared by the end-to-end tests: spawn, wait for text, press keys,
//! resize, signal, and check that the terminal was restored.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const WAIT: Duration = Duration::from_secs(30);

/// Escape sequences the restore writes: leave the alternate screen, show the cursor.
pub const LEAVE_ALT: &[u8] = b"\x1b[?1049l";
pub const SHOW_CURSOR: &[u8] = b"\x1b[?25h";
pub const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";

pub struct Dash {
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    out: Arc<Mutex<Vec<u8>>>,
    parser: Arc<Mutex<vt100::Parser>>,
    reader: Option<thread::JoinHandle<()>>,
}

pub fn size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

impl Dash {
    pub fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Dash {
        Dash::spawn_program(dir, env!("CARGO_BIN_EXE_wallwatch"), args, env, cols, rows)
    }

    /// [`Dash::spawn`] of another program.
    pub fn spawn_program(
        dir: &Path,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        cols: u16,
        rows: u16,
    ) -> Dash {
        let pair = native_pty_system().openpty(size(cols, rows)).unwrap();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(dir);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        // Only the child holds the slave now: reads end when it exits.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let (o, p) = (out.clone(), parser.clone());
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 65536];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        o.lock().unwrap().extend_from_slice(&buf[..n]);
                        let mut parser = p.lock().unwrap();
                        let fed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            parser.process(&buf[..n])
                        }));
                        if fed.is_err() {
                            // vt100 0.16 can underflow when a cursor row is left stale by a
                            // resize storm (an emulator bug); start a fresh emulator at the
                            // same size. The dashboard repaints fully after every resize.
                            let (rows, cols) = parser.screen().size();
                            *parser = vt100::Parser::new(rows, cols, 0);
                        }
                    }
                }
            }
        });
        Dash {
            child,
            master: pair.master,
            writer,
            out,
            parser,
            reader: Some(reader),
        }
    }

    pub fn contents(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Polls the screen until `pred` holds; panics with the screen after [`WAIT`].
    pub fn wait_screen(&self, what: &str, pred: impl Fn(&vt100::Screen) -> bool) {
        let start = Instant::now();
        loop {
            if pred(self.parser.lock().unwrap().screen()) {
                return;
            }
            if start.elapsed() > WAIT {
                panic!("timed out waiting for {what}; screen:\n{}", self.contents());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_text(&self, text: &str) {
        self.wait_screen(text, |s| s.contents().contains(text));
    }

    pub fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        self.master.resize(size(cols, rows)).unwrap();
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows, cols);
    }

    pub fn signal(&self, name: &str) {
        let pid = self.child.process_id().unwrap();
        let ok = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} {pid}");
    }

    /// Waits for the child to exit and for the last bytes; returns (exit code, every byte).
    pub fn finish(mut self) -> (u32, Vec<u8>) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > WAIT {
                let _ = self.child.kill();
                panic!("the dashboard did not exit; screen:\n{}", self.contents());
            }
            thread::sleep(Duration::from_millis(20));
        };
        let reader = self.reader.take().unwrap();
        let start = Instant::now();
        while !reader.is_finished() && start.elapsed() < WAIT {
            thread::sleep(Duration::from_millis(20));
        }
        let out = self.out.lock().unwrap().clone();
        (status.exit_code(), out)
    }
}

impl Drop for Dash {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
        }
    }
}

pub fn panes_up(s: &vt100::Screen) -> bool {
    let c = s.contents();
    [
        "Wall", "Sensors", "Network", "Log", "crews ", "sensors ", "? help",
    ]
    .iter()
    .all(|t| c.contains(t))
}

/// The number after `label ` in the status bar (second to last row).
pub fn status_number(s: &vt100::Screen, label: &str) -> Option<u64> {
    let (rows, _) = s.size();
    let row = row(s, rows - 2);
    let after = row.split(&format!("{label} ")).nth(1)?;
    let digits: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

pub fn row(s: &vt100::Screen, y: u16) -> String {
    let (_, cols) = s.size();
    s.rows(0, cols).nth(y as usize).unwrap_or_default()
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The stream ends with the terminal restored: after the last frame began, the alternate screen
/// is left and the cursor shown, and after that only plain text (the exit lines) follows.
pub fn assert_restored(out: &[u8]) {
    let last_frame = rfind(out, BEGIN_SYNC).expect("at least one frame");
    let leave = rfind(out, LEAVE_ALT).expect("leaves the alternate screen");
    let show = rfind(out, SHOW_CURSOR).expect("shows the cursor");
    assert!(
        leave > last_frame,
        "left the alternate screen before the last frame"
    );
    assert!(
        show > leave,
        "cursor shown before leaving the alternate screen"
    );
    let tail = &out[show + SHOW_CURSOR.len()..];
    assert!(
        !tail.contains(&0x1b),
        "escape sequences after the restore: {:?}",
        String::from_utf8_lossy(tail)
    );
    let mut parser = vt100::Parser::new(24, 80, 0);
    parser.process(out);
    assert!(!parser.screen().alternate_screen());
    assert!(!parser.screen().hide_cursor());
}

impl Dash {
    /// Every byte the program has written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.out.lock().unwrap().clone()
    }

    /// How many bytes the program has written so far.
    pub fn byte_count(&self) -> usize {
        self.out.lock().unwrap().len()
    }

    /// Reads the emulated screen.
    pub fn screen_with<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.parser.lock().unwrap().screen())
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().unwrap()
    }
}
