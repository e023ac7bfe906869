package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

type Shape interface{ Area() float64 }

type Square struct{ Side float64 }

func (s Square) Area() float64 { return s.Side * s.Side }

type Circle struct{ r float64 }

func (c *Circle) Area() float64 { return 3 * c.r * c.r }

func TestRoundTripInterfaces(t *testing.T) {
	type holder struct {
		Any    any
		Shapes []Shape
		Err    error
		Nested any
	}
	in := holder{
		Any:    Point{3, 4},
		Shapes: []Shape{Square{2}, &Circle{1}, nil},
		Err:    &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist},
		Nested: []any{map[string]any{"k": Celsius(1.5)}, int8(-3)},
	}
	got := roundTrip(t, in)
	if p, ok := got.Any.(Point); !ok || p != (Point{3, 4}) {
		t.Errorf("Any = %#v, want Point{3, 4}", got.Any)
	}
	if s, ok := got.Shapes[0].(Square); !ok || s.Area() != 4 {
		t.Errorf("Shapes[0] = %#v", got.Shapes[0])
	}
	if c, ok := got.Shapes[1].(*Circle); !ok || c.Area() != 3 {
		t.Errorf("Shapes[1] = %#v", got.Shapes[1])
	}
	if got.Shapes[2] != nil {
		t.Errorf("Shapes[2] = %#v, want nil", got.Shapes[2])
	}
	var pe *fs.PathError
	if !errors.As(got.Err, &pe) || pe.Path != "/x" || pe.Err.Error() != fs.ErrNotExist.Error() {
		t.Errorf("Err = %#v", got.Err)
	}
	if !reflect.DeepEqual(got.Nested, in.Nested) {
		t.Errorf("Nested = %#v, want %#v", got.Nested, in.Nested)
	}
}

func TestRoundTripTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatalf("tzdata: %v", err)
	}
	now := time.Now()
	tests := []struct {
		name    string
		in      time.Time
		locName string
	}{
		{"zero", time.Time{}, "UTC"},
		{"utc", time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC), "UTC"},
		{"local with monotonic reading", now, "Local"},
		{"named zone", time.Date(2030, 7, 1, 12, 0, 0, 5, paris), "Europe/Paris"},
		{"fixed zone", time.Date(1969, 1, 1, 0, 0, 0, 0, time.FixedZone("XYZ", -3*3600-1800)), "XYZ"},
		{"far future", time.Date(9999, 12, 31, 0, 0, 0, 1, time.UTC), "UTC"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := roundTrip(t, tc.in)
			if !got.Equal(tc.in) {
				t.Errorf("instant %v, want %v", got, tc.in)
			}
			if got.Location().String() != tc.locName {
				t.Errorf("location %q, want %q", got.Location(), tc.locName)
			}
			_, o1 := got.Zone()
			_, o2 := tc.in.Zone()
			if o1 != o2 {
				t.Errorf("zone offset %d, want %d", o1, o2)
			}
			if got.String() != tc.in.Round(0).String() {
				t.Errorf("String %q, want %q (monotonic reading dropped)", got, tc.in.Round(0))
			}
		})
	}
	if d := roundTrip(t, 90*time.Minute); d != 90*time.Minute {
		t.Errorf("Duration = %v", d)
	}
	if got := roundTrip(t, time.UTC); got != time.UTC {
		t.Errorf("*time.Location UTC = %v", got)
	}
}

type stateful struct {
	Keep  string
	cache map[string]int
	f     *os.File
	log   []string // filled by the hooks, to see them called
}

func (s *stateful) MarshalCodec() (any, error) { return [2]string{s.Keep, "v2"}, nil }

func (s *stateful) UnmarshalCodec(state any) error {
	st, ok := state.([2]string)
	if !ok {
		return fmt.Errorf("state is %T", state)
	}
	s.Keep = st[0]
	s.log = append(s.log, "restored "+st[1])
	return nil
}

type textOnly struct{ a, b string }

func (t textOnly) MarshalText() ([]byte, error) { return []byte(t.a + "|" + t.b), nil }
func (t *textOnly) UnmarshalText(b []byte) error {
	a, bb, ok := strings.Cut(string(b), "|")
	if !ok {
		return errors.New("no separator")
	}
	t.a, t.b = a, bb
	return nil
}

type failing struct{}

func (failing) MarshalBinary() ([]byte, error)  { return nil, errors.New("disk on fire") }
func (*failing) UnmarshalBinary(b []byte) error { return nil }

