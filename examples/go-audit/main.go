// go-audit: an Aviary handler in Go that records contact.user.* and approval.* events as one
// structured audit line each (JSON, logged at info level through the runtime's log).
//
// Build:   aviary guest build --lang go examples/go-audit -o target/go-audit.wasm
// Try it:  aviary invoke -m examples/aviary.toml go-audit examples/events/contact.user.created_v3.json
//
// It also acknowledges messages (im.message.receive_v1): when `reply` is set it replies
// "<reply>: <text>" through the Feishu OpenAPI (package feishu; the manifest grants
// openapi = ["POST /open-apis/im/v1/messages"], and the host's uuid makes a re-run reply once).
//
// Settings ([handler.config] in the manifest):
//
//	audit_tag   a label copied into every audit record (default "audit")
//	reply       the text of the acknowledgement of a message (unset: no reply)
//	strict      "true": reject events of other types instead of ignoring them
package main

import (
	"encoding/json"
	"strings"

	"aviary.local/aviary"
	"aviary.local/aviary/config"
	"aviary.local/aviary/feishu"
)

// Record is one audit line.
type Record struct {
	Tag       string `json:"tag"`
	EventType string `json:"event_type"`
	EventID   string `json:"event_id"`
	Tenant    string `json:"tenant,omitempty"`
	Attempt   uint32 `json:"attempt"`
	Action    string `json:"action"`
	Subject   string `json:"subject"`
	Name      string `json:"name,omitempty"`
	Actor     string `json:"actor,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

func init() {
	aviary.Handle(handle)
}

func main() {}

func handle(ev aviary.Event) aviary.Outcome {
	if ev.EventType == "im.message.receive_v1" {
		return acknowledge(ev)
	}
	if !strings.HasPrefix(ev.EventType, "contact.user.") && !strings.HasPrefix(ev.EventType, "approval.") {
		if config.GetOr("strict", "false") == "true" {
			return aviary.Reject("go-audit does not record " + ev.EventType)
		}
		aviary.Debugf("go-audit: ignoring %s", ev.EventType)
		return aviary.Done()
	}
	rec, err := record(ev)
	if err != nil {
		// A body that does not decode will not decode on a retry either.
		return aviary.Reject(err.Error())
	}
	rec.Tag = config.GetOr("audit_tag", "audit")
	line, err := json.Marshal(rec)
	if err != nil {
		return aviary.Reject(err.Error())
	}
	aviary.Info("audit " + string(line))
	return aviary.Done()
}

// acknowledge replies "<reply>: <text>" to a message a person sent, when `reply` is set.
func acknowledge(ev aviary.Event) aviary.Outcome {
	m, err := ev.Typed()
	if err != nil {
		return aviary.Reject(err.Error())
	}
	msg, ok := m.(*aviary.MessageReceive)
	reply, set := config.Get("reply")
	if !ok || !set || msg.FromApp() {
		return aviary.Done()
	}
	id, err := feishu.ReplyText(msg.Message.MessageID, reply+": "+msg.Message.TextWithoutMentions())
	if err != nil {
		// A retry sends the same uuid: the user still gets one reply.
		return aviary.Retry("reply failed: " + err.Error())
	}
	aviary.Info("replied with " + id)
	return aviary.Done()
}

func record(ev aviary.Event) (Record, error) {
	rec := Record{EventType: ev.EventType, EventID: ev.EventID, Tenant: ev.TenantKey, Attempt: ev.Attempt}
	body, err := ev.Typed()
	if err != nil {
		return rec, err
	}
	switch b := body.(type) {
	case *aviary.UserCreated:
		rec.Action, rec.Subject, rec.Name = "user.created", userRef(b.Object), b.Object.Name
		rec.Detail = strings.Join(b.Object.DepartmentIDs, ",")
	case *aviary.UserUpdated:
		rec.Action, rec.Subject, rec.Name = "user.updated", userRef(b.Object), b.Object.Name
		rec.Detail = changedFields(b.OldObject)
	case *aviary.UserDeleted:
		rec.Action, rec.Subject, rec.Name = "user.deleted", userRef(b.Object), b.Object.Name
	case *aviary.ApprovalApproved:
		rec.Action, rec.Subject, rec.Actor = "approval.approved", b.InstanceCode, b.OpenID
		rec.Detail = b.ApprovalCode
	case *aviary.ApprovalRejected:
		rec.Action, rec.Subject, rec.Actor = "approval.rejected", b.InstanceCode, b.OpenID
		rec.Detail = b.ApprovalCode
	default:
		// Another contact.user.* or approval.* type without a typed model: keep its raw body.
		var raw map[string]any
		if err := ev.Body(&raw); err != nil {
			return rec, err
		}
		rec.Action = strings.TrimSuffix(ev.EventType[strings.Index(ev.EventType, ".")+1:], "_v1")
		if code, ok := raw["instance_code"].(string); ok {
			rec.Subject = code
		}
	}
	return rec, nil
}

func userRef(u aviary.User) string {
	if u.OpenID != "" {
		return u.OpenID
	}
	return u.UserID
}

// changedFields names the fields present in old_object (Feishu sends only the changed ones).
func changedFields(old aviary.User) string {
	var f []string
	if old.Name != "" {
		f = append(f, "name")
	}
	if old.Email != "" {
		f = append(f, "email")
	}
	if old.JobTitle != "" {
		f = append(f, "job_title")
	}
	if len(old.DepartmentIDs) > 0 {
		f = append(f, "department_ids")
	}
	if old.LeaderUserID != "" {
		f = append(f, "leader_user_id")
	}
	if old.Mobile != "" {
		f = append(f, "mobile")
	}
	return strings.Join(f, ",")
}
