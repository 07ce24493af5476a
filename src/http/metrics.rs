//! `GET /metrics`: Prometheus (OpenMetrics) text from an explicit `prometheus-client` registry
//! holding one collector, which reads the site's live figures at each scrape (nothing is copied
//! between scrapes, so nothing can disagree with `/status`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::Api;
use crate::engine::stats::Snapshot;
use crate::engine::{Gauges, NetworkStats, StoreWrites, Summary};
use crate::site::Hub;

/// The text's content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An international cubic yard in cubic metres (exactly 0.9144³).
const CUBIC_METERS_PER_CUBIC_YARD: f64 = 0.764_554_857_984;

/// Bucket bounds of the time histograms, in seconds: 10 µs to 10 s.
const SECONDS: [f64; 13] = [
    1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
];
/// Bucket bounds of rows per store write.
const ROWS: [f64; 10] = [
    1.0, 10.0, 100.0, 1_000.0, 4_096.0, 10_000.0, 50_000.0, 100_000.0, 500_000.0, 1e6,
];

/// The registry of one API.
pub fn registry(gauges: Gauges, hub: Arc<Hub>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SiteCollector { gauges, hub }));
    registry
}

pub async fn metrics(State(api): State<Arc<Api>>, _: super::model::NoParams) -> Response {
    let mut text = String::with_capacity(16 * 1024);
    match prometheus_client::encoding::text::encode(&mut text, &api.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(_) => super::error::ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be written",
        )
        .into_response(),
    }
}

struct SiteCollector {
    gauges: Gauges,
    hub: Arc<Hub>,
}

impl std::fmt::Debug for SiteCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SiteCollector")
    }
}

fn counter(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: u64,
) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, unit, c.metric_type())?)
}

fn gauge<N>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: N,
) -> std::fmt::Result
where
    ConstGauge<N>: EncodeMetric,
{
    let g = ConstGauge::new(v);
    g.encode(e.encode_descriptor(name, help, unit, g.metric_type())?)
}

/// A histogram from an engine snapshot: `scale` turns its values into the unit's (1e-9 for
/// nanoseconds into seconds). Counts at each bound are within one of the engine's buckets (~3 %).
fn histogram(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    s: &Snapshot,
    bounds: &[f64],
    scale: f64,
) -> std::fmt::Result {
    let total = s.count();
    let mut buckets = Vec::with_capacity(bounds.len() + 1);
    let mut below = 0;
    for &b in bounds {
        let at_most = s.count_at_most((b / scale) as u64);
        buckets.push((b, at_most - below));
        below = at_most;
    }
    buckets.push((f64::INFINITY, total - below));
    let mut m = e.encode_descriptor(name, help, unit, MetricType::Histogram)?;
    m.encode_histogram::<Vec<(String, String)>>(s.sum() as f64 * scale, total, &buckets, None)
}

impl Collector for SiteCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let summary = self.gauges.summary();
        let (net, waits) = self.gauges.network();
        let writes = self.gauges.store_writes();
        let e = &mut e;
        run_counters(e, &summary, &net, &writes)?;
        counter(
            e,
            "wallwatch_screen_rows_coalesced",
            "Rows left out of the site model's feed because it fell behind (every one was stored).",
            None,
            self.gauges.screen_rows_coalesced(),
        )?;
        run_gauges(e, &summary, &net)?;
        let values = self.site_gauges(e)?;
        histograms(e, &waits, &writes)?;
        sensor_values(e, values)
    }
}

impl SiteCollector {
    /// What the site model knows: sections done, sensors, crews, viewers. Returns each
    /// sensor's last value, read at the same moment.
    fn site_gauges(
        &self,
        e: &mut DescriptorEncoder,
    ) -> Result<Vec<(String, Option<i32>)>, std::fmt::Error> {
        let (done, sensors, crews, values) = self.hub.with_model(|m| {
            let values: Vec<(String, Option<i32>)> = m
                .sensors
                .iter()
                .map(|s| (s.info.name.clone(), s.last))
                .collect();
            (
                m.wall.finished.iter().sum::<usize>(),
                m.sensors.len(),
                m.crew_count(),
                values,
            )
        });
        gauge(
            e,
            "wallwatch_wall_sections_done",
            "Sections at 30 ft.",
            None,
            done as i64,
        )?;
        gauge(
            e,
            "wallwatch_sensors",
            "Sensors running.",
            None,
            sensors as i64,
        )?;
        gauge(
            e,
            "wallwatch_crews",
            "Crews on the site (one per section when unlimited).",
            None,
            crews as i64,
        )?;
        gauge(
            e,
            "wallwatch_viewers",
            "Viewers attached (the local dashboard counts as one).",
            None,
            self.hub.subscribers() as i64,
        )?;
        Ok(values)
    }
}

