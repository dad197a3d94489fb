//! Classification of a refused WebSocket upgrade, §2.

/// Header carrying the numeric status of a refused handshake.
pub const HANDSHAKE_STATUS: &str = "Handshake-Status";
/// Header carrying the message of a refused handshake.
pub const HANDSHAKE_MSG: &str = "Handshake-Msg";
/// Header carrying the auth sub-code (meaningful with status 514).
pub const HANDSHAKE_AUTH_ERR_CODE: &str = "Handshake-Autherrcode";

/// Status: forbidden (the app is banned).
pub const STATUS_FORBIDDEN: i64 = 403;
/// Status: authentication failed.
pub const STATUS_AUTH_FAILED: i64 = 514;
/// Auth sub-code: too many connections for this app.
pub const AUTH_EXCEED_CONN_LIMIT: i64 = 1000040350;

/// What a refused upgrade means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// Try again after the reconnect interval.
    Retry { reason: String },
    /// Stop for good.
    Fatal { code: i64, message: String },
}

/// Classifies a non-101 answer from the handshake headers (names are case-insensitive; the
/// caller looks them up). Missing headers fall back to the HTTP status, as newer Go does.
pub fn classify_handshake(
    http_status: u16,
    status: Option<&str>,
    msg: Option<&str>,
    auth_code: Option<&str>,
) -> HandshakeFailure {
    let status_code = status
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(i64::from(http_status));
    let auth = auth_code.and_then(|s| s.trim().parse::<i64>().ok());
    let msg = msg.unwrap_or("");
    match (status_code, auth) {
        (STATUS_FORBIDDEN, _) => HandshakeFailure::Fatal {
            code: STATUS_FORBIDDEN,
            message: format!(
                "gateway refused the connection with status 403 (forbidden: the app is banned) {msg}; contact Feishu support"
            ),
        },
        (STATUS_AUTH_FAILED, Some(AUTH_EXCEED_CONN_LIMIT)) => HandshakeFailure::Fatal {
            code: AUTH_EXCEED_CONN_LIMIT,
            message: format!(
                "gateway refused the connection with 514/1000040350: the app's connection limit is reached {msg}; \
                 stop other clients of this app or run Aviary instances behind one shared queue"
            ),
        },
        (code, auth) => HandshakeFailure::Retry {
            reason: format!(
                "handshake refused: HTTP {http_status}, status {code}{} {msg}",
                auth.map(|a| format!(", auth code {a}")).unwrap_or_default()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_table() {
        assert!(matches!(
            classify_handshake(400, Some("403"), None, None),
            HandshakeFailure::Fatal { code: 403, .. }
        ));
        assert!(matches!(
            classify_handshake(400, Some("514"), Some("limit"), Some("1000040350")),
            HandshakeFailure::Fatal {
                code: 1000040350,
                ..
            }
        ));
        assert!(matches!(
            classify_handshake(400, Some("514"), None, Some("1")),
            HandshakeFailure::Retry { .. }
        ));
        assert!(matches!(
            classify_handshake(500, None, None, None),
            HandshakeFailure::Retry { .. }
        ));
        assert!(matches!(
            classify_handshake(403, None, None, None),
            HandshakeFailure::Fatal { .. }
        ));
    }
}
