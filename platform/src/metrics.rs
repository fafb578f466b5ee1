//! Prometheus counters, rendered in the text exposition format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Counters keyed by metric name and label set.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(String, String), u64>>,
}

impl Metrics {
    /// Add one to a counter with labels (`[("action", "click")]`).
    pub fn inc(&self, name: &str, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect::<Vec<_>>()
            .join(",");
        *self
            .counters
            .lock()
            .expect("metrics lock")
            .entry((name.to_string(), labels))
            .or_default() += 1;
    }

    /// Render every counter, plus the given gauges, in the Prometheus text format.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().expect("metrics lock");
        let mut last = "";
        for ((name, labels), value) in counters.iter() {
            if name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        let m = Metrics::default();
        m.inc(
            "bas_actions_total",
            &[("action", "click"), ("outcome", "ok")],
        );
        m.inc(
            "bas_actions_total",
            &[("action", "click"), ("outcome", "ok")],
        );
        let text = m.render(&[("bas_sessions_open", "Open sessions.", 3.0)]);
        assert!(
            text.contains("bas_actions_total{action=\"click\",outcome=\"ok\"} 2"),
            "{text}"
        );
        assert!(text.contains("bas_sessions_open 3"), "{text}");
    }
}
