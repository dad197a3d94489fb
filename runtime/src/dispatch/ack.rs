//! What the handlers' results of one event come to, i.e. the ack (§5.3):
//!
//! - **Plain events**: 200 ([`HandlerResult::Done`]) when every handler returned `done` or
//!   `reject` (a `respond` counts as done); 500 ([`HandlerResult::Failed`]) when any asked for a
//!   retry or failed, so Feishu redelivers.
//! - **Card callbacks**: the first `respond` in manifest order is the answer
//!   ([`HandlerResult::Respond`]), whatever the other handlers did (a callback cannot be
//!   answered twice). Without a `respond`, the plain-event rule applies.
//! - **Late callbacks**: when the deadline passes with handlers still running, the answer is the
//!   first `respond` in manifest order if every handler before it has finished; otherwise 200
//!   without data, so the user sees no error (see [`super::Dispatcher`]).

use crate::dispatch::HandlerResult;
use crate::handler::{Failure, Outcome};

/// One handler's result for one event, `None` when it has not finished.
pub type Slot<'a> = (&'a str, Option<&'a Result<Outcome, Failure>>);

/// The ack for a plain event or a callback whose handlers all finished (`finished` = every slot
/// is `Some`) or not (`late`).
pub fn decide(callback: bool, results: &[Slot<'_>]) -> HandlerResult {
    if callback {
        for (_, result) in results {
            match result {
                Some(Ok(Outcome::Respond(body))) => {
                    return HandlerResult::Respond(body.clone().into_bytes())
                }
                Some(_) => continue,
                // An earlier handler may still respond: the answer is not known.
                None => return HandlerResult::Done,
            }
        }
    }
    let problems: Vec<String> = results
        .iter()
        .filter_map(|(name, result)| match result {
            Some(Ok(Outcome::Retry(why))) => {
                Some(format!("handler `{name}` asked for a retry: {why}"))
            }
            Some(Err(failure)) => Some(format!("handler `{name}` failed: {}", failure.kind())),
            None if !callback => Some(format!("handler `{name}` did not finish")),
            _ => None,
        })
        .collect();
    if problems.is_empty() {
        HandlerResult::Done
    } else {
        HandlerResult::Failed(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done() -> Result<Outcome, Failure> {
        Ok(Outcome::Done)
    }
    fn respond(s: &str) -> Result<Outcome, Failure> {
        Ok(Outcome::Respond(s.into()))
    }

    #[test]
    fn plain_events() {
        let reject = Ok(Outcome::Reject("bad".into()));
        let retry = Ok(Outcome::Retry("later".into()));
        let trap = Err(Failure::StackOverflow);
        assert_eq!(
            decide(false, &[("a", Some(&done())), ("b", Some(&reject))]),
            HandlerResult::Done
        );
        assert_eq!(
            decide(false, &[("a", Some(&respond("{}")))]),
            HandlerResult::Done
        );
        let HandlerResult::Failed(why) = decide(
            false,
            &[
                ("a", Some(&retry)),
                ("b", Some(&done())),
                ("c", Some(&trap)),
            ],
        ) else {
            panic!()
        };
        assert!(why.contains("`a` asked for a retry: later"), "{why}");
        assert!(why.contains("`c` failed: stack_overflow"), "{why}");
    }

    #[test]
    fn callbacks_take_the_first_respond_in_manifest_order() {
        let trap = Err(Failure::StackOverflow);
        assert_eq!(
            decide(
                true,
                &[
                    ("a", Some(&trap)),
                    ("b", Some(&respond("1"))),
                    ("c", Some(&respond("2")))
                ]
            ),
            HandlerResult::Respond(b"1".to_vec())
        );
        assert_eq!(
            decide(
                true,
                &[
                    ("a", Some(&done())),
                    ("b", None),
                    ("c", Some(&respond("2")))
                ]
            ),
            HandlerResult::Done,
            "b is late and might still respond: fallback"
        );
        assert_eq!(
            decide(true, &[("a", Some(&respond("1"))), ("b", None)]),
            HandlerResult::Respond(b"1".to_vec())
        );
        assert!(matches!(
            decide(true, &[("a", Some(&trap))]),
            HandlerResult::Failed(_)
        ));
    }
}
