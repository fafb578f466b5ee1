//! A DNS server for tests, on a free UDP port of 127.0.0.1: it answers `A` queries for the names
//! it was given (TTL 0), in turn when a name has several answers (a name whose answer changes
//! between two lookups, as in DNS rebinding), and NXDOMAIN for anything else. It counts the
//! queries per name.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

/// The running server.
pub struct DnsServer {
    /// Where it listens (`DNS_SERVERS` takes it as `ip:port`).
    pub addr: SocketAddr,
    queries: Arc<Mutex<HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl DnsServer {
    /// Serve `names`: each name's answers are given in turn, one per query.
    pub async fn start(names: &[(&str, &[Ipv4Addr])]) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let table: HashMap<String, Vec<Ipv4Addr>> = names
            .iter()
            .map(|(n, ips)| (n.to_ascii_lowercase(), ips.to_vec()))
            .collect();
        let queries: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let counts = queries.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let Some(q) = Query::parse(&buf[..n]) else {
                    continue;
                };
                let seen = {
                    let mut c = counts.lock().unwrap();
                    let seen = c.entry(q.name.clone()).or_insert(0);
                    *seen += 1;
                    *seen
                };
                let answer = table
                    .get(&q.name)
                    .map(|ips| (q.qtype == 1).then(|| ips[(seen - 1) % ips.len()]));
                let _ = socket.send_to(&q.reply(answer), from).await;
            }
        });
        Self {
            addr,
            queries,
            task,
        }
    }

    /// How many queries (of any type) asked for `name`.
    pub fn queries(&self, name: &str) -> usize {
        let queries = self.queries.lock().unwrap();
        queries
            .get(&name.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One question of a query.
struct Query<'a> {
    packet: &'a [u8],
    /// The end of the question section.
    end: usize,
    name: String,
    qtype: u16,
}

impl<'a> Query<'a> {
    fn parse(packet: &'a [u8]) -> Option<Self> {
        if packet.len() < 12 || u16::from_be_bytes([packet[4], packet[5]]) != 1 {
            return None;
        }
        let mut labels = Vec::new();
        let mut i = 12;
        loop {
            let len = *packet.get(i)? as usize;
            i += 1;
            if len == 0 {
                break;
            }
            labels.push(String::from_utf8_lossy(packet.get(i..i + len)?).to_ascii_lowercase());
            i += len;
        }
        let qtype = u16::from_be_bytes([*packet.get(i)?, *packet.get(i + 1)?]);
        Some(Self {
            packet,
            end: i + 4,
            name: labels.join("."),
            qtype,
        })
    }

    /// The reply: `None` for an unknown name (NXDOMAIN), `Some(None)` for a known name asked
    /// for another type (no answer), `Some(Some(ip))` for one `A` record.
    fn reply(&self, answer: Option<Option<Ipv4Addr>>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.end + 16);
        out.extend_from_slice(&self.packet[..2]); // id
        let rcode = if answer.is_none() { 3 } else { 0 };
        out.extend_from_slice(&[0x81, 0x80 | rcode]); // response, recursion desired and available
        let count = u16::from(matches!(answer, Some(Some(_))));
        out.extend_from_slice(&[0, 1, 0, count as u8, 0, 0, 0, 0]);
        out.extend_from_slice(&self.packet[12..self.end]);
        if let Some(Some(ip)) = answer {
            out.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4]);
            out.extend_from_slice(&ip.octets());
        }
        out
    }
}
