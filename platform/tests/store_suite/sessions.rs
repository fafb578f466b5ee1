//! Session records: keyed and scoped by tenant, failed after a restart.

use super::*;

pub(super) async fn sessions_are_tenant_scoped_and_failed_after_a_restart(b: Backend) {
    let s = &b.store;
    let a = TenantId::new("org-a");
    s.put_session(session("r1", "org-a", SessionStatus::Active, 10.0))
        .await
        .unwrap();
    s.put_session(session("r3", "org-a", SessionStatus::Closed, 20.0))
        .await
        .unwrap();
    s.put_session(session("r2", "org-b", SessionStatus::Paused, 5.0))
        .await
        .unwrap();
    assert_eq!(
        s.get_session(&a, "r1").await.unwrap().unwrap().status,
        SessionStatus::Active
    );
    assert!(
        s.get_session(&a, "r2").await.unwrap().is_none(),
        "org-a must not see org-b's room"
    );
    let rooms: Vec<String> = s
        .list_sessions(&a, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.room_name)
        .collect();
    assert_eq!(rooms, ["r3", "r1"], "newest first, own rooms only");
    // Replacing a record keeps one record per room, and what a move or a recovery brings back.
    let mut moved = session("r1", "org-a", SessionStatus::Paused, 30.0);
    moved.record = true;
    moved.livekit_url = Some("wss://lk.example.com".into());
    s.put_session(moved).await.unwrap();
    assert_eq!(s.list_sessions(&a, None).await.unwrap().len(), 2);
    let back = s.get_session(&a, "r1").await.unwrap().unwrap();
    assert_eq!(
        (back.status, back.record, back.livekit_url.as_deref()),
        (SessionStatus::Paused, true, Some("wss://lk.example.com"))
    );
    assert_eq!(
        b.other
            .fail_open_sessions("service restarted")
            .await
            .unwrap(),
        2,
        "the paused sessions of both tenants"
    );
    let r1 = s.get_session(&a, "r1").await.unwrap().unwrap();
    assert_eq!(r1.status, SessionStatus::Failed);
    assert_eq!(r1.last_error.as_deref(), Some("service restarted"));
    assert_eq!(
        s.list_sessions(&a, Some(SessionStatus::Closed))
            .await
            .unwrap()
            .len(),
        1
    );
    // Two tenants' rooms of the same name are two records: one tenant's session cannot take
    // or hide the other's.
    s.put_session(session("shared", "org-a", SessionStatus::Failed, 40.0))
        .await
        .unwrap();
    s.put_session(session("shared", "org-b", SessionStatus::Active, 41.0))
        .await
        .unwrap();
    let b_tenant = TenantId::new("org-b");
    assert_eq!(
        s.get_session(&a, "shared").await.unwrap().unwrap().status,
        SessionStatus::Failed
    );
    assert_eq!(
        s.get_session(&b_tenant, "shared")
            .await
            .unwrap()
            .unwrap()
            .status,
        SessionStatus::Active
    );
    s.health().await.unwrap();
}
