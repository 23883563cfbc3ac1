// Package deliver puts skiff-agent into pods whose images have no tar or
// shell, so that file sync works in FROM scratch and distroless images: it
// finds the agent binary (FindBinary), packs it into a one-file image and
// pushes that (Image, Publish), and adds to pod templates an init
// container that copies the agent into an emptyDir the app containers
// mount at /skiff (Inject). Dev mode only: skiff run deploys manifests as
// they are.
package deliver
