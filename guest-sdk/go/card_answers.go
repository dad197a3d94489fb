package aviary

// RawCard is a card update that replaces the card with this card JSON.
func RawCard(card any) CardUpdate { return CardUpdate{Type: "raw", Data: card} }

// TemplateCard is a card update that replaces the card with a card template (version ""
// for the latest; variables nil for none).
func TemplateCard(templateID, version string, variables any) CardUpdate {
	data := map[string]any{"template_id": templateID}
	if version != "" {
		data["template_version_name"] = version
	}
	if variables != nil {
		data["template_variable"] = variables
	}
	return CardUpdate{Type: "template", Data: data}
}

// CardOutcome answers a card callback by replacing the card, with a toast when toast is not
// nil. For work longer than the 3 s a callback may take, answer (or let the runtime ack at
// dispatch.callback_deadline_ms) and update the card later with feishu.UpdateCard.
func CardOutcome(card CardUpdate, toast *Toast) Outcome {
	return Respond(CardResponse{Toast: toast, Card: &card})
}

// URLPreviewResponse is the answer to url.preview.get: an inline preview and optionally a
// card.
type URLPreviewResponse struct {
	Inline *PreviewInline `json:"inline,omitempty"`
	Card   *CardUpdate    `json:"card,omitempty"`
}

// PreviewInline is the inline preview shown in place of the link.
type PreviewInline struct {
	Title string `json:"title"`
	// I18nTitle holds titles per locale (zh_cn, en_us, …).
	I18nTitle map[string]string `json:"i18n_title,omitempty"`
	// ImageKey is an icon uploaded with feishu.UploadImage.
	ImageKey string `json:"image_key,omitempty"`
}

// PreviewOutcome answers url.preview.get with an inline preview titled title (imageKey ""
// for no icon); Respond(URLPreviewResponse{…}) gives titles per language or a card.
func PreviewOutcome(title, imageKey string) Outcome {
	return Respond(URLPreviewResponse{Inline: &PreviewInline{Title: title, ImageKey: imageKey}})
}
