//! The handlers' filters ([`crate::dispatch::filter`]) as `aviary run` and `aviary invoke`
//! build them: each handler's [`FilterSettings`](crate::dispatch::filter::FilterSettings) from
//! the manifest, joined with the bot's open_id — `[feishu] bot_open_id`, or, when a filter
//! needs it and the key is unset, the bot info API ([`crate::openapi::bot_info`]), asked once
//! before the connection starts so that no event is filtered without it.

use std::sync::Arc;

use super::handlers::Planned;
use crate::dispatch::filter::HandlerFilter;
use crate::limits::filter as lim;
use crate::manifest::{HandlerSettings, Manifest};
use crate::openapi::{bot_info, OpenApiApp};

/// Each handler's filters (manifest order; `None` for a handler without any).
pub type Filters = Vec<Option<Arc<HandlerFilter>>>;

/// The filters of one handler (`aviary invoke`), asking the bot info API once if they need
/// the bot's open_id and the manifest has none. `None`: the handler has no filter.
pub async fn filter_for(
    manifest: &Manifest,
    handler: &HandlerSettings,
) -> Result<Option<HandlerFilter>, String> {
    if handler.filter.is_empty() {
        return Ok(None);
    }
    let app = OpenApiApp {
        app_id: manifest.feishu.app_id.clone(),
        app_secret: manifest.feishu.app_secret.clone(),
        domain: manifest.feishu.domain.clone(),
        send_limits: manifest.feishu.send_limits,
    };
    let bot = bot_open_id_if(
        manifest.feishu.bot_open_id.as_deref(),
        &app,
        handler.filter.needs_bot_open_id(),
        1,
    )
    .await
    .map_err(|e| format!("{}: {e}", manifest.path.display()))?;
    HandlerFilter::new(&handler.name, handler.filter.clone(), bot)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The bot's open_id when `needed`: `configured`, or asked from the bot info API of `app`
/// (up to `attempts` times, [`lim::BOT_INFO_RETRY_DELAY`] apart). `Ok(None)` when not needed
/// and not configured.
async fn bot_open_id_if(
    configured: Option<&str>,
    app: &OpenApiApp,
    needed: bool,
    attempts: u32,
) -> Result<Option<String>, String> {
    if let Some(id) = configured {
        return Ok(Some(id.to_string()));
    }
    if !needed {
        return Ok(None);
    }
    let mut last = String::new();
    for attempt in 1..=attempts.max(1) {
        match bot_info::fetch_open_id(app, lim::BOT_INFO_TIMEOUT).await {
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
        "the handlers' filters need the bot's open_id and the bot info API did not give it: \
         {last}; set [feishu] bot_open_id = \"ou_…\""
    ))
}

/// Every planned handler's filters (in order), with the bot's open_id: `configured`, or asked
/// from the bot info API of `app` (up to `attempts` times) when some filter needs it.
pub(crate) async fn handler_filters(
    planned: &[Planned],
    configured: Option<&str>,
    app: &OpenApiApp,
    attempts: u32,
) -> Result<Filters, String> {
    let needed = planned.iter().any(|p| p.filter.needs_bot_open_id());
    let bot = bot_open_id_if(configured, app, needed, attempts).await?;
    planned
        .iter()
        .map(|p| {
            if p.filter.is_empty() {
                return Ok(None);
            }
            HandlerFilter::new(&p.name, p.filter.clone(), bot.clone())
                .map(|f| Some(Arc::new(f)))
                .map_err(|e| e.to_string())
        })
        .collect()
}
