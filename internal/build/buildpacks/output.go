package buildpacks

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Bounds on what is kept of a phase's output for errors.
const (
	tailLines        = 15
	maxDetectLines   = 4000
	maxDetectOutput  = 8
	maxLineBytes     = 16 << 10
	creatorPhaseMark = "===> "
)

// creatorPhases maps the creator's phase headers to the prefixes of the
// separate phases.
var creatorPhases = map[string]string{
	"ANALYZING": "analyzer",
	"DETECTING": "detector",
	"RESTORING": "restorer",
	"BUILDING":  "builder",
	"EXPORTING": "exporter",
}

// phaseOutput streams a lifecycle container's output to out, each line
// prefixed with its phase ("[builder] "), and keeps what errors need: the
// last lines and the detector's output. For the creator it follows the
// phase headers; for a builder run at log level debug it shows only what
// the buildpacks print (and the lifecycle's warnings and errors), and
// learns from the debug lines which buildpack is running.
type phaseOutput struct {
	out io.Writer

	mu      sync.Mutex
	phase   string
	creator bool
	// debugBuild filters the builder's debug lines.
	debugBuild  bool
	inBuildpack bool
	buildpack   string
	partial     []byte
	tail        []string
	detect      []string
	exported    string
}

// newPhaseOutput returns the output of one container: phase is its
// prefix ("creator" switches to the creator's phases as they start);
// debugBuild says the builder runs at log level debug.
func newPhaseOutput(out io.Writer, phase string, debugBuild bool) *phaseOutput {
	return &phaseOutput{out: out, phase: phase, creator: phase == "creator", debugBuild: debugBuild}
}

func (o *phaseOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	data := append(o.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		o.line(string(data[:i]))
		data = data[i+1:]
	}
	if len(data) > maxLineBytes {
		o.line(string(data))
		data = nil
	}
	o.partial = append(o.partial[:0], data...)
	return len(p), nil
}

// Flush writes a last line that has no newline.
func (o *phaseOutput) Flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.partial) > 0 {
		o.line(string(o.partial))
		o.partial = nil
	}
}

func (o *phaseOutput) line(l string) {
	l = strings.TrimRight(l, "\r")
	if o.creator {
		if h, ok := strings.CutPrefix(strings.TrimSpace(l), creatorPhaseMark); ok {
			if p, ok := creatorPhases[h]; ok {
				// An error quotes the failing phase's lines only.
				o.phase, o.tail = p, nil
				return
			}
		}
	}
	if o.debugBuild {
		if bp, ok := strings.CutPrefix(l, "Running build for buildpack "); ok {
			o.buildpack = strings.TrimSpace(bp)
			return
		}
		if strings.HasPrefix(l, "Timer: ") {
			return
		}
		switch l {
		case "Running build command":
			o.inBuildpack = true
			return
		case "Processing layers":
			o.inBuildpack = false
			return
		}
		if !o.inBuildpack && !strings.HasPrefix(l, "ERROR: ") && !strings.HasPrefix(l, "Warning: ") {
			return
		}
	}
	if id, ok := strings.CutPrefix(l, "*** Images ("); ok && o.phase == "exporter" {
		if id, _, ok := strings.Cut(id, ")"); ok {
			o.exported = id
		}
	}
	if o.phase == "detector" && len(o.detect) < maxDetectLines {
		o.detect = append(o.detect, l)
	}
	if len(o.tail) == tailLines {
		o.tail = append(o.tail[:0], o.tail[1:]...)
	}
	o.tail = append(o.tail, l)
	fmt.Fprintf(o.out, "[%s] %s\n", o.phase, l)
}

// Tail returns the last lines written.
func (o *phaseOutput) Tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.tail...)
}

// parseDetectOutput reads the groups the detector tried from its output
// (the lifecycle prints its debug log when detection fails): each
// "======== Results ========" starts a group, followed by "pass: id@v",
// "fail: ...", "skip: ..." and "err:  ..." lines; "======== Output: id@v
// ========" blocks before it are what that buildpack printed.
func parseDetectOutput(lines []string) (groups []DetectGroup, errored bool) {
	outputs := map[string][]string{}
	var owner string
	inGroup := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if m, ok := strings.CutPrefix(t, "======== "); ok && strings.HasSuffix(m, " ========") {
			m = strings.TrimSuffix(m, " ========")
			switch {
			case m == "Results":
				groups = append(groups, DetectGroup{})
				inGroup, owner = true, ""
			case strings.HasPrefix(m, "Output: "), strings.HasPrefix(m, "Error: "):
				if inGroup {
					// A new group's outputs begin.
					outputs, inGroup = map[string][]string{}, false
				}
				_, owner, _ = strings.Cut(m, ": ")
			}
			continue
		}
		if owner != "" {
			if t != "" {
				out := append(outputs[owner], t)
				if len(out) > maxDetectOutput {
					out = out[len(out)-maxDetectOutput:]
				}
				outputs[owner] = out
			}
			continue
		}
		if !inGroup {
			continue
		}
		kind, rest, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		switch kind {
		case "pass", "fail", "skip", "err":
		default:
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest == "" || strings.HasPrefix(rest, "no viable buildpacks") {
			continue
		}
		bp, detail, _ := strings.Cut(rest, " ")
		result := kind
		if detail != "" {
			result += " (" + strings.Trim(detail, "()") + ")"
		}
		if kind == "err" {
			errored = true
		}
		g := &groups[len(groups)-1]
		found := false
		for i := range g.Results {
			if g.Results[i].Buildpack == bp {
				g.Results[i].Result = result
				found = true
			}
		}
		if !found {
			g.Results = append(g.Results, DetectResult{Buildpack: bp, Result: result, Output: outputs[bp]})
		}
	}
	return groups, errored
}

// Buildpack is the buildpack the builder last started, when it ran at
// log level debug.
func (o *phaseOutput) Buildpack() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buildpack
}

// DetectLines is what the detector printed.
func (o *phaseOutput) DetectLines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.detect...)
}

// Exported is the digest (exported to a registry) or image ID (to the
// daemon) the exporter printed, "" when it printed none.
func (o *phaseOutput) Exported() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.exported
}
