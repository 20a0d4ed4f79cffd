//! Load on the local service, in-process so `/proc/self` measures it: waves of WebSocket
//! clients connecting and leaving, and a scan job every second, with no leak (open file
//! descriptors, threads, RSS before and after) and every job either done or refused with a
//! reason. Bounded here (300 clients, 5 s); the full run (hundreds more clients, a minute of
//! jobs) is `BUERGERKOFFER_LOAD_SECS=60 BUERGERKOFFER_LOAD_CLIENTS=2000 cargo test
//! --features service --test service_load -- --nocapture` (`scripts/service_load.sh`).
#![cfg(all(feature = "service", target_os = "linux"))]

mod service_support;

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use service_support::{start, wait_job, ws_connect, ws_next};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy)]
struct Usage {
    fds: usize,
    threads: usize,
    rss_kib: u64,
}

fn usage() -> Usage {
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    Usage {
        fds,
        threads: field("Threads:") as usize,
        rss_kib: field("VmRSS:"),
    }
}

/// One client: connects, reads its hello (and maybe an event), leaves.
async fn client(port: u16, token: &str, linger: bool) -> bool {
    let Ok(mut ws) = ws_connect(port, token, "", &[]).await else {
        return false;
    };
    let hello = ws_next(&mut ws).await;
    if linger {
        let _ = tokio::time::timeout(Duration::from_millis(300), ws_next(&mut ws)).await;
    }
    let _ = ws.close(None).await;
    hello.is_some_and(|h| h["type"] == "hello")
}

#[test]
fn clients_come_and_go_jobs_every_second_nothing_leaks() {
    let secs = env("BUERGERKOFFER_LOAD_SECS", 5);
    let total_clients = env("BUERGERKOFFER_LOAD_CLIENTS", 300) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_keep_alive(Duration::from_millis(100))
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (r, mock) = start().await;
        let body = br#"{"source": "adf", "max_pages": 3, "resolution": 50, "mode": "gray"}"#;
        // Warm up: one job and one client, so lazily created things exist before measuring.
        let id = r.call("POST", "/v1/scan-jobs", body).await.json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(wait_job(&r, &id).await["state"], "done");
        assert!(client(r.port, &r.token, false).await);
        tokio::time::sleep(Duration::from_millis(800)).await;
        let before = usage();

        let port = r.port;
        let token = r.token.clone();
        let clients = tokio::spawn(async move {
            let mut ok = 0usize;
            let mut done = 0usize;
            let mut wave = 0usize;
            while done < total_clients {
                let n = 50.min(total_clients - done);
                let results =
                    join_all((0..n).map(|i| client(port, &token, (i + wave).is_multiple_of(5))))
                        .await;
                ok += results.iter().filter(|x| **x).count();
                done += n;
                wave += 1;
            }
            ok
        });
        let started = Instant::now();
        let mut outcomes = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        while started.elapsed() < Duration::from_secs(secs) {
            tick.tick().await;
            let resp = r.call("POST", "/v1/scan-jobs", body).await;
            let v = resp.json();
            // Follow each job to its end now: finished jobs are evicted after 16 more.
            let end = if resp.status == 201 {
                Some(wait_job(&r, v["id"].as_str().unwrap()).await)
            } else {
                None
            };
            outcomes.push((resp.status, v, end));
        }
        let ok_clients = clients.await.unwrap();
        assert_eq!(ok_clients, total_clients, "every client got its hello");
        let mut done = 0;
        let mut refused = 0;
        for (status, v, end) in &outcomes {
            match status {
                201 => {
                    let s = end.as_ref().unwrap();
                    assert_eq!(s["state"], "done", "{s}");
                    assert_eq!(s["pages_written"], 3);
                    done += 1;
                }
                409 | 503 => {
                    assert!(
                        !v["message"].as_str().unwrap_or("").is_empty(),
                        "a refusal says why: {v}"
                    );
                    refused += 1;
                }
                other => panic!("job answered {other}: {v}"),
            }
        }
        assert!(done > 0, "{outcomes:?}");
        let scanner = mock.scanner("scanner").unwrap();
        assert!(!scanner.is_busy());
        // Let closed sockets and finished blocking threads go.
        let mut after = usage();
        for _ in 0..50 {
            if after.fds <= before.fds && after.threads <= before.threads {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            after = usage();
        }
        eprintln!(
            "load: {total_clients} clients, {} jobs in {secs} s ({done} done, {refused} refused); \
             before {before:?}, after {after:?}",
            outcomes.len()
        );
        assert!(
            after.fds <= before.fds,
            "file descriptors leaked: {before:?} -> {after:?}"
        );
        assert!(
            after.threads <= before.threads,
            "threads leaked: {before:?} -> {after:?}"
        );
        assert!(
            after.rss_kib <= before.rss_kib + 64 * 1024,
            "RSS grew by more than 64 MiB: {before:?} -> {after:?}"
        );
        r.service.shutdown().await;
    });
}
