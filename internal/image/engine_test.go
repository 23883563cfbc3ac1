package image

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/client"
)

// fakeEngine serves the few Engine API endpoints this package calls, so
// that the real moby client is exercised over HTTP (on loopback).
type fakeEngine struct {
	mu       sync.Mutex
	images   map[string]string // name -> ID
	loaded   int64             // bytes of the last load
	pushAuth string
	digest   string
}

func (e *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	path := r.URL.Path
	if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v1.") && i > 0 {
		path = path[i+1:] // drop the /v1.xx version prefix
	}
	notFound := func(what string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"message": "No such image: " + what})
	}
	switch {
	case path == "/_ping":
		w.Header().Set("Api-Version", "1.41")
		io.WriteString(w, "OK")
	case path == "/images/load" && r.Method == http.MethodPost:
		n, _ := io.Copy(io.Discard, r.Body)
		e.loaded = n
		e.images["app:v1"] = "sha256:" + strings.Repeat("d", 64)
		io.WriteString(w, `{"stream":"Loaded image: app:v1\n"}`+"\n")
	case strings.HasSuffix(path, "/json") && strings.HasPrefix(path, "/images/"):
		ref := strings.TrimSuffix(strings.TrimPrefix(path, "/images/"), "/json")
		id, ok := e.images[ref]
		if !ok {
			notFound(ref)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"Id": id})
	case strings.HasSuffix(path, "/push"):
		e.pushAuth = r.Header.Get("X-Registry-Auth")
		io.WriteString(w, `{"status":"v1: digest: `+e.digest+` size: 528"}`+"\n"+`{"aux":{"Tag":"v1","Digest":"`+e.digest+`","Size":528}}`+"\n")
	default:
		http.Error(w, "fake engine: "+r.Method+" "+path+" not served", http.StatusNotImplemented)
	}
}

func TestEngineAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := &fakeEngine{images: map[string]string{}, digest: "sha256:" + strings.Repeat("e", 64)}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c, err := client.New(client.WithHost("tcp://" + strings.TrimPrefix(srv.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if _, ok, err := ImageID(ctx, c, "app:v1"); err != nil || ok {
		t.Fatalf("ImageID of a missing image = %v, %v; want false, nil", ok, err)
	}
	id, err := Load(ctx, c, "app:v1", randomImage(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	if id != e.images["app:v1"] || e.loaded == 0 {
		t.Errorf("Load = %s after sending %d bytes; want %s", id, e.loaded, e.images["app:v1"])
	}
	d, err := PushFromDaemon(ctx, c, "127.0.0.1:5000/app:v1", WithKeychain(staticKeychain{authn.FromConfig(authn.AuthConfig{Username: "u", Password: "p"})}))
	if err != nil {
		t.Fatal(err)
	}
	if d != e.digest {
		t.Errorf("PushFromDaemon = %s, want %s", d, e.digest)
	}
	if e.pushAuth == "" {
		t.Error("the push carried no X-Registry-Auth header")
	}
}
