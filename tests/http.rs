//! The HTTP API over real HTTP against a site served in this process: every route and error,
//! the wall's answers against `query` (a property test), live crew changes, metrics, paging,
//! and the OpenAPI file against the router.

#[path = "support/example_config.rs"]
mod example_config;
#[path = "support/http.rs"]
mod http;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use example_config::on_memory_store;
use http::{get, raw, serve, wait_until};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde_json::Value;
use wallwatch::engine::Command;
use wallwatch::units::Speed;
use wallwatch::wall::query::Query;
use wallwatch::wall::{Crews, Wall};

const LONG: Duration = Duration::from_secs(60);

/// Who asks in these tests.
fn asker() -> wallwatch::engine::Asker {
    wallwatch::engine::Asker("test".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_and_error() {
    let mut c = on_memory_store();
    c.engine.crews = Crews::Limited(3);
    c.engine.speed = Speed::Factor(10.0);
    let s = serve(c, None).await;
    wait_until(LONG, || async {
        s.engine.counters().crew_reports_stored >= 3
    })
    .await;

    // The four wall paths, day 1 already worked.
    assert_eq!(
        s.get("/profiles/1/days/1").await.body,
        r#"{"profile":1,"day":1,"ice_amount":585}"#
    );
    assert_eq!(
        s.get("/profiles/1/overview/1").await.body,
        r#"{"profile":1,"day":1,"cost":1111500}"#
    );
    assert_eq!(
        s.get("/profiles/overview/30").await.body,
        r#"{"day":30,"cost":31863000}"#
    );
    let total = s.get("/profiles/overview").await;
    assert_eq!(total.status, 200);
    assert_eq!(total.header("content-type"), Some("application/json"));
    assert_eq!(total.body, r#"{"day":null,"cost":32233500}"#);
    // One trailing slash, as the CLI allows.
    assert_eq!(s.get("/profiles/overview/").await.body, total.body);

    // Errors: status, one JSON object, the CLI's words.
    let cli = |p: &str| Query::parse(p).unwrap_err().to_string();
    let unknown = |p: &str| {
        let routes = wallwatch::http::routes::in_words();
        format!("unknown path '{p}' (the API answers {routes})")
    };
    for (path, status, message) in [
        ("/nope", 404, unknown("/nope")),
        ("/profiles", 404, unknown("/profiles")),
        ("/profiles/1/weeks/1", 404, unknown("/profiles/1/weeks/1")),
        ("/profiles/x/days/1", 400, cli("/profiles/x/days/1")),
        ("/profiles/1/days/-1", 400, cli("/profiles/1/days/-1")),
        (
            "/profiles/1/overview/99999999999999999999999",
            400,
            cli("/profiles/1/overview/99999999999999999999999"),
        ),
        (
            "/profiles/1/days/0",
            400,
            "day 0 does not exist (days start at 1)".into(),
        ),
        (
            "/profiles/overview/0",
            400,
            "day 0 does not exist (days start at 1)".into(),
        ),
        (
            "/profiles/4/days/1",
            404,
            "profile 4 does not exist (the wall has 3 profiles)".into(),
        ),
        (
            "/profiles/0/overview/2",
            404,
            "profile 0 does not exist (the wall has 3 profiles)".into(),
        ),
        (
            "/readings?limit=0",
            400,
            "limit: '0' is not a number in range (1..=10000)".into(),
        ),
        (
            "/readings?limit=10001",
            400,
            "limit: '10001' is not a number in range (1..=10000)".into(),
        ),
        (
            "/readings?after_id=-1",
            400,
            "after_id: '-1' is not a number in range (0..=18446744073709551615)".into(),
        ),
        (
            "/readings?afterid=3",
            400,
            "unknown parameter 'afterid' (expected sensor, after_id, limit)".into(),
        ),
        (
            "/crews/log?from_day=0",
            400,
            "from_day: '0' is not a number in range (1..=18446744073709551615)".into(),
        ),
        ("/%1b%5b2J", 404, unknown("/\\u{1b}[2J")),
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        if message.starts_with("unknown path") && status == 404 {
            // An unknown path names every route (see tests/web_page.rs).
            let routes = wallwatch::http::routes::listing();
            assert_eq!(
                v,
                serde_json::json!({ "error": message, "routes": routes }),
                "{path}"
            );
        } else {
            assert_eq!(v, serde_json::json!({ "error": message }), "{path}");
        }
    }

    // Not a write: other methods are refused (405, with a body too), a body on a GET is refused.
    let post = raw(
        s.addr,
        "POST /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
    )
    .await;
    assert_eq!(post.status, 405, "{}", post.body);
    let delete = raw(
        s.addr,
        "DELETE /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(delete.status, 405, "{}", delete.body);
    assert!(delete.body.contains("only GET"), "{}", delete.body);
    let chunked = raw(
        s.addr,
        "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(chunked.status, 413);

    // The site's own routes.
    let status = s.json("/status").await;
    for key in [
        "readings",
        "crew_reports",
        "network",
        "wall",
        "store",
        "store_rows",
        "viewers",
        "viewer_resnapshots",
        "uptime_s",
    ] {
        assert!(status.get(key).is_some(), "{key} in {status}");
    }
    assert!(status["wall"]["day"].as_u64().unwrap() >= 1);
    let sensors = s.json("/sensors").await;
    let list = sensors["sensors"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[0]["name"], "sensor-1");
    assert_eq!(list[0]["kind"], "default");
    for key in ["last", "min", "avg", "max", "count"] {
        assert!(list[0].get(key).is_some(), "{key}");
    }
    let page = s.json("/readings?limit=2&sensor=sensor-2").await;
    let readings = page["readings"].as_array().unwrap();
    assert!(readings.len() <= 2);
    assert!(readings.iter().all(|r| r["sensor"] == "sensor-2"));
    let log = s.json("/crews/log?from_day=1&to_day=1").await;
    assert_eq!(log["from_day"], 1);
    assert_eq!(log["truncated"], false);
    let lines: Vec<&str> = log["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "day 1 · crew 1 · profile 1 section 1 · 21 → 22 ft",
            "day 1 · crew 2 · profile 1 section 2 · 25 → 26 ft",
            "day 1 · crew 3 · profile 1 section 3 · 28 → 29 ft",
        ]
    );
    let none = s.json("/crews/log?from_day=3&to_day=2").await;
    assert_eq!(none["reports"], serde_json::json!([]));
    let settings = s.json("/config").await;
    assert_eq!(settings["crews"], 3);
    assert_eq!(settings["store"], "memory:");
    assert_eq!(settings["network_limit"], 5);
    let health = s.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let metrics = s.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.ends_with("# EOF\n"));
    s.stop().await;
}

/// A path with its digits %-escaped means the same path, and a route that takes no query
/// parameters refuses one as the others refuse an unknown one (both were answered otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escaped_paths_are_decoded_and_unknown_parameters_refused() {
    let s = serve(on_memory_store(), None).await;
    let plain = s.get("/profiles/1/days/1").await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    for path in [
        "/profiles/%31/days/1",
        "/profiles/1/days/%31",
        "/profiles/%6Fverview/1",
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    assert_eq!(s.get("/profiles/%31/days/1").await.body, plain.body);
    assert_eq!(
        s.get("/profiles/%6Fverview").await.body,
        s.get("/profiles/overview").await.body
    );
    let none = "this path takes none";
    for (path, status, message) in [
        (
            "/status?verbose=1",
            400,
            format!("unknown parameter 'verbose' ({none})"),
        ),
        (
            "/sensors?x=1",
            400,
            format!("unknown parameter 'x' ({none})"),
        ),
        (
            "/config?store",
            400,
            format!("unknown parameter 'store' ({none})"),
        ),
        (
            "/healthz?x=",
            400,
            format!("unknown parameter 'x' ({none})"),
        ),
        (
            "/metrics?x=1",
            400,
            format!("unknown parameter 'x' ({none})"),
        ),
        (
            "/profiles/overview?crews=3",
            400,
            format!("unknown parameter 'crews' ({none})"),
        ),
        (
            "/profiles/%3/days/1",
            400,
            "path '/profiles/%3/days/1' has a malformed %-escape".to_string(),
        ),
        (
            "/profiles/1%2F2/days/1",
            400,
            "path '/profiles/1%2F2/days/1' has a malformed %-escape".to_string(),
        ),
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v, serde_json::json!({ "error": message }), "{path}");
    }
    // An empty query is no parameter.
    assert_eq!(s.get("/status?").await.status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_redacts_a_store_password() {
    let mut c = on_memory_store();
    c.engine.store = "postgres://wall:secret@127.0.0.1:1/db".parse().unwrap();
    let v = wallwatch::cmd::services::http_settings(&c).shown;
    assert_eq!(v["store"], "postgres://wall:***@127.0.0.1:1/db");
    assert!(!v.to_string().contains("secret"));
}

/// Every path the CLI would answer, for each day up to past the end, as JSON text.
async fn all_answers(s: &http::Served, wall: &Wall, last: u64) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut paths = vec!["/profiles/overview".to_string()];
    for d in 1..=last {
        paths.push(format!("/profiles/overview/{d}"));
        for p in 1..=wall.profiles() {
            paths.push(format!("/profiles/{p}/days/{d}"));
            paths.push(format!("/profiles/{p}/overview/{d}"));
        }
    }
    for path in paths {
        let r = s.get(&path).await;
        out.insert(path, format!("{} {}", r.status, r.body));
    }
    out
}

/// What `wallwatch query FILE PATH --crews N` prints (the same function `main` calls), or its
/// error line.
fn cli_answer(text: &str, path: &str, crews: Crews) -> String {
    let q = match Query::parse(path) {
        Ok(q) => q,
        Err(e) => return e.to_string(),
    };
    match q.answer_file(text.as_bytes(), 2000, crews).unwrap() {
        Ok(a) => serde_json::to_string(&a).unwrap(),
        Err(e) => e.to_string(),
    }
}

fn walls() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(0u8..=30, 1..6), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        rng_seed: RngSeed::Fixed(1414),
        ..ProptestConfig::default()
    })]

    /// With no crew changes the HTTP answer is `query`'s on random days: before day 1 is worked
    /// (all projection), and once the wall is complete (all history).
    #[test]
    fn http_answers_equal_query_on_random_walls(
        profiles in walls(),
        crews in prop_oneof![Just(Crews::Unlimited), (1u32..5).prop_map(Crews::Limited)],
        days in prop::collection::vec(1u64..80, 6),
        profile_pick in prop::collection::vec(1u64..5, 6),
    ) {
        let text: String = profiles
            .iter()
            .map(|p| p.iter().map(u8::to_string).collect::<Vec<_>>().join(" ") + "\n")
            .collect();
        let wall = Wall::parse(text.as_bytes(), 2000).unwrap();
        let mut c = on_memory_store();
        c.engine.wall = Arc::new(wall);
        c.engine.crews = crews;
        c.engine.sensors = 0;
        c.engine.speed = Speed::Factor(1.0);
        c.engine.day_seconds = 3600.0;
        runtime().block_on(async {
            let s = serve(c, None).await;
            let mut paths = vec!["/profiles/overview".to_string()];
            for (d, p) in days.iter().zip(&profile_pick) {
                paths.push(format!("/profiles/{p}/days/{d}"));
                paths.push(format!("/profiles/{p}/overview/{d}"));
                paths.push(format!("/profiles/overview/{d}"));
            }
            let ask = |s: &http::Served, paths: Vec<String>| {
                let addr = s.addr;
                async move {
                    let mut got = Vec::new();
                    for path in paths {
                        let r = get(addr, &path).await;
                        let body = match serde_json::from_str::<Value>(&r.body) {
                            Ok(Value::Object(m)) if m.contains_key("error") => {
                                m["error"].as_str().unwrap().to_string()
                            }
                            _ => r.body,
                        };
                        got.push((path, body));
                    }
                    got
                }
            };
            assert_eq!(s.engine.progress().day, 0);
            let before = ask(&s, paths.clone()).await;
            s.engine.command_sender().send(Command::SetSpeed(Speed::Max), asker()).await.unwrap();
            wait_until(LONG, || async { s.engine.progress().complete }).await;
            let after = ask(&s, paths).await;
            s.stop().await;
            for (path, body) in before.into_iter().chain(after) {
                assert_eq!(body, cli_answer(&text, &path, crews), "{path}");
            }
        });
    }
}

