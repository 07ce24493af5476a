//! The HTTP API's writes over real HTTP (issue 22 §3, §4, §7): every route against a site in
//! this process (its change seen in `/config`, `/sensors` or the site model), every refusal
//! and error code, a retried `Idempotency-Key`, `--http-read-only` and `--http-auth all`; and on
//! the real binary the token file (0600, its path said at start), the `control` log line with
//! the peer, and a token file others may read refused off loopback.

#[path = "support/example_config.rs"]
mod example_config;
#[path = "support/http.rs"]
mod http;
#[path = "support/running.rs"]
mod running;

use running::Running;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use example_config::on_memory_store;
use http::{Response, Served, request, serve, wait_until};
use serde_json::{Value, json};
use wallwatch::config::Config;
use wallwatch::config::cli::HttpAuth;
use wallwatch::wall::Crews;

const LONG: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_wallwatch");

/// A site of 3 crews and 5 sensors whose days are long (nothing changes by itself).
fn quiet() -> Config {
    let mut c = on_memory_store();
    c.engine.crews = Crews::Limited(3);
    c.engine.day_seconds = 3600.0;
    c
}

fn body(r: &Response) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

/// Asserts `r` is `status` with `{"error": …}` containing `words`.
fn refused(r: &Response, status: u16, words: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let v = body(r);
    let error = v["error"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(error.contains(words), "{status}: {error:?} lacks {words:?}");
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
}

/// `/config`'s `key` once it is `want` (the site model follows the engine's events).
async fn config_shows(s: &Served, key: &str, want: Value) {
    wait_until(LONG, || async { s.json("/config").await[key] == want }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_route_changes_the_site() {
    let s = serve(quiet(), None).await;
    assert_eq!(s.json("/config").await["crews"], 3);

    let r = s.write("POST", "/crews", &[], r#"{"count": 2}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        body(&r),
        json!({"outcome": "crews_added", "numbers": [4, 5], "crews": 5,
               "message": "crews 4, 5 join tomorrow"})
    );
    config_shows(&s, "crews", json!(5)).await;
    // No body: one crew.
    let r = s.write("POST", "/crews", &[], "").await;
    assert_eq!(body(&r)["message"], "crew 6 joins tomorrow");
    config_shows(&s, "crews", json!(6)).await;

    let r = s.write("DELETE", "/crews?count=2", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        body(&r),
        json!({"outcome": "crews_removed", "numbers": [6, 5], "crews": 4,
               "message": "crews 6, 5 leave"})
    );
    config_shows(&s, "crews", json!(4)).await;
    let r = s.write("DELETE", "/crews", &[], "").await;
    assert_eq!(body(&r)["crews"], 3);

    let r = s
        .write(
            "POST",
            "/sensors",
            &[],
            r#"{"kind": "thermometer", "count": 2}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = body(&r);
    assert_eq!(v["outcome"], "sensors_added");
    let added: Vec<String> = v["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["kind"], "thermometer");
            s["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(added.len(), 2);
    config_shows(&s, "sensors", json!(7)).await;
    let listed = s.json("/sensors").await;
    let names: Vec<&str> = listed["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        added.iter().all(|a| names.contains(&a.as_str())),
        "{names:?}"
    );

    let r = s
        .write("DELETE", &format!("/sensors/{}", added[0]), &[], "")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        body(&r),
        json!({"outcome": "sensors_removed", "names": [added[0]],
               "message": format!("sensor {} removed", added[0])})
    );
    config_shows(&s, "sensors", json!(6)).await;
    // One of the kinds in turn with no body.
    let r = s.write("POST", "/sensors", &[], "").await;
    assert_eq!(body(&r)["sensors"].as_array().unwrap().len(), 1);

    let r = s.write("PUT", "/speed", &[], r#"{"speed": 10}"#).await;
    assert_eq!(
        body(&r),
        json!({"outcome": "speed", "speed": 10.0, "message": "speed ×10"})
    );
    config_shows(&s, "speed", json!(10.0)).await;
    let r = s.write("PUT", "/speed", &[], r#"{"speed": "max"}"#).await;
    assert_eq!(body(&r)["speed"], "max");
    config_shows(&s, "speed", json!("max")).await;

    let r = s.write("POST", "/pause", &[], "").await;
    assert_eq!(
        body(&r),
        json!({"outcome": "paused", "paused": true, "message": "paused"})
    );
    config_shows(&s, "paused", json!(true)).await;
    assert!(s.site.hub.with_model(|m| m.paused));
    let r = s.write("POST", "/resume", &[], "{}").await;
    assert_eq!(body(&r)["message"], "resumed");
    config_shows(&s, "paused", json!(false)).await;

    // Every other key of /config is still there.
    let config = s.json("/config").await;
    for key in [
        "store",
        "network_limit",
        "seed",
        "day_seconds",
        "http",
        "log_keep",
    ] {
        assert!(config.get(key).is_some(), "{key}: {config}");
    }
    assert_eq!(config["http_auth"], "writes");
    let token = s.token.clone().unwrap();
    assert!(
        !s.get("/config").await.body.contains(&token),
        "the token is never shown"
    );

    let r = s.write("PUT", "/wall", &[], r#"{"profiles": ["1"]}"#).await;
    assert_eq!(r.status, 202, "{}", r.body);
    config_shows(&s, "sections", json!(1)).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_errors_have_their_codes_and_change_nothing() {
    let s = serve(quiet(), None).await;
    let json_type = ("Content-Type", "application/json");

    // 401 without a token (and `WWW-Authenticate`), 403 with another.
    let r = request(s.addr, "POST", "/crews", &[json_type], r#"{"count": 1}"#).await;
    refused(&r, 401, "token");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = request(
        s.addr,
        "POST",
        "/pause",
        &[("Authorization", "Basic eDp5")],
        "",
    )
    .await;
    refused(&r, 401, "Bearer");
    let token = s.token.clone().unwrap();
    let wrong = format!("Bearer {}x", token);
    let r = request(s.addr, "POST", "/pause", &[("Authorization", &wrong)], "").await;
    refused(&r, 403, "wrong token");
    let r = request(
        s.addr,
        "POST",
        "/pause",
        &[("Authorization", "Bearer ")],
        "",
    )
    .await;
    refused(&r, 401, "Bearer");
    // Reads stay open.
    assert_eq!(s.get("/status").await.status, 200);

    // 400: bad JSON, naming the field.
    for (path, method, text, words) in [
        (
            "/crews",
            "POST",
            r#"{"count": "two"}"#,
            r#"count: "two" is not a whole number"#,
        ),
        (
            "/crews",
            "POST",
            r#"{"count": 1.5}"#,
            "count: 1.5 is not a whole number",
        ),
        (
            "/crews",
            "POST",
            r#"{"cuont": 1}"#,
            "unknown field 'cuont' (expected count)",
        ),
        ("/crews", "POST", "{", "the body is not JSON"),
        ("/crews", "POST", "[1]", "the body must be a JSON object"),
        (
            "/sensors",
            "POST",
            r#"{"kind": 3}"#,
            "kind: 3 is not a string",
        ),
        ("/speed", "PUT", "{}", "speed: missing"),
        (
            "/speed",
            "PUT",
            r#"{"speed": "fast"}"#,
            r#"speed: "fast" is not a number or "max""#,
        ),
        (
            "/pause",
            "POST",
            r#"{"now": true}"#,
            "unknown field 'now' (expected none)",
        ),
    ] {
        let r = s.write(method, path, &[], text).await;
        refused(&r, 400, words);
    }
    let r = s.write("DELETE", "/crews?count=x", &[], "").await;
    refused(&r, 400, "count: 'x' is not a whole number");
    let r = s.write("DELETE", "/crews?cuont=1", &[], "").await;
    refused(&r, 400, "unknown parameter 'cuont'");
    let long_key = "k".repeat(wallwatch::engine::MAX_KEY_LEN + 1);
    let r = s
        .write("POST", "/crews", &[("Idempotency-Key", &long_key)], "")
        .await;
    refused(&r, 400, "Idempotency-Key");
    // HTTP lets a header value hold a tab; a key is printable ASCII only.
    let r = s
        .write("POST", "/pause", &[("Idempotency-Key", "a\tb")], "")
        .await;
    refused(&r, 400, "Idempotency-Key");

    // 422: out of range (checked here and by the engine), an unknown kind.
    for (path, method, text, words) in [
        (
            "/crews",
            "POST",
            r#"{"count": 0}"#,
            "count: 0 is out of range (1..=1000)",
        ),
        (
            "/crews",
            "POST",
            r#"{"count": 1001}"#,
            "count: 1001 is out of range (1..=1000)",
        ),
        (
            "/sensors",
            "POST",
            r#"{"count": -1}"#,
            "count: -1 is out of range (1..=1000)",
        ),
        (
            "/speed",
            "PUT",
            r#"{"speed": 0}"#,
            "is not a speed in range (0.001..=1000000, or max)",
        ),
        ("/sensors", "POST", r#"{"kind": "barometer"}"#, "barometer"),
    ] {
        let r = s.write(method, path, &[], text).await;
        refused(&r, 422, words);
    }
    let r = s.write("DELETE", "/crews?count=0", &[], "").await;
    refused(&r, 422, "count: 0 is out of range");

    // 404 an unknown sensor; 409 the last crew.
    let r = s.write("DELETE", "/sensors/no-such-sensor", &[], "").await;
    refused(&r, 404, "no sensor named 'no-such-sensor'");
    let r = s.write("DELETE", "/crews?count=3", &[], "").await;
    refused(&r, 409, "3 crews work now; the last crew stays");

    // 413 a body over 16 KB; 415 a body that is not JSON.
    let big = format!(r#"{{"count": 1, "pad": "{}"}}"#, "x".repeat(16 * 1024));
    let r = s.write("POST", "/crews", &[], &big).await;
    refused(&r, 413, "over 16 KB");
    let auth = format!("Bearer {token}");
    let plain = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "text/plain"),
    ];
    let r = request(s.addr, "POST", "/crews", &plain, r#"{"count": 1}"#).await;
    refused(&r, 415, "application/json");
    let r = request(s.addr, "POST", "/crews", &plain[..1], r#"{"count": 1}"#).await;
    refused(&r, 415, "application/json");

    // 405 a method the path does not answer, naming those it does.
    let r = s.write("PUT", "/crews", &[], "").await;
    refused(&r, 405, "only POST and DELETE are answered");
    assert_eq!(r.header("allow"), Some("POST, DELETE"));
    // A method the path does not answer is a 405 with a body too (GET on a write's path, POST
    // on a read's); a body on a read is refused.
    let r = s.write("GET", "/crews", &[], r#"{"count": 1}"#).await;
    refused(&r, 405, "only POST and DELETE are answered");
    let r = s.write("POST", "/status", &[], "{}").await;
    refused(&r, 405, "only GET is answered");
    let r = s.write("GET", "/sensors", &[], "{}").await;
    refused(&r, 413, "request bodies are refused here");

    // Nothing above changed the site.
    let config = s.json("/config").await;
    assert_eq!(
        (
            &config["crews"],
            &config["sensors"],
            &config["speed"],
            &config["paused"]
        ),
        (&json!(3), &json!(5), &json!(1.0), &json!(false))
    );
    s.stop().await;

    // 409 what the site's state refuses: crews unlimited.
    let mut c = quiet();
    c.engine.crews = Crews::Unlimited;
    let s = serve(c, None).await;
    let r = s.write("POST", "/crews", &[], "").await;
    refused(&r, 409, "crews are unlimited");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_idempotency_key_changes_nothing_twice() {
    let s = serve(quiet(), None).await;
    let key = [("Idempotency-Key", "add-two-crews-1")];
    let first = s.write("POST", "/crews", &key, r#"{"count": 2}"#).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(body(&first)["crews"], 5);
    config_shows(&s, "crews", json!(5)).await;
    for _ in 0..3 {
        let again = s.write("POST", "/crews", &key, r#"{"count": 2}"#).await;
        assert_eq!((again.status, &again.body), (first.status, &first.body));
    }
    // A refusal retried is the same refusal.
    let last = [("Idempotency-Key", "remove-all")];
    let refused_once = s.write("DELETE", "/crews?count=5", &last, "").await;
    let refused_again = s.write("DELETE", "/crews?count=5", &last, "").await;
    assert_eq!(refused_once.status, 409);
    assert_eq!(
        (refused_once.status, &refused_once.body),
        (refused_again.status, &refused_again.body)
    );
    // Another key is another command.
    let other = s
        .write(
            "POST",
            "/crews",
            &[("Idempotency-Key", "add-two-crews-2")],
            r#"{"count": 2}"#,
        )
        .await;
    assert_eq!(body(&other)["crews"], 7);
    config_shows(&s, "crews", json!(7)).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_write_and_auth_all_guards_reads() {
    let mut c = quiet();
    c.http_read_only = true;
    let s = serve(c, None).await;
    assert_eq!(s.token, None, "no token needed");
    for (method, path) in wallwatch::http::router::WRITE_ROUTES {
        let path = path.replace("{name}", "default-1");
        let r = request(
            s.addr,
            method,
            &path,
            &[("Content-Type", "application/json")],
            "{}",
        )
        .await;
        refused(&r, 405, "only GET is answered (the API is read-only)");
    }
    assert_eq!(s.get("/status").await.status, 200);
    assert_eq!(s.json("/config").await["crews"], 3);
    s.stop().await;

    let mut c = quiet();
    c.http_auth = HttpAuth::All;
    let s = serve(c, None).await;
    refused(&s.get("/status").await, 401, "token");
    let auth = format!("Bearer {}", s.token.clone().unwrap());
    let r = request(s.addr, "GET", "/status", &[("Authorization", &auth)], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.write("POST", "/pause", &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop().await;
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_writes_a_private_token_beside_its_socket_and_logs_writes_with_their_peer() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("site.sock");
    let mut serve = spawn(
        &[
            "serve",
            "--socket",
            socket.to_str().unwrap(),
            "--store",
            "memory:",
            "--day-seconds",
            "3600",
            "--http",
            "127.0.0.1:0",
        ],
        &[],
    );
    let line = serve.wait_for("HTTP API on http://");
    let addr: std::net::SocketAddr = line
        .rsplit("http://")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let token_file = dir.path().join("site.token");
    let said = serve.wait_for("token is in");
    assert_eq!(
        said,
        format!(
            "wallwatch: the HTTP API's token is in {} (Authorization: Bearer TOKEN)",
            token_file.display()
        )
    );
    assert_eq!(mode(&token_file), 0o600);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(token.len(), 64, "256 bits in hex");
    let auth = format!("Bearer {token}");
    let r = request(addr, "POST", "/pause", &[("Authorization", &auth)], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The engine's `control` line names the peer (the only client on 127.0.0.1).
    let logged = serve.wait_for("paused");
    assert!(logged.contains("control"), "{logged}");
    assert!(logged.contains("http 127.0.0.1:"), "{logged}");
    assert!(
        serve.seen().iter().all(|l| !l.contains(&token)),
        "the token is never logged"
    );
}

#[test]
fn run_writes_its_token_in_the_default_site_directory() {
    let runtime = tempfile::tempdir().unwrap();
    let mut run = spawn(
        &[
            "run",
            "--headless",
            "--store",
            "memory:",
            "--http",
            "127.0.0.1:0",
        ],
        &[("XDG_RUNTIME_DIR", runtime.path())],
    );
    let line = run.wait_for("HTTP API token file: ");
    let token_file = runtime.path().join("wallwatch/default.token");
    assert!(line.ends_with(&token_file.display().to_string()), "{line}");
    assert_eq!(mode(&token_file), 0o600);
    assert_eq!(mode(token_file.parent().unwrap()), 0o700);
}

#[test]
fn a_token_file_others_may_read_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.token");
    std::fs::write(&file, "correct-horse-battery-staple\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let base = ["run", "--headless", "--store", "memory:"];
    let out = Command::new(BIN)
        .args(base)
        .args(["--duration", "5s"])
        .args([
            "--http",
            "0.0.0.0:0",
            "--http-token-file",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("readable by other users"), "{err}");
    assert!(out.stdout.is_empty());
    // Read-only, nothing needs it private.
    let out = Command::new(BIN)
        .args(base)
        .args([
            "--duration",
            "100ms",
            "--http",
            "0.0.0.0:0",
            "--http-read-only",
        ])
        .args(["--http-token-file", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the binary with `args` and these environment variables.
fn spawn(args: &[&str], env: &[(&str, &std::path::Path)]) -> Running {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wallwatch"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Running::spawn(cmd)
}

/// `wallwatch query FILE PATH --crews N`: the JSON it prints.
fn query(file: &std::path::Path, path: &str, crews: &str) -> Value {
    let out = Command::new(BIN)
        .args(["query", file.to_str().unwrap(), path, "--crews", crews])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_put_as_text_or_json_answers_the_four_paths_as_query_does() {
    let s = serve(quiet(), None).await;
    let start = s.json("/config").await;
    assert_eq!(start["run"], 1);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("walls.txt");
    std::fs::write(&file, "21 25 28\n17\n0 30 5\n").unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let r = s
        .write(
            "PUT",
            "/wall?crews=2",
            &[("Content-Type", "text/plain")],
            "",
        )
        .await;
    refused(&r, 422, "no profiles");
    let r = request(
        s.addr,
        "PUT",
        "/wall?crews=2",
        &[
            (
                "Authorization",
                &format!("Bearer {}", s.token.as_deref().unwrap()),
            ),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        &text,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let v = body(&r);
    assert_eq!(
        (
            &v["outcome"],
            &v["run"],
            &v["profiles"],
            &v["sections"],
            &v["crews"]
        ),
        (
            &json!("wall_loaded"),
            &json!(2),
            &json!(3),
            &json!(7),
            &json!(2)
        )
    );
    let fingerprint = v["fingerprint"].clone();
    config_shows(&s, "run", json!(2)).await;
    let config = s.json("/config").await;
    assert_eq!(
        (
            &config["wall_fingerprint"],
            &config["profiles_count"],
            &config["sections"],
            &config["crews"]
        ),
        (&fingerprint, &json!(3), &json!(7), &json!(2))
    );
    // The site model (what every viewer draws) has the new wall.
    wait_until(LONG, || async {
        s.site.hub.with_model(|m| m.wall.wall.sections()) == 7
    })
    .await;
    for path in [
        "/profiles/1/days/1",
        "/profiles/3/days/2",
        "/profiles/2/overview/1",
        "/profiles/overview/3",
        "/profiles/overview",
    ] {
        assert_eq!(s.json(path).await, query(&file, path, "2"), "{path}");
    }

    // The peers' JSON shape, unlimited crews: run 3.
    let r = s
        .write(
            "PUT",
            "/wall",
            &[],
            r#"{"profiles": ["21 25 28", "17", "0 30 5"], "crews": "unlimited"}"#,
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        (body(&r)["run"].clone(), body(&r)["fingerprint"].clone()),
        (json!(3), fingerprint)
    );
    config_shows(&s, "crews", json!("unlimited")).await;
    for path in [
        "/profiles/1/days/1",
        "/profiles/overview/2",
        "/profiles/overview",
    ] {
        assert_eq!(
            s.json(path).await,
            query(&file, path, "unlimited"),
            "{path}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_wall_is_refused_and_changes_nothing() {
    let s = serve(quiet(), None).await;
    let start = s.json("/config").await;
    let put = |body: &'static str, ct: &'static str| {
        let token = format!("Bearer {}", s.token.as_deref().unwrap());
        async move {
            request(
                s.addr,
                "PUT",
                "/wall",
                &[("Authorization", &token), ("Content-Type", ct)],
                body,
            )
            .await
        }
    };
    // The same line:col as the CLI and `query`.
    refused(
        &put("1 2\n3 31\n", "text/plain").await,
        422,
        "2:3: '31' is not a height",
    );
    refused(
        &put(r#"{"profiles": ["5", "x"]}"#, "application/json").await,
        422,
        "2:1: ",
    );
    refused(
        &put(r#"{"profiles": ["5\n6"]}"#, "application/json").await,
        400,
        "profiles[0]: a profile is one line",
    );
    refused(
        &put(r#"{"profiles": [5]}"#, "application/json").await,
        400,
        "profiles[0]: 5 is not a string",
    );
    refused(
        &put(r#"{"crews": 2}"#, "application/json").await,
        400,
        "profiles: missing",
    );
    refused(
        &put(r#"{"profiles": ["5"], "crews": 0}"#, "application/json").await,
        422,
        "crews: 0 is out of range",
    );
    refused(
        &put(
            r#"{"profiles": ["5"], "crews": "many"}"#,
            "application/json",
        )
        .await,
        400,
        "crews: \"many\" is not a whole number",
    );
    refused(&put("<wall/>", "application/xml").await, 415, "text/plain");
    let r = s
        .write(
            "PUT",
            "/wall?crew=2",
            &[("Content-Type", "text/plain")],
            "5",
        )
        .await;
    refused(&r, 400, "unknown parameter 'crew'");
    let big = "1 ".repeat(600 * 1024);
    let token = format!("Bearer {}", s.token.as_deref().unwrap());
    let r = request(
        s.addr,
        "PUT",
        "/wall",
        &[("Authorization", &token), ("Content-Type", "text/plain")],
        &big,
    )
    .await;
    refused(&r, 413, "over 1024 KB");
    let r = request(
        s.addr,
        "PUT",
        "/wall",
        &[("Content-Type", "text/plain")],
        "5",
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Nothing changed: still run 1 of the wall it started with.
    let config = s.json("/config").await;
    assert_eq!(
        (&config["run"], &config["wall_fingerprint"]),
        (&json!(1), &start["wall_fingerprint"])
    );
    s.stop().await;
}
