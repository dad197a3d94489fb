package aviary

// HostError is the host's reason why a host call has no answer (for HTTPSend: a denial naming
// the handler and the manifest key, a timeout, an answer over the size limit, a connection
// failure).
type HostError struct {
	Message string
}

func (e *HostError) Error() string { return e.Message }
