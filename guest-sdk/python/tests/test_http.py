"""aviary_guest.http over a fake http-send: what the host import receives, what comes back."""

import json
import unittest

from aviary_guest import http


class FakeHost:
    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def __call__(self, method, url, headers, body):
        self.calls.append((method, url, headers, body))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class WitErr(Exception):
    """Like componentize-py's `Err`: the WIT error string is in `.value`."""

    def __init__(self, value):
        super().__init__(value)
        self.value = value


class HttpTest(unittest.TestCase):
    def test_a_request_travels_flat_and_the_answer_comes_back_typed(self):
        host = FakeHost((201, "content-type: application/json\nx-a: 1\nx-a: 2\n", b'{"ok": true, "s": "\xc3\xa9"}'))
        http._install(host)
        r = http.post("https://api.example.com/v1", json={"q": "ü"}, params={"a": "b c"}, headers={"Authorization": "Bearer k"})
        self.assertEqual(r.status_code, 201)
        self.assertTrue(r.ok)
        self.assertEqual(r.headers["X-A"], "1, 2")
        self.assertEqual(r.json(), {"ok": True, "s": "é"})
        method, url, headers, body = host.calls[0]
        self.assertEqual((method, url), ("POST", "https://api.example.com/v1?a=b+c"))
        self.assertEqual(headers, "Authorization: Bearer k\nContent-Type: application/json\n")
        self.assertEqual(json.loads(body), {"q": "ü"})

    def test_no_answer_raises_with_the_host_reason_and_bad_statuses_on_request(self):
        http._install(FakeHost(WitErr("denied: handler `h` may not send GET https://evil.example/")))
        with self.assertRaises(http.RequestException) as cm:
            http.get("https://evil.example/")
        self.assertIn("denied: handler `h`", str(cm.exception))
        http._install(FakeHost((503, "", b"busy")))
        r = http.get("https://api.example.com/")
        self.assertFalse(r.ok)
        with self.assertRaises(http.HTTPError) as cm:
            r.raise_for_status()
        self.assertEqual(str(cm.exception), "HTTP 503: busy")

    def test_headers_refuse_line_breaks_and_forms_are_encoded(self):
        host = FakeHost((200, "", b""))
        http._install(host)
        with self.assertRaises(http.RequestException):
            http.get("https://h/", headers={"X": "a\nHost: evil"})
        http.post("https://h/", data={"a": "1", "b": "x y"})
        self.assertEqual(host.calls[-1][2], "Content-Type: application/x-www-form-urlencoded\n")
        self.assertEqual(host.calls[-1][3], b"a=1&b=x+y")


if __name__ == "__main__":
    unittest.main()
