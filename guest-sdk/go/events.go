package aviary

import (
	"encoding/json"
)

// Typed models of Feishu event bodies (the envelope's "event" object), the same list as the
// Rust SDK. Missing fields stay zero and unknown fields are ignored; the raw JSON stays
// reachable through Event.Raw, Event.JSON and Event.Body. Field names follow Feishu's JSON.
//
//	im.message.receive_v1                 *MessageReceive
//	im.message.message_read_v1            *MessageRead
//	im.chat.member.user_added_v1          *ChatMemberUserAdded
//	im.chat.member.user_deleted_v1        *ChatMemberUserDeleted
//	im.chat.updated_v1                    *ChatUpdated
//	im.chat.member.bot.added_v1           *ChatMemberBotAdded
//	im.chat.member.bot.deleted_v1         *ChatMemberBotDeleted
//	im.message.reaction.created_v1        *ReactionCreated
//	im.message.reaction.deleted_v1        *ReactionDeleted
//	im.message.recalled_v1                *MessageRecalled
//	im.chat.disbanded_v1                  *ChatDisbanded
//	im.chat.access_event.bot_p2p_chat_entered_v1 *BotP2pChatEntered
//	application.bot.menu_v6               *BotMenu
//	contact.user.created_v3               *UserCreated
//	contact.user.updated_v3               *UserUpdated
//	contact.user.deleted_v3               *UserDeleted
//	contact.department.created_v3         *DepartmentCreated
//	contact.department.updated_v3         *DepartmentUpdated
//	contact.department.deleted_v3         *DepartmentDeleted
//	approval.approval.approved_v1         *ApprovalApproved
//	approval.approval.rejected_v1         *ApprovalRejected
//	calendar.calendar.event.changed_v4    *CalendarEventChanged
//	vc.meeting.meeting_started_v1         *MeetingStarted
//	vc.meeting.meeting_ended_v1           *MeetingEnded
//	card.action.trigger (callback)        *CardAction
//	aviary.message.merged_v1 (merged turn) *MergedMessages
//	url.preview.get (callback)            *URLPreview

// EventTypes lists every event type that has a typed model.
var EventTypes = []string{
	"im.message.receive_v1",
	"im.message.message_read_v1",
	"im.chat.member.user_added_v1",
	"im.chat.member.user_deleted_v1",
	"im.chat.updated_v1",
	"im.chat.member.bot.added_v1",
	"im.chat.member.bot.deleted_v1",
	"im.message.reaction.created_v1",
	"im.message.reaction.deleted_v1",
	"im.message.recalled_v1",
	"im.chat.disbanded_v1",
	"im.chat.access_event.bot_p2p_chat_entered_v1",
	"application.bot.menu_v6",
	"contact.user.created_v3",
	"contact.user.updated_v3",
	"contact.user.deleted_v3",
	"contact.department.created_v3",
	"contact.department.updated_v3",
	"contact.department.deleted_v3",
	"approval.approval.approved_v1",
	"approval.approval.rejected_v1",
	"calendar.calendar.event.changed_v4",
	"vc.meeting.meeting_started_v1",
	"vc.meeting.meeting_ended_v1",
	"card.action.trigger",
	MergedEventType,
	"url.preview.get",
}

func newModel(eventType string) any {
	switch eventType {
	case "im.message.receive_v1":
		return &MessageReceive{}
	case "im.message.message_read_v1":
		return &MessageRead{}
	case "im.chat.member.user_added_v1":
		return &ChatMemberUserAdded{}
	case "im.chat.member.user_deleted_v1":
		return &ChatMemberUserDeleted{}
	case "im.chat.updated_v1":
		return &ChatUpdated{}
	case "im.chat.member.bot.added_v1":
		return &ChatMemberBotAdded{}
	case "im.chat.member.bot.deleted_v1":
		return &ChatMemberBotDeleted{}
	case "im.message.reaction.created_v1":
		return &ReactionCreated{}
	case "im.message.reaction.deleted_v1":
		return &ReactionDeleted{}
	case "im.message.recalled_v1":
		return &MessageRecalled{}
	case "im.chat.disbanded_v1":
		return &ChatDisbanded{}
	case "im.chat.access_event.bot_p2p_chat_entered_v1":
		return &BotP2pChatEntered{}
	case "application.bot.menu_v6":
		return &BotMenu{}
	case "contact.user.created_v3":
		return &UserCreated{}
	case "contact.user.updated_v3":
		return &UserUpdated{}
	case "contact.user.deleted_v3":
		return &UserDeleted{}
	case "contact.department.created_v3":
		return &DepartmentCreated{}
	case "contact.department.updated_v3":
		return &DepartmentUpdated{}
	case "contact.department.deleted_v3":
		return &DepartmentDeleted{}
	case "approval.approval.approved_v1":
		return &ApprovalApproved{}
	case "approval.approval.rejected_v1":
		return &ApprovalRejected{}
	case "calendar.calendar.event.changed_v4":
		return &CalendarEventChanged{}
	case "vc.meeting.meeting_started_v1":
		return &MeetingStarted{}
	case "vc.meeting.meeting_ended_v1":
		return &MeetingEnded{}
	case "card.action.trigger":
		return &CardAction{}
	case MergedEventType:
		return &MergedMessages{}
	case "url.preview.get":
		return &URLPreview{}
	}
	return nil
}

