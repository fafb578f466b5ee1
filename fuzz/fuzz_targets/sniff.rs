#![no_main]
//! Fuzz type detection: any first bytes and claim give a kind or a typed refusal.
use crawler::ingest::kinds::{verify, FileKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in ["a.pdf", "a.docx", "a.mp4", "a.json", "a"] {
        let _ = verify(name, FileKind::claimed(name, None), data);
    }
});
