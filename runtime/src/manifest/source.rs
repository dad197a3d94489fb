//! Turning byte offsets of the manifest text into lines, columns, tables and keys for errors.

use std::ops::Range;

/// The manifest text, for locating spans.
pub(super) struct Source<'a> {
    text: &'a str,
}

impl<'a> Source<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Source { text }
    }

    /// 1-based line and column of a byte offset.
    pub(super) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// Line and column of a span's start.
    pub(super) fn span_start(&self, span: &Range<usize>) -> (usize, usize) {
        self.line_col(span.start)
    }

    /// The table (`feishu`, `connection`, …; "" for the top level) in force at a byte offset: the
    /// nearest `[table]` or `[[table]]` header at or before that line.
    pub(super) fn table_at(&self, offset: usize) -> String {
        let (line, _) = self.line_col(offset);
        self.text
            .lines()
            .take(line)
            .filter_map(header_name)
            .last()
            .unwrap_or_default()
    }

    /// The table holding `key` when an error about `key` points at `offset`. Usually the table in
    /// force there; but an error on a header line (`[conection]`, `[[handler]]`) is about the
    /// header's own name, so it belongs to the parent table.
    pub(super) fn table_of_key_at(&self, offset: usize, key: &str) -> String {
        let (line, _) = self.line_col(offset);
        if let Some(header) = self.text.lines().nth(line - 1).and_then(header_name) {
            let (parent, last) = header.rsplit_once('.').unwrap_or(("", header.as_str()));
            if last.trim().trim_matches('"') == key {
                return parent.trim().to_string();
            }
        }
        if let Some(inline) = self.inline_table_at(offset) {
            return dotted(&self.table_at(offset), &inline);
        }
        self.table_at(offset)
    }

    /// The key of the inline table (`merge = { … }`) whose braces hold `offset`, if any.
    fn inline_table_at(&self, offset: usize) -> Option<String> {
        let offset = offset.min(self.text.len());
        let line_start = self.text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line = &self.text[line_start..offset];
        let (key, value) = line.split_once('=')?;
        let key = key.trim().trim_matches('"');
        (value.trim_start().starts_with('{') && !key.is_empty() && !key.starts_with('#'))
            .then(|| key.to_string())
    }

    /// The line (1-based) of a table's header, if the table has one.
    pub(super) fn table_line(&self, table: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| header_name(l).as_deref() == Some(table))
            .map(|i| i + 1)
    }

    /// The bare key assigned on the line of `offset` (`key = value`), if any.
    pub(super) fn key_at(&self, offset: usize) -> Option<String> {
        let (line, _) = self.line_col(offset);
        let text = self.text.lines().nth(line - 1)?;
        let (key, _) = text.split_once('=')?;
        let key = key.trim().trim_matches('"');
        (!key.is_empty() && !key.starts_with('[') && !key.starts_with('#')).then(|| key.to_string())
    }
}

/// Dotted key `table.key` (just `key` at the top level).
pub(super) fn dotted(table: &str, key: &str) -> String {
    if table.is_empty() {
        key.to_string()
    } else {
        format!("{table}.{key}")
    }
}

fn header_name(line: &str) -> Option<String> {
    let line = line.trim();
    let line = line.split('#').next().unwrap_or("").trim();
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    let inner = inner.trim_start_matches('[').trim_end_matches(']').trim();
    (!inner.is_empty()).then(|| inner.to_string())
}
