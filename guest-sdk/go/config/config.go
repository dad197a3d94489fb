// Package config reads the handler's settings from [handler.config] in the Aviary manifest.
package config

import "aviary.local/aviary"

// Get returns the value of key in this handler's [handler.config], and whether it is set.
func Get(key string) (string, bool) { return aviary.ConfigGet(key) }

// GetOr returns the value of key, or def when it is not set.
func GetOr(key, def string) string {
	if v, ok := aviary.ConfigGet(key); ok {
		return v
	}
	return def
}
