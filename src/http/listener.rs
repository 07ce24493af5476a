//! A TCP listener for axum that bounds the connections open at once (a permit per connection,
//! given back when it closes; the next accept waits for one), and those of one address (past
//! its share a connection is closed as soon as it is accepted, so one peer cannot hold every
//! slot), and closes a connection on which nothing has moved for a while (a stalled client, an
//! idle keep-alive).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The listener.
pub struct Limited {
    tcp: TcpListener,
    permits: Arc<Semaphore>,
    idle: Duration,
    peers: Arc<Peers>,
}

/// The connections open per address, and the most one address may have.
#[derive(Debug)]
struct Peers {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    refused: std::sync::atomic::AtomicU64,
    /// Refused connections held now.
    held: std::sync::atomic::AtomicUsize,
}

/// One open connection of an address: counted while it lives.
struct PeerSlot {
    peers: Arc<Peers>,
    ip: IpAddr,
}

impl Peers {
    /// A slot for `ip`, unless it holds its share already.
    fn take(self: &Arc<Peers>, ip: IpAddr) -> Option<PeerSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            ip,
        })
    }
}

/// How long a connection refused for its address's share is held (unread) before it is closed:
/// closed at once, a client that reconnects at once (`wrk -c 2000`) kept the kernel's queue of
/// connections to accept full, and everyone else waited in it.
pub const REFUSED_HOLD: Duration = Duration::from_secs(5);
/// Refused connections held at once, at most (more are closed at once): each holds a file.
pub const MAX_HELD: usize = 1024;

impl Peers {
    /// Holds a refused connection for [`REFUSED_HOLD`], or closes it at once when
    /// [`MAX_HELD`] are held already.
    fn hold(self: &Arc<Peers>, stream: TcpStream) {
        let held = self.held.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if held >= MAX_HELD {
            self.held.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        let peers = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(REFUSED_HOLD).await;
            drop(stream);
            peers
                .held
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.peers.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl Limited {
    /// At most `max` connections at once, any address (see [`Limited::per_peer`]).
    pub fn new(tcp: TcpListener, max: usize, idle: Duration) -> Limited {
        let max = max.max(1);
        Limited {
            tcp,
            permits: Arc::new(Semaphore::new(max)),
            idle,
            peers: Arc::new(Peers {
                max,
                open: Mutex::new(HashMap::new()),
                refused: Default::default(),
                held: Default::default(),
            }),
        }
    }

    /// At most `max` of the connections from one address at once.
    pub fn per_peer(mut self, max: usize) -> Limited {
        self.peers = Arc::new(Peers {
            max: max.max(1),
            open: Mutex::new(HashMap::new()),
            refused: Default::default(),
            held: Default::default(),
        });
        self
    }

    /// Connections closed on arrival so far, their address holding its share.
    pub fn refused(&self) -> u64 {
        self.peers
            .refused
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The next connection within the bounds (see the module's notes).
    pub async fn next(&mut self) -> (Conn, SocketAddr) {
        // The semaphore is never closed.
        let permit = loop {
            if let Ok(p) = self.permits.clone().acquire_owned().await {
                break p;
            }
        };
        loop {
            match self.tcp.accept().await {
                Ok((stream, addr)) => {
                    let Some(slot) = self.peers.take(addr.ip()) else {
                        self.peers.hold(stream);
                        // The permit is kept for the next.
                        let n = self
                            .peers
                            .refused
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if n.is_power_of_two() {
                            tracing::warn!(
                                target: "http",
                                "{} holds its {} connections: more are closed on arrival ({} so far)",
                                addr.ip(),
                                self.peers.max,
                                n + 1
                            );
                        }
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let conn = Conn {
                        stream,
                        _permit: permit,
                        _slot: slot,
                        idle: self.idle,
                        last_moved: Instant::now(),
                        deadline: Box::pin(tokio::time::sleep(self.idle)),
                    };
                    return (conn, addr);
                }
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!(target: "http", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl axum::serve::Listener for Limited {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        self.next().await
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// The address a connection comes from, as handlers take it (`ConnectInfo<Peer>`): a write
/// is asked as `http PEER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Limited>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Limited>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// One connection, its permit, and when something last moved on it. The timer is not moved
/// on every read and write (that is a timer-wheel operation each time): when it fires, it is
/// set again from the last move, and only a connection quiet for the whole time fails.
pub struct Conn {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    _slot: PeerSlot,
    idle: Duration,
    last_moved: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl Conn {
    fn moved(&mut self) {
        self.last_moved = Instant::now();
    }

    /// An error once nothing has moved for the idle time while waiting.
    fn check_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            match self.deadline.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => {
                    let due = self.last_moved + self.idle;
                    if due <= Instant::now() {
                        return Poll::Ready(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "nothing moved on the connection for too long",
                        ));
                    }
                    self.deadline.as_mut().reset(due);
                }
            }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.moved();
                Poll::Ready(r)
            }
            Poll::Pending => this.check_idle(cx).map(Err),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.moved();
                Poll::Ready(r)
            }
            Poll::Pending => this.check_idle(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.moved();
                Poll::Ready(r)
            }
            Poll::Pending => this.check_idle(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
