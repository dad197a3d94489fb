package aviary

// CardResponse is the answer to a card.action.trigger callback: an optional toast and an
// optional card update.
type CardResponse struct {
	Toast *Toast      `json:"toast,omitempty"`
	Card  *CardUpdate `json:"card,omitempty"`
}

// Toast is a short message shown to the user who acted on the card.
type Toast struct {
	// Type is "info", "success", "warning" or "error".
	Type    string            `json:"type"`
	Content string            `json:"content"`
	I18n    map[string]string `json:"i18n,omitempty"`
}

// CardUpdate replaces the card: Type "raw" with the card JSON as Data, or "template" with
// {"template_id", "template_version_name", "template_variable"}.
type CardUpdate struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// ToastOutcome answers a card callback with a toast of the given type.
func ToastOutcome(kind, content string) Outcome {
	return Respond(CardResponse{Toast: &Toast{Type: kind, Content: content}})
}

// ToastInfo answers a card callback with an info toast.
func ToastInfo(content string) Outcome { return ToastOutcome("info", content) }

// ToastSuccess answers a card callback with a success toast.
func ToastSuccess(content string) Outcome { return ToastOutcome("success", content) }

// ToastWarning answers a card callback with a warning toast.
func ToastWarning(content string) Outcome { return ToastOutcome("warning", content) }

// ToastError answers a card callback with an error toast.
func ToastError(content string) Outcome { return ToastOutcome("error", content) }
