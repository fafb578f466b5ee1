#![no_main]
//! Fuzz the markdown parser: any bytes give a document or an error, never a panic or a hang.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crawler::ingest::extract::text::markdown(data);
});
