"""Example Aviary handler in Python (guest-sdk/python): greets new chat members and people
who message the bot, counts the messages this instance has seen (instances are reused for
Python by default, so the module-level counter persists between events of one instance: it is
a per-instance statistic, never a total), and answers card callbacks with a toast.

Build: python -m aviary_guest build app.py -o py_greeter.wasm
"""

from aviary_guest import Event, config, done, events, log, toast_info

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
        log.info(f"{greeting}, {who}! ({ev.message.text_without_mentions()!r}; message {seen} on this instance)")
        return done()
    if isinstance(ev, events.ChatMemberUserAdded):
        names = ", ".join(u.name for u in ev.users) or "someone"
        log.info(f"{config.get('greeting', 'Hello')}, {names}: welcome to {ev.name or ev.chat_id}")
        return done()
    if isinstance(ev, events.CardAction):
        return toast_info(f"{config.get('greeting', 'Hello')}! You chose {ev.value_str('choice') or 'nothing'}")
    return done()
