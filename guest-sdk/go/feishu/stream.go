package feishu

import (
	"encoding/json"
	"fmt"

	"aviary.local/aviary"
)

// StreamElement is the element_id of a CardStream's text.
const StreamElement = "aviary_stream"

// CardStream is a card message whose text grows as the handler produces it (an LLM's
// tokens, a long job's progress). ReplyStream creates a CardKit card in streaming mode and
// replies with it; Push appends text and returns at once: the host sends the whole text so
// far, paced within Feishu's 10 updates per second per card, coalescing what arrives in
// between; Finish waits until the final text has landed and turns streaming mode off.
// Grants: openapi = ["POST /open-apis/im/v1/messages", "/open-apis/cardkit/v1/cards"].
type CardStream struct {
	CardID    string
	MessageID string
	text      string
}

// StreamingCard is the card JSON 2.0 a stream starts with.
func StreamingCard() map[string]any {
	return map[string]any{
		"schema": "2.0",
		"config": map[string]any{"streaming_mode": true, "summary": map[string]string{"content": ""}},
		"body":   map[string]any{"elements": []map[string]string{{"tag": "markdown", "content": "", "element_id": StreamElement}}},
	}
}

func createCard() (string, error) {
	card, err := json.Marshal(StreamingCard())
	if err != nil {
		return "", err
	}
	answer, err := requestAnswer("POST", "/open-apis/cardkit/v1/cards", map[string]string{"type": "card_json", "data": string(card)})
	if err != nil {
		return "", err
	}
	id, err := dataString(answer, "card_id")
	if err != nil {
		return "", err
	}
	return id, checkID("card id", id)
}

func cardContent(cardID string) map[string]any {
	return map[string]any{"type": "card", "data": map[string]string{"card_id": cardID}}
}

// ReplyStream creates the card and replies with it to messageID.
func ReplyStream(messageID string) (*CardStream, error) {
	id, err := createCard()
	if err != nil {
		return nil, err
	}
	msg, err := Reply(messageID, "interactive", cardContent(id))
	if err != nil {
		return nil, err
	}
	return &CardStream{CardID: id, MessageID: msg}, nil
}

// SendStream creates the card and sends it to receiveID (see Send).
func SendStream(receiveIDType, receiveID string) (*CardStream, error) {
	id, err := createCard()
	if err != nil {
		return nil, err
	}
	msg, err := Send(receiveIDType, receiveID, "interactive", cardContent(id))
	if err != nil {
		return nil, err
	}
	return &CardStream{CardID: id, MessageID: msg}, nil
}

// Text is the text so far.
func (s *CardStream) Text() string { return s.text }

// Push appends chunk to the text; it returns at once (the host sends it, paced).
func (s *CardStream) Push(chunk string) error {
	s.text += chunk
	return aviary.CardStreamSet(s.CardID, StreamElement, s.text)
}

// Set replaces the whole text.
func (s *CardStream) Set(text string) error {
	s.text = text
	return aviary.CardStreamSet(s.CardID, StreamElement, s.text)
}

// Finish waits until the final text has landed, then turns streaming mode off; it returns
// the final text.
func (s *CardStream) Finish() (string, error) {
	if err := aviary.CardStreamSet(s.CardID, StreamElement, s.text); err != nil {
		return "", err
	}
	seq, err := aviary.CardStreamFlush(s.CardID)
	if err != nil {
		return "", err
	}
	settings := `{"config":{"streaming_mode":false}}`
	path := fmt.Sprintf("/open-apis/cardkit/v1/cards/%s/settings", s.CardID)
	if err := RequestJSON("PATCH", path, map[string]any{"settings": settings, "sequence": seq + 1}, nil); err != nil {
		return "", err
	}
	return s.text, nil
}
