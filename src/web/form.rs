//! Reading the registration form from a multipart stream, with every limit enforced while the
//! bytes arrive: nothing is buffered beyond what the form may legitimately hold.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use actix_multipart::{Field, Multipart};
use actix_web::HttpRequest;
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, Payload};
use futures_util::{Stream, StreamExt, TryStreamExt};

use crate::domain::fields::{self, Slot};
use crate::domain::logo::MAX_LOGO_BYTES;
use crate::domain::registration::RegistrationInput;
use actix_web::http::StatusCode;

/// The whole request body, counted as it streams in; the logo may use half of it.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The form's own fields beside the registration's (`fields::FIELDS`), with their limits.
const FORM_TOKENS: &[(&str, usize)] = &[("csrf_token", 4 * 1024), ("logo_token", 4 * 1024)];

/// More than the catalogue could ever hold; stops a flood of repeated `scopes` parts.
const MAX_SCOPE_VALUES: usize = 100;

pub enum Upload {
    /// No file chosen.
    None,
    Bytes(Vec<u8>),
    /// Over the logo limit: the rest was read and dropped, never kept.
    TooLarge,
}

pub struct RegistrationForm {
    pub input: RegistrationInput,
    pub csrf_token: String,
    /// The token of a logo held from an earlier attempt.
    pub logo_token: String,
    pub logo: Upload,
}

/// Checks that need only the headers: run before a single body byte is read.
pub fn check_headers(req: &HttpRequest) -> Result<(), FormError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(FormError::NotMultipart);
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(FormError::TooLarge);
    }
    Ok(())
}

/// Why a registration form could not be read; each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("This form must be sent as multipart/form-data.")]
    NotMultipart,
    #[error(
        "The form is larger than 2 MiB in total. The logo may be at most 1 MiB; go back and choose a smaller file."
    )]
    TooLarge,
    #[error(
        "The form arrived too slowly: all of it must arrive within {}, so it was cut off. Please try again; on a slow connection, a smaller logo file helps.",
        seconds(*.0)
    )]
    TooSlow(Duration),
    #[error(
        "Nothing arrived for {} while the form was being sent, so it was cut off. Check your connection, then go back and send the form again; your browser keeps what you entered.",
        seconds(*.0)
    )]
    Stalled(Duration),
    #[error("The form could not be read: {0}.")]
    Unreadable(String),
    #[error("The form has the field {0:?} twice.")]
    Twice(String),
    #[error("The form has an unknown field {0:?}.")]
    UnknownField(String),
    #[error("The form has too many {0}.")]
    TooManyValues(String),
    #[error("The field {name} is longer than {kib} KiB.")]
    TooLong { name: String, kib: usize },
    #[error("The field {0} is not valid UTF-8 text.")]
    NotUtf8(String),
}

impl FormError {
    pub fn status(&self) -> StatusCode {
        match self {
            FormError::NotMultipart => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            FormError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            FormError::TooSlow(_) | FormError::Stalled(_) => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The error page's heading.
    pub fn title(&self) -> &'static str {
        match self {
            FormError::NotMultipart => "Unsupported form encoding",
            FormError::TooLarge => "Upload too large",
            FormError::TooSlow(_) | FormError::Stalled(_) => "Request too slow",
            _ => "The form could not be read",
        }
    }
}

/// How long a form's body may take: two limits, because each alone lets a client hold an
/// upload slot for free. With only `whole`, a client that sends a few bytes and stops keeps its
/// slot for all of it; with only `idle`, one that sends a byte every few seconds keeps it forever.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeouts {
    /// The whole body must have arrived within this.
    pub whole: Duration,
    /// Nothing at all may arrive for at most this long.
    pub idle: Duration,
}

/// Read the form. The body is counted chunk by chunk as it arrives (declared length or not,
/// preamble and part headers included) and the read stops at the limit; a client that sends
/// too slowly, or stops sending, is cut off (see [`BodyTimeouts`]).
pub async fn read(
    req: &HttpRequest,
    payload: Payload,
    timeouts: BodyTimeouts,
) -> Result<RegistrationForm, FormError> {
    check_headers(req)?;
    let stalled = Rc::new(Cell::new(false));
    let body = cut_off_when_idle(payload, timeouts.idle, stalled.clone());
    match tokio::time::timeout(timeouts.whole, read_body(req.headers(), body)).await {
        Err(_) => Err(FormError::TooSlow(timeouts.whole)),
        Ok(Err(_)) if stalled.get() => Err(FormError::Stalled(timeouts.idle)),
        Ok(read) => read,
    }
}

