//! Hostile HTTP: one real `docgate serve --demo` process (the built binary) with
//! a DHX listener on its own loopback port, and ≥ 2,000 generated requests from a
//! bounded loop to the pages, `/avalik`, the API and `/dhx`: huge offsets and
//! limits, deep nesting, 100 KB fields, long titles, invalid UTF-8 and bad
//! percent-encoding, bad JSON, oversized bodies, gzip bombs inside capsules and
//! parallel bombs. No answer may be a 5xx (except the DHX budget's 503), and
//! afterwards the same process answers `/healthz` with its peak RSS under 500 MB.
//!
//! Loopback only; the loop stops by itself.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docgate::dhx::{capsule, soap};
use futures::StreamExt;

const BIN: &str = env!("CARGO_BIN_EXE_docgate");

struct Server {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
    dhx_port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn docgate(data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir").arg(data);
    c.env_remove("DOCGATE_CONFIG")
        .env("DOCGATE_WEB__PUBLIC_RATE_PER_MINUTE", "0")
        .env("DOCGATE_DHX__ALLOWED_CLIENTS", "[\"127.0.0.1\"]");
    c
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (port, dhx_port) = (docgate::testing::free_port(), docgate::testing::free_port());
    let out = dir.path().join("stdout.txt");
    let child = docgate(&dir.path().join("data"))
        .args(["serve", "--demo", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--dhx-listen")
        .arg(format!("127.0.0.1:{dhx_port}"))
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    let mut s = Server {
        child,
        dir,
        url: format!("http://127.0.0.1:{port}"),
        dhx_port,
    };
    let started = Instant::now();
    loop {
        let web = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        let dhx = std::net::TcpStream::connect(("127.0.0.1", dhx_port)).is_ok();
        if web
            && dhx
            && std::fs::read_to_string(&out)
                .unwrap_or_default()
                .contains("password")
        {
            return s;
        }
        if let Ok(Some(st)) = s.child.try_wait() {
            panic!(
                "docgate serve exited {st}: {}",
                std::fs::read_to_string(s.dir.path().join("stderr.txt")).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The peak resident set of a process, in kB (VmHWM, else VmRSS).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    field("VmHWM:").or_else(|| field("VmRSS:")).unwrap()
}

fn rss_line(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmHWM:") || l.starts_with("VmRSS:"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A small deterministic generator (xorshift): the same requests every run.
struct Gen(u64);
impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// What to send.
#[derive(Clone)]
struct Req {
    what: &'static str,
    method: reqwest::Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Arc<Vec<u8>>>,
    /// A 503 is the intended answer of a spent DHX budget.
    dhx: bool,
}

impl Req {
    fn get(what: &'static str, url: String) -> Req {
        Req {
            what,
            method: reqwest::Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            dhx: false,
        }
    }
    fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.into(), v.into()));
        self
    }
    fn body(mut self, method: reqwest::Method, b: Vec<u8>) -> Req {
        self.method = method;
        self.body = Some(Arc::new(b));
        self
    }
}

#[derive(Default)]
struct Tally {
    sent: usize,
    /// (what, status) → count
    statuses: BTreeMap<(String, u16), usize>,
    /// 5xx answers that are not the DHX budget's 503.
    bad: Vec<String>,
    transport_errors: Vec<String>,
}

async fn send(client: &reqwest::Client, r: Req, tally: &Mutex<Tally>) {
    let mut b = client.request(r.method.clone(), &r.url);
    for (k, v) in &r.headers {
        b = b.header(k, v);
    }
    if let Some(body) = &r.body {
        b = b.body(body.as_ref().clone());
    }
    let res = b.send().await;
    let mut t = tally.lock().unwrap();
    t.sent += 1;
    match res {
        Ok(resp) => {
            let st = resp.status().as_u16();
            *t.statuses.entry((r.what.to_string(), st)).or_default() += 1;
            let intended = r.dhx && st == 503;
            if st >= 500 && !intended {
                let u: String = r.url.chars().take(200).collect();
                t.bad.push(format!("{} {} {u} -> {st}", r.what, r.method));
            }
        }
        Err(e) => {
            // A server may close the connection of an oversized upload after
            // answering 413; anything else is a failure.
            let big = r.body.as_ref().is_some_and(|b| b.len() > 8 << 20);
            if !big {
                let u: String = r.url.chars().take(200).collect();
                t.transport_errors.push(format!("{} {u}: {e}", r.what));
            }
        }
    }
}

fn capsule_to(to: &str, title: &str) -> String {
    let xml = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dhx/capsule/kapsel_21.xml"),
    )
    .unwrap();
    let mut c = capsule::read(&xml, &Default::default()).unwrap();
    c.transport.dec_recipients = vec![capsule::DecParty {
        organisation_code: to.into(),
        ..Default::default()
    }];
    c.record_metadata.record_title = title.into();
    for f in &mut c.files {
        f.content = b"BOMB".to_vec();
        f.size = Some("4".into());
        f.content_error = None;
    }
    capsule::write(&c).unwrap()
}

/// base64(gzip(`n` zero bytes)), made without holding the zeros.
fn zero_bomb(n: usize) -> String {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(zeros.len());
        enc.write_all(&zeros[..k]).unwrap();
        left -= k;
    }
    capsule::b64_encode(&enc.finish().unwrap())
}

/// A sendDocument request whose capsule's file is `bomb` (base64 of gzip).
fn dhx_request(consignment: &str, title: &str, bomb: Option<&str>) -> (String, Vec<u8>) {
    let mut xml = capsule_to("70001975", title);
    if let Some(bomb) = bomb {
        let start = xml.find("<ZipBase64Content>").unwrap() + "<ZipBase64Content>".len();
        let end = xml[start..].find("</ZipBase64Content>").unwrap() + start;
        xml.replace_range(start..end, bomb);
    }
    let header = soap::XRoadHeader {
        client: Some(soap::XRoadId::subsystem("EE", "GOV", "70000740", "DHX")),
        id: Some("h".into()),
        protocol_version: Some("4.0".into()),
        ..Default::default()
    };
    soap::build_send_document(&header, consignment, None, xml.as_bytes())
}

/// Logs in through the form (login CSRF cookie, then the session cookie).
async fn session(client: &reqwest::Client, url: &str, name: &str, pw: &str) -> String {
    let r = client.get(format!("{url}/login")).send().await.unwrap();
    let cookie_of = |r: &reqwest::Response, name: &str| -> Option<String> {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_string())
    };
    let login_cookie = cookie_of(&r, "docgate_login_csrf").expect("login csrf cookie");
    let token = login_cookie.split_once('=').unwrap().1.to_string();
    let r = client
        .post(format!("{url}/login"))
        .header("cookie", &login_cookie)
        .form(&[("csrf", token.as_str()), ("name", name), ("password", pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "login as {name}");
    cookie_of(&r, "docgate_session").expect("session cookie")
}

fn token(data: &Path, user: &str) -> String {
    let out = docgate(data)
        .args(["token", "create", user, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_string()
}

fn multipart(title: &str) -> (String, Vec<u8>) {
    let boundary = "hostileboundary7MA4YWxkTrZu0gW";
    let meta = serde_json::json!({"direction": "incoming", "channel": "post", "title": title});
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n--{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[test]
fn hostile_requests_leave_the_server_alive_and_small() {
    let srv = start();
    let data: PathBuf = srv.dir.path().join("data");
    let printed = std::fs::read_to_string(srv.dir.path().join("stdout.txt")).unwrap();
    let pw = |who: &str| -> String {
        printed
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{who} ")))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or_else(|| panic!("no login for {who} in: {printed}"))
            .to_string()
    };
    let bearer = format!("Bearer {}", token(&data, "kati"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let url = srv.url.clone();
    let dhx = format!("http://127.0.0.1:{}/dhx", srv.dhx_port);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let sess = rt.block_on(session(&client, &url, "kati", &pw("kati")));
    let pid = srv.child.id();
    eprintln!("hostile: started: {}", rss_line(pid));

    // ------------------------------------------------------------ the regressions
    rt.block_on(async {
        // a huge offset: 400, not a 48 GB allocation
        let r = client
            .get(format!("{url}/avalik?q=ohvriabi&offset=1000000000"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "/avalik huge offset");
        // 5,000 nested parentheses: 400 on /avalik and the staff API, no stack overflow
        let deep = format!("{}ohver{}", "(".repeat(5000), ")".repeat(5000));
        let r = client
            .get(format!("{url}/avalik"))
            .query(&[("q", deep.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "/avalik deep nesting");
        let r = client
            .get(format!("{url}/api/v1/search"))
            .query(&[("q", deep.as_str())])
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "API deep nesting");
        let r = client
            .get(format!("{url}/api/v1/search?q=ohver&offset=1000000000"))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "API huge offset");
        let r = client
            .get(format!("{url}/search"))
            .query(&[("q", deep.as_str())])
            .header("cookie", &sess)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "staff search page deep nesting");
        let deep16 = format!("{}ohver{}", "(".repeat(17), ")".repeat(17));
        let r = client
            .get(format!("{url}/api/v1/search"))
            .query(&[("q", deep16.as_str())])
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "API nesting 17 deep");
        assert!(r.text().await.unwrap().contains("nested more than 16 deep"));
        // redirects stay on the site; a newline falls back to "/"
        for back in [
            "/%09/evil.example",
            "%0A%0Dx",
            "/%0Aevil",
            "//evil.example",
            "/%5Cevil.example",
            "https://evil.example/",
        ] {
            let r = client
                .get(format!("{url}/lang/en?back={back}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 303, "back={back}");
            assert_eq!(r.headers()["location"], "/", "back={back}");
        }
        let r = client
            .get(format!("{url}/lang/en?back=/avalik%3Fq%3Dohver"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/avalik?q=ohver");
        // POST /dhx is not on the web port
        let r = client
            .post(format!("{url}/dhx"))
            .body("<x/>")
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 404 | 405),
            "POST /dhx on the web port: {}",
            r.status()
        );
        // and on the DHX port only from an allowed address: 127.0.0.2 is not
        let other = reqwest::Client::builder()
            .local_address(Some("127.0.0.2".parse().unwrap()))
            .build()
            .unwrap();
        let (ct, body) = dhx_request("spoof-1", "Võltsitud", None);
        let r = other
            .post(&dhx)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "DHX from a non-allowed address");
    });

    eprintln!("hostile: after the regressions: {}", rss_line(pid));

    // ------------------------------------------------------------ generated requests
    let bomb = zero_bomb(300 << 20);
    let big_title = "Pealkiri ".repeat(100 * 1024 / 9);
    let field_100k = "ö".repeat(50 * 1024);
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let words = [
        "ohver",
        "ohvriabi",
        "kuriteo",
        "hüvitis",
        "Jüri",
        "politsei",
        "a*",
        "\"kuriteo ohver\"",
        "NOT",
        "OR",
        "(",
        ")",
        "-",
    ];
    let backs = [
        "/%09/evil.example",
        "%0A",
        "/%0D%0ASet-Cookie:%20x=y",
        "//x",
        "/\\x",
        "/%E2%80%A8x",
        "/ok",
        "javascript:alert(1)",
        "/%FF%FE",
    ];
    let bad_enc = [
        "%ZZ",
        "%",
        "%F",
        "%FF%FE%FD",
        "%C0%AF",
        "%ED%A0%80",
        "a%00b",
        "%E2%82",
    ];
    let mut reqs: Vec<Req> = Vec::new();
    let mut i = 0u64;
    while reqs.len() < 2200 {
        i += 1;
        let q = (0..1 + g.below(4))
            .map(|_| g.pick(&words))
            .collect::<Vec<_>>()
            .join(" ");
        let huge = [
            0u64,
            1,
            20,
            9_999,
            10_001,
            1_000_000_000,
            u32::MAX as u64,
            i64::MAX as u64,
        ][g.below(8) as usize];
        let nest = [0usize, 15, 16, 17, 100, 5000][g.below(6) as usize];
        let nested = format!("{}{q}{}", "(".repeat(nest), ")".repeat(nest));
        let enc = |s: &str| docgate::web::pages::urlencode(s);
        let r = match g.below(16) {
            0 => Req::get(
                "avalik offset",
                format!("{url}/avalik?q={}&offset={huge}", enc(&q)),
            ),
            1 => Req::get("avalik nesting", format!("{url}/avalik?q={}", enc(&nested))),
            2 => Req::get(
                "api search",
                format!(
                    "{url}/api/v1/search?q={}&offset={huge}&limit={}",
                    enc(&q),
                    [1u64, 100, 101, 1000, huge][g.below(5) as usize]
                ),
            )
            .header("authorization", &bearer),
            3 => Req::get(
                "api search nesting",
                format!("{url}/api/v1/search?q={}", enc(&nested)),
            )
            .header("authorization", &bearer),
            4 => Req::get(
                "staff search",
                format!("{url}/search?q={}&offset={huge}", enc(&q)),
            )
            .header("cookie", &sess),
            5 => Req::get(
                "lang back",
                format!(
                    "{url}/lang/{}?back={}",
                    g.pick(&["en", "et", "xx"]),
                    g.pick(&backs)
                ),
            ),
            6 => Req::get(
                "bad encoding",
                format!(
                    "{url}{}{}",
                    g.pick(&[
                        "/avalik?q=",
                        "/search?q=",
                        "/api/v1/search?q=",
                        "/documents/",
                        "/api/v1/documents/",
                        "/avalik/dokument/",
                        "/lang/"
                    ]),
                    g.pick(&bad_enc)
                ),
            )
            .header("authorization", &bearer)
            .header("cookie", &sess),
            7 => Req::get(
                "api list",
                format!("{url}/api/v1/documents?limit={huge}&offset={huge}"),
            )
            .header("authorization", &bearer),
            8 => Req::get("documents page", format!("{url}/documents?offset={huge}"))
                .header("cookie", &sess),
            9 => Req::get("login 100k", format!("{url}/login"))
                .body(
                    reqwest::Method::POST,
                    format!(
                        "csrf={}&name={}&password=x",
                        enc(&field_100k),
                        enc(&field_100k)
                    )
                    .into_bytes(),
                )
                .header("content-type", "application/x-www-form-urlencoded"),
            10 => {
                let title = match g.below(3) {
                    0 => big_title.clone(),
                    1 => format!("Lühike {i}"),
                    _ => field_100k.clone(),
                };
                let (ct, body) = multipart(&title);
                Req::get("register long title", format!("{url}/api/v1/documents"))
                    .body(reqwest::Method::POST, body)
                    .header("authorization", &bearer)
                    .header("content-type", &ct)
            }
            11 => Req::get(
                "bad json",
                format!(
                    "{url}/api/v1/documents/{}{}",
                    1 + g.below(5),
                    g.pick(&["", "/restriction", "/reply"])
                ),
            )
            .body(
                if g.below(2) == 0 {
                    reqwest::Method::PATCH
                } else {
                    reqwest::Method::POST
                },
                g.pick(&[
                    "{not json",
                    "[1,2",
                    "{\"title\": \"\\uD800\"}",
                    "\u{0}",
                    "{\"title\": 5}",
                    "nulll",
                ])
                .as_bytes()
                .to_vec(),
            )
            .header("authorization", &bearer)
            .header("content-type", "application/json"),
            12 => Req::get("invalid utf-8 body", format!("{url}/api/v1/documents/1"))
                .body(
                    reqwest::Method::PATCH,
                    vec![b'{', b'"', b't', b'"', b':', b'"', 0xff, 0xfe, b'"', b'}'],
                )
                .header("authorization", &bearer)
                .header("content-type", "application/json"),
            13 => {
                let (ct, body) = dhx_request(&format!("h-{i}"), &format!("Kiri {i}"), None);
                Req {
                    dhx: true,
                    ..Req::get("dhx valid", dhx.clone())
                        .body(reqwest::Method::POST, body)
                        .header("content-type", &ct)
                }
            }
            14 => {
                let body: Vec<u8> = match g.below(4) {
                    0 => b"<not xml".to_vec(),
                    1 => format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000)).into_bytes(),
                    2 => vec![0xff; 4096],
                    _ => b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>".to_vec(),
                };
                Req {
                    dhx: true,
                    ..Req::get("dhx garbage", dhx.clone())
                        .body(reqwest::Method::POST, body)
                        .header("content-type", "text/xml")
                }
            }
            // gzip bombs are a quarter of these (each inflates up to the 200 MB limit)
            _ if g.below(4) == 0 => {
                let (ct, body) = dhx_request(&format!("b-{i}"), "Pomm", Some(&bomb));
                Req {
                    dhx: true,
                    ..Req::get("dhx gzip bomb", dhx.clone())
                        .body(reqwest::Method::POST, body)
                        .header("content-type", &ct)
                }
            }
            _ => {
                let (ct, body) = dhx_request(&format!("v-{i}"), &format!("Kiri {i}"), None);
                Req {
                    dhx: true,
                    ..Req::get("dhx valid", dhx.clone())
                        .body(reqwest::Method::POST, body)
                        .header("content-type", &ct)
                }
            }
        };
        reqs.push(r);
    }
    // Oversized bodies: the web's body limit and the DHX request limit (50 MB).
    let big = Arc::new(vec![b'a'; 70 << 20]);
    for k in 0..3 {
        let mut r = Req::get("web oversized", format!("{url}/api/v1/documents"))
            .header("authorization", &bearer)
            .header("content-type", "multipart/form-data; boundary=x");
        r.method = reqwest::Method::POST;
        r.body = Some(big.clone());
        reqs.push(r);
        let mut r = Req::get("dhx oversized", dhx.clone()).header("content-type", "text/xml");
        r.method = reqwest::Method::POST;
        r.body = Some(big.clone());
        r.dhx = true;
        reqs.push(r);
        let _ = k;
    }
    let tally = Mutex::new(Tally::default());
    let started = Instant::now();
    rt.block_on(async {
        futures::stream::iter(reqs)
            .for_each_concurrent(8, |r| send(&client, r, &tally))
            .await;
        eprintln!("hostile: after the generated requests: {}", rss_line(pid));
        // Parallel bombs: 16 gzip bombs at once, then 16 large bodies at once.
        let bombs: Vec<Req> = (0..16)
            .map(|k| {
                let (ct, body) = dhx_request(&format!("pb-{k}"), "Pomm", Some(&bomb));
                Req {
                    dhx: true,
                    ..Req::get("dhx parallel bomb", dhx.clone())
                        .body(reqwest::Method::POST, body)
                        .header("content-type", &ct)
                }
            })
            .collect();
        futures::future::join_all(bombs.into_iter().map(|r| send(&client, r, &tally))).await;
        eprintln!("hostile: after 16 parallel bombs: {}", rss_line(pid));
        let large = Arc::new(vec![b' '; 40 << 20]);
        let bodies: Vec<Req> = (0..16)
            .map(|_| {
                let mut r =
                    Req::get("dhx parallel large", dhx.clone()).header("content-type", "text/xml");
                r.method = reqwest::Method::POST;
                r.body = Some(large.clone());
                r.dhx = true;
                r
            })
            .collect();
        futures::future::join_all(bodies.into_iter().map(|r| send(&client, r, &tally))).await;
        eprintln!("hostile: after 16 parallel large bodies: {}", rss_line(pid));
    });
    let t = tally.into_inner().unwrap();
    eprintln!(
        "hostile: {} requests in {:.1} s: {:?}",
        t.sent,
        started.elapsed().as_secs_f64(),
        t.statuses
    );
    assert!(t.sent >= 2000, "only {} requests", t.sent);
    assert!(t.bad.is_empty(), "5xx answers: {:#?}", t.bad);
    assert!(
        t.transport_errors.is_empty(),
        "failed requests: {:#?}",
        t.transport_errors
    );
    // The budget's 503 is what parallel bombs get, never a crash.
    let served_bombs: usize = t
        .statuses
        .iter()
        .filter(|((w, _), _)| w.starts_with("dhx parallel"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        served_bombs >= 16,
        "parallel bombs answered: {served_bombs}"
    );

    // The same process is alive, answers /healthz, and stayed small.
    let alive = rt.block_on(async {
        client
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(alive, "ok");
    assert!(srv_alive(&srv), "the server process is gone");
    let kb = peak_rss_kb(srv.child.id());
    eprintln!("hostile: peak RSS {} MB", kb / 1024);
    assert!(kb < 500 * 1024, "peak RSS {} MB", kb / 1024);
}

fn srv_alive(s: &Server) -> bool {
    Path::new(&format!("/proc/{}", s.child.id())).exists()
}
