//! Reconfigure (a reload changed the credentials, the domain or `[connection]`) against the
//! in-test fake: make-before-break with the new options, or the old connection and options
//! kept when the new ones are refused.

use super::*;
use crate::secret::Secret;

fn secrets_sent(fake: &Fake) -> Vec<String> {
    fake.state
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| body["AppSecret"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn start_with_control(options: ConnectionOptions) -> (Running, ConnectionControl) {
    let stats = ConnectionStats::new();
    let shutdown = CancellationToken::new();
    let (control, receiver) = control();
    let task = tokio::spawn(run_with_control(
        options,
        Arc::new(LogSink),
        stats.clone(),
        shutdown.clone(),
        receiver,
    ));
    (
        Running {
            stats,
            shutdown,
            task,
        },
        control,
    )
}

#[tokio::test]
async fn new_credentials_open_a_new_session_before_the_old_one_closes() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let (running, control) = start_with_control(fake.options());
    let mut old = fake.conn().await;
    old.frame().await;

    let mut rotated = fake.options();
    rotated.app_secret = Secret::new("rotated-secret");
    let done = control.reconfigure(rotated).await.unwrap();
    assert_eq!(
        done,
        Some(Reconnected {
            conn_id: "dev-2".into(),
            replaced: Some("dev-1".into()),
        })
    );
    let mut new = fake.conn().await;
    new.frame().await;
    let (code, _) = loop {
        match tokio::time::timeout(WAIT, old.from_client.recv()).await {
            Ok(Some(Message::Close(frame))) => break (frame.unwrap().code, ()),
            Ok(Some(_)) => continue,
            other => panic!("no close on the old connection: {other:?}"),
        }
    };
    assert_eq!(code, CloseCode::Normal);
    new.send(&event_frame("m-1", "ev-1"));
    assert_eq!(new.ack().await.header("message_id"), Some("m-1"));
    // Later connections use the new secret too.
    control.reconnect().await.unwrap();
    assert_eq!(
        secrets_sent(&fake),
        ["top-secret", "rotated-secret", "rotated-secret"]
    );
    running.shutdown.cancel();
    running.finish().await.unwrap();
}

#[tokio::test]
async fn refused_credentials_keep_the_connection_and_the_old_options() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let (running, control) = start_with_control(fake.options());
    let mut conn = fake.conn().await;
    conn.frame().await;

    *fake.state.reply.lock().unwrap() = Reply::Code(10003);
    let mut wrong = fake.options();
    wrong.app_secret = Secret::new("wrong-secret");
    let err = control.reconfigure(wrong).await.unwrap_err();
    assert!(matches!(err, ControlError::ReconnectFailed(_)), "{err}");
    assert!(!err.to_string().contains("wrong-secret"), "{err}");
    // Still served by the first connection, still with the first secret.
    conn.send(&event_frame("m-1", "ev-1"));
    assert_eq!(conn.ack().await.header("message_id"), Some("m-1"));
    *fake.state.reply.lock().unwrap() = Reply::Ok;
    control.reconnect().await.unwrap();
    assert_eq!(
        secrets_sent(&fake),
        ["top-secret", "wrong-secret", "top-secret"]
    );
    assert_eq!(running.stats.snapshot().disconnects, 0);
    running.shutdown.cancel();
    running.finish().await.unwrap();
}

#[tokio::test]
async fn drained_the_new_options_apply_at_resume() {
    let mut fake = Fake::start(Upgrade::Accept).await;
    let (running, control) = start_with_control(fake.options());
    let mut conn = fake.conn().await;
    conn.frame().await;
    control.drain().await.unwrap();
    let mut rotated = fake.options();
    rotated.app_secret = Secret::new("rotated-secret");
    assert_eq!(control.reconfigure(rotated).await, Ok(None));
    assert_eq!(fake.hits(), 1, "no connection while drained");
    control.resume().await.unwrap();
    fake.conn().await.frame().await;
    assert_eq!(secrets_sent(&fake), ["top-secret", "rotated-secret"]);
    running.shutdown.cancel();
    running.finish().await.unwrap();
}
