package buildpacks

import (
	"fmt"
	"strconv"
	"strings"
)

// Where the platform mounts things in the lifecycle's containers.
const (
	layersDir      = "/layers"
	appDir         = "/workspace"
	platformDir    = "/platform"
	cacheDir       = "/cache"
	launchCacheDir = "/launch-cache"
	dockerSocket   = "/var/run/docker.sock"
	reportPath     = layersDir + "/report.toml"
	// goCacheDir is the Go build cache of skiff's build image, which the
	// skiff/go buildpack builds with: the standard library compiled by
	// make builder, owned by the build user.
	goCacheDir = "/var/cache/skiff-go"
	groupPath  = layersDir + "/group.toml"
)

// buildPlan is everything the phases' containers are made from.
type buildPlan struct {
	API APIVersion
	// Tag is the image to export (repository:tag).
	Tag string
	// Previous is the image whose layers a rebuild reuses, exported too:
	// the repository's :latest, as in Skaffold, whose tags change every
	// build; "" when Tag is that already.
	Previous string
	// Push exports to the registry; otherwise into the Docker daemon.
	Push     bool
	RunImage string
	UID, GID int
	// BuilderImage runs detect and build (and the creator);
	// LifecycleImage runs the phases that see credentials.
	BuilderImage, LifecycleImage string
	// The volumes: per build (layers, app, platform), per application
	// (cache, launch cache).
	LayersVolume, AppVolume, PlatformVolume, CacheVolume, LaunchCacheVolume string
	// GoCacheVolume is the application's Go build cache, kept between
	// builds and mounted over the build image's goCacheDir (Docker seeds
	// a new volume with the image's standard library and its owner, the
	// build user), so that a rebuild compiles only what changed; "" when
	// the builder has no skiff/go buildpack.
	GoCacheVolume string
	// DaemonSocket is the Docker Engine's unix socket on the host, bound
	// into the containers that export to or read from the daemon;
	// DaemonHost is DOCKER_HOST for a daemon reached over TCP instead.
	DaemonSocket, DaemonHost string
	Insecure                 []string
	// RegistryAuth is CNB_REGISTRY_AUTH, "" when there are no
	// credentials.
	RegistryAuth string
	// ExecEnv is CNB_EXEC_ENV, "" for the default (production).
	ExecEnv string
	// BuildBinds are the artifact's volumes, host:target[:ro].
	BuildBinds []string
}

// phase is one lifecycle container.
type phase struct {
	// Name is the lifecycle binary and the output prefix.
	Name  string
	Image string
	// Cmd is the command, /cnb/lifecycle/<name> and its flags.
	Cmd  []string
	Env  []string
	User string
	// Binds are volumes and host directories, source:target[:ro].
	Binds []string
	// What the platform copies into the container before it starts: the
	// application and the platform directory (into their volumes), the
	// order and the buildpacks that are not the builder's.
	CopyApp, CopyPlatform, CopyBuildpacks bool
	// DebugBuild runs the builder at log level debug, to learn which
	// buildpack fails.
	DebugBuild bool
	// Exports says this container exports the image.
	Exports bool
}

func (p *buildPlan) env(credentials bool, execEnv bool) []string {
	env := []string{
		"CNB_PLATFORM_API=" + p.API.String(),
		"CNB_USER_ID=" + strconv.Itoa(p.UID),
		"CNB_GROUP_ID=" + strconv.Itoa(p.GID),
	}
	if credentials && p.RegistryAuth != "" {
		env = append(env, "CNB_REGISTRY_AUTH="+p.RegistryAuth)
	}
	if credentials && !p.Push && p.DaemonHost != "" {
		env = append(env, "DOCKER_HOST="+p.DaemonHost)
	}
	if execEnv && p.ExecEnv != "" {
		env = append(env, "CNB_EXEC_ENV="+p.ExecEnv)
	}
	return env
}

func logFlags(level string) []string { return []string{"-log-level", level, "-no-color"} }

// previousFlags name the previous image and export it too (analyzer,
// creator).
func (p *buildPlan) previousFlags() []string {
	if p.Previous == "" {
		return nil
	}
	return []string{"-previous-image", p.Previous, "-tag", p.Previous}
}

func (p *buildPlan) insecureFlags() []string {
	var out []string
	if p.API.AtLeast(APIVersion{0, 13}) {
		for _, r := range p.Insecure {
			out = append(out, "-insecure-registry", r)
		}
	}
	return out
}

// daemon adds what exporting to (or reading the previous image from) the
// Docker daemon needs.
func (p *buildPlan) daemon(cmd []string, binds []string, launchCache bool) ([]string, []string) {
	if p.Push {
		return cmd, binds
	}
	cmd = append(cmd, "-daemon")
	if launchCache {
		cmd = append(cmd, "-launch-cache", launchCacheDir)
		binds = append(binds, p.LaunchCacheVolume+":"+launchCacheDir)
	}
	if p.DaemonSocket != "" {
		binds = append(binds, p.DaemonSocket+":"+dockerSocket)
	}
	return cmd, binds
}

// buildpackBinds are the mounts of the containers that run the
// buildpacks' build: the Go build cache, then the artifact's volumes.
func (p *buildPlan) buildpackBinds() []string {
	var binds []string
	if p.GoCacheVolume != "" {
		binds = append(binds, p.GoCacheVolume+":"+goCacheDir)
	}
	return append(binds, p.BuildBinds...)
}

