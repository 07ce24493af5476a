//! A server-sent events client over a real TCP connection: the answer's head, then the events
//! of its chunked body one at a time, as they arrive (comments skipped).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// One event: its `event`, `id` (`INSTANCE-N`, split) and `data` fields.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    /// The site process's instance, the part of the id before its number.
    pub instance: Option<String>,
    /// The update number.
    pub id: Option<u64>,
    pub data: String,
}

impl SseEvent {
    /// The id as sent, `INSTANCE-N` (what a client sends back as `Last-Event-ID`).
    pub fn last_event_id(&self) -> String {
        format!("{}-{}", self.instance.as_deref().unwrap(), self.id.unwrap())
    }
}

/// An open `GET` answered 200: its events follow.
pub struct Events {
    pub headers: Vec<(String, String)>,
    stream: TcpStream,
    /// Bytes read and not yet dechunked.
    raw: Vec<u8>,
    /// Body text not yet made into events.
    text: String,
    ended: bool,
    /// Comments seen (heartbeats).
    pub comments: usize,
}

/// What `GET path` with `headers` got: the open stream, or the status and body of a refusal.
pub enum Opened {
    Stream(Events),
    Refused { status: u16, body: String },
}

/// How long one event may take to come.
const WITHIN: Duration = Duration::from_secs(30);

/// Opens `GET path` with `headers`; `recv_buffer` sets the socket's receive buffer (small to
/// make a client that stops reading fill up sooner).
pub async fn open(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    recv_buffer: Option<u32>,
) -> Opened {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(n) = recv_buffer {
        socket.set_recv_buffer_size(n).unwrap();
    }
    let mut stream = socket.connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(WITHIN, stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "the connection closed before the answer's head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(raw[..head_end].to_vec()).unwrap();
    let raw = raw[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut events = Events {
        headers,
        stream,
        raw,
        text: String::new(),
        ended: false,
        comments: 0,
    };
    if status != 200 {
        // A refusal's body has its length.
        let len: usize = events.header("content-length").unwrap().parse().unwrap();
        while events.raw.len() < len {
            events.read_more().await;
        }
        let body = String::from_utf8(events.raw[..len].to_vec()).unwrap();
        return Opened::Refused { status, body };
    }
    Opened::Stream(events)
}

impl Events {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    async fn read_more(&mut self) {
        let mut buf = [0u8; 16384];
        let n = tokio::time::timeout(WITHIN, self.stream.read(&mut buf))
            .await
            .expect("the next bytes within 30 s")
            .unwrap();
        assert!(n > 0, "the connection closed without the body's last chunk");
        self.raw.extend_from_slice(&buf[..n]);
    }

    /// Moves whole chunks from `raw` to `text`; false when none is whole yet.
    fn dechunk(&mut self) -> bool {
        let Some(eol) = self.raw.windows(2).position(|w| w == b"\r\n") else {
            return false;
        };
        let size = std::str::from_utf8(&self.raw[..eol]).unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if self.raw.len() < eol + 2 + n + 2 {
            return false;
        }
        if n == 0 {
            self.ended = true;
        }
        let chunk = self.raw[eol + 2..eol + 2 + n].to_vec();
        self.text.push_str(&String::from_utf8(chunk).unwrap());
        self.raw.drain(..eol + 2 + n + 2);
        true
    }

    /// The next event; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut event = SseEvent {
                    event: "message".into(),
                    instance: None,
                    id: None,
                    data: String::new(),
                };
                let mut comment = true;
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "" => continue,
                        "event" => event.event = value.into(),
                        "id" => {
                            let (instance, n) = value.rsplit_once('-').expect("INSTANCE-N");
                            assert_eq!(instance.len(), 16, "{value}");
                            assert!(instance.bytes().all(|b| b.is_ascii_hexdigit()), "{value}");
                            event.instance = Some(instance.into());
                            event.id = Some(n.parse().expect("a numeric id"));
                        }
                        "retry" => {}
                        "data" => {
                            if !event.data.is_empty() {
                                event.data.push('\n');
                            }
                            event.data.push_str(value);
                        }
                        other => panic!("unknown field {other:?} in {block:?}"),
                    }
                    comment = false;
                }
                if comment {
                    self.comments += 1;
                    continue;
                }
                return Some(event);
            }
            if self.ended {
                assert!(
                    self.text.is_empty(),
                    "a partial event at the end: {:?}",
                    self.text
                );
                return None;
            }
            if !self.dechunk() {
                self.read_more().await;
            }
        }
    }
}
