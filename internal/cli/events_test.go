package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff.dev/skiff/internal/testutil"
)

// --event-log-file writes the build's events as JSON lines, in Skaffold's
// shapes, failure included; render keeps the flag without effect.
func TestEventLogFile(t *testing.T) {
	t.Parallel()
	file := writeProject(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  tagPolicy:
    envTemplate:
      template: v1
  artifacts:
  - image: web
    custom:
      buildCommand: echo the compiler says no >&2; exit 3
`)
	events := filepath.Join(t.TempDir(), "events.json")
	_, stderr, err := run(t, nil, "build", "-f", file, "--push=false", "--cache-artifacts=false", "--event-log-file", events)
	if err == nil {
		t.Fatalf("the failing build succeeded:\n%s", stderr)
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatalf("no event log: %v", err)
	}
	defer f.Close()
	var got []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			Build *struct {
				Artifact, Status string
				ActionableErr    *struct{ Message string }
			} `json:"buildSubtaskEvent"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("event log line %q: %v", sc.Text(), err)
		}
		if e.Build == nil {
			continue
		}
		line := e.Build.Artifact + " " + e.Build.Status
		if e.Build.ActionableErr != nil && strings.Contains(e.Build.ActionableErr.Message, "exited with code 3") {
			line += " with the command's failure"
		}
		got = append(got, line)
	}
	if want := "web InProgress, web Failed with the command's failure"; strings.Join(got, ", ") != want {
		t.Errorf("event log: %q, want %q\n%s", strings.Join(got, ", "), want, stderr)
	}
}

// --rpc-http-port and --rpc-port serve the HTTP and gRPC APIs on
// 127.0.0.1 and print where (0: a free port), each without the other; a
// port that is not a number is a usage error.
func TestRPCPorts(t *testing.T) {
	t.Parallel()
	file := writeProject(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
    custom:
      buildCommand: exit 3
`)
	for _, tc := range []struct {
		flag        string
		says, other *regexp.Regexp
	}{
		{"--rpc-http-port", regexp.MustCompile(`Serving Skaffold's v2 HTTP API on http://127\.0\.0\.1:\d+`), regexp.MustCompile(`gRPC API`)},
		{"--rpc-port", regexp.MustCompile(`Serving Skaffold's v2 gRPC API \(proto\.v2\.SkaffoldV2Service\) on 127\.0\.0\.1:\d+\n`), regexp.MustCompile(`HTTP API`)},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			t.Parallel()
			_, stderr, err := run(t, nil, "build", "-f", file, "--push=false", "--cache-artifacts=false", tc.flag, "0")
			if err == nil {
				t.Fatalf("the failing build succeeded:\n%s", stderr)
			}
			if !tc.says.MatchString(stderr) {
				t.Errorf("the output does not say where the API is:\n%s", stderr)
			}
			if tc.other.MatchString(stderr) {
				t.Errorf("%s alone started the other API:\n%s", tc.flag, stderr)
			}
			_, stderr, err = run(t, nil, "build", "-f", file, tc.flag, "fifty")
			var usage *UsageError
			if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.flag+"=fifty: give a port number") {
				t.Errorf("%s=fifty: %v, want a usage error\n%s", tc.flag, err, stderr)
			}
		})
	}
}

