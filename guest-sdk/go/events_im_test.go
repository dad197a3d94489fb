package aviary

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Every file of examples/events/expected/events.json (shared by every SDK) types to the
// listed body values.
func TestSamplesTypeToTheSharedExpectations(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "events", "expected", "events.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Samples map[string]struct {
			EventType string         `json:"event_type"`
			Body      map[string]any `json:"body"`
		} `json:"samples"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.Samples) < 9 {
		t.Fatalf("only %d samples", len(exp.Samples))
	}
	for file, want := range exp.Samples {
		ev := eventFromFile(t, file)
		if ev.EventType != want.EventType {
			t.Fatalf("%s: event type %q", file, ev.EventType)
		}
		m, err := ev.Typed()
		if err != nil || m == nil {
			t.Fatalf("%s: %v, %v", file, m, err)
		}
		b, _ := json.Marshal(m)
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		assertSubset(t, file, want.Body, got)
	}
}

func TestCardActionFormValues(t *testing.T) {
	c := eventFromFile(t, "card.action.trigger.json").MustTyped().(*CardAction)
	if c.FormValueString("reason") != "ship it" || c.FormValueString("env") != "" {
		t.Fatalf("form values %s", c.Action.FormValue)
	}
	if c.OpenChatID() != "oc_e4d2605ca917e695f54f11aaf56edb21" || c.OpenMessageID() != "om_574d639e4a44e4dd646eaf628e2f2d26" {
		t.Fatalf("context %+v", c.Context)
	}
	r := eventFromFile(t, "im.message.reaction.deleted_v1.json").MustTyped().(*ReactionDeleted)
	if r.ReactionType.EmojiType != "THUMBSUP" || r.UserID.OpenID == "" {
		t.Fatalf("reaction %+v", r)
	}
}
