//! Chunking: a page's Markdown split into passages for embedding. Each passage keeps its heading
//! path (page title > section > subsection), never splits a code block, and stays under a word
//! budget sized for the embedding model (a section longer than that is split between paragraphs,
//! a paragraph longer than that between sentences). Passages are numbered in page order, so a
//! page's passages have stable ids and a re-crawl replaces them.

/// Words per passage: all-MiniLM-L6-v2 reads 256 word pieces, about 180 English words.
pub const DEFAULT_MAX_WORDS: usize = 180;

/// One passage of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Its position in the page (0, 1, ...).
    pub index: usize,
    /// Page title, then the headings above the passage, outermost first.
    pub heading_path: Vec<String>,
    /// The passage's Markdown.
    pub text: String,
}

impl Chunk {
    /// What is embedded: the heading path, then the text.
    pub fn embedding_text(&self) -> String {
        if self.heading_path.is_empty() {
            self.text.clone()
        } else {
            format!("{}\n{}", self.heading_path.join(" > "), self.text)
        }
    }
}

enum Block {
    Heading(usize, String),
    Text(String),
    Code(String),
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Split Markdown into headings, paragraphs and fenced code blocks.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    let mut code: Option<(String, Vec<&str>)> = None;
    let flush = |para: &mut Vec<&str>, out: &mut Vec<Block>| {
        if !para.is_empty() {
            out.push(Block::Text(para.join("\n")));
            para.clear();
        }
    };
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some((fence, lines)) = &mut code {
            lines.push(line);
            if trimmed.starts_with(fence.as_str()) && trimmed.trim() == fence.as_str() {
                out.push(Block::Code(lines.join("\n")));
                code = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            flush(&mut para, &mut out);
            let fence: String = trimmed
                .chars()
                .take_while(|c| *c == '`' || *c == '~')
                .collect();
            code = Some((fence, vec![line]));
            continue;
        }
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            flush(&mut para, &mut out);
            out.push(Block::Heading(hashes, trimmed[hashes..].trim().to_string()));
            continue;
        }
        if trimmed.is_empty() {
            flush(&mut para, &mut out);
        } else {
            para.push(line);
        }
    }
    if let Some((_, lines)) = code {
        out.push(Block::Code(lines.join("\n")));
    }
    flush(&mut para, &mut out);
    out
}

/// Cut a paragraph longer than `max` words between sentences (or, failing that, words).
fn split_long(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let push_word = |current: &mut String, w: &str, pieces: &mut Vec<String>| {
        if words(current) >= max {
            pieces.push(std::mem::take(current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(w);
    };
    let mut sentence = String::new();
    for w in text.split_whitespace() {
        if !sentence.is_empty() {
            sentence.push(' ');
        }
        sentence.push_str(w);
        if w.ends_with(['.', '!', '?']) {
            if words(&current) + words(&sentence) > max && !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            for sw in std::mem::take(&mut sentence).split_whitespace() {
                push_word(&mut current, sw, &mut pieces);
            }
        }
    }
    if words(&current) + words(&sentence) > max && !current.is_empty() {
        pieces.push(std::mem::take(&mut current));
    }
    for sw in sentence.split_whitespace() {
        push_word(&mut current, sw, &mut pieces);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Split a page into passages of at most `max_words` words (code blocks excepted: they are kept
/// whole, each in the passage where it starts or on its own).
pub fn chunk(title: &str, markdown: &str, max_words: usize) -> Vec<Chunk> {
    let max = max_words.max(20);
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let path = |headings: &[(usize, String)]| {
        let mut p = Vec::new();
        if !title.is_empty() {
            p.push(title.to_string());
        }
        for (_, h) in headings {
            if p.last() != Some(h) {
                p.push(h.clone());
            }
        }
        p
    };
    let flush = |current: &mut Vec<String>, chunks: &mut Vec<Chunk>, heading_path: Vec<String>| {
        if current.is_empty() {
            return;
        }
        chunks.push(Chunk {
            index: chunks.len(),
            heading_path,
            text: current.join("\n\n"),
        });
        current.clear();
    };
    for block in blocks(markdown) {
        match block {
            Block::Heading(level, text) => {
                flush(&mut current, &mut chunks, path(&headings));
                headings.retain(|(l, _)| *l < level);
                headings.push((level, text));
            }
            Block::Code(code) => {
                let used: usize = current.iter().map(|c| words(c)).sum();
                if used > 0 && used + words(&code) > max {
                    flush(&mut current, &mut chunks, path(&headings));
                }
                current.push(code);
            }
            Block::Text(text) => {
                let pieces = if words(&text) > max {
                    split_long(&text, max)
                } else {
                    vec![text]
                };
                for piece in pieces {
                    let used: usize = current.iter().map(|c| words(c)).sum();
                    if used > 0 && used + words(&piece) > max {
                        flush(&mut current, &mut chunks, path(&headings));
                    }
                    current.push(piece);
                }
            }
        }
    }
    flush(&mut current, &mut chunks, path(&headings));
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passages_keep_their_heading_path_and_code_blocks_whole() {
        let md = "Intro words here.\n\n# Guide\n\n## Install\n\nRun the installer.\n\n```sh\ncargo install widget\n\ncargo run\n```\n\n## Configure\n\nSet the options.\n\n### Advanced\n\nTune the knobs.\n\n# Other\n\nDone.";
        let c = chunk("Widget", md, 180);
        let paths: Vec<String> = c.iter().map(|c| c.heading_path.join(" > ")).collect();
        assert_eq!(
            paths,
            [
                "Widget",
                "Widget > Guide > Install",
                "Widget > Guide > Configure",
                "Widget > Guide > Configure > Advanced",
                "Widget > Other"
            ]
        );
        assert!(
            c[1].text
                .contains("```sh\ncargo install widget\n\ncargo run\n```"),
            "{}",
            c[1].text
        );
        assert_eq!(
            c.iter().map(|c| c.index).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        assert_eq!(
            c[3].embedding_text(),
            "Widget > Guide > Configure > Advanced\nTune the knobs."
        );
    }

    #[test]
    fn long_sections_are_split_under_the_budget_and_nothing_is_lost() {
        let sentence = "The quick brown fox jumps over the lazy dog again. ";
        let para = sentence.repeat(30); // 300 words in one paragraph
        let md = format!("# Long\n\n{para}\n\nShort tail paragraph.");
        let c = chunk("T", &md, 50);
        assert!(c.len() >= 6, "{}", c.len());
        for p in &c {
            assert!(words(&p.text) <= 50, "{} words", words(&p.text));
            assert_eq!(p.heading_path, ["T", "Long"]);
        }
        let total: usize = c.iter().map(|p| words(&p.text)).sum();
        assert_eq!(total, 300 + 3);
        // Cut between sentences: every passage but maybe the last ends a sentence.
        assert!(c[0].text.ends_with("again."));
    }

    #[test]
    fn a_code_block_longer_than_the_budget_stays_whole() {
        let code = format!("```python\n{}```", "x = 1\n".repeat(100));
        let md = format!("Before.\n\n{code}\n\nAfter.");
        let c = chunk("", &md, 30);
        assert!(c.iter().any(|p| p.text.contains(&code)), "{c:?}");
        assert!(c[0].heading_path.is_empty());
        // The same page always gives the same passages.
        assert_eq!(c, chunk("", &md, 30));
    }
}
