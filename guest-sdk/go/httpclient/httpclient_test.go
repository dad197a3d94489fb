package httpclient

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"aviary.local/aviary"
)

func TestRequestsTravelFlatAndAnswersComeBackAsNetHTTP(t *testing.T) {
	var got struct{ method, url, headers, body string }
	aviary.SetTestHTTP(func(method, url, headers string, body []byte) (int, string, []byte, error) {
		got.method, got.url, got.headers, got.body = method, url, headers, string(body)
		return 201, "content-type: application/json\nx-a: 1\nx-a: 2\n", []byte(`{"ok":true}`), nil
	})
	defer aviary.SetTestHTTP(nil)
	resp, err := Post("https://api.example.com/v1?a=1", "application/json", strings.NewReader(`{"q":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || string(body) != `{"ok":true}` || resp.Header.Values("X-A")[1] != "2" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	if got.method != "POST" || got.url != "https://api.example.com/v1?a=1" || got.body != `{"q":1}` ||
		got.headers != "Content-Type: application/json\n" {
		t.Fatalf("%+v", got)
	}
}

func TestHostErrorsAndHostOverridesAreErrors(t *testing.T) {
	aviary.SetTestHTTP(func(method, url, headers string, body []byte) (int, string, []byte, error) {
		return 0, "", nil, &aviary.HostError{Message: "denied: handler `h` may not send GET https://evil.example/"}
	})
	defer aviary.SetTestHTTP(nil)
	_, err := Get("https://evil.example/")
	if err == nil || !strings.Contains(err.Error(), "denied: handler `h`") {
		t.Fatalf("%v", err)
	}
	req, _ := http.NewRequest("GET", "https://api.example.com/", nil)
	req.Host = "evil.example"
	if _, err := Do(req); err == nil || !strings.Contains(err.Error(), "Host different") {
		t.Fatalf("%v", err)
	}
}
