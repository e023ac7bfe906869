package codec

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

type sliceCycle []sliceCycle

// Case 4 of issue 12: a cycle made only of slices.
func TestSliceOnlyCycle(t *testing.T) {
	r := sliceCycle{nil, nil}
	r[0] = r
	got := roundTrip(t, r)
	if len(got) != 2 || len(got[0]) != 2 || &got[0][0] != &got[0] || got[1] != nil {
		t.Fatalf("decoded cycle: len %d, r[0] is r: %v", len(got), len(got) == 2 && &got[0][0] == &got[0])
	}
	if ps := Check(r); ps != nil {
		t.Errorf("Check of a slice cycle = %v", ps)
	}
	data, _ := Marshal(r)
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil || !strings.Contains(sb.String(), "=&0") {
		t.Errorf("Dis of a slice cycle (%v):\n%s", err, sb.String())
	}
}

// Case 6 of issue 12: Marshal(&iface) decodes into &iface2.
func TestPointerToInterfaceDecodesIntoInterface(t *testing.T) {
	var err error = io.ErrUnexpectedEOF
	data, e := Marshal(&err)
	if e != nil {
		t.Fatal(e)
	}
	var err2 error
	if e := Unmarshal(data, &err2); e != nil {
		t.Fatalf("Unmarshal(&err) into &err2: %v", e)
	}
	if !errors.Is(err2, io.ErrUnexpectedEOF) {
		t.Errorf("err2 = %v, want io.ErrUnexpectedEOF", err2)
	}
	var a any = 42
	data, _ = Marshal(&a)
	var a2 any
	if e := Unmarshal(data, &a2); e != nil || a2 != 42 {
		t.Errorf("Marshal(&a) into &a2: %v (%T), %v; want 42 as gob gives it", a2, a2, e)
	}
	// Not a pointer to the destination's interface type: as before.
	n := 3
	data, _ = Marshal(&n)
	if e := Unmarshal(data, &a2); e != nil || *a2.(*int) != 3 {
		t.Errorf("Marshal(&n) into an any: %v (%T), %v", a2, a2, e)
	}
}

// Case 7 of issue 12: unnamed struct types inside interfaces keep their
// tags, and their unexported fields from the same build.
func TestUnnamedStructsInInterfaces(t *testing.T) {
	tagged := struct {
		F string `json:"f"`
	}{"x"}
	got := roundTrip(t, any(tagged))
	if got != any(tagged) {
		t.Errorf("decoded %#v (%T), want %#v", got, got, tagged)
	}
	// In Strict mode too, from its description: the tags travel.
	data, err := Marshal(any(tagged))
	if err != nil {
		t.Fatal(err)
	}
	var a any
	if err := NewDecoder(strings.NewReader(string(data)), Strict()).Decode(&a); err != nil || a != any(tagged) {
		t.Errorf("strict decode of a tagged unnamed struct: %#v, %v", a, err)
	}
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil || !strings.Contains(sb.String(), `field                F #18 string tag "json:\"f\"" (exported)`) {
		t.Errorf("Dis of a tagged struct (%v):\n%s", err, sb.String())
	}
	private := struct{ a, b int }{1, 2}
	got = roundTrip(t, []any{private})[0]
	if got != any(private) {
		t.Errorf("decoded %#v, want %#v", got, private)
	}
}

// Case 8 of issue 12: a time in a fixed zone keeps its offset, even when
// the zone's name is one the zone database knows.
func TestFixedZoneKeepsOffset(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	summer := time.Date(2026, 7, 1, 12, 0, 0, 0, cet)
	type job struct {
		T   time.Time
		Loc *time.Location
	}
	got := roundTrip(t, job{summer, cet})
	if name, off := got.T.Zone(); name != "CET" || off != 3600 || !got.T.Equal(summer) || got.T.Hour() != 12 {
		t.Errorf("decoded %v (zone %s %d), want %v", got.T, name, off, summer)
	}
	if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, got.Loc).Zone(); off != 3600 {
		t.Errorf("decoded location has offset %d in summer, want 3600", off)
	}
	// A zone of the database still decodes as itself.
	if paris, err := time.LoadLocation("Europe/Paris"); err == nil {
		w := time.Date(2026, 1, 1, 12, 0, 0, 0, paris)
		g := roundTrip(t, job{w, paris})
		if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, g.Loc).Zone(); off != 7200 || g.T.Location().String() != "Europe/Paris" {
			t.Errorf("Europe/Paris decoded with summer offset %d, location %s", off, g.T.Location())
		}
	}
	data, _ := Marshal(summer)
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil || !strings.Contains(sb.String(), `2026-07-01T12:00:00+01:00 (instant and fixed zone "CET"; no monotonic reading)`) {
		t.Errorf("Dis of a time in a fixed zone (%v):\n%s", err, sb.String())
	}
}
