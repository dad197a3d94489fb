//go:build aviary_arena_64mib

package aviary

// ArgArenaSize is the size of the argument arena: the largest event (all its strings together)
// this build accepts.
const ArgArenaSize = 64 << 20
