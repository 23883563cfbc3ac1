package dockerbuild

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// StepError is a Docker build that failed: the step that failed, where it
// is in the Dockerfile, what the daemon said and the step's last output.
type StepError struct {
	// File is the Dockerfile's path.
	File string
	// Line is the failed instruction's line, 0 when unknown.
	Line int
	// Step names the step as the builder shows it: "Step 3/5 : RUN make"
	// (classic) or "[build 2/3] RUN make" (BuildKit); "" when the build
	// failed outside a step.
	Step string
	// Message is the daemon's error.
	Message string
	// Code is the daemon's error code; the classic builder gives a failed
	// RUN's exit code.
	Code int
	// Output are the step's last lines of output.
	Output []string
	// Hint says what to do.
	Hint string
}

// Error implements error: the step, its line, the daemon's message, the
// step's last output and what to do.
func (e *StepError) Error() string {
	var b strings.Builder
	where := e.File
	if e.Line > 0 {
		where = e.File + ":" + strconv.Itoa(e.Line)
	}
	if e.Step != "" {
		fmt.Fprintf(&b, "%s: %s failed: %s", where, e.Step, e.Message)
	} else {
		fmt.Fprintf(&b, "building %s failed: %s", where, e.Message)
	}
	if len(e.Output) > 0 {
		b.WriteString("\n  last output of the step:")
		for _, l := range e.Output {
			b.WriteString("\n    " + l)
		}
	}
	if e.Hint != "" {
		b.WriteString("\n  " + e.Hint)
	}
	return b.String()
}

// hint says what to do about a failed step.
func hint(f *StepError, bc *buildContext) string {
	msg := strings.ToLower(f.Message)
	keyword := ""
	if i := strings.LastIndex(f.Step, "] "); i >= 0 {
		keyword = firstWord(f.Step[i+2:])
	} else if _, text, ok := strings.Cut(f.Step, " : "); ok {
		keyword = firstWord(text)
	}
	at := "the step"
	if f.Line > 0 {
		at = fmt.Sprintf("the %s at %s:%d", keyword, bc.dockerfile, f.Line)
	}
	ignore := "the .dockerignore"
	if bc.ignoreFile != "" {
		ignore = bc.ignoreFile
	}
	switch {
	case strings.Contains(msg, "requires buildkit") || strings.Contains(msg, "requires the buildkit"):
		return "The Dockerfile uses a BuildKit feature: set build.local.useBuildkit: true in skaffold.yaml."
	case strings.Contains(msg, "frontend gateway") || strings.Contains(msg, "docker/dockerfile"):
		return "The Dockerfile's # syntax= line asks BuildKit for a frontend image, which could not be pulled: remove the line to use the Docker Engine's built-in frontend, or make the image pullable."
	case strings.Contains(msg, "exec format error"):
		return "A program in the image is built for another CPU architecture than the one building it: check the base image and --platform."
	case keyword == "FROM" || strings.Contains(msg, "pull access denied") || strings.Contains(msg, "manifest unknown") ||
		strings.Contains(msg, "failed to resolve source metadata") || strings.Contains(msg, "failed to do request"):
		return fmt.Sprintf("The base image is neither in the Docker Engine nor pullable from its registry: build or load it first, or fix %s.", at)
	case keyword == "COPY" || keyword == "ADD" || strings.Contains(msg, "failed to compute cache key"):
		return fmt.Sprintf("Check that the source of %s exists in the build context %s and is not excluded by %s.", at, bc.dir, ignore)
	case keyword == "RUN":
		return fmt.Sprintf("Fix the command of %s (its full output is above) and build again.", at)
	case f.Step != "":
		return fmt.Sprintf("Fix %s and build again; the build's full output is above.", at)
	}
	return "The build's full output is above."
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	return strings.ToUpper(w)
}

// instructions returns the Dockerfile's instructions in order, or nil if
// it does not parse.
func instructions(dockerfile []byte) []*parser.Node {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil
	}
	return res.AST.Children
}

var classicStep = regexp.MustCompile(`^Step (\d+)/\d+ : (.*)$`)

// locateClassicStep returns the line of a classic builder step: it numbers
// the Dockerfile's instructions in order, from 1.
func locateClassicStep(dockerfile []byte, step string) int {
	m := classicStep.FindStringSubmatch(step)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	nodes := instructions(dockerfile)
	if n < 1 || n > len(nodes) || !strings.EqualFold(nodes[n-1].Value, firstWord(m[2])) {
		return 0
	}
	return nodes[n-1].StartLine
}

var buildKitStep = regexp.MustCompile(`^\[(?:(\S+) )?(\d+)/\d+\] (.*)$`)

// locateBuildKitStep returns the line of a BuildKit step, named
// "[stage i/n] INSTRUCTION". stage is the stage's name, or stage-N for the
// N-th stage counted from 0, and is left out when there is only one stage.
// i counts the stage's instructions that BuildKit turns into steps: FROM
// when it names an image (not scratch, not a stage), RUN, COPY, ADD and
// WORKDIR.
// When that count does not land on an instruction of the step's kind, the
// stage's only such instruction, or the one with the step's text, is
// taken.
func locateBuildKitStep(dockerfile []byte, step string) int {
	m := buildKitStep.FindStringSubmatch(step)
	if m == nil {
		return 0
	}
	stageRef, text := m[1], m[3]
	i, _ := strconv.Atoi(m[2])
	keyword := firstWord(text)
	nodes := instructions(dockerfile)

	type stage struct {
		name      string
		from, end int // nodes[from:end]
		fromImage bool
	}
	var stages []stage
	names := map[string]bool{}
	for k, n := range nodes {
		if !strings.EqualFold(n.Value, "from") {
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].end = k
		}
		base := ""
		if n.Next != nil {
			base = strings.ToLower(n.Next.Value)
		}
		st := stage{name: strings.ToLower(stageName(n)), from: k, end: len(nodes), fromImage: !names[base] && base != "scratch"}
		if st.name != "" {
			names[st.name] = true
		}
		stages = append(stages, st)
	}
	var st *stage
	for k := range stages {
		switch {
		case stageRef == "" && k == len(stages)-1,
			stageRef != "" && stages[k].name == strings.ToLower(stageRef),
			stageRef == "stage-"+strconv.Itoa(k) && stages[k].name == "":
			st = &stages[k]
		}
	}
	if st == nil {
		return 0
	}

	var counted, same []*parser.Node
	for k := st.from; k < st.end; k++ {
		n := nodes[k]
		switch v := strings.ToUpper(n.Value); {
		case k == st.from && st.fromImage, v == "RUN", v == "COPY", v == "ADD", v == "WORKDIR":
			counted = append(counted, n)
		}
		if strings.EqualFold(n.Value, keyword) {
			same = append(same, n)
		}
	}
	if i >= 1 && i <= len(counted) && strings.EqualFold(counted[i-1].Value, keyword) {
		return counted[i-1].StartLine
	}
	if len(same) == 1 {
		return same[0].StartLine
	}
	for _, n := range same {
		if strings.Join(strings.Fields(n.Original), " ") == strings.Join(strings.Fields(text), " ") {
			return n.StartLine
		}
	}
	return 0
}

// stageName returns the AS name of a FROM node, or "".
func stageName(from *parser.Node) string {
	var words []string
	for a := from.Next; a != nil; a = a.Next {
		words = append(words, a.Value)
	}
	if len(words) == 3 && strings.EqualFold(words[1], "as") {
		return words[2]
	}
	return ""
}
