// Command sync is skiff's file-sync example: it serves the files of its
// kodata directory, which `skiff dev` syncs into the running containers
// (a FROM scratch image with no tar: through skiff-agent), and answers
// /version from its Go code, which a change rebuilds.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

// version changes only with a rebuild.
const version = "v1"

func main() {
	addr := ":" + envOr("PORT", "8080")
	http.Handle("/", http.FileServer(http.Dir(envOr("KO_DATA_PATH", "kodata"))))
	http.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s (pod %s)\n", version, envOr("HOSTNAME", "unknown"))
	})
	log.Printf("listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
