package aviary

// URLPreview is url.preview.get: a link of one of the app's domains was sent in a chat, and
// Feishu asks for its preview. Answer within 3 s with PreviewOutcome (an inline title) or a
// card (Respond(URLPreviewResponse{…})).
type URLPreview struct {
	Operator Operator    `json:"operator"`
	Host     string      `json:"host"`
	Context  CardContext `json:"context"`
}

// URL is the link to preview (context.url).
func (u *URLPreview) URL() string { return u.Context.URL }

// PreviewToken is the preview's token (context.preview_token).
func (u *URLPreview) PreviewToken() string { return u.Context.PreviewToken }
