//! Keyword scoring shared by stores without a full-text engine of their own: words of a text
//! as index terms, and BM25 over candidate passages.

use std::collections::{HashMap, HashSet};

/// The index terms of a text: lower-case words of two or more letters or digits, a plural `s`
/// dropped (`widgets` and `widget` match), each once.
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    words(text).filter(|w| seen.insert(w.clone())).collect()
}

/// Every word of a text as a term, in order, repeats kept.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 1)
        .map(|w| {
            let mut w = w.to_lowercase();
            if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
                w.pop();
            }
            w
        })
}

/// BM25's term-frequency saturation.
pub const K1: f64 = 1.2;
/// BM25's length normalisation.
pub const B: f64 = 0.75;

/// BM25's inverse document frequency of a term held by `df` of `n` passages.
pub fn idf(n: f64, df: f64) -> f64 {
    ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
}

/// BM25's weight of a term found `f` times in a passage of `len` words, where passages have
/// `avg_len` words on average (to be multiplied by the term's [`idf`]).
pub fn term_weight(f: f64, len: f64, avg_len: f64) -> f64 {
    f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len / avg_len.max(1.0)))
}

/// BM25 scores ([`K1`], [`B`]) of candidate passages for query terms. `candidates` are
/// every passage holding at least one query term (so document frequencies are exact), as
/// `(id, text)`; `total` is how many passages the search covers.
pub fn bm25(query: &[String], candidates: &[(String, String)], total: u64) -> Vec<(String, f64)> {
    let query: HashSet<&str> = query.iter().map(String::as_str).collect();
    let docs: Vec<(&str, HashMap<String, u32>, usize)> = candidates
        .iter()
        .map(|(id, text)| {
            let mut tf: HashMap<String, u32> = HashMap::new();
            let mut len = 0;
            for w in words(text) {
                len += 1;
                if query.contains(w.as_str()) {
                    *tf.entry(w).or_default() += 1;
                }
            }
            (id.as_str(), tf, len)
        })
        .collect();
    if docs.is_empty() {
        return Vec::new();
    }
    let avg_len = docs.iter().map(|d| d.2).sum::<usize>() as f64 / docs.len() as f64;
    let n = total.max(docs.len() as u64) as f64;
    let mut df: HashMap<&str, f64> = HashMap::new();
    for (_, tf, _) in &docs {
        for t in tf.keys() {
            if let Some(q) = query.get(t.as_str()) {
                *df.entry(q).or_default() += 1.0;
            }
        }
    }
    let mut scored: Vec<(String, f64)> = docs
        .iter()
        .filter(|(_, tf, _)| !tf.is_empty())
        .map(|(id, tf, len)| {
            let score = tf
                .iter()
                .map(|(t, &f)| {
                    let d = df.get(t.as_str()).copied().unwrap_or(1.0);
                    idf(n, d) * term_weight(f as f64, *len as f64, avg_len)
                })
                .sum();
            (id.to_string(), score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_lowercase_words_with_plurals_folded() {
        assert_eq!(
            terms("Widgets, widget! a C++ class-LESS 42"),
            vec!["widget", "class", "less", "42"]
        );
    }

    #[test]
    fn rarer_and_repeated_terms_score_higher() {
        let q = terms("rotor widget");
        let c = vec![
            ("a".to_string(), "widget widget rotor".to_string()),
            ("b".to_string(), "widget and more words here".to_string()),
            ("c".to_string(), "nothing relevant".to_string()),
        ];
        let s = bm25(&q, &c, 10);
        assert_eq!(s.len(), 2, "a passage without any term is not a hit");
        assert_eq!(s[0].0, "a");
        assert!(s[0].1 > s[1].1);
    }
}
