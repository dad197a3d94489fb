//go:build wasip1

// The canonical-ABI glue of the OpenAPI imports (see host_wasip1.go for the rest of the world).
//
// Lowered signatures (all values i32):
//
//	import $root.feishu-request(method ptr, len, path ptr, len, body ptr, len, retptr)
//	import $root.feishu-upload(path ptr, len, form ptr, len, field ptr, len, name ptr, len,
//	                           bytes ptr, len, retptr)
//
// Both return result<string, string> in a 12-byte area at retptr: the discriminant (0 ok,
// 1 err) in the byte at 0 and the string (ptr, len) at 4 and 8. The host writes that string
// into the argument arena (through the injected cabi_realloc); it is copied out and the arena
// reset before the call returns to Go code that could allocate.

package aviary

import (
	"errors"
	"runtime"
	"unsafe"
)

//go:wasmimport $root feishu-request
func wasmFeishuRequest(mp unsafe.Pointer, ml uint32, pp unsafe.Pointer, pl uint32, bp unsafe.Pointer, bl uint32, ret unsafe.Pointer)

//go:wasmimport $root feishu-upload
func wasmFeishuUpload(pp unsafe.Pointer, pl uint32, fp unsafe.Pointer, fl uint32, fieldp unsafe.Pointer, fieldl uint32, np unsafe.Pointer, nl uint32, bp unsafe.Pointer, bl uint32, ret unsafe.Pointer)

func strPtr(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

// liftResult reads a result<string, string> return area.
func liftResult(area *[3]uint32) (string, error) {
	s := liftString(area[1], area[2])
	argArenaReset()
	if area[0]&0xff == 0 {
		return s, nil
	}
	return "", errors.New(s)
}

// FeishuRequest calls the Feishu OpenAPI through the host; use package feishu.
func FeishuRequest(method, path, body string) (string, error) {
	var area [3]uint32
	mp, ml := strPtr(method)
	pp, pl := strPtr(path)
	bp, bl := strPtr(body)
	wasmFeishuRequest(mp, ml, pp, pl, bp, bl, unsafe.Pointer(&area))
	runtime.KeepAlive(method)
	runtime.KeepAlive(path)
	runtime.KeepAlive(body)
	return liftResult(&area)
}

// FeishuUpload uploads a file to the Feishu OpenAPI through the host; use package feishu.
func FeishuUpload(path, form, fileField, fileName string, data []byte) (string, error) {
	var area [3]uint32
	pp, pl := strPtr(path)
	fp, fl := strPtr(form)
	fieldp, fieldl := strPtr(fileField)
	np, nl := strPtr(fileName)
	var bp unsafe.Pointer
	if len(data) > 0 {
		bp = unsafe.Pointer(&data[0])
	}
	wasmFeishuUpload(pp, pl, fp, fl, fieldp, fieldl, np, nl, bp, uint32(len(data)), unsafe.Pointer(&area))
	runtime.KeepAlive(path)
	runtime.KeepAlive(form)
	runtime.KeepAlive(fileField)
	runtime.KeepAlive(fileName)
	runtime.KeepAlive(data)
	return liftResult(&area)
}
