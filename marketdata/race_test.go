//go:build race

package marketdata

const raceEnabled = true
