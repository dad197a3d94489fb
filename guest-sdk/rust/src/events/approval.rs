//! Approval instance results.

use crate::de::model;

model! {
    /// `approval.approval.approved_v1`: an approval instance was approved.
    pub struct ApprovalApproved {
        pub app_id: String,
        pub tenant_key: String,
        /// The approval definition.
        pub approval_code: String,
        /// This instance.
        pub instance_code: String,
        /// `"APPROVED"`.
        pub status: String,
        /// Epoch milliseconds, as a string.
        pub operate_time: String,
        /// The applicant, when present.
        pub user_id: String,
        pub open_id: String,
        /// The instance's business key, if the app set one.
        pub uuid: String,
    }
}

model! {
    /// `approval.approval.rejected_v1`: an approval instance was rejected.
    pub struct ApprovalRejected {
        pub app_id: String,
        pub tenant_key: String,
        pub approval_code: String,
        pub instance_code: String,
        /// `"REJECTED"`.
        pub status: String,
        pub operate_time: String,
        pub user_id: String,
        pub open_id: String,
        pub uuid: String,
    }
}
