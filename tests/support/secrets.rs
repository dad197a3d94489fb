//! What no output of the `aviary` binary may contain: the app secret the tests' manifests use
//! (the emulator's, [`APP_SECRET`]) and any tenant access token the emulator issues (`t-` and
//! 40 hex digits). The helpers that read the binary's output check it — [`crate::binary`]'s
//! `sigterm`, `Run::output` and `Aviary::dlq`, and `runtime/tests/run_binary.rs`'s own — so
//! every end-to-end suite that runs the real binary greps everything it printed.

/// The app secret of the emulator's app, which every test manifest uses.
pub const APP_SECRET: &str = "emulator-secret";

/// Where `text` shows a secret: the app secret, or a tenant token (`t-` + 40 hex digits).
pub fn leaks(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(at) = text.find(APP_SECRET) {
        found.push(format!("the app secret at byte {at}"));
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(off) = text[i..].find("t-") {
        let start = i + off + 2;
        let hex = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let word_start = i + off == 0 || !bytes[i + off - 1].is_ascii_alphanumeric();
        if hex == 40 && word_start {
            found.push(format!("a tenant token at byte {}", i + off));
        }
        i = start;
    }
    found
}

/// Panics naming `what` and where, when `text` shows a secret.
pub fn assert_no_secrets(what: &str, text: &str) {
    let found = leaks(text);
    assert!(
        found.is_empty(),
        "{what} shows {}:\n{text}",
        found.join(", ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_secret_and_tokens_only() {
        let token = format!("t-{}", "0a".repeat(20));
        assert_eq!(leaks(&format!("token {token} sent")).len(), 1);
        assert_eq!(leaks("secret emulator-secret").len(), 1);
        assert!(leaks("app_secret = *** rest-of-line t-abc").is_empty());
        assert!(leaks(&format!("not-{}", "0a".repeat(20))).is_empty());
    }
}
