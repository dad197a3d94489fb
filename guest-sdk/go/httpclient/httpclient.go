// Package httpclient sends outbound HTTP requests from an Aviary handler with the standard
// library's net/http API, over the host import http-send.
//
//	resp, err := httpclient.Get("https://api.example.com/status")
//	if err != nil {
//		return aviary.Retry(err.Error()) // denied, timed out, too large, connection failed
//	}
//	defer resp.Body.Close()
//	body, _ := io.ReadAll(resp.Body)
//
// or any *http.Client with Transport as its transport. The host allows only what the manifest
// key allowed_outbound_hosts lists, follows redirects itself (each hop checked), applies the
// [handler.http] limits and adds no credential. Setting a Host different from the URL's is an
// error, as is any header with a line break.
//
// The package imports net/http, which adds about 3 MB to a component: only handlers that use it
// pay for it.
package httpclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"

	"aviary.local/aviary"
)

// Transport is an http.RoundTripper over the host import.
type Transport struct{}

// RoundTrip sends req through the host and returns the answer (any status).
func (Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	if req.Host != "" && req.Host != req.URL.Host {
		return nil, errors.New("httpclient: a Host different from the URL's is refused")
	}
	var block strings.Builder
	for name, values := range req.Header {
		for _, v := range values {
			if strings.ContainsAny(name, ":\r\n") || strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("httpclient: header %q: no line breaks (and no ':' in names)", name)
			}
			block.WriteString(name + ": " + v + "\n")
		}
	}
	status, headers, respBody, err := aviary.HTTPSend(req.Method, req.URL.String(), block.String(), body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for _, line := range strings.Split(headers, "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok {
			h.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)), strings.TrimSpace(value))
		}
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(respBody)),
		ContentLength: int64(len(respBody)),
		Request:       req,
	}, nil
}

// Client is an *http.Client whose transport is the host.
var Client = &http.Client{Transport: Transport{}}

// Get is Client.Get.
func Get(url string) (*http.Response, error) { return Client.Get(url) }

// Post is Client.Post.
func Post(url, contentType string, body io.Reader) (*http.Response, error) {
	return Client.Post(url, contentType, body)
}

// Do is Client.Do.
func Do(req *http.Request) (*http.Response, error) { return Client.Do(req) }
