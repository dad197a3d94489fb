"""Host-side tests of the Python SDK (python -m unittest): every typed sample parses into its
dataclass, helpers and the export glue behave."""

import json
import pathlib
import unittest

import aviary_guest as sdk
from aviary_guest import events

SAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples" / "events"
LOGS = []
sdk._install(lambda level, message: LOGS.append((level, message)), lambda key: "hi" if key == "greeting" else None)


def sample(name):
    return sdk.Event.from_envelope((SAMPLES / f"{name}.json").read_text())


class SdkTest(unittest.TestCase):
    def test_every_typed_sample_parses(self):
        files = sorted(p.stem for p in SAMPLES.glob("*.json") if not p.stem.startswith("legacy"))
        self.assertEqual(sorted(events.EVENT_MODELS), files)
        for name in files:
            typed = sample(name).typed()
            self.assertIsInstance(typed, events.EVENT_MODELS[name], name)

    def test_models_are_lenient_and_helpers_work(self):
        m = sample("im.message.receive_v1").typed()
        self.assertEqual(m.message.text_without_mentions(), "hello, Aviary")
        self.assertFalse(m.from_app())
        empty = events.parse("im.message.receive_v1", {"message": None, "sender": {"sender_id": None}})
        self.assertEqual(empty.message.chat_id, "")
        self.assertEqual(empty.sender.sender_id.open_id, "")
        card = sample("card.action.trigger")
        self.assertTrue(card.is_callback())
        self.assertEqual(card.typed().value_str("choice"), "approve")
        self.assertIsInstance(sdk.Event.from_envelope('{"schema":"2.0","header":{"event_type":"x.y"},"event":{}}').typed(), events.Other)

    def test_outcomes(self):
        self.assertEqual(sdk.respond({"a": 1}), sdk.Outcome("respond", '{"a":1}'))
        self.assertEqual(sdk.respond("nope").tag, "reject")
        self.assertEqual(json.loads(sdk.toast_success("ok").value), {"toast": {"type": "success", "content": "ok"}})
        self.assertEqual(sdk.config.get("greeting"), "hi")
        self.assertEqual(sdk.config.get("missing", "d"), "d")

    def test_glue(self):
        ev = sample("im.message.receive_v1")
        self.assertEqual(sdk._run(lambda e: None, ev), sdk.done())
        self.assertEqual(sdk._run(lambda e: 42, ev).tag, "reject")

        def boom(e):
            raise ValueError("boom")

        with self.assertRaises(ValueError):
            sdk._run(boom, ev)
        self.assertTrue(any(level == "error" and "ValueError: boom" in m for level, m in LOGS))


if __name__ == "__main__":
    unittest.main()
