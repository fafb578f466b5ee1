//! Fixture sites served on 127.0.0.1 for the end-to-end tests.

pub mod attacker;
pub mod changing;
pub mod forms;
pub mod strict;
pub mod topics;
pub mod trap;

/// A page that changes colour and number on every animation frame: a live video source that
/// never stands still.
pub const ANIMATED_PAGE: &str = r#"<!doctype html><html><body style="margin:0">
<div id="c" style="width:100vw;height:100vh;font:120px sans-serif"></div>
<script>
let n = 0;
function tick() { n++; const c = document.getElementById('c');
  c.style.background = `hsl(${n % 360}, 70%, 50%)`; c.textContent = n; requestAnimationFrame(tick); }
requestAnimationFrame(tick);
</script></body></html>"#;
