//! How server functions' answers travel: JSON, read back as text.
//!
//! A page reads the same types twice: as a server function's answer, and
//! as a resource's value sent along with the server-rendered page for
//! hydration. Leptos reads the latter with `serde_json::from_str`, while
//! server_fn's own `Json` reads answers with `serde_json::from_slice`, so
//! the browser's bundle carried every answer type's deserializer twice,
//! once per reader. [`Json`] reads answers as text too (issue 13, the
//! bundle); on the wire nothing changes (`application/json`, a `POST`).

use leptos::server_fn::codec::Post;
use leptos::server_fn::Bytes;
use leptos::server_fn::{ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON in a body, decoded as UTF-8 text with `serde_json::from_str`.
pub struct JsonText;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        from_json(&bytes)
    }
}

/// The output encoding of every server function: a `POST` answered with
/// [`JsonText`].
pub type Json = Post<JsonText>;

/// Reads `bytes` as JSON text: the one JSON reader the browser's bundle has.
///
/// Errors: `bytes` are not UTF-8, or not JSON of `T`'s shape.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| <serde_json::Error as serde::de::Error>::custom("not UTF-8"))?;
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_back_as_it_was_written_and_bad_bytes_are_an_error() {
        let written = <JsonText as Encodes<Vec<(String, i64)>>>::encode(&vec![("김밥".to_string(), 3_500)]).unwrap();
        let read: Vec<(String, i64)> = <JsonText as Decodes<_>>::decode(written).unwrap();
        assert_eq!(read, vec![("김밥".to_string(), 3_500)]);
        assert!(from_json::<i64>(&[0xff, 0xfe]).is_err());
        assert!(from_json::<i64>(b"\"3500\"").is_err());
    }
}