// Typed decodes the body into the model for the event's type and returns a pointer to it
// (use a type switch), or (nil, nil) for an event type without a model: read those with Body or
// JSON.
func (e Event) Typed() (any, error) {
	m := newModel(e.EventType)
	if m == nil {
		return nil, nil
	}
	if err := e.Body(m); err != nil {
		return nil, err
	}
	return m, nil
}

// MustTyped is Typed without the error: nil when the event has no model or does not decode.
func (e Event) MustTyped() any {
	m, err := e.Typed()
	if err != nil {
		return nil
	}
	return m
}

// UserID is a user's ids; which are present depends on the app's permissions.
type UserID struct {
	UnionID string `json:"union_id"`
	UserID  string `json:"user_id"`
	OpenID  string `json:"open_id"`
}

// --- im ---

// MessageReceive is im.message.receive_v1: a message was sent to the bot or in its chats.
type MessageReceive struct {
	Sender  Sender  `json:"sender"`
	Message Message `json:"message"`
}

// Text is the message's text for text messages ("" otherwise).
func (m *MessageReceive) Text() string { return m.Message.Text() }

// FromApp reports whether an app (a bot) sent the message.
func (m *MessageReceive) FromApp() bool { return m.Sender.SenderType == "app" }

// Sender is who sent a message.
type Sender struct {
	SenderID   UserID `json:"sender_id"`
	SenderType string `json:"sender_type"`
	TenantKey  string `json:"tenant_key"`
}

// Message is a received message; Content is a JSON text whose shape depends on MessageType.
type Message struct {
	MessageID   string    `json:"message_id"`
	RootID      string    `json:"root_id"`
	ParentID    string    `json:"parent_id"`
	CreateTime  string    `json:"create_time"`
	UpdateTime  string    `json:"update_time"`
	ChatID      string    `json:"chat_id"`
	ThreadID    string    `json:"thread_id"`
	ChatType    string    `json:"chat_type"`
	MessageType string    `json:"message_type"`
	Content     string    `json:"content"`
	Mentions    []Mention `json:"mentions"`
	UserAgent   string    `json:"user_agent"`
}

// Text is the text of a text message ("" for other types or unreadable content).
func (m *Message) Text() string {
	if m.MessageType != "text" {
		return ""
	}
	var c struct {
		Text string `json:"text"`
	}
	if json.Unmarshal([]byte(m.Content), &c) != nil {
		return ""
	}
	return c.Text
}

// Mention is an @mention in a message.
type Mention struct {
	Key       string `json:"key"`
	ID        UserID `json:"id"`
	Name      string `json:"name"`
	TenantKey string `json:"tenant_key"`
}

// MessageRead is im.message.message_read_v1.
type MessageRead struct {
	Reader        Reader   `json:"reader"`
	MessageIDList []string `json:"message_id_list"`
}

// Reader is who read messages, and when.
type Reader struct {
	ReaderID  UserID `json:"reader_id"`
	ReadTime  string `json:"read_time"`
	TenantKey string `json:"tenant_key"`
}

// ChatMember is a user added to or removed from a chat.
type ChatMember struct {
	Name      string `json:"name"`
	TenantKey string `json:"tenant_key"`
	UserID    UserID `json:"user_id"`
}

// ChatMemberUserAdded is im.chat.member.user_added_v1.
type ChatMemberUserAdded struct {
	ChatID            string            `json:"chat_id"`
	OperatorID        UserID            `json:"operator_id"`
	External          bool              `json:"external"`
	OperatorTenantKey string            `json:"operator_tenant_key"`
	Users             []ChatMember      `json:"users"`
	Name              string            `json:"name"`
	I18nNames         map[string]string `json:"i18n_names"`
}

// ChatMemberUserDeleted is im.chat.member.user_deleted_v1.
type ChatMemberUserDeleted ChatMemberUserAdded

