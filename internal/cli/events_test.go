package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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

// --rpc-http-port serves the API on 127.0.0.1 and prints where (0: a free
// port); a port that is not a number is a usage error.
func TestRPCHTTPPort(t *testing.T) {
	t.Parallel()
	file := writeProject(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
    custom:
      buildCommand: exit 3
`)
	_, stderr, err := run(t, nil, "build", "-f", file, "--push=false", "--cache-artifacts=false", "--rpc-http-port", "0")
	if err == nil {
		t.Fatalf("the failing build succeeded:\n%s", stderr)
	}
	if !strings.Contains(stderr, "Serving Skaffold's v2 HTTP API on http://127.0.0.1:") {
		t.Errorf("the output does not say where the API is:\n%s", stderr)
	}
	_, stderr, err = run(t, nil, "build", "-f", file, "--rpc-http-port", "fifty")
	var usage *UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--rpc-http-port=fifty: give a port number") {
		t.Errorf("--rpc-http-port=fifty: %v, want a usage error\n%s", err, stderr)
	}
}

// --rpc-port serves the gRPC API on 127.0.0.1 and prints where (0: a free
// port), without the HTTP API; a port that is not a number is a usage
// error.
func TestRPCPort(t *testing.T) {
	t.Parallel()
	file := writeProject(t, `apiVersion: skaffold/v4beta14
kind: Config
build:
  artifacts:
  - image: web
    custom:
      buildCommand: exit 3
`)
	_, stderr, err := run(t, nil, "build", "-f", file, "--push=false", "--cache-artifacts=false", "--rpc-port", "0")
	if err == nil {
		t.Fatalf("the failing build succeeded:\n%s", stderr)
	}
	if !regexp.MustCompile(`Serving Skaffold's v2 gRPC API \(proto\.v2\.SkaffoldV2Service\) on 127\.0\.0\.1:\d+\n`).MatchString(stderr) {
		t.Errorf("the output does not say where the gRPC API is:\n%s", stderr)
	}
	if strings.Contains(stderr, "HTTP API") {
		t.Errorf("--rpc-port alone started the HTTP API:\n%s", stderr)
	}
	_, stderr, err = run(t, nil, "build", "-f", file, "--rpc-port", "fifty")
	var usage *UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "--rpc-port=fifty: give a port number") {
		t.Errorf("--rpc-port=fifty: %v, want a usage error\n%s", err, stderr)
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
