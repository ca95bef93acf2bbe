package logs

// testdata/logs.prom is rewritten by TestGoldenLogsExposition -update.
//go:generate go test -run TestGoldenLogsExposition -update .
