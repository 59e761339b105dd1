package models

import "testing"

// TestGenMap: entries live only at the generation they were kept at, the
// map never holds more than its bound, and a value read at an older
// generation does not displace newer ones.
func TestGenMap(t *testing.T) {
	var m genMap[int, string]
	g1 := generation{local: 1, events: 10}
	g2 := generation{local: 1, events: 11}

	m.keep(g1, 1, "a", 3)
	if v, ok := m.get(g1, 1); !ok || v != "a" {
		t.Fatalf("get at the same generation: %q, %v", v, ok)
	}
	if _, ok := m.get(g2, 1); ok {
		t.Fatal("an entry served at a newer generation")
	}

	// The bound: the fourth key starts the map over.
	for k := 2; k <= 4; k++ {
		m.keep(g1, k, "x", 3)
		if n := len(m.m); n > 3 {
			t.Fatalf("%d entries kept; the bound is 3", n)
		}
	}
	if _, ok := m.get(g1, 4); !ok {
		t.Fatal("the newest entry was not kept")
	}

	// A newer generation drops the older entries; an older read is not kept.
	m.keep(g2, 5, "new", 3)
	if _, ok := m.get(g1, 4); ok || len(m.m) != 1 {
		t.Fatalf("entries of the older generation survive: %v", m.m)
	}
	m.keep(g1, 6, "stale", 3)
	if _, ok := m.get(g2, 5); !ok {
		t.Fatal("a value read at an older generation displaced a newer one")
	}
	if _, ok := m.get(g1, 6); ok {
		t.Fatal("a value read at an older generation was kept")
	}
}
