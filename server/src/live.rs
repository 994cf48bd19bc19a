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
//!   projection (so a page that refetches on an event sees it) and hands
//!   each event to the connections that may see it. Connections are indexed
//!   by who is looking (issue 13): an event goes to its customer's, its
//!   store owner's and its rider's channels, to the riders of its vehicle
//!   type when it changes their job board, and to admins. Nobody else's
//!   connection wakes for it, so 9,000 idle customers cost an order nothing.
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

use app::server::READ_MODELS;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use db::Db;
use domain::event::SessionEvent;
use domain::visibility::{changes_job_board, may_see_event, Parties, Viewer};
use domain::{DeliveryEvent, DeliveryType, Event, OrderEvent, OrderStatus, Role, UserId};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, watch, Notify};
use tokio::time::Instant;

/// The default idle timeout: a connection with no frame from the client
/// (pongs included) for this long is closed. It is pinged three times as often.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// The largest message a client may send, in bytes (clients only answer pings).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
/// The read buffer each connection keeps, in bytes: clients only answer
/// pings, with frames of a few bytes, so it is small (tungstenite grows it
/// for a larger frame, up to [`MAX_MESSAGE_BYTES`]); every idle socket
/// holds it (issue 13: memory per idle socket).
pub const READ_BUFFER_BYTES: usize = 512;
/// A send that takes longer than this closes the connection.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Events buffered for the slowest connection of a store owner or an admin
/// (who hear every event of many orders) before it is cut off.
pub const BROADCAST_CAPACITY: usize = 1024;
/// The same for a rider (their own jobs and their vehicle type's board).
pub const RIDER_CAPACITY: usize = 256;
/// The same for a customer (their own orders: a handful of events each,
/// a few at once at most). Every slot is allocated when the channel is
/// made, 32 bytes each, and nine in ten live sockets are customers': 16
/// instead of 64 took 1.5 KiB off each (issue 13's 16 KiB per idle socket,
/// BENCHMARKS.md). One that falls further behind is closed and resumes.
pub const CUSTOMER_CAPACITY: usize = 16;
/// Most messages one connection writes at once: what waits in its receiver
/// when it wakes is framed into the write buffer and sent with one write
/// (a rider's board gets a burst per commit; issue 13, live push p99).
pub const SEND_BATCH: usize = 32;
/// Bytes of framed messages a connection buffers before it writes them out
/// without waiting for the end of the batch.
pub const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Close code for a client that fell behind; it should reconnect and resume.
pub const CLOSE_TOO_SLOW: u16 = 4008;
/// Close code for a socket whose session ended (logout, expiry, replaced).
pub const CLOSE_SESSION_ENDED: u16 = 4001;

/// One event as a browser receives it. Small on purpose: the page refetches
/// what it shows from the read models, which already include this event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// The event's position in the log; the client resumes after the last it saw.
    pub seq: i64,
    /// The order it is about.
    pub order_id: i64,
    /// The event's kind (`OrderPlaced`, `DeliveryJobClaimed`, …).
    pub kind: String,
    /// The order's status after it, when the event changes the status (the
    /// state machine's answer, `OrderEvent::status_after`).
    pub status: Option<OrderStatus>,
    /// When it was committed, in unix milliseconds (clients show it; the load
    /// generator measures commit-to-receipt latency with it).
    pub at_ms: i64,
}

/// One event on its way to the connections, with who may see it.
#[derive(Debug, Clone)]
pub struct HubEvent {
    /// What the browser receives.
    pub event: LiveEvent,
    /// The typed event, for the rules of who may see it.
    pub typed: Event,
    /// The order's parties; `None` when the order is unknown (never shown).
    pub parties: Option<Parties>,
    /// `ServerMessage::Event(event)` as sent, serialised once and shared by
    /// every connection that may see it (issue 13; cloning it is a
    /// reference count, not a copy).
    pub text: Utf8Bytes,
}