// platformBind mounts the build's platform volume at /platform without
// Docker's copy of the image's /platform into it: skiff writes the
// platform directory itself (CopyPlatform), and Docker copying the builder
// image's /platform/env into the volume while a container created at the
// same time has skiff's copy write there failed the build ("failed to
// mkdir .../_data/env: file exists").
func (p *buildPlan) platformBind() string {
	return p.PlatformVolume + ":" + platformDir + ":nocopy"
}

func (p *buildPlan) buildUser() string { return strconv.Itoa(p.UID) + ":" + strconv.Itoa(p.GID) }

// creator is the one container of a trusted builder: all phases in the
// builder image, with the credentials.
func (p *buildPlan) creator() phase {
	cmd := []string{"/cnb/lifecycle/creator",
		"-app", appDir, "-layers", layersDir, "-platform", platformDir,
		"-cache-dir", cacheDir, "-report", reportPath, "-run-image", p.RunImage}
	binds := []string{p.LayersVolume + ":" + layersDir, p.AppVolume + ":" + appDir, p.platformBind(), p.CacheVolume + ":" + cacheDir}
	cmd, binds = p.daemon(cmd, binds, true)
	cmd = append(cmd, p.previousFlags()...)
	cmd = append(cmd, p.insecureFlags()...)
	cmd = append(cmd, logFlags("info")...)
	cmd = append(cmd, p.Tag)
	return phase{
		Name: "creator", Image: p.BuilderImage, Cmd: cmd, Env: p.env(true, true), User: "root",
		Binds:   append(binds, p.buildpackBinds()...),
		CopyApp: true, CopyPlatform: true, CopyBuildpacks: true, Exports: true,
	}
}

// phases are the five containers of an untrusted builder: analyzer,
// restorer and exporter run from the lifecycle image with the
// credentials; detector and builder run the buildpacks from the builder
// image as the build user, without them.
func (p *buildPlan) phases() []phase {
	layers := p.LayersVolume + ":" + layersDir
	app := p.AppVolume + ":" + appDir
	platform := p.platformBind()
	cache := p.CacheVolume + ":" + cacheDir

	analyze := []string{"/cnb/lifecycle/analyzer", "-layers", layersDir, "-run-image", p.RunImage}
	analyzeBinds := []string{layers}
	analyze, analyzeBinds = p.daemon(analyze, analyzeBinds, true)
	analyze = append(append(append(append(analyze, p.previousFlags()...), p.insecureFlags()...), logFlags("info")...), p.Tag)

	detect := append([]string{"/cnb/lifecycle/detector", "-app", appDir, "-layers", layersDir, "-platform", platformDir}, logFlags("info")...)

	restore := []string{"/cnb/lifecycle/restorer", "-layers", layersDir, "-cache-dir", cacheDir}
	restoreBinds := []string{layers, cache}
	restore, restoreBinds = p.daemon(restore, restoreBinds, false)
	restore = append(append(restore, p.insecureFlags()...), logFlags("info")...)

	build := append([]string{"/cnb/lifecycle/builder", "-app", appDir, "-layers", layersDir, "-platform", platformDir}, logFlags("debug")...)

	export := []string{"/cnb/lifecycle/exporter", "-app", appDir, "-layers", layersDir, "-cache-dir", cacheDir, "-report", reportPath}
	exportBinds := []string{layers, app, cache}
	export, exportBinds = p.daemon(export, exportBinds, true)
	export = append(append(append(export, p.insecureFlags()...), logFlags("info")...), p.Tag)
	if p.Previous != "" {
		export = append(export, p.Previous)
	}

	return []phase{
		{Name: "analyzer", Image: p.LifecycleImage, Cmd: analyze, Env: p.env(true, false), User: "root", Binds: analyzeBinds},
		// The application and the platform directory go into their
		// volumes once, with the detector's inputs.
		{Name: "detector", Image: p.BuilderImage, Cmd: detect, Env: p.env(false, true), User: p.buildUser(),
			Binds: append([]string{layers, app, platform}, p.BuildBinds...), CopyApp: true, CopyPlatform: true, CopyBuildpacks: true},
		{Name: "restorer", Image: p.LifecycleImage, Cmd: restore, Env: p.env(true, false), User: "root", Binds: restoreBinds},
		{Name: "builder", Image: p.BuilderImage, Cmd: build, Env: p.env(false, true), User: p.buildUser(),
			Binds: append([]string{layers, app, platform}, p.buildpackBinds()...), CopyBuildpacks: true, DebugBuild: true},
		// The exporter records the exec env in the image's labels.
		{Name: "exporter", Image: p.LifecycleImage, Cmd: export, Env: p.env(true, true), User: "root", Binds: exportBinds, Exports: true},
	}
}

// setDaemon records how the containers reach the Docker daemon to export
// into: its unix socket bound in, or DOCKER_HOST over TCP.
func (p *buildPlan) setDaemon(host string) error {
	switch {
	case strings.HasPrefix(host, "unix://"):
		p.DaemonSocket = strings.TrimPrefix(host, "unix://")
	case strings.HasPrefix(host, "tcp://"):
		p.DaemonHost = host
	default:
		return fmt.Errorf("the lifecycle cannot export into the Docker Engine at %s (only unix sockets and tcp:// are passed to its container); push the image instead (--push, --default-repo)", host)
	}
	return nil
}
