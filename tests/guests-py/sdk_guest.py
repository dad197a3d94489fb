"""The OpenAPI script of tests/tests/sdk_openapi.rs in Python: the text of a message names
what to do (reply, send, post, upload, raw, denied); every language's guest does the same."""

import json
import time

from aviary_guest import Event, card_outcome, stream, done, events, feishu, raw_card, reject, retry, toast_info, url_preview

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
    if isinstance(ev, events.UrlPreview):
        return url_preview(f"{LANG}: {ev.url()}")
    if isinstance(ev, events.CardAction):
        return _card_action(ev)
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
    if text == "stream":
        return _attempt(lambda: _stream(mid))
    if text == "denied":
        try:
            feishu.request("GET", "/open-apis/contact/v3/users/ou_1")
        except feishu.FeishuError as e:
            return _attempt(lambda: feishu.reply_text(mid, f"{LANG} error: {e}"))
        return reject("the call was not denied")
    return done()


# The stream: this many chunks, one every CHUNK_SECONDS.
CHUNKS = 200
CHUNK_SECONDS = 0.005


def _stream(message_id):
    answer = stream.CardStream.reply(message_id)
    for i in range(CHUNKS):
        answer.push(f"chunk {i:03} ")
        time.sleep(CHUNK_SECONDS)
    answer.finish()


# How long `slow` works: past the runtime's 2.5 s callback deadline and Feishu's 3 s.
SLOW_SECONDS = 3.2


def _card(text):
    return {"schema": "2.0", "body": {"elements": [{"tag": "markdown", "content": text}]}}


def _card_action(a):
    """The callback script: toast, update (the card in the answer), slow (past the callback
    deadline, then a deferred update with the callback's token)."""
    choice = a.value_str("choice")
    if choice == "toast":
        return toast_info(f"{LANG} toast")
    if choice == "update":
        return card_outcome(raw_card(_card(f"{LANG} updated")), {"type": "success", "content": f"{LANG} saved"})
    if choice == "slow":
        time.sleep(SLOW_SECONDS)
        return _attempt(lambda: feishu.update_card(a.token, _card(f"{LANG} done later")))
    return done()
