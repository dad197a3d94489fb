//! Asking a running connection to do something: a make-before-break reconnect, a drain, a
//! resume. [`ConnectionControl`] is the sending side (cheap to clone); the supervisor owns the
//! receiving side and answers each request once it is carried out.

use tokio::sync::{mpsc, oneshot};

use super::options::ConnectionOptions;

/// A request to the supervisor, with where its answer goes.
#[derive(Debug)]
pub(crate) enum Command {
    Reconnect(oneshot::Sender<Result<Reconnected, ControlError>>),
    Drain(oneshot::Sender<Result<(), ControlError>>),
    Resume(oneshot::Sender<Result<Resumed, ControlError>>),
    Reconfigure(
        Box<ConnectionOptions>,
        oneshot::Sender<Result<Option<Reconnected>, ControlError>>,
    ),
}

/// What a successful reconnect did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct Reconnected {
    /// The new connection's id (the URL's `device_id`; "" when absent).
    pub conn_id: String,
    /// The id of the connection it replaced, when there was one (make-before-break: the old
    /// one was closed with 1000 after the new one was up). `None` when no connection was up
    /// (the wait before the next attempt was cut short instead).
    pub replaced: Option<String>,
}

/// What a resume did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum Resumed {
    /// The connection was drained; it connects again now.
    Resumed,
    /// It was not drained; nothing changed.
    NotDrained,
}

/// Why a control request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum ControlError {
    /// The connection has stopped (shut down or a fatal error).
    #[error("the connection has stopped")]
    Stopped,
    /// Reconnecting while drained: resume first.
    #[error("the connection is drained; resume it first")]
    Drained,
    /// The new connection could not be made; the current one (if any) is kept.
    #[error("reconnect failed, the current connection is kept: {0}")]
    ReconnectFailed(String),
    /// The current connection was lost while the new one was being made; the usual reconnect
    /// procedure takes over.
    #[error("the connection was lost during the reconnect; reconnecting as usual")]
    Lost,
}

/// Sends control requests to one running connection ([`super::run_with_control`]).
#[derive(Debug, Clone)]
pub struct ConnectionControl {
    tx: mpsc::UnboundedSender<Command>,
}

/// The supervisor's side of a [`ConnectionControl`].
#[derive(Debug)]
pub struct ControlReceiver {
    pub(crate) rx: mpsc::UnboundedReceiver<Command>,
}

/// A connected pair: give the receiver to [`super::run_with_control`], keep the control.
pub fn control() -> (ConnectionControl, ControlReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    (ConnectionControl { tx }, ControlReceiver { rx })
}

impl ConnectionControl {
    /// Opens a new session and, once it is up, closes the current one with 1000 after its
    /// in-flight acks (make-before-break: Feishu allows up to 50 connections per app and
    /// delivers each event to one of them, so nothing is lost; an event that was on its way
    /// to the old socket when it stopped reading is redelivered, and deduplicated). In backoff,
    /// it cuts the wait short and answers with the attempt's result.
    pub async fn reconnect(&self) -> Result<Reconnected, ControlError> {
        self.ask(Command::Reconnect).await
    }

    /// Closes the connection with 1000 after its in-flight acks, and connects no more until
    /// [`ConnectionControl::resume`] (Feishu then delivers to the app's other connections,
    /// or holds events until one is up).
    pub async fn drain(&self) -> Result<(), ControlError> {
        self.ask(Command::Drain).await
    }

    /// Ends a drain: connects again at once.
    pub async fn resume(&self) -> Result<Resumed, ControlError> {
        self.ask(Command::Resume).await
    }

    /// Connects with `options` from now on (a reload changed the credentials, the domain or
    /// `[connection]`). While connected: make-before-break with the new options — a session
    /// opened with them replaces the current one (`Some`), or, when it cannot be made, the
    /// current connection and options are kept ([`ControlError::ReconnectFailed`]). In backoff
    /// the next attempt is made at once with them; drained, the resume uses them (`None`).
    pub async fn reconfigure(
        &self,
        options: ConnectionOptions,
    ) -> Result<Option<Reconnected>, ControlError> {
        self.ask(|reply| Command::Reconfigure(Box::new(options), reply))
            .await
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, ControlError>>) -> Command,
    ) -> Result<T, ControlError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).map_err(|_| ControlError::Stopped)?;
        rx.await.map_err(|_| ControlError::Stopped)?
    }
}
