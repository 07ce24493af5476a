//! The store a run uses, named by URL: `memory:`, `csv:PATH`, `sqlite:PATH` or
//! `postgres://…` / `postgresql://…`. Parsed once (where the configuration is built), then kept
//! typed; shown (`Display`) with any password replaced by `***`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::StoreError;

/// A parsed store URL.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `memory:`: nothing kept after the run.
    Memory,
    /// `csv:PATH`: the readings' file (the crew reports' beside it).
    Csv(String),
    /// `sqlite:PATH`: the database file.
    Sqlite(String),
    /// `postgres://…` or `postgresql://…`, the whole URL as given, password and all (the
    /// connection needs it; never show it but through `Display`).
    Postgres(String),
}

impl FromStr for StoreUrl {
    type Err = StoreError;

    /// The URL's kind, or a one-line error naming it (without a password). A PostgreSQL URL's
    /// parts are read when it is opened.
    fn from_str(url: &str) -> Result<StoreUrl, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(url.to_string()));
        }
        match url.split_once(':') {
            // `sqlite:x.db?mode=ro` would otherwise make a file named `x.db?mode=ro`: no
            // query is taken, so a `?` in a path is refused rather than guessed at.
            Some(("csv" | "sqlite", path)) if path.contains('?') => {
                let shown = redact_url(url);
                let query = shown.split_once('?').map_or("", |(_, q)| q);
                Err(StoreError(format!(
                    "store '{shown}': a csv: or sqlite: URL takes a path only, no query \
                     ('?{query}'); name the file alone"
                )))
            }
            Some(("memory", "")) => Ok(StoreUrl::Memory),
            Some(("csv", path)) if !path.is_empty() => Ok(StoreUrl::Csv(path.to_string())),
            Some(("sqlite", path)) if !path.is_empty() => Ok(StoreUrl::Sqlite(path.to_string())),
            _ => Err(StoreError(format!(
                "store '{}': unknown store URL (use memory:, csv:PATH, sqlite:PATH or postgres://…)",
                redact_url(url)
            ))),
        }
    }
}

impl StoreUrl {
    /// The file a `csv:` or `sqlite:` URL names.
    pub fn path(&self) -> Option<&str> {
        match self {
            StoreUrl::Csv(path) | StoreUrl::Sqlite(path) => Some(path),
            StoreUrl::Memory | StoreUrl::Postgres(_) => None,
        }
    }
}

/// The URL fit for logs, errors and summaries: a PostgreSQL password shown as `***`.
impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Memory => f.write_str("memory:"),
            StoreUrl::Csv(path) => write!(f, "csv:{path}"),
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{path}"),
            StoreUrl::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

/// As `Display`: a password never reaches a log through `{:?}` either.
impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

/// What [`super::open`] and [`super::open_existing`] take: a [`StoreUrl`], or its text, parsed
/// first (tools and tests hand the text they have).
pub trait ToStoreUrl {
    fn to_store_url(&self) -> Result<Cow<'_, StoreUrl>, StoreError>;
}

impl ToStoreUrl for StoreUrl {
    fn to_store_url(&self) -> Result<Cow<'_, StoreUrl>, StoreError> {
        Ok(Cow::Borrowed(self))
    }
}

impl ToStoreUrl for str {
    fn to_store_url(&self) -> Result<Cow<'_, StoreUrl>, StoreError> {
        self.parse().map(Cow::Owned)
    }
}

impl ToStoreUrl for String {
    fn to_store_url(&self) -> Result<Cow<'_, StoreUrl>, StoreError> {
        self.as_str().to_store_url()
    }
}

/// The URL text with any password replaced by `***`: `user:password@` in the authority part
/// and `password=…` in the query string.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    // user:password@ in the authority part; its end is the last `@` before the query, since a
    // password written with a raw `/` (or `#`) would otherwise end the authority early and be
    // shown whole.
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let before_query = out[rest_start..]
            .find('?')
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..before_query].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    // password=… in the query string
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_parses_and_shows_as_given_but_for_a_password() {
        for (text, url) in [
            ("memory:", StoreUrl::Memory),
            ("csv:a/b.csv", StoreUrl::Csv("a/b.csv".into())),
            ("sqlite:a:b@c.db", StoreUrl::Sqlite("a:b@c.db".into())),
            (
                "postgres://h/d",
                StoreUrl::Postgres("postgres://h/d".into()),
            ),
            (
                "postgresql://a@h/d",
                StoreUrl::Postgres("postgresql://a@h/d".into()),
            ),
        ] {
            assert_eq!(text.parse::<StoreUrl>().unwrap(), url);
            assert_eq!(url.to_string(), text);
        }
        let url: StoreUrl = "postgres://a:b@h:5/d?password=c".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://a:***@h:5/d?password=***");
        assert_eq!(
            format!("{url:?}"),
            "StoreUrl(postgres://a:***@h:5/d?password=***)"
        );
    }

    #[test]
    fn a_query_on_a_file_store_is_refused_not_made_a_file_name() {
        for url in [
            "sqlite:x.db?mode=ro",
            "csv:r.csv?x=1",
            "sqlite:?",
            "memory:?",
        ] {
            let e = url.parse::<StoreUrl>().unwrap_err().to_string();
            assert!(e.starts_with(&format!("store '{url}': ")), "{e}");
        }
        let e = "sqlite:x.db?mode=ro"
            .parse::<StoreUrl>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("no query ('?mode=ro')"), "{e}");
        let e = "sqlite:x.db?password=pw"
            .parse::<StoreUrl>()
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn an_unknown_url_is_one_line_without_its_password() {
        let e = "mysql://u:pw@h/db"
            .parse::<StoreUrl>()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("store 'mysql://u:***@h/db': unknown store URL"),
            "{e}"
        );
    }
}
