package binref

import (
	"reflect"
	"testing"
)

func TestPrepare(t *testing.T) {
	for range 2 { // the second call finds everything done
		if err := Prepare(); err != nil {
			t.Fatalf("Prepare() = %v, want nil", err)
		}
	}
	if Fingerprint() == "" {
		t.Error("no fingerprint after Prepare")
	}
	fi := Func(reflect.ValueOf(plainFunc))
	if _, err := FuncAt(fi.Offset, fi.Name, reflect.TypeOf(plainFunc)); err != nil {
		t.Errorf("FuncAt after Prepare: %v", err)
	}
}

// BenchmarkPrepare measures what Prepare spares the first references: the
// fingerprint, the layout and the funcval index, computed afresh.
func BenchmarkPrepare(b *testing.B) {
	for b.Loop() {
		if goBuildID(exePath) == "" {
			b.Fatal("no build ID")
		}
		im, err := readImage(exePath)
		if err != nil {
			b.Fatal(err)
		}
		if len(im.indexFuncvals().pcs) == 0 {
			b.Fatal("no static funcvals")
		}
	}
}
