//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh/agent"

	skbuild "skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/deps"
	"skiff.dev/skiff/internal/build/dockerbuild"
	"skiff.dev/skiff/internal/config"
	"skiff.dev/skiff/internal/config/schema"
)

// The docker builder against the real Docker Engine, with the classic
// builder and with BuildKit. Nothing is pulled: images start FROM scratch
// or FROM a busybox image the test builds from the host's static busybox
// (Debian's busybox-static).

// dockerBuilders are the two daemon builders every case runs with.
var dockerBuilders = []struct {
	name     string
	buildKit bool
}{{"classic", false}, {"buildkit", true}}

// dockerBuildBase builds an image with a shell, the host's static busybox
// installed into a scratch image, and removes it when the test ends. The
// daemon's cache makes every build after the first one instant.
func dockerBuildBase(t *testing.T, docker *client.Client) string {
	t.Helper()
	bin, err := lookBusyboxE2E()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nENV PATH=/bin\n"})
	ref := "skiff-e2e-busybox:" + randomSuffix(t)
	a := &schema.Artifact{ImageName: "skiff-e2e-busybox", Workspace: dir, ArtifactType: schema.ArtifactType{DockerArtifact: &schema.DockerArtifact{}}}
	if _, out, err := dockerBuildE2E(t, docker, false, a, skbuild.Request{Tag: ref}); err != nil {
		t.Fatalf("building the busybox base image: %v\n%s", err, out)
	}
	return ref
}

// lookBusyboxE2E finds a static busybox on the host.
func lookBusyboxE2E() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no /bin/busybox: install Debian's busybox-static (apt-get install busybox-static)")
}

// dockerBuildE2E builds a with the chosen daemon builder, tagging it ref,
// removes the image when the test ends, and returns the result and the
// build's output.
func dockerBuildE2E(t *testing.T, docker *client.Client, buildKit bool, a *schema.Artifact, req skbuild.Request) (skbuild.Built, string, error) {
	t.Helper()
	b, err := dockerbuild.New(docker, dockerbuild.WithBuildKit(&buildKit))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	req.Out = &out
	if req.Env == nil {
		req.Env = config.Env{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	built, err := b.Build(ctx, a, req)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = docker.ImageRemove(ctx, req.Tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return built, out.String(), err
}

// dockerImageFilesE2E returns the regular files of an image in the daemon, by
// path, with their content, as `docker save` layers them.
func dockerImageFilesE2E(t *testing.T, docker *client.Client, ref string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := docker.ImageSave(ctx, []string{ref})
	if err != nil {
		t.Fatalf("saving %s: %v", ref, err)
	}
	defer rc.Close()
	blobs := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the saved %s: %v", ref, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			blobs[hdr.Name] = b
		}
	}
	var manifest []struct{ Layers []string }
	if err := json.Unmarshal(blobs["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("the saved %s has no usable manifest.json: %v", ref, err)
	}
	files := map[string]string{}
	for _, layer := range manifest[0].Layers {
		lr := tar.NewReader(bytes.NewReader(blobs[layer]))
		for {
			hdr, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("reading layer %s of %s: %v", layer, ref, err)
			}
			name := "/" + strings.TrimPrefix(path.Clean(hdr.Name), "/")
			if base := path.Base(name); strings.HasPrefix(base, ".wh.") {
				delete(files, path.Join(path.Dir(name), strings.TrimPrefix(base, ".wh.")))
				continue
			}
			if hdr.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(lr)
				files[name] = string(b)
			}
		}
	}
	return files
}

func dockerArtifactE2E(t *testing.T, files map[string]string, d *schema.DockerArtifact) *schema.Artifact {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	return &schema.Artifact{ImageName: "skiff-e2e-app", Workspace: dir, ArtifactType: schema.ArtifactType{DockerArtifact: d}}
}

