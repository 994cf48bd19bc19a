//! Live updates over the WebSocket (issue 5), with tokio-tungstenite as the
//! client, against a spawned server (`TEST_DATABASE=sqlite|postgres`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures::StreamExt;
use std::time::Duration;
use testkit::app::{connect, owner_does, person, place_order, spawn_app, spawn_app_changed, TestApp};
use testkit::demo::{BIKE_RIDER as BIKE, CUSTOMER, MOTO_RIDER as MOTO, OTHER_CUSTOMER, OTHER_OWNER, OWNER};
use testkit::live::{drain, hello, Socket};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_websocket_needs_a_session() {
    let app = spawn_app().await;
    let refused = connect(&app, None, None).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401),
        "{refused:?}"
    );
    let forged = connect(&app, Some("baedal_session=forged"), None).await;
    assert!(forged.is_err(), "an unknown session is refused");
}

#[tokio::test]
async fn each_screen_receives_exactly_the_events_it_may_see() {
    let app = spawn_app().await;
    let names = [CUSTOMER, OTHER_CUSTOMER, OWNER, OTHER_OWNER, MOTO, BIKE];
    let mut people = Vec::new();
    let mut sockets = Vec::new();
    for email in names {
        let p = person(&app, email).await;
        let mut s = connect(&app, Some(&p.cookie), None).await.expect("connect");
        hello(&mut s).await;
        people.push(p);
        sockets.push(s);
    }
    let order = place_order(&app, &people[0]).await;
    owner_does(&app, &people[2], "accept_order", &order).await;
    owner_does(&app, &people[2], "mark_ready", &order).await;

    let mut got = Vec::new();
    for s in &mut sockets {
        got.push(
            drain(s, Duration::from_millis(1500))
                .await
                .into_iter()
                .map(|(_, k)| k)
                .collect::<Vec<_>>(),
        );
    }
    let all = vec!["OrderPlaced", "PaymentAuthorized", "OrderAccepted", "OrderReady"];
    assert_eq!(got[0], all, "the customer sees every change of their order");
    assert!(got[1].is_empty(), "another customer sees nothing: {:?}", got[1]);
    assert_eq!(got[2], all, "the store's owner sees it all");
    assert!(got[3].is_empty(), "another store's owner sees nothing: {:?}", got[3]);
    assert_eq!(
        got[4],
        vec!["DeliveryJobOpened", "DeliveryJobReady"],
        "a motorbike rider sees the open job, and nothing of the money"
    );
    assert!(
        got[5].is_empty(),
        "a bicycle rider sees nothing of a motorbike job: {:?}",
        got[5]
    );
}

#[tokio::test]
async fn a_client_that_reconnects_gets_exactly_what_it_missed_in_order_then_live() {
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let owner = person(&app, OWNER).await;
    let mut socket = connect(&app, Some(&customer.cookie), None).await.expect("connect");
    hello(&mut socket).await;
    let order = place_order(&app, &customer).await;
    let seen = drain(&mut socket, Duration::from_millis(800)).await;
    assert_eq!(
        seen.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(),
        vec!["OrderPlaced", "PaymentAuthorized"]
    );
    let last_seen = seen[1].0;
    socket.close(None).await.ok();
    drop(socket);

    // While away: accepted, ready; and another customer's order, which must not arrive.
    owner_does(&app, &owner, "accept_order", &order).await;
    let other = person(&app, OTHER_CUSTOMER).await;
    place_order(&app, &other).await;
    owner_does(&app, &owner, "mark_ready", &order).await;

    let mut socket = connect(&app, Some(&customer.cookie), Some(last_seen))
        .await
        .expect("reconnect");
    hello(&mut socket).await;
    let missed = drain(&mut socket, Duration::from_millis(800)).await;
    assert_eq!(
        missed.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(),
        vec!["OrderAccepted", "OrderReady"],
        "exactly the missed events: {missed:?}"
    );
    assert!(missed.windows(2).all(|w| w[0].0 < w[1].0), "in order");
    assert!(missed.iter().all(|(seq, _)| *seq > last_seen), "no duplicates");

    // Then live, with nothing repeated.
    let cancel = app
        .call_as(&customer.http, "cancel_order", &[("id", &order)], &[])
        .await;
    assert_eq!(cancel.status, 409, "too late once ready");
    let rider = person(&app, MOTO).await;
    let claim = app
        .call_as(&rider.http, "claim_job", &[("order", order.as_str())], &[])
        .await;
    assert_eq!(claim.status, 200, "{}", claim.body);
    let live = drain(&mut socket, Duration::from_millis(1500)).await;
    assert_eq!(
        live.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>(),
        vec!["DeliveryJobClaimed"]
    );
    assert!(live[0].0 > missed.last().unwrap().0);
}