/// After crews are added live, past days are what the stored crew reports say, and the
/// projection made while paused is what then happens with no further change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_crew_changes_past_days_from_reports_and_a_consistent_projection() {
    let mut c = on_memory_store();
    c.engine.crews = Crews::Limited(1);
    c.engine.sensors = 0;
    c.engine.speed = Speed::Factor(1.0);
    c.engine.day_seconds = 0.05;
    let s = serve(c, None).await;
    let commands = s.engine.command_sender();
    wait_until(LONG, || async { s.engine.progress().day >= 3 }).await;
    for _ in 0..2 {
        assert!(commands.ask(Command::AddCrews(1), asker()).await.is_ok());
    }
    wait_until(LONG, || async { s.engine.progress().day >= 8 }).await;
    assert!(commands.ask(Command::RemoveCrews(1), asker()).await.is_ok());
    wait_until(LONG, || async { s.engine.progress().day >= 12 }).await;
    assert_eq!(
        commands.ask(Command::Pause, asker()).await,
        Ok(wallwatch::engine::Outcome::Paused { paused: true })
    );
    // /status and /config show the live crews, sensors, speed and pause, not the start-up
    // ones; the screen feed's internal counter is on /metrics, not in /status.
    let (status, config) = (s.json("/status").await, s.json("/config").await);
    for live in [&status, &config] {
        assert_eq!(
            (&live["crews"], &live["sensors"], &live["paused"]),
            (&2.into(), &0.into(), &true.into()),
            "{live}"
        );
        assert_eq!(live["speed"], 1.0, "{live}");
    }
    assert!(status.get("screen_rows_coalesced").is_none(), "{status}");
    assert!(
        s.get("/metrics")
            .await
            .body
            .contains("\nwallwatch_screen_rows_coalesced_total "),
        "the counter is on /metrics"
    );
    // Everything reported is stored.
    wait_until(LONG, || async {
        let st = s.json("/status").await;
        st["crew_reports"]["produced"] == st["crew_reports"]["stored"]
    })
    .await;
    let day = s.engine.progress().day;
    let wall =
        wallwatch::wall::Wall::parse(wallwatch::wall::EXAMPLE_PROFILES.as_bytes(), 2000).unwrap();
    let log = s.json(&format!("/crews/log?from_day=1&to_day={day}")).await;
    let mut feet: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut crews_seen = BTreeSet::new();
    for r in log["reports"].as_array().unwrap() {
        crews_seen.insert(r["crew"].as_u64().unwrap());
        if let Some(p) = r["profile"].as_u64() {
            *feet.entry((p, r["day"].as_u64().unwrap())).or_default() += 1;
        }
    }
    assert_eq!(crews_seen, BTreeSet::from([1, 2, 3]));
    let mut cost = 0;
    for d in 1..=day {
        let mut day_ice = 0;
        for p in 1..=3u64 {
            let f = feet.get(&(p, d)).copied().unwrap_or(0);
            let got = s.json(&format!("/profiles/{p}/days/{d}")).await;
            assert_eq!(
                got["ice_amount"].as_u64().unwrap(),
                f * 195,
                "profile {p} day {d}"
            );
            day_ice += f * 195;
        }
        cost += day_ice * 1900;
        let got = s.json(&format!("/profiles/overview/{d}")).await;
        assert_eq!(got["cost"].as_u64().unwrap(), cost, "day {d}");
    }
    // The projection while paused, then the same days as they happen.
    let horizon = 100;
    let projected = all_answers(&s, &wall, horizon).await;
    assert_eq!(
        projected["/profiles/overview"],
        r#"200 {"day":null,"cost":32233500}"#
    );
    commands
        .send(Command::SetSpeed(Speed::Max), asker())
        .await
        .unwrap();
    commands.send(Command::Resume, asker()).await.unwrap();
    wait_until(LONG, || async { s.engine.progress().complete }).await;
    let happened = all_answers(&s, &wall, horizon).await;
    assert_eq!(projected, happened);
    s.stop().await;
}

