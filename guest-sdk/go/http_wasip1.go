//go:build wasip1

// The canonical-ABI glue of the outbound HTTP import (world aviary:handler/handler@0.1.0):
//
//	import $root.http-send(method, url, headers: string, body: list<u8>)
//	  -> result<tuple<u16, string, list<u8>>, string>
//
// lowers to 8 i32 parameters ((ptr, len) each) and a pointer to a 24-byte return area: u8
// discriminant at 0; ok: u16 status at 4, headers (ptr, len) at 8 and 12, body (ptr, len) at 16
// and 20; err: message (ptr, len) at 4 and 8. The host writes the answer into the argument arena
// (through the injected cabi_realloc, see host_wasip1.go); it is copied out and the arena reset,
// so an answer must fit in the arena (4 MiB by default, `--arena-mib`).

package aviary

import "unsafe"

//go:wasmimport $root http-send
func wasmHTTPSend(mPtr unsafe.Pointer, mLen uint32, uPtr unsafe.Pointer, uLen uint32,
	hPtr unsafe.Pointer, hLen uint32, bPtr unsafe.Pointer, bLen uint32, ret unsafe.Pointer)

// HTTPSend sends one request through the host's http-send import: headers are `name: value`
// lines separated by "\n". It returns the answer's status, header block and body, or a
// *HostError with the host's reason when there is no answer. Use package httpclient for a
// net/http client over it.
func HTTPSend(method, url, headers string, body []byte) (int, string, []byte, error) {
	var area [6]uint32
	var bodyPtr unsafe.Pointer
	if len(body) > 0 {
		bodyPtr = unsafe.Pointer(unsafe.SliceData(body))
	}
	wasmHTTPSend(
		unsafe.Pointer(unsafe.StringData(method)), uint32(len(method)),
		unsafe.Pointer(unsafe.StringData(url)), uint32(len(url)),
		unsafe.Pointer(unsafe.StringData(headers)), uint32(len(headers)),
		bodyPtr, uint32(len(body)),
		unsafe.Pointer(&area))
	defer argArenaReset()
	if area[0]&0xff != 0 {
		return 0, "", nil, &HostError{Message: liftString(area[1], area[2])}
	}
	status := int(area[1] & 0xffff)
	block := liftString(area[2], area[3])
	var out []byte
	if area[5] > 0 {
		src := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), uintptr(area[4]))), area[5])
		out = append([]byte(nil), src...)
	}
	return status, block, out, nil
}
