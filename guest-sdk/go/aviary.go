// Package aviary writes Aviary handlers in Go.
//
// Aviary runs each Feishu/Lark bot handler as a WebAssembly component (world
// aviary:handler/handler@0.1.0). This package is the Go side of that contract: register one
// function with [Handle] in an init function, and build the package with
//
//	aviary guest build --lang go . -o handler.wasm
//
// which runs `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared`, injects the allocator
// the component model needs and produces the component.
//
//	package main
//
//	import "aviary.local/aviary"
//
//	func init() {
//		aviary.Handle(func(ev aviary.Event) aviary.Outcome {
//			if u, ok := ev.MustTyped().(*aviary.UserCreated); ok {
//				aviary.Info("new user " + u.Object.Name)
//			}
//			return aviary.Done()
//		})
//	}
//
//	func main() {}
//
// The package uses only the standard library and stays within what TinyGo accepts. On other
// targets than wasip1 (plain `go test`), the host imports are replaced by an in-process shim:
// see [SetTestConfig] and [TestLogs].
//
// # Message content and mentions
//
// [Message.ParseContent] types the content of im.message.receive_v1 by message_type (a
// [MessageContent]: *TextContent, *PostContent, *ImageContent, … or *UnknownContent with the
// raw JSON); [Message.PlainText] renders any type as text, [Message.TextWithNames] resolves
// @_user_N to @name, [Message.TextWithoutMentions] strips them (every type, not only text),
// [Message.MentionsBot] and [Message.MentionsAll] tell who is mentioned. Every SDK is checked
// against the same examples/events/messages/expected.json.
//
// Events bots need are typed too (see [EventTypes]): the bot added to or removed from a chat,
// reactions, recalls, disbanded chats, the first p2p open and the bot menu;
// [CardAction.FormValueString], [CardAction.OpenChatID] and [CardAction.OpenMessageID] read the
// new-style card callback. Their samples are checked against examples/events/expected/events.json.
package aviary

import (
	"encoding/json"
	"fmt"
)

// HandlerFunc handles one event.
type HandlerFunc func(ev Event) Outcome

var handler HandlerFunc

// Handle registers the handler. Call it once, from an init function of package main: the
// runtime calls the handler for every event after package initialisation (main.main is never
// run in a component). Without a registered handler every event is rejected.
func Handle(h HandlerFunc) {
	handler = h
}

// Kind tells a plain event from a callback whose answer travels back in the ack.
type Kind uint8

const (
	// KindEvent is a plain event (the outcome's body is ignored).
	KindEvent Kind = 0
	// KindCallback is a callback (card.action.trigger, url.preview.get): answer with Respond.
	KindCallback Kind = 1
)

func (k Kind) String() string {
	if k == KindCallback {
		return "callback"
	}
	return "event"
}

// Event is one Feishu event: the routing fields the runtime extracted, plus the whole envelope.
type Event struct {
	// DedupeID is the idempotency key: message_id for im.message.*, else event_id; uuid for v1.
	DedupeID string
	// EventID is header.event_id (v2) or uuid (v1).
	EventID string
	// EventType is e.g. im.message.receive_v1, card.action.trigger, or a v1 event.type.
	EventType string
	Kind      Kind
	AppID     string
	TenantKey string
	// CreateTime is the creation time exactly as Feishu sent it (epoch ms as a string in v2).
	CreateTime string
	// Attempt is 1 for the first delivery to this handler, 2 for the first retry, …
	Attempt uint32
	// Envelope is the whole JSON envelope, as received.
	Envelope string
}

// Raw returns the JSON envelope exactly as received.
func (e Event) Raw() string { return e.Envelope }

// IsCallback reports whether the runtime expects an answer (Respond) in the ack.
func (e Event) IsCallback() bool { return e.Kind == KindCallback }

// JSON decodes the whole envelope into a generic value (map[string]any for an object).
func (e Event) JSON() (map[string]any, error) {
	var v map[string]any
	if err := json.Unmarshal([]byte(e.Envelope), &v); err != nil {
		return nil, e.errorf("map[string]any", err)
	}
	return v, nil
}

