//! A real HTTP/1.1 server on 127.0.0.1 for the `db update` tests: each path
//! answers from a script of replies, in order (the last one repeats), so a
//! test can serve a body, honour `If-None-Match`, drop the connection
//! mid-body, or answer 429 and 500. Every request is recorded. Its HTTP-head
//! readers serve the fault proxy too.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One scripted answer.
#[derive(Clone)]
pub enum Reply {
    /// 200 with `body` and an ETag; 304 when the request names that ETag.
    Body { body: Vec<u8>, etag: String },
    /// The headers of a 200 with the full length, then only `sent` bytes
    /// of `body`, then the connection closes.
    CutShort { body: Vec<u8>, sent: usize },
    /// A bare status (`429`, `500`, `404`), with `Retry-After: 0` on 429.
    Status(u16),
}

/// A request the server saw: its path and its `If-None-Match`, if any.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
}

type Scripts = HashMap<String, Vec<Reply>>;

/// The running server; it stops with the test process.
pub struct Server {
    pub base: String,
    scripts: Arc<Mutex<Scripts>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Starts a server with no paths.
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let scripts: Arc<Mutex<Scripts>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (s, v) = (scripts.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, v) = (s.clone(), v.clone());
                std::thread::spawn(move || serve(stream, &s, &v));
            }
        });
        Server {
            base,
            scripts,
            seen,
        }
    }

    /// Answers `path` with `replies`, in order, the last one repeating.
    pub fn script(&self, path: &str, replies: Vec<Reply>) {
        self.scripts.lock().unwrap().insert(path.into(), replies);
    }

    /// The requests seen so far for `path`.
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|s| s.path == path).cloned().collect()
    }
}

fn serve(stream: TcpStream, scripts: &Mutex<Scripts>, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let head = read_head(&mut reader).unwrap_or_default();
    let Some(request_line) = head.first() else {
        return;
    };
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let if_none_match = header(&head, "if-none-match");
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        if_none_match: if_none_match.clone(),
    });
    let reply = {
        let mut scripts = scripts.lock().unwrap();
        match scripts.get_mut(&path) {
            Some(replies) if replies.len() > 1 => Some(replies.remove(0)),
            Some(replies) => replies.first().cloned(),
            None => None,
        }
    };
    let mut out = stream;
    let head = |status: &str, extra: &str, length: usize| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n{extra}\r\n")
    };
    let _ = match reply {
        None => out.write_all(head("404 Not Found", "", 0).as_bytes()),
        Some(Reply::Status(429)) => {
            out.write_all(head("429 Too Many Requests", "Retry-After: 0\r\n", 0).as_bytes())
        }
        Some(Reply::Status(code)) => {
            out.write_all(head(&format!("{code} Scripted"), "", 0).as_bytes())
        }
        Some(Reply::Body { etag, .. }) if if_none_match.as_deref() == Some(etag.as_str()) => {
            out.write_all(head("304 Not Modified", &format!("ETag: {etag}\r\n"), 0).as_bytes())
        }
        Some(Reply::Body { body, etag }) => out
            .write_all(head("200 OK", &format!("ETag: {etag}\r\n"), body.len()).as_bytes())
            .and_then(|()| out.write_all(&body)),
        Some(Reply::CutShort { body, sent }) => out
            .write_all(head("200 OK", "", body.len()).as_bytes())
            .and_then(|()| out.write_all(&body[..sent.min(body.len())])),
    };
    let _ = out.flush();
}

/// The lines of an HTTP head, without the blank line that ends it.
pub fn read_head(reader: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(lines);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            return Ok(lines);
        }
        lines.push(line);
    }
}

/// The value of header `name` in a head [`read_head`] read.
pub fn header(head: &[String], name: &str) -> Option<String> {
    head.iter().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}
