//! Serving the API's connections: each accepted by the [`Limited`] listener (its bounds, per
//! address too) and served by hyper's HTTP/1 builder with a deadline for a request's headers
//! ([`HEADER_TIMEOUT`]): a client that sends its headers a byte every few seconds keeps the
//! connection moving, so only that deadline closes it. `axum::serve` sets no such deadline.
//! On stop, every connection finishes the request it is answering and closes.

use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;

use super::listener::{Limited, Peer};
use super::router::Guarded;

/// How long a request's headers may take to arrive, from its first byte (the connection is
/// closed past it).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `api` on `listener` until `stop` says true, then waits for the open connections
/// to finish (the caller bounds that wait).
pub async fn serve(mut listener: Limited, api: Guarded, mut stop: watch::Receiver<bool>) {
    // Every connection holds a receiver: `closed` once they have all ended.
    let (open_tx, open_rx) = watch::channel(());
    loop {
        let (conn, addr) = tokio::select! {
            c = listener.next() => c,
            _ = stop.wait_for(|s| *s) => break,
        };
        let api = api.clone();
        let stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            serve_one(conn, Peer(addr), api, stop).await;
            drop(open);
        });
    }
    drop(open_rx);
    open_tx.closed().await;
}

/// One connection, its requests knowing their peer (`ConnectInfo<Peer>`).
async fn serve_one(
    conn: super::listener::Conn,
    peer: Peer,
    api: Guarded,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let answer = api.clone().answer(request.map(axum::body::Body::new));
        async move { Ok::<_, std::convert::Infallible>(answer.await) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let served = builder.serve_connection(TokioIo::new(conn), service);
    tokio::pin!(served);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(target: "http", "connection from {}: {e}", peer.0);
                }
                return;
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
}