impl HubEvent {
    /// The event with its parties, and its message text made once.
    pub fn new(event: LiveEvent, typed: Event, parties: Option<Parties>) -> HubEvent {
        let text = serde_json::to_string(&ServerMessage::Event(event.clone())).unwrap_or_default();
        HubEvent {
            event,
            typed,
            parties,
            text: Utf8Bytes::from(text),
        }
    }
}

/// What the hub hands every connection, in log order.
#[derive(Debug, Clone)]
pub enum HubMessage {
    /// An order event, for those who may see it.
    Order(HubEvent),
    /// A session ended: the sockets opened with it close.
    SessionEnded {
        /// The event's position in the log.
        seq: i64,
        /// The ended session's key (`accounts::sessions::session_key`).
        key: String,
    },
}

impl HubMessage {
    /// The message's position in the log.
    pub fn seq(&self) -> i64 {
        match self {
            HubMessage::Order(e) => e.event.seq,
            HubMessage::SessionEnded { seq, .. } => *seq,
        }
    }
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

/// The connections of one viewer (a user's tabs and devices), fed by one channel.
#[derive(Debug)]
struct Audience {
    viewer: Viewer,
    sender: broadcast::Sender<Arc<HubMessage>>,
}

/// Who is connected to this replica, indexed by what an event can name:
/// its parties' user ids, the vehicle type of its job board, admins, and
/// the session a `SessionEnded` ends. [`Audiences::send`] hands a message to
/// exactly the viewers [`may_see_event`] lets see it, without looking at
/// anyone else.
#[derive(Debug, Default)]
struct Audiences {
    /// Each connected user's audiences (one per viewer: a rider whose
    /// vehicle changed has two while an old tab is open).
    by_user: HashMap<UserId, Vec<Audience>>,
    /// Connected riders by vehicle type.
    riders: HashMap<DeliveryType, HashSet<UserId>>,
    /// Connected admins.
    admins: HashSet<UserId>,
    /// The user and open connections of each session key.
    sessions: HashMap<String, (UserId, usize)>,
    /// Open connections.
    sockets: usize,
}

impl Audiences {
    /// Adds a connection of `viewer` on the session with `key`; its channel.
    fn join(&mut self, viewer: Viewer, key: &str) -> broadcast::Receiver<Arc<HubMessage>> {
        self.sockets += 1;
        self.sessions.entry(key.to_string()).or_insert((viewer.id, 0)).1 += 1;
        match viewer.role {
            Role::Admin => {
                self.admins.insert(viewer.id);
            }
            Role::Rider => {
                if let Some(vehicle) = viewer.vehicle {
                    self.riders.entry(vehicle).or_default().insert(viewer.id);
                }
            }
            Role::Customer | Role::Owner => {}
        }
        let audiences = self.by_user.entry(viewer.id).or_default();
        if let Some(audience) = audiences.iter().find(|a| a.viewer == viewer) {
            return audience.sender.subscribe();
        }
        let capacity = match viewer.role {
            Role::Admin | Role::Owner => BROADCAST_CAPACITY,
            Role::Rider => RIDER_CAPACITY,
            Role::Customer => CUSTOMER_CAPACITY,
        };
        let (sender, receiver) = broadcast::channel(capacity);
        audiences.push(Audience { viewer, sender });
        receiver
    }

