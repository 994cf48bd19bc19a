//! Live updates (issue 5): every order event pushed over a WebSocket to the
//! browsers that may see it.
//!
//! Why an axum WebSocket route rather than Leptos' server-function
//! `Websocket` protocol: the route gives us the upgrade's limits (message and
//! frame size, write buffer), ping/pong and close frames with codes ("going
//! away" on shutdown, "too slow" for a client that fell behind), and a plain
//! `GET /ws?after=SEQ` that any client — the browser, the load generator,
//! tokio-tungstenite in tests — can speak. The server-function stream would
//! hide the frames we need to control.
//!
//! - One [`Hub`] per replica tails the event log behind the `order_views`
//!   projection (so a page that refetches on an event sees it) and broadcasts
//!   each event with the order's parties to the connections.
//! - A connection authenticates with the session cookie (401 without one),
//!   sends `hello` with the log position, replays what the client missed after
//!   `after` (filtered, in order), then forwards live events it may see,
//!   skipping anything already sent: no gaps, no duplicates.
//! - Hygiene: closes a connection that sends no frame (not even a pong) for
//!   the idle timeout (`APP_WS_IDLE_TIMEOUT_MS`, default [`IDLE_TIMEOUT`]),
//!   pinging it three times per timeout, messages from the client capped at
//!   [`MAX_MESSAGE_BYTES`], a bounded broadcast buffer whose overflow closes
//!   the slow connection (it resumes), sends that give up after
//!   [`SEND_TIMEOUT`], and "going away" (1001) to everyone on shutdown.
//!   A client that stops reading fills its connection's kernel send buffer
//!   (bounded by `SEND_BUFFER_BYTES`); the blocked send then times out or the
//!   connection lags past the broadcast buffer, and it is cut off either way.
//!   Read and write buffers are kept small (messages are under 200 bytes):
//!   tungstenite's 128 KiB defaults cost 137 KiB per idle connection, these
//!   about 8 KiB (BENCHMARKS.md).

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use db::Db;
use ordering::live::{may_see, parties, status_after, LiveEvent, Parties, Viewer};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch, Notify};
use tokio::time::Instant;

/// The default idle timeout: a connection with no frame from the client
/// (pongs included) for this long is closed. It is pinged three times as often.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// The largest message a client may send, in bytes (clients only answer pings).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
/// A send that takes longer than this closes the connection.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Events buffered per replica for the slowest connection before it is cut off.
pub const BROADCAST_CAPACITY: usize = 1024;
/// Close code for a client that fell behind; it should reconnect and resume.
pub const CLOSE_TOO_SLOW: u16 = 4008;

/// One event on its way to the connections, with who may see it.
#[derive(Debug, Clone)]
pub struct HubEvent {
    /// What the browser receives.
    pub event: LiveEvent,
    /// The order's parties; `None` when the order is unknown (never shown).
    pub parties: Option<Parties>,
}

/// What the server sends on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message: the projections' position in the log; the client
    /// refreshes what it shows, then everything after `head` arrives live.
    Hello {
        /// The sequence number of the last event the projections include.
        head: i64,
    },
    /// An order event the user may see.
    Event(LiveEvent),
}

/// The per-replica fan-out of the event log to WebSocket connections.
#[derive(Clone, Debug)]
pub struct Hub {
    db: Db,
    sender: broadcast::Sender<Arc<HubEvent>>,
    position: watch::Receiver<i64>,
    shutdown: watch::Receiver<bool>,
    idle_timeout: Duration,
}

async fn projected(db: &Db) -> i64 {
    ordering::views::projected_up_to(db).await.unwrap_or(0)
}

/// Reads the events in `(after, upto]` with their parties, oldest first.
async fn events_between(db: &Db, after: i64, upto: i64) -> Result<Vec<HubEvent>, eventlog::EventLogError> {
    let mut out = Vec::new();
    let mut from = after;
    while from < upto {
        let batch = eventlog::read_after(db, from, 500).await?;
        let Some(last) = batch.last().map(|e| e.seq) else { break };
        let ids: Vec<i64> = batch
            .iter()
            .filter(|e| e.stream == "order")
            .map(|e| e.stream_id)
            .collect();
        let known = parties(db, &ids).await?;
        for e in batch.into_iter().filter(|e| e.seq <= upto && e.stream == "order") {
            out.push(HubEvent {
                parties: known.get(&e.stream_id).copied(),
                event: LiveEvent {
                    seq: e.seq,
                    order_id: e.stream_id,
                    status: status_after(&e.kind),
                    at_ms: e.recorded_at,
                    kind: e.kind,
                },
            });
        }
        from = last;
    }
    Ok(out)
}

