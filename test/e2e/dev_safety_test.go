//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// manySyncedFiles is how many files the first change of each session of
// TestDevFirstSyncOfManyFilesWithoutTar adds.
const manySyncedFiles = 2000

// TestDevFirstSyncOfManyFilesWithoutTar adds 2,000 files to examples/sync
// (a FROM scratch image: no tar, no shell) as the first change of fresh dev
// sessions, and checks that when skiff says they are synced, every pod
// serves every one of them; then that a rebuild and a later sync still
// work. An exec of the missing tar with a large stdin used to return
// success now and then, so skiff printed the files synced while a pod got
// none, took the image for one with tar, deployed the next build without
// skiff-agent and failed every later sync.
func TestDevFirstSyncOfManyFilesWithoutTar(t *testing.T) {
	c := newCluster(t)
	synced := regexp.MustCompile(fmt.Sprintf(`Synced %d files to 2 pods in `, manySyncedFiles))
	for session := range 3 {
		t.Run(fmt.Sprintf("session %d", session+1), func(t *testing.T) {
			ns := c.newNamespace(t)
			dir := syncExample(t)
			r := devBackground(t, dir, ns, "--hot-swap=false")
			pods := c.waitReady(t, ns, "app=sync", 2)

			// Make the files outside the project and move them in with one
			// rename, so that they reach dev as one batch.
			staging := filepath.Join(t.TempDir(), "many")
			files := map[string]string{}
			for i := range manySyncedFiles {
				files[fmt.Sprintf("f%04d.txt", i)] = fmt.Sprintf("file %d of session %d\n", i, session+1)
			}
			writeTree(t, staging, files)
			m := r.mark()
			if err := os.Rename(staging, filepath.Join(dir, "kodata", "many")); err != nil {
				t.Fatal(err)
			}
			r.waitSince(t, m, devStepTimeout, synced)
			forwards := c.forwardEach(t, ns, pods, 8080)
			for pod, port := range forwards {
				if got := servedListing(t, port, "/many/"); got != manySyncedFiles {
					t.Errorf("skiff said %d files were synced, but pod %s serves %d of them\nstderr:\n%s", manySyncedFiles, pod, got, r.errOut)
				}
			}
			expectServed(t, forwards, "/many/f1234.txt", files["f1234.txt"])

			// A rebuild, then a sync into the new pods.
			m = r.mark()
			writeTree(t, dir, map[string]string{"main.go": versionSource(t, "v2")})
			r.waitSince(t, m, devStepTimeout, rebuiltLine)
			pods = c.waitReady(t, ns, "app=sync", 2)
			index := "<h1>after the rebuild " + randomSuffix(t) + "</h1>\n"
			m = r.mark()
			writeTree(t, dir, map[string]string{"kodata/index.html": index})
			r.waitSince(t, m, devStepTimeout, syncedLine)
			forwards = c.forwardEach(t, ns, pods, 8080)
			expectServed(t, forwards, "/index.html", index)
			expectServed(t, forwards, "/many/f1999.txt", files["f1999.txt"])
			if strings.Contains(r.errOut.String(), "failed") {
				t.Errorf("skiff dev reported a failure:\n%s", r.errOut)
			}
			c.stopAndCheckCleanup(t, r, ns)
		})
	}
}

// servedListing counts the entries of the directory listing that the
// server behind the local port serves for dir (Go's http.FileServer).
func servedListing(t testing.TB, port int, dir string) int {
	t.Helper()
	var n int
	waitFor(t, 10*time.Second, "the directory listing of "+dir, func(ctx context.Context) (bool, string, error) {
		body, err := httpGet(ctx, fmt.Sprintf("http://127.0.0.1:%d%s", port, dir))
		if err != nil && strings.Contains(err.Error(), "404 Not Found") {
			n = 0 // the directory is not there at all
			return true, "", nil
		}
		if err != nil {
			return false, err.Error(), nil
		}
		n = strings.Count(body, "<a href=")
		return true, "", nil
	})
	return n
}

// TestDevDeletingASyncedDirectoryMappedToRoot syncs files with the rule
// {src: data/**, dest: /, strip: data} into both replicas of a busybox
// image (synced through tar), then removes the local data directory: the
// synced files must go, and nothing else. The directory itself maps to
// the rule's destination, "/", which skiff must never delete: it used to
// run `rm -rf -- / ...` in the container and wipe its root file system.
func TestDevDeletingASyncedDirectoryMappedToRoot(t *testing.T) {
	c := newCluster(t)
	ns := c.newNamespace(t)
	dir := tarProjectSyncing(t, `manual: [{src: "data/**", dest: /, strip: data}]`)
	r := devBackground(t, dir, ns)
	pods := c.waitReady(t, ns, "app=web", 2)

	m := r.mark()
	writeTree(t, filepath.Join(dir, "app"), map[string]string{"data/a.txt": "a\n", "data/sub/b.txt": "b\n"})
	r.waitSince(t, m, devStepTimeout, syncedLine)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, pod := range pods {
		out, _, err := c.exec(ctx, ns, pod, "web", []string{"cat", "/a.txt", "/sub/b.txt"}, nil)
		if err != nil || string(out) != "a\nb\n" {
			t.Fatalf("pod %s: the synced files read %q (%v), want \"a\\nb\\n\"", pod, out, err)
		}
	}

	before := c.devPodStates(t, ns, "app=web")
	if err := os.RemoveAll(filepath.Join(dir, "app", "data")); err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods {
		waitFor(t, devStepTimeout, "the synced files to be deleted in pod "+pod, func(ctx context.Context) (bool, string, error) {
			out, _, err := c.exec(ctx, ns, pod, "web", []string{"ls", "/"}, nil)
			if err != nil {
				return false, "", fmt.Errorf("the container no longer runs commands: %w\nstderr:\n%s", err, r.errOut)
			}
			return !strings.Contains(string(out), "a.txt") && !strings.Contains(string(out), "sub"), "/ holds " + strings.Join(strings.Fields(string(out)), " "), nil
		})
		out, _, err := c.exec(ctx, ns, pod, "web", []string{"ls", "/bin/busybox", "/server", "/srv/index.html"}, nil)
		if err != nil {
			t.Errorf("pod %s lost files it did not get from sync: %v (%s)\nstderr:\n%s", pod, err, out, r.errOut)
		}
	}
	expectServed(t, c.forwardEach(t, ns, pods, 8080), "/index.html", "<h1>tar v1</h1>\n")
	c.expectSamePods(t, ns, "app=web", before)
	c.stopAndCheckCleanup(t, r, ns)
}
