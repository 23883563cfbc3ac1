package buildpacks

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func testPlan(push bool) *buildPlan {
	p := &buildPlan{
		API: APIVersion{0, 15}, Tag: "127.0.0.1:5001/app:v1", Previous: "127.0.0.1:5001/app:latest", Push: push, RunImage: "127.0.0.1:5001/run:1",
		UID: 1000, GID: 1001, BuilderImage: "sha256:builder", LifecycleImage: "skiff-cnb-lifecycle:x",
		LayersVolume: "L", AppVolume: "A", PlatformVolume: "P", CacheVolume: "C", LaunchCacheVolume: "LC",
		Insecure: []string{"reg.local:5000"}, RegistryAuth: `{"reg":"Basic eA=="}`, ExecEnv: "development",
		BuildBinds: []string{"/host:/data:ro"},
	}
	if !push {
		p.DaemonSocket = "/run/docker.sock"
	}
	return p
}

func hasEnv(ph phase, prefix string) bool {
	return slices.ContainsFunc(ph.Env, func(e string) bool { return strings.HasPrefix(e, prefix) })
}

func TestCreatorArgs(t *testing.T) {
	t.Parallel()
	reg := testPlan(true).creator()
	want := []string{"/cnb/lifecycle/creator", "-app", "/workspace", "-layers", "/layers", "-platform", "/platform",
		"-cache-dir", "/cache", "-report", "/layers/report.toml", "-run-image", "127.0.0.1:5001/run:1",
		"-previous-image", "127.0.0.1:5001/app:latest", "-tag", "127.0.0.1:5001/app:latest",
		"-insecure-registry", "reg.local:5000", "-log-level", "info", "-no-color", "127.0.0.1:5001/app:v1"}
	if !reflect.DeepEqual(reg.Cmd, want) {
		t.Errorf("creator to registry = %q\nwant %q", reg.Cmd, want)
	}
	if reg.Image != "sha256:builder" || reg.User != "root" || !reg.CopyApp || !reg.Exports {
		t.Errorf("creator = %+v", reg)
	}
	if wantBinds := []string{"L:/layers", "A:/workspace", "P:/platform:nocopy", "C:/cache", "/host:/data:ro"}; !reflect.DeepEqual(reg.Binds, wantBinds) {
		t.Errorf("creator binds = %q, want %q", reg.Binds, wantBinds)
	}
	for _, e := range []string{"CNB_PLATFORM_API=0.15", "CNB_USER_ID=1000", "CNB_GROUP_ID=1001", "CNB_REGISTRY_AUTH=", "CNB_EXEC_ENV=development"} {
		if !hasEnv(reg, e) {
			t.Errorf("creator env %q lacks %s", reg.Env, e)
		}
	}

	daemon := testPlan(false).creator()
	wantD := []string{"/cnb/lifecycle/creator", "-app", "/workspace", "-layers", "/layers", "-platform", "/platform",
		"-cache-dir", "/cache", "-report", "/layers/report.toml", "-run-image", "127.0.0.1:5001/run:1",
		"-daemon", "-launch-cache", "/launch-cache",
		"-previous-image", "127.0.0.1:5001/app:latest", "-tag", "127.0.0.1:5001/app:latest",
		"-insecure-registry", "reg.local:5000", "-log-level", "info", "-no-color", "127.0.0.1:5001/app:v1"}
	if !reflect.DeepEqual(daemon.Cmd, wantD) {
		t.Errorf("creator to daemon = %q\nwant %q", daemon.Cmd, wantD)
	}
	if !slices.Contains(daemon.Binds, "LC:/launch-cache") || !slices.Contains(daemon.Binds, "/run/docker.sock:/var/run/docker.sock") {
		t.Errorf("creator to daemon binds = %q", daemon.Binds)
	}
}

