//! The handlers' filters ([`crate::dispatch::filter`]) as `aviary run` and `aviary invoke`
//! build them: each handler's [`FilterSettings`](crate::dispatch::filter::FilterSettings) from
//! the manifest, joined with the bot's open_id — `[feishu] bot_open_id`, or, when a filter
//! needs it and the key is unset, the bot info API ([`crate::openapi::bot_info`]), asked once
//! before the connection starts so that no event is filtered without it.

use std::sync::Arc;

use crate::dispatch::filter::HandlerFilter;
use crate::limits::filter as lim;
use crate::manifest::{HandlerSettings, Manifest};
use crate::openapi::{bot_info, OpenApiApp};

/// Each handler's filters (manifest order; `None` for a handler without any).
pub type Filters = Vec<Option<Arc<HandlerFilter>>>;

/// The bot's open_id when some handler's filters need it: the manifest's, or asked from the
/// bot info API (up to `attempts` times, [`lim::BOT_INFO_RETRY_DELAY`] apart). `Ok(None)` when
/// no filter needs it and the manifest has none.
pub async fn bot_open_id(manifest: &Manifest, attempts: u32) -> Result<Option<String>, String> {
    let needed = manifest
        .handlers
        .iter()
        .any(|h| h.filter.needs_bot_open_id());
    bot_open_id_if(manifest, needed, attempts).await
}

/// The filters of one handler (`aviary invoke`), asking the bot info API once if they need
/// the bot's open_id and the manifest has none. `None`: the handler has no filter.
pub async fn filter_for(
    manifest: &Manifest,
    handler: &HandlerSettings,
) -> Result<Option<HandlerFilter>, String> {
    if handler.filter.is_empty() {
        return Ok(None);
    }
    let bot = bot_open_id_if(manifest, handler.filter.needs_bot_open_id(), 1).await?;
    HandlerFilter::new(&handler.name, handler.filter.clone(), bot)
        .map(Some)
        .map_err(|e| e.to_string())
}

async fn bot_open_id_if(
    manifest: &Manifest,
    needed: bool,
    attempts: u32,
) -> Result<Option<String>, String> {
    if let Some(id) = &manifest.feishu.bot_open_id {
        return Ok(Some(id.clone()));
    }
    if !needed {
        return Ok(None);
    }
    let app = OpenApiApp {
        app_id: manifest.feishu.app_id.clone(),
        app_secret: manifest.feishu.app_secret.clone(),
        domain: manifest.feishu.domain.clone(),
    };
    let mut last = String::new();
    for attempt in 1..=attempts.max(1) {
        match bot_info::fetch_open_id(&app, lim::BOT_INFO_TIMEOUT).await {
            Ok(id) => {
                tracing::info!(bot_open_id = %id, "learned the bot's open_id from the bot info API (for the handlers' filters)");
                return Ok(Some(id));
            }
            Err(e) => {
                if attempt < attempts {
                    tracing::warn!(error = %e, attempt, "cannot learn the bot's open_id yet; trying again");
                    tokio::time::sleep(lim::BOT_INFO_RETRY_DELAY).await;
                }
                last = e;
            }
        }
    }
    Err(format!(
        "{}: the handlers' filters need the bot's open_id and the bot info API did not give it: \
         {last}; set [feishu] bot_open_id = \"ou_…\"",
        manifest.path.display()
    ))
}

/// Every handler's filters, with the bot's open_id from [`bot_open_id`].
pub async fn handler_filters(manifest: &Manifest, attempts: u32) -> Result<Filters, String> {
    let bot = bot_open_id(manifest, attempts).await?;
    manifest
        .handlers
        .iter()
        .map(|h| {
            if h.filter.is_empty() {
                return Ok(None);
            }
            HandlerFilter::new(&h.name, h.filter.clone(), bot.clone())
                .map(|f| Some(Arc::new(f)))
                .map_err(|e| e.to_string())
        })
        .collect()
}
