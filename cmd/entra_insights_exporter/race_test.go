//go:build race

package main

// raceSlowdown widens time bounds: the race detector slows everything
// several times over.
const raceSlowdown = 5