impl Hub {
    /// Starts the hub's tailing task. `committed` is notified after each
    /// projection batch commits; the hub also polls every 250 ms. Connections
    /// silent for `idle_timeout` are closed.
    pub fn start(
        db: Db,
        committed: Arc<Notify>,
        shutdown: watch::Receiver<bool>,
        idle_timeout: Duration,
    ) -> (Hub, tokio::task::JoinHandle<()>) {
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        let (position_tx, position) = watch::channel(0);
        let hub = Hub {
            db: db.clone(),
            sender: sender.clone(),
            position,
            shutdown: shutdown.clone(),
            idle_timeout,
        };
        let task = tokio::spawn(async move {
            let mut shutdown = shutdown;
            let mut at = projected(&db).await;
            let _ = position_tx.send(at);
            while !*shutdown.borrow() {
                let notified = committed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let upto = projected(&db).await;
                if upto > at {
                    match events_between(&db, at, upto).await {
                        Ok(events) => {
                            for e in events {
                                let _ = sender.send(Arc::new(e));
                            }
                            at = upto;
                            let _ = position_tx.send(at);
                        }
                        Err(e) => tracing::warn!(error = %e, "live hub cannot read the log; retrying"),
                    }
                    continue;
                }
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    changed = shutdown.changed() => {
                        if changed.is_err() {
                            break; // the server is gone
                        }
                    }
                }
            }
        });
        (hub, task)
    }

    /// The log position the hub has broadcast up to.
    pub fn position(&self) -> i64 {
        *self.position.borrow()
    }

    /// How many connections are subscribed right now.
    pub fn connections(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// `GET /ws?after=SEQ`.
#[derive(Debug, Deserialize)]
pub struct Resume {
    /// The last sequence number the client saw; missed events after it are replayed.
    pub after: Option<i64>,
}

/// Upgrades to a WebSocket for the logged-in user; 401 without a session.
pub async fn websocket(
    Extension(hub): Extension<Hub>,
    auth: accounts::auth::AuthSession,
    Query(resume): Query<Resume>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(user) = auth.user.as_ref().map(|u| &u.user) else {
        return (axum::http::StatusCode::UNAUTHORIZED, "please log in first").into_response();
    };
    let viewer = Viewer {
        id: user.id,
        role: user.role,
        vehicle: user.vehicle,
    };
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .on_upgrade(move |socket| serve(socket, hub, viewer, resume.after))
}

async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn send_json(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    match serde_json::to_string(message) {
        Ok(text) => send(socket, Message::Text(Utf8Bytes::from(text))).await,
        Err(_) => false,
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let _ = send(
        socket,
        Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })),
    )
    .await;
}

async fn serve(mut socket: WebSocket, hub: Hub, viewer: Viewer, after: Option<i64>) {
    // Subscribe before reading the backlog: an event is then either in the
    // backlog or in the receiver (or both; `sent` skips the repeat).
    let mut live = hub.sender.subscribe();
    let mut shutdown = hub.shutdown.clone();
    let head = projected(&hub.db).await;
    if !send_json(&mut socket, &ServerMessage::Hello { head }).await {
        return;
    }
    let mut sent = after.unwrap_or(head);
    if let Some(after) = after.filter(|a| *a < head) {
        match events_between(&hub.db, after.max(0), head).await {
            Ok(events) => {
                for e in events {
                    if e.parties.is_some_and(|p| may_see(&e.event.kind, &p, &viewer))
                        && !send_json(&mut socket, &ServerMessage::Event(e.event.clone())).await
                    {
                        return;
                    }
                    sent = e.event.seq;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot replay missed events");
                close(&mut socket, 1011, "try again").await;
                return;
            }
        }
        sent = sent.max(head);
    }
    let idle_timeout = hub.idle_timeout;
    let mut ping = tokio::time::interval(idle_timeout / 3);
    ping.tick().await;
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(e) => {
                    if e.event.seq <= sent {
                        continue;
                    }
                    sent = e.event.seq;
                    if e.parties.is_some_and(|p| may_see(&e.event.kind, &p, &viewer))
                        && !send_json(&mut socket, &ServerMessage::Event(e.event.clone())).await
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    close(&mut socket, CLOSE_TOO_SLOW, "too slow; resume").await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    close(&mut socket, 1001, "going away").await;
                    return;
                }
            },
            frame = socket.recv() => match frame {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => heard = Instant::now(),
            },
            _ = ping.tick() => {
                if heard.elapsed() > idle_timeout {
                    close(&mut socket, 1001, "idle").await;
                    return;
                }
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    return;
                }
            }
            changed = shutdown.changed() => {
                let stopping = changed.is_err() || *shutdown.borrow();
                if stopping {
                    close(&mut socket, 1001, "going away").await;
                    return;
                }
            }
        }
    }
}