// TestDockerBuildMultiStage builds a multi-stage Dockerfile with a required
// artifact passed as a build arg, a templated build arg, a target that
// leaves a later, broken stage out, and a .dockerignore with an exception,
// and reads the result back from the daemon.
func TestDockerBuildMultiStage(t *testing.T) {
	docker := newDocker(t)
	base := dockerBuildBase(t, docker)
	for _, bb := range dockerBuilders {
		t.Run(bb.name, func(t *testing.T) {
			a := dockerArtifactE2E(t, map[string]string{
				"Dockerfile": `ARG BASE
FROM $BASE AS build
ARG GREETING=unset
COPY . /src
RUN cd /src && find . -type f | sort > /listing && echo "$GREETING" > /greeting && echo "build says $GREETING"

FROM scratch AS final
COPY --from=build /listing /greeting /out/

FROM final AS broken
COPY does-not-exist.txt /
`,
				".dockerignore":       "*.log\ncache\n!cache/keep.txt\n",
				"app.txt":             "app\n",
				"debug.log":           "ignored\n",
				"cache/big.bin":       "ignored\n",
				"cache/keep.txt":      "kept\n",
				"src/nested/code.txt": "code\n",
			}, &schema.DockerArtifact{
				Target:    "final",
				NoCache:   true,
				BuildArgs: map[string]*string{"GREETING": ptrE2E("hello {{.WHO}} at {{.IMAGE_TAG}}")},
			})
			tag := "skiff-e2e-app:" + bb.name + "-" + randomSuffix(t)
			built, out, err := dockerBuildE2E(t, docker, bb.buildKit, a, skbuild.Request{
				Tag:      tag,
				Requires: []skbuild.Required{{ImageName: "skiff-e2e-busybox", Alias: "BASE", Ref: base}},
				Env:      config.Env{"WHO": "skiff"},
			})
			if err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			inspect, err := docker.ImageInspect(context.Background(), tag)
			if err != nil {
				t.Fatalf("the built image %s is not in the daemon: %v", tag, err)
			}
			if built.DaemonID != inspect.ID {
				t.Errorf("DaemonID %s, but %s is %s", built.DaemonID, tag, inspect.ID)
			}
			tagPart := strings.SplitN(tag, ":", 2)[1]
			if !strings.Contains(out, "build says hello skiff at "+tagPart) {
				t.Errorf("the RUN step's output was not streamed:\n%s", out)
			}
			files := dockerImageFilesE2E(t, docker, tag)
			if got := files["/out/greeting"]; got != "hello skiff at "+tagPart+"\n" {
				t.Errorf("/out/greeting = %q", got)
			}
			listing := strings.Fields(files["/out/listing"])
			for _, want := range []string{"./Dockerfile", "./app.txt", "./cache/keep.txt", "./src/nested/code.txt", "./.dockerignore"} {
				if !slices.Contains(listing, want) {
					t.Errorf("the context lacks %s: %q", want, listing)
				}
			}
			for _, notWant := range []string{"./debug.log", "./cache/big.bin"} {
				if slices.Contains(listing, notWant) {
					t.Errorf("the context has %s, which .dockerignore excludes: %q", notWant, listing)
				}
			}
			if len(files) != 2 {
				t.Errorf("the final stage has files %v, want only /out/listing and /out/greeting", keysE2E(files))
			}
		})
	}
}

// TestDockerBuildFailedStep shows that a failing RUN comes back naming the
// step, its Dockerfile line and its last output.
func TestDockerBuildFailedStep(t *testing.T) {
	docker := newDocker(t)
	base := dockerBuildBase(t, docker)
	for _, bb := range dockerBuilders {
		t.Run(bb.name, func(t *testing.T) {
			a := dockerArtifactE2E(t, map[string]string{
				"Dockerfile": "FROM " + base + "\nRUN echo step one\nRUN echo compiling && echo 'main.c:3: error: expected ;' >&2 && exit 3\nRUN echo never\n",
			}, &schema.DockerArtifact{NoCache: true})
			_, out, err := dockerBuildE2E(t, docker, bb.buildKit, a, skbuild.Request{Tag: "skiff-e2e-fail:" + randomSuffix(t)})
			var se *dockerbuild.StepError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *dockerbuild.StepError\n%s", err, err, out)
			}
			df := filepath.Join(a.Workspace, "Dockerfile")
			if se.Line != 3 || se.File != df || !strings.Contains(se.Step, "RUN echo compiling") {
				t.Errorf("StepError at %s:%d step %q, want %s:3 and the RUN echo compiling step", se.File, se.Line, se.Step, df)
			}
			msg := err.Error()
			for _, w := range []string{df + ":3", "RUN echo compiling", "main.c:3: error: expected ;", "compiling", "Fix the command"} {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			if strings.Contains(out, "never") {
				t.Errorf("the build went on after the failed step:\n%s", out)
			}
			t.Logf("the error as a user sees it:\n%s", msg)
		})
	}
}

// TestDockerBuildOptions passes network, addHost and cliFlags through to
// the daemon and checks their effect inside the build.
func TestDockerBuildOptions(t *testing.T) {
	docker := newDocker(t)
	base := dockerBuildBase(t, docker)
	for _, bb := range dockerBuilders {
		t.Run(bb.name, func(t *testing.T) {
			a := dockerArtifactE2E(t, map[string]string{
				"Dockerfile": "FROM " + base + "\nARG FLAGARG\nRUN grep -q 'db' /etc/hosts && grep db /etc/hosts && test \"$FLAGARG\" = from-flag && echo ok\nLABEL built=yes\n",
			}, &schema.DockerArtifact{
				NetworkMode: "none",
				AddHost:     []string{"db:10.1.2.3"},
				NoCache:     true,
				CliFlags:    []string{"--build-arg", "FLAGARG=from-flag", "--label=team={{.TEAM}}"},
			})
			tag := "skiff-e2e-opts:" + randomSuffix(t)
			_, out, err := dockerBuildE2E(t, docker, bb.buildKit, a, skbuild.Request{Tag: tag, Env: config.Env{"TEAM": "blue"}})
			if err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			if !strings.Contains(out, "10.1.2.3") {
				t.Errorf("addHost did not reach /etc/hosts of the build:\n%s", out)
			}
			inspect, err := docker.ImageInspect(context.Background(), tag)
			if err != nil {
				t.Fatal(err)
			}
			if inspect.Config == nil || inspect.Config.Labels["team"] != "blue" || inspect.Config.Labels["built"] != "yes" {
				t.Errorf("labels %v, want team=blue from cliFlags and built=yes", inspect.Config)
			}
		})
	}
}

