// The OpenAPI script of tests/tests/sdk_openapi.rs in Go: the text of a message names what to
// do (reply, send, post, upload, raw, denied); every language's guest does the same.
package main

import (
	"fmt"
	"time"

	"aviary.local/aviary"
	"aviary.local/aviary/feishu"
)

const lang = "go"

func imageBytes() []byte {
	b := make([]byte, 600)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func init() {
	aviary.Handle(handle)
}

func main() {}

func result(_ string, err error) aviary.Outcome {
	if err != nil {
		return aviary.Retry(err.Error())
	}
	return aviary.Done()
}

func handle(ev aviary.Event) aviary.Outcome {
	var m *aviary.MessageReceive
	switch b := ev.MustTyped().(type) {
	case *aviary.MessageReceive:
		m = b
	case *aviary.URLPreview:
		return aviary.PreviewOutcome(lang+": "+b.URL(), "")
	case *aviary.CardAction:
		return cardAction(b)
	default:
		return aviary.Done()
	}
	id, chat := m.Message.MessageID, m.Message.ChatID
	text := m.Text()
	switch text {
	case "reply":
		return result(feishu.ReplyText(id, lang+" reply"))
	case "send":
		return result(feishu.SendText("chat_id", chat, lang+" send"))
	case "post":
		return result(feishu.Reply(id, "post", map[string]any{"zh_cn": map[string]any{"title": lang, "content": [][]map[string]string{{{"tag": "text", "text": "post"}}}}}))
	case "upload":
		image, err := feishu.UploadImage(imageBytes(), "message")
		if err != nil {
			return aviary.Retry(err.Error())
		}
		file, err := feishu.UploadFile([]byte(lang+" file"), "stream", "notes.txt")
		if err != nil {
			return aviary.Retry(err.Error())
		}
		if _, err := feishu.Reply(id, "image", map[string]string{"image_key": image}); err != nil {
			return aviary.Retry(err.Error())
		}
		return result(feishu.Reply(id, "file", map[string]string{"file_key": file}))
	case "raw":
		content := fmt.Sprintf(`{"text":"%s raw"}`, lang)
		return aviary.FromError(feishu.RequestJSON("POST", "/open-apis/im/v1/messages/"+id+"/reply", map[string]string{"msg_type": "text", "content": content}, nil))
	case "stream":
		answer, err := feishu.ReplyStream(id)
		if err != nil {
			return aviary.Retry(err.Error())
		}
		for i := 0; i < chunks; i++ {
			if err := answer.Push(fmt.Sprintf("chunk %03d ", i)); err != nil {
				return aviary.Retry(err.Error())
			}
			time.Sleep(chunkEvery)
		}
		return result(answer.Finish())
	case "denied":
		if _, err := feishu.Request("GET", "/open-apis/contact/v3/users/ou_1", ""); err != nil {
			return result(feishu.ReplyText(id, lang+" error: "+err.Error()))
		}
		return aviary.Reject("the call was not denied")
	}
	return aviary.Done()
}

// The stream: this many chunks, one every chunkEvery.
const (
	chunks     = 200
	chunkEvery = 5 * time.Millisecond
)

// slow works past the runtime's 2.5 s callback deadline and Feishu's 3 s.
const slow = 3200 * time.Millisecond

func card(text string) map[string]any {
	return map[string]any{"schema": "2.0", "body": map[string]any{"elements": []map[string]string{{"tag": "markdown", "content": text}}}}
}

// cardAction is the callback script: toast, update (the card in the answer), slow (past the
// callback deadline, then a deferred update with the callback's token).
func cardAction(a *aviary.CardAction) aviary.Outcome {
	switch a.ValueString("choice") {
	case "toast":
		return aviary.ToastInfo(lang + " toast")
	case "update":
		return aviary.CardOutcome(aviary.RawCard(card(lang+" updated")), &aviary.Toast{Type: "success", Content: lang + " saved"})
	case "slow":
		time.Sleep(slow)
		return aviary.FromError(feishu.UpdateCard(a.Token, card(lang+" done later")))
	}
	return aviary.Done()
}
