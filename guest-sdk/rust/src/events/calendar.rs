//! Calendar events.

use super::UserId;
use crate::de::model;

model! {
    /// `calendar.calendar.event.changed_v4`: events in a calendar the app subscribed to
    /// (`POST /calendar/v4/calendars/:id/events/subscription`) were created, updated or deleted.
    /// Feishu says *which* calendar changed; fetch the events to see what changed.
    pub struct CalendarEventChanged {
        pub calendar_id: String,
        /// The users whose calendar changed.
        pub user_id_list: Vec<UserId>,
        /// The changed event, when Feishu includes it.
        pub calendar_event_id: String,
        /// `"create"`, `"update"`, `"delete"`, `"rsvp"`, … when present.
        pub change_type: String,
        /// RSVP changes (`[{from_user_id, rsvp_status}]`), as raw JSON.
        pub rsvp_infos: Vec<serde_json::Value>,
    }
}
