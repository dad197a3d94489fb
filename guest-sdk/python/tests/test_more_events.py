"""Every file of examples/events/expected/events.json (shared by every SDK) types to the listed
body values; the card callback's form values and context."""

import dataclasses
import json
import pathlib
import unittest

import aviary_guest as sdk
from aviary_guest import events
from test_messages import assert_subset

SAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples" / "events"
EXPECTED = json.loads((SAMPLES / "expected" / "events.json").read_text())


def sample(file):
    return sdk.Event.from_envelope((SAMPLES / file).read_text())


class MoreEventsTest(unittest.TestCase):
    def test_samples_type_to_the_shared_expectations(self):
        self.assertGreaterEqual(len(EXPECTED["samples"]), 9)
        for file, want in EXPECTED["samples"].items():
            with self.subTest(file):
                ev = sample(file)
                self.assertEqual(ev.event_type, want["event_type"])
                typed = ev.typed()
                self.assertIs(type(typed), events.EVENT_MODELS[want["event_type"]])
                assert_subset(self, file, want["body"], dataclasses.asdict(typed))

    def test_card_action_form_values(self):
        card = sample("card.action.trigger.json").typed()
        self.assertEqual(card.form_value_str("reason"), "ship it")
        self.assertIsNone(card.form_value_str("env"))
        self.assertEqual(card.open_chat_id(), "oc_e4d2605ca917e695f54f11aaf56edb21")
        self.assertEqual(card.open_message_id(), "om_574d639e4a44e4dd646eaf628e2f2d26")
        menu = events.parse("application.bot.menu_v6", {"operator": None, "timestamp": "x"})
        self.assertEqual((menu.event_key, menu.timestamp, menu.operator.operator_id.open_id), ("", 0, ""))


if __name__ == "__main__":
    unittest.main()
