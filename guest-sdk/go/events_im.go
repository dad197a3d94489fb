package aviary

import "encoding/json"

// More im.* and application events bots need: the bot joining or leaving chats, reactions,
// recalls, disbanded chats, the first p2p open and the bot menu.

// ChatMemberBotAdded is im.chat.member.bot.added_v1: the bot was added to a chat.
type ChatMemberBotAdded struct {
	ChatID            string            `json:"chat_id"`
	OperatorID        UserID            `json:"operator_id"`
	External          bool              `json:"external"`
	OperatorTenantKey string            `json:"operator_tenant_key"`
	Name              string            `json:"name"`
	I18nNames         map[string]string `json:"i18n_names"`
}

// ChatMemberBotDeleted is im.chat.member.bot.deleted_v1: the bot was removed from a chat.
type ChatMemberBotDeleted ChatMemberBotAdded

// ChatDisbanded is im.chat.disbanded_v1: a chat the bot was in was disbanded.
type ChatDisbanded ChatMemberBotAdded

// ReactionType is the emoji of a reaction (EmojiType e.g. "THUMBSUP").
type ReactionType struct {
	EmojiType string `json:"emoji_type"`
}

// ReactionCreated is im.message.reaction.created_v1; OperatorType is "user" (UserID set) or
// "app" (AppID set); ActionTime in epoch milliseconds.
type ReactionCreated struct {
	MessageID    string       `json:"message_id"`
	ReactionType ReactionType `json:"reaction_type"`
	OperatorType string       `json:"operator_type"`
	UserID       UserID       `json:"user_id"`
	AppID        string       `json:"app_id"`
	ActionTime   string       `json:"action_time"`
}

// ReactionDeleted is im.message.reaction.deleted_v1.
type ReactionDeleted ReactionCreated

// MessageRecalled is im.message.recalled_v1; RecallType is message_owner, group_owner,
// group_manager or enterprise_manager.
type MessageRecalled struct {
	MessageID  string `json:"message_id"`
	ChatID     string `json:"chat_id"`
	RecallTime string `json:"recall_time"`
	RecallType string `json:"recall_type"`
}

// BotP2pChatEntered is im.chat.access_event.bot_p2p_chat_entered_v1: a user opened the p2p
// chat with the bot.
type BotP2pChatEntered struct {
	ChatID                string `json:"chat_id"`
	OperatorID            UserID `json:"operator_id"`
	LastMessageID         string `json:"last_message_id"`
	LastMessageCreateTime string `json:"last_message_create_time"`
}

// BotMenu is application.bot.menu_v6: a user clicked the bot menu item with EventKey;
// Timestamp in epoch seconds.
type BotMenu struct {
	Operator  MenuOperator `json:"operator"`
	EventKey  string       `json:"event_key"`
	Timestamp int64        `json:"timestamp"`
}

// MenuOperator is who clicked the menu.
type MenuOperator struct {
	OperatorName string `json:"operator_name"`
	OperatorID   UserID `json:"operator_id"`
}

// FormValueString is the string a form submission holds for name ("" when absent).
func (c *CardAction) FormValueString(name string) string {
	var m map[string]any
	if json.Unmarshal(c.Action.FormValue, &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

// OpenChatID is the chat of the card's message (Context.OpenChatID).
func (c *CardAction) OpenChatID() string { return c.Context.OpenChatID }

// OpenMessageID is the card's message (Context.OpenMessageID), for updating it.
func (c *CardAction) OpenMessageID() string { return c.Context.OpenMessageID }
