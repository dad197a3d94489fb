//! Which handlers an event type goes to: exact types, `prefix.*` wildcards, `*`, and the default
//! handler for types nobody subscribes to. Pure; the manifest uses [`EventPattern::parse`] to
//! validate `events`, the [`super::Dispatcher`] uses [`Router::route`].

use std::fmt;

/// One entry of a handler's `events` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventPattern {
    /// `im.message.receive_v1`: exactly this type.
    Exact(String),
    /// `im.message.*`: every type starting with `im.message.` (the stored prefix keeps the dot).
    Prefix(String),
    /// `*`: every type.
    Any,
}

impl EventPattern {
    /// Parses a pattern; the error says what is wrong and what would be accepted.
    pub fn parse(text: &str) -> Result<EventPattern, String> {
        let accepted = "use an exact type (\"im.message.receive_v1\"), a prefix wildcard \
                        (\"im.message.*\") or \"*\"";
        if text == "*" {
            return Ok(EventPattern::Any);
        }
        if text.is_empty() || text.chars().any(char::is_whitespace) {
            return Err(format!("`{text}` is not an event type pattern; {accepted}"));
        }
        if let Some(prefix) = text.strip_suffix(".*") {
            if prefix.is_empty() || prefix.contains('*') || prefix.ends_with('.') {
                return Err(format!("`{text}` is not an event type pattern; {accepted}"));
            }
            return Ok(EventPattern::Prefix(format!("{prefix}.")));
        }
        if text.contains('*') {
            return Err(format!(
                "`{text}`: `*` is only allowed alone or as the last segment after a dot; {accepted}"
            ));
        }
        Ok(EventPattern::Exact(text.to_string()))
    }

    /// Whether `event_type` matches.
    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            EventPattern::Exact(t) => t == event_type,
            EventPattern::Prefix(p) => event_type.starts_with(p.as_str()),
            EventPattern::Any => true,
        }
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventPattern::Exact(t) => f.write_str(t),
            EventPattern::Prefix(p) => write!(f, "{p}*"),
            EventPattern::Any => f.write_str("*"),
        }
    }
}

/// The subscriptions of every handler, in manifest order.
#[derive(Debug, Clone, Default)]
pub struct Router {
    subscriptions: Vec<Vec<EventPattern>>,
    default: Option<usize>,
}

impl Router {
    /// A router over handlers' patterns (index = position in the manifest) and the index of the
    /// default handler, if any.
    pub fn new(subscriptions: Vec<Vec<EventPattern>>, default: Option<usize>) -> Router {
        Router {
            subscriptions,
            default,
        }
    }

    /// The handlers (manifest indices, ascending) that get `event_type`: those with a matching
    /// pattern, or else the default handler, or else none.
    pub fn route(&self, event_type: &str) -> Vec<usize> {
        let matched: Vec<usize> = self
            .subscriptions
            .iter()
            .enumerate()
            .filter(|(_, patterns)| patterns.iter().any(|p| p.matches(event_type)))
            .map(|(i, _)| i)
            .collect();
        if matched.is_empty() {
            self.default.into_iter().collect()
        } else {
            matched
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> EventPattern {
        EventPattern::parse(s).unwrap()
    }

    #[test]
    fn patterns_parse_and_match() {
        assert_eq!(p("*"), EventPattern::Any);
        assert!(p("im.message.*").matches("im.message.receive_v1"));
        assert!(p("im.message.*").matches("im.message.reaction.created_v1"));
        assert!(!p("im.message.*").matches("im.message"));
        assert!(!p("im.message.*").matches("im.messages.x"));
        assert!(p("im.message.receive_v1").matches("im.message.receive_v1"));
        assert!(!p("im.message.receive_v1").matches("im.message.receive_v2"));
        assert_eq!(p("im.*").to_string(), "im.*");
        for bad in ["", "im.*.x", "*.x", ".*", "a..*", "im message", "im*", "**"] {
            assert!(EventPattern::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn routing_table() {
        let router = Router::new(
            vec![
                vec![p("im.message.receive_v1")],
                vec![p("im.message.*")],
                vec![p("card.action.trigger")],
                vec![],
            ],
            Some(3),
        );
        assert_eq!(router.route("im.message.receive_v1"), vec![0, 1]);
        assert_eq!(router.route("im.message.read_v1"), vec![1]);
        assert_eq!(router.route("card.action.trigger"), vec![2]);
        assert_eq!(router.route("contact.user.created_v3"), vec![3]);
        let no_default = Router::new(vec![vec![p("a.b")]], None);
        assert!(no_default.route("c.d").is_empty());
        let star = Router::new(vec![vec![p("a.b")], vec![p("*")]], Some(0));
        assert_eq!(star.route("c.d"), vec![1], "* subscribes to everything");
    }
}
