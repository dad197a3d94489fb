package feishu

import "fmt"

// UpdateCard updates a card after its callback was answered (Feishu's deferred update,
// POST /open-apis/interactive/v1/card/update): token is the callback's (CardAction.Token;
// valid 30 minutes, for two updates), card the whole new card JSON (for a card that is not
// shared, "open_ids" in it names who sees the update). The fallback when the work takes longer
// than the 3 s a callback may take.
func UpdateCard(token string, card any) error {
	if token == "" {
		return fmt.Errorf("the callback token is empty")
	}
	return RequestJSON("POST", "/open-apis/interactive/v1/card/update", map[string]any{"token": token, "card": card}, nil)
}
