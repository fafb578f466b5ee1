//! The job queue as a Redis Streams consumer group. Entries of `bas:jobs` carry a job id;
//! workers read them with XREADGROUP and acknowledge them with XACK. A worker keeps its entry
//! claimed with XCLAIM (which resets its idle time); an entry idle for longer than the claim
//! timeout belongs to a worker that died, and the next worker takes it with XAUTOCLAIM. Delayed
//! retries wait in the sorted set `bas:jobs:delayed`; given-up jobs go to the stream
//! `bas:jobs:dead`.

use super::{Delivery, JobQueue};
use crate::error::{EngineError, Result};
use crate::events::redis_bus::redact;
use redis::aio::ConnectionManager;
use redis::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const STREAM: &str = "bas:jobs";
const GROUP: &str = "bas:workers";
const DELAYED: &str = "bas:jobs:delayed";
const DEAD: &str = "bas:jobs:dead";
/// How often a waiting worker polls the stream.
const POLL: Duration = Duration::from_millis(200);

/// Jobs in a Redis stream shared by every worker process.
#[derive(Clone)]
pub struct RedisQueue {
    conn: ConnectionManager,
    claim_idle: Duration,
}

fn queue_err(e: redis::RedisError) -> EngineError {
    EngineError::Queue(redact(&e))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The `(entry id, job id)` pairs of a list of stream entries (`[[id, [field, value, ...]], ...]`).
fn entries(v: &Value) -> Vec<(String, String)> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let Value::Array(parts) = e else { return None };
            let id = text(parts.first()?)?;
            let Value::Array(fields) = parts.get(1)? else {
                return None;
            };
            let job = fields
                .chunks(2)
                .find(|kv| kv.first().and_then(text).as_deref() == Some("job_id"))
                .and_then(|kv| kv.get(1).and_then(text))?;
            Some((id, job))
        })
        .collect()
}

impl RedisQueue {
    /// A queue over an existing connection; creates the consumer group if it is missing.
    pub async fn new(conn: ConnectionManager, claim_idle: Duration) -> Result<Self> {
        let q = Self { conn, claim_idle };
        q.ensure_group().await?;
        Ok(q)
    }

