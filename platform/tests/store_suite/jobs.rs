//! Job records: unique ids, scoped by tenant, changed atomically.

use super::*;

pub(super) async fn jobs_are_unique_tenant_scoped_and_changed_atomically(b: Backend) {
    let s = &b.store;
    let a = TenantId::new("org-a");
    let t = TenantId::new("org-b");
    s.insert_job(JobRecord::new("j1".into(), a.clone(), opts()))
        .await
        .unwrap();
    let dup = s
        .insert_job(JobRecord::new("j1".into(), t.clone(), opts()))
        .await;
    assert_eq!(dup.unwrap_err().code(), "job_exists");
    assert!(s.get_job(Some(&t), "j1").await.unwrap().is_none());
    assert!(s.get_job(None, "j1").await.unwrap().is_some());
    let up = s
        .update_job(
            "j1",
            Some("{\"f\":1}".into()),
            Box::new(|j| {
                j.set_status(JobStatus::Queued, None);
                true
            }),
        )
        .await
        .unwrap();
    assert!(matches!(up, JobUpdate::Updated(ref j) if j.status == JobStatus::Queued));
    let declined = s
        .update_job("j1", Some("{\"f\":2}".into()), Box::new(|_| false))
        .await
        .unwrap();
    assert!(matches!(declined, JobUpdate::Unchanged(_)));
    assert_eq!(
        s.load_frontier("j1").await.unwrap().as_deref(),
        Some("{\"f\":1}"),
        "a declined change stores no frontier"
    );
    assert_eq!(
        s.update_job("nope", None, Box::new(|_| true))
            .await
            .unwrap(),
        JobUpdate::Missing
    );
    assert_eq!(
        s.list_jobs(Some(&a), &[JobStatus::Queued], 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s
        .list_jobs(Some(&a), &[JobStatus::Running], 10)
        .await
        .unwrap()
        .is_empty());
    assert!(s.list_jobs(Some(&t), &[], 10).await.unwrap().is_empty());
    let mut later = JobRecord::new("j2".into(), a.clone(), opts());
    later.created_at += 5.0;
    s.insert_job(later).await.unwrap();
    let ids: Vec<String> = s
        .list_jobs(Some(&a), &[], 10)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect();
    assert_eq!(ids, ["j2", "j1"], "newest first");

    // Two handles (as two processes) never lose an update, and every status entry is appended
    // exactly once.
    let bump = |st: Arc<dyn DocumentStore>, tag: &'static str| async move {
        for i in 0..25 {
            st.update_job(
                "j1",
                None,
                Box::new(move |j| {
                    j.counters.pages_completed += 1;
                    j.set_status(JobStatus::Running, Some(format!("{tag}-{i}")));
                    true
                }),
            )
            .await
            .unwrap();
        }
    };
    tokio::join!(bump(s.clone(), "a"), bump(b.other.clone(), "b"));
    let j = s.get_job(None, "j1").await.unwrap().unwrap();
    assert_eq!(j.counters.pages_completed, 50);
    let mut reasons: Vec<String> = j
        .status_history
        .iter()
        .filter_map(|e| e.reason.clone())
        .collect();
    reasons.sort();
    let mut expected: Vec<String> = (0..25)
        .flat_map(|i| [format!("a-{i}"), format!("b-{i}")])
        .collect();
    expected.sort();
    assert_eq!(
        reasons, expected,
        "every status entry appended exactly once"
    );
    assert_eq!(
        s.load_frontier("j1").await.unwrap().as_deref(),
        Some("{\"f\":1}"),
        "changes without a frontier keep the stored one"
    );
}

pub(super) async fn the_syncs_of_a_source_are_listed_newest_first(b: Backend) {
    let s = &b.store;
    let a = TenantId::new("org-a");
    let mut other = opts();
    other.start_url = "https://other.example/".into();
    let mut first = JobRecord::new("sync-1".into(), a.clone(), opts());
    first.created_at = 10.0;
    let mut resync = JobRecord::new("sync-2".into(), a.clone(), opts());
    resync.created_at = 20.0;
    resync.resync_of = Some("sync-1".into());
    for j in [
        first,
        resync,
        JobRecord::new("elsewhere".into(), a.clone(), other),
        JobRecord::new("theirs".into(), TenantId::new("org-b"), opts()),
    ] {
        s.insert_job(j).await.unwrap();
    }
    let syncs = s
        .list_jobs_from(&a, "https://example.com/", 10)
        .await
        .unwrap();
    let ids: Vec<_> = syncs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["sync-2", "sync-1"]);
    assert_eq!(syncs[0].resync_of.as_deref(), Some("sync-1"));
}
