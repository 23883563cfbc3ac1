// Package deliver puts skiff-agent into containers whose images have no
// tar or shell, so that file sync works in FROM scratch and distroless
// images. It finds the agent binary (FindBinary). For pods, it appends
// to a built image a development layer that holds the agent and gives
// the sync destinations to the image's user (DevImage); where that cannot
// be used, it packs the agent into a one-file image and pushes that
// (Image, Push), and adds to pod templates an init container that copies
// the agent into an emptyDir the app containers mount at /skiff (Inject). For the docker deployer's
// containers, it copies the agent in through the Engine's copy API
// (CopyToContainer). Dev mode only: skiff run deploys manifests as they
// are.
package deliver
