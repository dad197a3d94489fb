package aviary

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// eventFromFile builds an Event from a sample envelope the way the runtime does (v2 only).
func eventFromFile(t *testing.T, name string) Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Schema string `json:"schema"`
		Header Header `json:"header"`
		UUID   string `json:"uuid"`
		Event  struct {
			Type string `json:"type"`
		} `json:"event"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	ev := Event{EventID: env.Header.EventID, EventType: env.Header.EventType, Attempt: 1, Envelope: string(raw)}
	if env.Schema == "" {
		ev.EventID, ev.EventType = env.UUID, env.Event.Type
	}
	if ev.EventType == "card.action.trigger" {
		ev.Kind = KindCallback
	}
	return ev
}

func TestEveryTypedEventDecodesItsSample(t *testing.T) {
	for _, typ := range EventTypes {
		ev := eventFromFile(t, typ+".json")
		m, err := ev.Typed()
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if m == nil {
			t.Fatalf("%s: no model", typ)
		}
	}
}

func TestSampleFieldsLandInTheModels(t *testing.T) {
	u := eventFromFile(t, "contact.user.created_v3.json").MustTyped().(*UserCreated)
	if u.Object.OpenID == "" || u.Object.Name == "" {
		t.Fatalf("user fields missing: %+v", u.Object)
	}
	a := eventFromFile(t, "approval.approval.approved_v1.json").MustTyped().(*ApprovalApproved)
	if a.InstanceCode == "" || a.Status == "" {
		t.Fatalf("approval fields missing: %+v", a)
	}
	c := eventFromFile(t, "card.action.trigger.json").MustTyped().(*CardAction)
	if c.Operator.OpenID == "" || len(c.Action.Value) == 0 {
		t.Fatalf("card action fields missing: %+v", c)
	}
	m := eventFromFile(t, "im.message.receive_v1.json").MustTyped().(*MessageReceive)
	if m.Message.ChatID == "" || m.Text() == "" {
		t.Fatalf("message fields missing: %+v", m.Message)
	}
}

func TestUnknownTypeHasNoModelButRawJSON(t *testing.T) {
	ev := Event{EventType: "x.unknown_v1", Envelope: `{"schema":"2.0","event":{"k":"v"}}`}
	m, err := ev.Typed()
	if m != nil || err != nil {
		t.Fatalf("got %v, %v", m, err)
	}
	var body map[string]string
	if err := ev.Body(&body); err != nil || body["k"] != "v" {
		t.Fatalf("body %v, %v", body, err)
	}
	j, err := ev.JSON()
	if err != nil || j["schema"] != "2.0" {
		t.Fatalf("json %v, %v", j, err)
	}
	if ev.Raw() != ev.Envelope {
		t.Fatal("raw")
	}
}

func TestBadBodyIsADecodeErrorNamingTheType(t *testing.T) {
	ev := Event{EventType: "contact.user.created_v3", Envelope: `{"event":{"object":{"name":7}}}`}
	_, err := ev.Typed()
	if err == nil || !strings.Contains(err.Error(), "contact.user.created_v3") {
		t.Fatalf("err = %v", err)
	}
}

func TestOutcomes(t *testing.T) {
	if Done().Kind != OutcomeDone || Retry("r").Body != "r" || Reject("x").Kind != OutcomeReject {
		t.Fatal("constructors")
	}
	o := ToastSuccess("ok")
	if o.Kind != OutcomeRespond || o.Body != `{"toast":{"type":"success","content":"ok"}}` {
		t.Fatalf("toast %q", o.Body)
	}
	if FromError(nil).Kind != OutcomeDone {
		t.Fatal("FromError(nil)")
	}
}

func TestHandlerLogsConfigAndPanics(t *testing.T) {
	SetTestConfig(map[string]string{"greeting": "hi"})
	Handle(func(ev Event) Outcome {
		v, _ := ConfigGet("greeting")
		Infof("%s %s", v, ev.EventID)
		if ev.EventID == "boom" {
			panic("kaboom")
		}
		return Done()
	})
	defer Handle(nil)
	if out := Invoke(Event{EventID: "e1"}); out.Kind != OutcomeDone {
		t.Fatalf("out %v", out)
	}
	logs := TestLogs()
	if len(logs) != 1 || logs[0].Message != "hi e1" || logs[0].Level != LevelInfo {
		t.Fatalf("logs %+v", logs)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("a panic must abort")
			}
		}()
		Invoke(Event{EventID: "boom"})
	}()
	logs = TestLogs()
	if last := logs[len(logs)-1]; last.Level != LevelError || last.Message != "panic: kaboom" {
		t.Fatalf("panic log %+v", last)
	}
}
