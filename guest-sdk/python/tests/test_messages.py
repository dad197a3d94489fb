"""Every sample in examples/events/messages/ parses to the values in its expected.json, the file
every Aviary SDK's tests check against."""

import dataclasses
import json
import pathlib
import unittest

import aviary_guest as sdk
from aviary_guest import content

MESSAGES = pathlib.Path(__file__).resolve().parents[3] / "examples" / "events" / "messages"
EXPECTED = json.loads((MESSAGES / "expected.json").read_text())


def message(file):
    return sdk.Event.from_envelope((MESSAGES / file).read_text()).typed().message


def assert_subset(case, path, want, got):
    """Every key of ``want`` is in ``got`` with the same value (lists item by item)."""
    if isinstance(want, dict):
        case.assertIsInstance(got, dict, path)
        for k, v in want.items():
            case.assertIn(k, got, f"{path}.{k}")
            assert_subset(case, f"{path}.{k}", v, got[k])
    elif isinstance(want, list):
        case.assertIsInstance(got, list, path)
        case.assertEqual(len(want), len(got), path)
        for i, (w, g) in enumerate(zip(want, got)):
            assert_subset(case, f"{path}[{i}]", w, g)
    else:
        case.assertEqual(want, got, path)


class MessagesTest(unittest.TestCase):
    def test_every_sample_has_expectations(self):
        files = sorted(p.name for p in MESSAGES.glob("*.json") if p.name != "expected.json")
        self.assertEqual(files, sorted(EXPECTED["samples"]))
        self.assertGreaterEqual(len(files), 15)

    def test_every_sample_parses_to_the_shared_expectations(self):
        bot = EXPECTED["bot_open_id"]
        for file, want in EXPECTED["samples"].items():
            with self.subTest(file):
                m = message(file)
                c = m.parse_content()
                self.assertEqual(c.KIND, want["kind"])
                self.assertEqual(m.plain_text(), want["plain_text"])
                self.assertEqual(m.text_with_names(), want["text_with_names"])
                self.assertEqual(m.text_without_mentions(), want["text_without_mentions"])
                self.assertEqual(m.mentions_bot(bot), want["mentions_bot"])
                self.assertEqual(m.mentions_all(), want["mentions_all"])
                assert_subset(self, file, want["content"], dataclasses.asdict(c))

    def test_content_variants_and_edge_cases(self):
        f = message("file.json").parse_content()
        self.assertIsInstance(f, content.FileContent)
        self.assertEqual(f.file_key, "file_v3_0001")
        u = message("unknown.json").parse_content()
        self.assertIsInstance(u, content.UnknownContent)
        self.assertEqual(u.raw["summary"], "Planning")
        post = content.parse_content("post", '{"en_us":{"title":"T","content":[[{"tag":"text","text":"hi"}]]}}')
        self.assertEqual(post.plain_text(), "T\nhi")
        bad = message("text.json")
        bad.content = "not json"
        with self.assertRaises(ValueError):
            bad.parse_content()
        self.assertIsNone(bad.text_without_mentions())
        self.assertFalse(bad.mentions_bot(""))
        long = message("text.json")
        long.content = '{"text":"@_user_10 and @_user_1"}'
        long.mentions[0].key, long.mentions[1].key = "@_user_10", "@_user_1"
        self.assertEqual(long.text_with_names(), "@Aviary bot and @Alice")


if __name__ == "__main__":
    unittest.main()
