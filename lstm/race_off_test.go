//go:build !race

package lstm

// raceEnabled: see race_on_test.go.
const raceEnabled = false
