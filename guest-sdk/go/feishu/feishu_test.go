package feishu

import (
	"encoding/json"
	"strings"
	"testing"

	"aviary.local/aviary"
)

func TestReplyAndSendBuildFeishusRequests(t *testing.T) {
	aviary.TestFeishuCalls()
	id, err := ReplyText("om_1", "hi")
	if err != nil || id != "om_test" {
		t.Fatalf("reply: %q %v", id, err)
	}
	if _, err := Send("chat_id", "oc_1", "post", map[string]any{"zh_cn": map[string]any{"title": "t"}}); err != nil {
		t.Fatal(err)
	}
	calls := aviary.TestFeishuCalls()
	if len(calls) != 2 || calls[0].Method != "POST" || calls[0].Path != "/open-apis/im/v1/messages/om_1/reply" {
		t.Fatalf("%+v", calls)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(calls[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	if body["msg_type"] != "text" || body["content"] != `{"text":"hi"}` {
		t.Fatalf("%v", body)
	}
	if _, ok := body["uuid"]; ok {
		t.Fatal("the SDK must leave the uuid to the host")
	}
	if calls[1].Path != "/open-apis/im/v1/messages?receive_id_type=chat_id" || !strings.Contains(calls[1].Body, `"receive_id":"oc_1"`) {
		t.Fatalf("%+v", calls[1])
	}
}

func TestErrorsComeBackAndBadIDsNeverReachTheHost(t *testing.T) {
	aviary.TestFeishuCalls()
	aviary.PushTestFeishuAnswer("", "rate limited: Feishu allows 5 messages per 1s")
	if _, err := ReplyText("om_1", "x"); err == nil || !strings.Contains(err.Error(), "rate limited") {
		t.Fatalf("%v", err)
	}
	aviary.PushTestFeishuAnswer(`{"code":0,"data":{}}`, "")
	if _, err := ReplyText("om_1", "x"); err == nil || !strings.Contains(err.Error(), "no data.message_id") {
		t.Fatalf("%v", err)
	}
	if _, err := ReplyText("om_1/../x", "x"); err == nil || !strings.Contains(err.Error(), "only letters") {
		t.Fatalf("%v", err)
	}
	if _, err := SendText("phone", "1", "x"); err == nil || !strings.Contains(err.Error(), "receive_id_type") {
		t.Fatalf("%v", err)
	}
	if n := len(aviary.TestFeishuCalls()); n != 2 {
		t.Fatalf("%d calls reached the host", n)
	}
}

func TestUploadsSendTheFormAndReturnTheKey(t *testing.T) {
	aviary.TestFeishuCalls()
	key, err := UploadImage([]byte{0x89, 'P', 'N', 'G'}, "")
	if err != nil || key != "img_test" {
		t.Fatalf("%q %v", key, err)
	}
	key, err = UploadFile([]byte("%PDF"), "pdf", "report.pdf")
	if err != nil || key != "file_test" {
		t.Fatalf("%q %v", key, err)
	}
	calls := aviary.TestFeishuCalls()
	if calls[0].Path != "/open-apis/im/v1/images" || calls[0].Body != `{"image_type":"message"}` || calls[0].FileField != "image" || string(calls[0].File) != "\x89PNG" {
		t.Fatalf("%+v", calls[0])
	}
	if calls[1].Path != "/open-apis/im/v1/files" || calls[1].FileName != "report.pdf" || !strings.Contains(calls[1].Body, `"file_type":"pdf"`) {
		t.Fatalf("%+v", calls[1])
	}
}

func TestUpdateCardPostsTheTokenAndTheCard(t *testing.T) {
	aviary.TestFeishuCalls()
	if err := UpdateCard("c-1", map[string]any{"elements": []any{}}); err != nil {
		t.Fatal(err)
	}
	calls := aviary.TestFeishuCalls()
	if calls[0].Path != "/open-apis/interactive/v1/card/update" || calls[0].Body != `{"card":{"elements":[]},"token":"c-1"}` {
		t.Fatalf("%+v", calls)
	}
	if UpdateCard("", nil) == nil {
		t.Fatal("an empty token is refused")
	}
}

func TestACardStreamCreatesRepliesStreamsAndCloses(t *testing.T) {
	aviary.TestFeishuCalls()
	s, err := ReplyStream("om_1")
	if err != nil || s.CardID != "card_test" {
		t.Fatalf("%+v %v", s, err)
	}
	s.Push("Hel")
	s.Push("lo")
	text, err := s.Finish()
	if err != nil || text != "Hello" {
		t.Fatalf("%q %v", text, err)
	}
	calls := aviary.TestFeishuCalls()
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.Method)
	}
	if strings.Join(methods, ",") != "POST,POST,STREAM,STREAM,STREAM,PATCH" {
		t.Fatal(methods)
	}
	if !strings.Contains(calls[1].Body, `"content":"{\"data\":{\"card_id\":\"card_test\"},\"type\":\"card\"}"`) {
		t.Fatal(calls[1].Body)
	}
	if calls[5].Path != "/open-apis/cardkit/v1/cards/card_test/settings" || !strings.Contains(calls[5].Body, `"sequence":4`) {
		t.Fatalf("%+v", calls[5])
	}
}
