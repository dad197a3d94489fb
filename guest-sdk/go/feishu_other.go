//go:build !wasip1

// The test shim of the OpenAPI imports: every call is recorded (TestFeishuCalls) and answered
// from a queue (PushTestFeishuAnswer), or with a success naming message om_test.

package aviary

import "errors"

// FeishuCall is one OpenAPI call a handler made, as the test shim recorded it. Upload calls
// have Method "UPLOAD", Body the form fields (JSON) and File the bytes.
type FeishuCall struct {
	Method, Path, Body string
	FileField          string
	FileName           string
	File               []byte
}

type testAnswer struct {
	body string
	err  error
}

var (
	testCalls   []FeishuCall
	testAnswers []testAnswer
)

// TestDefaultFeishuAnswer is what the shim answers when no answer is queued.
const TestDefaultFeishuAnswer = `{"code":0,"msg":"success","data":{"message_id":"om_test","image_key":"img_test","file_key":"file_test","card_id":"card_test"}}`

// PushTestFeishuAnswer queues the answer of the next OpenAPI call (tests only): a body, or an
// error when errMessage is not empty.
func PushTestFeishuAnswer(body, errMessage string) {
	testMu.Lock()
	defer testMu.Unlock()
	a := testAnswer{body: body}
	if errMessage != "" {
		a.err = errors.New(errMessage)
	}
	testAnswers = append(testAnswers, a)
}

// TestFeishuCalls returns and clears the OpenAPI calls made so far (tests only).
func TestFeishuCalls() []FeishuCall {
	testMu.Lock()
	defer testMu.Unlock()
	out := testCalls
	testCalls = nil
	return out
}

func testAnswerNext(c FeishuCall) (string, error) {
	testMu.Lock()
	defer testMu.Unlock()
	testCalls = append(testCalls, c)
	if len(testAnswers) == 0 {
		return TestDefaultFeishuAnswer, nil
	}
	a := testAnswers[0]
	testAnswers = testAnswers[1:]
	return a.body, a.err
}

// FeishuRequest calls the Feishu OpenAPI through the host; use package feishu.
func FeishuRequest(method, path, body string) (string, error) {
	return testAnswerNext(FeishuCall{Method: method, Path: path, Body: body})
}

// FeishuUpload uploads a file to the Feishu OpenAPI through the host; use package feishu.
func FeishuUpload(path, form, fileField, fileName string, data []byte) (string, error) {
	return testAnswerNext(FeishuCall{Method: "UPLOAD", Path: path, Body: form, FileField: fileField, FileName: fileName, File: append([]byte(nil), data...)})
}