    /// Removes a connection that [`Audiences::join`] added; its receiver is
    /// still alive, so an audience whose only receiver it is goes.
    fn leave(&mut self, viewer: &Viewer, key: &str) {
        self.sockets = self.sockets.saturating_sub(1);
        if let Some((_, open)) = self.sessions.get_mut(key) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                self.sessions.remove(key);
            }
        }
        let Some(audiences) = self.by_user.get_mut(&viewer.id) else {
            return;
        };
        audiences.retain(|a| a.viewer != *viewer || a.sender.receiver_count() > 1);
        let vehicles: Vec<DeliveryType> = audiences.iter().filter_map(|a| a.viewer.vehicle).collect();
        if audiences.is_empty() {
            self.by_user.remove(&viewer.id);
            self.admins.remove(&viewer.id);
        }
        if let Some(vehicle) = viewer.vehicle.filter(|v| !vehicles.contains(v)) {
            if let Some(riders) = self.riders.get_mut(&vehicle) {
                riders.remove(&viewer.id);
                if riders.is_empty() {
                    self.riders.remove(&vehicle);
                }
            }
        }
    }

    /// Hands `message` to the channel of every connected viewer who may see it.
    fn send(&self, message: &Arc<HubMessage>) {
        let to = |user: UserId, may_see: &dyn Fn(&Viewer) -> bool| {
            for audience in self.by_user.get(&user).into_iter().flatten() {
                if may_see(&audience.viewer) {
                    let _ = audience.sender.send(message.clone());
                }
            }
        };
        match &**message {
            HubMessage::SessionEnded { key, .. } => {
                if let Some((user, _)) = self.sessions.get(key) {
                    to(*user, &|_| true);
                }
            }
            HubMessage::Order(e) => {
                let Some(parties) = e.parties else { return };
                let may_see = |viewer: &Viewer| may_see_event(&e.typed, &parties, viewer);
                let named = [Some(parties.customer), Some(parties.owner), parties.rider];
                let named: Vec<UserId> = named.into_iter().flatten().collect();
                for (i, user) in named.iter().enumerate() {
                    if !named[..i].contains(user) {
                        to(*user, &may_see);
                    }
                }
                let board = parties
                    .vehicle
                    .filter(|_| changes_job_board(&e.typed, &parties))
                    .and_then(|vehicle| self.riders.get(&vehicle));
                for user in board.into_iter().flatten().chain(&self.admins) {
                    if !named.contains(user) {
                        to(*user, &may_see);
                    }
                }
            }
        }
    }
}

/// One connection's place among the hub's audiences: its channel, and its
/// departure when dropped.
struct Subscription {
    receiver: broadcast::Receiver<Arc<HubMessage>>,
    audiences: Arc<Mutex<Audiences>>,
    viewer: Viewer,
    key: String,
}

