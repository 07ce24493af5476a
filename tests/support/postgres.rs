//! A real PostgreSQL server for tests: the one in `WALLWATCH_TEST_POSTGRES_URL` (`.ci/postgres.sh`
//! starts one), else one this test process starts for itself (as the broker tests start their
//! Mosquitto), and a schema of its own per test. Without PostgreSQL installed a test fails with
//! one line saying what to install, unless `WALLWATCH_SKIP_POSTGRES=1` (never under CI).
#![allow(dead_code)] // each test file uses its own part of this

#[path = "pg_server.rs"]
mod pg_server;

use std::sync::atomic::{AtomicUsize, Ordering};

/// The test server's URL, or `None` (with a note) when the user opted out.
pub fn postgres_url() -> Option<String> {
    match std::env::var("WALLWATCH_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => pg_server::PgServer::shared_url(),
    }
}

/// A schema of its own for one test, dropped at the end.
pub struct Schema {
    pub admin_url: String,
    pub name: String,
    pub url: String,
}

/// Runs `sql` on a thread of its own, so it also works from inside an async test.
pub fn admin(url: &str, sql: &str) {
    with_client(url, |client| async move {
        client.batch_execute(sql).await.unwrap()
    })
}

/// The first column of the first row of `sql`, as text.
pub fn admin_value(url: &str, sql: &str) -> String {
    let query = format!("SELECT ({sql})::text");
    with_client(url, |client| async move {
        client.query_one(&query, &[]).await.unwrap().get(0)
    })
}

/// Connects to `url` on a thread with its own runtime and runs `f` with the client.
fn with_client<T, F, Fut>(url: &str, f: F) -> T
where
    T: Send,
    F: FnOnce(tokio_postgres::Client) -> Fut + Send,
    Fut: std::future::Future<Output = T>,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                        .await
                        .unwrap();
                    tokio::spawn(connection);
                    f(client).await
                })
            })
            .join()
            .unwrap()
    })
}

impl Schema {
    pub fn new(base: &str, test: &str) -> Schema {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "wwtest_{test}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(base, &format!("CREATE SCHEMA {name}"));
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}");
        Schema {
            admin_url: base.to_string(),
            name,
            url,
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            admin(
                &self.admin_url,
                &format!("DROP SCHEMA {} CASCADE", self.name),
            );
        }
    }
}
