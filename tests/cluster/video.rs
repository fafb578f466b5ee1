//! Live video through a control plane: a WHEP viewer (a page in a real headless Chromium) opens
//! the viewer page on a control plane, whose offer is answered by the worker holding the
//! session, with the worker's own candidates; the viewer decodes frames.

use crate::common::eventually;
use crate::common::viewers::Viewers;
use crate::harness::{Cluster, ALPHA};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_viewer_joins_through_a_control_plane_a_session_held_by_a_worker() {
    let c = Cluster::start(2, 1).await;
    let cp = &c.planes[0];
    // The first session goes to one worker, the watched one to the other.
    cp.ok("start_browser_session", json!({"room_name": "first"}))
        .await;
    let started = cp
        .ok(
            "start_browser_session",
            json!({"room_name": "watched", "initial_url": c.site.url("/animated"),
                   "viewport": {"width": 640, "height": 360}, "fps": 10}),
        )
        .await;
    assert_eq!(started["worker"], "w2", "{started}");

    let viewers = Viewers::start().await;
    let view = format!("{}/rooms/watched/view?token={ALPHA}", cp.base);
    viewers.open("watcher", &view).await;
    let st = eventually(45, "the viewer decodes frames", || async {
        let (f, v) = viewers.frames("watcher").await;
        (f > 5).then_some(v)
    })
    .await;
    assert_eq!(st["state"], "connected", "{st}");
    assert_eq!(st["stats"]["frameWidth"], 640, "{st}");

    // Leaving an unknown viewer is answered by the worker, as a typed error.
    let (status, body) = cp.get_json("/rooms/watched/connections").await;
    assert_eq!(status, 200, "{body}");
    let r = crate::common::http_client(std::time::Duration::from_secs(30))
        .delete(format!("{}/rooms/watched/whep/no-such-viewer", cp.base))
        .bearer_auth(ALPHA)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 404, "{body}");
    viewers.close("watcher").await;
    viewers.engine.shutdown().await;
}
