//go:build wasip1

// The canonical-ABI glue for the world aviary:handler/handler@0.1.0, written by hand.
//
// Lowered signatures (all values i32):
//
//	export handle(16 flat params: 7 strings as (ptr, len), kind, attempt, envelope) -> ptr
//	  to a 12-byte return area: u8 discriminant at 0, payload string (ptr, len) at 4 and 8
//	import $root.log(level, ptr, len)
//	import $root.config-get(ptr, len, retptr): option<string> at retptr like the return area
//
// The host writes the event's strings (and config-get's answer) into memory it obtains from
// the module's cabi_realloc. That function must not run Go code (the Go runtime cannot be
// entered from there: it may grow the heap, which calls out of the instance, which the
// canonical ABI forbids inside cabi_realloc). `aviary guest build` therefore injects
// cabi_realloc (and cabi_realloc_adapter, for the WASI adapter) as raw-wasm bump allocators
// over the static arenas of arena.go, which it finds by their descriptors' magic words, and
// replaces the import aviary:build.abort with an `unreachable` instruction.

package aviary

import "unsafe"

//go:wasmimport $root log
func wasmLog(level uint32, ptr unsafe.Pointer, n uint32)

//go:wasmimport $root config-get
func wasmConfigGet(ptr unsafe.Pointer, n uint32, ret unsafe.Pointer)

//go:wasmimport aviary:build abort
func wasmAbort()

// The return area of handle (and of config-get): [discriminant, ptr, len].
var retArea [3]uint32

// The string handle returned last, kept alive until the next call.
var retKeep string

func hostLog(level Level, message string) {
	wasmLog(uint32(level), unsafe.Pointer(unsafe.StringData(message)), uint32(len(message)))
}

// ConfigGet reads key from the handler's [handler.config]; use package config.
func ConfigGet(key string) (string, bool) {
	var area [3]uint32
	wasmConfigGet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)), unsafe.Pointer(&area))
	if area[0]&0xff == 0 {
		return "", false
	}
	v := liftString(area[1], area[2])
	argArenaReset()
	return v, true
}

func abort() { wasmAbort() }

// liftString copies a string the host wrote into the arena.
func liftString(ptr, n uint32) string {
	if n == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), uintptr(ptr))), n))
}

//go:wasmexport handle
func wasmHandle(dedupePtr, dedupeLen, idPtr, idLen, typePtr, typeLen, kind,
	appPtr, appLen, tenantPtr, tenantLen, ctPtr, ctLen, attempt, envPtr, envLen uint32) uint32 {
	ev := Event{
		DedupeID:   liftString(dedupePtr, dedupeLen),
		EventID:    liftString(idPtr, idLen),
		EventType:  liftString(typePtr, typeLen),
		Kind:       Kind(kind),
		AppID:      liftString(appPtr, appLen),
		TenantKey:  liftString(tenantPtr, tenantLen),
		CreateTime: liftString(ctPtr, ctLen),
		Attempt:    attempt,
		Envelope:   liftString(envPtr, envLen),
	}
	// Everything is copied: the arena is free for the next call (and for config-get).
	argArenaReset()
	out := call(ev)
	retKeep = out.Body
	retArea[0] = uint32(out.Kind)
	retArea[1] = 0
	retArea[2] = 0
	if out.Kind != OutcomeDone {
		retArea[1] = uint32(uintptr(unsafe.Pointer(unsafe.StringData(retKeep))))
		retArea[2] = uint32(len(retKeep))
	}
	return uint32(uintptr(unsafe.Pointer(&retArea)))
}
