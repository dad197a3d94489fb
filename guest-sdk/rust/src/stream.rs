//! Streamed answers: a card message whose text grows as the handler produces it (an LLM's
//! tokens, a long job's progress), through the host imports `card-stream-set` and
//! `card-stream-flush`.
//!
//! [`CardStream::reply`] creates a CardKit card in streaming mode
//! (`POST /open-apis/cardkit/v1/cards`) and replies with it; [`CardStream::push`] appends
//! text and returns at once: the host sends the whole text so far, paced within Feishu's 10
//! updates per second per card, coalescing what arrives in between, so the card never lags
//! more than one update behind and no update is refused. [`CardStream::finish`] waits until
//! the final text has landed and turns streaming mode off. Grants:
//! `openapi = ["POST /open-apis/im/v1/messages", "/open-apis/cardkit/v1/cards"]`.
//!
//! ```no_run
//! use aviary_guest::stream::CardStream;
//! # fn f(message_id: &str) -> Result<(), String> {
//! let mut answer = CardStream::reply(message_id)?;
//! for token in ["Hello", ", ", "world"] {
//!     answer.push(token)?;
//! }
//! answer.finish()?;
//! # Ok(()) }
//! ```

use serde_json::{json, Value};

use crate::feishu;

/// The `element_id` of the card's text.
pub const ELEMENT: &str = "aviary_stream";

/// A streamed card message; see the module doc.
#[derive(Debug)]
pub struct CardStream {
    card_id: String,
    message_id: String,
    text: String,
}

impl CardStream {
    /// Creates the card and replies with it to `message_id`.
    pub fn reply(message_id: &str) -> Result<CardStream, String> {
        let card_id = create_card()?;
        let message_id = feishu::reply(message_id, "interactive", &card_content(&card_id))?;
        Ok(CardStream {
            card_id,
            message_id,
            text: String::new(),
        })
    }

    /// Creates the card and sends it to `receive_id` (see [`feishu::send`]).
    pub fn send(receive_id_type: &str, receive_id: &str) -> Result<CardStream, String> {
        let card_id = create_card()?;
        let message_id = feishu::send(
            receive_id_type,
            receive_id,
            "interactive",
            &card_content(&card_id),
        )?;
        Ok(CardStream {
            card_id,
            message_id,
            text: String::new(),
        })
    }

    /// The CardKit card's id.
    pub fn card_id(&self) -> &str {
        &self.card_id
    }

    /// The message that shows the card.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Appends `chunk` to the text; returns at once (the host sends it, paced).
    pub fn push(&mut self, chunk: &str) -> Result<(), String> {
        self.text.push_str(chunk);
        crate::host::card_stream_set(&self.card_id, ELEMENT, &self.text)
    }

    /// Replaces the whole text.
    pub fn set(&mut self, text: &str) -> Result<(), String> {
        self.text = text.to_string();
        crate::host::card_stream_set(&self.card_id, ELEMENT, &self.text)
    }

    /// Waits until the final text has landed, then turns streaming mode off; returns the
    /// final text.
    pub fn finish(self) -> Result<String, String> {
        crate::host::card_stream_set(&self.card_id, ELEMENT, &self.text)?;
        let sequence = crate::host::card_stream_flush(&self.card_id)?;
        let settings = json!({"config": {"streaming_mode": false}}).to_string();
        feishu::request_json(
            "PATCH",
            &format!("/open-apis/cardkit/v1/cards/{}/settings", self.card_id),
            Some(&json!({"settings": settings, "sequence": sequence + 1})),
        )?;
        Ok(self.text)
    }
}

/// The card JSON 2.0 a stream starts with: streaming mode on, one empty markdown element.
pub fn streaming_card() -> Value {
    json!({
        "schema": "2.0",
        "config": {"streaming_mode": true, "summary": {"content": ""}},
        "body": {"elements": [{"tag": "markdown", "content": "", "element_id": ELEMENT}]}
    })
}

fn create_card() -> Result<String, String> {
    let body = json!({"type": "card_json", "data": streaming_card().to_string()});
    let answer = feishu::request_json("POST", "/open-apis/cardkit/v1/cards", Some(&body))?;
    let id = answer["data"]["card_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("the answer has no data.card_id: {answer}"))?;
    feishu::check_id("card id", id)?;
    Ok(id.to_string())
}

fn card_content(card_id: &str) -> Value {
    json!({"type": "card", "data": {"card_id": card_id}})
}
