package main

import (
	"strings"
	"testing"
)

func TestWhatWasSentLeadsWithFunctionAndInputs(t *testing.T) {
	var short strings.Builder
	if err := whatWasSent(&short, []int{150_000, 160_000}, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(short.String()), "\n")
	if len(lines) > 6 {
		t.Errorf("the summary has %d lines, want a few:\n%s", len(lines), short.String())
	}
	for _, want := range []string{"countPrimes by reference", "by reference", "no code", "inputs    []int by value: 8 bytes per input", "-dis"} {
		if !strings.Contains(short.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, short.String())
		}
	}
	if strings.Contains(short.String(), "wire.Msg") {
		t.Errorf("the summary shows the protocol's internals without -dis:\n%s", short.String())
	}

	var full strings.Builder
	if err := whatWasSent(&full, []int{150_000, 160_000}, true); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(full.String(), short.String()[:strings.Index(short.String(), "Run with")]) || !strings.Contains(full.String(), ".countPrimes func(int) int: by reference") {
		t.Errorf("-dis does not add the full listing after the summary:\n%s", full.String())
	}
}
