//! A fault-injecting HTTP proxy on 127.0.0.1 for the registry tests: it
//! stands in front of a real registry and, for the requests whose path
//! matches a rule, answers with an error status, cuts the response body
//! off after some bytes, trickles it out slowly, or hides the `Range`
//! header from the registry; every other request is forwarded untouched. Each connection carries one request (the proxy
//! asks the registry for `Connection: close`), so every request meets the
//! rules. Every request is logged with its `Range` (as the client sent it)
//! and the fault it met.

use crate::http_server::{header, read_head};
use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to a request a rule matches.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status line (`503 Service Unavailable`) and these
    /// extra header lines (each ending in `\r\n`), without forwarding.
    Status(&'static str, &'static str),
    /// Forward, and close the connection after this many body bytes.
    Cut(usize),
    /// Forward, sending the body this many bytes at a time, each after
    /// this pause, until the client gives up.
    Trickle(usize, Duration),
    /// Forward without the `Range` header, as a registry that does not
    /// serve ranges answers: the whole body.
    NoRange,
}

/// A fault for requests whose path contains `path`, the next `times` of
/// them (`usize::MAX`: all).
#[derive(Debug, Clone)]
pub struct Rule {
    pub path: String,
    pub fault: Fault,
    pub times: usize,
}

impl Rule {
    pub fn new(path: &str, fault: Fault, times: usize) -> Self {
        Rule {
            path: path.to_string(),
            fault,
            times,
        }
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
    pub fault: Option<Fault>,
}

/// A running proxy; it lives as long as the test process.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`.
    pub host: String,
    state: Arc<Mutex<(Vec<Rule>, Vec<Seen>)>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`host:port`) with `rules`.
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new((rules, Vec::new())));
        let shared = Arc::clone(&state);
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &state);
                });
            }
        });
        FaultProxy { host, state }
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().1.clone()
    }
}

/// Handles one connection: one request, its answer, then close.
fn serve(
    client: TcpStream,
    upstream: &str,
    state: &Mutex<(Vec<Rule>, Vec<Seen>)>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let head = read_head(&mut reader)?;
    let Some(request_line) = head.first() else {
        return Ok(());
    };
    let path = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let range = header(&head, "range");
    let body_len: usize = header(&head, "content-length")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let fault = {
        let mut state = state.lock().unwrap();
        let fault = state
            .0
            .iter_mut()
            .find(|rule| rule.times > 0 && path.contains(&rule.path))
            .map(|rule| {
                rule.times = rule.times.saturating_sub(1);
                rule.fault.clone()
            });
        state.1.push(Seen {
            path: path.clone(),
            range,
            fault: fault.clone(),
        });
        fault
    };
    let mut client = client;
    if let Some(Fault::Status(status, headers)) = fault {
        let answer =
            format!("HTTP/1.1 {status}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n");
        client.write_all(answer.as_bytes())?;
        return client.shutdown(Shutdown::Both);
    }
    let mut server = TcpStream::connect(upstream)?;
    let mut forwarded = String::new();
    let dropped = |line: &str| {
        let line = line.to_ascii_lowercase();
        line.starts_with("connection:")
            || (matches!(fault, Some(Fault::NoRange)) && line.starts_with("range:"))
    };
    for line in &head {
        if !dropped(line) {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    server.write_all(forwarded.as_bytes())?;
    let mut body = vec![0u8; body_len];
    reader.read_exact(&mut body)?;
    server.write_all(&body)?;
    let mut answer = BufReader::new(server);
    let answer_head = read_head(&mut answer)?;
    let mut head_text = answer_head.join("\r\n");
    head_text.push_str("\r\n\r\n");
    client.write_all(head_text.as_bytes())?;
    match fault {
        Some(Fault::Cut(after)) => {
            std::io::copy(&mut answer.take(after as u64), &mut client)?;
            client.shutdown(Shutdown::Both)
        }
        Some(Fault::Trickle(bytes, pause)) => {
            let mut piece = vec![0u8; bytes];
            loop {
                std::thread::sleep(pause);
                let n = answer.read(&mut piece)?;
                if n == 0 {
                    return Ok(());
                }
                client.write_all(&piece[..n])?;
            }
        }
        _ => std::io::copy(&mut answer, &mut client).map(drop),
    }
}
