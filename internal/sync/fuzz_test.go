package sync

import (
	"path"
	"strings"
	"testing"

	"skiff.dev/skiff/internal/config/schema"
)

// FuzzPlan plans random changed and removed paths under random manual
// rules (with strip, relative and "/" destinations) and checks that every
// op stays in its rule's destination: a Write at the destination or below
// it, a Delete strictly below it and never "/", and every op passes the
// transports' own check.
func FuzzPlan(f *testing.F) {
	f.Add("data/keep.txt", "data", "data/**", "/", "data", "", "", "")
	f.Add("static/css/a.css", "static", "static/**", "/app/public", "static/", "*.js", ".", "")
	f.Add("a/b", "a", "**", "/", "", "a/**", "/srv", "a")
	f.Add("x/../y", "../etc/passwd", "**/*", "rel", "x/", "*", "/", "/")
	f.Add("kodata/index.html", "kodata", "kodata/**", "/var/run/ko", "kodata/", "kodata", "/app", "kodata")
	f.Fuzz(func(t *testing.T, changed, removed, src1, dest1, strip1, src2, dest2, strip2 string) {
		var rules []*schema.SyncRule
		for _, r := range [][3]string{{src1, dest1, strip1}, {src2, dest2, strip2}} {
			if r[0] != "" {
				rules = append(rules, &schema.SyncRule{Src: r[0], Dest: r[1], Strip: r[2]})
			}
		}
		rs, err := NewRules(manualArtifact(rules...), WithWorkDir("/work"))
		if err != nil {
			return
		}
		dests := map[string]bool{}
		for _, r := range rules {
			d := r.Dest
			if !path.IsAbs(d) {
				d = path.Join("/work", d)
			}
			dests[path.Clean(d)] = true
		}
		var ch, rm []string
		for _, p := range strings.Split(changed, ",") {
			ch = append(ch, local(p))
		}
		for _, p := range strings.Split(removed, ",") {
			rm = append(rm, local(p))
		}
		ops, _ := rs.Plan(ch, rm)
		for _, op := range ops {
			if !dests[op.Root] {
				t.Errorf("%v: root %s is no rule destination (%v)", op, op.Root, dests)
			}
			if c, ok := cleanAbs(op.Dest); !ok || c != op.Dest || !within(op.Dest, op.Root) {
				t.Errorf("%v: outside its destination %s", op, op.Root)
			}
			if op.Kind == Delete && (op.Dest == op.Root || op.Dest == "/") {
				t.Errorf("%v: deletes its destination %s", op, op.Root)
			}
			if err := op.check(); err != nil {
				t.Errorf("%v: %v", op, err)
			}
		}
	})
}
