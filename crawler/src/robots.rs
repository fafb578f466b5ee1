//! robots.txt: the rules for one user agent (longest match wins, `Allow` on ties; `*` and `$`
//! patterns), its `Crawl-delay`, and the sitemaps the file names.

use std::time::Duration;

/// One `User-agent` group: its agents, its rules (`true` = allow), its crawl delay.
#[derive(Default)]
struct Group {
    agents: Vec<String>,
    rules: Vec<(bool, String)>,
    delay: Option<Duration>,
}

/// The rules of a robots.txt that apply to one user agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots {
    rules: Vec<(bool, String)>,
    /// `Crawl-delay` for this agent.
    pub crawl_delay: Option<Duration>,
    /// `Sitemap:` URLs (they apply to every agent).
    pub sitemaps: Vec<String>,
}

impl Robots {
    /// Parse robots.txt for `agent` (matched case-insensitively by substring of its product
    /// token; the `*` group applies when no group names the agent).
    pub fn parse(text: &str, agent: &str) -> Robots {
        let agent = agent.to_ascii_lowercase();
        let mut groups: Vec<Group> = Vec::new();
        let mut sitemaps = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push(Group::default());
                    }
                    in_agents = true;
                    if let Some(g) = groups.last_mut() {
                        g.agents.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if let Some(g) = groups.last_mut() {
                        if !value.is_empty() {
                            g.rules.push((key == "allow", value.to_string()));
                        }
                    }
                }
                "crawl-delay" => {
                    in_agents = false;
                    if let (Some(g), Ok(secs)) = (groups.last_mut(), value.parse::<f64>()) {
                        if secs.is_finite() && secs >= 0.0 {
                            g.delay = Some(Duration::from_secs_f64(secs.min(60.0)));
                        }
                    }
                }
                "sitemap" => {
                    // `Sitemap: https://...` contains a colon of its own: take the rest of the line.
                    let url = line[line.find(':').map(|i| i + 1).unwrap_or(0)..].trim();
                    if !url.is_empty() {
                        sitemaps.push(url.to_string());
                    }
                }
                _ => {}
            }
        }
        let product = agent.split('/').next().unwrap_or_default().to_string();
        let named = groups
            .iter()
            .filter(|g| {
                g.agents
                    .iter()
                    .any(|a| a != "*" && !a.is_empty() && product.contains(a.as_str()))
            })
            .collect::<Vec<_>>();
        let chosen = if named.is_empty() {
            groups
                .iter()
                .filter(|g| g.agents.iter().any(|a| a == "*"))
                .collect::<Vec<_>>()
        } else {
            named
        };
        let mut robots = Robots {
            sitemaps,
            ..Robots::default()
        };
        for g in chosen {
            robots.rules.extend(g.rules.iter().cloned());
            robots.crawl_delay = robots.crawl_delay.or(g.delay);
        }
        robots
    }

    /// Whether a path (with its query) may be fetched.
    pub fn allows(&self, path_and_query: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if matches(pattern, path_and_query) {
                let len = pattern.len();
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.map(|(_, allow)| allow).unwrap_or(true)
    }
}

/// robots.txt pattern match: a prefix match where `*` matches any run and a final `$` anchors.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !path.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if let Some(found) = path[pos..].find(part) {
            pos += found + part.len();
        } else {
            return false;
        }
    }
    if anchored {
        // The last literal part must end the path.
        let last = parts.last().copied().unwrap_or_default();
        return pos == path.len() || (parts.len() > 1 && path.ends_with(last));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXT: &str = "
        # comments are ignored
        User-agent: *
        Disallow: /private/
        Allow: /private/open
        Disallow: /*.pdf$
        Crawl-delay: 1.5

        User-agent: OtherBot
        Disallow: /

        Sitemap: https://example.org/sitemap.xml
    ";

    #[test]
    fn the_longest_rule_wins_and_allow_breaks_ties() {
        let r = Robots::parse(TXT, "browser-automation-service/0.1");
        assert!(r.allows("/"));
        assert!(r.allows("/docs/page"));
        assert!(!r.allows("/private/x"));
        assert!(r.allows("/private/open/y"));
        assert!(!r.allows("/files/a.pdf"));
        assert!(r.allows("/files/a.pdf?download=1"));
        assert_eq!(r.crawl_delay, Some(Duration::from_millis(1500)));
        assert_eq!(r.sitemaps, vec!["https://example.org/sitemap.xml"]);
    }

    #[test]
    fn a_named_group_replaces_the_star_group() {
        let r = Robots::parse(TXT, "OtherBot/2.0");
        assert!(!r.allows("/docs/page"));
        assert_eq!(r.crawl_delay, None);
    }

    #[test]
    fn empty_or_garbage_allows_everything() {
        assert!(Robots::parse("", "x").allows("/anything"));
        assert!(Robots::parse("<html>not robots</html>", "x").allows("/anything"));
        let r = Robots::parse("User-agent: *\nDisallow:\n", "x");
        assert!(r.allows("/a"));
    }
}