/// Each sensor's last value, labelled with its name.
fn sensor_values(
    e: &mut DescriptorEncoder,
    values: Vec<(String, Option<i32>)>,
) -> std::fmt::Result {
    let mut family = e.encode_descriptor(
        "wallwatch_sensor_value",
        "Each sensor's last value (-100..=100).",
        None,
        MetricType::Gauge,
    )?;
    for (name, last) in values {
        if let Some(v) = last {
            let labels = [("sensor", name.as_str())];
            family.encode_family(&labels)?.encode_gauge(&i64::from(v))?;
        }
    }
    Ok(())
}

/// The run's counters: rows made and stored, messages delivered, failed and retried writes.
fn run_counters(
    e: &mut DescriptorEncoder,
    summary: &Summary,
    net: &NetworkStats,
    writes: &StoreWrites,
) -> std::fmt::Result {
    let messages = Unit::Other("messages".into());
    counter(
        e,
        "wallwatch_readings_produced",
        "Readings made by the sensors this run.",
        None,
        summary.readings.produced,
    )?;
    counter(
        e,
        "wallwatch_readings_stored",
        "Readings written to the store this run.",
        None,
        summary.readings.stored,
    )?;
    counter(
        e,
        "wallwatch_crew_reports_produced",
        "Crew reports made this run (one per crew per day worked).",
        None,
        summary.crew_reports.produced,
    )?;
    counter(
        e,
        "wallwatch_crew_reports_stored",
        "Crew reports written to the store this run.",
        None,
        summary.crew_reports.stored,
    )?;
    counter(
        e,
        "wallwatch_network_delivered",
        "Messages the network delivered to the collector.",
        Some(&messages),
        net.delivered,
    )?;
    counter(
        e,
        "wallwatch_store_write_failures",
        "Store writes that failed (each is retried, keeping its batch).",
        None,
        writes.failures,
    )?;
    counter(
        e,
        "wallwatch_store_write_retries",
        "Store writes retried after a failure.",
        None,
        writes.retries,
    )?;
    Ok(())
}

/// The network and the wall now.
fn run_gauges(
    e: &mut DescriptorEncoder,
    summary: &Summary,
    net: &NetworkStats,
) -> std::fmt::Result {
    let messages = Unit::Other("messages".into());
    gauge(
        e,
        "wallwatch_network_in_flight",
        "Messages holding a network permit now.",
        Some(&messages),
        net.in_flight as i64,
    )?;
    gauge(
        e,
        "wallwatch_network_waiting",
        "Senders waiting for network permits now.",
        Some(&Unit::Other("senders".into())),
        net.waiting as i64,
    )?;
    gauge(
        e,
        "wallwatch_network_limit",
        "Messages the network carries at once (--network-limit).",
        Some(&messages),
        net.limit as i64,
    )?;
    gauge(
        e,
        "wallwatch_wall_day",
        "The last wall day worked.",
        None,
        summary.wall.day as i64,
    )?;
    gauge(
        e,
        "wallwatch_wall_ice",
        "Ice used on the wall to date (Prometheus wants base units: the wall's cubic yards \
             times 0.764554857984).",
        Some(&Unit::Other("cubic_meters".into())),
        summary.wall.ice_to_date as f64 * CUBIC_METERS_PER_CUBIC_YARD,
    )?;
    gauge(
        e,
        "wallwatch_wall_cost",
        "Gold Dragons spent on the wall to date.",
        Some(&Unit::Other("dragons".into())),
        summary.wall.cost_to_date as i64,
    )?;
    Ok(())
}

/// Network waits, store write durations and rows per write.
fn histograms(
    e: &mut DescriptorEncoder,
    waits: &Snapshot,
    writes: &StoreWrites,
) -> std::fmt::Result {
    histogram(
        e,
        "wallwatch_network_wait",
        "Each packet's wait for its network permits.",
        Some(&Unit::Seconds),
        waits,
        &SECONDS,
        1e-9,
    )?;
    histogram(
        e,
        "wallwatch_store_write_duration",
        "Each store write's duration, failed ones included.",
        Some(&Unit::Seconds),
        &writes.durations,
        &SECONDS,
        1e-9,
    )?;
    histogram(
        e,
        "wallwatch_store_write_batch",
        "Rows per store write (batches queued behind a write are merged into the next).",
        Some(&Unit::Other("rows".into())),
        &writes.rows,
        &ROWS,
        1.0,
    )?;
    Ok(())
}
