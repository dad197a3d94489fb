package aviary

import "testing"

func TestCardAndPreviewAnswersHaveFeishusShape(t *testing.T) {
	o := CardOutcome(RawCard(map[string]any{"schema": "2.0"}), &Toast{Type: "success", Content: "saved"})
	if o.Kind != OutcomeRespond || o.Body != `{"toast":{"type":"success","content":"saved"},"card":{"type":"raw","data":{"schema":"2.0"}}}` {
		t.Fatal(o)
	}
	o = CardOutcome(TemplateCard("AAq1", "1.0.0", map[string]int{"n": 1}), nil)
	if o.Body != `{"card":{"type":"template","data":{"template_id":"AAq1","template_variable":{"n":1},"template_version_name":"1.0.0"}}}` {
		t.Fatal(o)
	}
	o = PreviewOutcome("T-1042: printer on fire", "")
	if o.Body != `{"inline":{"title":"T-1042: printer on fire"}}` {
		t.Fatal(o)
	}
	u := eventFromFile(t, "url.preview.get.json").MustTyped().(*URLPreview)
	if u.URL() != "https://tickets.example.com/T-1042" || u.PreviewToken() == "" {
		t.Fatalf("%+v", u)
	}
}
