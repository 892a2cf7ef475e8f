//! Thousands of checks under the default descriptor limit: the number of
//! logs must not depend on RLIMIT_NOFILE.

mod common;

use common::{limit_descriptors, line, Fixture, Server};

/// The broadcaster with soft and hard descriptor limits of `nofile`, as
/// `prlimit --nofile=1024` would start it.
fn start_limited(fx: &Fixture, nofile: u64) -> Server {
    Server::start_custom(fx, &[], &[], |cmd| limit_descriptors(cmd, nofile))
}

/// A fixture in memory when there is a tmpfs: ten thousand files on a
/// busy disk would take most of the test's time.
fn fast_fixture() -> Fixture {
    let tmp = match tempfile::tempdir_in("/dev/shm") {
        Ok(t) => t,
        Err(_) => tempfile::tempdir().unwrap(),
    };
    let scripts = tmp.path().join("scripts");
    let logs = tmp.path().join("logs");
    std::fs::create_dir(&scripts).unwrap();
    std::fs::create_dir(&logs).unwrap();
    Fixture { tmp, scripts, logs }
}

fn open_descriptors(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

#[test]
fn five_thousand_logs_under_a_limit_of_1024_descriptors() {
    const N: usize = 5000;
    let fx = fast_fixture();
    let ids: Vec<String> = (1..=N).map(|i| format!("svc{i:04}")).collect();
    for id in &ids {
        fx.script(&format!("{id}.sh"), &format!("Service {id}"));
        fx.append(id, line("OK", &format!("{id} at start")));
    }
    let server = start_limited(&fx, 1024);

    let held = open_descriptors(server.pid());
    assert!(held < 64, "{held} descriptors held for {N} idle logs");
    let (code, _) = server.get("/healthz");
    assert_eq!(code, 200);

    let mut c = server.connect();
    let (ready, statuses) = c.snapshot(N);
    assert_eq!(ready["data"]["services"].as_array().unwrap().len(), N);
    let mut got: Vec<String> = statuses
        .iter()
        .map(|s| s["data"]["message"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let want: Vec<String> = ids.iter().map(|id| format!("{id} at start")).collect();
    assert_eq!(got, want);

    fx.append(&ids[N - 1], line("FAILURE", "the last one, live"));
    assert_eq!(
        c.next_status(),
        (
            "svc5000".into(),
            "FAILURE".into(),
            "the last one, live".into()
        )
    );
    // A thousand logs changing hold a bounded number of descriptors.
    for id in &ids[..1000] {
        fx.append(id, line("WARNING", id));
    }
    for _ in 0..1000 {
        c.next_status();
    }
    let held = open_descriptors(server.pid());
    assert!(held < 300, "{held} descriptors after 1000 logs changed");
    assert_eq!(server.get("/healthz").0, 200);
}

/// The number of threads of process `pid`.
fn threads(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count()
}

/// Viewers are served by a few writer threads, not a thread each: 300 of
/// them leave the broadcaster with about as many threads as one does, and
/// every one of them still gets every live line, in order, and the close
/// frame of a shutdown.
#[test]
fn three_hundred_viewers_share_a_few_threads() {
    const N: usize = 300;
    let fx = Fixture::new();
    fx.script("svc.sh", "Service");
    fx.append("svc", line("OK", "start"));
    let mut server = Server::start_with(
        &fx,
        &["--max-clients", "1000"],
        &[
            ("SSI_BROADCASTER_MAX_PENDING", "1000"),
            ("SSI_BROADCASTER_MAX_PENDING_PER_SOURCE", "1000"),
        ],
    );
    let mut first = server.connect();
    first.snapshot(1);
    let alone = threads(server.pid());
    let mut clients = vec![first];
    for _ in 1..N {
        let mut c = server.connect();
        c.snapshot(1);
        clients.push(c);
    }
    let many = threads(server.pid());
    assert!(
        many <= alone + 8,
        "{many} threads for {N} viewers, {alone} for one: a thread per viewer?"
    );
    for i in 0..5 {
        fx.append("svc", line("WARNING", &format!("line {i}")));
        for c in clients.iter_mut() {
            let (_, status, message) = c.next_status();
            assert_eq!((status.as_str(), message), ("WARNING", format!("line {i}")));
        }
    }
    server.signal(libc::SIGTERM);
    for c in clients.iter_mut() {
        let (_, code) = c.read_to_close();
        assert_eq!(
            code,
            Some(tungstenite::protocol::frame::coding::CloseCode::Away)
        );
    }
    assert_eq!(
        server.wait_exit(std::time::Duration::from_secs(10)),
        Some(0)
    );
}
