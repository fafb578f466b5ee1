//! The cluster's series in `/metrics`: on a control plane the live workers with their sessions
//! and free slots, calls in flight, routed-call latency and failovers; on a worker the commands
//! it ran, and its drains and the sessions they moved.

use crate::registry::LiveWorker;
use platform::telemetry::Telemetry;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use std::time::Duration;

/// A worker's id.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkerLabel {
    /// Its id.
    pub worker: String,
}

/// A routed call's name and outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// `execute`, `context`, `start`...
    pub call: String,
    /// `ok` or the error code.
    pub outcome: String,
}

fn buckets() -> Histogram {
    // 0.1 ms to about 26 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

/// A control plane's series.
#[derive(Clone)]
pub struct PlaneMetrics {
    workers_alive: Gauge,
    sessions: Family<WorkerLabel, Gauge>,
    free_slots: Family<WorkerLabel, Gauge>,
    in_flight: Gauge,
    calls: Family<CallLabels, Histogram, fn() -> Histogram>,
    failovers: Counter,
}

impl PlaneMetrics {
    /// Registered in `telemetry`.
    pub fn new(telemetry: &Telemetry) -> Self {
        let m = Self {
            workers_alive: Gauge::default(),
            sessions: Family::default(),
            free_slots: Family::default(),
            in_flight: Gauge::default(),
            calls: Family::new_with_constructor(buckets),
            failovers: Counter::default(),
        };
        telemetry.register(
            "bas_cluster_workers_alive",
            "Engine workers with a current lease.",
            m.workers_alive.clone(),
        );
        telemetry.register(
            "bas_cluster_worker_sessions",
            "Sessions placed on each live worker.",
            m.sessions.clone(),
        );
        telemetry.register(
            "bas_cluster_worker_free_slots",
            "Free session slots of each live worker.",
            m.free_slots.clone(),
        );
        telemetry.register(
            "bas_cluster_calls_in_flight",
            "Routed calls waiting for a worker's answer.",
            m.in_flight.clone(),
        );
        telemetry.register(
            "bas_cluster_routed_call_duration_seconds",
            "Routed session calls, from sending to the answer, by call and outcome.",
            m.calls.clone(),
        );
        telemetry.register(
            "bas_cluster_worker_failovers",
            "Dead workers whose sessions this control plane failed.",
            m.failovers.clone(),
        );
        m
    }

    /// The live workers as last read.
    pub fn workers(&self, live: &[LiveWorker]) {
        self.workers_alive.set(live.len() as i64);
        self.sessions.clear();
        self.free_slots.clear();
        for w in live {
            let label = WorkerLabel {
                worker: w.info.id.clone(),
            };
            self.sessions.get_or_create(&label).set(w.sessions as i64);
            self.free_slots
                .get_or_create(&label)
                .set(w.free_slots as i64);
        }
    }

    /// A call was sent; the returned guard counts it in flight until dropped.
    pub fn sending(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// A routed call answered (or failed) after `took`.
    pub fn answered(&self, call: &str, code: Option<platform::Code>, took: Duration) {
        let outcome = code.map(|c| c.to_string()).unwrap_or_else(|| "ok".into());
        self.calls
            .get_or_create(&CallLabels {
                call: call.into(),
                outcome,
            })
            .observe(took.as_secs_f64());
    }

    /// A dead worker's sessions were failed.
    pub fn failed_over(&self) {
        self.failovers.inc();
    }
}

/// Counts a call in flight while it lives.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A worker's series.
#[derive(Clone)]
pub struct WorkerMetrics {
    commands: Family<CallLabels, Counter>,
    drains: Counter,
    moved: Counter,
}

impl WorkerMetrics {
    /// Registered in `telemetry`.
    pub fn new(telemetry: &Telemetry) -> Self {
        let m = Self {
            commands: Family::default(),
            drains: Counter::default(),
            moved: Counter::default(),
        };
        telemetry.register(
            "bas_cluster_commands",
            "Routed commands this worker ran, by call and outcome.",
            m.commands.clone(),
        );
        telemetry.register(
            "bas_cluster_drains",
            "Drains of this worker (SIGTERM).",
            m.drains.clone(),
        );
        telemetry.register(
            "bas_cluster_sessions_moved",
            "Sessions this worker handed to another worker.",
            m.moved.clone(),
        );
        m
    }

    /// A command ran.
    pub fn ran(&self, call: &str, code: Option<platform::Code>) {
        let outcome = code.map(|c| c.to_string()).unwrap_or_else(|| "ok".into());
        self.commands
            .get_or_create(&CallLabels {
                call: call.into(),
                outcome,
            })
            .inc();
    }

    /// A drain started.
    pub fn draining(&self) {
        self.drains.inc();
    }

    /// A session moved away.
    pub fn moved(&self) {
        self.moved.inc();
    }
}
