package docker

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"skiff.dev/skiff/internal/artifact"
	"skiff.dev/skiff/internal/config/schema"
	"skiff.dev/skiff/internal/event"

	"skiff.dev/skiff/internal/kube"
)

// testDeployer is a Deployer of project "shop" on f, with ports in taken
// counted as in use.
func testDeployer(f *fakeDocker, taken []int, forwards ...schema.PortForwardResource) (*Deployer, *bytes.Buffer) {
	var out bytes.Buffer
	d := New(f, Options{Project: "shop", RunID: "run1", PortForwards: forwards, Out: &out})
	d.portFree = func(_ netip.Addr, port int) bool { return !slices.Contains(taken, port) }
	d.keychain = staticKeychain{}
	d.settle, d.poll = 5*time.Millisecond, time.Millisecond
	return d, &out
}

// staticKeychain has the same credentials for every registry.
type staticKeychain struct{}

func (staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: "ann", Password: "secret"}, nil
}

func forwardWeb(port, local int) schema.PortForwardResource {
	return schema.PortForwardResource{Type: "container", Name: "web", Port: schema.FromInt(port), LocalPort: local}
}

func deployWeb(t *testing.T, d *Deployer, ref string) error {
	t.Helper()
	return d.Deploy(context.Background(), &schema.DockerDeploy{Images: []string{"web"}}, []artifact.Image{{Name: "web", Ref: ref}})
}

func TestDeployRunsTheImage(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["web:v1"] = "sha256:1111"
	d, out := testDeployer(f, nil, forwardWeb(8080, 0))

	if err := deployWeb(t, d, "web:v1"); err != nil {
		t.Fatal(err)
	}
	want := " - container web started\nPort forwarding container web, remote port 8080 -> http://127.0.0.1:8080\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if len(f.networks) != 1 || f.networks[0].Name != "skiff-shop" || f.networks[0].Labels[kube.ProjectLabel] != "shop" {
		t.Fatalf("networks %+v, want skiff-shop labelled with the project", f.networks)
	}
	cs := f.live()
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	c := cs[0]
	if c.name != "web" || c.config.Image != "web:v1" || !c.running {
		t.Errorf("container %s runs %s (running %v), want web running web:v1", c.name, c.config.Image, c.running)
	}
	// The image's ENTRYPOINT, CMD and ENV apply: the deployer sets none.
	if c.config.Cmd != nil || c.config.Entrypoint != nil || c.config.Env != nil {
		t.Errorf("the container overrides the image's command or environment: %+v", c.config)
	}
	for k, v := range map[string]string{kube.ManagedByLabel: "skiff", kube.ProjectLabel: "shop", kube.RunIDLabel: "run1", imageLabel: "web"} {
		if c.config.Labels[k] != v {
			t.Errorf("label %s=%q, want %q", k, c.config.Labels[k], v)
		}
	}
	if c.host.NetworkMode != "skiff-shop" {
		t.Errorf("network mode %q, want skiff-shop", c.host.NetworkMode)
	}
	if ep := c.net.EndpointsConfig["skiff-shop"]; ep == nil || !slices.Equal(ep.Aliases, []string{"web"}) {
		t.Errorf("endpoint %+v, want the alias web on skiff-shop", ep)
	}
	port := network.MustParsePort("8080/tcp")
	if _, ok := c.config.ExposedPorts[port]; !ok {
		t.Errorf("8080/tcp is not exposed: %v", c.config.ExposedPorts)
	}
	if got := c.host.PortBindings[port]; len(got) != 1 || got[0].HostIP.String() != "127.0.0.1" || got[0].HostPort != "8080" {
		t.Errorf("8080/tcp is bound to %+v, want 127.0.0.1:8080", got)
	}

	// A second deploy of the same image keeps the container and the
	// network.
	out.Reset()
	f.calls = nil
	if err := deployWeb(t, d, "web:v1"); err != nil {
		t.Fatal(err)
	}
	want = " - container web unchanged\nPort forwarding container web, remote port 8080 -> http://127.0.0.1:8080\n"
	if out.String() != want {
		t.Errorf("unchanged output:\n%s\nwant:\n%s", out, want)
	}
	if len(f.calls) != 0 {
		t.Errorf("an unchanged deploy changed things: %v", f.calls)
	}
}