    async fn ensure_group(&self) -> Result<()> {
        let mut c = self.conn.clone();
        let r: redis::RedisResult<Value> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(STREAM)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut c)
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("BUSYGROUP") => Ok(()),
            Err(e) => Err(queue_err(e)),
        }
    }

    /// Move delayed jobs that are due into the stream. Each is moved by exactly one worker: the
    /// one whose ZREM removed it.
    async fn promote_due(&self) -> Result<()> {
        let mut c = self.conn.clone();
        let due: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(DELAYED)
            .arg("-inf")
            .arg(now_ms())
            .arg("LIMIT")
            .arg(0)
            .arg(20)
            .query_async(&mut c)
            .await
            .map_err(queue_err)?;
        for job in due {
            let removed: i64 = redis::cmd("ZREM")
                .arg(DELAYED)
                .arg(&job)
                .query_async(&mut c)
                .await
                .map_err(queue_err)?;
            if removed == 1 {
                self.add(&job).await?;
            }
        }
        Ok(())
    }

    async fn add(&self, job_id: &str) -> Result<()> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("XADD")
            .arg(STREAM)
            .arg("*")
            .arg("job_id")
            .arg(job_id)
            .query_async(&mut c)
            .await
            .map_err(queue_err)?;
        Ok(())
    }

    /// Take one entry idle for longer than the claim timeout (its worker died).
    async fn reclaim(&self, consumer: &str) -> Result<Option<Delivery>> {
        let mut c = self.conn.clone();
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(STREAM)
            .arg(GROUP)
            .arg(consumer)
            .arg(self.claim_idle.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut c)
            .await
            .map_err(queue_err)?;
        let Value::Array(parts) = reply else {
            return Ok(None);
        };
        Ok(parts
            .get(1)
            .map(entries)
            .unwrap_or_default()
            .into_iter()
            .next()
            .map(|(token, job_id)| Delivery {
                job_id,
                token,
                reclaimed: true,
            }))
    }

    async fn read_new(&self, consumer: &str) -> Result<Option<Delivery>> {
        let mut c = self.conn.clone();
        let reply: redis::RedisResult<Value> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(1)
            .arg("STREAMS")
            .arg(STREAM)
            .arg(">")
            .query_async(&mut c)
            .await;
        let reply = match reply {
            Ok(v) => v,
            // Redis lost its data (a restart without persistence): make the group again.
            Err(e) if e.to_string().contains("NOGROUP") => {
                self.ensure_group().await?;
                return Ok(None);
            }
            Err(e) => return Err(queue_err(e)),
        };
        // [[stream, [[id, [field, value]]]]]
        let Value::Array(streams) = reply else {
            return Ok(None);
        };
        for s in streams {
            if let Value::Array(parts) = s {
                if let Some((token, job_id)) = parts.get(1).map(entries).unwrap_or_default().pop() {
                    return Ok(Some(Delivery {
                        job_id,
                        token,
                        reclaimed: false,
                    }));
                }
            }
        }
        Ok(None)
    }

    async fn remove(&self, token: &str, pipe: &mut redis::Pipeline) -> Result<()> {
        pipe.cmd("XACK").arg(STREAM).arg(GROUP).arg(token).ignore();
        pipe.cmd("XDEL").arg(STREAM).arg(token).ignore();
        let mut c = self.conn.clone();
        let _: () = pipe.query_async(&mut c).await.map_err(queue_err)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl JobQueue for RedisQueue {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn enqueue(&self, job_id: &str) -> Result<()> {
        self.add(job_id).await
    }

    async fn next(&self, consumer: &str, wait: Duration) -> Result<Option<Delivery>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            self.promote_due().await?;
            if let Some(d) = self.reclaim(consumer).await? {
                tracing::warn!(job_id = %d.job_id, consumer, "took over a job whose worker stopped answering");
                return Ok(Some(d));
            }
            if let Some(d) = self.read_new(consumer).await? {
                return Ok(Some(d));
            }
            if tokio::time::Instant::now() + POLL > deadline {
                return Ok(None);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn keep_alive(&self, consumer: &str, delivery: &Delivery) -> Result<()> {
        let mut c = self.conn.clone();
        let _: Value = redis::cmd("XCLAIM")
            .arg(STREAM)
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(&delivery.token)
            .arg("JUSTID")
            .query_async(&mut c)
            .await
            .map_err(queue_err)?;
        Ok(())
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        self.remove(&delivery.token, redis::pipe().atomic()).await
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        if delay.is_zero() {
            pipe.cmd("XADD")
                .arg(STREAM)
                .arg("*")
                .arg("job_id")
                .arg(&delivery.job_id)
                .ignore();
        } else {
            pipe.cmd("ZADD")
                .arg(DELAYED)
                .arg(now_ms() + delay.as_millis() as u64)
                .arg(&delivery.job_id)
                .ignore();
        }
        self.remove(&delivery.token, &mut pipe).await
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(DEAD)
            .arg("*")
            .arg("job_id")
            .arg(&delivery.job_id)
            .arg("reason")
            .arg(reason)
            .ignore();
        self.remove(&delivery.token, &mut pipe).await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<(String, String)>> {
        let mut c = self.conn.clone();
        let reply: Value = redis::cmd("XREVRANGE")
            .arg(DEAD)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut c)
            .await
            .map_err(queue_err)?;
        let Value::Array(items) = reply else {
            return Ok(Vec::new());
        };
        let mut out: Vec<(String, String)> = items
            .iter()
            .filter_map(|e| {
                let Value::Array(parts) = e else { return None };
                let Value::Array(fields) = parts.get(1)? else {
                    return None;
                };
                let get = |name: &str| {
                    fields
                        .chunks(2)
                        .find(|kv| kv.first().and_then(text).as_deref() == Some(name))
                        .and_then(|kv| kv.get(1).and_then(text))
                };
                Some((get("job_id")?, get("reason").unwrap_or_default()))
            })
            .collect();
        out.reverse();
        Ok(out)
    }

    async fn health(&self) -> Result<()> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut c)
            .await
            .map_err(queue_err)?;
        Ok(())
    }

    /// Consumers of the group whose last read or claim (XREADGROUP, XCLAIM of a keep-alive) is
    /// more recent than `within`: idle workers poll, busy ones keep their jobs claimed.
    async fn workers_seen(&self, within: Duration) -> Result<Option<usize>> {
        let mut c = self.conn.clone();
        let reply: redis::RedisResult<Vec<Vec<Value>>> = redis::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(STREAM)
            .arg(GROUP)
            .query_async(&mut c)
            .await;
        let consumers = match reply {
            Ok(c) => c,
            // No stream or group yet: nobody ever asked for a job.
            Err(e) if e.to_string().contains("no such key") || e.code() == Some("NOGROUP") => {
                return Ok(Some(0))
            }
            Err(e) => return Err(queue_err(e)),
        };
        let recent = consumers
            .iter()
            .filter(|fields| {
                fields
                    .chunks(2)
                    .find(|kv| matches!(&kv[0], Value::BulkString(k) if k == b"idle"))
                    .and_then(|kv| redis::from_redis_value::<u64>(kv[1].clone()).ok())
                    .is_some_and(|idle| idle < within.as_millis() as u64)
            })
            .count();
        Ok(Some(recent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn stream_entries_are_read_by_field_name() {
        let v = Value::Array(vec![
            Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![bulk("other"), bulk("x"), bulk("job_id"), bulk("j1")]),
            ]),
            Value::Nil, // an entry deleted while pending
            Value::Array(vec![
                bulk("2-0"),
                Value::Array(vec![bulk("job_id"), bulk("j2")]),
            ]),
        ]);
        assert_eq!(
            entries(&v),
            vec![("1-0".into(), "j1".into()), ("2-0".into(), "j2".into())]
        );
        assert!(entries(&Value::Nil).is_empty());
    }
}
