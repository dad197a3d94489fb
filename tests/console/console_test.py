#!/usr/bin/env python3
"""The dev console in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium): push a sample from the page and see the bot's reply in the chat view, type a
message and get a card, click a card button and see the toast, force a disconnect and see the
connection change. Screenshots of each step go to SCREENSHOT_DIR.

    console_test.py CONSOLE_URL SCREENSHOT_DIR

Run by runtime/tests/console_browser.rs, which starts `aviary emulator` and `aviary run` with
the Rust example handler. Exit 0 when every step passed; otherwise the failing step is named
(and its screenshot saved as failed.png).
"""

import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

URL, SHOTS = sys.argv[1], sys.argv[2]
os.makedirs(SHOTS, exist_ok=True)

options = webdriver.ChromeOptions()
options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--window-size=1280,900"):
    options.add_argument(arg)
driver = webdriver.Chrome(options=options,
                          service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")))
wait = WebDriverWait(driver, 30, poll_frequency=0.2)


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


try:
    driver.get(URL)
    conn = driver.find_element(By.ID, "connection")
    step("the page shows a live connection", lambda: conn.get_attribute("data-state") == "connected")
    first_connection = conn.get_attribute("data-connection")
    shot("01-connected.png")

    # A sample pushed from the composer; the Rust example replies "Got it: <text>".
    step("samples are offered", lambda: len(Select(driver.find_element(By.ID, "sample-select")).options) > 1)
    Select(driver.find_element(By.ID, "sample-select")).select_by_value("im.message.receive_v1.json")
    step("the sample's JSON is in the editor", lambda: "im.message.receive_v1" in driver.find_element(By.ID, "sample-json").get_attribute("value"))
    driver.find_element(By.ID, "sample-push").click()
    sample_chat = "oc_5ce6d572455d361153b7xx51da133945"
    step("the bot's reply to the sample appears in its chat",
         lambda: any("Got it: @_user_1 hello, Aviary" in m.text for m in bot_messages(sample_chat)))
    shot("02-sample-reply.png")

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
    shot("03-card.png")

    # Clicking sends card.action.trigger; the handler's toast comes back in the ack.
    buttons[0].click()
    toast = driver.find_element(By.ID, "toast")
    step("the toast of the click is shown",
         lambda: toast.is_displayed() and "Approved (from the browser test)" in toast.text)
    assert "success" in toast.get_attribute("class"), toast.get_attribute("class")
    shot("04-toast.png")

    # A forced disconnect: the connection is replaced (a new id, one more reconnect).
    driver.find_element(By.CSS_SELECTOR, "[data-fault*='1000']").click()
    step("the state changes to a new connection",
         lambda: conn.get_attribute("data-state") == "connected"
         and conn.get_attribute("data-connection") not in ("", first_connection)
         and int(conn.get_attribute("data-reconnects")) >= 1)
    shot("05-reconnected.png")
    print("console test passed", flush=True)
finally:
    driver.quit()