// Body decodes the envelope's "event" object (v2 and v1 alike) into v: one of the typed
// models of this package, your own struct, or a map.
func (e Event) Body(v any) error {
	var wrap struct {
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal([]byte(e.Envelope), &wrap); err != nil {
		return e.errorf(fmt.Sprintf("%T", v), err)
	}
	if len(wrap.Event) == 0 || string(wrap.Event) == "null" {
		return e.errorf(fmt.Sprintf("%T", v), fmt.Errorf("the envelope has no \"event\" object"))
	}
	if err := json.Unmarshal(wrap.Event, v); err != nil {
		return e.errorf(fmt.Sprintf("%T", v), err)
	}
	return nil
}

// Header decodes the schema 2.0 envelope header (zero for v1 envelopes).
func (e Event) Header() (Header, error) {
	var wrap struct {
		Header Header `json:"header"`
	}
	if err := json.Unmarshal([]byte(e.Envelope), &wrap); err != nil {
		return Header{}, e.errorf("aviary.Header", err)
	}
	return wrap.Header, nil
}

func (e Event) errorf(target string, err error) error {
	return &DecodeError{EventType: e.EventType, Target: target, Err: err}
}

// DecodeError is an envelope or body that did not decode into the requested type.
type DecodeError struct {
	EventType string
	Target    string
	Err       error
}

func (d *DecodeError) Error() string {
	return "cannot read `" + d.EventType + "` event as " + d.Target + ": " + d.Err.Error()
}

func (d *DecodeError) Unwrap() error { return d.Err }

// Header is the header of a schema 2.0 envelope.
type Header struct {
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	CreateTime string `json:"create_time"`
	Token      string `json:"token"`
	AppID      string `json:"app_id"`
	TenantKey  string `json:"tenant_key"`
}

// OutcomeKind is what handling came to.
type OutcomeKind uint8

const (
	// OutcomeDone: handled.
	OutcomeDone OutcomeKind = 0
	// OutcomeRespond: handled; Body is the callback's JSON answer.
	OutcomeRespond OutcomeKind = 1
	// OutcomeRetry: failed for now; the runtime retries later.
	OutcomeRetry OutcomeKind = 2
	// OutcomeReject: will never succeed; not retried.
	OutcomeReject OutcomeKind = 3
)

// Outcome is the result of handling one event. Build it with Done, Respond, RespondJSON,
// Retry, Reject or the Toast helpers.
type Outcome struct {
	Kind OutcomeKind
	// Body is the JSON answer (Respond) or the reason (Retry, Reject).
	Body string
}

// Done means handled.
func Done() Outcome { return Outcome{Kind: OutcomeDone} }

// Respond answers a callback with body encoded as JSON. If encoding fails the outcome is a
// Reject with the error.
func Respond(body any) Outcome {
	b, err := json.Marshal(body)
	if err != nil {
		return Reject("cannot encode the response: " + err.Error())
	}
	return Outcome{Kind: OutcomeRespond, Body: string(b)}
}

// RespondJSON answers a callback with an already encoded JSON text.
func RespondJSON(json string) Outcome { return Outcome{Kind: OutcomeRespond, Body: json} }

// Retry means failed for now: the runtime tries again later (the reason is logged).
func Retry(reason string) Outcome { return Outcome{Kind: OutcomeRetry, Body: reason} }

// Reject means the event will never succeed: it is not retried (the reason is logged).
func Reject(reason string) Outcome { return Outcome{Kind: OutcomeReject, Body: reason} }

// FromError is Done for nil and Reject with the error's message otherwise.
func FromError(err error) Outcome {
	if err == nil {
		return Done()
	}
	return Reject(err.Error())
}

func (o Outcome) String() string {
	switch o.Kind {
	case OutcomeDone:
		return "done"
	case OutcomeRespond:
		return "respond " + o.Body
	case OutcomeRetry:
		return "retry: " + o.Body
	case OutcomeReject:
		return "reject: " + o.Body
	}
	return "invalid outcome"
}

// call runs the registered handler; a panic is logged at error level (the runtime reports the
// last error line as the panic's message) and then aborts the instance.
func call(ev Event) (out Outcome) {
	if handler == nil {
		return Reject("no handler registered: call aviary.Handle from an init function")
	}
	defer func() {
		if r := recover(); r != nil {
			Error(fmt.Sprintf("panic: %v", r))
			abort()
		}
	}()
	return handler(ev)
}
