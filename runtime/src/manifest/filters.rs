//! A handler's filter keys (`chat_types`, `require_mention`, `ignore_senders`,
//! `max_event_age_secs`, `chats`, `users`) into [`FilterSettings`], with every bad value
//! reported at its own line and column. The bounds are [`FilterSettings`]'s checks.

use std::collections::BTreeSet;

use toml::Spanned;

use super::handlers::Problems;
use super::raw::RawHandler;
use crate::dispatch::filter::FilterSettings;

/// The filters of one `[[handler]]`; problems go to `p`, prefixed with `who`.
pub(super) fn filter_settings(
    p: &mut Problems<'_, '_>,
    raw: &RawHandler,
    who: &str,
) -> FilterSettings {
    let chat_types = raw.chat_types.as_ref().map(|list| {
        let mut set = BTreeSet::new();
        if list.get_ref().is_empty() {
            p.add(
                &list.span(),
                "handler.chat_types",
                format!("{who}: an empty list refuses every message; omit the key to allow all"),
            );
        }
        for v in list.get_ref() {
            match FilterSettings::check_chat_type(v.get_ref()) {
                Ok(t) if !set.insert(t) => p.add(
                    &v.span(),
                    "handler.chat_types",
                    format!("{who}: `{}` is listed twice", v.get_ref()),
                ),
                Ok(_) => {}
                Err(why) => p.add(&v.span(), "handler.chat_types", format!("{who}: {why}")),
            }
        }
        set
    });
    let mut ignore_senders = BTreeSet::new();
    for v in raw.ignore_senders.iter().flat_map(|l| l.get_ref()) {
        match FilterSettings::check_sender(v.get_ref()) {
            Ok(k) if !ignore_senders.insert(k) => p.add(
                &v.span(),
                "handler.ignore_senders",
                format!("{who}: `{}` is listed twice", v.get_ref()),
            ),
            Ok(_) => {}
            Err(why) => p.add(&v.span(), "handler.ignore_senders", format!("{who}: {why}")),
        }
    }
    let max_event_age = raw.max_event_age_secs.as_ref().and_then(|v| {
        FilterSettings::check_max_event_age_secs(*v.get_ref())
            .map_err(|why| {
                p.add(
                    &v.span(),
                    "handler.max_event_age_secs",
                    format!("{who}: {why}"),
                )
            })
            .ok()
    });
    FilterSettings {
        chat_types,
        require_mention: raw.require_mention.as_ref().is_some_and(|v| *v.get_ref()),
        ignore_senders,
        max_event_age,
        chats: allow_list(p, &raw.chats, "handler.chats", who),
        users: allow_list(p, &raw.users, "handler.users", who),
    }
}

fn allow_list(
    p: &mut Problems<'_, '_>,
    list: &Option<Spanned<Vec<Spanned<String>>>>,
    key: &str,
    who: &str,
) -> Option<BTreeSet<String>> {
    let list = list.as_ref()?;
    if let Err(why) = FilterSettings::check_allow_list_len(list.get_ref().len()) {
        p.add(&list.span(), key, format!("{who}: {why}"));
    }
    let mut set = BTreeSet::new();
    for v in list.get_ref() {
        match FilterSettings::check_id(v.get_ref()) {
            Ok(id) if !set.insert(id.clone()) => {
                p.add(&v.span(), key, format!("{who}: `{id}` is listed twice"))
            }
            Ok(_) => {}
            Err(why) => p.add(&v.span(), key, format!("{who}: {why}")),
        }
    }
    Some(set)
}
