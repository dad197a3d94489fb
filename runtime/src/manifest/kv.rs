//! A handler's `kv` key: `true` (its own namespace), `"name"` (a namespace shared by the
//! handlers naming it) or `false`/absent (denied), built into [`KvGrant`]; and the rule that a
//! handler's own namespace is not shared by accident.

use std::ops::Range;

use toml::Spanned;

use crate::kv::KvGrant;

/// The grant `raw` describes for handler `name`, or why it cannot be one.
pub(super) fn grant(raw: &Spanned<toml::Value>, name: &str) -> Result<Option<KvGrant>, String> {
    match raw.get_ref() {
        toml::Value::Boolean(true) => Ok(Some(KvGrant::own(name))),
        toml::Value::Boolean(false) => Ok(None),
        toml::Value::String(s) => KvGrant::shared(s.trim()).map(Some),
        other => Err(format!(
            "must be true (the handler's own namespace), a namespace name (a string, shared by \
             the handlers naming it) or false; got {} {other}",
            other.type_str()
        )),
    }
}

/// A handler's grant and where its `kv` value is.
pub(super) struct Written {
    pub handler: String,
    pub grant: KvGrant,
    pub span: Range<usize>,
}

/// Problems (span, message) where `kv = "x"` names the own namespace of handler `x`
/// (`kv = true`), which would share what that handler was promised as its own.
pub(super) fn clashes(written: &[Written]) -> Vec<(Range<usize>, String)> {
    let grants: Vec<(&str, &KvGrant)> = written
        .iter()
        .map(|w| (w.handler.as_str(), &w.grant))
        .collect();
    crate::kv::grant::own_namespace_clashes(&grants)
        .into_iter()
        .map(|(i, message)| (written[i].span.clone(), message))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::manifest::Manifest;

    const HEAD: &str = "[feishu]\napp_id = \"cli_1\"\napp_secret = \"s\"\n";

    fn handler(name: &str, kv: &str) -> String {
        format!(
            "[[handler]]\nname = \"{name}\"\ncomponent = \"{name}.wasm\"\nevents = [\"*\"]\n{kv}\n"
        )
    }

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(text, "aviary.toml", &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn grants_are_own_shared_or_denied() {
        let text = [
            HEAD.to_string(),
            handler("own", "kv = true"),
            handler("a", "kv = \"memory\""),
            handler("b", "kv = \"memory\""),
            handler("off", "kv = false"),
            handler("none", ""),
        ]
        .concat();
        let m = parse(&text).unwrap();
        let kv = |n: &str| m.handler(n).unwrap().kv.clone();
        let own = kv("own").unwrap();
        assert_eq!((own.namespace.as_str(), own.shared), ("own", false));
        assert_eq!(kv("a"), kv("b"));
        assert!(kv("a").unwrap().shared);
        assert_eq!(kv("off"), None);
        assert_eq!(kv("none"), None, "denied by default");
    }

    #[test]
    fn bad_values_and_a_borrowed_own_namespace_are_named_with_their_line() {
        let text = [HEAD.to_string(), handler("h", "kv = 3")].concat();
        let e = parse(&text).unwrap_err();
        assert!(
            e.contains("aviary.toml:8:6: handler.kv: handler `h`: must be true"),
            "{e}"
        );
        let text = [HEAD.to_string(), handler("h", "kv = \"a b\"")].concat();
        let e = parse(&text).unwrap_err();
        assert!(
            e.contains(":8:6: handler.kv") && e.contains("contains ` `"),
            "{e}"
        );
        let text = [
            HEAD.to_string(),
            handler("echo", "kv = true"),
            handler("spy", "kv = \"echo\""),
        ]
        .concat();
        let e = parse(&text).unwrap_err();
        assert!(
            e.contains(":13:6: handler.kv")
                && e.contains("namespace `echo` is the own namespace of handler `echo`"),
            "{e}"
        );
    }
}
