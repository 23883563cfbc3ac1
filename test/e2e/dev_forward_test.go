//go:build e2e

package e2e

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff.dev/skiff/internal/testutil"
)

// TestDevForwardServesThroughRebuilds sends requests through skiff dev's
// own port-forward, one new connection each, while five Go changes are
// rebuilt and rolled out: none fails. The forward holds a connection
// while the pod behind it goes away and replays it to a pod whose app
// listens (issue 16).
func TestDevForwardServesThroughRebuilds(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	port := testutil.FreePort(t)
	writeTree(t, dir, map[string]string{"skaffold.yaml": syncExampleConfig() + portForwardTo("service", "sync", port)})
	r := devBackground(t, dir, ns, "--port-forward=user", "--hot-swap=false")
	r.waitSince(t, 0, devStepTimeout, syncForwardLine(ns, port))

	q, stop := startRequester(t, port, 0)

	const rebuilds = 5
	for i := 2; i < 2+rebuilds; i++ {
		v := "v" + strconv.Itoa(i)
		m := r.mark()
		writeTree(t, dir, map[string]string{"main.go": versionSource(t, v)})
		r.waitSince(t, m, devStepTimeout, rebuiltLine)
		q.waitSeen(t, v, devStepTimeout)
	}
	waitFor(t, devStepTimeout, "200 requests through the forward", func(context.Context) (bool, string, error) {
		n, _, _ := q.counts()
		return n >= 200, fmt.Sprintf("%d requests", n), nil
	})
	stop()
	n, failed, seen := q.counts()
	t.Logf("%d requests through the forward during %d rebuilds; answers by version: %v", n, rebuilds, seen)
	if len(failed) > 0 {
		t.Errorf("%d of %d requests through the forward failed during the rebuilds:\n%s", len(failed), n, strings.Join(failed, "\n"))
	}
	c.stopAndCheckCleanup(t, r, ns)
}

// requester sends GET requests to url, each on a new connection, one
// after the other, and records what they got.
type requester struct {
	url string
	// timeout fails a request not answered in time; 0: a minute.
	timeout time.Duration

	mu     sync.Mutex
	n      int
	failed []string       // what went wrong, one a request
	seen   map[string]int // answers by version
	order  []string       // the versions that answered, in order
}

var versionAnswer = regexp.MustCompile(`^(v\d+) \(pod \S+\)\n$`)

// startRequester starts a requester of /version on the local port, with
// timeout (0: a minute), and waits for an answer from v1. stop stops it
// and returns once its last request is counted; it also runs when the
// test ends.
func startRequester(t *testing.T, port int, timeout time.Duration) (q *requester, stop func()) {
	t.Helper()
	q = &requester{url: fmt.Sprintf("http://127.0.0.1:%d/version", port), seen: map[string]int{}, timeout: timeout}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); q.run(ctx) }()
	stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	q.waitSeen(t, "v1", devStepTimeout)
	return q, stop
}

