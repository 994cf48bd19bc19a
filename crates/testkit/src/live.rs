//! The live feed (`/ws`) from a test's side: connect as someone, read the
//! next message, drain what arrives.

use futures::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket to the app's `/ws`.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/ws` at `base` (`http://…`) with the session `cookie` (a
/// `Cookie` header value) if any, resuming after event `after` if given.
///
/// Errors: the handshake was refused or failed.
pub async fn connect(
    base: &str,
    cookie: Option<&str>,
    after: Option<i64>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = format!(
        "{}/ws{}",
        base.replace("http://", "ws://"),
        after.map(|a| format!("?after={a}")).unwrap_or_default()
    );
    let mut request = url.into_client_request()?;
    if let Some(cookie) = cookie {
        if let Ok(value) = cookie.parse() {
            request.headers_mut().insert("cookie", value);
        }
    }
    tokio_tungstenite::connect_async(request).await.map(|(s, _)| s)
}

/// The next JSON message, skipping pings; `None` after `wait` of silence,
/// a close, or an error.
pub async fn next(socket: &mut Socket, wait: Duration) -> Option<serde_json::Value> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).ok(),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            _ => return None,
        }
    }
}

/// `(seq, kind)` of the events received until `wait` passes in silence.
pub async fn drain(socket: &mut Socket, wait: Duration) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    while let Some(m) = next(socket, wait).await {
        if m["type"] == "event" {
            if let (Some(seq), Some(kind)) = (m["seq"].as_i64(), m["kind"].as_str()) {
                out.push((seq, kind.to_string()));
            }
        }
    }
    out
}

/// Reads the server's `hello` and returns the log's head it announces.
///
/// # Panics
/// When the first message is not a hello within 5 s.
#[allow(clippy::panic)]
pub async fn hello(socket: &mut Socket) -> i64 {
    match next(socket, Duration::from_secs(5)).await {
        Some(m) if m["type"] == "hello" => m["head"].as_i64().unwrap_or_else(|| panic!("a head in {m}")),
        other => panic!("expected a hello, got {other:?}"),
    }
}