// ChatUpdated is im.chat.updated_v1.
type ChatUpdated struct {
	ChatID            string        `json:"chat_id"`
	OperatorID        UserID        `json:"operator_id"`
	External          bool          `json:"external"`
	OperatorTenantKey string        `json:"operator_tenant_key"`
	AfterChange       ChatChange    `json:"after_change"`
	BeforeChange      ChatChange    `json:"before_change"`
	ModeratorList     ModeratorList `json:"moderator_list"`
}

// ChatChange is the changed chat settings (only changed fields are set).
type ChatChange struct {
	Avatar                 string            `json:"avatar"`
	Name                   string            `json:"name"`
	Description            string            `json:"description"`
	I18nNames              map[string]string `json:"i18n_names"`
	AddMemberPermission    string            `json:"add_member_permission"`
	ShareCardPermission    string            `json:"share_card_permission"`
	AtAllPermission        string            `json:"at_all_permission"`
	EditPermission         string            `json:"edit_permission"`
	MembershipApproval     string            `json:"membership_approval"`
	JoinMessageVisibility  string            `json:"join_message_visibility"`
	LeaveMessageVisibility string            `json:"leave_message_visibility"`
	ModerationPermission   string            `json:"moderation_permission"`
	OwnerID                UserID            `json:"owner_id"`
	RestrictedModeSetting  json.RawMessage   `json:"restricted_mode_setting"`
}

// ModeratorList is the moderators added and removed.
type ModeratorList struct {
	AddedMemberList   []Moderator `json:"added_member_list"`
	RemovedMemberList []Moderator `json:"removed_member_list"`
}

// Moderator is a chat moderator.
type Moderator struct {
	TenantKey string `json:"tenant_key"`
	UserID    UserID `json:"user_id"`
}

// --- contact ---

// User is a contact user (contact.user.*_v3).
type User struct {
	OpenID          string            `json:"open_id"`
	UnionID         string            `json:"union_id"`
	UserID          string            `json:"user_id"`
	Name            string            `json:"name"`
	EnName          string            `json:"en_name"`
	Nickname        string            `json:"nickname"`
	Email           string            `json:"email"`
	EnterpriseEmail string            `json:"enterprise_email"`
	JobTitle        string            `json:"job_title"`
	Mobile          string            `json:"mobile"`
	Gender          *int64            `json:"gender"`
	Avatar          Avatar            `json:"avatar"`
	Status          UserStatus        `json:"status"`
	DepartmentIDs   []string          `json:"department_ids"`
	LeaderUserID    string            `json:"leader_user_id"`
	City            string            `json:"city"`
	Country         string            `json:"country"`
	WorkStation     string            `json:"work_station"`
	JoinTime        *int64            `json:"join_time"`
	IsTenantManager bool              `json:"is_tenant_manager"`
	EmployeeNo      string            `json:"employee_no"`
	EmployeeType    *int64            `json:"employee_type"`
	CustomAttrs     []json.RawMessage `json:"custom_attrs"`
	JobLevelID      string            `json:"job_level_id"`
	JobFamilyID     string            `json:"job_family_id"`
}

// Avatar is a user's avatar URLs.
type Avatar struct {
	Avatar72     string `json:"avatar_72"`
	Avatar240    string `json:"avatar_240"`
	Avatar640    string `json:"avatar_640"`
	AvatarOrigin string `json:"avatar_origin"`
}

// UserStatus is a user's account status.
type UserStatus struct {
	IsFrozen    bool `json:"is_frozen"`
	IsResigned  bool `json:"is_resigned"`
	IsActivated bool `json:"is_activated"`
	IsExited    bool `json:"is_exited"`
	IsUnjoin    bool `json:"is_unjoin"`
}

// UserCreated is contact.user.created_v3.
type UserCreated struct {
	Object User `json:"object"`
}

// UserUpdated is contact.user.updated_v3: OldObject holds the changed fields' old values.
type UserUpdated struct {
	Object    User `json:"object"`
	OldObject User `json:"old_object"`
}

// UserDeleted is contact.user.deleted_v3.
type UserDeleted UserUpdated

// Department is a contact department (contact.department.*_v3).
type Department struct {
	Name               string             `json:"name"`
	I18nName           map[string]string  `json:"i18n_name"`
	ParentDepartmentID string             `json:"parent_department_id"`
	DepartmentID       string             `json:"department_id"`
	OpenDepartmentID   string             `json:"open_department_id"`
	LeaderUserID       string             `json:"leader_user_id"`
	ChatID             string             `json:"chat_id"`
	Order              string             `json:"order"`
	UnitIDs            []string           `json:"unit_ids"`
	Status             DepartmentStatus   `json:"status"`
	Leaders            []DepartmentLeader `json:"leaders"`
}