// --ui serves the dashboard with the API on a free port and prints where,
// for run as for dev and debug.
func TestUIFlag(t *testing.T) {
	t.Parallel()
	file := writeProject(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
    custom:
      buildCommand: exit 3
`)
	_, stderr, err := run(t, nil, "run", "-f", file, "--push=false", "--cache-artifacts=false", "--ui")
	if err == nil {
		t.Fatalf("the failing build succeeded:\n%s", stderr)
	}
	api := regexp.MustCompile(`Serving Skaffold's v2 HTTP API on http://(127\.0\.0\.1:\d+) `).FindStringSubmatch(stderr)
	if api == nil || !strings.Contains(stderr, "Serving the dashboard on http://"+api[1]+"/\n") {
		t.Errorf("the output does not say where the API and the dashboard are, on one address:\n%s", stderr)
	}
}

// Without --rpc-http-port, --ui listens on the port of the project's last
// session when it is free, so that an open dashboard finds the new
// session; when it is taken, on another, which it remembers.
func TestUIPortRemembered(t *testing.T) {
	t.Parallel()
	file := writeProject(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
    custom:
      buildCommand: exit 3
`)
	env := []string{"HOME=" + t.TempDir()}
	dashboard := regexp.MustCompile(`Serving the dashboard on http://127\.0\.0\.1:(\d+)/`)
	session := func() string {
		t.Helper()
		_, stderr, err := run(t, env, "run", "-f", file, "--push=false", "--cache-artifacts=false", "--ui", "-v", "info")
		if err == nil {
			t.Fatalf("the failing build succeeded:\n%s", stderr)
		}
		m := dashboard.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("the output does not say where the dashboard is:\n%s", stderr)
		}
		return m[1]
	}
	first := session()
	if again := session(); again != first {
		t.Fatalf("the second session's dashboard is on port %s, want the first's, %s", again, first)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+first)
	if err != nil {
		t.Fatal(err)
	}
	other := session()
	ln.Close()
	if other == first {
		t.Fatalf("the dashboard is on port %s, which the test holds", other)
	}
	if again := session(); again != other {
		t.Errorf("after the port was taken, the dashboard is on %s, want the one of the session before, %s", again, other)
	}
	// Another project has a port of its own.
	file2 := writeProject(t, strings.Replace(`apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
    custom:
      buildCommand: exit 3
`, "web", "api", 1))
	_, stderr, _ := run(t, env, "run", "-f", file2, "--push=false", "--cache-artifacts=false", "--ui")
	m := dashboard.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("the output does not say where the dashboard is:\n%s", stderr)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimPrefix(env[0], "HOME="), ".skiff", "ui-ports.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ports map[string]int
	if err := json.Unmarshal(b, &ports); err != nil {
		t.Fatal(err)
	}
	if strconv.Itoa(ports[file]) != other || strconv.Itoa(ports[file2]) != m[1] || len(ports) != 2 {
		t.Errorf("remembered %s, want %s on %s and %s on %s", b, file, other, file2, m[1])
	}
	if again := session(); again != other {
		t.Errorf("the first project's dashboard is on %s after the other's, want %s", again, other)
	}
}

// /v2/state names the run (metadata.runID) and lists every artifact from
// the start: api, which requires web, is NotStarted while web builds.
func TestStateHasRunIDAndArtifacts(t *testing.T) {
	t.Parallel()
	file := writeProject(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
    custom:
      buildCommand: while [ ! -f go-on ]; do sleep 0.05; done; exit 3
  - image: api
    requires:
    - image: web
    custom:
      buildCommand: exit 3
`)
	dir := filepath.Dir(file)
	var errOut testutil.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}, []string{"build", "-f", file, "--push=false", "--cache-artifacts=false", "--rpc-http-port", "0"}, WithEnviron(nil))
	}()
	defer func() {
		if err := os.WriteFile(filepath.Join(dir, "go-on"), nil, 0o644); err != nil {
			t.Error(err)
		}
		<-done
	}()
	serving := regexp.MustCompile(`Serving Skaffold's v2 HTTP API on (http://127\.0\.0\.1:\d+) `)
	var url string
	testutil.WaitFor(t, time.Minute, "the API's address", func(context.Context) (bool, string) {
		m := serving.FindStringSubmatch(errOut.String())
		if m != nil {
			url = m[1]
		}
		return m != nil, errOut.String()
	})
	var st struct {
		BuildState struct {
			Artifacts map[string]string `json:"artifacts"`
		} `json:"buildState"`
		Metadata struct {
			RunID string `json:"runID"`
		} `json:"metadata"`
	}
	testutil.WaitFor(t, time.Minute, "web building, api listed", func(ctx context.Context) (bool, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v2/state", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			return false, err.Error()
		}
		return st.BuildState.Artifacts["web"] == "InProgress", fmt.Sprintf("%+v", st)
	})
	if st.BuildState.Artifacts["api"] != "NotStarted" || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(st.Metadata.RunID) {
		t.Errorf("state %+v, want api NotStarted and a run id", st)
	}
}
