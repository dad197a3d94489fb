"""The OpenAPI script of tests/tests/sdk_openapi.rs in Python: the text of a message names
what to do (reply, send, post, upload, raw, denied); every language's guest does the same."""

import json

from aviary_guest import Event, done, events, feishu, reject, retry

LANG = "py"


def _image_bytes():
    return bytes(i % 251 for i in range(600))


def _attempt(f):
    try:
        f()
        return done()
    except feishu.FeishuError as e:
        return retry(str(e))


def _upload(message_id):
    image = feishu.upload_image(_image_bytes(), "message")
    file_key = feishu.upload_file(f"{LANG} file".encode(), "stream", "notes.txt")
    feishu.reply(message_id, "image", {"image_key": image})
    feishu.reply(message_id, "file", {"file_key": file_key})


def handle(event: Event):
    ev = event.typed()
    if not isinstance(ev, events.MessageReceive):
        return done()
    mid, chat = ev.message.message_id, ev.message.chat_id
    text = ev.message.text()
    if text == "reply":
        return _attempt(lambda: feishu.reply_text(mid, f"{LANG} reply"))
    if text == "send":
        return _attempt(lambda: feishu.send_text("chat_id", chat, f"{LANG} send"))
    if text == "post":
        content = {"zh_cn": {"title": LANG, "content": [[{"tag": "text", "text": "post"}]]}}
        return _attempt(lambda: feishu.reply(mid, "post", content))
    if text == "upload":
        return _attempt(lambda: _upload(mid))
    if text == "raw":
        body = {"msg_type": "text", "content": json.dumps({"text": f"{LANG} raw"})}
        return _attempt(lambda: feishu.request_json("POST", f"/open-apis/im/v1/messages/{mid}/reply", body))
    if text == "denied":
        try:
            feishu.request("GET", "/open-apis/contact/v3/users/ou_1")
        except feishu.FeishuError as e:
            return _attempt(lambda: feishu.reply_text(mid, f"{LANG} error: {e}"))
        return reject("the call was not denied")
    return done()
