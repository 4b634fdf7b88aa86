//! The `application/vnd.amazon.eventstream` message frame (`reference/logs-api.md` §5.2):
//! what StartLiveTail's response is made of. The server encodes, clients decode.
//!
//! A frame is `total_length`, `headers_length`, a CRC-32 of those eight bytes, the
//! headers, the payload and a CRC-32 of everything before it. The CRC is zlib's IEEE
//! CRC-32 (what botocore checks), not CRC-32C.

/// The media type of an event-stream response body.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// Largest payload a service may send (24 MiB).
pub const MAX_PAYLOAD: usize = 25_165_824;
/// Largest encoded header block (128 KiB).
pub const MAX_HEADERS: usize = 131_072;

const PRELUDE: usize = 12;
const TYPE_STRING: u8 = 7;

/// Why a byte sequence is not a valid frame.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    /// The prelude's CRC does not match its eight bytes.
    #[error("event-stream prelude CRC mismatch")]
    PreludeCrc,
    /// The message CRC does not match the frame.
    #[error("event-stream message CRC mismatch")]
    MessageCrc,
    /// Lengths that cannot describe a frame, or headers that overrun their block.
    #[error("malformed event-stream frame: {0}")]
    Malformed(&'static str),
}

/// One decoded message: its string-valued headers and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `(name, value)` of every header whose type is string (7); other types are skipped.
    pub headers: Vec<(String, String)>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl Message {
    /// The value of a string header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Encodes one message whose headers are all strings. Header names must be 1–255 bytes
/// and values at most 65,535 bytes, which every header AWS defines is.
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in headers {
        // Names and values are this crate's constants or short event-type names; the
        // casts cannot truncate them.
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(TYPE_STRING);
        block.extend_from_slice(&(value.len() as u16).to_be_bytes());
        block.extend_from_slice(value.as_bytes());
    }
    let total = PRELUDE + block.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(block.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&block);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

/// An `event` message: `:message-type`, `:event-type` and a JSON `:content-type`.
pub fn event(event_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", "application/json"),
        ],
        payload,
    )
}

/// A modeled `exception` message, e.g. `SessionTimeoutException`.
pub fn exception(exception_type: &str, payload: &[u8]) -> Vec<u8> {
    encode(
        &[
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", "application/json"),
        ],
        payload,
    )
}

/// Reassembles messages from a body that arrives in arbitrary chunks.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Appends bytes as they arrive.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message, `None` until one has fully arrived.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        if self.buf.len() < PRELUDE {
            return Ok(None);
        }
        let u32_at = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let total = u32_at(&self.buf, 0) as usize;
        let headers_len = u32_at(&self.buf, 4) as usize;
        if crc32fast::hash(&self.buf[..8]) != u32_at(&self.buf, 8) {
            return Err(FrameError::PreludeCrc);
        }
        if total < PRELUDE + 4 + headers_len || headers_len > MAX_HEADERS {
            return Err(FrameError::Malformed("lengths"));
        }
        if total - PRELUDE - 4 - headers_len > MAX_PAYLOAD {
            return Err(FrameError::Malformed("payload too large"));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buf.drain(..total).collect();
        if crc32fast::hash(&frame[..total - 4]) != u32_at(&frame, total - 4) {
            return Err(FrameError::MessageCrc);
        }
        let headers = parse_headers(&frame[PRELUDE..PRELUDE + headers_len])?;
        Ok(Some(Message {
            headers,
            payload: frame[PRELUDE + headers_len..total - 4].to_vec(),
        }))
    }
}

fn parse_headers(mut block: &[u8]) -> Result<Vec<(String, String)>, FrameError> {
    let short = FrameError::Malformed("header overruns its block");
    let mut out = Vec::new();
    while let Some((&name_len, rest)) = block.split_first() {
        let name_len = usize::from(name_len);
        if rest.len() < name_len + 1 {
            return Err(short);
        }
        let name = String::from_utf8_lossy(&rest[..name_len]).into_owned();
        let kind = rest[name_len];
        let rest = &rest[name_len + 1..];
        let fixed = match kind {
            0 | 1 => Some(0),
            2 => Some(1),
            3 => Some(2),
            4 => Some(4),
            5 | 8 => Some(8),
            9 => Some(16),
            6 | 7 => None,
            _ => return Err(FrameError::Malformed("unknown header type")),
        };
        let used = match fixed {
            Some(n) => n,
            None => {
                if rest.len() < 2 {
                    return Err(short);
                }
                let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                if kind == TYPE_STRING && rest.len() >= 2 + len {
                    out.push((
                        name,
                        String::from_utf8_lossy(&rest[2..2 + len]).into_owned(),
                    ));
                }
                2 + len
            }
        };
        if rest.len() < used {
            return Err(short);
        }
        block = &rest[used..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn matches_the_reference_frames() {
        // reference/logs-api.md §5.5, decoded by botocore.
        let initial = unhex(
            "00000068000000564e6817240d3a6d6573736167652d747970650700056576656e740b3a6576656e742d74797065070010696e697469616c2d726573706f6e73650d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b7dfe942c1d",
        );
        assert_eq!(event("initial-response", b"{}"), initial);
        let update = unhex(
            "0000009c0000005383b615360d3a6d6573736167652d747970650700056576656e740b3a6576656e742d7479706507000d73657373696f6e5570646174650d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b2273657373696f6e4d65746164617461223a7b2273616d706c6564223a66616c73657d2c2273657373696f6e526573756c7473223a5b5d7d8b9f0a13",
        );
        assert_eq!(
            event(
                "sessionUpdate",
                br#"{"sessionMetadata":{"sampled":false},"sessionResults":[]}"#
            ),
            update
        );
        let timeout = unhex(
            "00000094000000657c7ccb6e0d3a6d6573736167652d74797065070009657863657074696f6e0f3a657863657074696f6e2d7479706507001753657373696f6e54696d656f7574457863657074696f6e0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b226d657373616765223a2253657373696f6e2074696d6564206f7574227d25b11aef",
        );
        assert_eq!(
            exception(
                "SessionTimeoutException",
                br#"{"message":"Session timed out"}"#
            ),
            timeout
        );
    }

    #[test]
    fn decodes_frames_split_anywhere_and_rejects_corruption() {
        let mut body = event("initial-response", b"{}");
        body.extend(event("sessionUpdate", b"{\"x\":1}"));
        let mut decoder = Decoder::default();
        let mut got = Vec::new();
        for chunk in body.chunks(7) {
            decoder.push(chunk);
            while let Some(m) = decoder.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].header(":event-type"), Some("initial-response"));
        assert_eq!(got[1].payload, b"{\"x\":1}");

        let mut bad = event("sessionUpdate", b"{}");
        let n = bad.len();
        bad[n - 6] ^= 1;
        let mut decoder = Decoder::default();
        decoder.push(&bad);
        assert_eq!(decoder.next_message(), Err(FrameError::MessageCrc));
        let mut bad = event("sessionUpdate", b"{}");
        bad[3] ^= 1;
        let mut decoder = Decoder::default();
        decoder.push(&bad);
        assert_eq!(decoder.next_message(), Err(FrameError::PreludeCrc));
    }
}
