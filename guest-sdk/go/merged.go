package aviary

import "strings"

// MergedEventType is the event type of a merged turn (burst merge per chat, the handler's
// merge = { window_ms, max_events } in the manifest).
const MergedEventType = "aviary.message.merged_v1"

// MergedMessages is aviary.message.merged_v1: one turn, the im.message.receive_v1 messages of
// one chat that arrived within the handler's merge window, in order. The event's DedupeID is
// the first message's; the handler's outcome applies to every message of the turn.
type MergedMessages struct {
	ChatID string           `json:"chat_id"`
	Count  int              `json:"count"`
	Events []MergedEnvelope `json:"events"`
}

// MergedEnvelope is one original envelope of a turn.
type MergedEnvelope struct {
	Schema string         `json:"schema"`
	Header Header         `json:"header"`
	Event  MessageReceive `json:"event"`
}

// Messages returns the turn's messages, in order.
func (m *MergedMessages) Messages() []*MessageReceive {
	out := make([]*MessageReceive, 0, len(m.Events))
	for i := range m.Events {
		out = append(out, &m.Events[i].Event)
	}
	return out
}

// MessageIDs returns the messages' ids, in order.
func (m *MergedMessages) MessageIDs() []string {
	out := make([]string, 0, len(m.Events))
	for _, msg := range m.Messages() {
		out = append(out, msg.Message.MessageID)
	}
	return out
}

// Sender is the first message's sender (nil for an empty turn).
func (m *MergedMessages) Sender() *Sender {
	if len(m.Events) == 0 {
		return nil
	}
	return &m.Events[0].Event.Sender
}

// Text is the combined text: each message's TextWithoutMentions (any message type), the
// non-empty ones joined with a newline.
func (m *MergedMessages) Text() string {
	return m.join(func(msg *Message) string { return msg.TextWithoutMentions() })
}

// TextWithNames is each message's TextWithNames, joined like Text.
func (m *MergedMessages) TextWithNames() string {
	return m.join(func(msg *Message) string { return msg.TextWithNames() })
}

// MentionsBot reports whether some message @-mentions the bot with this open_id.
func (m *MergedMessages) MentionsBot(botOpenID string) bool {
	for _, msg := range m.Messages() {
		if msg.MentionsBot(botOpenID) {
			return true
		}
	}
	return false
}

func (m *MergedMessages) join(text func(*Message) string) string {
	parts := []string{}
	for _, msg := range m.Messages() {
		if t := text(&msg.Message); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n")
}
