//! The lock on `/admin/*`: a bearer token when one is configured; without one, loopback only
//! and never through a proxy. Requests go to the real binary, directly and through a small
//! reverse proxy on loopback that adds `X-Forwarded-For`, as nginx in front of it would.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use crate::exe;
use crate::server::{config, request, Response, Server};

const TOKEN: &str = "test-admin-token-0123456789abcdef";

fn server(extra: &str) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = exe::demo_shop();
    let conf = config(
        dir.path(),
        &format!("http:\n  rate_limit: {{per_minute: 0}}\n{extra}"),
    );
    args.extend(["--config".into(), conf.into()]);
    let server = Server::start(args);
    server.wait_ready();
    (server, dir)
}

/// A reverse proxy on a free loopback port: each connection's request is forwarded to
/// `upstream` with `X-Forwarded-For` added (the client's address, as nginx's
/// `$proxy_add_x_forwarded_for` does), and the answer copied back. Runs until the test ends.
fn reverse_proxy(upstream: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let upstream = upstream.clone();
            thread::spawn(move || forward(client, &upstream));
        }
    });
    addr
}

fn forward(mut client: TcpStream, upstream: &str) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    // The head, then as much body as Content-Length says.
    let head_end = loop {
        let n = client.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + 4 + length {
        let n = client.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let peer = client.peer_addr().unwrap().ip();
    let (first, rest) = head.split_once("\r\n").unwrap_or((&head, ""));
    let mut out = format!("{first}\r\nX-Forwarded-For: {peer}\r\n{rest}\r\n\r\n").into_bytes();
    out.extend_from_slice(&raw[head_end + 4..]);
    let mut up = TcpStream::connect(upstream).unwrap();
    up.write_all(&out).unwrap();
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    let _ = client.write_all(&answer);
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn without_a_token_admin_is_loopback_only_and_refused_through_a_proxy() {
    let (server, _dir) = server("");
    server.get("/admin/status").expect(200);
    server.get("/admin/tickets").expect(200);
    // The dashboard: its page and its data, to loopback.
    assert_eq!(server.get("/admin/").status, 200);
    server.get("/admin/api/report").expect(200);

    let proxy = reverse_proxy(server.addr.clone());
    // The proxy works: public endpoints answer through it.
    assert_eq!(request(&proxy, "GET", "/healthz", &[], b"").status, 200);
    // But every request through it comes from loopback, and admin refuses it, the
    // dashboard's page included.
    for path in [
        "/admin/status",
        "/admin/tickets",
        "/admin/",
        "/admin/dashboard.js",
        "/admin/api/report",
        "/admin/api/gaps",
    ] {
        request(&proxy, "GET", path, &[], b"").expect_error(403, "forbidden");
    }
    request(&proxy, "POST", "/admin/tickets/esc_x/retry", &[], b"").expect_error(403, "forbidden");
    // Whatever header the proxy uses.
    for header in ["Forwarded", "X-Real-IP"] {
        server
            .request("GET", "/admin/status", &[(header, "for=203.0.113.7")], b"")
            .expect_error(403, "forbidden");
    }
}

#[test]
fn with_a_token_admin_needs_it_from_everywhere() {
    let (server, _dir) = server(&format!("admin:\n  token: {TOKEN}\n"));
    let unauthorized = |r: Response| {
        r.expect_error(401, "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    };
    unauthorized(server.get("/admin/status"));
    unauthorized(server.request(
        "GET",
        "/admin/tickets",
        &[(
            "Authorization",
            &bearer("test-admin-token-0123456789abcdeX"),
        )],
        b"",
    ));
    unauthorized(server.request("GET", "/admin/status", &[("Authorization", TOKEN)], b""));
    let good = bearer(TOKEN);
    let ok = server.request("GET", "/admin/status", &[("Authorization", &good)], b"");
    assert_eq!(ok.expect(200)["ready"], true);
    server
        .request("GET", "/admin/tickets", &[("Authorization", &good)], b"")
        .expect(200);
    server
        .request(
            "POST",
            "/admin/tickets/esc_nope/retry",
            &[("Authorization", &good)],
            b"",
        )
        .expect_error(404, "unknown_ticket");

    // Through the proxy: refused without the token, served with it.
    let proxy = reverse_proxy(server.addr.clone());
    unauthorized(request(&proxy, "GET", "/admin/status", &[], b""));
    request(
        &proxy,
        "GET",
        "/admin/status",
        &[("Authorization", &good)],
        b"",
    )
    .expect(200);
    // The dashboard's page holds no data and is served without the token (it asks for it);
    // its data needs the token, through the proxy too.
    let page = request(&proxy, "GET", "/admin/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Admin token"), "{}", page.body);
    unauthorized(request(&proxy, "GET", "/admin/api/report", &[], b""));
    request(
        &proxy,
        "GET",
        "/admin/api/report",
        &[("Authorization", &good)],
        b"",
    )
    .expect(200);
    // The token never shows in the log.
    assert!(!server.log().contains(TOKEN));
}

#[test]
fn a_short_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let conf = config(dir.path(), "admin:\n  token: short\n");
    let out = exe::run(
        exe::concierge(["check", "--config"])
            .arg(conf)
            .args(exe::demo_shop()),
        b"",
    );
    let err = out.stderr.clone();
    assert_ne!(out.code(), Some(0), "{err}");
    assert!(err.contains("admin.token"), "{err}");
}