func TestRoundTripMarshalers(t *testing.T) {
	bi, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	bf := new(big.Float).SetPrec(200).SetFloat64(1.5)
	br := big.NewRat(-3, 7)
	if got := roundTrip(t, bi); got.Cmp(bi) != 0 {
		t.Errorf("big.Int = %v", got)
	}
	if got := roundTrip(t, *bi); got.Cmp(bi) != 0 {
		t.Errorf("big.Int value = %v", &got)
	}
	if got := roundTrip(t, bf); got.Cmp(bf) != 0 || got.Prec() != 200 {
		t.Errorf("big.Float = %v prec %d", got, got.Prec())
	}
	if got := roundTrip(t, br); got.Cmp(br) != 0 {
		t.Errorf("big.Rat = %v", got)
	}
	addr := netip.MustParseAddrPort("[::1]:8080")
	if got := roundTrip(t, addr); got != addr {
		t.Errorf("netip.AddrPort (BinaryMarshaler) = %v", got)
	}
	if got := roundTrip(t, textOnly{"x", "y"}); got != (textOnly{"x", "y"}) {
		t.Errorf("TextMarshaler = %#v", got)
	}
	// The hook: state chosen by the type; the file and the cache stay home.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := roundTrip(t, &stateful{Keep: "k", cache: map[string]int{"x": 1}, f: f})
	if got.Keep != "k" || got.cache != nil || got.f != nil || len(got.log) != 1 || got.log[0] != "restored v2" {
		t.Errorf("hook round trip = %+v", got)
	}
	if ps := Check(&stateful{f: f}); len(ps) != 0 {
		t.Errorf("Check of a type with hooks looks at its state only, got %v", ps)
	}
	// A marshaler's error is returned, naming the type and method.
	_, err = Marshal(failing{})
	if err == nil || !strings.Contains(err.Error(), "codec.failing).MarshalBinary: disk on fire") {
		t.Errorf("Marshal(failing) error = %v", err)
	}
}

type embedsTime struct {
	time.Time
	Note string
}

func TestPromotedMarshalerDoesNotLoseFields(t *testing.T) {
	in := embedsTime{time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC), "kept"}
	got := roundTrip(t, in)
	if got.Note != "kept" || !got.Time.Equal(in.Time) {
		t.Fatalf("got %+v, want %+v", got, in)
	}
}

type leakyHook struct{ ch chan int }

func (l leakyHook) MarshalCodec() (any, error) { return struct{ C chan int }{l.ch}, nil }
func (l *leakyHook) UnmarshalCodec(any) error  { return nil }

type pickyHook struct{ N int }

func (p pickyHook) MarshalCodec() (any, error) { return p.N, nil }
func (p *pickyHook) UnmarshalCodec(state any) error {
	if state.(int) < 0 {
		return errors.New("negative state")
	}
	p.N = state.(int)
	return nil
}

func TestHookErrors(t *testing.T) {
	// State that cannot travel is reported under the hook's path.
	_, err := Marshal(struct{ H leakyHook }{leakyHook{make(chan int)}})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Path != ".H.MarshalCodec().C" || ue.Type != "chan int" {
		t.Fatalf("Marshal of a hook returning a channel: %v", err)
	}
	// UnmarshalCodec's error is returned, naming the type.
	data, err := Marshal(pickyHook{-1})
	if err != nil {
		t.Fatal(err)
	}
	var p pickyHook
	err = Unmarshal(data, &p)
	if err == nil || !strings.Contains(err.Error(), "(codec.pickyHook).UnmarshalCodec: negative state") {
		t.Fatalf("UnmarshalCodec error: %v", err)
	}
	if got := roundTrip(t, pickyHook{7}); got.N != 7 {
		t.Fatalf("hook round trip: %+v", got)
	}
}

func TestRegisterRefusesClosures(t *testing.T) {
	n := 1
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "captures variables") || !strings.Contains(fmt.Sprint(r), "top-level function") {
			t.Fatalf("Register(closure) panic = %v", r)
		}
	}()
	Register(func() int { return n })
}

func TestRoundTripReflectType(t *testing.T) {
	isolateRegistry(t)
	type holder struct {
		T     reflect.Type
		Types []reflect.Type
		Nil   reflect.Type
	}
	in := holder{T: reflect.TypeFor[Point](), Types: []reflect.Type{reflect.TypeFor[map[string][]int](), reflect.TypeFor[*Circle](), reflect.TypeFor[error]()}}
	got := roundTrip(t, in)
	if got.T != in.T || got.Nil != nil {
		t.Fatalf("T = %v, Nil = %v", got.T, got.Nil)
	}
	for i := range in.Types {
		if got.Types[i] != in.Types[i] {
			t.Errorf("Types[%d] = %v, want %v (the same descriptor)", i, got.Types[i], in.Types[i])
		}
	}
	if reflect.New(got.T).Elem().Interface().(Point) != (Point{}) {
		t.Error("a decoded type does not work")
	}
	// Strict mode resolves registered named types only.
	data, _ := Marshal(reflect.TypeFor[Point]())
	var out reflect.Type
	err := NewDecoder(bytes.NewReader(data), Strict()).Decode(&out)
	if err == nil || !strings.Contains(err.Error(), "codec.Point") || !strings.Contains(err.Error(), "Register") {
		t.Fatalf("unregistered type in Strict mode: %v", err)
	}
	Register(Point{})
	if err := NewDecoder(bytes.NewReader(data), Strict()).Decode(&out); err != nil || out != reflect.TypeFor[Point]() {
		t.Fatalf("registered type in Strict mode: %v, %v", out, err)
	}
}
