package aviary

import (
	"encoding/json"
	"strings"
)

// Typed message content: the Content JSON string of im.message.receive_v1, one model per
// message_type, and its plain-text rendering, the same in every Aviary SDK (checked against
// examples/events/messages/expected.json): text as is; post, todo and interactive as their
// title and one line per paragraph; other types as a tag such as "[image]" or
// "[file: report.pdf]"; unknown types as "". @_user_N placeholders are kept (see
// Message.TextWithNames and Message.TextWithoutMentions).
//
//	c, err := m.Message.ParseContent()
//	switch c := c.(type) {
//	case *aviary.TextContent:  // c.Text
//	case *aviary.ImageContent: // c.ImageKey
//	case *aviary.UnknownContent: // c.MessageType, c.Raw
//	}

// MessageContent is one of *TextContent, *PostContent, *ImageContent, *FileContent,
// *AudioContent, *MediaContent, *StickerContent, *InteractiveContent, *ShareChatContent,
// *ShareUserContent, *MergeForwardContent, *LocationContent, *TodoContent, *SystemContent or
// *UnknownContent.
type MessageContent interface {
	// Kind is the message_type of the content, or "unknown".
	Kind() string
	// PlainText renders the content as text, mention placeholders kept.
	PlainText() string
}

// TextContent is a text message; Text holds @_user_N (and @_all) placeholders for mentions.
type TextContent struct {
	Text string `json:"text"`
}

// PostContent is rich text: a title and paragraphs of elements.
type PostContent struct {
	Title   string          `json:"title"`
	Content [][]PostElement `json:"content"`
}

// PostElement is one element of a paragraph; which fields are set depends on Tag (text, a,
// at, img, media, emotion, code_block, hr, md).
type PostElement struct {
	Tag       string   `json:"tag"`
	Text      string   `json:"text"`
	Href      string   `json:"href"`
	UserID    string   `json:"user_id"`
	UserName  string   `json:"user_name"`
	ImageKey  string   `json:"image_key"`
	FileKey   string   `json:"file_key"`
	EmojiType string   `json:"emoji_type"`
	Language  string   `json:"language"`
	Style     []string `json:"style"`
	Width     int64    `json:"width"`
	Height    int64    `json:"height"`
}

// ImageContent is an image message.
type ImageContent struct {
	ImageKey string `json:"image_key"`
}

// FileContent is a file message.
type FileContent struct {
	FileKey  string `json:"file_key"`
	FileName string `json:"file_name"`
}

// AudioContent is a voice message; Duration in milliseconds.
type AudioContent struct {
	FileKey  string `json:"file_key"`
	Duration int64  `json:"duration"`
}

// MediaContent is a video with a cover image; Duration in milliseconds.
type MediaContent struct {
	FileKey  string `json:"file_key"`
	ImageKey string `json:"image_key"`
	FileName string `json:"file_name"`
	Duration int64  `json:"duration"`
}

// StickerContent is a sticker.
type StickerContent struct {
	FileKey string `json:"file_key"`
}

// InteractiveContent is a card, in the reduced form Feishu delivers.
type InteractiveContent struct {
	Title    string          `json:"title"`
	Elements [][]PostElement `json:"elements"`
}

// ShareChatContent is a shared group card.
type ShareChatContent struct {
	ChatID string `json:"chat_id"`
}

// ShareUserContent is a shared contact card.
type ShareUserContent struct {
	UserID string `json:"user_id"`
}

// MergeForwardContent is a merged forward; fetch the sub-messages through the OpenAPI.
type MergeForwardContent struct {
	Content string `json:"content"`
}

// LocationContent is a shared location.
type LocationContent struct {
	Name      string `json:"name"`
	Longitude string `json:"longitude"`
	Latitude  string `json:"latitude"`
}

// TodoContent is a shared task; DueTime in epoch milliseconds.
type TodoContent struct {
	TaskID  string      `json:"task_id"`
	Summary PostContent `json:"summary"`
	DueTime string      `json:"due_time"`
}

// SystemContent is a chat notice such as "{from_user} invited {to_chatters} to this chat.".
type SystemContent struct {
	Template    string      `json:"template"`
	FromUser    []string    `json:"from_user"`
	ToChatters  []string    `json:"to_chatters"`
	DividerText DividerText `json:"divider_text"`
}

