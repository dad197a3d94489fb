#!/usr/bin/env python3
"""The dev console in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium): push a sample from the page and see the bot's reply in the chat view, the event's
timeline (persisted, acked 200, the handler's run with its outcome, log line and OpenAPI call)
and the handler table's counters go up; type a message and get a card, click a card button and
see the toast; force a disconnect and see the connection change; take the handler's OpenAPI
grant away in the manifest (aviary dev hot-reloads the app: same process, same connection), see a
message's handler fail into a dead letter, give the grant back, replay the dead letter from the
page and see it handled (the reply in the chat, one timeline across the reloads); check that no
secret or token reached the page. Screenshots of each step go to SCREENSHOT_DIR.

    console_test.py CONSOLE_URL SCREENSHOT_DIR MANIFEST

Run by runtime/tests/console_browser.rs, which starts `aviary dev` with the Rust example
handler. Exit 0 when every step passed; otherwise the failing step is named (and its
screenshot saved as failed.png).
"""

import json
import os
import re
import sys

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

URL, SHOTS, MANIFEST = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(SHOTS, exist_ok=True)

options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1280,1400"):
    options.add_argument(arg)
driver = webdriver.Chrome(options=options,
                          service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")))
# The page re-renders what changed once a second: an element found a moment ago may be gone.
wait = WebDriverWait(driver, 30, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException])


def shot(name):
    driver.save_screenshot(os.path.join(SHOTS, name))


def step(name, check):
    print(f"step: {name}", flush=True)
    try:
        return wait.until(lambda d: check())
    except Exception:
        shot("failed.png")
        print(f"FAILED: {name}\n--- page text ---\n{driver.find_element(By.TAG_NAME, 'body').text}", flush=True)
        raise


def bot_messages(chat_id):
    chats = driver.find_elements(By.CSS_SELECTOR, f'.chat[data-chat-id="{chat_id}"] .msg.bot')
    return chats


def show(element):
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)


def handler_count(cell):
    """A counter of the Rust example's row in the handler table (-1 while there is none)."""
    found = driver.find_elements(By.CSS_SELECTOR, f'#handlers tr[data-handler="rust-example"] td.{cell}')
    text = found[0].text if found else ""
    return int(text) if text.isdigit() else -1


def trace(event_id):
    """The timeline entry of one event, or None."""
    found = driver.find_elements(By.CSS_SELECTOR, f'#timeline .event[data-event-id="{event_id}"]')
    return found[0] if found else None


def steps(event_id, css):
    t = trace(event_id)
    return t.find_elements(By.CSS_SELECTOR, css) if t else []


def push_sample(name, edit=None):
    """Chooses a sample in the composer, lets `edit` change its JSON, pushes it; its event id."""
    Select(driver.find_element(By.ID, "sample-select")).select_by_value(name)
    box = driver.find_element(By.ID, "sample-json")
    step(f"the JSON of {name} is in the editor", lambda: box.get_attribute("value").strip().startswith("{"))
    envelope = json.loads(box.get_attribute("value"))
    if edit:
        edit(envelope)
        driver.execute_script("arguments[0].value = arguments[1]", box, json.dumps(envelope, indent=2))
    driver.find_element(By.ID, "sample-push").click()
    return envelope


def send_chat(text):
    """Types `text` into the chat composer and sends it; the event id the page reports."""
    composer = driver.find_element(By.ID, "composer-status")
    before = composer.get_attribute("data-event-id")
    box = driver.find_element(By.ID, "chat-text")
    box.send_keys(text)
    driver.find_element(By.ID, "chat-send").click()
    return step(f"{text!r} is sent", lambda: composer.get_attribute("data-event-id") not in (None, "", before)
                and composer.get_attribute("data-event-id"))


def reload_with(manifest, why):
    """Rewrites the manifest; waits for aviary dev to hot-reload the running `aviary run` (a new
    generation in force, the same process: its start time and its connection unchanged)."""
    app = driver.find_element(By.ID, "app")
    started = app.get_attribute("data-started")
    generation = app.get_attribute("data-generation")
    connection = conn.get_attribute("data-connection")
    with open(MANIFEST, "w") as f:
        f.write(manifest)
    step(f"aviary dev hot-reloads the app ({why}); its handler is ready",
         lambda: app.get_attribute("data-generation") not in (None, "", generation)
         and app.get_attribute("data-connection") == "connected"
         and app.get_attribute("data-ready") == "yes")
    assert app.get_attribute("data-started") == started, "the app was restarted, not reloaded"
    assert conn.get_attribute("data-connection") == connection, "the reload replaced the connection"


