//go:build race

package lstm

// raceEnabled: the race detector's sync.Pool drops pooled items at random,
// so allocation counts mean nothing under -race.
const raceEnabled = true