/// Events that reach a socket faster than it writes them are written
/// several at once (`live::SEND_BATCH`, issue 13): a burst of events from
/// two customers' checkouts, more than a batch in all, arrives whole, each
/// event once, in the log's order.
#[tokio::test]
async fn a_burst_of_events_arrives_whole_once_each_and_in_order() {
    let app = spawn_app().await;
    let owner = person(&app, OWNER).await;
    let mut socket = connect(&app, Some(&owner.cookie), None).await.expect("connect");
    hello(&mut socket).await;
    let first = person(&app, CUSTOMER).await;
    let second = person(&app, OTHER_CUSTOMER).await;
    let orders: usize = 12;
    let place = |customer| {
        let app = &app;
        async move {
            for _ in 0..orders {
                place_order(app, customer).await;
            }
        }
    };
    futures::join!(place(&first), place(&second));
    let seen = drain(&mut socket, Duration::from_millis(1500)).await;
    // Two customers' orders, each placed and authorized.
    let events = 2 * 2 * orders;
    assert!(events > server::live::SEND_BATCH, "more than a batch in all");
    assert_eq!(seen.len(), events, "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "each once, in order: {seen:?}"
    );
    for kind in ["OrderPlaced", "PaymentAuthorized"] {
        assert_eq!(seen.iter().filter(|(_, k)| k == kind).count(), 2 * orders, "{kind}");
    }
}

#[tokio::test]
async fn connections_are_closed_with_going_away_on_shutdown() {
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let mut socket = connect(&app, Some(&customer.cookie), None).await.expect("connect");
    hello(&mut socket).await;
    let stopping = tokio::spawn(async move {
        let mut app = app;
        app.stop().await;
    });
    let mut code = None;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        if let Ok(Message::Close(Some(frame))) = frame {
            code = Some(u16::from(frame.code));
            break;
        }
    }
    assert_eq!(code, Some(1001), "going away");
    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("server stops")
        .unwrap();
}

#[tokio::test]
async fn a_client_message_over_the_size_limit_closes_the_connection() {
    use futures::SinkExt;
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let mut socket = connect(&app, Some(&customer.cookie), None).await.expect("connect");
    hello(&mut socket).await;
    let _ = socket.send(Message::Text("x".repeat(64 * 1024).into())).await;
    let mut closed = false;
    while let Ok(frame) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
        match frame {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => {
                closed = true;
                break;
            }
            Some(Ok(_)) => {}
        }
    }
    assert!(closed, "the server hung up on an oversized message");
    // The server itself is fine.
    let again = connect(&app, Some(&customer.cookie), None).await;
    assert!(again.is_ok());
}

#[tokio::test]
async fn a_client_message_larger_than_the_read_buffer_but_within_the_limit_keeps_the_connection() {
    use futures::SinkExt;
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let mut socket = connect(&app, Some(&customer.cookie), None).await.expect("connect");
    hello(&mut socket).await;
    let size = server::live::MAX_MESSAGE_BYTES - 64;
    assert!(size > server::live::READ_BUFFER_BYTES * 4);
    socket.send(Message::Text("x".repeat(size).into())).await.expect("sent");
    let order = place_order(&app, &customer).await;
    assert!(!order.is_empty());
    let got: Vec<_> = drain(&mut socket, Duration::from_millis(1500))
        .await
        .into_iter()
        .map(|(_, kind)| kind)
        .collect();
    assert_eq!(
        got,
        vec!["OrderPlaced", "PaymentAuthorized"],
        "still live after the large message"
    );
}

