//! A real SMTP server for the tests (mailin-embedded on 127.0.0.1): it records each message's
//! envelope and raw data, and can be told to refuse the next messages with a 4xx or 5xx reply.
//!
//! Shared by the api and browser test binaries (`#[path]`); each uses part of it.

use std::collections::VecDeque;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server, SslConfig};

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub recipients: Vec<String>,
    /// The DATA as sent (dot-unstuffed).
    pub data: String,
}

/// How to refuse a message: with this reply code to RCPT, or to DATA. (Not to the end of the
/// data: after an error there mailin stays in its data state and never answers the client's
/// QUIT, which a real server would.)
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Rcpt(u16),
    Data(u16),
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    faults: VecDeque<Fault>,
}

pub struct SmtpSink {
    port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl SmtpSink {
    /// Listen on a free port.
    pub fn start() -> SmtpSink {
        SmtpSink::serve(TcpListener::bind("127.0.0.1:0").expect("a free port"))
    }

    fn serve(listener: TcpListener) -> SmtpSink {
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let handler = SinkHandler {
            shared: shared.clone(),
            ..SinkHandler::default()
        };
        let mut server = Server::new(handler);
        server
            .with_name("sink.test")
            // The app keeps pooled connections open: room for several at once.
            .with_num_threads(8)
            .with_ssl(SslConfig::None)
            .expect("no TLS")
            .with_tcp_listener(listener);
        // Blocking, and it serves until the test process ends.
        std::thread::spawn(move || {
            if let Err(e) = server.serve() {
                panic!("the SMTP sink stopped: {e}");
            }
        });
        SmtpSink { port, shared }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Wait (polling, up to `timeout`) for the first message whose subject contains `subject`.
    pub async fn wait_for(&self, subject: &str, timeout: Duration) -> Received {
        let start = Instant::now();
        loop {
            let received = self.received();
            let found = received
                .iter()
                .find(|m| m.header("Subject").is_some_and(|s| s.contains(subject)));
            if let Some(message) = found {
                return message.clone();
            }
            if start.elapsed() > timeout {
                let subjects: Vec<_> = received.iter().map(|m| m.header("Subject")).collect();
                panic!(
                    "no email with {subject:?} in its subject within {timeout:?}; got {subjects:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Refuse the next `count` messages with `fault`.
    pub fn fail_next(&self, fault: Fault, count: usize) {
        let mut shared = self.shared.lock().unwrap();
        shared.faults.extend(std::iter::repeat_n(fault, count));
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().unwrap().received.clone()
    }
}

/// A port bound but not listening: connections to it are refused (the mail server is "down")
/// and nothing else can take it, until `start_sink` listens on it.
pub struct ReservedPort(tokio::net::TcpSocket);

impl ReservedPort {
    pub fn new() -> ReservedPort {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        ReservedPort(socket)
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.0.local_addr().unwrap().port())
    }

    pub fn start_sink(self) -> SmtpSink {
        let listener = self.0.listen(16).unwrap().into_std().unwrap();
        // mailin-embedded accepts with blocking calls.
        listener.set_nonblocking(false).unwrap();
        SmtpSink::serve(listener)
    }
}

/// One per connection (mailin clones it); the message in progress lives here.
#[derive(Clone, Default)]
struct SinkHandler {
    shared: Arc<Mutex<Shared>>,
    from: String,
    recipients: Vec<String>,
    data: Vec<u8>,
    fault: Option<Fault>,
}

impl Handler for SinkHandler {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_owned();
        self.recipients.clear();
        self.data.clear();
        self.fault = self.shared.lock().unwrap().faults.pop_front();
        OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if let Some(Fault::Rcpt(code)) = self.fault {
            return Response::custom(code, "refused by the test".into());
        }
        self.recipients.push(to.to_owned());
        OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        if let Some(Fault::Data(code)) = self.fault {
            return Response::custom(code, "refused by the test".into());
        }
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            from: self.from.clone(),
            recipients: std::mem::take(&mut self.recipients),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        };
        self.shared.lock().unwrap().received.push(received);
        OK
    }
}

/// Just enough MIME to read what lettre sends: headers, multipart parts, transfer encodings.
impl Received {
    /// A top-level header's value, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        header(split_head(&self.data).0, name)
    }

    /// The decoded body of the first part whose content type is `content_type`.
    pub fn part(&self, content_type: &str) -> Option<String> {
        find_part(&self.data, content_type)
    }
}

fn split_head(entity: &str) -> (&str, &str) {
    entity.split_once("\r\n\r\n").unwrap_or((entity, ""))
}

fn header(head: &str, name: &str) -> Option<String> {
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn find_part(entity: &str, content_type: &str) -> Option<String> {
    let (head, body) = split_head(entity);
    let own_type = header(head, "Content-Type").unwrap_or_else(|| "text/plain".into());
    if own_type.starts_with("multipart/") {
        let boundary = own_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))?
            .trim_matches('"')
            .to_owned();
        let delimiter = format!("--{boundary}");
        return body
            .split(delimiter.as_str())
            .skip(1) // the preamble
            .take_while(|part| !part.starts_with("--")) // the closing delimiter
            .find_map(|part| find_part(part.trim_start_matches("\r\n"), content_type));
    }
    if !own_type.starts_with(content_type) {
        return None;
    }
    let encoding = header(head, "Content-Transfer-Encoding").unwrap_or_default();
    Some(match encoding.to_ascii_lowercase().as_str() {
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("base64"),
            )
            .expect("UTF-8")
        }
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.to_owned(),
    })
}

fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'=', Some(byte)) = (bytes[i], hex) {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8")
}
