"""Example Aviary handler in Python (guest-sdk/python): greets new chat members and people
who message the bot, counts the messages this instance has seen (instances are reused for
Python by default, so the module-level counter persists between events of one instance: it is
a per-instance statistic, never a total), and answers card callbacks with a toast. When
`reply` is set in [handler.config] it also replies "<reply>: <text>" to each message through
the Feishu OpenAPI (the manifest grants openapi = ["POST /open-apis/im/v1/messages"]; the
host's uuid makes a re-run reply once).

Build: python -m aviary_guest build app.py -o py_greeter.wasm
"""

from aviary_guest import Event, config, done, events, feishu, log, retry, toast_info

seen = 0  # persists between events while one instance is reused


def handle(event: Event):
    global seen
    ev = event.typed()
    if isinstance(ev, events.MessageReceive):
        if ev.from_app():
            return done()
        seen += 1
        greeting = config.get("greeting", "Hello")
        who = ev.sender.sender_id.open_id or "there"
        text = ev.message.text_without_mentions()
        log.info(f"{greeting}, {who}! ({text!r}; message {seen} on this instance)")
        reply = config.get("reply")
        if reply is None:
            return done()
        try:
            log.info(f"replied with {feishu.reply_text(ev.message.message_id, f'{reply}: {text}')}")
        except feishu.FeishuError as e:
            # A retry sends the same uuid: the user still gets one reply.
            return retry(f"reply failed: {e}")
        return done()
    if isinstance(ev, events.ChatMemberUserAdded):
        names = ", ".join(u.name for u in ev.users) or "someone"
        log.info(f"{config.get('greeting', 'Hello')}, {names}: welcome to {ev.name or ev.chat_id}")
        return done()
    if isinstance(ev, events.CardAction):
        return toast_info(f"{config.get('greeting', 'Hello')}! You chose {ev.value_str('choice') or 'nothing'}")
    return done()