/// One line of Prometheus text: a name, labels, a number.
fn sample(line: &str) -> Option<(String, f64)> {
    let (series, value) = line.rsplit_once(' ')?;
    let name_end = series.find('{').unwrap_or(series.len());
    let name = &series[..name_end];
    let valid = !name.is_empty()
        && name.chars().enumerate().all(|(i, c)| {
            c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
        });
    let labels_ok = name_end == series.len() || series.ends_with('}');
    let v = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().ok()?,
    };
    (valid && labels_ok).then(|| (series.to_string(), v))
}

fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            types.insert(name.to_string(), kind.to_string());
        } else if line.starts_with("# HELP ") || line.starts_with("# UNIT ") || line == "# EOF" {
        } else {
            let (series, v) = sample(line).unwrap_or_else(|| panic!("not a sample: {line:?}"));
            assert!(series.starts_with("wallwatch_"), "{line}");
            samples.insert(series, v);
        }
    }
    for (name, kind) in &types {
        assert!(name.starts_with("wallwatch_"));
        let suffix = match kind.as_str() {
            "counter" => "_total",
            "histogram" => "_count",
            _ => "",
        };
        let key = format!("{name}{suffix}");
        assert!(
            samples
                .keys()
                .any(|k| k == &key || k.starts_with(&format!("{key}{{"))),
            "{key} has samples"
        );
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text_and_counters_move() {
    let mut c = on_memory_store();
    c.engine.speed = Speed::Factor(50.0);
    let s = serve(c, None).await;
    wait_until(LONG, || async { s.engine.counters().readings_stored > 0 }).await;
    let first = parse_metrics(&s.get("/metrics").await.body);
    let r = s.get("/metrics").await;
    assert_eq!(
        r.header("content-type"),
        Some(wallwatch::http::metrics::CONTENT_TYPE)
    );
    let produced = first["wallwatch_readings_produced_total"];
    wait_until(LONG, || async {
        let now = parse_metrics(&s.get("/metrics").await.body);
        now["wallwatch_readings_produced_total"] > produced
            && now["wallwatch_readings_stored_total"] > first["wallwatch_readings_stored_total"]
            && now["wallwatch_network_delivered_messages_total"]
                > first["wallwatch_network_delivered_messages_total"]
            && now["wallwatch_crew_reports_stored_total"] >= 3.0
    })
    .await;
    let m = parse_metrics(&s.get("/metrics").await.body);
    assert_eq!(m["wallwatch_network_limit_messages"], 5.0);
    assert_eq!(m["wallwatch_sensors"], 5.0);
    assert_eq!(m["wallwatch_crews"], 3.0);
    let cost = m["wallwatch_wall_cost_dragons"];
    let ice = m["wallwatch_wall_ice_cubic_meters"];
    assert!(cost >= 1_111_500.0, "day 1 at least: {cost}");
    // Both from the same feet raised: 1,900 Dragons a cubic yard, 0.764554857984 m³ a yard.
    let yards = cost / 1_900.0;
    assert!(
        (ice - yards * 0.764_554_857_984).abs() < 1e-6 * ice,
        "{ice} m³, {yards} yd³"
    );
    for i in 1..=5 {
        let v = m[&format!("wallwatch_sensor_value{{sensor=\"sensor-{i}\"}}")];
        assert!((-100.0..=100.0).contains(&v));
    }
    // Histograms: cumulative buckets ending in +Inf = count.
    for h in [
        "wallwatch_network_wait_seconds",
        "wallwatch_store_write_duration_seconds",
        "wallwatch_store_write_batch_rows",
    ] {
        let count = m[&format!("{h}_count")];
        assert!(count > 0.0, "{h}");
        assert_eq!(m[&format!("{h}_bucket{{le=\"+Inf\"}}")], count, "{h}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_readings_returns_every_stored_reading_once_in_order() {
    let mut c = on_memory_store();
    c.engine.speed = Speed::Max;
    c.engine.sensors = 7;
    c.engine.max_readings = Some(5_000);
    let s = serve(c, None).await;
    wait_until(LONG, || async {
        let n = s.engine.counters();
        n.readings_stored == 5_000
    })
    .await;
    for (filter, every) in [("", true), ("&sensor=sensor-3", false)] {
        let mut after = 0;
        let mut ids = Vec::new();
        loop {
            let page = s
                .json(&format!("/readings?after_id={after}&limit=777{filter}"))
                .await;
            let readings = page["readings"].as_array().unwrap();
            if readings.is_empty() {
                assert_eq!(page["next_after_id"], after);
                break;
            }
            assert!(readings.len() <= 777);
            for r in readings {
                if !filter.is_empty() {
                    assert_eq!(r["sensor"], "sensor-3");
                }
                ids.push(r["id"].as_u64().unwrap());
            }
            after = page["next_after_id"].as_u64().unwrap();
            assert_eq!(after, *ids.last().unwrap());
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, each once");
        if every {
            assert_eq!(ids, (1..=5_000).collect::<Vec<u64>>());
        } else {
            assert!(!ids.is_empty() && ids.len() < 5_000);
        }
    }
    // The default page is 1,000.
    let page = s.json("/readings").await;
    assert_eq!(page["readings"].as_array().unwrap().len(), 1_000);
    assert_eq!(page["next_after_id"], 1_000);
    s.stop().await;
}

/// A connection that sends nothing is closed after the idle timeout (paused clock).
#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_closed() {
    use tokio::io::AsyncReadExt;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = wallwatch::http::listener::Limited::new(tcp, 1, Duration::from_secs(30));
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(31), idle.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "closed by the server within its idle timeout");
    assert!(buf.is_empty());
}

/// The router's routes are exactly the paths of `assets/openapi.yaml`, each with its methods:
/// GET for [`ROUTES`], and each write of [`WRITE_ROUTES`] with the bearer scheme.
#[test]
fn openapi_describes_every_route() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/openapi.yaml"))
        .unwrap();
    let mut in_paths = false;
    let mut paths = BTreeMap::new();
    let mut current = None;
    for line in yaml.lines() {
        if line == "paths:" {
            in_paths = true;
            continue;
        }
        if in_paths && !line.starts_with(' ') && !line.is_empty() {
            in_paths = false;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            let p = format!("/{}", p.trim_end_matches(':'));
            paths.insert(p.clone(), BTreeSet::new());
            current = Some(p);
        } else if let Some(m) = line.strip_prefix("    ")
            && !m.starts_with(' ')
            && let Some(c) = &current
        {
            paths
                .get_mut(c)
                .unwrap()
                .insert(m.trim_end_matches(':').to_string());
        }
    }
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in wallwatch::http::router::ROUTES {
        routes
            .entry(r.to_string())
            .or_default()
            .insert("get".into());
    }
    for (method, r) in wallwatch::http::router::WRITE_ROUTES {
        routes
            .entry(r.to_string())
            .or_default()
            .insert(method.to_lowercase());
    }
    assert_eq!(
        paths.keys().cloned().collect::<BTreeSet<_>>(),
        routes.keys().cloned().collect::<BTreeSet<_>>()
    );
    for (p, methods) in &paths {
        let documented: BTreeSet<String> = methods
            .iter()
            .filter(|m| *m != "parameters")
            .cloned()
            .collect();
        assert_eq!(documented, routes[p], "{p}");
    }
    // Each write names the bearer scheme.
    let scheme =
        yaml.find("  securitySchemes:\n    bearer:\n      type: http\n      scheme: bearer");
    assert!(scheme.is_some(), "a bearer security scheme");
    let writes = wallwatch::http::router::WRITE_ROUTES.len();
    assert_eq!(
        yaml.matches("      security:\n        - bearer: []")
            .count(),
        writes
    );
}

/// `POST /sensors`'s `kind` lists exactly the kinds a site makes (null for the run's kinds), so
/// a kind the file allows is never refused as unknown.
#[test]
fn openapi_lists_every_sensor_kind() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/openapi.yaml"))
        .unwrap();
    let kinds = format!("enum: [{}, null]", wallwatch::sensors::KINDS.join(", "));
    assert_eq!(yaml.matches(&kinds).count(), 1, "{kinds}");
}