// DepartmentStatus is a department's status.
type DepartmentStatus struct {
	IsDeleted bool `json:"is_deleted"`
}

// DepartmentLeader is one of a department's leaders.
type DepartmentLeader struct {
	LeaderType *int64 `json:"leaderType"`
	LeaderID   string `json:"leaderID"`
}

// DepartmentCreated is contact.department.created_v3.
type DepartmentCreated struct {
	Object Department `json:"object"`
}

// DepartmentUpdated is contact.department.updated_v3.
type DepartmentUpdated struct {
	Object    Department `json:"object"`
	OldObject Department `json:"old_object"`
}

// DepartmentDeleted is contact.department.deleted_v3.
type DepartmentDeleted DepartmentUpdated

// --- approval ---

// ApprovalApproved is approval.approval.approved_v1 (a v1-style body).
type ApprovalApproved struct {
	AppID        string `json:"app_id"`
	TenantKey    string `json:"tenant_key"`
	ApprovalCode string `json:"approval_code"`
	InstanceCode string `json:"instance_code"`
	Status       string `json:"status"`
	OperateTime  string `json:"operate_time"`
	UserID       string `json:"user_id"`
	OpenID       string `json:"open_id"`
	UUID         string `json:"uuid"`
}

// ApprovalRejected is approval.approval.rejected_v1.
type ApprovalRejected ApprovalApproved

// --- calendar ---

// CalendarEventChanged is calendar.calendar.event.changed_v4.
type CalendarEventChanged struct {
	CalendarID      string            `json:"calendar_id"`
	UserIDList      []UserID          `json:"user_id_list"`
	CalendarEventID string            `json:"calendar_event_id"`
	ChangeType      string            `json:"change_type"`
	RsvpInfos       []json.RawMessage `json:"rsvp_infos"`
}

// --- vc ---

// MeetingUser is a meeting participant.
type MeetingUser struct {
	ID       UserID `json:"id"`
	UserRole *int64 `json:"user_role"`
	UserType *int64 `json:"user_type"`
}

// Meeting is a video meeting.
type Meeting struct {
	ID              string      `json:"id"`
	Topic           string      `json:"topic"`
	MeetingNo       string      `json:"meeting_no"`
	MeetingSource   *int64      `json:"meeting_source"`
	StartTime       string      `json:"start_time"`
	EndTime         string      `json:"end_time"`
	HostUser        MeetingUser `json:"host_user"`
	Owner           MeetingUser `json:"owner"`
	CalendarEventID string      `json:"calendar_event_id"`
}

// MeetingStarted is vc.meeting.meeting_started_v1.
type MeetingStarted struct {
	Meeting  Meeting     `json:"meeting"`
	Operator MeetingUser `json:"operator"`
}

// MeetingEnded is vc.meeting.meeting_ended_v1.
type MeetingEnded MeetingStarted

// --- card.action.trigger ---

// CardAction is card.action.trigger: a user clicked a button (submitted a form, picked an
// option…) in a card the app sent. Answer with Toast, ToastSuccess… or Respond(CardResponse).
type CardAction struct {
	Operator     Operator    `json:"operator"`
	Token        string      `json:"token"`
	Action       Action      `json:"action"`
	Host         string      `json:"host"`
	DeliveryType string      `json:"delivery_type"`
	Context      CardContext `json:"context"`
}

// ValueString is the string at key in the action's value object ("" when absent).
func (c *CardAction) ValueString(key string) string { return c.Action.ValueString(key) }

// Operator is who acted on the card.
type Operator struct {
	TenantKey string `json:"tenant_key"`
	UserID    string `json:"user_id"`
	OpenID    string `json:"open_id"`
	UnionID   string `json:"union_id"`
}

// Action is what the user did.
type Action struct {
	Value      json.RawMessage `json:"value"`
	Tag        string          `json:"tag"`
	Option     string          `json:"option"`
	Options    []string        `json:"options"`
	Timezone   string          `json:"timezone"`
	Name       string          `json:"name"`
	FormValue  json.RawMessage `json:"form_value"`
	InputValue string          `json:"input_value"`
	Checked    *bool           `json:"checked"`
}

// ValueString is the string at key in the value object ("" when absent or not a string).
func (a *Action) ValueString(key string) string {
	var m map[string]any
	if json.Unmarshal(a.Value, &m) != nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// CardContext is where the card is.
type CardContext struct {
	URL           string `json:"url"`
	PreviewToken  string `json:"preview_token"`
	OpenMessageID string `json:"open_message_id"`
	OpenChatID    string `json:"open_chat_id"`
}
