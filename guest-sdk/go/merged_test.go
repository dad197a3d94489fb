package aviary

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// examples/events/aviary.message.merged_v1.json reads to examples/events/merged/expected.json,
// the file every SDK's tests check against.
func TestMergedSampleReadsToTheSharedExpectations(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "events", "merged", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Sample        string   `json:"sample"`
		BotOpenID     string   `json:"bot_open_id"`
		ChatID        string   `json:"chat_id"`
		Count         int      `json:"count"`
		MessageIDs    []string `json:"message_ids"`
		MessageTypes  []string `json:"message_types"`
		SenderOpenID  string   `json:"sender_open_id"`
		Text          string   `json:"text"`
		TextWithNames string   `json:"text_with_names"`
		MentionsBot   bool     `json:"mentions_bot"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	m, ok := eventFromFile(t, exp.Sample).MustTyped().(*MergedMessages)
	if !ok {
		t.Fatalf("%s is not typed as *MergedMessages", exp.Sample)
	}
	if m.ChatID != exp.ChatID || m.Count != exp.Count {
		t.Fatalf("chat %q count %d", m.ChatID, m.Count)
	}
	if !reflect.DeepEqual(m.MessageIDs(), exp.MessageIDs) {
		t.Fatalf("ids %v", m.MessageIDs())
	}
	types := []string{}
	for _, msg := range m.Messages() {
		types = append(types, msg.Message.MessageType)
	}
	if !reflect.DeepEqual(types, exp.MessageTypes) {
		t.Fatalf("types %v", types)
	}
	if m.Sender().SenderID.OpenID != exp.SenderOpenID {
		t.Fatalf("sender %+v", m.Sender())
	}
	if m.Text() != exp.Text {
		t.Fatalf("text %q, want %q", m.Text(), exp.Text)
	}
	if m.TextWithNames() != exp.TextWithNames {
		t.Fatalf("text with names %q, want %q", m.TextWithNames(), exp.TextWithNames)
	}
	if m.MentionsBot(exp.BotOpenID) != exp.MentionsBot || m.MentionsBot("") {
		t.Fatal("mentions bot")
	}
	var empty MergedMessages
	if empty.Text() != "" || len(empty.MessageIDs()) != 0 || empty.Sender() != nil {
		t.Fatal("an empty turn")
	}
}
