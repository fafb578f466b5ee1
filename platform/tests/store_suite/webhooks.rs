//! Webhook deliveries: stored once per id, taken by one sender at a time (also across two
//! handles, as two processes would), due again after a failed attempt, listed per job.

use super::*;
use platform::webhooks::{DeliveryAttempt, DeliveryRecord, DeliveryStatus, WebhookEvent};

fn delivery(id: &str, job: &str, at: f64) -> DeliveryRecord {
    DeliveryRecord {
        delivery_id: id.into(),
        tenant_id: TenantId::new("org-a"),
        job_id: job.into(),
        event: WebhookEvent::JobCompleted,
        url: "http://receiver.test/hook".into(),
        secret: "0123456789abcdef".into(),
        payload: format!("{{\"id\":\"{id}\"}}"),
        status: DeliveryStatus::Pending,
        attempts: vec![],
        created_at: at,
        next_attempt_at: at,
        lease_until: 0.0,
        delivered_at: None,
    }
}

pub(super) async fn deliveries_are_stored_once_and_sent_by_one_sender_at_a_time(b: Backend) {
    let s = &b.store;
    assert!(s
        .insert_delivery(delivery("d1", "j1", 100.0))
        .await
        .unwrap());
    assert!(!s
        .insert_delivery(delivery("d1", "j1", 100.0))
        .await
        .unwrap());
    assert!(s
        .insert_delivery(delivery("d2", "j1", 101.0))
        .await
        .unwrap());
    assert!(s
        .insert_delivery(delivery("d3", "j2", 500.0))
        .await
        .unwrap());
    // Due at 200: d1 and d2, oldest first; d3 is not due yet.
    let taken = s.claim_deliveries(200.0, 230.0, 10).await.unwrap();
    let ids: Vec<_> = taken.iter().map(|d| d.delivery_id.as_str()).collect();
    assert_eq!(ids, ["d1", "d2"]);
    // Held: the other process's sender gets none of them.
    assert!(b
        .other
        .claim_deliveries(201.0, 231.0, 10)
        .await
        .unwrap()
        .is_empty());
    // d1 fails once: due again a second later, and not held.
    let mut d1 = taken[0].clone();
    d1.record(DeliveryAttempt {
        at: 202.0,
        status_code: Some(500),
        error: Some("the receiver answered 500".into()),
        duration_ms: 3,
    });
    s.save_delivery(d1).await.unwrap();
    assert!(b
        .other
        .claim_deliveries(202.5, 232.0, 10)
        .await
        .unwrap()
        .is_empty());
    let again = b.other.claim_deliveries(203.0, 233.0, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts.len(), 1);
    assert_eq!(again[0].attempts[0].status_code, Some(500));
    // d2's sender died: once its hold runs out, another sender takes it.
    let d2 = b.other.claim_deliveries(231.0, 261.0, 10).await.unwrap();
    assert_eq!(d2.len(), 1);
    assert_eq!(d2[0].delivery_id, "d2");
    // Delivered: never taken again; listed with its attempt.
    let mut d = again[0].clone();
    d.record(DeliveryAttempt {
        at: 204.0,
        status_code: Some(200),
        error: None,
        duration_ms: 2,
    });
    s.save_delivery(d).await.unwrap();
    assert!(s
        .claim_deliveries(10_000.0, 10_030.0, 10)
        .await
        .unwrap()
        .iter()
        .all(|d| d.delivery_id != "d1"));
    let listed = s.list_deliveries("j1", 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].delivery_id, "d1");
    assert_eq!(listed[0].status, DeliveryStatus::Delivered);
    assert_eq!(listed[0].attempts.len(), 2);
    assert!(s.list_deliveries("nope", 10).await.unwrap().is_empty());
}
