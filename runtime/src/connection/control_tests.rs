//! Control requests against the in-test fake: make-before-break reconnect, drain, resume.

use super::*;

struct Controlled {
    running: Running,
    control: ConnectionControl,
}

fn start_controlled(options: ConnectionOptions, sink: Arc<dyn EventSink>) -> Controlled {
    let stats = ConnectionStats::new();
    let shutdown = CancellationToken::new();
    let (control, receiver) = control();
    let task = tokio::spawn(run_with_control(
        options,
        sink,
        stats.clone(),
        shutdown.clone(),
        receiver,
    ));
    Controlled {
        running: Running {
            stats,
            shutdown,
            task,
        },
        control,
    }
}

/// Reads until the client's close frame; returns its code and every ack seen before it.
async fn until_close(conn: &mut Conn) -> (CloseCode, Vec<Frame>) {
    let mut acks = Vec::new();
    loop {
        let m = tokio::time::timeout(WAIT, conn.from_client.recv())
            .await
            .expect("client message in time")
            .expect("a close frame before the socket ends");
        match m {
            Message::Close(frame) => return (frame.expect("a close code").code, acks),
            Message::Binary(b) => {
                let f = decode_frame(&b).unwrap();
                if f.method == 1 {
                    acks.push(f);
                }
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn reconnect_opens_the_new_session_before_closing_the_old_one_with_1000() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let gate = Gate {
        release: release.clone(),
        started: started.clone(),
    };
    let c = start_controlled(fake.options(), Arc::new(gate));
    let mut old = fake.conn().await;
    old.frame().await; // ping
                       // An event in flight on the old connection when the reconnect is asked for.
    old.send(&event_frame("m-1", "ev-1"));
    wait_for(|| started.load(Ordering::SeqCst) == 1).await;

    let control = c.control.clone();
    let asked = tokio::spawn(async move { control.reconnect().await });
    let mut new = fake.conn().await;
    let done = tokio::time::timeout(WAIT, asked).await.unwrap().unwrap();
    assert_eq!(
        done,
        Ok(Reconnected {
            conn_id: "dev-2".into(),
            replaced: Some("dev-1".into()),
        })
    );
    assert!(
        matches!(c.running.stats.current_state(), ConnectionState::Connected { ref device_id, .. } if device_id == "dev-2")
    );
    // The old session still owes m-1's ack: it has not closed yet.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        old.from_client.try_recv().is_err(),
        "nothing on the old socket while its handler runs"
    );
    // The new session already works.
    new.frame().await; // its first ping
    release.add_permits(2);
    new.send(&event_frame("m-2", "ev-2"));
    assert_eq!(new.ack().await.header("message_id"), Some("m-2"));
    // The old one acks m-1, then closes with 1000.
    let (code, acks) = until_close(&mut old).await;
    assert_eq!(code, CloseCode::Normal);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].header("message_id"), Some("m-1"));
    assert_eq!(parse_ack_payload(acks[0].payload_bytes()).unwrap().0, 200);

    wait_for(|| c.running.stats.snapshot().disconnects == 1).await;
    let s = c.running.stats.snapshot();
    assert_eq!((s.connects, s.manual_reconnects, s.acks_200), (2, 1, 2));
    assert_eq!(
        s.reconnect_attempts, 0,
        "not counted as an automatic reconnect"
    );
    let replaced = c
        .running
        .stats
        .disconnects_by_kind()
        .into_iter()
        .find(|(k, _)| *k == DisconnectKind::Replaced)
        .unwrap();
    assert_eq!(replaced.1, 1);
    assert_eq!(
        c.running.stats.last_disconnect().unwrap().kind,
        DisconnectKind::Replaced
    );
    c.running.shutdown.cancel();
    c.running.finish().await.unwrap();
}

#[tokio::test]
async fn a_failed_reconnect_keeps_the_current_connection() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let c = start_controlled(fake.options(), Arc::new(LogSink));
    let mut conn = fake.conn().await;
    conn.frame().await;
    *fake.state.reply.lock().unwrap() = Reply::Code(1); // retryable: "try again later"
    let err = c.control.reconnect().await.unwrap_err();
    assert!(matches!(err, ControlError::ReconnectFailed(_)), "{err}");
    assert!(!err.to_string().contains("top-secret"));
    // Still served by the first connection.
    conn.send(&event_frame("m-1", "ev-1"));
    assert_eq!(conn.ack().await.header("message_id"), Some("m-1"));
    assert_eq!(c.running.stats.snapshot().disconnects, 0);
    c.running.shutdown.cancel();
    c.running.finish().await.unwrap();
}

#[tokio::test]
async fn drain_closes_with_1000_and_waits_until_resume() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let c = start_controlled(fake.options(), Arc::new(LogSink));
    let mut conn = fake.conn().await;
    conn.frame().await;
    conn.send(&event_frame("m-1", "ev-1"));
    assert_eq!(conn.ack().await.header("message_id"), Some("m-1"));

    c.control.drain().await.unwrap();
    let (code, _) = until_close(&mut conn).await;
    assert_eq!(code, CloseCode::Normal);
    assert_eq!(c.running.stats.current_state(), ConnectionState::Paused);
    assert_eq!(
        c.running.stats.last_disconnect().unwrap().kind,
        DisconnectKind::Drained
    );
    // No new connection while drained, and a reconnect is refused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.hits(), 1);
    assert_eq!(c.control.reconnect().await, Err(ControlError::Drained));
    assert_eq!(
        c.control.drain().await,
        Ok(()),
        "draining twice is harmless"
    );

    assert_eq!(c.control.resume().await, Ok(Resumed::Resumed));
    let mut again = fake.conn().await;
    again.frame().await;
    again.send(&event_frame("m-2", "ev-2"));
    assert_eq!(again.ack().await.header("message_id"), Some("m-2"));
    assert_eq!(fake.hits(), 2);
    assert_eq!(c.control.resume().await, Ok(Resumed::NotDrained));

    c.running.shutdown.cancel();
    c.running.finish().await.unwrap();
    assert_eq!(c.control.drain().await, Err(ControlError::Stopped));
}

#[tokio::test]
async fn a_reconnect_in_backoff_attempts_at_once() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let mut options = fake.options();
    // A long pause between attempts: without the request the next one is a minute away.
    options.settings.reconnect_delay = Some(Duration::from_secs(60));
    *fake.state.reply.lock().unwrap() = Reply::Code(1);
    let c = start_controlled(options, Arc::new(LogSink));
    wait_for(|| {
        matches!(
            c.running.stats.current_state(),
            ConnectionState::Backoff { attempt: 1, .. }
        )
    })
    .await;
    *fake.state.reply.lock().unwrap() = Reply::Ok;
    let done = c.control.reconnect().await.unwrap();
    assert_eq!(done.replaced, None);
    fake.conn().await;
    c.running.shutdown.cancel();
    c.running.finish().await.unwrap();
}
