//! The document parsers on generated files of every type, on hostile files (a zip bomb, broken
//! and deeply nested documents), and on thousands of mutations of each (a deterministic,
//! in-CI cousin of the cargo-fuzz targets in `fuzz/`): each returns a document or an error, and
//! never takes the caller down.

use testkit::documents as fixtures;

use crawler::ingest::extract::{extract, extract_guarded};
use crawler::ingest::kinds::{verify, FileKind};
use std::time::Duration;

fn read(kind: FileKind, name: &str, bytes: &[u8]) -> crawler::Extracted {
    let k = verify(name, Some(kind), bytes).unwrap();
    extract(&k, name, bytes, true).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn pdf_text_comes_out_page_by_page() {
    let bytes = fixtures::pdf(&[
        &["Rotor assembly manual", "Tighten the flux bolts to 12 Nm."],
        &["Appendix: torque table for (M6) bolts"],
    ]);
    let d = read(FileKind::Pdf, "manual.pdf", &bytes);
    assert!(
        d.markdown.contains("Tighten the flux bolts to 12 Nm."),
        "{}",
        d.markdown
    );
    assert!(
        d.markdown.contains("torque table for (M6) bolts"),
        "{}",
        d.markdown
    );
    assert_eq!(
        d.headings.len(),
        2,
        "one section per page: {:?}",
        d.headings
    );
    assert_eq!(d.title, "manual");
}

#[test]
fn docx_keeps_headings_lists_and_joined_runs() {
    let bytes = fixtures::docx(
        "Quarterly Rotor Report",
        &[
            ("Heading1", "Findings"),
            ("", "Output rose by a third after recalibration."),
            ("ListParagraph", "Replace worn bearings"),
            ("Heading2", "Next steps"),
            ("", "Order spare flux capacitors & gaskets."),
        ],
    );
    let d = read(FileKind::Docx, "report.docx", &bytes);
    assert_eq!(d.title, "Quarterly Rotor Report");
    assert!(d.markdown.contains("# Findings"), "{}", d.markdown);
    assert!(d.markdown.contains("## Next steps"), "{}", d.markdown);
    assert!(d
        .markdown
        .contains("Output rose by a third after recalibration."));
    assert!(
        d.markdown.contains("- Replace worn bearings"),
        "{}",
        d.markdown
    );
    assert!(
        d.markdown.contains("capacitors & gaskets"),
        "{}",
        d.markdown
    );
    assert_eq!(d.headings.len(), 2);
}

#[test]
fn pptx_slides_come_in_order_with_their_titles() {
    let slides: Vec<(String, Vec<String>)> = (1..=11)
        .map(|i| (format!("Topic {i}"), vec![format!("Point number {i}")]))
        .collect();
    let refs: Vec<(&str, Vec<&str>)> = slides
        .iter()
        .map(|(t, l)| (t.as_str(), l.iter().map(String::as_str).collect()))
        .collect();
    let refs2: Vec<(&str, &[&str])> = refs.iter().map(|(t, l)| (*t, l.as_slice())).collect();
    let d = read(FileKind::Pptx, "deck.pptx", &fixtures::pptx(&refs2));
    assert_eq!(d.title, "Topic 1");
    let at = |s: &str| {
        d.markdown
            .find(s)
            .unwrap_or_else(|| panic!("{s} missing: {}", d.markdown))
    };
    assert!(
        at("## Slide 2: Topic 2") < at("## Slide 10: Topic 10"),
        "numeric slide order"
    );
    assert!(d.markdown.contains("Point number 11"));
}

#[test]
fn text_data_and_code_files() {
    let md = read(
        FileKind::Markdown,
        "guide.md",
        b"# Setup\n\nRun it.\n\n```sh\nmake\n```\n",
    );
    assert_eq!(md.title, "Setup");
    assert_eq!(md.code_blocks.len(), 1);
    let html = read(
        FileKind::Html,
        "page.html",
        b"<html><head><title>Rotor FAQ</title></head><body><nav>menu</nav><main><h1>FAQ</h1><p>Spin it gently.</p></main></body></html>",
    );
    assert_eq!(html.title, "Rotor FAQ");
    assert!(html.markdown.contains("Spin it gently."));
    let code = read(
        FileKind::Code("rust"),
        "main.rs",
        b"fn main() { println!(\"hi\"); }\n",
    );
    assert!(code.markdown.starts_with("```rust\n"), "{}", code.markdown);
    assert_eq!(code.code_blocks[0].language.as_deref(), Some("rust"));
    let yaml = read(FileKind::Yaml, "cfg.yaml", b"rotor:\n  speed: 3\n");
    assert!(yaml.markdown.contains("speed: 3"));
    let json = read(FileKind::Json, "d.json", br#"{"rotor":{"speed":3}}"#);
    assert!(json.markdown.contains("\"speed\": 3"), "{}", json.markdown);
    let xml = read(
        FileKind::Xml,
        "d.xml",
        b"<r><title>Spec</title><p>Rated 3 kW.</p></r>",
    );
    assert_eq!(xml.title, "Spec");
    let text = read(FileKind::Text, "notes.txt", "Grüße vom Rotor".as_bytes());
    assert_eq!(text.markdown, "Grüße vom Rotor");
    let no_code = extract(&FileKind::Code("rust"), "a.rs", b"fn a() {}", false).unwrap();
    assert!(
        no_code.code_blocks.is_empty(),
        "extract_code_blocks=false drops the list"
    );
}

#[test]
fn hostile_files_fail_with_a_clear_error() {
    let bomb = fixtures::docx_bomb(80);
    assert!(
        bomb.len() < 2 * 1024 * 1024,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let e = extract(&FileKind::Docx, "bomb.docx", &bomb, true).unwrap_err();
    assert_eq!(e.code(), "malformed_file");
    assert!(e.to_string().contains("zip bomb"), "{e}");

    let pdf = fixtures::pdf(&[&["hello"]]);
    let broken = &pdf[..pdf.len() / 2];
    let e = extract_guarded(
        &FileKind::Pdf,
        "broken.pdf",
        broken.to_vec(),
        true,
        Duration::from_secs(30),
    )
    .unwrap_err();
    assert_eq!(e.code(), "malformed_file", "{e}");

    let deep = format!("{}1{}", "[".repeat(50_000), "]".repeat(50_000));
    let e = extract(&FileKind::Json, "deep.json", deep.as_bytes(), true).unwrap_err();
    assert!(e.to_string().contains("nested"), "{e}");

    let e = extract(&FileKind::Docx, "x.docx", b"PK\x03\x04 not really", true).unwrap_err();
    assert_eq!(e.code(), "malformed_file");
    let e = extract(
        &FileKind::Pptx,
        "x.pptx",
        &fixtures::docx("t", &[("", "x")]),
        true,
    )
    .unwrap_err();
    assert!(e.to_string().contains("PowerPoint"), "{e}");
}

/// xorshift, for reproducible mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_documents_never_take_the_caller_down() {
    let seeds: Vec<(FileKind, &str, Vec<u8>)> = vec![
        (
            FileKind::Pdf,
            "a.pdf",
            fixtures::pdf(&[&["Rotor text"], &["Page two"]]),
        ),
        (
            FileKind::Docx,
            "a.docx",
            fixtures::docx("T", &[("Heading1", "H"), ("", "Body text")]),
        ),
        (
            FileKind::Pptx,
            "a.pptx",
            fixtures::pptx(&[("T", &["a", "b"])]),
        ),
        (
            FileKind::Json,
            "a.json",
            br#"{"a":[1,2,{"b":"c"}]}"#.to_vec(),
        ),
        (
            FileKind::Xml,
            "a.xml",
            b"<a><b x='1'>t &amp; u</b></a>".to_vec(),
        ),
        (
            FileKind::Markdown,
            "a.md",
            b"# T\n```\ncode\n```\n".to_vec(),
        ),
        (
            FileKind::Html,
            "a.html",
            b"<html><body><p>x</p></body></html>".to_vec(),
        ),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut outcomes = (0, 0);
    for (kind, name, seed) in &seeds {
        for _ in 0..150 {
            let mut b = seed.clone();
            for _ in 0..1 + rng.next() % 8 {
                let i = (rng.next() as usize) % b.len();
                match rng.next() % 3 {
                    0 => b[i] = rng.next() as u8,
                    1 => {
                        b.truncate(i.max(1));
                    }
                    _ => b.insert(i, rng.next() as u8),
                }
            }
            match extract_guarded(kind, name, b, true, Duration::from_secs(20)) {
                Ok(_) => outcomes.0 += 1,
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    outcomes.1 += 1
                }
            }
        }
    }
    // Both outcomes happen: mutations are neither all harmless nor all fatal.
    assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
}
