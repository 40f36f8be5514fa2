//! A bad configuration means no start: `docgate serve` checks every section
//! once (`Config::validate`) before it opens the register, binds a socket or
//! starts a task, and exits 1 naming the key and the reason.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_docgate");

/// `docgate serve` on a free loopback port, with `args` before the
/// subcommand and `env` set.
fn serve(data: &Path, port: u16, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("DOCGATE_CONFIG")
        .env_remove("DOCGATE_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_millis(100),
    )
    .is_ok()
}

/// Runs the command until it exits (at most `limit`), trying the port all the
/// while; returns its exit code, stderr and whether anything answered on the port.
fn run_watching(mut cmd: Command, port: u16, limit: Duration) -> (Option<i32>, String, bool) {
    let mut child = cmd.spawn().expect("start docgate");
    let start = Instant::now();
    let mut answered = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        answered |= listening(port);
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "docgate serve did not exit within {limit:?} (answered on the port: {answered})"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err, answered)
}

/// What is wrong, the arguments, the environment and the key the message names.
type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn a_bad_key_in_any_section_refuses_the_start_naming_the_key_before_anything_listens() {
    let dir = tempfile::tempdir().unwrap();
    let imap = dir.path().join("imap.toml");
    std::fs::write(
        &imap,
        r#"[[ingest.imap]]
name = "postkast"
host = "imap.example.ee"
security = "plain"
username = "dokumendid"
"#,
    )
    .unwrap();
    let imap = imap.to_str().unwrap().to_string();
    let cases: Vec<Case> = vec![
        (
            "an IMAP account in plain text off loopback",
            vec!["--config", &imap],
            vec![],
            "ingest.imap.security",
        ),
        (
            "an unknown staff_sees rule",
            vec!["--set", r#"web.staff_sees=["everyone"]"#],
            vec![],
            "web.staff_sees",
        ),
        (
            "an adapter server that is no X-Road identifier",
            vec!["--set", "dhx.adapter_server=EE/GOV"],
            vec![],
            "dhx.adapter_server",
        ),
        (
            "an unknown drop-folder channel",
            vec![],
            vec![("DOCGATE_INGEST__DROP_CHANNEL", "pigeon")],
            "ingest.drop_channel",
        ),
        (
            "a zero poll interval",
            vec!["--set", "search.poll=0s"],
            vec![],
            "search.poll",
        ),
        (
            "a duration without its unit",
            vec![],
            vec![("DOCGATE_OCR__POLL_INTERVAL", "2000")],
            "ocr.poll_interval",
        ),
        (
            "an SMTP lease shorter than one conversation",
            vec![
                "--set",
                "outbox.smtp.lease=10s",
                "--set",
                "outbox.smtp.timeout=30s",
            ],
            vec![],
            "outbox.smtp.lease",
        ),
    ];
    for (what, args, env, key) in cases {
        let data = dir.path().join("data");
        let port = docgate::testing::free_port();
        let (code, err, answered) = run_watching(
            serve(&data, port, &args, &env),
            port,
            Duration::from_secs(30),
        );
        assert_eq!(code, Some(2), "{what}: exit code; stderr: {err}");
        assert!(err.contains(key), "{what}: the message names {key}: {err}");
        assert!(!answered, "{what}: something listened on the port");
        assert!(!listening(port), "{what}: the port is free");
        assert!(
            !data.exists(),
            "{what}: the register was opened (data directory created) before the check"
        );
    }
}

/// The control: the same command with a good configuration does listen (so
/// the test above would see a listener if there were one).
#[test]
fn the_same_start_with_a_good_configuration_listens() {
    let dir = tempfile::tempdir().unwrap();
    let port = docgate::testing::free_port();
    let mut child = serve(
        &dir.path().join("data"),
        port,
        &["--set", "search.poll=200ms"],
        &[],
    )
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let start = Instant::now();
    let mut up = false;
    while start.elapsed() < Duration::from_secs(120) {
        if listening(port) {
            up = true;
            break;
        }
        if let Some(s) = child.try_wait().unwrap() {
            panic!("docgate serve exited with {s}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "docgate serve did not listen on 127.0.0.1:{port}");
}
