package feishu

import (
	"encoding/json"
	"fmt"

	"aviary.local/aviary"
)

// Upload posts a multipart form to path (a granted /open-apis/… path): the text fields of
// form and one file part named fileField holding data as fileName. It returns the answer's
// body (JSON text) when Feishu answered 2xx with code 0. The host adds the token and checks
// the grant as for Request; the file is at most 30 MiB.
func Upload(path string, form map[string]string, fileField, fileName string, data []byte) (string, error) {
	if form == nil {
		form = map[string]string{}
	}
	fields, err := json.Marshal(form)
	if err != nil {
		return "", fmt.Errorf("cannot encode the form fields: %w", err)
	}
	return aviary.FeishuUpload(path, string(fields), fileField, fileName, data)
}

// UploadImage uploads an image (JPEG, PNG, WEBP, GIF, TIFF, BMP, ICO; at most 10 MB) for
// messages (imageType "message") or avatars ("avatar") and returns its image_key, for an
// "image" message or a card. Granted by `POST /open-apis/im/v1/images`.
func UploadImage(data []byte, imageType string) (string, error) {
	if imageType == "" {
		imageType = "message"
	}
	return uploadKey("/open-apis/im/v1/images", map[string]string{"image_type": imageType}, "image", "image", data, "image_key")
}

// UploadFile uploads a file (at most 30 MB) of fileType ("opus", "mp4", "pdf", "doc", "xls",
// "ppt" or "stream" for anything else) named fileName and returns its file_key, for a "file",
// "audio" or "media" message. Granted by `POST /open-apis/im/v1/files`.
func UploadFile(data []byte, fileType, fileName string) (string, error) {
	return uploadKey("/open-apis/im/v1/files", map[string]string{"file_type": fileType, "file_name": fileName}, "file", fileName, data, "file_key")
}

func uploadKey(path string, form map[string]string, field, name string, data []byte, key string) (string, error) {
	text, err := Upload(path, form, field, name, data)
	if err != nil {
		return "", err
	}
	var answer map[string]any
	if err := json.Unmarshal([]byte(text), &answer); err != nil {
		return "", fmt.Errorf("POST %s: the answer is not JSON: %w", path, err)
	}
	return dataString(answer, key)
}
