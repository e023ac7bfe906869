package mproc

// Counters for the chaos tests.
var (
	Duplicates = &duplicates
	Retried    = &retried
)