/// `body`, ended with an error (and `stalled` set) when no chunk arrives for `idle`. Fused:
/// actix-multipart may poll again after the end.
fn cut_off_when_idle<S>(
    body: S,
    idle: Duration,
    stalled: Rc<Cell<bool>>,
) -> impl Stream<Item = Result<Bytes, PayloadError>> + 'static
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin + 'static,
{
    futures_util::stream::unfold(Some(body), move |body| {
        let stalled = stalled.clone();
        async move {
            let mut body = body?;
            match tokio::time::timeout(idle, body.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(body))),
                Ok(None) => None,
                Err(_) => {
                    stalled.set(true);
                    let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
                    Some((Err(PayloadError::Io(timed_out)), None))
                }
            }
        }
    })
    .fuse()
}

/// "1 second", "10 seconds": for the messages above.
fn seconds(duration: Duration) -> String {
    match duration.as_secs() {
        1 => "1 second".into(),
        n => format!("{n} seconds"),
    }
}

/// The body half of [`read`], from any byte stream: counts the bytes as they arrive, stops at
/// the limit and reads the fields. Public so the fuzz target (`fuzz/`) can feed it raw
/// multipart bodies.
pub async fn read_body<S>(headers: &HeaderMap, body: S) -> Result<RegistrationForm, FormError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + 'static,
{
    let over_limit = Rc::new(Cell::new(false));
    let flag = over_limit.clone();
    let mut received = 0usize;
    let counted = body.map(move |chunk| {
        let chunk = chunk?;
        received += chunk.len();
        if received > MAX_BODY_BYTES {
            flag.set(true);
            return Err(PayloadError::Overflow);
        }
        Ok(chunk)
    });
    // actix-multipart 0.8 refuses, as `Incomplete`, a body that ends inside a part, and
    // bounds its own buffering of malformed bodies; 0.7 hung on the first and panicked on
    // short preamble lines with short boundaries (both found by `fuzz/`, tests below).
    let multipart = Multipart::new(headers, counted);
    match read_fields(multipart).await {
        Err(_) if over_limit.get() => Err(FormError::TooLarge),
        other => other,
    }
}

async fn read_fields(mut multipart: Multipart) -> Result<RegistrationForm, FormError> {
    let mut form = RegistrationForm {
        input: RegistrationInput::default(),
        csrf_token: String::new(),
        logo_token: String::new(),
        logo: Upload::None,
    };
    let mut seen: Vec<String> = Vec::new();

    while let Some(mut field) = multipart.try_next().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_owned();
        let repeatable = fields::field(&name).is_some_and(|f| matches!(f.slot, Slot::Many(_)));
        if !repeatable {
            if seen.contains(&name) {
                return Err(FormError::Twice(truncate(&name)));
            }
            seen.push(name.clone());
        }

        let unknown = || FormError::UnknownField(truncate(&name));
        // The allow-list is the fields table: a field is read into the slot it names there.
        match fields::field(&name).map(|f| (f.slot, f.max_bytes)) {
            Some((Slot::File, _)) => form.logo = read_upload(&mut field).await?,
            Some((Slot::Text(slot), limit)) => {
                *slot(&mut form.input) = read_text(&mut field, &name, limit).await?;
            }
            Some((Slot::Many(slot), limit)) => {
                let value = read_text(&mut field, &name, limit).await?;
                let values = slot(&mut form.input);
                if values.len() >= MAX_SCOPE_VALUES {
                    return Err(FormError::TooManyValues(name));
                }
                values.push(value);
            }
            None => {
                let (_, limit) = FORM_TOKENS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(unknown)?;
                let value = read_text(&mut field, &name, *limit).await?;
                match name.as_str() {
                    "csrf_token" => form.csrf_token = value,
                    _ => form.logo_token = value,
                }
            }
        }
    }
    Ok(form)
}

