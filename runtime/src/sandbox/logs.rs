//! The per-call guest log: lines from the `log` import and from captured stdout/stderr, in
//! arrival order, capped in count and bytes so a flooding guest cannot grow host memory.
//! Lines past a cap are counted, not kept; [`LogSink::take`] appends one line saying how many
//! were dropped.

use std::sync::{Arc, Mutex};

use crate::handler::{GuestLog, LogLevel, LogStream};
use crate::limits::sandbox::{MAX_LOG_BYTES, MAX_LOG_LINES, MAX_LOG_LINE_BYTES};

/// Shared handle to one store's log buffer (the host state and both stdio pipes hold one).
#[derive(Clone, Default)]
pub(crate) struct LogSink(Arc<Mutex<LogBuffer>>);

#[derive(Default)]
struct LogBuffer {
    lines: Vec<GuestLog>,
    bytes: usize,
    dropped_lines: u64,
    dropped_bytes: u64,
    partial_stdout: Vec<u8>,
    partial_stderr: Vec<u8>,
}

impl LogBuffer {
    fn push(&mut self, level: LogLevel, stream: LogStream, mut message: String) {
        if self.lines.len() >= MAX_LOG_LINES || self.bytes >= MAX_LOG_BYTES {
            self.dropped_lines += 1;
            self.dropped_bytes += message.len() as u64;
            return;
        }
        if message.len() > MAX_LOG_LINE_BYTES {
            let cut = floor_char_boundary(&message, MAX_LOG_LINE_BYTES);
            self.dropped_bytes += (message.len() - cut) as u64;
            message.truncate(cut);
            message.push_str(" …[line cut]");
        }
        self.bytes += message.len();
        self.lines.push(GuestLog {
            level,
            message,
            stream,
        });
    }

    fn partial(&mut self, stream: LogStream) -> &mut Vec<u8> {
        match stream {
            LogStream::Stderr => &mut self.partial_stderr,
            _ => &mut self.partial_stdout,
        }
    }

    fn flush_partial(&mut self, stream: LogStream) {
        let bytes = std::mem::take(self.partial(stream));
        if !bytes.is_empty() {
            let line = String::from_utf8_lossy(&bytes).into_owned();
            self.push(stream_level(stream), stream, line);
        }
    }

    fn write_stream(&mut self, stream: LogStream, mut bytes: &[u8]) {
        let full = self.lines.len() >= MAX_LOG_LINES || self.bytes >= MAX_LOG_BYTES;
        if full {
            // Cheap path for floods: count, keep nothing.
            self.dropped_bytes += bytes.len() as u64;
            self.dropped_lines += bytes.iter().filter(|b| **b == b'\n').count() as u64;
            return;
        }
        while let Some(pos) = bytes.iter().position(|b| *b == b'\n') {
            self.partial(stream).extend_from_slice(&bytes[..pos]);
            self.flush_partial(stream);
            bytes = &bytes[pos + 1..];
        }
        let room = MAX_LOG_LINE_BYTES.saturating_sub(self.partial(stream).len());
        let keep = bytes.len().min(room);
        self.partial(stream).extend_from_slice(&bytes[..keep]);
        self.dropped_bytes += (bytes.len() - keep) as u64;
    }
}

fn stream_level(stream: LogStream) -> LogLevel {
    match stream {
        LogStream::Stderr => LogLevel::Warn,
        _ => LogLevel::Info,
    }
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl LogSink {
    /// A line from the `log` import.
    pub(crate) fn log(&self, level: LogLevel, message: String) {
        self.0.lock().unwrap().push(level, LogStream::Log, message);
    }

    /// Bytes written by the guest to stdout or stderr; split into lines.
    pub(crate) fn write(&self, stream: LogStream, bytes: &[u8]) {
        self.0.lock().unwrap().write_stream(stream, bytes);
    }

    /// Everything logged since the last `take` (unterminated stdio lines included), plus a
    /// final line if anything was dropped. Resets the buffer for the next call.
    pub(crate) fn take(&self) -> Vec<GuestLog> {
        let mut buf = self.0.lock().unwrap();
        buf.flush_partial(LogStream::Stdout);
        buf.flush_partial(LogStream::Stderr);
        let mut lines = std::mem::take(&mut buf.lines);
        if buf.dropped_lines > 0 || buf.dropped_bytes > 0 {
            lines.push(GuestLog {
                level: LogLevel::Warn,
                message: format!(
                    "[aviary] guest output truncated: {} more lines / {} more bytes dropped (caps: {MAX_LOG_LINES} lines, {MAX_LOG_BYTES} bytes per call)",
                    buf.dropped_lines, buf.dropped_bytes
                ),
                stream: LogStream::Log,
            });
        }
        *buf = LogBuffer::default();
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_stdio_into_lines_and_keeps_order() {
        let sink = LogSink::default();
        sink.write(LogStream::Stdout, b"one\ntw");
        sink.log(LogLevel::Info, "via log".into());
        sink.write(LogStream::Stdout, b"o\n");
        sink.write(LogStream::Stderr, b"unterminated");
        let lines = sink.take();
        let text: Vec<_> = lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(text, ["one", "via log", "two", "unterminated"]);
        assert_eq!(lines[3].stream, LogStream::Stderr);
        assert!(sink.take().is_empty());
    }

    #[test]
    fn floods_are_capped_and_reported() {
        let sink = LogSink::default();
        for _ in 0..10_000 {
            sink.log(LogLevel::Info, "x".repeat(100));
            sink.write(LogStream::Stdout, &[b'y'; 101]);
        }
        let lines = sink.take();
        assert!(lines.len() <= MAX_LOG_LINES + 1);
        let kept: usize = lines.iter().map(|l| l.message.len()).sum();
        assert!(kept <= MAX_LOG_BYTES + MAX_LOG_LINE_BYTES + 200);
        assert!(lines.last().unwrap().message.contains("truncated"));
    }
}
