//! A real PostgreSQL server for tests: its URL from `WALLWATCH_TEST_POSTGRES_URL` (`.ci/postgres.sh`
//! starts one) and a schema of its own per test.
#![allow(dead_code)] // each test file uses its own part of this

use std::sync::atomic::{AtomicUsize, Ordering};

/// The test server's URL, or `None` (with a note) when there is none and this is not CI.
pub fn postgres_url() -> Option<String> {
    match std::env::var("WALLWATCH_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but WALLWATCH_TEST_POSTGRES_URL is not set (source .ci/postgres.sh)")
        }
        _ => {
            eprintln!("note: WALLWATCH_TEST_POSTGRES_URL is not set; skipping a PostgreSQL test");
            None
        }
    }
}

/// A schema of its own for one test, dropped at the end.
pub struct Schema {
    pub admin_url: String,
    pub name: String,
    pub url: String,
}

/// Runs on a thread of its own, so it also works from inside an async test.
pub fn admin(url: &str, sql: &str) {
    std::thread::scope(|scope| scope.spawn(|| admin_here(url, sql)).join().unwrap())
}

fn admin_here(url: &str, sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
    });
}

/// The first column of the first row of `sql`, as text.
pub fn admin_value(url: &str, sql: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .query_one(&format!("SELECT ({sql})::text"), &[])
            .await
            .unwrap()
            .get(0)
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