// TestDockerBuildSquashNeedsExperimental shows the error for squash on an
// Engine without experimental features, as Debian's is by default.
func TestDockerBuildSquashNeedsExperimental(t *testing.T) {
	docker := newDocker(t)
	ping, err := docker.Ping(context.Background(), client.PingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ping.Experimental {
		t.Skip("the Docker Engine has experimental features: squash works")
	}
	a := dockerArtifactE2E(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /\n", "a.txt": "a"}, &schema.DockerArtifact{Squash: true})
	_, out, err := dockerBuildE2E(t, docker, false, a, skbuild.Request{Tag: "skiff-e2e-squash:" + randomSuffix(t)})
	if err == nil || !strings.Contains(err.Error(), "experimental") {
		t.Errorf("error %v, want one saying squash needs an experimental Engine\n%s", err, out)
	}
}

// TestDockerBuildSyntaxError shows that a broken Dockerfile is reported
// with its line before anything reaches the daemon.
func TestDockerBuildSyntaxError(t *testing.T) {
	docker := newDocker(t)
	a := dockerArtifactE2E(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /\nRUNN make\n", "a.txt": "a"}, &schema.DockerArtifact{})
	_, _, err := dockerBuildE2E(t, docker, false, a, skbuild.Request{Tag: "skiff-e2e-syntax:" + randomSuffix(t)})
	var de *deps.DockerfileError
	if !errors.As(err, &de) || de.Line != 3 {
		t.Fatalf("error %v, want a DockerfileError at line 3", err)
	}
}

// TestDockerBuildSecretsAndSSH shows BuildKit secrets, from a variable and
// from a file, and SSH agent forwarding reaching RUN steps through skiff's
// BuildKit session, and that the classic builder refuses them.
func TestDockerBuildSecretsAndSSH(t *testing.T) {
	docker := newDocker(t)
	base := dockerBuildBase(t, docker)
	agentSock := sshAgentE2E(t)
	secretFile := filepath.Join(t.TempDir(), "secret.txt")
	writeTree(t, filepath.Dir(secretFile), map[string]string{"secret.txt": "from-a-file"})
	files := map[string]string{
		"Dockerfile": "FROM " + base + `
RUN --mount=type=secret,id=token --mount=type=secret,id=file test "$(cat /run/secrets/token)" = s3cret && test "$(cat /run/secrets/file)" = from-a-file && echo secrets-ok
RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "ssh-ok"
`,
	}
	d := func() *schema.DockerArtifact {
		return &schema.DockerArtifact{
			NoCache: true,
			Secrets: []*schema.DockerSecret{{ID: "token", Env: "SKIFF_E2E_TOKEN"}, {ID: "file", Source: secretFile}},
			SSH:     "default",
		}
	}
	env := config.Env{"SKIFF_E2E_TOKEN": "s3cret", "SSH_AUTH_SOCK": agentSock}

	t.Run("buildkit", func(t *testing.T) {
		a := dockerArtifactE2E(t, files, d())
		tag := "skiff-e2e-secrets:" + randomSuffix(t)
		_, out, err := dockerBuildE2E(t, docker, true, a, skbuild.Request{Tag: tag, Env: env})
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		for _, w := range []string{"secrets-ok", "ssh-ok"} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %s:\n%s", w, out)
			}
		}
		for name, content := range dockerImageFilesE2E(t, docker, tag) {
			if strings.Contains(content, "s3cret") || strings.Contains(content, "from-a-file") {
				t.Errorf("a secret ended up in the image, in %s", name)
			}
		}
	})
	t.Run("classic refuses", func(t *testing.T) {
		a := dockerArtifactE2E(t, files, d())
		_, _, err := dockerBuildE2E(t, docker, false, a, skbuild.Request{Tag: "skiff-e2e-secrets:" + randomSuffix(t), Env: env})
		if err == nil || !strings.Contains(err.Error(), "need BuildKit") {
			t.Errorf("error %v, want one saying secrets need BuildKit", err)
		}
	})
	t.Run("missing secret", func(t *testing.T) {
		a := dockerArtifactE2E(t, files, d())
		_, _, err := dockerBuildE2E(t, docker, true, a, skbuild.Request{Tag: "skiff-e2e-secrets:" + randomSuffix(t), Env: config.Env{"SSH_AUTH_SOCK": agentSock}})
		if err == nil || !strings.Contains(err.Error(), "SKIFF_E2E_TOKEN") {
			t.Errorf("error %v, want one naming the unset variable", err)
		}
	})
}

// sshAgentE2E serves an SSH agent holding one fresh key on a socket in a
// temporary directory until the test ends.
func sshAgentE2E(t *testing.T) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key, Comment: "skiff-e2e"}); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "skiff-agent-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		os.RemoveAll(dir)
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	return sock
}

func ptrE2E(s string) *string { return &s }

func keysE2E(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