try:
    driver.get(URL)
    conn = driver.find_element(By.ID, "connection")
    step("the page shows a live connection", lambda: conn.get_attribute("data-state") == "connected")
    first_connection = conn.get_attribute("data-connection")
    shot("01-connected.png")

    # The app aviary dev runs: its handler table, before any event.
    step("the handler table lists the app's handler", lambda: handler_count("calls") >= 0)
    step("the app says it is ready (connected, its handler compiled)",
         lambda: driver.find_element(By.ID, "app").get_attribute("data-ready") == "yes"
         and "ready" in driver.find_element(By.ID, "app-status").text)
    calls_before, done_before = handler_count("calls"), handler_count("count-done")

    # A sample pushed from the composer; the Rust example replies "Got it: <text>".
    step("samples are offered", lambda: len(Select(driver.find_element(By.ID, "sample-select")).options) > 1)
    # The envelope carries a verification token (a sample's is empty): it must stay out of the
    # journal (checked at the end).
    token = "verification-token-the-page-must-not-see"
    sample = push_sample("im.message.receive_v1.json", lambda e: e["header"].update(token=token))
    sample_event = sample["header"]["event_id"]
    sample_chat = "oc_5ce6d572455d361153b7xx51da133945"
    step("the bot's reply to the sample appears in its chat",
         lambda: any("Got it: @_user_1 hello, Aviary" in m.text for m in bot_messages(sample_chat)))
    shot("02-sample-reply.png")

    # Its timeline: persisted, acked 200, the handler's run (done) with its log line and the
    # OpenAPI reply it made, answered with code 0.
    done_run = '.step-run[data-handler="rust-example"][data-outcome="done"]'
    step("the timeline shows the handler's run with its outcome", lambda: steps(sample_event, done_run))
    step("the run's log line is in the timeline",
         lambda: "message in oc_5ce6d572455d361153b7xx51da133945: @_user_1 hello, Aviary"
         in steps(sample_event, done_run)[0].text)
    step("the run's OpenAPI reply is in the timeline, answered with code 0",
         lambda: any("/reply" in c.text and "code 0" in c.text
                     for c in steps(sample_event, done_run + " .call.ok")))
    step("the run shows its time, fuel and memory against the limits",
         lambda: all(w in steps(sample_event, done_run)[0].text for w in (" of 10 s", "fuel ", " of 500.0M", "memory ", " of 128.0 MiB")))
    step("the event was persisted and acked 200",
         lambda: steps(sample_event, ".step-persisted") and steps(sample_event, '.step-acked[data-code="200"]'))
    step("the handler table counts the run",
         lambda: handler_count("calls") > calls_before and handler_count("count-done") > done_before)
    show(trace(sample_event))
    shot("03-timeline.png")
    driver.execute_script("window.scrollTo(0, 0)")

    # A message typed as a user would; "card" gets a card with buttons.
    box = driver.find_element(By.ID, "chat-text")
    box.send_keys("hello from the browser")
    driver.find_element(By.ID, "chat-send").click()
    chat = "oc_console_chat"
    step("the typed message is answered",
         lambda: any("Got it: hello from the browser" in m.text for m in bot_messages(chat)))
    box.send_keys("card")
    driver.find_element(By.ID, "chat-send").click()
    buttons = step("the bot's card is rendered with its buttons",
                   lambda: driver.find_elements(By.CSS_SELECTOR, f'.chat[data-chat-id="{chat}"] .card .card-button'))
    labels = [b.text for b in buttons]
    assert labels == ["Approve", "Reject"], labels
    assert "Ship it?" in driver.find_element(By.CSS_SELECTOR, f'.chat[data-chat-id="{chat}"] .card-header').text
    shot("04-card.png")

    # Clicking sends card.action.trigger; the handler's toast comes back in the ack.
    buttons[0].click()
    toast = driver.find_element(By.ID, "toast")
    step("the toast of the click is shown",
         lambda: toast.is_displayed() and "Approved (from the browser test)" in toast.text)
    assert "success" in toast.get_attribute("class"), toast.get_attribute("class")
    shot("05-toast.png")

    # A forced disconnect: the connection is replaced (a new id, one more reconnect).
    first_connection = conn.get_attribute("data-connection")
    reconnects = int(conn.get_attribute("data-reconnects"))
    driver.find_element(By.CSS_SELECTOR, "[data-fault*='1000']").click()
    step("the state changes to a new connection",
         lambda: conn.get_attribute("data-state") == "connected"
         and conn.get_attribute("data-connection") not in ("", first_connection)
         and int(conn.get_attribute("data-reconnects")) > reconnects)
    shot("06-reconnected.png")

    # A failing handler: the manifest loses its OpenAPI grant (aviary dev reloads the app); the
    # reply to a message is denied, the handler asks for a retry, its one attempt
    # (max_attempts = 1) is spent: a dead letter.
    granted = open(MANIFEST).read()
    grant = 'openapi = ["/open-apis/im/v1/messages"]\n'
    assert grant in granted, granted
    reload_with(granted.replace(grant, ""), "the OpenAPI grant removed")
    dead_event = send_chat("a reply needs a grant")
    dead_row = f'#dead-letters tr[data-event-id="{dead_event}"]'
    step("the failing handler's event is a dead letter, with why",
         lambda: "reply failed" in driver.find_element(By.CSS_SELECTOR, dead_row).text)
    failed_run = '.step-run[data-handler="rust-example"][data-outcome="retry"]'
    step("its timeline shows the run asking for a retry with the denied OpenAPI call, the handler "
         "giving up and the dead letter",
         lambda: any("denied" in c.text for c in steps(dead_event, failed_run + " .call.err"))
         and steps(dead_event, ".step-gave_up") and steps(dead_event, ".step-dead_lettered"))
    assert not any("Got it: a reply needs a grant" in m.text for m in bot_messages(chat))
    show(driver.find_element(By.CSS_SELECTOR, dead_row))
    shot("07-dead-letter.png")

    # The grant comes back (another reload); the dead letter is replayed from the page and
    # handled: the reply appears in the chat, the timeline is one journal across the reloads.
    reload_with(granted, "the OpenAPI grant back")
    step("the dead letter is still listed after the reload",
         lambda: driver.find_elements(By.CSS_SELECTOR, dead_row + " button.replay"))
    driver.find_element(By.CSS_SELECTOR, dead_row + " button.replay").click()
    step("the replayed event is handled: the reply appears in the chat",
         lambda: any("Got it: a reply needs a grant" in m.text for m in bot_messages(chat)))
    step("its timeline shows the dead letter, the replay and the run that succeeded",
         lambda: steps(dead_event, ".step-dead_lettered")
         and steps(dead_event, ".step-replayed") and steps(dead_event, done_run + " .call.ok"))
    assert not steps(dead_event, ".step-restarted"), "one journal: the app was never restarted"
    step("the dead letter is gone from the list", lambda: not driver.find_elements(By.CSS_SELECTOR, dead_row))
    show(trace(dead_event))
    shot("08-replayed.png")

    # No secret or token reached the page or the app's answers behind it: the app secret
    # `aviary dev` gives the app, the emulator's tenant_access_tokens (t-<40 hex>), the
    # envelope's verification token.
    answers = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        Promise.all(['/_console/api/app/runs?since=0', '/_console/api/app/status',
                     '/_console/api/app/dead-letters'].map((p) => fetch(p).then((r) => r.text())))
          .then(done);""")
    assert '"journal"' in answers[0] and "rust-example" in answers[1], answers
    for text in answers + [driver.page_source]:
        assert "aviary-dev-secret" not in text, "the app secret reached the page"
        assert not re.search(r"t-[0-9a-f]{40}", text), "a tenant_access_token reached the page"
    for text in answers:
        assert token not in text, "the verification token reached the journal"
    print("console test passed", flush=True)
finally:
    driver.quit()