/// The audiences, even if a thread panicked holding them (they stay consistent:
/// every change is one call).
fn lock(audiences: &Mutex<Audiences>) -> MutexGuard<'_, Audiences> {
    audiences.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Subscription {
    fn new(audiences: &Arc<Mutex<Audiences>>, viewer: Viewer, key: String) -> Subscription {
        let receiver = lock(audiences).join(viewer, &key);
        Subscription {
            receiver,
            audiences: audiences.clone(),
            viewer,
            key,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        lock(&self.audiences).leave(&self.viewer, &self.key);
    }
}

/// The per-replica fan-out of the event log to WebSocket connections.
#[derive(Clone, Debug)]
pub struct Hub {
    db: Db,
    audiences: Arc<Mutex<Audiences>>,
    sessions: crate::sessions::DbSessionStore,
    position: watch::Receiver<i64>,
    shutdown: watch::Receiver<bool>,
    idle_timeout: Duration,
    controls: Vec<Arc<eventlog::ConsumerControl>>,
    tail: Arc<eventlog::Tail>,
}

/// How far the read models the pages show have all got: told by this
/// replica's runners when it runs them all, else asked of the database.
async fn projected(db: &Db, controls: &[Arc<eventlog::ConsumerControl>]) -> i64 {
    let local: Option<Vec<i64>> = READ_MODELS
        .iter()
        .map(|name| {
            controls
                .iter()
                .find(|c| c.name() == *name)
                .and_then(|c| c.local_checkpoint())
        })
        .collect();
    match local.and_then(|seqs| seqs.into_iter().min()) {
        Some(seq) => seq,
        None => views::projected_up_to(db, &READ_MODELS).await.unwrap_or(0),
    }
}

/// Who each order concerns, as the hub learnt it from the events it read
/// (`OrderPlaced` names the customer, the store's owner and the vehicle; a
/// claim names the rider), so forwarding an event rarely asks the views.
/// Orders placed before the hub started are looked up once.
#[derive(Default)]
struct KnownParties(HashMap<i64, Parties>);

/// The most orders whose parties the hub keeps in memory.
const KNOWN_PARTIES: usize = 50_000;

impl KnownParties {
    /// Learns from `event` (of `order`) before it is forwarded.
    fn learn(&mut self, order: i64, event: &Event) {
        if self.0.len() >= KNOWN_PARTIES {
            self.0.clear();
        }
        match event {
            Event::Order(OrderEvent::OrderPlaced { order: placed, .. }) => {
                self.0.insert(
                    order,
                    Parties {
                        customer: placed.customer,
                        owner: placed.owner,
                        vehicle: placed.fulfilment.delivery_type(),
                        rider: None,
                    },
                );
            }
            Event::Order(OrderEvent::RiderAssigned { rider, .. })
            | Event::Delivery(DeliveryEvent::DeliveryJobClaimed { rider, .. }) => {
                if let Some(parties) = self.0.get_mut(&order) {
                    parties.rider = Some(*rider);
                }
            }
            _ => {}
        }
    }
}

/// Reads the messages in `(after, upto]`, oldest first: order events with
/// their parties, and the ends of sessions; and how far the log was read,
/// `upto` unless it ended sooner. It should not: `upto` comes from the read
/// models, which include only committed events. A caller that met a
/// shorter log reads the rest later rather than skip it.
async fn events_between(
    db: &Db,
    tail: &eventlog::Tail,
    known: &mut KnownParties,
    after: i64,
    upto: i64,
) -> Result<(Vec<HubMessage>, i64), eventlog::StorageError> {
    let mut out = Vec::new();
    let mut from = after;
    // The read models include `upto`, so the log reaches it: the tail must
    // read what it lacks rather than trust this process's (possibly late)
    // idea of the log's head — another replica's commits, a lost notice.
    db.saw_log_head(upto);
    while from < upto {
        let mut batch = tail.read_after(from, 500).await?;
        if batch.is_empty() {
            batch = tail.read_fresh(from, 500).await?;
        }
        let Some(last) = batch.last().map(|e| e.seq) else { break };
        let mut typed = Vec::with_capacity(batch.len());
        for record in batch.into_iter().filter(|e| e.seq <= upto) {
            let event = record.event()?;
            typed.push((record, event));
        }
        // Orders this hub has not seen placed: ask the views once.
        let unknown: Vec<i64> = typed
            .iter()
            .filter(|(_, e)| !matches!(e, Event::Order(OrderEvent::OrderPlaced { .. })))
            .filter_map(|(_, e)| e.order_id().map(domain::OrderId::get))
            .filter(|id| !known.0.contains_key(id))
            .collect();
        if !unknown.is_empty() {
            known.0.extend(views::parties(db, &unknown).await?);
        }
        for (record, event) in typed {
            if let Event::Session(SessionEvent::SessionEnded { session, .. }) = &event {
                out.push(HubMessage::SessionEnded {
                    seq: record.seq,
                    key: session.clone(),
                });
                continue;
            }
            let Some(order) = event.order_id() else { continue };
            known.learn(order.get(), &event);
            let status = match &event {
                Event::Order(e) => e.status_after(),
                _ => None,
            };
            let live = LiveEvent {
                seq: record.seq,
                order_id: order.get(),
                status,
                at_ms: record.recorded_at,
                kind: record.kind,
            };
            out.push(HubMessage::Order(HubEvent::new(
                live,
                event,
                known.0.get(&order.get()).copied(),
            )));
        }
        from = last;
    }
    Ok((out, from.min(upto)))
}

impl Hub {
    /// Starts the hub's tailing task. `committed` is notified after each
    /// projection batch commits here, [`db::Db::checkpoints`] tells of
    /// other replicas' (PostgreSQL), and the hub also polls every 250 ms. `controls`
    /// are this replica's consumers (their progress spares a query when the
    /// read models run here). Connections silent for `idle_timeout` are closed.
    pub fn start(
        db: Db,
        sessions: crate::sessions::DbSessionStore,
        committed: Arc<Notify>,
        controls: Vec<Arc<eventlog::ConsumerControl>>,
        tail: Arc<eventlog::Tail>,
        shutdown: watch::Receiver<bool>,
        idle_timeout: Duration,
    ) -> (Hub, tokio::task::JoinHandle<()>) {
        let audiences = Arc::new(Mutex::new(Audiences::default()));
        let (position_tx, position) = watch::channel(0);
        let hub = Hub {
            db: db.clone(),
            audiences: audiences.clone(),
            sessions,
            position,
            shutdown: shutdown.clone(),
            idle_timeout,
            controls: controls.clone(),
            tail: tail.clone(),
        };
        let task = tokio::spawn(async move {
            let mut shutdown = shutdown;
            let mut at = projected(&db, &controls).await;
            let mut known = KnownParties::default();
            let _ = position_tx.send(at);
            // Checkpoints as heard from commits here and, on PostgreSQL,
            // on every replica (`Db::listen`).
            let mut heard = db.checkpoints();
            while !*shutdown.borrow() {
                let notified = committed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let upto = projected(&db, &controls).await;
                if upto > at {
                    match events_between(&db, &tail, &mut known, at, upto).await {
                        Ok((messages, reached)) => {
                            let audiences = lock(&audiences);
                            for message in messages {
                                audiences.send(&Arc::new(message));
                            }
                            at = reached;
                            // Under the lock that subscribing takes: a
                            // connection that joins after this send reads a
                            // position covering every message it missed.
                            let _ = position_tx.send(at);
                            drop(audiences);
                            if reached == upto {
                                continue;
                            }
                            tracing::warn!(
                                reached,
                                upto,
                                "the read models are ahead of the log as read; reading again shortly"
                            );
                        }
                        Err(e) => tracing::warn!(error = %e, "live hub cannot read the log; retrying"),
                    }
                }
                let ahead = |known: &db::Checkpoints| {
                    READ_MODELS
                        .iter()
                        .all(|name| known.get(*name).is_some_and(|seq| *seq > at))
                };
                tokio::select! {
                    _ = &mut notified => {}
                    _ = async {
                        if ahead(&heard.borrow_and_update()) {
                            // Heard ahead of what the database shows (a
                            // rebuild moved it back): wait for more news.
                            let _ = heard.changed().await;
                        } else {
                            let _ = heard.wait_for(ahead).await;
                        }
                    } => {}
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
        lock(&self.audiences).sockets
    }
}

/// `GET /ws?after=SEQ`.
#[derive(Debug, Deserialize)]
pub struct Resume {
    /// The last sequence number the client saw; missed events after it are replayed.
    pub after: Option<i64>,
}

/// Upgrades to a WebSocket for the logged-in user; 401 without a session,
/// 400 for an `after` that is not a whole number (the cross-site check in
/// front refuses a handshake from another site).
pub async fn websocket(
    Extension(hub): Extension<Arc<Hub>>,
    auth: accounts::auth::AuthSession,
    resume: Result<Query<Resume>, axum::extract::rejection::QueryRejection>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (Some(user), Some(session)) = (auth.user.as_ref().map(|u| &u.user), auth.session.id()) else {
        return (axum::http::StatusCode::UNAUTHORIZED, "please log in first").into_response();
    };
    let Ok(Query(resume)) = resume else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "after must be the sequence number of the last event seen",
        )
            .into_response();
    };
    let viewer = Viewer {
        id: user.id,
        role: user.role,
        vehicle: user.vehicle,
    };
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(256 * 1024)
        .on_upgrade(move |socket| serve(socket, hub, viewer, session, resume.after))
}

/// When `expiry` comes, as a point on tokio's clock (now when it has passed).
fn instant_of(expiry: time::OffsetDateTime) -> Instant {
    let left = expiry - time::OffsetDateTime::now_utc();
    Instant::now() + Duration::try_from(left).unwrap_or(Duration::ZERO)
}

/// When the session `id` expires, or `None` when it is gone (logged out,
/// expired). A store that cannot answer counts as alive for another minute.
async fn session_expiry(hub: &Hub, id: &tower_sessions::session::Id) -> Option<Instant> {
    use tower_sessions::SessionStore;
    match hub.sessions.load(id).await {
        Ok(record) => record.map(|r| instant_of(r.expiry_date)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check a live socket's session; checking again in a minute");
            Some(Instant::now() + Duration::from_secs(60))
        }
    }
}

/// Frames `message` into the connection's write buffer, which writes it
/// out once it holds [`WRITE_BUFFER_BYTES`]; [`flush`] writes the rest.
async fn feed(socket: &mut WebSocket, message: Message) -> bool {
    use futures::SinkExt;
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.feed(message)).await,
        Ok(Ok(()))
    )
}

/// Writes out what [`feed`] buffered.
async fn flush(socket: &mut WebSocket) -> bool {
    use futures::SinkExt;
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.flush()).await, Ok(Ok(())))
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

