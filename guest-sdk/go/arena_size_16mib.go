//go:build aviary_arena_16mib

package aviary

// ArgArenaSize is the size of the argument arena: the largest event (all its strings together)
// this build accepts.
const ArgArenaSize = 16 << 20
