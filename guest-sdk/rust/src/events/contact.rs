//! `contact.*_v3` events: users and departments.

use crate::de::model;
use std::collections::BTreeMap;

model! {
    /// A user as `contact.user.*_v3` events carry it. In `old_object` only the changed fields
    /// are present.
    pub struct User {
        pub open_id: String,
        pub union_id: String,
        pub user_id: String,
        pub name: String,
        pub en_name: String,
        pub nickname: String,
        pub email: String,
        pub enterprise_email: String,
        pub job_title: String,
        pub mobile: String,
        /// 0 unknown, 1 male, 2 female.
        pub gender: Option<i64>,
        pub avatar: Avatar,
        pub status: UserStatus,
        pub department_ids: Vec<String>,
        pub leader_user_id: String,
        pub city: String,
        pub country: String,
        pub work_station: String,
        /// Epoch seconds.
        pub join_time: Option<i64>,
        pub is_tenant_manager: bool,
        pub employee_no: String,
        /// 1 regular, 2 intern, 3 outsourcing, 4 labour, 5 consultant.
        pub employee_type: Option<i64>,
        /// Custom profile fields, as raw JSON.
        pub custom_attrs: Vec<serde_json::Value>,
        pub job_level_id: String,
        pub job_family_id: String,
    }
}

model! {
    /// Avatar URLs.
    pub struct Avatar {
        pub avatar_72: String,
        pub avatar_240: String,
        pub avatar_640: String,
        pub avatar_origin: String,
    }
}

model! {
    /// A user's account status.
    pub struct UserStatus {
        pub is_frozen: bool,
        pub is_resigned: bool,
        pub is_activated: bool,
        pub is_exited: bool,
        pub is_unjoin: bool,
    }
}

model! {
    /// `contact.user.created_v3`: an employee joined.
    pub struct UserCreated {
        pub object: User,
    }
}

model! {
    /// `contact.user.updated_v3`: a user's profile changed (`old_object` holds the previous
    /// values of the changed fields).
    pub struct UserUpdated {
        pub object: User,
        pub old_object: User,
    }
}

model! {
    /// `contact.user.deleted_v3`: an employee left.
    pub struct UserDeleted {
        pub object: User,
        pub old_object: User,
    }
}

model! {
    /// A department as `contact.department.*_v3` events carry it.
    pub struct Department {
        pub name: String,
        pub i18n_name: BTreeMap<String, String>,
        pub parent_department_id: String,
        pub department_id: String,
        pub open_department_id: String,
        pub leader_user_id: String,
        pub chat_id: String,
        /// Sort order, as a string.
        pub order: String,
        pub unit_ids: Vec<String>,
        pub status: DepartmentStatus,
        pub leaders: Vec<DepartmentLeader>,
    }
}

model! {
    pub struct DepartmentStatus {
        pub is_deleted: bool,
    }
}

model! {
    /// Note Feishu's camelCase keys here.
    pub struct DepartmentLeader {
        /// 1 main leader, 2 deputy.
        #[serde(rename = "leaderType")]
        pub leader_type: Option<i64>,
        #[serde(rename = "leaderID")]
        pub leader_id: String,
    }
}

model! {
    /// `contact.department.created_v3`.
    pub struct DepartmentCreated {
        pub object: Department,
    }
}

model! {
    /// `contact.department.updated_v3` (`old_object` holds the previous values).
    pub struct DepartmentUpdated {
        pub object: Department,
        pub old_object: Department,
    }
}

model! {
    /// `contact.department.deleted_v3`.
    pub struct DepartmentDeleted {
        pub object: Department,
        pub old_object: Department,
    }
}
