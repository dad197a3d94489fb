// The OpenAPI script of tests/tests/sdk_openapi.rs in Go: the text of a message names what to
// do (reply, send, post, upload, raw, denied); every language's guest does the same.
package main

import (
	"fmt"

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
	m, ok := ev.MustTyped().(*aviary.MessageReceive)
	if !ok {
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
	case "denied":
		if _, err := feishu.Request("GET", "/open-apis/contact/v3/users/ou_1", ""); err != nil {
			return result(feishu.ReplyText(id, lang+" error: "+err.Error()))
		}
		return aviary.Reject("the call was not denied")
	}
	return aviary.Done()
}
