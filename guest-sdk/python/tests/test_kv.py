"""The kv wrappers against an in-memory stand-in for the host imports (python -m unittest)."""

import unittest

from aviary_guest import kv


class FakeHost:
    def __init__(self):
        self.data = {}
        self.denied = False

    def _check(self, op):
        if self.denied:
            raise kv.KvError(f"{op}: denied: handler `test` has no key-value grant")

    def get(self, key):
        self._check("kv-get")
        return self.data.get(key)

    def set(self, key, value, ttl):
        self._check("kv-set")
        self.data[key] = value

    def delete(self, key):
        self._check("kv-delete")
        self.data.pop(key, None)

    def increment(self, key, delta):
        self._check("kv-increment")
        v = self.data.get(key, "0")
        if not v.lstrip("-").isdigit() or str(int(v)) != v:
            raise kv.KvError(f"kv-increment: the value of `{key}` is not an integer")
        self.data[key] = str(int(v) + delta)
        return self.data[key]

    def list(self, prefix, after, limit):
        self._check("kv-list")
        keys = sorted(k for k in self.data if k.startswith(prefix) and k > after)
        return keys[: limit or 1000]


class KvTest(unittest.TestCase):
    def setUp(self):
        self.host = FakeHost()
        h = self.host
        kv._install(h.get, h.set, h.delete, h.increment, h.list)

    def test_operations(self):
        self.assertIsNone(kv.get("a"))
        kv.set("a", "1")
        self.assertEqual(kv.increment("a", 4), 5)
        self.assertEqual(kv.increment("n"), 1)
        kv.set("b/1", "x", ttl_secs=60)
        kv.set("b/2", "y")
        with self.assertRaises(kv.KvError) as e:
            kv.increment("b/1")
        self.assertIn("not an integer", str(e.exception))
        self.assertEqual(kv.list("b/"), ["b/1", "b/2"])
        self.assertEqual(kv.list("b/", after="b/1"), ["b/2"])
        self.assertEqual(kv.list(limit=2), ["a", "b/1"])
        kv.delete("a")
        self.assertIsNone(kv.get("a"))
        kv.set_json("j", {"turns": ["hi"]})
        self.assertEqual(kv.get_json("j")["turns"], ["hi"])
        self.assertEqual(kv.get_json("missing", []), [])
        with self.assertRaises(kv.KvError):
            kv.get_json("b/2")

    def test_denied(self):
        self.host.denied = True
        with self.assertRaises(kv.KvError) as e:
            kv.get("a")
        self.assertIn("denied", str(e.exception))


if __name__ == "__main__":
    unittest.main()
