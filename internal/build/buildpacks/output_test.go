package buildpacks

import (
	"reflect"
	"strings"
	"testing"
)

func TestPhaseOutputPrefixes(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	po := newPhaseOutput(&b, "analyzer", false)
	po.Write([]byte("Previous image not found\nparti"))
	po.Write([]byte("al line\r\nno newline"))
	po.Flush()
	want := "[analyzer] Previous image not found\n[analyzer] partial line\n[analyzer] no newline\n"
	if b.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestCreatorOutputFollowsPhases(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	po := newPhaseOutput(&b, "creator", false)
	po.Write([]byte("===> ANALYZING\nPrevious image with name \"x\" not found\n===> DETECTING\nskiff/go 0.1.0\n===> RESTORING\n===> BUILDING\ngo build\n===> EXPORTING\nAdding layer 'x'\n"))
	want := "[analyzer] Previous image with name \"x\" not found\n[detector] skiff/go 0.1.0\n[builder] go build\n[exporter] Adding layer 'x'\n"
	if b.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", b.String(), want)
	}
	if got := po.DetectLines(); !reflect.DeepEqual(got, []string{"skiff/go 0.1.0"}) {
		t.Errorf("detector lines = %q", got)
	}
	if got := po.Tail(); !reflect.DeepEqual(got, []string{"Adding layer 'x'"}) {
		t.Errorf("tail = %q, want the exporter's lines only", got)
	}
}

func TestDebugBuilderShowsOnlyBuildpackOutput(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	po := newPhaseOutput(&b, "builder", true)
	po.Write([]byte(`Starting build
Running build for buildpack skiff/go@0.1.0
Looking up buildpack
Creating plan directory
Preparing paths
Running build command
Building the Go app
./main.go:3:1: syntax error
Timer: Builder ran for 211.186448ms and ended at 2026-12-06T07:03:01Z
ERROR: failed to build: exit status 1
`))
	want := "[builder] Building the Go app\n[builder] ./main.go:3:1: syntax error\n[builder] ERROR: failed to build: exit status 1\n"
	if b.String() != want {
		t.Errorf("output =\n%s\nwant\n%s", b.String(), want)
	}
	if po.Buildpack() != "skiff/go@0.1.0" {
		t.Errorf("buildpack = %q", po.Buildpack())
	}
	if tail := po.Tail(); len(tail) != 3 || tail[1] != "./main.go:3:1: syntax error" {
		t.Errorf("tail = %q", tail)
	}
}

func TestTailIsBounded(t *testing.T) {
	t.Parallel()
	po := newPhaseOutput(&strings.Builder{}, "builder", false)
	for i := 0; i < 100; i++ {
		po.Write([]byte("line\n"))
	}
	po.Write([]byte("last\n"))
	if tail := po.Tail(); len(tail) != tailLines || tail[tailLines-1] != "last" {
		t.Errorf("tail = %d lines ending %q", len(tail), tail[len(tail)-1])
	}
}

// detectFailure is what lifecycle v0.21 prints when no group passes: its
// debug log, replayed on failure.
const detectFailure = `Timer: Detector started at 2026-12-06T07:00:00Z
Checking for match against descriptor: {linux amd64 [] }
======== Output: skiff/go@0.1.0 ========
no go.mod in /workspace
======== Results ========
fail: skiff/go@0.1.0
======== Output: skiff/node@0.1.0 ========
no package.json in /workspace
======== Output: skiff/procfile@0.1.0 ========
Procfile found
======== Results ========
fail: skiff/node@0.1.0
pass: skiff/procfile@0.1.0
Resolving plan... (try #1)
fail: skiff/procfile@0.1.0 requires node
fail: no viable buildpacks in group
======== Results ========
err:  skiff/broken@0.1.0 (1)
ERROR: No buildpack groups passed detection.
ERROR: Please check that you are running against the correct path.
ERROR: failed to detect: no buildpacks participating
`

func TestParseDetectOutput(t *testing.T) {
	t.Parallel()
	groups, errored := parseDetectOutput(strings.Split(detectFailure, "\n"))
	want := []DetectGroup{
		{Results: []DetectResult{{Buildpack: "skiff/go@0.1.0", Result: "fail", Output: []string{"no go.mod in /workspace"}}}},
		{Results: []DetectResult{
			{Buildpack: "skiff/node@0.1.0", Result: "fail", Output: []string{"no package.json in /workspace"}},
			{Buildpack: "skiff/procfile@0.1.0", Result: "fail (requires node)", Output: []string{"Procfile found"}},
		}},
		{Results: []DetectResult{{Buildpack: "skiff/broken@0.1.0", Result: "err (1)"}}},
	}
	if !reflect.DeepEqual(groups, want) || !errored {
		t.Errorf("groups = %+v (errored %v)\nwant %+v", groups, errored, want)
	}
	msg := (&DetectError{Groups: groups, Errored: errored}).Error()
	for _, s := range []string{"no buildpack group passed detection", "group 1:", "skiff/go@0.1.0: fail", "| no go.mod in /workspace", "group 3:", "skiff/broken@0.1.0: err (1)", "buildpacks.buildpacks"} {
		if !strings.Contains(msg, s) {
			t.Errorf("detect error does not say %q:\n%s", s, msg)
		}
	}
}

func TestDetectErrorFallsBackToOrder(t *testing.T) {
	t.Parallel()
	msg := (&DetectError{Order: Order{{Buildpacks: []GroupEntry{{ID: "a", Version: "1"}, {ID: "b", Version: "2", Optional: true}}}}}).Error()
	if !strings.Contains(msg, "group 1: a@1, b@2 (optional)") {
		t.Errorf("detect error = %s", msg)
	}
}
