package codec

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
	"unique"
)

// Case 3 of issue 12: a log/slog.Value holding a string came back reading
// past a 1-byte copy. Values, Attrs and Records now travel by their meaning.
func TestSlogRoundTrip(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	vals := []slog.Value{
		slog.StringValue("hello, world"), slog.StringValue(""), slog.IntValue(-3), slog.Uint64Value(1 << 63),
		slog.Float64Value(2.5), slog.BoolValue(true), slog.DurationValue(time.Second), slog.TimeValue(when),
		slog.GroupValue(slog.String("k", "v"), slog.Int("n", 1)), slog.AnyValue(Point{1, 2}), {},
	}
	got := roundTrip(t, vals)
	for i, v := range vals {
		if !got[i].Equal(v) || got[i].Kind() != v.Kind() || got[i].String() != v.String() {
			t.Errorf("value %d: decoded %v (%v), want %v (%v)", i, got[i], got[i].Kind(), v, v.Kind())
		}
	}
	attr := roundTrip(t, slog.String("msg", "a longer string than one byte"))
	if attr.Key != "msg" || attr.Value.String() != "a longer string than one byte" {
		t.Errorf("decoded attr %v", attr)
	}
	r := slog.NewRecord(when, slog.LevelWarn, "disk low", 0)
	for i := range 7 { // past the Record's inline attributes
		r.AddAttrs(slog.Int("i", i))
	}
	r.AddAttrs(slog.Group("g", slog.String("s", "x")))
	gr := roundTrip(t, r)
	var b1, b2 strings.Builder
	slog.New(slog.NewTextHandler(&b1, nil)).Handler().Handle(context.Background(), r)
	slog.New(slog.NewTextHandler(&b2, nil)).Handler().Handle(context.Background(), gr)
	if b1.String() != b2.String() || gr.NumAttrs() != 8 {
		t.Errorf("decoded record logs %q, want %q", b2.String(), b1.String())
	}
}

func TestBuiltinStdTypes(t *testing.T) {
	sb := new(strings.Builder)
	sb.WriteString("abc")
	gb := roundTrip(t, sb)
	gb.WriteString("d") // a field-by-field copy would panic here
	if gb.String() != "abcd" {
		t.Errorf("decoded builder holds %q", gb.String())
	}
	re := regexp.MustCompile(`a+|a+b`)
	re.Longest()
	gre := roundTrip(t, re)
	if gre.String() != re.String() || gre.FindString("aab") != "aab" {
		t.Errorf("decoded regexp %v finds %q, want the longest match aab", gre, gre.FindString("aab"))
	}
	if g := roundTrip(t, regexp.MustCompile(`a+|a+b`)); g.FindString("aab") != "aa" {
		t.Errorf("decoded leftmost-first regexp finds %q", g.FindString("aab"))
	}
	type ips struct {
		A  netip.Addr
		P  netip.Prefix
		AP netip.AddrPort
		Z  netip.Addr
	}
	in := ips{netip.MustParseAddr("fe80::1%eth0"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParseAddrPort("1.2.3.4:80"), netip.Addr{}}
	if got := roundTrip(t, in); got != in {
		t.Errorf("decoded %v, want %v", got, in)
	}
	_, err := Marshal(unique.Make("x"))
	var ue *UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "a unique.Handle points into this process's table of canonical values") ||
		!strings.Contains(err.Error(), "fix: send h.Value() and call unique.Make in the worker") {
		t.Errorf("Marshal(unique.Handle) = %v", err)
	}
}