func TestDeployReplacesTheProjectsContainer(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["web:v2"] = "sha256:2222"
	f.add("web", true, map[string]string{kube.ProjectLabel: "shop", imageLabel: "web", specLabel: "old"})
	f.add("web-1", false, map[string]string{kube.ProjectLabel: "shop", imageLabel: "web", specLabel: "older"})
	other := f.add("api", true, map[string]string{kube.ProjectLabel: "shop", imageLabel: "api"})
	d, out := testDeployer(f, nil)

	if err := deployWeb(t, d, "web:v2"); err != nil {
		t.Fatal(err)
	}
	want := []string{"create network skiff-shop", "stop web after 2s", "remove web", "stop web-1 after 2s", "remove web-1", "create web", "start web"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
	if other.removed {
		t.Error("the project's container of another image was removed")
	}
	if out.String() != " - container web started\n" {
		t.Errorf("output %q", out)
	}
}

func TestDeployNamesAroundOthersContainers(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["gcr.io/acme/web:v1"] = "sha256:1111"
	f.add("gcr.io-acme-web", true, map[string]string{kube.ProjectLabel: "another"})
	d, out := testDeployer(f, nil, schema.PortForwardResource{Type: "Container", Name: "GCR.io/acme/web", Port: schema.FromInt(80), LocalPort: 9000})

	err := d.Deploy(context.Background(), &schema.DockerDeploy{Images: []string{"gcr.io/acme/web"}}, []artifact.Image{{Name: "gcr.io/acme/web", Ref: "gcr.io/acme/web:v1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := " - container gcr.io-acme-web-1 started\nPort forwarding container gcr.io-acme-web-1, remote port 80 -> http://127.0.0.1:9000\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	c := f.find("gcr.io-acme-web-1")
	if ep := c.net.EndpointsConfig["skiff-shop"]; !slices.Equal(ep.Aliases, []string{"gcr.io-acme-web"}) {
		t.Errorf("aliases %v, want the name without the suffix", ep.Aliases)
	}
}

func TestDeployUsesTheExistingNetwork(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["web:v1"] = "sha256:1111"
	f.networks = append(f.networks, network.Summary{}, network.Summary{})
	f.networks[0].ID, f.networks[0].Name = "n0", "skiff-shop-old" // the name filter matches it too
	f.networks[1].ID, f.networks[1].Name = "n1", "skiff-shop"
	d, _ := testDeployer(f, nil)

	if err := deployWeb(t, d, "web:v1"); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(f.calls, "create network skiff-shop") || len(f.networks) != 2 {
		t.Errorf("the network was created again: %v", f.calls)
	}
}

func TestDeployMovesTakenPorts(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["web:v1"] = "sha256:1111"
	d, out := testDeployer(f, []int{8080, 8081}, forwardWeb(8080, 0), forwardWeb(9090, 8082))

	if err := deployWeb(t, d, "web:v1"); err != nil {
		t.Fatal(err)
	}
	want := " - container web started\n" +
		"Port forwarding container web, remote port 8080 -> http://127.0.0.1:8082 (local port 8080 is taken)\n" +
		"Port forwarding container web, remote port 9090 -> http://127.0.0.1:8083 (local port 8082 is taken)\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

func TestDeployRetriesAPortTheDaemonFindsTaken(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["web:v1"] = "sha256:1111"
	first := true
	f.onCreate = func(c *fakeContainer) {
		if first {
			first = false
			c.startErr = errors.New("driver failed programming external connectivity on endpoint web (abc): Bind for 127.0.0.1:8080 failed: port is already allocated")
		}
	}
	d, out := testDeployer(f, nil, forwardWeb(8080, 0))

	if err := deployWeb(t, d, "web:v1"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"create network skiff-shop", "create web", "start web", "remove web", "create web", "start web"}; !slices.Equal(f.calls, want) {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
	if !strings.Contains(out.String(), "-> http://127.0.0.1:8081 (local port 8080 is taken)\n") {
		t.Errorf("output:\n%s", out)
	}
}

func TestDeployShowsTheOutputOfAContainerThatExits(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.images["web:v1"] = "sha256:1111"
	f.onCreate = func(c *fakeContainer) {
		c.states = []container.State{{Running: true}, {Status: container.StateExited, ExitCode: 2}}
		c.output = multiplexed("1:reading config\n", "2:panic: no database\n", "2:goroutine 1 [running]:\n")
	}
	d, out := testDeployer(f, nil)

	err := deployWeb(t, d, "web:v1")
	want := "container web (image web:v1) exited with code 2 right after it started; its last output (`docker logs web` shows all):\n" +
		"    reading config\n    panic: no database\n    goroutine 1 [running]:"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	if out.Len() != 0 {
		t.Errorf("a failed container was reported: %s", out)
	}
}

func TestDeployWaitsForTheHealthCheck(t *testing.T) {
	t.Parallel()
	starting := container.State{Running: true, Health: &container.Health{Status: container.Starting}}
	for _, tc := range []struct {
		name    string
		last    container.State
		wantErr string
	}{
		{"healthy", container.State{Running: true, Health: &container.Health{Status: container.Healthy}}, ""},
		{"unhealthy", container.State{Running: true, Health: &container.Health{
			Status: container.Unhealthy, FailingStreak: 3,
			Log: []*container.HealthcheckResult{{ExitCode: 1, Output: "curl: (7) Failed to connect\n"}},
		}}, "container web (image web:v1) is unhealthy: its HEALTHCHECK failed 3 times in a row; the last check exited with code 1: curl: (7) Failed to connect; it wrote nothing to stdout or stderr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			f.images["web:v1"] = "sha256:1111"
			f.onCreate = func(c *fakeContainer) {
				c.states = []container.State{starting, starting, starting, starting, starting, starting, starting, starting, starting, starting, tc.last}
			}
			d, out := testDeployer(f, nil)

			err := deployWeb(t, d, "web:v1")
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			wantOut := " - waiting for container web to pass its health check\n"
			if tc.wantErr == "" {
				wantOut += " - container web started\n"
			}
			if out.String() != wantOut {
				t.Errorf("output %q, want %q", out, wantOut)
			}
		})
	}
}

func TestDeployPullsAPushedImage(t *testing.T) {
	t.Parallel()
	const digest = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	f := newFake()
	f.registry["registry.example/web@"+digest] = "sha256:1111"
	d, out := testDeployer(f, nil)

	if err := deployWeb(t, d, "registry.example/web:v1@"+digest); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.pulls, []string{"registry.example/web@" + digest}) {
		t.Errorf("pulled %v", f.pulls)
	}
	var auth registry.AuthConfig
	b, _ := base64.URLEncoding.DecodeString(f.auths[0])
	if err := json.Unmarshal(b, &auth); err != nil || auth.Username != "ann" || auth.Password != "secret" || auth.ServerAddress != "registry.example" {
		t.Errorf("the pull's credentials are %+v (%v)", auth, err)
	}
	if want := " - pulling registry.example/web@" + digest + "\n - container web started\n"; out.String() != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if c := f.live()[0]; c.config.Image != "registry.example/web@"+digest {
		t.Errorf("the container runs %s", c.config.Image)
	}
}

func TestDeployErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		cfg     schema.DockerDeploy
		images  []artifact.Image
		forward schema.PortForwardResource
		wantErr string
	}{
		{"compose", schema.DockerDeploy{UseCompose: true, Images: []string{"web"}}, nil, schema.PortForwardResource{},
			"deploy.docker.useCompose: docker compose is not supported by skiff yet"},
		{"unbuilt image", schema.DockerDeploy{Images: []string{"api"}}, []artifact.Image{{Name: "web", Ref: "web:v1"}}, schema.PortForwardResource{},
			`deploy.docker.images lists "api", but no image of that name was built`},
		{"missing image", schema.DockerDeploy{Images: []string{"web"}}, []artifact.Image{{Name: "web", Ref: "web:gone"}}, schema.PortForwardResource{},
			"running web: the Docker daemon has no image web:gone and could not pull it: manifest for web:gone not found: manifest unknown; build it with `skiff build`"},
		{"named port", schema.DockerDeploy{Images: []string{"web"}}, []artifact.Image{{Name: "web", Ref: "web:v1"}},
			schema.PortForwardResource{Type: "container", Name: "web", Port: schema.FromString("http")},
			"portForward of container web, port http: a container's port must be a number"},
		{"bad address", schema.DockerDeploy{Images: []string{"web"}}, []artifact.Image{{Name: "web", Ref: "web:v1"}},
			schema.PortForwardResource{Type: "container", Name: "web", Port: schema.FromInt(80), Address: "my-laptop"},
			`portForward of container web, port 80: address "my-laptop" is not an IP address`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			f.images["web:v1"] = "sha256:1111"
			d, _ := testDeployer(f, nil, tc.forward)
			err := d.Deploy(context.Background(), &tc.cfg, tc.images)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
			if cs := f.live(); len(cs) != 0 {
				t.Errorf("a failed deploy left %d containers", len(cs))
			}
		})
	}
}

func TestDeployTellsHowToStartTheDaemon(t *testing.T) {
	t.Parallel()
	cli, err := client.New(client.WithHost("unix://" + t.TempDir() + "/docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	d := New(cli, Options{Project: "shop"})
	err = d.Deploy(context.Background(), &schema.DockerDeploy{Images: []string{"web"}}, []artifact.Image{{Name: "web", Ref: "web:v1"}})
	if err == nil || !strings.Contains(err.Error(), "does not answer") || !strings.Contains(err.Error(), "start dockerd") {
		t.Errorf("error %v, want one saying the daemon does not answer and how to start it", err)
	}
	if err := d.Delete(context.Background()); err == nil || !strings.Contains(err.Error(), "start dockerd") {
		t.Errorf("Delete: error %v, want one saying how to start the daemon", err)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.add("web", true, map[string]string{kube.ProjectLabel: "shop"})
	f.add("api", false, map[string]string{kube.ProjectLabel: "shop"})
	theirs := f.add("db", true, map[string]string{kube.ProjectLabel: "another"})
	f.networks = append(f.networks, network.Summary{}, network.Summary{})
	f.networks[0].ID, f.networks[0].Name, f.networks[0].Labels = "n1", "skiff-shop", map[string]string{kube.ProjectLabel: "shop"}
	f.networks[1].ID, f.networks[1].Name, f.networks[1].Labels = "n2", "skiff-another", map[string]string{kube.ProjectLabel: "another"}
	d, out := testDeployer(f, nil)

	if err := d.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := " - container api deleted\n - container web deleted\n - network skiff-shop deleted\n"; out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if cs := f.live(); len(cs) != 1 || cs[0] != theirs || len(f.networks) != 1 {
		t.Errorf("left %d containers and networks %v; want only the other project's", len(cs), f.networks)
	}
}

func TestForwardsFor(t *testing.T) {
	t.Parallel()
	pfs := []schema.PortForwardResource{
		{Type: "service", Name: "web", Port: schema.FromInt(1)},
		{Type: "container", Name: "api", Port: schema.FromInt(2)},
		{Type: "container", Name: "WEB", Port: schema.FromInt(8080)},
		{Type: "container", Name: "web", Port: schema.FromInt(9000), LocalPort: 9999, Address: "localhost"},
		{Type: "container", Name: "web", Port: schema.FromInt(53), Address: "::1"},
	}
	got, err := forwardsFor("web", pfs)
	if err != nil {
		t.Fatal(err)
	}
	want := []forward{
		{addr: netip.MustParseAddr("127.0.0.1"), port: network.MustParsePort("8080/tcp"), local: 8080},
		{addr: netip.MustParseAddr("127.0.0.1"), port: network.MustParsePort("9000/tcp"), local: 9999},
		{addr: netip.MustParseAddr("::1"), port: network.MustParsePort("53/tcp"), local: 53},
	}
	if !slices.Equal(got, want) {
		t.Errorf("forwards %+v, want %+v", got, want)
	}
	if b := (binding{forward: want[2], host: 54}); b.report("web") != "Port forwarding container web, remote port 53 -> http://[::1]:54 (local port 53 is taken)" {
		t.Errorf("IPv6 report %q", b.report("web"))
	}
}

func TestDaemonRef(t *testing.T) {
	t.Parallel()
	const digest = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	for ref, want := range map[string]string{
		"web:v1":                                 "web:v1",
		"web@" + digest:                          "web@" + digest,
		"web:v1@" + digest:                       "web@" + digest,
		"127.0.0.1:5001/a/web:v1@" + digest:      "127.0.0.1:5001/a/web@" + digest,
		"not a reference":                        "not a reference",
		"docker.io/library/web:latest@" + digest: "web@" + digest,
	} {
		if got := daemonRef(ref); got != want {
			t.Errorf("daemonRef(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestContainerName(t *testing.T) {
	t.Parallel()
	for image, want := range map[string]string{
		"web":                     "web",
		"gcr.io/acme/web":         "gcr.io-acme-web",
		"localhost:5000/Shop_API": "localhost-5000-Shop_API",
		"_web":                    "web",
		"///":                     "skiff",
	} {
		if got := containerName(image); got != want {
			t.Errorf("containerName(%q) = %q, want %q", image, got, want)
		}
	}
}

// Deploy publishes each container's status as a status check does a
// workload's: InProgress while it starts, then Succeeded, or Failed with
// the reason.
func TestDeployPublishesContainerStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		exits bool
		want  string
	}{
		{name: "runs", want: "container/web InProgress starting, container/web Succeeded running"},
		{name: "exits", exits: true, want: "container/web InProgress starting, container/web Failed container web (image web:v1) exited with code 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			f.images["web:v1"] = "sha256:1111"
			if tc.exits {
				f.onCreate = func(c *fakeContainer) {
					c.states = []container.State{{Running: true}, {Status: container.StateExited, ExitCode: 2}}
				}
			}
			d, _ := testDeployer(f, nil)
			bus := event.NewBus(0)
			sub := bus.Subscribe(10)
			d.opts.Events = bus
			err := deployWeb(t, d, "web:v1")
			if (err != nil) != tc.exits {
				t.Fatalf("deploy: %v", err)
			}
			bus.Close()
			var got []string
			for e := range sub.C {
				s := e.StatusCheckSubtaskEvent
				got = append(got, s.Resource+" "+s.Status+" "+s.Message)
				if s.Status == event.Failed && s.ActionableErr == nil {
					t.Errorf("the failure carries no error: %+v", s)
				}
			}
			if g := strings.Join(got, ", "); !strings.HasPrefix(g, tc.want) {
				t.Errorf("events %q, want them to start %q", g, tc.want)
			}
		})
	}
}
