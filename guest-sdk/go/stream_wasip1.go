//go:build wasip1

// The canonical-ABI glue of the streamed-card imports (see host_wasip1.go for the rest).
//
// Lowered signatures (all values i32):
//
//	import $root.card-stream-set(card ptr, len, element ptr, len, content ptr, len, retptr)
//	  -> result<_, string> at retptr: discriminant byte at 0, the error string at 4 and 8
//	import $root.card-stream-flush(card ptr, len, retptr)
//	  -> result<u32, string> at retptr: discriminant byte at 0, the u32 (ok) or the error
//	     string (ptr, len) at 4 and 8

package aviary

import (
	"errors"
	"runtime"
	"unsafe"
)

//go:wasmimport $root card-stream-set
func wasmCardStreamSet(cp unsafe.Pointer, cl uint32, ep unsafe.Pointer, el uint32, tp unsafe.Pointer, tl uint32, ret unsafe.Pointer)

//go:wasmimport $root card-stream-flush
func wasmCardStreamFlush(cp unsafe.Pointer, cl uint32, ret unsafe.Pointer)

// CardStreamSet hands the whole text of a streamed card's element to the host; use
// feishu.CardStream.
func CardStreamSet(cardID, elementID, content string) error {
	var area [3]uint32
	cp, cl := strPtr(cardID)
	ep, el := strPtr(elementID)
	tp, tl := strPtr(content)
	wasmCardStreamSet(cp, cl, ep, el, tp, tl, unsafe.Pointer(&area))
	runtime.KeepAlive(cardID)
	runtime.KeepAlive(elementID)
	runtime.KeepAlive(content)
	if area[0]&0xff == 0 {
		return nil
	}
	msg := liftString(area[1], area[2])
	argArenaReset()
	return errors.New(msg)
}

// CardStreamFlush waits until a streamed card's last text has landed; use feishu.CardStream.
func CardStreamFlush(cardID string) (uint32, error) {
	var area [3]uint32
	cp, cl := strPtr(cardID)
	wasmCardStreamFlush(cp, cl, unsafe.Pointer(&area))
	runtime.KeepAlive(cardID)
	if area[0]&0xff == 0 {
		return area[1], nil
	}
	msg := liftString(area[1], area[2])
	argArenaReset()
	return 0, errors.New(msg)
}