func TestFivePhases(t *testing.T) {
	t.Parallel()
	for _, push := range []bool{true, false} {
		phases := testPlan(push).phases()
		var names []string
		for _, ph := range phases {
			names = append(names, ph.Name)
			credentials := ph.Name == "analyzer" || ph.Name == "restorer" || ph.Name == "exporter"
			// Registry credentials reach only the lifecycle image's phases.
			if hasEnv(ph, "CNB_REGISTRY_AUTH=") != credentials {
				t.Errorf("push=%v %s: CNB_REGISTRY_AUTH present = %v, want %v", push, ph.Name, !credentials, credentials)
			}
			wantImage, wantUser := "sha256:builder", "1000:1001"
			if credentials {
				wantImage, wantUser = "skiff-cnb-lifecycle:x", "root"
			}
			if ph.Image != wantImage || ph.User != wantUser {
				t.Errorf("push=%v %s runs %s as %s, want %s as %s", push, ph.Name, ph.Image, ph.User, wantImage, wantUser)
			}
			if got := hasEnv(ph, "CNB_EXEC_ENV=development"); got != (ph.Name == "detector" || ph.Name == "builder" || ph.Name == "exporter") {
				t.Errorf("push=%v %s: CNB_EXEC_ENV = %v", push, ph.Name, got)
			}
			if ph.Cmd[0] != "/cnb/lifecycle/"+ph.Name {
				t.Errorf("%s runs %s", ph.Name, ph.Cmd[0])
			}
			daemonBound := slices.Contains(ph.Binds, "/run/docker.sock:/var/run/docker.sock")
			if daemonBound != (!push && credentials) || slices.Contains(ph.Cmd, "-daemon") != (!push && credentials) {
				t.Errorf("push=%v %s: daemon socket bound %v, cmd %q", push, ph.Name, daemonBound, ph.Cmd)
			}
			if slices.Contains(ph.Binds, "/host:/data:ro") != (ph.Name == "detector" || ph.Name == "builder") {
				t.Errorf("%s binds %q: the artifact's volumes belong to detect and build only", ph.Name, ph.Binds)
			}
		}
		if want := []string{"analyzer", "detector", "restorer", "builder", "exporter"}; !reflect.DeepEqual(names, want) {
			t.Errorf("phases = %v, want %v", names, want)
		}
		exp := phases[4]
		if !slices.Equal(exp.Cmd[len(exp.Cmd)-2:], []string{"127.0.0.1:5001/app:v1", "127.0.0.1:5001/app:latest"}) || !exp.Exports {
			t.Errorf("exporter = %+v", exp)
		}
		if !phases[1].CopyApp || !phases[1].CopyPlatform || phases[3].CopyApp || phases[3].CopyPlatform || !phases[3].DebugBuild {
			t.Errorf("the app and platform directory are copied once, into the detector; the builder runs at debug: %+v / %+v", phases[1], phases[3])
		}
		if !slices.Contains(phases[3].Binds, "P:/platform:nocopy") || !slices.Contains(phases[3].Binds, "A:/workspace") {
			t.Errorf("the builder binds %q: it needs the app and platform volumes", phases[3].Binds)
		}
		if !slices.Contains(phases[3].Cmd, "debug") || !slices.Contains(phases[1].Cmd, "info") {
			t.Errorf("log levels: detector %q, builder %q", phases[1].Cmd, phases[3].Cmd)
		}
	}
}

func TestPreviousImage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tag, want string }{
		{"127.0.0.1:5001/app:v1", "127.0.0.1:5001/app:latest"},
		{"127.0.0.1:5001/app:latest", ""},
	} {
		tag, err := name.NewTag(tc.tag)
		if err != nil {
			t.Fatal(err)
		}
		if got := previousImage(tag); got != tc.want {
			t.Errorf("previous image of %s = %q, want %q", tc.tag, got, tc.want)
		}
	}
	p := testPlan(true)
	p.Previous = ""
	if slices.Contains(p.creator().Cmd, "-previous-image") || slices.Contains(p.phases()[0].Cmd, "-tag") {
		t.Error("building :latest names a previous image")
	}
}

func TestInsecureFlagsNeedPlatform013(t *testing.T) {
	t.Parallel()
	p := testPlan(true)
	p.API = APIVersion{0, 12}
	if slices.Contains(p.creator().Cmd, "-insecure-registry") {
		t.Error("-insecure-registry passed to a Platform API 0.12 lifecycle, which lacks it")
	}
}

func TestSetDaemon(t *testing.T) {
	t.Parallel()
	p := &buildPlan{}
	if err := p.setDaemon("unix:///var/run/docker.sock"); err != nil || p.DaemonSocket != "/var/run/docker.sock" {
		t.Errorf("unix: %+v, %v", p, err)
	}
	p = &buildPlan{API: APIVersion{0, 15}, RegistryAuth: "x"}
	if err := p.setDaemon("tcp://127.0.0.1:2375"); err != nil || !hasEnv(p.creator(), "DOCKER_HOST=tcp://127.0.0.1:2375") {
		t.Errorf("tcp: %+v, %v", p, err)
	}
	if hasEnv(p.phases()[1], "DOCKER_HOST=") {
		t.Error("the detector is given the daemon")
	}
	if err := (&buildPlan{}).setDaemon("ssh://host"); err == nil || !strings.Contains(err.Error(), "--push") {
		t.Errorf("ssh: %v", err)
	}
}
