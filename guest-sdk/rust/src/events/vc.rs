//! Video-conference (`vc.meeting.*`) events.

use super::UserId;
use crate::de::model;

model! {
    /// A meeting participant as VC events carry it.
    pub struct MeetingUser {
        pub id: UserId,
        /// 1 participant, 2 host, 3 co-host.
        pub user_role: Option<i64>,
        /// 1 Lark user, 2 room, 3 document, 4 neo user, 5 guest, 6 PSTN, 7 SIP.
        pub user_type: Option<i64>,
    }
}

model! {
    /// A meeting.
    pub struct Meeting {
        pub id: String,
        pub topic: String,
        /// The 9-digit meeting number.
        pub meeting_no: String,
        /// 1 calendar, 2 instant, …
        pub meeting_source: Option<i64>,
        /// Epoch seconds, as a string.
        pub start_time: String,
        pub end_time: String,
        pub host_user: MeetingUser,
        pub owner: MeetingUser,
        pub calendar_event_id: String,
    }
}

model! {
    /// `vc.meeting.meeting_started_v1`.
    pub struct MeetingStarted {
        pub meeting: Meeting,
        pub operator: MeetingUser,
    }
}

model! {
    /// `vc.meeting.meeting_ended_v1`.
    pub struct MeetingEnded {
        pub meeting: Meeting,
        pub operator: MeetingUser,
    }
}
