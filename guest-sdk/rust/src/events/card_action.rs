//! `card.action.trigger`: a user clicked a button (or submitted a form, picked an option…) in a
//! card the app sent. Answer with [`crate::Outcome::toast_info`] and friends or a
//! [`crate::CardResponse`].

use crate::de::model;

model! {
    /// The body of `card.action.trigger`.
    pub struct CardAction {
        pub operator: Operator,
        /// Token for delayed card updates (valid 30 minutes, two updates).
        pub token: String,
        pub action: Action,
        /// `"im_message"`, …
        pub host: String,
        pub delivery_type: String,
        pub context: CardContext,
    }
}

model! {
    /// Who acted.
    pub struct Operator {
        pub tenant_key: String,
        pub user_id: String,
        pub open_id: String,
        pub union_id: String,
    }
}

model! {
    /// What was done.
    pub struct Action {
        /// The component's `value` as configured in the card (usually an object).
        pub value: serde_json::Value,
        /// `"button"`, `"select_static"`, `"input"`, `"checker"`, …
        pub tag: String,
        /// The selected option (select components).
        pub option: String,
        pub options: Vec<String>,
        pub timezone: String,
        /// The component's `name`.
        pub name: String,
        /// Form submissions: `{name: value}`.
        pub form_value: serde_json::Value,
        pub input_value: String,
        pub checked: Option<bool>,
    }
}

model! {
    /// Where the card is.
    pub struct CardContext {
        pub url: String,
        pub preview_token: String,
        pub open_message_id: String,
        pub open_chat_id: String,
    }
}

impl Action {
    /// `value[key]` when it is a string (e.g. `action.value_str("choice")`).
    pub fn value_str(&self, key: &str) -> Option<&str> {
        self.value.get(key)?.as_str()
    }
}

impl CardAction {
    /// `action.value[key]` when it is a string.
    pub fn value_str(&self, key: &str) -> Option<&str> {
        self.action.value_str(key)
    }

    /// `action.form_value[name]` (a form submission) when it is a string.
    pub fn form_value_str(&self, name: &str) -> Option<&str> {
        self.action.form_value.get(name)?.as_str()
    }

    /// The chat of the card's message (`context.open_chat_id`).
    pub fn open_chat_id(&self) -> &str {
        &self.context.open_chat_id
    }

    /// The card's message (`context.open_message_id`), for updating it through the OpenAPI.
    pub fn open_message_id(&self) -> &str {
        &self.context.open_message_id
    }
}