func (q *requester) run(ctx context.Context) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: cmp.Or(q.timeout, time.Minute)}
	for ctx.Err() == nil {
		start := time.Now()
		var problem, version string
		resp, err := client.Get(q.url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := versionAnswer.FindStringSubmatch(string(body))
			switch {
			case rerr != nil:
				problem = "reading the answer: " + rerr.Error()
			case resp.StatusCode != http.StatusOK || m == nil:
				problem = fmt.Sprintf("%s: %q", resp.Status, body)
			default:
				version = m[1]
			}
		} else {
			problem = err.Error()
		}
		q.mu.Lock()
		q.n++
		if problem != "" {
			q.failed = append(q.failed, fmt.Sprintf("%s (after %s): %s", start.Format("15:04:05.000"), time.Since(start).Round(time.Millisecond), problem))
		} else {
			q.seen[version]++
			q.order = append(q.order, version)
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (q *requester) counts() (int, []string, map[string]int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	seen := map[string]int{}
	for k, v := range q.seen {
		seen[k] = v
	}
	return q.n, append([]string(nil), q.failed...), seen
}

// waitSeen waits until a request was answered by version v.
func (q *requester) waitSeen(t testing.TB, v string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "an answer from "+v+" through the forward", func(context.Context) (bool, string, error) {
		n, failed, seen := q.counts()
		return seen[v] > 0, fmt.Sprintf("%d requests, %d failed, answers %v", n, len(failed), seen), nil
	})
}

// TestDevForwardServesAnUnprobedRolloutsNewPod: with pods that have no
// readiness probe (Kubernetes counts them ready once their containers
// run), the forward tries a rollout's new pod before the API server says
// it is ready (issue 16): through three Go changes rebuilt and rolled
// out, no request fails, each new version is served, and once a version
// has answered no request gets an older one.
func TestDevForwardServesAnUnprobedRolloutsNewPod(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	manifest, err := os.ReadFile(filepath.Join(dir, "k8s", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	probe := regexp.MustCompile(`(?s)        # Probed every second.*?periodSeconds: 1\n`)
	if !probe.Match(manifest) {
		t.Fatalf("examples/sync's deployment has no readiness probe to remove:\n%s", manifest)
	}
	port := testutil.FreePort(t)
	writeTree(t, dir, map[string]string{
		"k8s/deployment.yaml": probe.ReplaceAllString(string(manifest), ""),
		"skaffold.yaml":       syncExampleConfig() + portForwardTo("service", "sync", port),
	})
	r := devBackground(t, dir, ns, "--port-forward=user", "--hot-swap=false")
	q, stop := startRequester(t, port, 0)

	const rebuilds = 3
	for i := 2; i < 2+rebuilds; i++ {
		v := "v" + strconv.Itoa(i)
		m := r.mark()
		writeTree(t, dir, map[string]string{"main.go": versionSource(t, v)})
		q.waitSeen(t, v, devStepTimeout)
		r.waitSince(t, m, devStepTimeout, rebuiltLine)
	}
	stop()
	n, failed, seen := q.counts()
	t.Logf("%d requests through the forward during %d rebuilds; answers by version: %v", n, rebuilds, seen)
	if len(failed) > 0 {
		t.Errorf("%d of %d requests through the forward failed during the rebuilds:\n%s", len(failed), n, strings.Join(failed, "\n"))
	}
	q.mu.Lock()
	order := q.order
	q.mu.Unlock()
	newest := 0
	for i, v := range order {
		k, _ := strconv.Atoi(strings.TrimPrefix(v, "v"))
		if k < newest {
			t.Errorf("answer %d of %d came from v%d after v%d had answered", i+1, len(order), k, newest)
			break
		}
		newest = k
	}
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevForwardsBeforeTheRolloutEnds: skiff dev starts its port-forward
// as soon as the manifests are applied, before the status check waits for
// the rollout, so that the app answers through it once its first pod is
// ready instead of after the whole rollout and the check (issue 16); the
// status check still runs and reports the rollout.
func TestDevForwardsBeforeTheRolloutEnds(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := syncExample(t)
	port := testutil.FreePort(t)
	writeTree(t, dir, map[string]string{"skaffold.yaml": syncExampleConfig() + portForwardTo("service", "sync", port)})
	r := devBackground(t, dir, ns, "--port-forward=user")
	out := r.errOut.String()
	forward := strings.Index(out, "Port forwarding service/sync in namespace "+ns)
	check := strings.Index(out, "Waiting for deployments to stabilize...")
	stabilized := strings.Index(out, "Deployments stabilized in ")
	if forward < 0 || check < 0 || stabilized < 0 || forward > check {
		t.Errorf("skiff dev printed the forward at %d, the status check's start at %d and its end at %d; want the forward first, then the check:\n%s", forward, check, stabilized, out)
	}
	_, stop := startRequester(t, port, 0)
	stop()
	c.stopAndCheckCleanup(t, r, ns)
}

// TestDevFailsOnCrashLoopAfterItsForwardStarted: the forward starts before
// the status check (issue 16), but a container that exits at once still
// makes the first deploy, and so skiff dev, fail with the reason, and dev
// returns (its log streams and forwards stopped) instead of staying up.
func TestDevFailsOnCrashLoopAfterItsForwardStarted(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	name := "crash-" + randomSuffix(t)
	dir := failingProject(t, name, name, []string{"explode"})
	port := testutil.FreePort(t)
	config, err := os.ReadFile(filepath.Join(dir, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"skaffold.yaml": string(config) + portForwardTo("deployment", name, port)})
	_, stderr, err := skiff(t, dir, "dev", "-n", ns, "--port-forward=user")
	if err == nil {
		t.Fatalf("skiff dev of a crashing app succeeded:\n%s", stderr)
	}
	msg := err.Error()
	if !strings.Contains(msg, "deployment/"+name) || !strings.Contains(msg, "explode") {
		t.Errorf("the error does not name deployment/%s and its container's failure:\n%s", name, msg)
	}
	forward := strings.Index(stderr, "Port forwarding deployment/"+name)
	check := strings.Index(stderr, "Waiting for deployments to stabilize...")
	if forward < 0 || check < 0 || forward > check {
		t.Errorf("want the forward started before the status check:\n%s", stderr)
	}
	if strings.Contains(stderr, "Watching for changes") {
		t.Errorf("skiff dev went on watching after its first deploy failed:\n%s", stderr)
	}
}
