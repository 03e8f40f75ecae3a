//! A [`Session`]'s token dance against a scripted registry and token
//! service on 127.0.0.1: a 401 with a Bearer challenge is answered with a
//! token fetched with Basic credentials, or with an identity token traded
//! through the OAuth2 refresh-token grant; a 429 from the token service is
//! waited out; the secrets go only where they belong.

use super::credentials::Credentials;
use super::distribution::{RegistryError, Session};
use imgscan_sbom::retry::RetryPolicy;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request: its request line, headers (lower-cased names) and body.
#[derive(Debug, Clone)]
struct Request {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves every connection with `answer` (a whole HTTP response); returns
/// `host:port` and the requests seen.
fn serve(
    answer: impl Fn(&Request, &str) -> String + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let seen: Arc<Mutex<Vec<Request>>> = Arc::default();
    let (log, answer, me) = (Arc::clone(&seen), Arc::new(answer), host.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let Some((k, v)) = header.trim_end().split_once(':') else {
                    break;
                };
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            let mut request = Request {
                line: line.trim_end().to_string(),
                headers,
                body: String::new(),
            };
            let length = request
                .header("content-length")
                .map_or(0, |n| n.parse().unwrap());
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            request.body = String::from_utf8(body).unwrap();
            let response = answer(&request, &me);
            log.lock().unwrap().push(request);
            let mut stream = stream;
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (host, seen)
}

fn respond(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

const MANIFEST: &str = r#"{"schemaVersion":2}"#;

/// A registry whose manifests need `Bearer good-token`, with its token
/// service at `/token` handing it out when `grant` accepts the request;
/// the token service answers 429 once first.
fn token_registry(grant: fn(&Request) -> bool) -> (String, Arc<Mutex<Vec<Request>>>) {
    let throttled = Mutex::new(false);
    serve(move |request, host| {
        if request.line.contains(" /token") {
            let mut throttled = throttled.lock().unwrap();
            if !*throttled {
                *throttled = true;
                return respond("429 Too Many Requests", "Retry-After: 0\r\n", "");
            }
            return if grant(request) {
                respond("200 OK", "", r#"{"access_token":"good-token"}"#)
            } else {
                respond("401 Unauthorized", "", "")
            };
        }
        if request.header("authorization") == Some("Bearer good-token") {
            return respond("200 OK", "", MANIFEST);
        }
        let challenge = format!(
            "WWW-Authenticate: Bearer realm=\"http://{host}/token\",service=\"test-registry\"\r\n"
        );
        respond("401 Unauthorized", &challenge, "")
    })
}

fn session(host: &str, credentials: Option<Credentials>) -> Session {
    let policy = RetryPolicy {
        first_wait: Duration::from_millis(1),
        ..RetryPolicy::default()
    };
    Session::new(
        reqwest::Client::new(),
        "http",
        host,
        "team/app",
        credentials,
        policy,
    )
}

fn pull(session: &Session) -> Result<Vec<u8>, RegistryError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(session.manifest("1", 1 << 20))
        .map(|(bytes, _)| bytes)
}

#[test]
fn an_identity_token_is_traded_for_an_access_token() {
    let (host, seen) = token_registry(|request| {
        request.line.starts_with("POST ")
            && request.body.contains("grant_type=refresh_token")
            && request.body.contains("refresh_token=refresh-123")
            && request.body.contains("service=test-registry")
            && request
                .body
                .contains("scope=repository%3Ateam%2Fapp%3Apull")
    });
    let credentials = Credentials {
        username: "<token>".into(),
        password: "refresh-123".into(),
    };
    let bytes = pull(&session(&host, Some(credentials))).unwrap();
    assert_eq!(bytes, MANIFEST.as_bytes());
    let seen = seen.lock().unwrap();
    let tokens = seen.iter().filter(|r| r.line.contains(" /token")).count();
    assert_eq!(tokens, 2, "the 429 was retried: {seen:?}");
    for request in seen.iter().filter(|r| !r.line.contains(" /token")) {
        assert!(
            !request.line.contains("refresh-123")
                && request.header("authorization") != Some("Bearer refresh-123"),
            "the identity token goes to the token service only: {request:?}"
        );
    }
}

#[test]
fn basic_credentials_fetch_a_bearer_token() {
    let (host, _) = token_registry(|request| {
        // alice:pw
        request.line.starts_with("GET ")
            && request.header("authorization") == Some("Basic YWxpY2U6cHc=")
    });
    let credentials = Credentials {
        username: "alice".into(),
        password: "pw".into(),
    };
    assert_eq!(
        pull(&session(&host, Some(credentials))).unwrap(),
        MANIFEST.as_bytes()
    );
    let refused = pull(&session(&host, None)).unwrap_err();
    assert!(
        matches!(refused, RegistryError::Unauthorized { status: 401, .. }),
        "{refused}"
    );
}
