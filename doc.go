// Package mproc runs ordinary Go functions in worker processes of the same
// binary: multiprocessing for Go.
package mproc
