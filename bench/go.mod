module github.com/mproc-go/mproc/bench

go 1.26.0

require (
	github.com/mproc-go/mproc v0.0.0-00010101000000-000000000000
	github.com/vmihailenco/msgpack/v5 v5.4.1
	golang.org/x/sys v0.49.0
)

require github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect

replace github.com/mproc-go/mproc => ../
