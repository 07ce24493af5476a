//! A served site in this process (engine, site model, HTTP API on 127.0.0.1:0, its token in a
//! temporary file) and a plain HTTP/1.1 client over a real TCP connection.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wallwatch::config::Config;
use wallwatch::engine::{Engine, StartOptions, Summary};
use wallwatch::http::HttpServer;
use wallwatch::site::Site;
use wallwatch::store::Store;

/// A running site with its API.
pub struct Served {
    pub engine: Engine,
    pub site: Site,
    pub server: Option<HttpServer>,
    pub addr: SocketAddr,
    /// The token writes need (none with `--http-read-only` alone).
    pub token: Option<String>,
    /// Where the token file is unless the config names one.
    _dir: tempfile::TempDir,
}

/// Starts `config`'s site (on `store` if given) with the API on a free loopback port; its
/// token in a temporary directory unless `config.http_token_file` says where.
pub async fn serve(mut config: Config, store: Option<Box<dyn Store>>) -> Served {
    config.http = Some("127.0.0.1:0".parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    if config.http_token_file.is_none() {
        config.http_token_file = Some(dir.path().join("site.token"));
    }
    let settings = wallwatch::cmd::services::http_settings(&config);
    let bound = wallwatch::http::bind_for(&settings).await.unwrap();
    let addr = bound.as_ref().unwrap().addr();
    let token = bound
        .as_ref()
        .unwrap()
        .token_file()
        .map(|f| std::fs::read_to_string(f).unwrap().trim().to_string());
    // As `Services::start` does with `--http`: the wall's stored days are read back.
    let options = StartOptions {
        store,
        history: true,
        ..StartOptions::default()
    };
    let (engine, events) = Engine::start_with(&config.engine, options).await.unwrap();
    let site = Site::start(events, None).await.unwrap();
    let server = wallwatch::http::serve_for(
        bound,
        &settings,
        engine.gauges(),
        site.hub.clone(),
        engine.command_sender(),
    )
    .unwrap();
    Served {
        engine,
        site,
        server,
        addr,
        token,
        _dir: dir,
    }
}

impl Served {
    pub async fn get(&self, path: &str) -> Response {
        get(self.addr, path).await
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", r.body))
    }

    /// `method path` with `headers`, the site's token, and `body` (JSON when not empty).
    pub async fn write(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        let token = self.token.as_deref().expect("a token");
        let mut all = vec![("Authorization", format!("Bearer {token}"))];
        if !body.is_empty() {
            all.push(("Content-Type", "application/json".to_string()));
        }
        all.extend(headers.iter().map(|(k, v)| (*k, v.to_string())));
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        request(self.addr, method, path, &all, body).await
    }

    pub async fn stop(self) -> Summary {
        let summary = self.engine.shutdown().await.unwrap();
        self.site.finished().await;
        wallwatch::http::stop(self.server).await;
        summary
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` (a whole HTTP/1.1 request) and reads the answer to the connection's end.
pub async fn raw(addr: SocketAddr, request: &str) -> Response {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut bytes))
        .await
        .expect("an answer within 30 s")
        .unwrap();
    parse(&bytes)
}

/// `method path` with exactly `headers` and `body` (its Content-Length added).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    raw(addr, &text).await
}

pub async fn get(addr: SocketAddr, path: &str) -> Response {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
    .await
}

fn parse(bytes: &[u8]) -> Response {
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
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
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
}

/// Waits (polling `check` every 20 ms, at most `within`) until it holds.
pub async fn wait_until<F, Fut>(within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < end, "not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