#[tokio::test]
async fn a_silent_client_is_pinged_then_closed_after_the_idle_timeout() {
    let app = spawn_app_changed(|s| s.ws_idle_timeout_ms = 900).await;
    let customer = person(&app, CUSTOMER).await;
    let mut socket = connect(&app, Some(&customer.cookie), None).await.expect("connect");
    hello(&mut socket).await;
    // Not reading means not answering the server's pings.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut pinged = false;
    let mut closed = false;
    while let Ok(next) = tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
        match next {
            Some(Ok(Message::Ping(_))) => pinged = true,
            Some(Ok(Message::Close(_))) | None => {
                closed = true;
                break;
            }
            // Answering a buffered ping hits the connection the server
            // already closed: that is the close, seen from this side.
            Some(Err(_)) => {
                closed = true;
                break;
            }
            Some(Ok(_)) => {}
        }
    }
    assert!(pinged, "pinged before giving up");
    assert!(closed, "closed as idle");

    // A client that answers pings stays connected past the timeout.
    let mut socket = connect(&app, Some(&customer.cookie), None).await.expect("connect");
    hello(&mut socket).await;
    let until = tokio::time::Instant::now() + Duration::from_millis(2_500);
    while tokio::time::Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(100), socket.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => panic!("closed although it answered"),
            _ => {}
        }
    }
}

/// Opens a WebSocket over a TCP socket with a tiny receive buffer, so a
/// client that stops reading backs up into the server within kilobytes.
async fn connect_small(app: &TestApp, cookie: &str) -> Socket {
    let url = format!("{}/ws", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("cookie", cookie.parse().unwrap());
    let address: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("the test server listens on an IP address");
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4 * 1024).unwrap();
    let stream = tcp.connect(address).await.unwrap();
    let (socket, _) = tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
        .await
        .expect("connect");
    socket
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_and_resumes_the_rest() {
    const EVENTS: i64 = 20_000;
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let order: i64 = place_order(&app, &customer).await.parse().unwrap();
    let mut socket = connect_small(&app, &customer.cookie).await;
    let head = hello(&mut socket).await;

    // The client now stops reading while its order's events pour in.
    let mut appended = Vec::new();
    for _ in 0..EVENTS / 1_000 {
        let mut tx = app.db().begin().await.unwrap();
        let events: Vec<eventlog::NewEvent> = (0..1_000)
            .map(|_| eventlog::NewEvent {
                stream: "order",
                stream_id: order,
                correlation_id: Some(order),
                kind: "OrderAcknowledged".into(),
                payload: serde_json::json!({ "order_id": order, "by": 0 }),
            })
            .collect();
        appended.extend(eventlog::append(&mut tx, &events).await.unwrap());
        tx.commit().await.unwrap();
    }
    let last = *appended.last().unwrap();
    assert!(
        views::wait_for(app.db(), &app::server::READ_MODELS, last, 60_000).await,
        "projected"
    );
    // A send blocked for `SEND_TIMEOUT` (or a lag past the broadcast buffer) ends it.
    tokio::time::sleep(server::live::SEND_TIMEOUT + Duration::from_secs(2)).await;

    let mut received = Vec::new();
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let m: serde_json::Value = serde_json::from_str(&text).unwrap();
                received.push(m["seq"].as_i64().unwrap());
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => break true,
            Ok(Some(Ok(_))) => {}
            Err(_) => break false,
        }
    };
    assert!(
        ended,
        "the server hung up on the slow client (got {} events)",
        received.len()
    );
    assert!(
        (received.len() as i64) < EVENTS,
        "cut off before the end: got {} of {EVENTS}",
        received.len()
    );
    assert!(received.windows(2).all(|w| w[0] < w[1]), "what arrived is in order");

    // Resuming from the last event it saw (or from the hello's head, when
    // it was cut off before the first: a customer's channel holds only
    // `CUSTOMER_CAPACITY` events) gives it exactly the rest.
    let seen = received.last().copied().unwrap_or(head);
    let mut socket = connect(&app, Some(&customer.cookie), Some(seen)).await.expect("resume");
    hello(&mut socket).await;
    let rest: Vec<i64> = drain(&mut socket, Duration::from_millis(1500))
        .await
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    let mut everything = received.clone();
    everything.extend(&rest);
    assert_eq!(
        everything, appended,
        "every event exactly once, in order, and nothing else"
    );
}
