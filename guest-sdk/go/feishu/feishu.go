// Package feishu calls the Feishu/Lark OpenAPI as the app, through the host's feishu-request
// import (and feishu-upload for files).
//
// The handler must be granted the paths in the manifest (denied by default):
//
//	[[handler]]
//	openapi = ["/open-apis/im/v1/messages"]   # send, reply, and anything else under it
//
// The host adds the app's tenant_access_token (the handler never sees it), paces sends under
// Feishu's rate limits and, for send and reply, sets an idempotency uuid derived from the app,
// the handler, the event and the index of the call in this run: when the same event is
// handled again (a crash, a timeout, a Retry), the same calls in the same order carry the
// same keys and Feishu sends nothing twice within its 1-hour uuid window. Keep the calls of a
// run in a deterministic order for that. A uuid you put in the body yourself is kept.
//
//	id, err := feishu.ReplyText(msg.MessageID, "got it")
//	if err != nil {
//		return aviary.Retry("reply failed: " + err.Error()) // the retry sends the same uuid
//	}
package feishu

import (
	"encoding/json"
	"fmt"

	"aviary.local/aviary"
)

// Request sends method path with body (JSON text, or "" for none) and returns the answer's
// body (JSON text) when Feishu answered 2xx with code 0. path includes the query and starts
// with /open-apis/. The error names the call and holds Feishu's code and message, or why the
// host refused it (not granted, bad path, rate limited, timeout, …).
func Request(method, path, body string) (string, error) {
	return aviary.FeishuRequest(method, path, body)
}

// RequestJSON is Request with body encoded as JSON (nil: no body), decoding the answer into
// out (nil: ignore it).
func RequestJSON(method, path string, body any, out any) error {
	text := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: cannot encode the body: %w", method, path, err)
		}
		text = string(b)
	}
	answer, err := Request(method, path, text)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal([]byte(answer), out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// Reply replies to the message messageID with msgType ("text", "post", "interactive", …) and
// content (the message content object, e.g. map[string]string{"text": "hi"}, encoded to the
// JSON string Feishu expects); it returns the new message's id.
func Reply(messageID, msgType string, content any) (string, error) {
	if err := checkID("message id", messageID); err != nil {
		return "", err
	}
	c, err := contentString(content)
	if err != nil {
		return "", err
	}
	path := "/open-apis/im/v1/messages/" + messageID + "/reply"
	return newMessageID(requestAnswer("POST", path, map[string]string{"msg_type": msgType, "content": c}))
}

// ReplyText replies to the message messageID with plain text; it returns the new message's id.
func ReplyText(messageID, text string) (string, error) {
	return Reply(messageID, "text", map[string]string{"text": text})
}

// Send sends a message to receiveID of type receiveIDType ("open_id", "union_id", "user_id",
// "email" or "chat_id"); it returns the new message's id.
func Send(receiveIDType, receiveID, msgType string, content any) (string, error) {
	switch receiveIDType {
	case "open_id", "union_id", "user_id", "email", "chat_id":
	default:
		return "", fmt.Errorf("receive_id_type %q is not one of open_id, union_id, user_id, email, chat_id", receiveIDType)
	}
	c, err := contentString(content)
	if err != nil {
		return "", err
	}
	path := "/open-apis/im/v1/messages?receive_id_type=" + receiveIDType
	return newMessageID(requestAnswer("POST", path, map[string]string{"receive_id": receiveID, "msg_type": msgType, "content": c}))
}

// SendText sends plain text to receiveID (see Send); it returns the new message's id.
func SendText(receiveIDType, receiveID, text string) (string, error) {
	return Send(receiveIDType, receiveID, "text", map[string]string{"text": text})
}

// requestAnswer is RequestJSON answering the generic decoded answer.
func requestAnswer(method, path string, body any) (map[string]any, error) {
	var out map[string]any
	err := RequestJSON(method, path, body, &out)
	return out, err
}

func contentString(content any) (string, error) {
	if s, ok := content.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(content)
	if err != nil {
		return "", fmt.Errorf("cannot encode the message content: %w", err)
	}
	return string(b), nil
}

func newMessageID(answer map[string]any, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return dataString(answer, "message_id")
}

// dataString reads data.<key> of an answer.
func dataString(answer map[string]any, key string) (string, error) {
	if data, ok := answer["data"].(map[string]any); ok {
		if v, ok := data[key].(string); ok && v != "" {
			return v, nil
		}
	}
	b, _ := json.Marshal(answer)
	return "", fmt.Errorf("the answer has no data.%s: %s", key, b)
}

// checkID refuses an id that could change the path it is put into (only letters, digits,
// '_' and '-' are taken).
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("the %s is empty", what)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("the %s %q holds %q: only letters, digits, '_' and '-' are taken", what, id, c)
		}
	}
	return nil
}
