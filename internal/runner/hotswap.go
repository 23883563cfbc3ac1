package runner

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"
	"skiff.dev/skiff/internal/output"
	"skiff.dev/skiff/internal/sync"
	"skiff.dev/skiff/internal/sync/agentproto"
)

// A hot swap serves a Go change of a ko artifact without a new pod: skiff
// builds the executable alone on the host (build.ExecutableBuilder),
// writes it to agentproto.AppDir in each running container through the
// agent session and asks skiff-agent run, the supervisor the development
// image runs the app under (deliver.Dev.Supervised), to restart the app
// from it. The two operations go into the syncer's history, so a
// container that restarts or a pod that is replaced gets the current
// executable, after the files synced before it, as it catches up.

// noSupervisor is what an agent says when the container's process does
// not run under skiff-agent run (agent.Restart): a manifest's command
// replaced the development image's entrypoint.
const noSupervisor = "does not run under skiff-agent run"

// swappable says whether a rebuild of the artifact of image name can be a
// hot swap, and returns the program its development image supervises.
func (d *dev) swappable(name string) (program string, ok bool) {
	if !d.opts.HotSwap || d.syncer == nil || d.imageChanged[name] || d.noSupervisor[name] {
		return "", false
	}
	a := d.artifact(name)
	if a == nil || a.KoArtifact == nil {
		return "", false
	}
	im, ok := d.images[name]
	if !ok || d.r.supervised[im.Ref] == "" {
		return "", false
	}
	// An artifact that others require is rebuilt: they build on its image.
	if len(dependents(d.r.opts.Project.Artifacts(), map[string]bool{name: true})) > 1 {
		return "", false
	}
	return d.r.supervised[im.Ref], true
}

// artifact is the project's artifact of image name.
func (d *dev) artifact(name string) *schema.Artifact {
	for _, a := range d.r.opts.Project.Artifacts() {
		if a.ImageName == name {
			return a
		}
	}
	return nil
}

// noteImageChange records that a change of the artifact of image name
// needs a new image, not a hot swap: a file under a kodata directory that
// no sync rule covers changes the image's kodata layer. A build of the
// artifact clears it (record).
func (d *dev) noteImageChange(name string, paths []string) {
	for _, p := range paths {
		if slices.Contains(strings.Split(filepath.ToSlash(p), "/"), "kodata") {
			if d.imageChanged == nil {
				d.imageChanged = map[string]bool{}
			}
			d.imageChanged[name] = true
			return
		}
	}
}

// hotSwaps serves the artifacts of names (and the stale ones) that can be
// hot-swapped (swappable) by a hot swap each, and returns those left to
// rebuild. A swap that does not compile leaves the old process serving:
// its artifact is marked stale and returned in failed, not to be rebuilt
// now. A swap the containers cannot take (no supervisor) is rebuilt.
func (d *dev) hotSwaps(ctx context.Context, names []string) (rest []string, failed map[string]bool, err error) {
	failed = map[string]bool{}
	all := slices.Sorted(slices.Values(slices.Concat(slices.Collect(maps.Keys(d.stale)), names)))
	for _, name := range slices.Compact(all) {
		program, ok := d.swappable(name)
		if !ok {
			if slices.Contains(names, name) {
				rest = append(rest, name)
			}
			continue
		}
		switch serr := d.swap(ctx, name, program); {
		case serr == nil:
		case ctx.Err() != nil:
			return nil, failed, ctx.Err()
		case strings.Contains(serr.Error(), noSupervisor):
			d.printf("Hot swap of %s: %v\nRebuilding and redeploying it instead, and on its next Go changes until the manifests change (a manifest's command: replaces the development image's entrypoint, skiff-agent run; --hot-swap=false always rebuilds)\n", name, serr)
			if d.noSupervisor == nil {
				d.noSupervisor = map[string]bool{}
			}
			d.noSupervisor[name] = true
			rest = append(rest, name)
		default:
			failed[name] = true
			err = serr
		}
	}
	return rest, failed, err
}

