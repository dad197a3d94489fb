//! Dialling the WebSocket URL (§2) and reading a refused handshake's headers.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::limits;
use crate::protocol::handshake::{
    classify_handshake, HandshakeFailure, HANDSHAKE_AUTH_ERR_CODE, HANDSHAKE_MSG, HANDSHAKE_STATUS,
};

use super::discovery::{redact_url, AttemptError};
use super::error::{ConnectError, FatalError};

/// The socket of one session.
pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Limits applied to every socket we open.
pub(crate) fn ws_config() -> WebSocketConfig {
    WebSocketConfig {
        max_message_size: Some(limits::MAX_WS_MESSAGE_BYTES),
        max_frame_size: Some(limits::MAX_WS_MESSAGE_BYTES),
        ..Default::default()
    }
}

/// Opens the WebSocket at `url` (ws:// or wss://, used verbatim, no extra headers) within
/// `timeout`. A non-101 answer is classified from its `Handshake-*` headers (§2). Like Go we
/// offer no permessage-deflate (Python/Node do): frames are small protobufs.
pub(crate) async fn dial(url: &str, timeout: Duration) -> Result<WsStream, AttemptError> {
    let connect = tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true);
    match tokio::time::timeout(timeout, connect).await {
        Err(_) => Err(AttemptError::Retry(ConnectError::HandshakeTimeout {
            url: redact_url(url),
            timeout,
        })),
        Ok(Ok((stream, _response))) => Ok(stream),
        Ok(Err(WsError::Http(response))) => {
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            match classify_handshake(
                response.status().as_u16(),
                header(HANDSHAKE_STATUS).as_deref(),
                header(HANDSHAKE_MSG).as_deref(),
                header(HANDSHAKE_AUTH_ERR_CODE).as_deref(),
            ) {
                HandshakeFailure::Retry { reason } => {
                    Err(AttemptError::Retry(ConnectError::HandshakeRetry(reason)))
                }
                HandshakeFailure::Fatal { code, message } => {
                    Err(AttemptError::Fatal(FatalError::Handshake { code, message }))
                }
            }
        }
        Ok(Err(source)) => Err(AttemptError::Retry(ConnectError::Dial {
            url: redact_url(url),
            source,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// wss:// goes through rustls: a peer that is not TLS must give a retryable error (and the
    /// crypto provider must be usable without setup — no panic).
    #[tokio::test]
    async fn wss_to_a_non_tls_peer_is_a_retryable_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            }
        });
        let url = format!("wss://127.0.0.1:{port}/ws/v2?device_id=d&service_id=1");
        match dial(&url, Duration::from_secs(2)).await {
            Err(AttemptError::Retry(reason)) => {
                let reason = reason.to_string();
                assert!(!reason.contains("service_id"), "query redacted: {reason}")
            }
            other => panic!("expected a retryable error, got {:?}", other.map(|_| ())),
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_a_retryable_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("ws://127.0.0.1:{port}/ws/v2");
        assert!(matches!(
            dial(&url, Duration::from_secs(2)).await,
            Err(AttemptError::Retry(_))
        ));
    }
}
