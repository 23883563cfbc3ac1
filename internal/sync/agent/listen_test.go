package agent

import (
	"slices"
	"testing"
)

func TestParseListening(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65532        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 65532        0 1235 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1236 1 0000000000000000 100 0 0 10 0
`)
	got := map[string]bool{}
	parseListening(table, got)
	want := map[string]bool{"00000000:1F90": true, "0100007F:0050": true}
	if len(got) != len(want) || !got["00000000:1F90"] || !got["0100007F:0050"] {
		t.Errorf("listening sockets %v, want %v (state 0A only)", got, want)
	}
	if g := gone(want, map[string]bool{"0100007F:0050": true}); !slices.Equal(g, []string{"00000000:1F90"}) {
		t.Errorf("gone: %v", g)
	}
}
