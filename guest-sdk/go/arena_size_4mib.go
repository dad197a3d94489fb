//go:build !aviary_arena_1mib && !aviary_arena_16mib && !aviary_arena_64mib

package aviary

// ArgArenaSize is the size of the argument arena: the largest event (all its strings together)
// this build accepts. This is the default; see arena.go.
const ArgArenaSize = 4 << 20
