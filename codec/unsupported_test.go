package codec

import (
	"errors"
	"net"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

type logCfg struct {
	Level string
	out   *os.File
}

// A function travels by reference, but its type is defined on the wire:
// a signature that mentions a channel cannot travel either.
func drain(ch chan int) {
	for range ch {
	}
}

type logSink struct{ lines chan string }

type config struct {
	Name string
	Log  logCfg
}

type args struct {
	Cfg config
}

func TestRefusals(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	x := 1
	type withMu struct {
		N  int
		mu sync.Mutex
	}
	tests := []struct {
		name string
		v    any
		path string
		typ  string
		want []string // in the message besides path and type
	}{
		{"file deep in a struct", args{Cfg: config{Log: logCfg{out: f}}}, ".Cfg.Log.out", "*os.File",
			[]string{"open file", "duplicated descriptor", "processes of this machine", "bytes cannot carry it", "Queue.Put", "send the path"}},
		{"channel", map[string]any{"c": make(chan int)}, `["c"].(chan int)`, "chan int", []string{"channel", "mproc.Queue", "NewPipe"}},
		{"unsafe.Pointer", []any{1, unsafe.Pointer(&x)}, "[1].(unsafe.Pointer)", "unsafe.Pointer", []string{"address"}},
		{"mutex in a struct", &withMu{}, ".mu", "sync.Mutex", []string{"guard nothing", "MarshalCodec"}},
		{"wait group", []sync.WaitGroup{{}}, "[0]", "sync.WaitGroup", []string{"sync.WaitGroup"}},
		{"once", struct{ O *sync.Once }{}, ".O", "sync.Once", nil},
		{"atomic.Value", struct{ V atomic.Value }{}, ".V", "atomic.Value", nil},
		{"listener", struct{ L any }{ln}, ".L.(*net.TCPListener)", "net.TCPListener", []string{"socket", "File method", "as a handle"}},
		{"net.Conn field", struct{ C net.Conn }{}, ".C", "net.Conn", []string{"socket"}},
		{"reflect.Value", []reflect.Value{reflect.ValueOf(1)}, "[0]", "reflect.Value", []string{"v.Interface()"}},
		{"top level channel", make(chan struct{}), "", "chan struct {}", []string{"channel"}},
		{"reflect.Type built at run time", struct{ T reflect.Type }{reflect.StructOf([]reflect.StructField{{Name: "A", Type: reflect.TypeFor[int]()}})},
			".T.(*reflect.rtype)", "reflect.Type", []string{"built at run time", "struct { A int }"}},
		{"function taking a channel", []any{drain}, "[0].(func(chan int))", "func(chan int)",
			[]string{"parameter 1", "chan int", "signature of sendable types"}},
		{"nil func field whose result holds a channel", struct{ Open func() logSink }{}, ".Open", "func() codec.logSink",
			[]string{"result 1", "codec.logSink (at .lines, a chan string)", "channel"}},
		{"runtime.Func", []any{runtime.FuncForPC(reflect.ValueOf(square).Pointer())}, "[0].(*runtime.Func)", "runtime.Func", []string{"travel by reference"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(tc.v)
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("Marshal error = %v, want *UnsupportedError", err)
			}
			if ue.Path != tc.path || !strings.Contains(ue.Type, tc.typ) {
				t.Errorf("Path, Type = %q, %q; want %q, %q", ue.Path, ue.Type, tc.path, tc.typ)
			}
			msg := err.Error()
			for _, w := range append([]string{displayPath(tc.path), tc.typ, "fix:"}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			if ps := Check(tc.v); len(ps) == 0 || ps[0].Path != ue.Path {
				t.Errorf("Check = %v, want its first problem at %q", ps, ue.Path)
			}
			// Encoding into a stream refuses the same way and leaves the
			// stream usable.
			var buf strings.Builder
			enc := NewEncoder(&buf)
			if err := enc.Encode(tc.v); !errors.As(err, &ue) {
				t.Fatalf("Encode error = %v", err)
			}
			if buf.Len() != 0 {
				t.Fatalf("a refused Encode wrote %d bytes", buf.Len())
			}
		})
	}
}

func TestCheckListsEveryProblem(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	base := 2
	type job struct {
		Cfg    config
		Fns    []func() int
		Extra  map[string]any
		Nested *job
		Ok     []int
	}
	v := &job{
		Cfg:   config{Log: logCfg{out: f}},
		Fns:   []func() int{func() int { return 1 }, func() int { return base }},
		Extra: map[string]any{"ch": make(chan int), "fine": 1},
		Ok:    []int{1},
	}
	v.Nested = v // a cycle: walked once
	ps := Check(v)
	var got []string
	for _, p := range ps {
		got = append(got, p.Path+" "+p.Type)
	}
	want := []string{".Cfg.Log.out *os.File", ".Fns[1] func() int", `.Extra["ch"].(chan int) chan int`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Check paths:\n got %q\nwant %q", got, want)
	}
	for _, p := range ps {
		if p.Reason == "" || p.Fix == "" {
			t.Errorf("problem %+v lacks a reason or a fix", p)
		}
	}
	if ps := Check(&job{Cfg: config{Name: "x"}, Ok: []int{1}}); ps != nil {
		t.Fatalf("a nil *os.File travels as nil, but Check = %v", ps)
	}
	if ps := Check(struct{ A []int }{}); ps != nil {
		t.Fatalf("Check of a sendable value = %v", ps)
	}
	// Keys that are not strings, and Problem's String form.
	ps = Check(map[int]any{7: make(chan int)})
	if len(ps) != 1 || ps[0].Path != "[7].(chan int)" {
		t.Fatalf("Check of a map with int keys = %v", ps)
	}
	if s := ps[0].String(); !strings.HasPrefix(s, "[7].(chan int): chan int: a channel") || !strings.Contains(s, "; fix: ") {
		t.Fatalf("Problem.String = %q", s)
	}
	// A method value's receiver is data like any other: Check looks
	// inside it.
	ps = Check([]func() int{chanHolder{make(chan int)}.Len})
	if len(ps) != 1 || ps[0].Path != "[0].(receiver codec.chanHolder).c" || ps[0].Type != "chan int" {
		t.Fatalf("Check of a method value whose receiver holds a channel = %v", ps)
	}
}

func TestRefusedEncodeLeavesStreamUsable(t *testing.T) {
	var buf strings.Builder
	enc := NewEncoder(&buf)
	type withFile struct {
		N int
		F *os.File
	}
	if err := enc.Encode(Point{1, 2}); err != nil {
		t.Fatal(err)
	}
	// A refused value that would have defined new types.
	if err := enc.Encode(map[string]withFile{"stdin": {F: os.Stdin}}); err == nil {
		t.Fatal("want a refusal")
	}
	if err := enc.Encode([]any{Point{3, 4}, "s", func() {}}); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(Point{5, 6}); err != nil {
		t.Fatal(err)
	}
	dec := NewDecoder(strings.NewReader(buf.String()))
	var p Point
	var s []any
	for i, dst := range []any{&p, &s, &p} {
		if err := dec.Decode(dst); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if p != (Point{5, 6}) || s[0].(Point) != (Point{3, 4}) || s[1] != "s" {
		t.Fatalf("decoded %v %v", p, s)
	}
}

// Run-time panics reach the pool as values: the plain ones travel, one
// holding type descriptors is refused with its path.
func TestRuntimePanicValues(t *testing.T) {
	catch := func(f func()) (r any) {
		defer func() { r = recover() }()
		f()
		return nil
	}
	var s []int
	var m map[string]int
	var x any = 1
	for _, tc := range []struct {
		name string
		v    any
		path string // "" when it must travel
	}{
		{"index out of range", catch(func() { _ = s[3] }), ""},
		{"nil map", catch(func() { m["a"] = 1 }), ""},
		{"type assertion", catch(func() { _ = x.(string) }), "._interface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Marshal(tc.v)
			if tc.path != "" {
				var ue *UnsupportedError
				if !errors.As(err, &ue) || ue.Path != tc.path {
					t.Fatalf("Marshal: %v, want a refusal at %s", err, tc.path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out error
			if err := Unmarshal(data, &out); err != nil || out.Error() != tc.v.(error).Error() {
				t.Fatalf("got %v, %v; want %v", out, err, tc.v)
			}
		})
	}
}

type chanHolder struct{ c chan int }

func (h chanHolder) Len() int { return len(h.c) }
