//! Summaries of timed samples, for the benchmarks.

/// The `p` quantile (0.0..=1.0) of `samples`, nearest rank; sorts them in place.
pub fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_rank_of_sorted_samples() {
        let mut v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(super::percentile(&mut v, 0.5), 3.0);
        assert_eq!(super::percentile(&mut v, 0.0), 1.0);
        assert_eq!(super::percentile(&mut v, 1.0), 5.0);
    }
}
