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
