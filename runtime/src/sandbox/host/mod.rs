//! The host side of every import a handler may use, one file per capability. Each enforces its
//! own grant: WASI is deny-all ([`wasi`]), stdout/stderr are captured ([`stdio`]), `log` is
//! capped ([`log`]), `config-get` sees only the handler's own settings ([`config`]),
//! `feishu-request`, `feishu-upload` and the card streams only the OpenAPI paths the manifest
//! grants ([`feishu`], [`upload`], [`stream`]), `http-send` only the hosts the manifest allows
//! ([`http`]), `kv-*` only the namespace the manifest grants ([`kv`]).

pub(crate) mod config;
pub(crate) mod feishu;
pub(crate) mod http;
pub(crate) mod kv;
pub(crate) mod log;
pub(crate) mod stdio;
pub(crate) mod stream;
pub(crate) mod upload;
pub(crate) mod wasi;

use wasmtime::component::{HasSelf, Linker};

use crate::sandbox::bindings::{self, Handler, HandlerImports, Level};
use crate::sandbox::state::HostState;

impl HandlerImports for HostState {
    fn log(&mut self, level: Level, message: String) {
        log::log(&self.logs, level, message);
    }

    fn config_get(&mut self, key: String) -> Option<String> {
        config::get(&self.config, &key)
    }

    async fn feishu_request(
        &mut self,
        method: String,
        path: String,
        body: String,
    ) -> Result<String, String> {
        feishu::request(self, method, path, body).await
    }

    async fn feishu_upload(
        &mut self,
        path: String,
        form: String,
        file_field: String,
        file_name: String,
        bytes: Vec<u8>,
    ) -> Result<String, String> {
        upload::upload(self, path, form, file_field, file_name, bytes).await
    }

    fn card_stream_set(
        &mut self,
        card_id: String,
        element_id: String,
        content: String,
    ) -> Result<(), String> {
        stream::set(self, card_id, element_id, content)
    }

    async fn card_stream_flush(&mut self, card_id: String) -> Result<u32, String> {
        stream::flush(self, card_id).await
    }

    async fn http_send(
        &mut self,
        method: String,
        url: String,
        headers: String,
        body: Vec<u8>,
    ) -> Result<(u16, String, Vec<u8>), String> {
        http::send(self, method, url, headers, body).await
    }

    async fn kv_get(&mut self, key: String) -> Result<Option<String>, String> {
        kv::get(self, key).await
    }

    async fn kv_set(&mut self, key: String, value: String, ttl_secs: u32) -> Result<(), String> {
        kv::set(self, key, value, ttl_secs).await
    }

    async fn kv_delete(&mut self, key: String) -> Result<(), String> {
        kv::delete(self, key).await
    }

    async fn kv_increment(&mut self, key: String, delta: i32) -> Result<String, String> {
        kv::increment(self, key, delta).await
    }

    async fn kv_list(
        &mut self,
        prefix: String,
        after: String,
        limit: u32,
    ) -> Result<Vec<String>, String> {
        kv::list(self, prefix, after, limit).await
    }
}

impl bindings::aviary::handler::types::Host for HostState {}

/// A linker with WASI (deny-all) and the `aviary:handler` imports.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasi::add_to_linker(&mut linker)?;
    Handler::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}
