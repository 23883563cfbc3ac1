package config

import (
	"slices"
	"testing"
	"time"

	"skiff.dev/skiff/internal/config/schema"
)

// project builds a project of one config per edit, in order; each edit
// sets what its config sets.
func project(edits ...func(*Config)) *Project {
	p := &Project{}
	for i, edit := range edits {
		c := &Config{File: "skaffold.yaml", Index: i}
		edit(c)
		p.Configs = append(p.Configs, c)
	}
	return p
}

// unset is a config that sets nothing.
func unset(*Config) {}

// TestStringSettings checks that a single-valued string setting comes from
// the first config that sets it.
func TestStringSettings(t *testing.T) {
	t.Parallel()
	settings := []struct {
		name string
		set  func(c *Config, v string)
		get  func(p *Project) string
	}{
		{"manifests.output", func(c *Config, v string) { c.Render.Output = v }, (*Project).RenderOutput},
		{"deploy.kubeContext", func(c *Config, v string) { c.Deploy.KubeContext = v }, (*Project).KubeContext},
		{"deploy.logs.prefix", func(c *Config, v string) { c.Deploy.Logs.Prefix = v }, (*Project).LogPrefix},
		{"deploy.kubectl.defaultNamespace", func(c *Config, v string) {
			c.Deploy.KubectlDeploy = &schema.KubectlDeploy{DefaultNamespace: &v}
		}, (*Project).DefaultNamespace},
	}
	for _, s := range settings {
		with := func(v string) func(*Config) { return func(c *Config) { s.set(c, v) } }
		cases := []struct {
			name string
			p    *Project
			want string
		}{
			{"no configs", project(), ""},
			{"none sets it", project(unset, unset), ""},
			{"the first wins", project(with("a"), with("b")), "a"},
			{"a config that leaves it out is skipped", project(unset, with("b")), "b"},
			{"empty counts as unset", project(with(""), with("b")), "b"},
		}
		for _, tc := range cases {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				if got := s.get(tc.p); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// TestLocalBuildSwitches checks that build.local.push and useBuildkit come
// from the first config that sets them, false included.
func TestLocalBuildSwitches(t *testing.T) {
	t.Parallel()
	settings := []struct {
		name string
		set  func(l *schema.LocalBuild, v bool)
		get  func(p *Project) *bool
	}{
		{"build.local.push", func(l *schema.LocalBuild, v bool) { l.Push = &v }, (*Project).Push},
		{"build.local.useBuildkit", func(l *schema.LocalBuild, v bool) { l.UseBuildkit = &v }, (*Project).UseBuildkit},
	}
	local := func(c *Config) { c.Build.LocalBuild = &schema.LocalBuild{} }
	for _, s := range settings {
		with := func(v bool) func(*Config) {
			return func(c *Config) {
				local(c)
				s.set(c.Build.LocalBuild, v)
			}
		}
		cases := []struct {
			name string
			p    *Project
			want *bool
		}{
			{"none sets it", project(unset, local), nil},
			{"the first wins", project(with(false), with(true)), ptr(false)},
			{"a config that leaves it out is skipped", project(unset, local, with(true)), ptr(true)},
		}
		for _, tc := range cases {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				got := s.get(tc.p)
				if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
					t.Errorf("got %v, want %v", show(got), show(tc.want))
				}
			})
		}
	}
}

func show(b *bool) any {
	if b == nil {
		return "unset"
	}
	return *b
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	with := func(n int) func(*Config) {
		return func(c *Config) { c.Build.LocalBuild = &schema.LocalBuild{Concurrency: &n} }
	}
	defaulted := func(c *Config) {
		c.Build.LocalBuild = &schema.LocalBuild{}
		setDefaults(c)
	}
	cases := []struct {
		name string
		p    *Project
		want int
	}{
		{"none sets it", project(unset), DefaultLocalConcurrency},
		{"0 means no limit and wins", project(with(0), with(4)), 0},
		{"a config that leaves it out is skipped", project(unset, with(3)), 3},
		{"after defaults the first local build wins", project(defaulted, with(3)), DefaultLocalConcurrency},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.p.Concurrency(); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestInsecureRegistries(t *testing.T) {
	t.Parallel()
	with := func(regs ...string) func(*Config) {
		return func(c *Config) { c.Build.InsecureRegistries = regs }
	}
	cases := []struct {
		name string
		p    *Project
		want []string
	}{
		{"none", project(unset), nil},
		{"every config's, in config order", project(with("a:5000"), unset, with("b:5000", "c:5000")), []string{"a:5000", "b:5000", "c:5000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.p.InsecureRegistries(); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatusCheck(t *testing.T) {
	t.Parallel()
	deploy := func(d schema.DeployConfig) func(*Config) {
		return func(c *Config) { c.Deploy = d }
	}
	cases := []struct {
		name string
		p    *Project
		want StatusCheck
	}{
		{"on by default", project(unset), StatusCheck{Enabled: true}},
		{"on when set on", project(deploy(schema.DeployConfig{StatusCheck: ptr(true)})), StatusCheck{Enabled: true}},
		{"off in any config turns it off", project(deploy(schema.DeployConfig{StatusCheck: ptr(true)}), deploy(schema.DeployConfig{StatusCheck: ptr(false)})), StatusCheck{}},
		{"the longest deadline wins", project(
			deploy(schema.DeployConfig{StatusCheckDeadlineSeconds: 90}),
			deploy(schema.DeployConfig{StatusCheckDeadlineSeconds: 30}),
		), StatusCheck{Enabled: true, Deadline: 90 * time.Second}},
		{"tolerating in any config tolerates", project(unset, deploy(schema.DeployConfig{TolerateFailuresUntilDeadline: true})), StatusCheck{Enabled: true, TolerateFailures: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.p.StatusCheck(); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