// swap builds the executable of the artifact of image name and swaps it
// into its running containers for program. It prints what it did.
func (d *dev) swap(ctx context.Context, name, program string) error {
	a := d.artifact(name)
	im := d.images[name]
	start := time.Now()
	fmt.Fprintf(d.r.opts.ErrOut, "Building [%s] for a hot swap...\n", name)
	lines := output.NewLines(d.r.opts.ErrOut)
	out := lines.Prefixed("[" + name + "] ")
	events := d.r.opts.Events
	events.TaskStarted(event.TaskBuild, "Building "+name+" for a hot swap")
	events.Publish(event.ArtifactBuild(name, "Build", false, nil, "", 0))
	// The compiler's messages go to the events too, where the dashboard
	// shows a failed build's output.
	logs := events.LogWriter(event.TaskBuild, name)
	tmp, err := d.newSwapFile(name)
	if err == nil {
		defer os.Remove(tmp) // renamed when the build succeeds
		_, err = d.r.buildExecutable(ctx, a, tmp, io.MultiWriter(out, logs))
	}
	out.Flush()
	logs.Flush()
	events.Publish(event.ArtifactBuild(name, "Build", true, err, im.Ref, time.Since(start)))
	events.TaskEnded(event.TaskBuild, err)
	if err != nil {
		if ctx.Err() == nil {
			d.stale[name] = true
			d.printf("Build of %s failed: %v\nThe previous version keeps running. Watching for changes...\n", name, err)
		}
		return err
	}
	built := time.Since(start)
	local, err := d.installSwapFile(name, tmp)
	if err != nil {
		d.stale[name] = true
		d.printf("Hot swap of %s: %v\nThe previous version keeps running.\n", name, err)
		return err
	}
	dest := path.Join(agentproto.AppDir, path.Base(program))
	// The executable goes as a patch against the previous one where the
	// container has it (sync.Op.Delta).
	sent := &sync.Sent{}
	ops := []sync.Op{
		{Kind: sync.Write, Local: local, Base: filepath.Dir(local), Dest: dest, Root: agentproto.AppDir, Delta: sent},
		{Kind: sync.Restart, Local: local, Base: filepath.Dir(local), Dest: dest, Root: agentproto.AppDir},
	}
	rep, err := d.syncer.Sync(ctx, im, ops)
	if err != nil {
		if !strings.Contains(err.Error(), noSupervisor) && ctx.Err() == nil {
			d.printf("Hot swap of %s failed: %v\nContainers that start get the new executable. Watching for changes...\n", name, err)
		}
		return err
	}
	delete(d.stale, name)
	took := output.Duration(time.Since(start))
	if rep.Containers == 0 {
		d.printf("Built %s for a hot swap in %s; no container of it runs: those that start get it\n", name, output.Duration(built))
		return nil
	}
	d.r.opts.Log.Debugf("hot swap of %s: built after %s, then %s reading, hashing and diffing the executable for %d containers", name, output.Duration(built), output.Duration(time.Duration(sent.Prepare.Load())), sent.Files.Load())
	d.printf("Hot-swapped %s into %s in %s (go build %s)%s, no new pod\nWatching for changes...\n", name, plural(rep.Containers, d.r.unit()), took, output.Duration(built), sentText(sent))
	return nil
}

// sentText says what a hot swap sent of its executable, e.g. ", sent
// 240 KB for 16.6 MB (2 of 2 as patches)", or "" when it went through a
// transport that does not count it (tar).
func sentText(s *sync.Sent) string {
	if s.Files.Load() == 0 {
		return ""
	}
	return fmt.Sprintf(", sent %s for %s (%d of %d as patches)", megabytes(s.Bytes.Load()), megabytes(s.Size.Load()), s.Patched.Load(), s.Files.Load())
}

// megabytes is n bytes in MB to a tenth, or in KB under 1 MB.
func megabytes(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// newSwapFile makes an empty file in the session's swap directory (made
// on first use, removed when dev ends) for the next executable of the
// artifact of image name, which go build writes there.
func (d *dev) newSwapFile(name string) (string, error) {
	if d.swapDir == "" {
		dir, err := os.MkdirTemp("", "skiff-hotswap-")
		if err != nil {
			return "", fmt.Errorf("making a directory for hot-swapped executables: %w", err)
		}
		d.swapDir = dir
	}
	f, err := os.CreateTemp(d.swapDir, ".new-*")
	if err != nil {
		return "", fmt.Errorf("making a file for the executable of %s in %s: %w", name, d.swapDir, err)
	}
	f.Close()
	return f.Name(), nil
}

// installSwapFile makes tmp, from newSwapFile, the executable of the
// artifact of image name, replacing the previous one whole, and returns
// its path.
func (d *dev) installSwapFile(name, tmp string) (string, error) {
	file := filepath.Join(d.swapDir, strings.NewReplacer("/", "_", ":", "_").Replace(name))
	err := os.Chmod(tmp, 0o755)
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		return "", fmt.Errorf("writing the executable of %s to %s: %w", name, d.swapDir, err)
	}
	return file, nil
}

// steer sends the port-forwards' new connections to other pods than c's
// while a hot swap restarts c's app (kube.Forwarder.Steer), until
// release.
func (r *Runner) steer(ctx context.Context, c container) (release func()) {
	f := r.forwarder.Load()
	if f == nil || c.Target.Pod == "" {
		return func() {}
	}
	return f.Steer(ctx, c.Target.Namespace, c.Target.Pod)
}

// removeSwapDir removes the hot-swapped executables when dev ends.
func (d *dev) removeSwapDir() {
	if d.swapDir != "" {
		os.RemoveAll(d.swapDir)
	}
}

// buildExecutable builds the executable of a alone (a ko artifact), with
// the platform and options of the last build, into file; the compiler's
// messages go to out.
func (r *Runner) buildExecutable(ctx context.Context, a *schema.Artifact, file string, out io.Writer) (build.Executable, error) {
	builders, err := r.kinds.Builders([]*schema.Artifact{a}, build.Services{Env: r.buildEnv()})
	if err != nil {
		return build.Executable{}, err
	}
	b, ok := builders[a.BuilderType()].(build.ExecutableBuilder)
	if !ok {
		return build.Executable{}, fmt.Errorf("artifact %q: the %s builder cannot build an executable alone", a.ImageName, a.BuilderType())
	}
	platforms := a.Platforms
	if len(platforms) == 0 {
		platforms = r.lastBuild.Platforms
	}
	exe, err := b.Executable(ctx, a, build.Request{Platforms: platforms, Env: r.opts.Project.Env, Out: out, Debug: r.lastBuild.Debug, DevMode: true}, file)
	if err != nil {
		return build.Executable{}, fmt.Errorf("building artifact %q: %w", a.ImageName, err)
	}
	return exe, nil
}
