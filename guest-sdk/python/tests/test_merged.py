"""examples/events/aviary.message.merged_v1.json (a merged turn) reads to
examples/events/merged/expected.json, the file every Aviary SDK's tests check against."""

import json
import pathlib
import unittest

import aviary_guest as sdk
from aviary_guest import events
from aviary_guest.merged import MERGED_EVENT_TYPE, MergedMessages

EVENTS = pathlib.Path(__file__).resolve().parents[3] / "examples" / "events"
EXPECTED = json.loads((EVENTS / "merged" / "expected.json").read_text())


class MergedTest(unittest.TestCase):
    def test_the_merged_sample_reads_to_the_shared_expectations(self):
        exp = EXPECTED
        ev = sdk.Event.from_envelope((EVENTS / exp["sample"]).read_text())
        self.assertEqual(ev.event_type, MERGED_EVENT_TYPE)
        m = ev.typed()
        self.assertIsInstance(m, MergedMessages)
        self.assertEqual(m.chat_id, exp["chat_id"])
        self.assertEqual(m.count, exp["count"])
        self.assertEqual(m.message_ids(), exp["message_ids"])
        self.assertEqual([x.message.message_type for x in m.messages()], exp["message_types"])
        self.assertTrue(all(isinstance(x, events.MessageReceive) for x in m.messages()))
        self.assertEqual(m.sender().sender_id.open_id, exp["sender_open_id"])
        self.assertEqual(m.text(), exp["text"])
        self.assertEqual(m.text_with_names(), exp["text_with_names"])
        self.assertEqual(m.mentions_bot(exp["bot_open_id"]), exp["mentions_bot"])
        self.assertFalse(m.mentions_bot(""))
        empty = events.parse(MERGED_EVENT_TYPE, {"events": None})
        self.assertEqual((empty.text(), empty.message_ids(), empty.sender()), ("", [], None))


if __name__ == "__main__":
    unittest.main()
