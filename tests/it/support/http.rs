//! A tiny HTTP/1.1 server on loopback for the one fake Auth0 ([`super::fake_auth0`]): it
//! reads each request (keep-alive included) and writes whatever its handler answers, including
//! nothing at all. What to answer, and what to record, is the handler's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// One request as sent.
#[derive(Debug, Clone)]
pub struct Request {
    /// The connection it came on, counted from 1 in the order they were accepted.
    pub conn: usize,
    /// Its place on that connection, from 0.
    pub seq: usize,
    pub method: String,
    /// Path with query, as sent.
    pub path: String,
    /// The request line and headers, as sent (each line ending in CRLF).
    pub head: String,
    pub body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (any case), trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// What the server does with a request.
pub enum Answer {
    /// Status, headers besides `content-length`, body.
    Http(u16, Vec<(String, String)>, Vec<u8>),
    /// Accept and never answer: hold the connection this long, then close it.
    Silence(Duration),
    /// Close the connection without an answer.
    Drop,
}

/// An answer with a JSON body.
pub fn json_answer(status: u16, body: &str) -> Answer {
    Answer::Http(
        status,
        vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body.as_bytes().to_vec(),
    )
}

pub type Handler = dyn Fn(&Request) -> Answer + Send + Sync;

/// Serves on `ip`, port chosen by the system, until the test process ends; returns
/// `http://ADDRESS`.
pub fn serve(ip: &str, handler: Arc<Handler>) -> String {
    let listener = TcpListener::bind(format!("{ip}:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut conn = 0;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            conn += 1;
            let handler = handler.clone();
            let n = conn;
            std::thread::spawn(move || serve_conn(stream, &*handler, n));
        }
    });
    url
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "X",
    }
}

fn serve_conn(stream: TcpStream, handler: &Handler, conn: usize) {
    let Ok(read) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read);
    let mut stream = stream;
    for seq in 0.. {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut first = head.lines().next().unwrap_or("").split_whitespace();
        let method = first.next().unwrap_or("").to_string();
        let path = first.next().unwrap_or("").to_string();
        let mut request = Request {
            conn,
            seq,
            method,
            path,
            head,
            body: Vec::new(),
        };
        let len: usize = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        request.body = body;
        match handler(&request) {
            Answer::Silence(hold) => {
                std::thread::sleep(hold);
                return;
            }
            Answer::Drop => {
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Answer::Http(status, headers, body) => {
                let mut out = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                if stream
                    .write_all(out.as_bytes())
                    .and_then(|()| stream.write_all(&body))
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}
