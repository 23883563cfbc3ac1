package debug

import (
	"slices"
	"testing"
)

// TestSites: the commands a rewrite may apply to, last first, and the
// line rebuilt around a rewritten command, quotes and operators kept.
func TestSites(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		line   []string
		plain  [][]string
		insert string
		want   []string
	}{
		{"plain", []string{"/app", "-v"}, [][]string{{"/app", "-v"}}, "X", []string{"X", "/app", "-v"}},
		{"docker-entrypoint.sh", []string{"docker-entrypoint.sh", "node", "a.js"}, [][]string{{"node", "a.js"}}, "X", []string{"docker-entrypoint.sh", "X", "node", "a.js"}},
		{"sh -ec script", []string{"/bin/sh", "-ec", "set -x; A='b c' exec python3 \"app.py\" --name 'x y' # run\n", "arg0"},
			[][]string{{"python3", "app.py", "--name", "x y"}, {"set", "-x"}}, "X",
			[]string{"/bin/sh", "-ec", "set -x ; A='b c' exec X python3 \"app.py\" --name 'x y' \n", "arg0"}},
		{"operators", []string{"bash", "-c", "make || true && ./server 2>&1 &>/dev/null <&3 | tee log & wait"},
			[][]string{{"wait"}, {"tee", "log"}, {"./server", "2>&1", "&>/dev/null", "<&3"}, {"true"}, {"make"}}, "X",
			[]string{"bash", "-c", "make || true && ./server 2>&1 &>/dev/null <&3 | tee log & X wait"}},
		{"escapes", []string{"sh", "-c", `node a\ b.js "say \"hi\""`}, [][]string{{"node", "a b.js", `say "hi"`}}, "X",
			[]string{"sh", "-c", `X node a\ b.js "say \"hi\""`}},
		{"sh without -c", []string{"sh", "start.sh"}, [][]string{{"sh", "start.sh"}}, "X", []string{"X", "sh", "start.sh"}},
		{"empty", nil, nil, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ss := sites(tc.line)
			var plain [][]string
			for _, s := range ss {
				plain = append(plain, s.plain)
			}
			if !slices.EqualFunc(plain, tc.plain, slices.Equal) {
				t.Errorf("sites(%q) = %q; want %q", tc.line, plain, tc.plain)
			}
			if len(ss) == 0 {
				return
			}
			if got := ss[0].rebuild(append([]string{tc.insert}, ss[0].raw...)); !slices.Equal(got, tc.want) {
				t.Errorf("rebuilt %q; want %q", got, tc.want)
			}
		})
	}
}
