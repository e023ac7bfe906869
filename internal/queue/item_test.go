package queue

import "testing"

type boxInt struct{ V int }

func BenchmarkEncodeDecodeInt(b *testing.B) {
	b.ReportAllocs()
	for i := range b.N {
		it, err := Encode(boxInt{i})
		if err != nil {
			b.Fatal(err)
		}
		var v boxInt
		if err := Decode(it, &v); err != nil || v.V != i {
			b.Fatal(err)
		}
	}
}

func TestItemSize(t *testing.T) {
	it, err := Encode(boxInt{7})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("an int item is %d bytes", len(it.Data))
}