/// Names from the store reach a terminal (`curl`) as JSON escapes, never as raw control
/// characters, and read back the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_from_the_store_are_escaped() {
    use wallwatch::store::{Batch, MemoryStore, Store};
    let evil = "s\u{1b}]52;c;AAAA\u{7}\u{7f}x\u{9b}31m";
    let mut store = MemoryStore::new();
    store
        .append(&Batch {
            readings: vec![wallwatch::sensors::Reading {
                id: 1,
                timestamp: chrono::Utc::now(),
                sensor: evil.to_string(),
                value: 7,
                stored_at: None,
            }],
            crew_reports: Vec::new(),
        })
        .unwrap();
    let mut c = on_memory_store();
    c.engine.sensors = 0;
    let s = serve(c, Some(Box::new(store))).await;
    let r = s.get("/readings?limit=1").await;
    assert_eq!(r.status, 200);
    assert!(!r.body.chars().any(char::is_control), "{:?}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["readings"][0]["sensor"], evil);
    s.stop().await;
}

/// Connections past the bound wait to be accepted: with a bound of one, a second client is
/// answered only once the first has gone (paused clock).
#[tokio::test(start_paused = true)]
async fn connections_past_the_bound_wait() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = wallwatch::http::listener::Limited::new(tcp, 1, Duration::from_secs(30));
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let first = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The first is accepted (it holds the one permit) before the second connects.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut second = tokio::net::TcpStream::connect(addr).await.unwrap();
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_secs(10), second.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "answered while the first held the only connection"
    );
    drop(first);
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), second.read_to_end(&mut answer))
        .await
        .expect("answered once the first has gone")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("hi"),
        "{answer}"
    );
}

