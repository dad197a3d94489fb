"""The feishu wrappers build the requests the OpenAPI expects (with recording stand-ins for
the host functions)."""

import json
import unittest

from aviary_guest import feishu

DEFAULT = '{"code":0,"msg":"success","data":{"message_id":"om_test","image_key":"img_test","file_key":"file_test"}}'
CALLS = []
ANSWERS = []


def _answer(call):
    CALLS.append(call)
    return ANSWERS.pop(0) if ANSWERS else (True, DEFAULT)


feishu._install(
    lambda method, path, body: _answer((method, path, body)),
    lambda path, form, field, name, data: _answer(("UPLOAD", path, form, field, name, data)),
)


class FeishuTest(unittest.TestCase):
    def setUp(self):
        CALLS.clear()

    def test_reply_and_send_build_the_documented_requests(self):
        self.assertEqual(feishu.reply_text("om_1", 'hi "you"'), "om_test")
        self.assertEqual(feishu.send("chat_id", "oc_9", "post", {"zh_cn": {"title": "t"}}), "om_test")
        method, path, body = CALLS[0]
        self.assertEqual((method, path), ("POST", "/open-apis/im/v1/messages/om_1/reply"))
        body = json.loads(body)
        self.assertEqual(body["msg_type"], "text")
        self.assertEqual(json.loads(body["content"]), {"text": 'hi "you"'})
        self.assertNotIn("uuid", body)
        self.assertEqual(CALLS[1][1], "/open-apis/im/v1/messages?receive_id_type=chat_id")
        self.assertEqual(json.loads(CALLS[1][2])["receive_id"], "oc_9")
        self.assertEqual(feishu.request_json("GET", "/open-apis/im/v1/chats"), json.loads(DEFAULT))
        self.assertEqual(CALLS[2][2], "")

    def test_errors_raise_feishu_error_and_bad_ids_stay_in_the_guest(self):
        ANSWERS.append((False, "rate limited: Feishu allows 5 messages per 1s"))
        with self.assertRaisesRegex(feishu.FeishuError, "rate limited"):
            feishu.reply_text("om_1", "x")
        ANSWERS.append((True, '{"code":0,"data":{}}'))
        with self.assertRaisesRegex(feishu.FeishuError, "no data.message_id"):
            feishu.send_text("open_id", "ou_1", "x")
        CALLS.clear()
        with self.assertRaisesRegex(feishu.FeishuError, "only letters"):
            feishu.reply_text("om_1/../x", "x")
        with self.assertRaisesRegex(feishu.FeishuError, "receive_id_type"):
            feishu.send_text("phone", "1", "x")
        self.assertEqual(CALLS, [])

    def test_uploads_send_the_form_and_bytes_and_return_the_key(self):
        self.assertEqual(feishu.upload_image(b"\x89PNG"), "img_test")
        self.assertEqual(feishu.upload_file(b"%PDF", "pdf", "report.pdf"), "file_test")
        self.assertEqual(CALLS[0], ("UPLOAD", "/open-apis/im/v1/images", '{"image_type":"message"}', "image", "image", b"\x89PNG"))
        self.assertEqual(json.loads(CALLS[1][2]), {"file_type": "pdf", "file_name": "report.pdf"})
        self.assertEqual(CALLS[1][4], "report.pdf")


if __name__ == "__main__":
    unittest.main()


class AnswersTest(unittest.TestCase):
    def test_card_and_preview_answers_have_feishus_shape(self):
        import aviary_guest as sdk

        o = sdk.card_outcome(sdk.raw_card({"schema": "2.0"}), {"type": "success", "content": "saved"})
        self.assertEqual(o.value, '{"toast":{"type":"success","content":"saved"},"card":{"type":"raw","data":{"schema":"2.0"}}}')
        o = sdk.card_outcome(sdk.template_card("AAq1", {"n": 1}, "1.0.0"))
        self.assertEqual(o.value, '{"card":{"type":"template","data":{"template_id":"AAq1","template_version_name":"1.0.0","template_variable":{"n":1}}}}')
        self.assertEqual(sdk.url_preview("T-1042").value, '{"inline":{"title":"T-1042"}}')
        self.assertEqual(sdk.url_preview("t", image_key="img_1").value, '{"inline":{"title":"t","image_key":"img_1"}}')

    def test_a_deferred_update_posts_token_and_card(self):
        CALLS.clear()
        feishu.update_card("c-1", {"elements": []})
        self.assertEqual(CALLS[0][1], "/open-apis/interactive/v1/card/update")
        self.assertEqual(json.loads(CALLS[0][2]), {"token": "c-1", "card": {"elements": []}})
        with self.assertRaisesRegex(feishu.FeishuError, "token is empty"):
            feishu.update_card("", {})

    def test_url_preview_is_typed(self):
        import pathlib

        import aviary_guest as sdk
        from aviary_guest import events

        path = pathlib.Path(__file__).resolve().parents[3] / "examples" / "events" / "url.preview.get.json"
        ev = sdk.Event.from_envelope(path.read_text())
        self.assertTrue(ev.is_callback())
        p = ev.typed()
        self.assertIsInstance(p, events.UrlPreview)
        self.assertEqual(p.url(), "https://tickets.example.com/T-1042")
        self.assertTrue(p.preview_token().startswith("p-"))


class StreamTest(unittest.TestCase):
    def test_a_card_stream_creates_replies_streams_and_closes(self):
        from aviary_guest import stream

        streamed = []
        stream._install(lambda c, e, t: (streamed.append((c, e, t)), (True, None))[1], lambda c: (True, len(streamed)))
        ANSWERS.append((True, '{"code":0,"data":{"card_id":"7001"}}'))
        CALLS.clear()
        s = stream.CardStream.reply("om_1")
        s.push("Hel")
        s.push("lo")
        self.assertEqual(s.finish(), "Hello")
        card = json.loads(json.loads(CALLS[0][2])["data"])
        self.assertTrue(card["config"]["streaming_mode"])
        self.assertEqual(card["body"]["elements"][0]["element_id"], stream.STREAM_ELEMENT)
        self.assertEqual(json.loads(CALLS[1][2])["content"], '{"type":"card","data":{"card_id":"7001"}}')
        self.assertEqual([t for _, _, t in streamed], ["Hel", "Hello", "Hello"])
        self.assertEqual(CALLS[2][:2], ("PATCH", "/open-apis/cardkit/v1/cards/7001/settings"))
        self.assertEqual(json.loads(CALLS[2][2]), {"settings": '{"config":{"streaming_mode":false}}', "sequence": 4})
        stream._install(lambda c, e, t: (False, "streaming the card failed: HTTP 400"), lambda c: (True, 0))
        with self.assertRaisesRegex(feishu.FeishuError, "streaming the card failed"):
            s.push("x")
