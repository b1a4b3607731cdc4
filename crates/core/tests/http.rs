//! The core on its own: a real listener, a raw TCP client, and a sink that plays the application
//! by answering through the exchanges registry, as the N-API binding does.
use bytes::Bytes;
use starling_core::{Bind, Config, Event, EventSink, Exchanges, HeaderBlock, Server, WriteOutcome};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Forwards every event to the test, which answers them.
struct Channel(mpsc::UnboundedSender<Event>);

impl EventSink for Channel {
    fn push(&self, event: Event) {
        let _ = self.0.send(event);
    }
}

async fn start(config: Config) -> (Server, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let config = Config {
        bind: Bind::Tcp {
            host: "127.0.0.1".into(),
            port: 0,
        },
        access_log: false,
        ..config
    };
    let server = Server::bind(config, Arc::new(Channel(tx))).expect("bind");
    (server, rx)
}

async fn roundtrip(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Answers each request with its method and path, as a plain app would.
fn echo_app(exchanges: Exchanges, mut rx: mpsc::UnboundedReceiver<Event>) {
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Event::Request { id, head, body, .. } = event {
                let text = format!("{} {} {}", head.method, head.uri.path(), body.len());
                exchanges.respond(
                    id,
                    200,
                    HeaderBlock::from(b"content-type\0text/plain\0".to_vec()),
                    Bytes::from(text),
                );
            }
        }
    });
}

#[tokio::test]
async fn answers_whole_responses_with_date_and_server_headers() {
    let (server, rx) = start(Config::default()).await;
    echo_app(server.exchanges().clone(), rx);
    let port = server.local_addr().unwrap().port();
    let reply = roundtrip(
        port,
        b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("server: starling"));
    assert!(reply.contains("date: "));
    assert!(reply.ends_with("POST /hello 3"));
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn malformed_heads_get_400_and_oversized_ones_431() {
    let (server, rx) = start(Config {
        max_header_size: 8192,
        ..Config::default()
    })
    .await;
    echo_app(server.exchanges().clone(), rx);
    let port = server.local_addr().unwrap().port();
    assert!(roundtrip(port, b"NOT HTTP\r\n\r\n")
        .await
        .starts_with("HTTP/1.1 400"));
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert!(roundtrip(port, big.as_bytes())
        .await
        .starts_with("HTTP/1.1 431"));
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let (server, rx) = start(Config {
        max_body_size: Some(10),
        ..Config::default()
    })
    .await;
    echo_app(server.exchanges().clone(), rx);
    let port = server.local_addr().unwrap().port();
    let reply = roundtrip(
        port,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn dropping_a_request_unanswered_gives_500() {
    let (server, mut rx) = start(Config::default()).await;
    let exchanges = server.exchanges().clone();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Event::Request { id, .. } = event {
                assert!(exchanges.abort(id));
            }
        }
    });
    let port = server.local_addr().unwrap().port();
    let reply = roundtrip(
        port,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 500"), "{reply}");
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn streams_with_backpressure_and_pulls_bodies_by_credit() {
    let (server, mut rx) = start(Config {
        inline_body_limit: 4,
        ..Config::default()
    })
    .await;
    let exchanges = server.exchanges().clone();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let seen = outcomes.clone();
    tokio::spawn(async move {
        let mut body = Vec::new();
        while let Some(event) = rx.recv().await {
            match event {
                Event::Request {
                    id,
                    more_body,
                    body: first,
                    ..
                } => {
                    // A chunked body's first chunk comes with the request (its framing is
                    // checked before the app answers); the rest is pulled.
                    assert_eq!(&first[..], b"hello");
                    assert!(more_body, "a body over the inline limit is pulled");
                    body.extend_from_slice(&first);
                    assert!(exchanges.read_more(id));
                }
                Event::Body {
                    id,
                    chunk,
                    more_body,
                } => {
                    body.extend_from_slice(&chunk);
                    if more_body {
                        exchanges.read_more(id);
                        continue;
                    }
                    assert!(exchanges.start(id, 200, HeaderBlock::default()));
                    let chunk = Bytes::from(vec![b'x'; 200 * 1024]);
                    let mut outcome = WriteOutcome::Ready;
                    for _ in 0..4 {
                        outcome = exchanges.write(id, chunk.clone());
                    }
                    seen.lock().unwrap().push((body.len(), outcome));
                    assert!(exchanges.end(id, Some(Bytes::from_static(b"!"))));
                }
                _ => {}
            }
        }
    });
    let port = server.local_addr().unwrap().port();
    let reply = roundtrip(
        port,
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("transfer-encoding: chunked"));
    assert!(reply.trim_end().ends_with("0"), "the stream ends cleanly");
    let outcomes = outcomes.lock().unwrap().clone();
    assert_eq!(
        outcomes,
        vec![(11, WriteOutcome::Full)],
        "800 KiB unread is past the high-water mark"
    );
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_client_that_leaves_is_reported_as_a_disconnect() {
    let (server, mut rx) = start(Config::default()).await;
    let disconnected = Arc::new(OnceLock::new());
    let flag = disconnected.clone();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Event::Disconnect { id } = event {
                let _ = flag.set(id);
            }
        }
    });
    let port = server.local_addr().unwrap().port();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stream);
    for _ in 0..100 {
        if disconnected.get().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(disconnected.get().is_some());
    assert_eq!(server.exchanges().pending(), 0);
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn memory_connections_are_served_like_sockets() {
    let (tx, rx) = mpsc::unbounded_channel();
    let config = Config {
        bind: Bind::Memory,
        access_log: false,
        ..Config::default()
    };
    let server = Server::bind(config, Arc::new(Channel(tx))).unwrap();
    assert!(server.local_addr().is_none());
    echo_app(server.exchanges().clone(), rx);
    let mut conn = server.connect_memory();
    conn.write_all(b"GET /mem HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    conn.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("GET /mem 0"),
        "{text}"
    );
    server.shutdown(Duration::from_secs(1)).await;
}