// DividerText is the text of a system divider.
type DividerText struct {
	Text     string            `json:"text"`
	I18nText map[string]string `json:"i18n_text"`
}

// UnknownContent is the content of a message_type without a model, as received.
type UnknownContent struct {
	MessageType string          `json:"message_type"`
	Raw         json.RawMessage `json:"raw"`
}

// ParseContent parses content (a JSON string) as the model for messageType.
func ParseContent(messageType, content string) (MessageContent, error) {
	raw := []byte(content)
	var c MessageContent
	switch messageType {
	case "text":
		c = &TextContent{}
	case "post":
		c = &PostContent{}
		raw = unwrapLocale(raw)
	case "image":
		c = &ImageContent{}
	case "file":
		c = &FileContent{}
	case "audio":
		c = &AudioContent{}
	case "media":
		c = &MediaContent{}
	case "sticker":
		c = &StickerContent{}
	case "interactive":
		c = &InteractiveContent{}
	case "share_chat":
		c = &ShareChatContent{}
	case "share_user":
		c = &ShareUserContent{}
	case "merge_forward":
		c = &MergeForwardContent{}
	case "location":
		c = &LocationContent{}
	case "todo":
		c = &TodoContent{}
	case "system":
		c = &SystemContent{}
	default:
		var v json.RawMessage
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		return &UnknownContent{MessageType: messageType, Raw: v}, nil
	}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, err
	}
	return c, nil
}

// unwrapLocale turns a post sent with locales ({"zh_cn": {...}}) into its first locale
// (zh_cn, en_us, ja_jp, then the first in key order); the received form has no locale level.
func unwrapLocale(raw []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	if _, ok := m["content"]; ok {
		return raw
	}
	if _, ok := m["title"]; ok {
		return raw
	}
	isObject := func(v json.RawMessage) bool {
		s := strings.TrimSpace(string(v))
		return strings.HasPrefix(s, "{")
	}
	for _, k := range []string{"zh_cn", "en_us", "ja_jp"} {
		if v, ok := m[k]; ok && isObject(v) {
			return v
		}
	}
	first := ""
	for k, v := range m {
		if isObject(v) && (first == "" || k < first) {
			first = k
		}
	}
	if first != "" {
		return m[first]
	}
	return raw
}

func (*TextContent) Kind() string         { return "text" }
func (*PostContent) Kind() string         { return "post" }
func (*ImageContent) Kind() string        { return "image" }
func (*FileContent) Kind() string         { return "file" }
func (*AudioContent) Kind() string        { return "audio" }
func (*MediaContent) Kind() string        { return "media" }
func (*StickerContent) Kind() string      { return "sticker" }
func (*InteractiveContent) Kind() string  { return "interactive" }
func (*ShareChatContent) Kind() string    { return "share_chat" }
func (*ShareUserContent) Kind() string    { return "share_user" }
func (*MergeForwardContent) Kind() string { return "merge_forward" }
func (*LocationContent) Kind() string     { return "location" }
func (*TodoContent) Kind() string         { return "todo" }
func (*SystemContent) Kind() string       { return "system" }
func (*UnknownContent) Kind() string      { return "unknown" }

func (c *TextContent) PlainText() string         { return c.Text }
func (c *PostContent) PlainText() string         { return paragraphsText(c.Title, c.Content) }
func (c *ImageContent) PlainText() string        { return "[image]" }
func (c *FileContent) PlainText() string         { return "[file: " + c.FileName + "]" }
func (c *AudioContent) PlainText() string        { return "[audio]" }
func (c *MediaContent) PlainText() string        { return "[video: " + c.FileName + "]" }
func (c *StickerContent) PlainText() string      { return "[sticker]" }
func (c *InteractiveContent) PlainText() string  { return paragraphsText(c.Title, c.Elements) }
func (c *ShareChatContent) PlainText() string    { return "[chat: " + c.ChatID + "]" }
func (c *ShareUserContent) PlainText() string    { return "[user: " + c.UserID + "]" }
func (c *MergeForwardContent) PlainText() string { return "[merged messages]" }
func (c *LocationContent) PlainText() string     { return "[location: " + c.Name + "]" }
func (c *TodoContent) PlainText() string         { return c.Summary.PlainText() }
func (c *UnknownContent) PlainText() string      { return "" }

