//! `POST /callback/ws/endpoint` (§1): checks the PascalCase credentials, records the request and
//! answers per the script: a one-time `ws://` URL with realistic query order (`fpid` first, so
//! Node's `querystring` quirk is harmless) and all four ClientConfig keys, or a scripted error.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::config::EndpointAnswer;
use super::records::EndpointRequestRecord;
use super::state::{push_bounded, random_hex, Shared, State};
use aviary_protocol::endpoint::{
    EndpointData, EndpointRequest, EndpointResponse, CODE_INTERNAL_ERROR, CODE_SYSTEM_BUSY,
};
use aviary_protocol::ClientConfigUpdate;

/// Code answered to wrong credentials. The real value is unverified (§1.3); any code other than
/// 0, 1 and 1000040343 is fatal to every SDK.
pub const CODE_WRONG_CREDENTIALS: i64 = 10003;

/// Lower-cased headers in arrival order.
pub(crate) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The axum handler.
pub(crate) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = Instant::now();
    let mut state = shared.lock();
    push_bounded(
        &mut state.endpoint_requests,
        EndpointRequestRecord {
            at: now,
            method: method.to_string(),
            path: uri.path().to_string(),
            headers: header_pairs(&headers),
            body: body.to_vec(),
        },
    );
    let response = if method != Method::POST {
        (StatusCode::METHOD_NOT_ALLOWED, "use POST").into_response()
    } else {
        let credentials_ok = serde_json::from_slice::<EndpointRequest>(&body).is_ok_and(|r| {
            r.app_id == state.config.app_id && r.app_secret == state.config.app_secret
        });
        let answer = if credentials_ok {
            state
                .endpoint_script
                .pop_front()
                .unwrap_or_else(|| state.endpoint_then.clone())
        } else {
            tracing::warn!("endpoint request with wrong or unreadable credentials");
            EndpointAnswer::WrongCredentials
        };
        tracing::info!(?answer, "endpoint request");
        render(&mut state, shared.gateway_port, &answer, now)
    };
    drop(state);
    shared.changed();
    response
}

/// Builds the HTTP answer for one scripted answer (minting a ticket when it carries a URL).
fn render(state: &mut State, gateway_port: u16, answer: &EndpointAnswer, now: Instant) -> Response {
    let with_url = |state: &mut State, config: Option<ClientConfigUpdate>| EndpointResponse {
        code: 0,
        msg: "ok".into(),
        data: Some(EndpointData {
            url: Some(mint_url(state, gateway_port, now)),
            client_config: config,
        }),
    };
    let body = match answer {
        EndpointAnswer::Ok => {
            let full = ClientConfigUpdate::full(&state.config.client_config);
            with_url(state, Some(full))
        }
        EndpointAnswer::WithoutClientConfig => with_url(state, None),
        EndpointAnswer::PartialClientConfig(update) => with_url(state, Some(*update)),
        EndpointAnswer::Code { code, data_null } => EndpointResponse {
            code: *code,
            msg: match *code {
                CODE_SYSTEM_BUSY => "system busy".into(),
                CODE_INTERNAL_ERROR => "internal error".into(),
                _ => format!("emulated error {code}"),
            },
            data: (!data_null).then(EndpointData::default),
        },
        EndpointAnswer::WrongCredentials => EndpointResponse {
            code: CODE_WRONG_CREDENTIALS,
            msg: "invalid app_id or app_secret".into(),
            data: Some(EndpointData::default()),
        },
        EndpointAnswer::HttpStatus(status) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "emulated HTTP error").into_response();
        }
        EndpointAnswer::NonJson => {
            return (
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>502 Bad Gateway</body></html>",
            )
                .into_response();
        }
    };
    axum::Json(body).into_response()
}

/// A fresh one-time URL for the gateway, with `device_id`/`service_id` not first.
fn mint_url(state: &mut State, gateway_port: u16, now: Instant) -> String {
    let (ticket, info) = state.mint_ticket(now);
    let access_key = random_hex(&mut rand::thread_rng(), 32);
    format!(
        "ws://127.0.0.1:{gateway_port}{path}?fpid=493&aid=552564&device_id={device}&access_key={access_key}&service_id={service}&ticket={ticket}",
        path = super::gateway::WS_PATH,
        device = info.device_id,
        service = info.service_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmulatorConfig;
    use aviary_protocol::endpoint::{classify_endpoint_response, connection_ids, Discovery};

    async fn body_of(response: Response) -> (u16, Vec<u8>) {
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, bytes.to_vec())
    }

    #[tokio::test]
    async fn answers_classify_as_intended() {
        let mut state = State::new(EmulatorConfig::default());
        let now = Instant::now();
        let (status, body) = body_of(render(&mut state, 9, &EndpointAnswer::Ok, now)).await;
        let Discovery::Connect { url, client_config } = classify_endpoint_response(status, &body)
        else {
            panic!("not connect: {}", String::from_utf8_lossy(&body));
        };
        assert!(url.starts_with("ws://127.0.0.1:9/ws/v2?fpid=493&"), "{url}");
        assert_eq!(connection_ids(&url).service_id, 33554678);
        let config = client_config.unwrap();
        assert!(config.ping_interval.is_some() && config.reconnect_nonce.is_some());
        assert!(config.reconnect_count.is_some() && config.reconnect_interval.is_some());
        let ticket = url.rsplit("ticket=").next().unwrap();
        assert!(state.take_ticket(ticket, now).is_some());

        for (answer, fatal) in [
            (EndpointAnswer::WrongCredentials, true),
            (
                EndpointAnswer::Code {
                    code: 1,
                    data_null: true,
                },
                false,
            ),
            (EndpointAnswer::HttpStatus(500), false),
            (EndpointAnswer::NonJson, false),
        ] {
            let (status, body) = body_of(render(&mut state, 9, &answer, now)).await;
            let d = classify_endpoint_response(status, &body);
            assert_eq!(
                matches!(d, Discovery::Fatal { .. }),
                fatal,
                "{answer:?}: {d:?}"
            );
        }
        let (_, body) = body_of(render(
            &mut state,
            9,
            &EndpointAnswer::WrongCredentials,
            now,
        ))
        .await;
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json["data"],
            serde_json::json!({}),
            "Node needs a non-null data"
        );
    }
}
