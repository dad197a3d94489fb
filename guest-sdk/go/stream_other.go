//go:build !wasip1

package aviary

import "strings"

// CardStreamSet records a streamed text as a FeishuCall with Method "STREAM" and Path
// "<card>/<element>" (test shim).
func CardStreamSet(cardID, elementID, content string) error {
	testMu.Lock()
	defer testMu.Unlock()
	testCalls = append(testCalls, FeishuCall{Method: "STREAM", Path: cardID + "/" + elementID, Body: content})
	return nil
}

// CardStreamFlush answers how many texts were streamed to cardID and not yet taken with
// TestFeishuCalls (test shim).
func CardStreamFlush(cardID string) (uint32, error) {
	testMu.Lock()
	defer testMu.Unlock()
	var n uint32
	for _, c := range testCalls {
		if c.Method == "STREAM" && strings.HasPrefix(c.Path, cardID+"/") {
			n++
		}
	}
	return n, nil
}
