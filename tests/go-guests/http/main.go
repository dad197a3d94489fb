// The outbound HTTP test guest (tests/tests/outbound_http.rs), the same protocol as the Rust
// guest tests/guests/http-client: the requests request_<i> ("METHOD URL") of its config, with
// optional header_<i> ("name: value" lines joined by "|") and body_<i>, sent with the SDK's
// net/http client (package httpclient); each result is "http <i> ok <status> <body>" or
// "http <i> err <error>", answered to a card callback as {"results": [...]} and logged
// otherwise.
package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"aviary.local/aviary"
	"aviary.local/aviary/config"
	"aviary.local/aviary/httpclient"
)

func init() {
	aviary.Handle(func(ev aviary.Event) aviary.Outcome {
		results := []string{}
		for i := 0; ; i++ {
			line, ok := config.Get(fmt.Sprintf("request_%d", i))
			if !ok {
				break
			}
			method, url, _ := strings.Cut(line, " ")
			body, _ := config.Get(fmt.Sprintf("body_%d", i))
			var reader io.Reader
			if body != "" {
				reader = strings.NewReader(body)
			}
			req, err := http.NewRequest(method, url, reader)
			if err != nil {
				results = append(results, fmt.Sprintf("http %d err %v", i, err))
				continue
			}
			headers, _ := config.Get(fmt.Sprintf("header_%d", i))
			for _, h := range strings.Split(headers, "|") {
				if name, value, ok := strings.Cut(h, ":"); ok {
					req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
				}
			}
			resp, err := httpclient.Do(req)
			if err != nil {
				results = append(results, fmt.Sprintf("http %d err %s", i, hostMessage(err)))
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if len(b) > 4000 {
				b = b[:4000]
			}
			results = append(results, fmt.Sprintf("http %d ok %d %s", i, resp.StatusCode, b))
		}
		for _, r := range results {
			aviary.Info(r)
		}
		if ev.Kind == aviary.KindCallback {
			return aviary.Respond(map[string]any{"results": results})
		}
		return aviary.Done()
	})
}

// hostMessage is the host's reason without net/http's `Get "url": ` prefix.
func hostMessage(err error) string {
	var host *aviary.HostError
	if e, ok := err.(interface{ Unwrap() error }); ok {
		if h, ok := e.Unwrap().(*aviary.HostError); ok {
			host = h
		}
	}
	if host != nil {
		return host.Message
	}
	return err.Error()
}

func main() {}
