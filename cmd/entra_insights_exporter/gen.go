package main

// The generated sections of README.md are rewritten by TestREADMEIsCurrent -update.
//go:generate go test -run TestREADMEIsCurrent -update .