// PlainText is the template with {from_user} and {to_chatters} filled in (names joined by
// ", "), or the divider text.
func (c *SystemContent) PlainText() string {
	if c.Template == "" {
		return c.DividerText.Text
	}
	t := strings.ReplaceAll(c.Template, "{from_user}", strings.Join(c.FromUser, ", "))
	return strings.ReplaceAll(t, "{to_chatters}", strings.Join(c.ToChatters, ", "))
}

// PlainText renders the element: at as its placeholder (or @name), img as [image], media as
// [video], emotion as [SMILE], hr as ---, the others as their text.
func (e *PostElement) PlainText() string {
	switch e.Tag {
	case "a":
		if e.Text == "" {
			return e.Href
		}
	case "at":
		switch {
		case e.UserID == "all":
			return atAll
		case strings.HasPrefix(e.UserID, "@_"):
			return e.UserID
		case e.UserName != "":
			return "@" + e.UserName
		default:
			return "@" + e.UserID
		}
	case "img":
		return "[image]"
	case "media":
		return "[video]"
	case "emotion":
		return "[" + e.EmojiType + "]"
	case "hr":
		return "---"
	}
	return e.Text
}

func paragraphsText(title string, paragraphs [][]PostElement) string {
	var lines []string
	if title != "" {
		lines = append(lines, title)
	}
	for _, p := range paragraphs {
		var b strings.Builder
		for i := range p {
			b.WriteString(p[i].PlainText())
		}
		lines = append(lines, b.String())
	}
	return strings.Join(lines, "\n")
}

// atAll is the placeholder Feishu puts in the text for an @all.
const atAll = "@_all"

// ParseContent parses the message's Content as the model for its MessageType.
func (m *Message) ParseContent() (MessageContent, error) {
	return ParseContent(m.MessageType, m.Content)
}

// PlainText is the content of any message type as text, mention placeholders kept ("" for
// unreadable content).
func (m *Message) PlainText() string {
	c, err := m.ParseContent()
	if err != nil {
		return ""
	}
	return c.PlainText()
}

// TextWithNames is PlainText with each @_user_N replaced by @name and @_all by @all.
func (m *Message) TextWithNames() string {
	t := m.PlainText()
	for _, men := range m.mentionsLongestFirst() {
		name := ""
		if men.Name != "" {
			name = "@" + men.Name
		}
		t = strings.ReplaceAll(t, men.Key, name)
	}
	return strings.ReplaceAll(t, atAll, "@all")
}

// TextWithoutMentions is PlainText without the mention placeholders (and @_all), spaces
// collapsed within each line, trimmed: what the user typed after @bot.
func (m *Message) TextWithoutMentions() string {
	t := m.PlainText()
	for _, men := range m.mentionsLongestFirst() {
		t = strings.ReplaceAll(t, men.Key, "")
	}
	lines := strings.Split(strings.ReplaceAll(t, atAll, ""), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// MentionsBot reports whether the bot with this open_id (from config, or learned from
// im.chat.member.bot.added_v1) is @-mentioned.
func (m *Message) MentionsBot(botOpenID string) bool {
	if botOpenID == "" {
		return false
	}
	for _, men := range m.Mentions {
		if men.ID.OpenID == botOpenID {
			return true
		}
	}
	return false
}

// MentionsAll reports whether the message @-mentions everyone.
func (m *Message) MentionsAll() bool {
	for _, men := range m.Mentions {
		if men.Key == atAll {
			return true
		}
	}
	return strings.Contains(m.PlainText(), atAll)
}

// mentionsLongestFirst is the mentions with a key, longest key first, so @_user_1 never eats
// the start of @_user_10 (an insertion sort: no reflection).
func (m *Message) mentionsLongestFirst() []Mention {
	var ms []Mention
	for _, men := range m.Mentions {
		if men.Key != "" {
			ms = append(ms, men)
		}
	}
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && len(ms[j].Key) > len(ms[j-1].Key); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	return ms
}

// ParseContent parses the message's content; see Message.ParseContent.
func (m *MessageReceive) ParseContent() (MessageContent, error) { return m.Message.ParseContent() }

// MentionsBot reports whether the bot is @-mentioned; see Message.MentionsBot.
func (m *MessageReceive) MentionsBot(botOpenID string) bool { return m.Message.MentionsBot(botOpenID) }
