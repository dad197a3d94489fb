package aviary

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The shared expectations of examples/events/messages/expected.json, checked by every SDK.
type messageExpectations struct {
	BotOpenID string `json:"bot_open_id"`
	Samples   map[string]struct {
		Kind                string         `json:"kind"`
		PlainText           string         `json:"plain_text"`
		TextWithNames       string         `json:"text_with_names"`
		TextWithoutMentions string         `json:"text_without_mentions"`
		MentionsBot         bool           `json:"mentions_bot"`
		MentionsAll         bool           `json:"mentions_all"`
		Content             map[string]any `json:"content"`
	} `json:"samples"`
}

var messagesDir = filepath.Join("..", "..", "examples", "events", "messages")

func loadExpectations(t *testing.T) messageExpectations {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(messagesDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e messageExpectations
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func sampleMessage(t *testing.T, file string) Message {
	t.Helper()
	ev := eventFromFile(t, filepath.Join("messages", file))
	var m MessageReceive
	if err := ev.Body(&m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m.Message
}

// assertSubset checks every key of want is in got with the same value (arrays item by item).
func assertSubset(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Fatalf("%s: got %v, want an object", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Fatalf("%s.%s missing in %v", path, k, g)
			}
			assertSubset(t, path+"."+k, wv, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Fatalf("%s: got %v, want %v", path, got, want)
		}
		for i := range w {
			assertSubset(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	default:
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%s: got %#v, want %#v", path, got, want)
		}
	}
}

func TestEveryMessageSampleHasExpectations(t *testing.T) {
	e := loadExpectations(t)
	entries, err := os.ReadDir(messagesDir)
	if err != nil {
		t.Fatal(err)
	}
	var files, listed []string
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".json") && en.Name() != "expected.json" {
			files = append(files, en.Name())
		}
	}
	for f := range e.Samples {
		listed = append(listed, f)
	}
	sort.Strings(files)
	sort.Strings(listed)
	if !reflect.DeepEqual(files, listed) || len(files) < 15 {
		t.Fatalf("samples %v, expectations %v", files, listed)
	}
}

func TestEveryMessageSampleParsesToTheSharedExpectations(t *testing.T) {
	e := loadExpectations(t)
	for file, want := range e.Samples {
		m := sampleMessage(t, file)
		c, err := m.ParseContent()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if c.Kind() != want.Kind {
			t.Fatalf("%s: kind %q, want %q", file, c.Kind(), want.Kind)
		}
		for _, got := range [][3]string{
			{"plain_text", m.PlainText(), want.PlainText},
			{"text_with_names", m.TextWithNames(), want.TextWithNames},
			{"text_without_mentions", m.TextWithoutMentions(), want.TextWithoutMentions},
		} {
			if got[1] != got[2] {
				t.Fatalf("%s: %s %q, want %q", file, got[0], got[1], got[2])
			}
		}
		if m.MentionsBot(e.BotOpenID) != want.MentionsBot || m.MentionsAll() != want.MentionsAll {
			t.Fatalf("%s: mentions_bot %v, mentions_all %v", file, m.MentionsBot(e.BotOpenID), m.MentionsAll())
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		assertSubset(t, file, want.Content, got)
	}
}

func TestContentVariantsAndEdgeCases(t *testing.T) {
	m := sampleMessage(t, "file.json")
	if c, _ := m.ParseContent(); c.(*FileContent).FileKey != "file_v3_0001" {
		t.Fatalf("file %+v", c)
	}
	u := sampleMessage(t, "unknown.json")
	c, _ := u.ParseContent()
	if uc, ok := c.(*UnknownContent); !ok || uc.MessageType != "share_calendar_event" || !strings.Contains(string(uc.Raw), "Planning") {
		t.Fatalf("unknown %+v", c)
	}
	p, err := ParseContent("post", `{"en_us":{"title":"T","content":[[{"tag":"text","text":"hi"}]]}}`)
	if err != nil || p.PlainText() != "T\nhi" {
		t.Fatalf("locale post %v %v", p, err)
	}
	bad := sampleMessage(t, "text.json")
	bad.Content = "not json"
	if _, err := bad.ParseContent(); err == nil || bad.TextWithoutMentions() != "" || bad.MentionsBot("") {
		t.Fatal("unparsable content must be an error")
	}
	long := sampleMessage(t, "text.json")
	long.Content = `{"text":"@_user_10 and @_user_1"}`
	long.Mentions[0].Key, long.Mentions[1].Key = "@_user_10", "@_user_1"
	if got := long.TextWithNames(); got != "@Aviary bot and @Alice" {
		t.Fatalf("longest first: %q", got)
	}
}