async fn serve(
    mut socket: WebSocket,
    hub: Arc<Hub>,
    viewer: Viewer,
    session: tower_sessions::session::Id,
    after: Option<i64>,
) {
    // Subscribe before reading the backlog: an event is then either in the
    // backlog or in the receiver (or both; `sent` skips the repeat).
    let key = accounts::sessions::session_key(&session.to_string());
    let mut live = Subscription::new(&hub.audiences, viewer, key.clone());
    let mut shutdown = hub.shutdown.clone();
    // Checked after subscribing: a logout that came in between deleted the
    // session before its `SessionEnded` was broadcast.
    let Some(mut expires) = session_expiry(&hub, &session).await else {
        close(&mut socket, CLOSE_SESSION_ENDED, "session ended").await;
        return;
    };
    // Everything the hub broadcast before this connection subscribed is
    // at most its position, and must come through the replay: the read
    // models' position alone can lag it (a lease just taken over).
    let head = projected(&hub.db, &hub.controls).await.max(hub.position());
    if !send_json(&mut socket, &ServerMessage::Hello { head }).await {
        return;
    }
    let mut sent = after.unwrap_or(head);
    if let Some(after) = after.filter(|a| *a < head) {
        match events_between(&hub.db, &hub.tail, &mut KnownParties::default(), after.max(0), head).await {
            Ok((messages, reached)) => {
                for message in messages {
                    match forward(&mut socket, &message, &viewer, &key).await {
                        Forwarded::Sent | Forwarded::Skipped => sent = message.seq(),
                        Forwarded::Closed => return,
                    }
                }
                if !flush(&mut socket).await {
                    return;
                }
                if reached < head {
                    // The rest may never come live: the client resumes after what it got.
                    close(&mut socket, 1011, "try again").await;
                    return;
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
            received = live.receiver.recv() => match received {
                Ok(first) => {
                    // This message and whatever else is waiting, written at once.
                    let mut next = Some(first);
                    let mut batched = 0;
                    while let Some(message) = next.take() {
                        if message.seq() > sent {
                            sent = message.seq();
                            match forward(&mut socket, &message, &viewer, &key).await {
                                Forwarded::Sent => batched += 1,
                                Forwarded::Skipped => {}
                                Forwarded::Closed => return,
                            }
                        }
                        if batched < SEND_BATCH {
                            // Empty, lagged or closed: the next `recv` reports the last two.
                            next = live.receiver.try_recv().ok();
                        }
                    }
                    if batched > 0 && !flush(&mut socket).await {
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
            _ = tokio::time::sleep_until(expires) => {
                // The session's expiry date came; another request may have
                // moved it on (it expires after inactivity).
                match session_expiry(&hub, &session).await {
                    Some(later) => expires = later.max(Instant::now() + Duration::from_secs(1)),
                    None => {
                        close(&mut socket, CLOSE_SESSION_ENDED, "session ended").await;
                        return;
                    }
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

/// What became of one message on a connection.
enum Forwarded {
    /// The client may see it and it was sent.
    Sent,
    /// Not for this client.
    Skipped,
    /// The connection is closed: the send failed, or the message ended its session.
    Closed,
}

/// Frames `message` for the connection of `viewer` (whose session has key
/// `key`) if they may see it, for the caller to [`flush`]; closes the
/// connection (after what was framed before) when it ends the session.
async fn forward(socket: &mut WebSocket, message: &HubMessage, viewer: &Viewer, key: &str) -> Forwarded {
    match message {
        HubMessage::SessionEnded { key: ended, .. } if ended == key => {
            close(socket, CLOSE_SESSION_ENDED, "session ended").await;
            Forwarded::Closed
        }
        HubMessage::SessionEnded { .. } => Forwarded::Skipped,
        HubMessage::Order(e) if e.parties.is_some_and(|p| may_see_event(&e.typed, &p, viewer)) => {
            if feed(socket, Message::Text(e.text.clone())).await {
                Forwarded::Sent
            } else {
                Forwarded::Closed
            }
        }
        HubMessage::Order(_) => Forwarded::Skipped,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn viewer(id: i64, role: Role, vehicle: Option<DeliveryType>) -> Viewer {
        Viewer {
            id: UserId(id),
            role,
            vehicle,
        }
    }

    /// Every kind of viewer, two of most, riders of two vehicle types.
    fn everyone() -> Vec<Viewer> {
        vec![
            viewer(1, Role::Customer, None),
            viewer(2, Role::Customer, None),
            viewer(10, Role::Owner, None),
            viewer(11, Role::Owner, None),
            viewer(20, Role::Rider, Some(DeliveryType::Motorbike)),
            viewer(21, Role::Rider, Some(DeliveryType::Motorbike)),
            viewer(22, Role::Rider, Some(DeliveryType::Bicycle)),
            viewer(30, Role::Admin, None),
        ]
    }

    fn events() -> Vec<Event> {
        let order = domain::OrderId(5);
        let kinds = [
            "OrderAccepted",
            "OrderReady",
            "OrderCancelled",
            "PaymentCaptured",
            "PaymentFailed",
            "RiderAssigned",
        ];
        let mut events: Vec<Event> = kinds
            .into_iter()
            .filter_map(|kind| {
                let payload = match kind {
                    "PaymentCaptured" => serde_json::json!({"order_id": 5, "amount": 23000}),
                    "PaymentFailed" => serde_json::json!({"order_id": 5, "reason": "declined"}),
                    "OrderAccepted" => serde_json::json!({"order_id": 5, "prep_minutes": 10}),
                    "OrderCancelled" => serde_json::json!({"order_id": 5, "by": "customer"}),
                    "RiderAssigned" => serde_json::json!({"order_id": 5, "rider": 21}),
                    _ => serde_json::json!({"order_id": 5}),
                };
                Event::decode(kind, &payload).ok()
            })
            .collect();
        assert_eq!(events.len(), kinds.len(), "the order events decode");
        events.extend([
            Event::Delivery(DeliveryEvent::DeliveryJobOpened {
                order_id: order,
                vehicle: DeliveryType::Motorbike,
            }),
            Event::Delivery(DeliveryEvent::DeliveryJobReady { order_id: order }),
            Event::Delivery(DeliveryEvent::DeliveryJobClaimed {
                order_id: order,
                rider: UserId(20),
            }),
            Event::Delivery(DeliveryEvent::DeliveryJobPickedUp {
                order_id: order,
                rider: UserId(20),
            }),
            Event::Delivery(DeliveryEvent::DeliveryJobCancelled {
                order_id: order,
                rider: None,
            }),
        ]);
        events
    }

    fn parties() -> Vec<Parties> {
        let mut out = Vec::new();
        for vehicle in [None, Some(DeliveryType::Motorbike), Some(DeliveryType::Bicycle)] {
            for rider in [None, Some(UserId(20)), Some(UserId(22))] {
                out.push(Parties {
                    customer: UserId(1),
                    owner: UserId(10),
                    vehicle,
                    rider,
                });
            }
        }
        // An admin who ordered for themself.
        out.push(Parties {
            customer: UserId(30),
            owner: UserId(10),
            vehicle: None,
            rider: None,
        });
        out
    }

    fn order_message(seq: i64, typed: Event, parties: Option<Parties>) -> Arc<HubMessage> {
        let live = LiveEvent {
            seq,
            order_id: 5,
            kind: typed.kind().to_string(),
            status: None,
            at_ms: 0,
        };
        Arc::new(HubMessage::Order(HubEvent::new(live, typed, parties)))
    }

    #[test]
    fn each_event_reaches_exactly_the_connections_that_may_see_it() {
        let audiences = Arc::new(Mutex::new(Audiences::default()));
        let mut subscriptions: Vec<Subscription> = everyone()
            .into_iter()
            .map(|v| Subscription::new(&audiences, v, format!("session-{}", v.id.get())))
            .collect();
        let mut seq = 0;
        for parties in parties() {
            for typed in events() {
                seq += 1;
                lock(&audiences).send(&order_message(seq, typed.clone(), Some(parties)));
                for s in &mut subscriptions {
                    let got = s.receiver.try_recv().ok().map(|m| m.seq());
                    let expected = may_see_event(&typed, &parties, &s.viewer).then_some(seq);
                    assert_eq!(got, expected, "{} for {:?} with {parties:?}", typed.kind(), s.viewer);
                    assert!(s.receiver.try_recv().is_err(), "once only");
                }
            }
        }
        // An order whose parties are unknown reaches nobody.
        lock(&audiences).send(&order_message(seq + 1, events().remove(0), None));
        assert!(subscriptions.iter_mut().all(|s| s.receiver.try_recv().is_err()));
    }

    #[test]
    fn tabs_of_one_user_share_a_channel_and_the_index_forgets_who_left() {
        let audiences = Arc::new(Mutex::new(Audiences::default()));
        let rider = viewer(20, Role::Rider, Some(DeliveryType::Motorbike));
        let mut first = Subscription::new(&audiences, rider, "a".into());
        let mut second = Subscription::new(&audiences, rider, "b".into());
        let admin = Subscription::new(&audiences, viewer(30, Role::Admin, None), "c".into());
        assert_eq!(lock(&audiences).sockets, 3);
        assert_eq!(
            lock(&audiences).by_user[&UserId(20)].len(),
            1,
            "one channel for both tabs"
        );

        let opened = Event::Delivery(DeliveryEvent::DeliveryJobOpened {
            order_id: domain::OrderId(5),
            vehicle: DeliveryType::Motorbike,
        });
        let parties = Parties {
            customer: UserId(1),
            owner: UserId(10),
            vehicle: Some(DeliveryType::Motorbike),
            rider: None,
        };
        lock(&audiences).send(&order_message(1, opened.clone(), Some(parties)));
        assert_eq!(first.receiver.try_recv().unwrap().seq(), 1);
        assert_eq!(second.receiver.try_recv().unwrap().seq(), 1);

        // The session of the first tab ends: only the sockets of that user hear.
        let ended = Arc::new(HubMessage::SessionEnded {
            seq: 2,
            key: "a".into(),
        });
        lock(&audiences).send(&ended);
        assert_eq!(first.receiver.try_recv().unwrap().seq(), 2);
        assert_eq!(
            second.receiver.try_recv().unwrap().seq(),
            2,
            "the tab itself checks the key"
        );

        drop(first);
        lock(&audiences).send(&order_message(3, opened.clone(), Some(parties)));
        assert_eq!(
            second.receiver.try_recv().unwrap().seq(),
            3,
            "the other tab still hears"
        );
        drop(second);
        drop(admin);
        let left = lock(&audiences);
        assert_eq!(left.sockets, 0);
        assert!(left.by_user.is_empty() && left.riders.is_empty() && left.admins.is_empty());
        assert!(left.sessions.is_empty());
    }
}
