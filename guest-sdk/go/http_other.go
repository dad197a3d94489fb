//go:build !wasip1

package aviary

// HTTPFunc answers HTTPSend in tests (see SetTestHTTP).
type HTTPFunc func(method, url, headers string, body []byte) (int, string, []byte, error)

var testHTTP HTTPFunc

// SetTestHTTP replaces what HTTPSend does outside wasip1 (tests only); nil answers every
// request with a *HostError.
func SetTestHTTP(f HTTPFunc) {
	testMu.Lock()
	defer testMu.Unlock()
	testHTTP = f
}

// HTTPSend sends one request through the host's http-send import; outside wasip1 it calls the
// function set with SetTestHTTP.
func HTTPSend(method, url, headers string, body []byte) (int, string, []byte, error) {
	testMu.Lock()
	f := testHTTP
	testMu.Unlock()
	if f == nil {
		return 0, "", nil, &HostError{Message: "no http-send in tests: call aviary.SetTestHTTP"}
	}
	return f(method, url, headers, body)
}