fn unreadable(e: actix_multipart::MultipartError) -> FormError {
    FormError::Unreadable(e.to_string())
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

async fn read_text(field: &mut Field, name: &str, limit: usize) -> Result<String, FormError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.try_next().await.map_err(unreadable)? {
        if bytes.len() + chunk.len() > limit {
            return Err(FormError::TooLong {
                name: name.to_owned(),
                kib: limit / 1024,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| FormError::NotUtf8(name.to_owned()))
}

async fn read_upload(field: &mut Field) -> Result<Upload, FormError> {
    let mut bytes = Vec::new();
    let mut over = false;
    while let Some(chunk) = field.try_next().await.map_err(unreadable)? {
        if over || bytes.len() + chunk.len() > MAX_LOGO_BYTES {
            // Keep reading (within the body limit) so the rest of the form arrives and the
            // partner sees every other field kept, but drop the file's bytes.
            over = true;
            bytes = Vec::new();
            continue;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(match (over, bytes.is_empty()) {
        (true, _) => Upload::TooLarge,
        (false, true) => Upload::None,
        (false, false) => Upload::Bytes(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{CONTENT_TYPE, HeaderValue};

    /// Feeds `body` to [`read_body`] in chunks of `chunk` bytes; a hang fails the test.
    async fn read_raw(
        content_type: &[u8],
        body: &[u8],
        chunk: usize,
    ) -> Result<RegistrationForm, FormError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_bytes(content_type).unwrap());
        let chunks: Vec<Result<Bytes, PayloadError>> = body
            .chunks(chunk.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let read = read_body(&headers, futures_util::stream::iter(chunks));
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the form reader must not hang on a finished body")
    }

    const FIELD: &str =
        "--xyzw\r\nContent-Disposition: form-data; name=\"client_name\"\r\n\r\nAcme";
    const CONTENT_TYPE_XYZW: &[u8] = b"multipart/form-data; boundary=xyzw";

    #[tokio::test]
    async fn a_body_that_ends_inside_a_part_after_a_line_break_is_refused_at_once() {
        // Found by `fuzz/` (target `registration`): actix-multipart 0.7 waited forever.
        for tail in ["\r\n", "\r\n-", "\r\n--x", "\r\n--xyz"] {
            for chunk in [1, 3, 1024] {
                let body = format!("{FIELD}{tail}");
                let outcome = read_raw(CONTENT_TYPE_XYZW, body.as_bytes(), chunk).await;
                assert!(
                    matches!(outcome, Err(ref e) if e.status() == StatusCode::BAD_REQUEST),
                    "{tail:?} in chunks of {chunk}: {:?}",
                    outcome.map(|f| f.input)
                );
            }
        }
    }

    #[tokio::test]
    async fn the_fuzzers_hanging_input_is_refused() {
        // fuzz/fuzz_targets/registration.rs layout: chunk size, flags, content type line, body.
        let input = include_bytes!("../../tests/fixtures/fuzz/registration-timeout-db78c496.bin");
        let [chunk, _flags, rest @ ..] = &input[..] else {
            unreachable!()
        };
        let newline = rest.iter().position(|&b| b == b'\n').unwrap();
        let outcome = read_raw(&rest[..newline], &rest[newline + 1..], usize::from(*chunk)).await;
        assert!(matches!(outcome, Err(ref e) if e.status() == StatusCode::BAD_REQUEST));
    }

    #[tokio::test]
    async fn a_short_preamble_line_with_a_short_boundary_is_read_without_a_panic() {
        // Found by `fuzz/` (target `registration`): with boundary "x", a preamble line "\n" or
        // "--\n" made actix-multipart 0.7 slice out of bounds and panic. Unfinished bodies are
        // refused; one that closes properly is simply an empty form.
        for body in ["\n--x\r\n", "--\n--x\r\n", "abc\r\n--\n--x--\r\n"] {
            for chunk in [1, 1024] {
                let outcome =
                    read_raw(b"multipart/form-data; boundary=x", body.as_bytes(), chunk).await;
                let closed = body.ends_with("--x--\r\n");
                assert!(
                    match outcome {
                        Ok(form) => closed && form.input == RegistrationInput::default(),
                        Err(e) if e.status() == StatusCode::BAD_REQUEST => !closed,
                        Err(_) => false,
                    },
                    "{body:?} in chunks of {chunk}"
                );
            }
        }
        // The fuzzer's own inputs; the second has an empty boundary (`boundary=`).
        let inputs: [&[u8]; 2] = [
            include_bytes!("../../tests/fixtures/fuzz/registration-crash-cbbceeed.bin"),
            include_bytes!("../../tests/fixtures/fuzz/registration-crash-aa480e62.bin"),
        ];
        for input in inputs {
            let [chunk, _flags, rest @ ..] = input else {
                unreachable!()
            };
            let newline = rest.iter().position(|&b| b == b'\n').unwrap();
            let outcome =
                read_raw(&rest[..newline], &rest[newline + 1..], usize::from(*chunk)).await;
            // Read or refused as a bad request; never a panic, never a 500.
            assert!(
                outcome
                    .as_ref()
                    .map_or_else(|e| e.status() == StatusCode::BAD_REQUEST, |_| true)
            );
        }
    }

    #[tokio::test]
    async fn a_one_byte_boundary_still_works_with_short_lines_in_the_data() {
        let body = "preamble\r\n--x\r\nContent-Disposition: form-data; name=\"client_name\"\r\n\r\n--\n\n\r\n--x--\r\n";
        for chunk in [1, 3, 1024] {
            let form = read_raw(b"multipart/form-data; boundary=x", body.as_bytes(), chunk)
                .await
                .unwrap_or_else(|e| panic!("chunks of {chunk}: {e}"));
            assert_eq!(form.input.client_name, "--\n\n");
        }
    }

    #[tokio::test]
    async fn short_preamble_lines_before_a_4_byte_boundary_are_skipped() {
        let body = "\n--\n\r\n--abcd\r\nContent-Disposition: form-data; name=\"client_name\"\r\n\r\nAcme\r\n--abcd--\r\n";
        let form = read_raw(b"multipart/form-data; boundary=abcd", body.as_bytes(), 2)
            .await
            .unwrap();
        assert_eq!(form.input.client_name, "Acme");
    }

    #[tokio::test]
    async fn a_complete_body_is_still_read_in_any_chunk_size() {
        for chunk in [1, 2, 7, 4096] {
            let body = format!("{FIELD}\r\n--xyzw--\r\n");
            let form = read_raw(CONTENT_TYPE_XYZW, body.as_bytes(), chunk)
                .await
                .unwrap_or_else(|e| panic!("chunks of {chunk}: {e}"));
            assert_eq!(form.input.client_name, "Acme");
        }
    }

    /// One text part per entry of the fields table, each holding its own name.
    fn every_text_field() -> String {
        let mut body = String::new();
        for f in fields::FIELDS {
            if !matches!(f.slot, Slot::File) {
                body.push_str(&format!(
                    "--xyzw\r\nContent-Disposition: form-data; name=\"{0}\"\r\n\r\n{0}\r\n",
                    f.name
                ));
            }
        }
        body
    }

    #[tokio::test]
    async fn every_field_of_the_fields_table_is_accepted_and_read_into_its_slot() {
        let body = format!("{}--xyzw--\r\n", every_text_field());
        let mut form = read_raw(CONTENT_TYPE_XYZW, body.as_bytes(), 4096)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for f in fields::FIELDS {
            if let Some(text) = f.text(&mut form.input) {
                assert_eq!(text, f.name);
            }
        }
    }

    #[tokio::test]
    async fn a_field_missing_from_the_fields_table_is_refused_with_400_naming_it() {
        let body = format!(
            "{}--xyzw\r\nContent-Disposition: form-data; name=\"colour\"\r\n\r\nred\r\n--xyzw--\r\n",
            every_text_field()
        );
        match read_raw(CONTENT_TYPE_XYZW, body.as_bytes(), 4096).await {
            Err(e @ FormError::UnknownField(_)) => {
                assert_eq!(e.status(), StatusCode::BAD_REQUEST);
                assert!(e.to_string().contains("colour"), "{e}");
            }
            other => panic!("expected a 400, got {:?}", other.map(|f| f.input)),
        }
    }
}
