package collector

// The golden expositions in testdata/ are rewritten by TestGolden -update.
//go:generate go test -run TestGolden -update .
