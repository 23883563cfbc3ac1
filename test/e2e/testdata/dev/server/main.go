// Command server is the app of the skiff dev end-to-end test whose image
// has tar: it serves the files under /srv on port 8080, as they are at
// each request, so that a synced file is served at once.
package main

import (
	"log"
	"net/http"
)

func main() {
	log.Fatal(http.ListenAndServe(":8080", http.FileServer(http.Dir("/srv"))))
}
