//! A plain HTTP/1.1 client for the benchmarks that talk to a site's API: one kept-alive
//! connection, requests one at a time, answers read to their `Content-Length` (what the API
//! always sends). A connection the site closed (its idle timeout) is opened again once.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest a benchmark waits for one answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);
/// The largest header block accepted.
const MAX_HEAD: usize = 64 * 1024;

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON; the error names `what` and quotes the start of the body.
    pub fn json(&self, what: &str) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let start =
                String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).into_owned();
            format!("{what}: not JSON ({e}): {}", crate::text::sanitize(&start))
        })
    }
}

/// A connection to `addr`, with the bearer token writes need.
pub struct Client {
    addr: SocketAddr,
    token: Option<String>,
    conn: Option<TcpStream>,
    /// Bytes read past the last answer (none with one request at a time, kept for safety).
    buf: Vec<u8>,
}

impl Client {
    pub fn new(addr: SocketAddr, token: Option<String>) -> Client {
        Client {
            addr,
            token,
            conn: None,
            buf: Vec::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Result<Answer, String> {
        self.request("GET", path, "").await
    }

    /// `method path` with the token, and `body` as JSON when not empty.
    pub async fn write(&mut self, method: &str, path: &str, body: &str) -> Result<Answer, String> {
        self.request(method, path, body).await
    }

    async fn request(&mut self, method: &str, path: &str, body: &str) -> Result<Answer, String> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if method != "GET"
            && let Some(t) = &self.token
        {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        // A kept connection may have been closed by the site since: one more try on a new one.
        let reused = self.conn.is_some();
        match self.exchange(head.as_bytes()).await {
            Err(_) if reused => {
                self.conn = None;
                self.exchange(head.as_bytes()).await
            }
            r => r,
        }
        .map_err(|e| format!("{method} http://{}{path}: {e}", self.addr))
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<Answer, String> {
        let answer = tokio::time::timeout(ANSWER_WITHIN, self.exchange_on(request))
            .await
            .map_err(|_| format!("no answer within {} s", ANSWER_WITHIN.as_secs()))
            .and_then(|r| r);
        if answer.is_err() {
            self.conn = None;
            self.buf.clear();
        }
        answer
    }

    async fn exchange_on(&mut self, request: &[u8]) -> Result<Answer, String> {
        if self.conn.is_none() {
            let s = TcpStream::connect(self.addr)
                .await
                .map_err(|e| e.to_string())?;
            let _ = s.set_nodelay(true);
            self.conn = Some(s);
            self.buf.clear();
        }
        let conn = self.conn.as_mut().ok_or("no connection")?;
        conn.write_all(request).await.map_err(|e| e.to_string())?;
        let end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD {
                return Err("the answer's header block is too long".into());
            }
            read_more(conn, &mut self.buf).await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or("no status line")?;
        let mut length = 0usize;
        let mut close = false;
        for line in head.split("\r\n").skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse().map_err(|_| "a bad Content-Length")?;
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(format!("Transfer-Encoding {v} is not read here"));
                } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        while self.buf.len() < end + length {
            read_more(conn, &mut self.buf).await?;
        }
        let body = self.buf[end..end + length].to_vec();
        self.buf.drain(..end + length);
        if close {
            self.conn = None;
        }
        Ok(Answer { status, body })
    }
}

async fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 16 * 1024];
    let n = conn.read(&mut chunk).await.map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("the connection closed".into());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