/// A client that sends its headers a byte every 2 s keeps the connection moving (the idle
/// timeout never fires), so only the header deadline closes it: at 10 s (paused clock).
#[tokio::test(start_paused = true)]
async fn headers_sent_a_byte_at_a_time_are_cut_off_at_the_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = wallwatch::http::listener::Limited::new(tcp, 4, Duration::from_secs(30));
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    let app = wallwatch::http::router::Guarded::over(app, Default::default());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(wallwatch::http::server::serve(listener, app, stopped));
    let slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = slow.into_split();
    let started = tokio::time::Instant::now();
    tokio::spawn(async move {
        for b in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if write.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), read.read_to_end(&mut buf))
        .await
        .expect("closed by the server");
    let took = started.elapsed();
    let deadline = wallwatch::http::server::HEADER_TIMEOUT;
    assert!(
        took >= deadline && took < deadline + Duration::from_secs(3),
        "closed after {took:?}"
    );
    // A prompt client on the same server is answered.
    let r = http::get(addr, "/").await;
    assert_eq!((r.status, r.body.as_str()), (200, "hi"));
}

/// 600 connections from one address (127.0.0.2) sending their headers a byte a second, as a
/// slow client does, held all 512 slots: every other client waited as long as they lasted.
/// Now that address holds at most its share (the rest are closed on arrival), the others are
/// answered at once, and the header deadline closes the slow ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_from_one_address_leave_the_api_to_the_others() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = serve(on_memory_store(), None).await;
    let mut slow = Vec::new();
    for _ in 0..600 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut c = socket.connect(s.addr).await.unwrap();
        c.write_all(b"GET /status HTTP/1.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(c);
    }
    let started = std::time::Instant::now();
    let (slow_tx, mut slow_rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        // A byte a second on each, until the server closes it, past the header deadline.
        for _ in 0..wallwatch::http::server::HEADER_TIMEOUT.as_secs() + 3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mut open = Vec::new();
            for mut c in slow {
                if c.write_all(b"a").await.is_ok() {
                    open.push(c);
                }
            }
            slow = open;
        }
        let _ = slow_tx.send(slow).await;
    });
    for path in ["/metrics", "/status", "/metrics", "/healthz", "/metrics"] {
        let asked = std::time::Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(5), s.get(path))
            .await
            .unwrap_or_else(|_| panic!("{path} not answered within 5 s beside the slow clients"));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(asked.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Past the header deadline every slow connection has been closed.
    let mut left = slow_rx.recv().await.unwrap();
    assert!(started.elapsed() > wallwatch::http::server::HEADER_TIMEOUT);
    for c in &mut left {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("closed by the server")
            .unwrap_or(0);
        assert_eq!(n, 0, "{}", String::from_utf8_lossy(&buf[..n]));
    }
    s.stop().await;
}

/// A request not answered in time is a 503 in the API's error shape (tower-http's timeout
/// answered an empty body).
#[tokio::test(start_paused = true)]
async fn a_request_not_answered_in_time_is_a_json_503() {
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            "late"
        }),
    );
    let app = wallwatch::http::router::Guarded::over(app, Default::default());
    let request = axum::http::Request::get("/slow")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.answer(request).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["error"],
        "not answered within 10 s (the site is busy); ask again"
    );
}
