package aviary

// The static arenas the injected raw-wasm allocators work over (see host_wasip1.go).
//
// Each descriptor starts with 16 magic bytes by which `aviary guest build` finds it in the data
// section; the layout (little-endian u32 words) is:
//
//	0..16  magic
//	16     size of the arena in bytes
//	20     bump offset (the allocator advances it; Go resets it to 0)
//	24     the offset a refused request needed (diagnostics)
//	28     unused
//	32     the arena's address (a pointer: 8 bytes in Go, 4 in TinyGo; low 4 bytes read)
//
// The argument arena receives each event's strings and config-get answers; an event larger
// than ArgArenaSize is refused (the call traps in `aviary_argument_arena_full_<size>`, which
// the runtime reports as such). Its size is chosen at build time with build tags (see
// arena_size_*.go; `aviary guest build --arena-mib`). The adapter arena holds the WASI
// adapter's state; it is allocated once per instance. Both are bss: they cost no file size,
// only untouched (zero-on-demand) pages of linear memory.

// AdapterArenaSize is the size of the WASI adapter's arena.
const AdapterArenaSize = 256 << 10

type arenaDesc struct {
	magic [4]uint32
	size  uint32
	pos   uint32
	need  uint32
	_     uint32
	base  *byte
}

var argArena [ArgArenaSize]byte
var adapterArena [AdapterArenaSize]byte

// "AVIARY-ARGARENA!" and "AVIARY-ADPARENA!" as little-endian words.
var argDesc = arenaDesc{
	magic: [4]uint32{0x41495641, 0x412d5952, 0x52414752, 0x21414e45},
	size:  ArgArenaSize,
	base:  &argArena[0],
}

var adapterDesc = arenaDesc{
	magic: [4]uint32{0x41495641, 0x412d5952, 0x52415044, 0x21414e45},
	size:  AdapterArenaSize,
	base:  &adapterArena[0],
}

// arenaDescs keeps both descriptors reachable (no Go code reads the adapter's), so that the
// linker keeps them in the data section.
var arenaDescs = [2]*arenaDesc{&argDesc, &adapterDesc}

func argArenaReset() { arenaDescs[0].pos = 0 }
